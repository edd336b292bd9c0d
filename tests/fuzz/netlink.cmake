# libFuzzer target for the umnet netlink/ioctl emulation (THREADNET_FUZZ=ON, clang).
# The emulation sources are compiled instrumented into the fuzzer; libstack is linked as is.
if(THREADNET_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(NETLINK_FUZZ_SECONDS 10 CACHE STRING "seconds the netlink fuzz target runs in ctest")
  get_target_property(_nl_srcs umnet_netlink SOURCES)
  get_target_property(_nl_dir umnet_netlink SOURCE_DIR)
  set(_nl_abs)
  foreach(s ${_nl_srcs})
    list(APPEND _nl_abs ${_nl_dir}/${s})
  endforeach()
  add_executable(netlink_fuzz ${CMAKE_CURRENT_LIST_DIR}/netlink_fuzz.cpp ${_nl_abs})
  target_include_directories(netlink_fuzz PRIVATE ${_nl_dir}/include ${_nl_dir}/src)
  target_compile_options(netlink_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(netlink_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(netlink_fuzz PRIVATE libstack)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus/netlink_fuzz)
  add_test(NAME netlink_fuzz
    COMMAND netlink_fuzz -max_total_time=${NETLINK_FUZZ_SECONDS} -runs=5000000 -rss_limit_mb=2048
            -max_len=2048 ${CMAKE_CURRENT_BINARY_DIR}/corpus/netlink_fuzz
            ${CMAKE_CURRENT_LIST_DIR}/corpus/netlink_fuzz)
  set_tests_properties(netlink_fuzz PROPERTIES LABELS fuzz TIMEOUT 60)
endif()
