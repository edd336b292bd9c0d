// Theory of operation: a module is a shared object exporting `threadnet_module_v1`
// (TN_MODULE_SYMBOL), which returns a static `tn_module` table. The launcher names a
// module by NAME or by PATH; a NAME is looked up as threadnet-NAME.so, libthreadnet_NAME.so,
// libthreadnet-NAME.so, NAME.so or libNAME.so in each module directory, and in NAME/ below
// it (the build tree keeps modules/NAME/). Directories: $THREADNET_MODULE_PATH, then
// <exe>/../modules (build tree), <exe>/../lib/threadnet/modules and the configured install
// prefix. The table is checked before use: abi_version must equal ours, and size must
// cover at least the fields of the first ABI v1 draft (options is read only when size
// says it is there).
#include "module_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#ifndef THREADNET_INSTALL_MODULE_DIR
#define THREADNET_INSTALL_MODULE_DIR "/usr/local/lib/threadnet/modules"
#endif

namespace tn {

static std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  std::string s(buf);
  auto slash = s.rfind('/');
  return slash == std::string::npos ? "." : s.substr(0, slash);
}

std::vector<std::string> module_dirs() {
  std::vector<std::string> dirs;
  if (const char *env = getenv("THREADNET_MODULE_PATH")) {
    std::string s(env);
    size_t start = 0;
    while (start <= s.size()) {
      size_t c = s.find(':', start);
      if (c == std::string::npos) c = s.size();
      if (c > start) dirs.push_back(s.substr(start, c - start));
      start = c + 1;
    }
  }
  std::string e = exe_dir();
  dirs.push_back(e + "/../modules");
  dirs.push_back(e + "/modules");
  dirs.push_back(e + "/../lib/threadnet/modules");
  dirs.push_back(THREADNET_INSTALL_MODULE_DIR);
  return dirs;
}

static bool is_file(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string find_module(const std::string &name, std::vector<std::string> *tried) {
  if (name.find('/') != std::string::npos) {
    if (tried) tried->push_back(name);
    return is_file(name) ? name : std::string();
  }
  const char *pats[] = {"threadnet-%s.so", "libthreadnet_%s.so", "libthreadnet-%s.so",
                        "%s.so", "lib%s.so"};
  for (const auto &d : module_dirs()) {
    for (const std::string &sub : {std::string(), name + "/"}) {
      for (const char *p : pats) {
        std::string file(p);
        file.replace(file.find("%s"), 2, name);
        std::string cand = d + "/" + sub + file;
        if (tried) tried->push_back(cand);
        if (is_file(cand)) {
          char real[PATH_MAX];
          return realpath(cand.c_str(), real) ? std::string(real) : cand;
        }
      }
    }
  }
  return {};
}

bool load_module(const std::string &path, LoadedModule *out, std::string *err) {
  dlerror();
  void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    *err = "cannot load module " + path + ": " + (e ? e : "dlopen failed");
    return false;
  }
  auto entry = reinterpret_cast<tn_module_entry_fn>(dlsym(h, TN_MODULE_SYMBOL));
  if (!entry) {
    *err = "module " + path + " is not a ThreadNet module (no symbol " TN_MODULE_SYMBOL ")";
    dlclose(h);
    return false;
  }
  const tn_module *m = entry();
  if (!m) {
    *err = "module " + path + ": " TN_MODULE_SYMBOL "() returned NULL";
    dlclose(h);
    return false;
  }
  if (m->abi_version != TN_MODULE_ABI_VERSION) {
    *err = "module " + path + " was built for module ABI version " +
           std::to_string(m->abi_version) + ", this threadnet supports version " +
           std::to_string(TN_MODULE_ABI_VERSION) + "; rebuild the module";
    dlclose(h);
    return false;
  }
  if (m->size < offsetof(tn_module, options) || !m->name || !m->init || !m->choose ||
      !m->handle || !m->syscalls) {
    *err = "module " + path + " has an incomplete module table (size " +
           std::to_string(m->size) + ")";
    dlclose(h);
    return false;
  }
  out->path = path;
  out->handle = h;
  out->mod = m;
  return true;
}

void unload_module(LoadedModule *m) {
  // Modules may have registered atexit handlers or threads (they should not), so they
  // stay mapped until the process exits; under sanitizers dlclose loses symbols too.
  m->handle = nullptr;
}

int module_option(const tn_module *m, const std::string &opt) {
  if (!m || m->size < offsetof(tn_module, options) + sizeof(m->options) || !m->options)
    return 0;
  for (const char *const *o = m->options; *o; ++o) {
    size_t n = strlen(*o);
    bool val = n && (*o)[n - 1] == '=';
    if (val) --n;
    if (opt.size() == n && opt.compare(0, n, *o, n) == 0) return val ? 2 : 1;
  }
  return 0;
}

}  // namespace tn
