# Link/DHCP integration tests (branch links): real vde_switch, vdeplug4 plugins, tap devices
# in network namespaces, dnsmasq. Label integration.
foreach(t stack_vde_test stack_tap_test stack_dhcp_dnsmasq_test stack_dhcp_slirp_test)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${t}.cpp)
    add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.cpp)
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(${t} PRIVATE libstack_links GTest::gtest_main)
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../../libstack/src)
    gtest_discover_tests(${t} PROPERTIES LABELS integration TIMEOUT 120 DISCOVERY_TIMEOUT 30)
  endif()
endforeach()
