# umnet::NetlinkSockets (modules/umnet/nlsock.cpp) against a fake tn_host in which the test
# process is its own tracee (label unit). The real supervisor runs it in
# tests/integration/nlsock/.
if(TARGET umnet_core)
  add_executable(nlsock_unit_test ${CMAKE_CURRENT_LIST_DIR}/nlsock_test.cpp)
  target_link_libraries(nlsock_unit_test PRIVATE umnet_core GTest::gtest_main)
  gtest_discover_tests(nlsock_unit_test TEST_PREFIX "nlsock." PROPERTIES LABELS unit TIMEOUT 60
    DISCOVERY_TIMEOUT 60)
endif()
