# Fuzz targets of branch links: the DHCPv4 parser and the client fed with arbitrary replies.
# The sources under test are compiled into the fuzz binary itself so they get coverage
# instrumentation without instrumenting libstack_links for the other (non-fuzz) binaries.
if(THREADNET_FUZZ)
  set(_lsrc ${PROJECT_SOURCE_DIR}/libstack/src)
  add_executable(dhcp_fuzz ${CMAKE_CURRENT_LIST_DIR}/dhcp_fuzz.cpp
    ${_lsrc}/wire/dhcp.cpp ${_lsrc}/config/dhcp_client.cpp)
  target_include_directories(dhcp_fuzz PRIVATE ${_lsrc} ${PROJECT_SOURCE_DIR}/libstack/include)
  target_compile_options(dhcp_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(dhcp_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  add_test(NAME dhcp_fuzz COMMAND dhcp_fuzz -max_total_time=10 -seed=1 -rss_limit_mb=1024)
  set_tests_properties(dhcp_fuzz PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
