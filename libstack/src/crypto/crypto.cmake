# libstack_crypto: the keyed PRF (SipHash-2-4), the ChaCha20 generator and key derivation,
# all from libsodium (src/crypto/crypto.cpp). Both libstack_tcp and libstack_links link it.
set(_crypto_dir ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(_crypto_src ${_crypto_dir}/.. ABSOLUTE)
add_library(libstack_crypto STATIC ${_crypto_dir}/crypto.cpp)
target_include_directories(libstack_crypto PUBLIC ${_crypto_src}/../include ${_crypto_src})
target_compile_features(libstack_crypto PUBLIC cxx_std_20)
target_link_libraries(libstack_crypto PRIVATE PkgConfig::SODIUM)
