# umnet DNS redirection and address conversion (modules/umnet/stack_far.cpp).
if(TARGET umnet_core)
  add_executable(umnet_dns_test ${CMAKE_CURRENT_LIST_DIR}/umnet_dns_test.cpp)
  target_link_libraries(umnet_dns_test PRIVATE umnet_core GTest::gtest_main)
  gtest_discover_tests(umnet_dns_test TEST_PREFIX "umnet_dns." PROPERTIES LABELS unit
    TIMEOUT 60 DISCOVERY_TIMEOUT 60)
endif()
