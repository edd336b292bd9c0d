# msocket(3): the module-side request decoder (msocket_ctl), the library against that
# decoder through an interposed setsockopt (protocol round trip), and the library on the
# real kernel outside any view (ENOSYS, NULL stack == socket()).
if(TARGET umnet_core AND TARGET threadnet_msocket)
  add_executable(umnet_msocket_test ${CMAKE_CURRENT_LIST_DIR}/umnet_msocket_test.cpp)
  target_link_libraries(umnet_msocket_test PRIVATE umnet_core threadnet_msocket GTest::gtest_main)
  gtest_discover_tests(umnet_msocket_test TEST_PREFIX "umnet_msocket." PROPERTIES LABELS unit
    TIMEOUT 60 DISCOVERY_TIMEOUT 60)

  add_executable(msocket_native_test ${CMAKE_CURRENT_LIST_DIR}/msocket_native_test.cpp)
  target_link_libraries(msocket_native_test PRIVATE threadnet_msocket GTest::gtest_main)
  gtest_discover_tests(msocket_native_test TEST_PREFIX "msocket_native." PROPERTIES LABELS unit
    TIMEOUT 60 DISCOVERY_TIMEOUT 60)
endif()

# The man page renders without groff warnings.
find_program(MSOCKET_GROFF groff)
if(MSOCKET_GROFF)
  add_test(NAME msocket.man_page COMMAND sh -c
    "out=$(LC_ALL=C '${MSOCKET_GROFF}' -man -ww -z '${PROJECT_SOURCE_DIR}/docs/man/msocket.3' 2>&1); [ -z \"$out\" ] || { echo \"$out\"; exit 1; }")
  set_tests_properties(msocket.man_page PROPERTIES LABELS unit TIMEOUT 30)
endif()
