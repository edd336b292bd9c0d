# umnet's --mesh glue (modules/umnet/mesh.cpp) against a stand-in router plug-in
# (fake_router.c, in variants for the load errors).
if(TARGET umnet_core)
  foreach(v fake badabi short fewopts)
    add_library(tn_${v}_router MODULE ${CMAKE_CURRENT_LIST_DIR}/fake_router.c)
    target_link_libraries(tn_${v}_router PRIVATE threadnet_module_api)
    set_target_properties(tn_${v}_router PROPERTIES PREFIX "")
  endforeach()
  target_compile_definitions(tn_badabi_router PRIVATE BADABI)
  target_compile_definitions(tn_short_router PRIVATE SHORT)
  target_compile_definitions(tn_fewopts_router PRIVATE FEWOPTS)
  add_executable(umnet_mesh_test ${CMAKE_CURRENT_LIST_DIR}/umnet_mesh_test.cpp)
  target_link_libraries(umnet_mesh_test PRIVATE umnet_core GTest::gtest_main)
  add_dependencies(umnet_mesh_test tn_fake_router tn_badabi_router tn_short_router
    tn_fewopts_router tn_nosym_module)
  target_compile_definitions(umnet_mesh_test PRIVATE
    FAKE_ROUTER="$<TARGET_FILE:tn_fake_router>"
    BADABI_ROUTER="$<TARGET_FILE:tn_badabi_router>"
    SHORT_ROUTER="$<TARGET_FILE:tn_short_router>"
    FEWOPTS_ROUTER="$<TARGET_FILE:tn_fewopts_router>"
    NOSYM_MODULE="$<TARGET_FILE:tn_nosym_module>")
  gtest_discover_tests(umnet_mesh_test TEST_PREFIX "umnet_mesh." PROPERTIES LABELS unit
    TIMEOUT 60 DISCOVERY_TIMEOUT 60)
endif()
