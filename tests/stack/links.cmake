# Link and configuration tests (branch links). In-memory: label stack.
foreach(t link_inprocess_test link_pcap_test link_factory_test dhcp_wire_test dhcp_client_test
          slaac_test)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${t}.cpp)
    add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.cpp)
    target_link_libraries(${t} PRIVATE libstack_links GTest::gtest_main)
    gtest_discover_tests(${t} PROPERTIES LABELS stack TIMEOUT 60 DISCOVERY_TIMEOUT 30)
  endif()
endforeach()
