# TCP segment fuzzer (libFuzzer; only with THREADNET_FUZZ=ON and clang). The engine sources
# are compiled into the target with the fuzzer's instrumentation.
if(THREADNET_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(_ls ${PROJECT_SOURCE_DIR}/libstack)
  add_executable(tcp_segment_fuzz
    ${CMAKE_CURRENT_LIST_DIR}/tcp_segment_fuzz.cpp
    ${_ls}/src/transport/tcp/tcp_engine.cpp
    ${_ls}/src/transport/tcp/tcp_secrets.cpp
    ${_ls}/src/transport/tcp/tcp_ratelimit.cpp
    ${_ls}/src/crypto/crypto.cpp
    ${_ls}/src/wire/tcp.cpp
    ${_ls}/src/wire/checksum.cpp)
  target_include_directories(tcp_segment_fuzz PRIVATE ${_ls}/include ${_ls}/src)
  target_link_libraries(tcp_segment_fuzz PRIVATE PkgConfig::SODIUM)
  target_compile_options(tcp_segment_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(tcp_segment_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  # Run on a copy of the seed corpus so new inputs never land in the source tree.
  set(_corpus ${CMAKE_CURRENT_BINARY_DIR}/corpus/tcp_segment)
  file(MAKE_DIRECTORY ${_corpus})
  file(COPY ${CMAKE_CURRENT_LIST_DIR}/corpus/tcp_segment/ DESTINATION ${_corpus})
  add_test(NAME tcp_segment_fuzz
           COMMAND tcp_segment_fuzz -max_total_time=30 -rss_limit_mb=2048 -timeout=10 ${_corpus})
  set_tests_properties(tcp_segment_fuzz PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
