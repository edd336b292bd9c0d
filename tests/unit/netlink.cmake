# umnet netlink/ioctl emulation tests (label unit): real libstack Stacks, in-memory links.
add_executable(netlink_unit_test ${CMAKE_CURRENT_LIST_DIR}/netlink_route_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/netlink_malformed_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netlink_replay_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/netlink_ioctl_test.cpp)
target_link_libraries(netlink_unit_test PRIVATE umnet_netlink GTest::gtest_main)
gtest_discover_tests(netlink_unit_test TEST_PREFIX "netlink." PROPERTIES LABELS unit TIMEOUT 60
  DISCOVERY_TIMEOUT 60)
