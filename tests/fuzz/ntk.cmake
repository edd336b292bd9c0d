# libFuzzer target for the Netsukuku router (THREADNET_FUZZ=ON, clang): its wire decoder
# (round trip) and every message handler of a hooked node. Seeds: corpus/ntk_fuzz, one
# real message of each type (make_ntk_corpus.py).
if(THREADNET_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(NTK_FUZZ_SECONDS 10 CACHE STRING "seconds the ntk fuzz target runs in ctest")
  set(_ntk ${PROJECT_SOURCE_DIR}/modules/netsukuku)
  add_executable(ntk_fuzz ${CMAKE_CURRENT_LIST_DIR}/ntk_fuzz.cpp ${_ntk}/wire.cpp
    ${_ntk}/options.cpp ${_ntk}/node.cpp ${_ntk}/radar.cpp ${_ntk}/hook.cpp ${_ntk}/qspn.cpp
    ${_ntk}/maps.cpp ${_ntk}/router.cpp)
  target_include_directories(ntk_fuzz PRIVATE ${_ntk})
  target_compile_options(ntk_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(ntk_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(ntk_fuzz PRIVATE threadnet_module_api)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus/ntk_fuzz)
  add_test(NAME ntk_fuzz
    COMMAND ntk_fuzz -max_total_time=${NTK_FUZZ_SECONDS} -runs=2000000 -rss_limit_mb=2048
            -max_len=4096 ${CMAKE_CURRENT_BINARY_DIR}/corpus/ntk_fuzz
            ${CMAKE_CURRENT_LIST_DIR}/corpus/ntk_fuzz)
  set_tests_properties(ntk_fuzz PROPERTIES LABELS fuzz TIMEOUT 60)
endif()
