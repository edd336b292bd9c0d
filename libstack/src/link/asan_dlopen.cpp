// AddressSanitizer refuses dlopen(..., RTLD_DEEPBIND) and aborts the process
// (google/sanitizers#611), and libvdeplug loads every plugin that way. In sanitizer builds
// only, interpose dlopen and drop RTLD_DEEPBIND (the plugins do not rely on it here); the
// call then goes on to the sanitizer's own dlopen interceptor via RTLD_NEXT.
// Compiled into libstack_links (programs that link libstack) and into the threadnet
// launcher, whose exported definition is the one libvdeplug reaches when libstack runs
// inside a module loaded with RTLD_LOCAL. Empty in normal builds.
#if defined(__SANITIZE_ADDRESS__)
#define LIBSTACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIBSTACK_ASAN 1
#endif
#endif
// vde_link.cpp calls this so the static library's object (and its dlopen) is linked in.
extern "C" void libstack_asan_dlopen_anchor() {}

#ifdef LIBSTACK_ASAN
#include <dlfcn.h>
extern "C" void* dlopen(const char* file, int mode) {
  using Fn = void* (*)(const char*, int);
  auto next = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "dlopen"));
  return next ? next(file, mode & ~RTLD_DEEPBIND) : nullptr;
}
#endif
