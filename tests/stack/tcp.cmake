# TCP engine tests (label stack): engines back to back through an in-memory TcpHost.
add_executable(tcp_stack_tests
  ${CMAKE_CURRENT_LIST_DIR}/tcp_wire_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tcp_state_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tcp_timer_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tcp_transfer_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tcp_secrets_test.cpp)
target_link_libraries(tcp_stack_tests PRIVATE libstack_tcp PkgConfig::SODIUM GTest::gtest GTest::gtest_main)
gtest_discover_tests(tcp_stack_tests PROPERTIES LABELS stack TIMEOUT 300
  DISCOVERY_TIMEOUT 60)
