# Link implementations (VDE, tap, in-process, pcap) and the DHCPv4/SLAAC configuration
# logic. Included from libstack/CMakeLists.txt; the core libstack target links these.
set(_ls ${CMAKE_CURRENT_LIST_DIR}/..)
add_library(libstack_links STATIC
  ${_ls}/link/vde_link.cpp
  ${_ls}/link/asan_dlopen.cpp
  ${_ls}/link/tap_link.cpp
  ${_ls}/link/inprocess_link.cpp
  ${_ls}/link/pcap_link.cpp
  ${_ls}/link/make_link.cpp)
target_include_directories(libstack_links PUBLIC ${_ls}/../include ${_ls})
target_link_libraries(libstack_links PUBLIC vdeplug::vdeplug Threads::Threads libstack_crypto)
# DHCPv4 client, SLAAC helper and their wire format live in the same library.
target_sources(libstack_links PRIVATE
  ${_ls}/wire/dhcp.cpp
  ${_ls}/config/dhcp_client.cpp)
target_sources(libstack_links PRIVATE ${_ls}/config/slaac.cpp ${_ls}/config/slaac_temporary.cpp)
