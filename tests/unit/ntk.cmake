# The Netsukuku router (modules/netsukuku) and its simulator (tools/mesh_sim). Label unit.
# ntk_wire: golden bytes and refusals; ntk_node: one node on a scripted host (hook into a
# full gnode, floods of forged packets, options); ntk_mesh: meshes of real nodes on
# libstack stacks in virtual time, checked against Dijkstra.
if(TARGET ntk_sim)
  add_executable(ntk_test ntk_wire_test.cpp ntk_node_test.cpp ntk_mesh_test.cpp)
  target_link_libraries(ntk_test PRIVATE ntk_sim GTest::gtest_main)
  target_compile_definitions(ntk_test PRIVATE
    NTK_FUZZ_CORPUS="${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/ntk_fuzz")
  if(THREADNET_SANITIZE)
    target_compile_definitions(ntk_test PRIVATE NTK_TEST_SANITIZED=1)
  endif()
  gtest_discover_tests(ntk_test TEST_PREFIX "ntk." PROPERTIES LABELS unit TIMEOUT 600
    DISCOVERY_TIMEOUT 60)
endif()
