// threadnet: the launcher.
//
//   threadnet run [OPTIONS] [--] PROGRAM [ARGS...]
//   threadnet modules            list the modules found in the module path
//   threadnet stack NAME [--] COMMAND [ARGS...]
//                                inside a view: run COMMAND with stack NAME as its
//                                default stack (msocket(3) SOCK_DEFAULT, then exec)
//
// Theory of operation: options are parsed in two passes. The first pass only collects
// --module/-m (NAME or PATH, repeatable; `none` for no module), so that the modules can be
// loaded; then every other option is either the launcher's own or routed to the loaded
// module that declares it in its `options` table (`--publish 80:8080` reaches relay's
// init as "--publish" "80:8080"); `-o MODULE:KEY[=VALUE]` routes explicitly. Nothing here
// knows what a module does. Without --module the default module (relay) is used.
#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <set>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../hypervisor/module_loader.h"
#include "../hypervisor/supervisor.h"
#include "msocket.h"

namespace {

constexpr const char *kDefaultModule = "umnet";

// Options of modules whose table predates `tn_module.options` (transitional; only used
// when the loaded module of that name does not declare options itself).
struct LegacyOpt {
  const char *module, *opt;
  bool value;
};
const LegacyOpt kLegacy[] = {{"relay", "publish", true}};

bool has_options_field(const tn_module *m) {
  return m->size >= offsetof(tn_module, options) + sizeof(m->options) && m->options;
}

void usage(FILE *f) {
  fprintf(f,
          "usage: threadnet run [OPTIONS] [--] PROGRAM [ARGS...]\n"
          "       threadnet modules\n"
          "       threadnet stack NAME [--] COMMAND [ARGS...]\n"
          "Runs PROGRAM (unmodified) in its own network view; its network system calls are\n"
          "served by modules.\n"
          "options:\n"
          "  -m, --module NAME|PATH  load a module (repeatable; default: %s; 'none': no module)\n"
          "  -o MODULE:KEY[=VALUE]   pass --KEY [VALUE] to MODULE\n"
          "  --trace[=FILE]          print each virtualized call (strace-like) to stderr/FILE\n"
          "  --trace-stack           with --trace: where each call was made (backtrace)\n"
          "  --no-namespaces         do not use PID/user namespaces (tree not killed with us)\n"
          "  --no-sync-wakeup        do not ask the kernel for synchronous wake-ups\n"
          "  -h, --help              this help\n"
          "Other --OPTIONS belong to the modules that declare them. The default module, umnet,\n"
          "gives the program its own network view:\n"
          "  (no option)             own stack, NAT to the host's network (slirp://), DNS\n"
          "  --net URL|none          the view's link: vde:///sw, vxvde://, tap://NAME, cmd://...\n"
          "  --ip A/LEN --gw A --dns A --dhcp --slaac --mac M --mtu N --pcap FILE\n"
          "  --iid stable|eui64 --tempaddr   SLAAC ids: RFC 7217 (default) or EUI-64 (shows\n"
          "                          the MAC); --tempaddr adds RFC 8981 temporary addresses\n"
          "  --stack NAME=URL[,ip=A/L,gw=A,dhcp,slaac,iid=..,tempaddr,dns=A,...]  more stacks\n"
          "                          ('NAME=host': the real network); `threadnet stack NAME\n"
          "                          -- CMD` uses one\n"
          "  --publish V:H           a server on the view's port V, reached at the host's\n"
          "                          127.0.0.1:H\n"
          "'-m relay' instead relays every socket to the host network (--publish V:H too).\n"
          "Module directories: $THREADNET_MODULE_PATH, then the build tree / install prefix.\n"
          "threadnet stack, inside a view of the umnet module (--net/--stack): runs COMMAND\n"
          "with the view's stack NAME as its default network (see msocket(3)).\n",
          kDefaultModule);
}

int bad(const std::string &msg) {
  fprintf(stderr, "threadnet: %s (see threadnet run --help)\n", msg.c_str());
  return 2;
}

bool load_by_name(const std::string &name, tn::LoadedModule *out, bool quiet_missing,
                  bool *missing) {
  std::vector<std::string> tried;
  std::string path = tn::find_module(name, &tried);
  *missing = path.empty();
  if (path.empty()) {
    if (!quiet_missing) {
      std::string dirs;
      for (auto &d : tn::module_dirs()) dirs += (dirs.empty() ? "" : ":") + d;
      fprintf(stderr, "threadnet: module %s not found (searched %s)\n", name.c_str(),
              dirs.c_str());
    }
    return false;
  }
  std::string err;
  if (!tn::load_module(path, out, &err)) {
    fprintf(stderr, "threadnet: %s\n", err.c_str());
    return false;
  }
  return true;
}

int cmd_modules() {
  // Every threadnet-*.so / libthreadnet_*.so in the module directories (and their NAME/
  // subdirectories), first hit per name wins, as for --module NAME.
  std::set<std::string> seen;
  int found = 0;
  auto consider = [&](const std::string &dir) {
    DIR *d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (dirent *e = readdir(d)) names.push_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    for (auto &n : names) {
      std::string name;
      for (const char *pre : {"threadnet-", "libthreadnet_", "libthreadnet-"})
        if (n.rfind(pre, 0) == 0 && n.size() > strlen(pre) + 3 &&
            n.compare(n.size() - 3, 3, ".so") == 0)
          name = n.substr(strlen(pre), n.size() - strlen(pre) - 3);
      if (name.empty() || seen.count(name)) continue;
      seen.insert(name);
      tn::LoadedModule m;
      std::string err, path = dir + "/" + n;
      char real[PATH_MAX];
      if (realpath(path.c_str(), real)) path = real;
      if (tn::load_module(path, &m, &err)) {
        printf("%-10s %s  (%s)\n", m.mod->name, m.mod->summary ? m.mod->summary : "",
               path.c_str());
        ++found;
      } else {
        printf("%-10s error: %s\n", name.c_str(), err.c_str());
      }
    }
  };
  for (auto &d : tn::module_dirs()) {
    consider(d);
    DIR *dd = opendir(d.c_str());
    if (!dd) continue;
    std::vector<std::string> subs;
    while (dirent *e = readdir(dd))
      if (e->d_name[0] != '.') subs.push_back(d + "/" + e->d_name);
    closedir(dd);
    std::sort(subs.begin(), subs.end());
    for (auto &s : subs) consider(s);
  }
  if (!found) printf("no modules found\n");
  return 0;
}

int cmd_run(int argc, char **argv) {
  // Pass 1: modules.
  std::vector<std::string> names;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a == "-m" || a == "--module") {
      if (i + 1 >= argc) return bad("option " + a + " needs a value");
      names.push_back(argv[++i]);
    } else if (a.rfind("--module=", 0) == 0) {
      names.push_back(a.substr(9));
    } else if (a == "-o") {
      ++i;
    } else if (a[0] != '-') {
      break;
    }
  }
  bool default_mod = names.empty();
  if (default_mod) names.push_back(kDefaultModule);
  tn::RunOptions opts;
  for (auto &n : names) {
    if (n == "none") continue;
    tn::ModuleUse u;
    bool missing = false;
    if (!load_by_name(n, &u.loaded, default_mod, &missing)) {
      if (default_mod && missing) {
        fprintf(stderr,
                "threadnet: default module %s not found; running without modules "
                "(network calls go to the host)\n",
                n.c_str());
        continue;
      }
      return 2;
    }
    opts.modules.push_back(std::move(u));
  }
  auto route = [&](const std::string &key, bool has_inline, const std::string &inline_val,
                   int &i, const char *modname) -> int {
    for (auto &u : opts.modules) {
      if (modname && strcmp(u.loaded.mod->name, modname) != 0) continue;
      int kind = tn::module_option(u.loaded.mod, key);
      if (!kind)
        for (auto &l : kLegacy)
          if (!has_options_field(u.loaded.mod) && key == l.opt &&
              !strcmp(u.loaded.mod->name, l.module))
            kind = l.value ? 2 : 1;
      if (!kind) continue;
      u.argv.push_back("--" + key);
      if (kind == 2) {
        if (has_inline) {
          u.argv.push_back(inline_val);
        } else if (!modname && i + 1 < argc) {
          u.argv.push_back(argv[++i]);
        } else {
          fprintf(stderr, "threadnet: option --%s needs a value\n", key.c_str());
          return 2;
        }
      } else if (has_inline) {
        fprintf(stderr, "threadnet: option --%s takes no value\n", key.c_str());
        return 2;
      }
      return 0;
    }
    if (modname)
      return bad(std::string("module ") + modname + " (not loaded or) has no option --" + key);
    return bad("unknown option --" + key);
  };
  // Pass 2: everything.
  int i = 0;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-') break;
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "-m" || a == "--module") {
      ++i;
      continue;
    }
    if (a.rfind("--module=", 0) == 0) continue;
    if (a == "--trace") {
      opts.trace = true;
      continue;
    }
    if (a.rfind("--trace=", 0) == 0) {
      opts.trace = true;
      opts.trace_file = a.substr(8);
      continue;
    }
    if (a == "--trace-stack") {
      opts.trace = true;
      opts.trace_stack = true;
      continue;
    }
    if (a == "--no-namespaces") {
      opts.use_namespaces = false;
      continue;
    }
    if (a == "--no-sync-wakeup") {
      opts.sync_wakeup = false;
      continue;
    }
    if (a == "-o") {
      if (i + 1 >= argc) return bad("option -o needs MODULE:KEY[=VALUE]");
      std::string v = argv[++i];
      auto colon = v.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
        return bad("option -o needs MODULE:KEY[=VALUE], got '" + v + "'");
      std::string mod = v.substr(0, colon), kv = v.substr(colon + 1);
      auto eq = kv.find('=');
      std::string key = kv.substr(0, eq);
      int r = route(key, eq != std::string::npos, eq == std::string::npos ? "" : kv.substr(eq + 1),
                    i, mod.c_str());
      if (r) return r;
      continue;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string kv = a.substr(2);
      auto eq = kv.find('=');
      int r = route(kv.substr(0, eq), eq != std::string::npos,
                    eq == std::string::npos ? "" : kv.substr(eq + 1), i, nullptr);
      if (r) return r;
      continue;
    }
    return bad("unknown option " + a);
  }
  if (i >= argc) return bad("no PROGRAM given");
  for (; i < argc; ++i) opts.argv.push_back(argv[i]);
  return tn::run_supervised(opts);
}

// `threadnet stack NAME [--] COMMAND [ARGS...]`: make NAME the default stack of this
// process for every family (kept across exec, inherited by children), then become
// COMMAND. Errors exit 2 (127/126 when COMMAND is missing / cannot run, as env(1)).
int cmd_stack(int argc, char **argv) {
  const char *use = "usage: threadnet stack NAME [--] COMMAND [ARGS...]";
  if (argc >= 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
    printf("%s\nRuns COMMAND with stack NAME of the current threadnet view as its default\n"
           "network stack (inside `threadnet run --stack NAME=URL ...`).\n",
           use);
    return 0;
  }
  if (argc < 1) {
    fprintf(stderr, "threadnet stack: no stack NAME given\n%s\n", use);
    return 2;
  }
  const char *name = argv[0];
  int i = 1;
  if (i < argc && !strcmp(argv[i], "--")) ++i;
  if (i >= argc) {
    fprintf(stderr, "threadnet stack: no COMMAND given\n%s\n", use);
    return 2;
  }
  if (!*name) {
    fprintf(stderr, "threadnet stack: empty stack name\n");
    return 2;
  }
  if (msocket(name, 0, SOCK_DEFAULT, 0) != 0) {
    int e = errno;
    if (e == ENOSYS)
      fprintf(stderr, "threadnet stack: not inside a threadnet view\n");
    else if (e == ENOENT)
      fprintf(stderr, "threadnet stack: no stack named %s in this view\n", name);
    else if (e == ENAMETOOLONG)
      fprintf(stderr, "threadnet stack: %s: stack names are at most %d characters\n", name,
              TN_MSOCKET_NAME_MAX - 1);
    else
      fprintf(stderr, "threadnet stack: %s: %s\n", name, strerror(e));
    return 2;
  }
  execvp(argv[i], argv + i);
  int e = errno;
  fprintf(stderr, "threadnet stack: %s: %s\n", argv[i], strerror(e));
  return e == ENOENT ? 127 : 126;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version") {
    printf("threadnet 0.1.0 (module ABI %u)\n", TN_MODULE_ABI_VERSION);
    return 0;
  }
  if (cmd == "run") return cmd_run(argc - 2, argv + 2);
  if (cmd == "modules") return cmd_modules();
  if (cmd == "stack") return cmd_stack(argc - 2, argv + 2);
  fprintf(stderr, "threadnet: unknown command '%s' (try: threadnet run --help)\n", cmd.c_str());
  return 2;
}
