# umnet view configuration (modules/umnet/config.cpp): launcher options -> ViewConfig.
if(TARGET umnet_core)
  add_executable(umnet_config_test ${CMAKE_CURRENT_LIST_DIR}/umnet_config_test.cpp)
  target_link_libraries(umnet_config_test PRIVATE umnet_core GTest::gtest_main)
  gtest_discover_tests(umnet_config_test TEST_PREFIX "umnet_config." PROPERTIES LABELS unit
    TIMEOUT 60 DISCOVERY_TIMEOUT 60)
endif()
