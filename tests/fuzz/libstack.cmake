# libFuzzer targets (THREADNET_FUZZ=ON with clang): one per wire parser plus whole frames
# into a Stack. Each runs as a ctest test (label fuzz) for a bounded time, starting from
# the committed seed corpus in corpus/<target>/ (new inputs go to the build tree).

if(THREADNET_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")

set(LIBSTACK_FUZZ_SECONDS 6 CACHE STRING "seconds per libstack fuzz target in ctest")
set(fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)

# An instrumented copy of libstack just for the fuzzers, so the regular `libstack` in this
# tree stays uninstrumented for everything else that links it.
get_target_property(_ls_srcs libstack SOURCES)
get_target_property(_ls_dir libstack SOURCE_DIR)
set(_ls_abs)
foreach(s ${_ls_srcs})
  if(IS_ABSOLUTE ${s})
    list(APPEND _ls_abs ${s})
  else()
    list(APPEND _ls_abs ${_ls_dir}/${s})
  endif()
endforeach()
get_target_property(_tcp_srcs libstack_tcp SOURCES)  # absolute paths
get_target_property(_crypto_srcs libstack_crypto SOURCES)  # absolute paths
add_library(libstack_fuzzlib STATIC ${_ls_abs} ${_tcp_srcs} ${_crypto_srcs})
target_include_directories(libstack_fuzzlib PUBLIC ${_ls_dir}/include ${_ls_dir}/src)
target_link_libraries(libstack_fuzzlib PUBLIC PkgConfig::SODIUM)
target_compile_options(libstack_fuzzlib PRIVATE -fsanitize=fuzzer-no-link,address,undefined)

function(libstack_fuzz name src)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${src})
  target_compile_options(${name} PRIVATE ${fuzz_flags} ${ARGN})
  target_link_options(${name} PRIVATE ${fuzz_flags})
  target_link_libraries(${name} PRIVATE libstack_fuzzlib)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus/${name})
  add_test(NAME ${name}
    COMMAND ${name} -max_total_time=${LIBSTACK_FUZZ_SECONDS} -runs=5000000 -rss_limit_mb=2048
            -max_len=4096 ${CMAKE_CURRENT_BINARY_DIR}/corpus/${name}
            ${CMAKE_CURRENT_LIST_DIR}/corpus/${name})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()

foreach(t ethernet arp ipv4 ipv6 icmpv4 icmpv6 udp)
  libstack_fuzz(fuzz_libstack_${t} fuzz_wire.cpp -DLIBSTACK_FUZZ_TARGET=fuzz_${t})
endforeach()
libstack_fuzz(fuzz_libstack_stack fuzz_stack.cpp)
endif()
