# The per-user RFC 7217 secret of umnet views (modules/umnet/stable_secret.cpp). Label unit.
if(TARGET umnet_core)
  add_executable(umnet_secret_test ${CMAKE_CURRENT_LIST_DIR}/umnet_secret_test.cpp)
  target_link_libraries(umnet_secret_test PRIVATE umnet_core GTest::gtest_main)
  gtest_discover_tests(umnet_secret_test TEST_PREFIX "umnet_secret." PROPERTIES LABELS unit
    TIMEOUT 60 DISCOVERY_TIMEOUT 60)
endif()
