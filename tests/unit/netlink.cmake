# umnet netlink/ioctl emulation tests (label unit): real libstack Stacks, in-memory links.
add_executable(netlink_unit_test ${CMAKE_CURRENT_LIST_DIR}/netlink_route_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/netlink_malformed_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netlink_replay_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/netlink_ioctl_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netlink_multipath_test.cpp)
target_link_libraries(netlink_unit_test PRIVATE umnet_netlink libstack_internal GTest::gtest_main)
gtest_discover_tests(netlink_unit_test TEST_PREFIX "netlink." PROPERTIES LABELS unit TIMEOUT 60
  DISCOVERY_TIMEOUT 60)

# End-to-end with the real iproute2 `ip` binary: an LD_PRELOAD shim answers its netlink
# sockets with the emulation (test only; see netlink_ip_shim.cpp).
add_library(netlink_ip_shim SHARED ${CMAKE_CURRENT_LIST_DIR}/netlink_ip_shim.cpp)
target_link_libraries(netlink_ip_shim PRIVATE umnet_netlink ${CMAKE_DL_LIBS})
find_program(NETLINK_IP_BIN ip PATHS /usr/sbin /sbin /usr/bin /bin)
add_test(NAME netlink.ip_binary
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/netlink_ip_test.sh ${NETLINK_IP_BIN} $<TARGET_FILE:netlink_ip_shim>)
set_tests_properties(netlink.ip_binary PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77)
