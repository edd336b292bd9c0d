# libstack <-> Linux kernel interop (label integration, root; skips otherwise).
add_executable(stack_kernel_test ${CMAKE_CURRENT_LIST_DIR}/stack_kernel_test.cpp)
target_include_directories(stack_kernel_test PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(stack_kernel_test PRIVATE
  STACK_KERNEL_DIR="${CMAKE_CURRENT_LIST_DIR}/stack_kernel")
target_link_libraries(stack_kernel_test PRIVATE libstack GTest::gtest_main)
gtest_discover_tests(stack_kernel_test PROPERTIES LABELS integration TIMEOUT 150 DISCOVERY_TIMEOUT 30)
add_executable(stack_kernel_autoconf_test ${CMAKE_CURRENT_LIST_DIR}/stack_kernel_autoconf_test.cpp)
target_include_directories(stack_kernel_autoconf_test PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(stack_kernel_autoconf_test PRIVATE libstack GTest::gtest_main)
gtest_discover_tests(stack_kernel_autoconf_test PROPERTIES LABELS integration TIMEOUT 120 DISCOVERY_TIMEOUT 30)
