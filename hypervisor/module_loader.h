// Finding and loading module shared objects (see module_loader.cpp).
#pragma once
#include <threadnet/module.h>

#include <string>
#include <vector>

namespace tn {

struct LoadedModule {
  std::string path;
  void *handle = nullptr;  // dlopen handle
  const tn_module *mod = nullptr;
};

// Directories searched for a module NAME, in order: $THREADNET_MODULE_PATH (colon list),
// then the build tree and install prefix relative to the running executable.
std::vector<std::string> module_dirs();

// Resolve NAME (or a path containing '/') to a file. Empty if not found; *tried lists
// the candidates looked at.
std::string find_module(const std::string &name, std::vector<std::string> *tried);

// Load and check a module file. false + one-line message on error (missing file, not a
// shared object, no entry symbol, wrong ABI version, table too small).
bool load_module(const std::string &path, LoadedModule *out, std::string *err);

void unload_module(LoadedModule *m);

// Does the module declare launcher option `opt` (without leading dashes)? 1 = flag,
// 2 = takes a value, 0 = not its option.
int module_option(const tn_module *m, const std::string &opt);

}  // namespace tn
