# libFuzzer target for the umnet module's parsers (THREADNET_FUZZ=ON, clang): options,
# msocket requests, resolv.conf. The parser sources are compiled instrumented.
if(THREADNET_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND TARGET umnet_core)
  set(UMNET_FUZZ_SECONDS 10 CACHE STRING "seconds the umnet parsers fuzz target runs in ctest")
  set(_um ${PROJECT_SOURCE_DIR}/modules/umnet)
  add_executable(umnet_parsers_fuzz ${CMAKE_CURRENT_LIST_DIR}/umnet_parsers_fuzz.cpp
    ${_um}/config.cpp ${_um}/msocket_ctl.cpp ${_um}/stack_far.cpp ${_um}/splice.cpp)
  target_include_directories(umnet_parsers_fuzz PRIVATE ${_um} ${_um}/msocket)
  target_compile_options(umnet_parsers_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(umnet_parsers_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(umnet_parsers_fuzz PRIVATE libstack threadnet_module_api tn_modcommon)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus/umnet_parsers_fuzz)
  add_test(NAME umnet_parsers_fuzz
    COMMAND umnet_parsers_fuzz -max_total_time=${UMNET_FUZZ_SECONDS} -runs=2000000 -rss_limit_mb=2048
            -max_len=1024 ${CMAKE_CURRENT_BINARY_DIR}/corpus/umnet_parsers_fuzz
            ${CMAKE_CURRENT_LIST_DIR}/corpus/umnet_parsers_fuzz)
  set_tests_properties(umnet_parsers_fuzz PROPERTIES LABELS fuzz TIMEOUT 60)
endif()
