# libstack frame-level tests (manual clock, in-memory Ethernet; label: stack).
# ctest names are prefixed "libstack." so they cannot collide with other suites.
add_executable(libstack_wire_test ${CMAKE_CURRENT_LIST_DIR}/wire_test.cpp)
target_link_libraries(libstack_wire_test PRIVATE libstack_internal GTest::gtest_main)
gtest_discover_tests(libstack_wire_test TEST_PREFIX "libstack." PROPERTIES LABELS stack
  DISCOVERY_TIMEOUT 60)

add_executable(libstack_stack_test ${CMAKE_CURRENT_LIST_DIR}/stack_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/frag_test.cpp ${CMAKE_CURRENT_LIST_DIR}/robustness_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/autoconf_test.cpp ${CMAKE_CURRENT_LIST_DIR}/multipath_test.cpp)
target_link_libraries(libstack_stack_test PRIVATE libstack_internal GTest::gtest_main)
gtest_discover_tests(libstack_stack_test TEST_PREFIX "libstack." PROPERTIES LABELS stack TIMEOUT 120
  DISCOVERY_TIMEOUT 60)
