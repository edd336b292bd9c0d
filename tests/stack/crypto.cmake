# libstack_crypto (libsodium wiring): known-answer tests. Label stack.
add_executable(libstack_crypto_test ${CMAKE_CURRENT_LIST_DIR}/crypto_test.cpp)
target_link_libraries(libstack_crypto_test PRIVATE libstack_crypto PkgConfig::SODIUM GTest::gtest_main)
gtest_discover_tests(libstack_crypto_test TEST_PREFIX "libstack." PROPERTIES LABELS stack
  TIMEOUT 60 DISCOVERY_TIMEOUT 30)
