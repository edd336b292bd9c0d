# The TCP engine (transport/tcp) and the TCP wire format (wire/tcp): a static library
# the libstack target links. Include dirs: libstack/include (public) and libstack/src.
set(_tcp_dir ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(_libstack_src ${_tcp_dir}/../.. ABSOLUTE)
get_filename_component(_libstack_root ${_libstack_src}/.. ABSOLUTE)
add_library(libstack_tcp STATIC
  ${_tcp_dir}/tcp_engine.cpp
  ${_tcp_dir}/tcp_secrets.cpp
  ${_tcp_dir}/tcp_ratelimit.cpp
  ${_libstack_src}/wire/tcp.cpp
  ${_libstack_src}/wire/checksum.cpp)
target_include_directories(libstack_tcp PUBLIC ${_libstack_root}/include ${_libstack_src})
target_compile_features(libstack_tcp PUBLIC cxx_std_20)
target_link_libraries(libstack_tcp PUBLIC libstack_crypto)
