// threadnet: the launcher.
//
//   threadnet run [OPTIONS] [--] PROGRAM [ARGS...]
//   threadnet modules            list the modules found in the module path (and the
//                                router plug-ins of umnet's --mesh)
//   threadnet stack NAME [--] COMMAND [ARGS...]
//                                inside a view: run COMMAND with stack NAME as its
//                                default stack (msocket(3) SOCK_DEFAULT, then exec)
//
// Theory of operation: options are parsed in two passes. The first pass only collects
// --module/-m (NAME or PATH, repeatable; `none` for no module), so that the modules can be
// loaded; then every other option is either the launcher's own or routed to the loaded
// module that declares it in its `options` table (`--publish 80:8080` reaches relay's
// init as "--publish" "80:8080"); `-o MODULE:KEY[=VALUE]` routes explicitly. Nothing here
// knows what a module does. Without --module the default module (umnet) is used; when it
// cannot be found the run stops (fail closed: the host network only when asked for).
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <functional>
#include <set>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <threadnet/router.h>

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

// The launcher's own options (the modules' are in their tn_module.options tables).
// `threadnet options` prints both; tests/unit/launcher_help_test.sh checks that --help
// names every one of them, that every option --help names is one of them, and that the
// parser accepts each (so the three cannot drift apart). A trailing '=' takes a value.
const char *const kLauncherOptions[] = {"module=", "trace", "trace-stack", "no-namespaces",
                                        "keep-fd=", "keep-caps", "wait-net=",
                                        "no-sync-wakeup", "help", "version", nullptr};

// libvdeplug's plugins (one URL scheme each), found where this build's libvdeplug is.
std::vector<std::string> vdeplug_schemes() {
  std::vector<std::string> out;
  DIR *d = opendir(THREADNET_VDEPLUG_PLUGIN_DIR);
  if (!d) return out;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    const std::string pre = "libvdeplug_";
    if (n.rfind(pre, 0) == 0 && n.size() > pre.size() + 3 && n.compare(n.size() - 3, 3, ".so") == 0)
      out.push_back(n.substr(pre.size(), n.size() - pre.size() - 3));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void usage(FILE *f) {
  fprintf(f,
          "usage: threadnet run [OPTIONS] [--] PROGRAM [ARGS...]\n"
          "       threadnet modules          the modules found\n"
          "       threadnet stack NAME [--] COMMAND [ARGS...]\n"
          "       threadnet options          every option the launcher and its modules take\n"
          "       threadnet --version\n"
          "Runs PROGRAM (unmodified) in its own network view: its network system calls are\n"
          "served by modules, its processes live in an empty network namespace.\n"
          "\n"
          "Launcher options:\n"
          "  -m, --module NAME|PATH  load a module (repeatable; default: %s; 'none': no module)\n"
          "  -o MODULE:KEY[=VALUE]   pass --KEY [VALUE] to MODULE\n"
          "  --trace[=FILE]          print each virtualized call (strace-like) to stderr/FILE\n"
          "  --trace-stack           with --trace: where each call was made (backtrace)\n"
          "  --wait-net SECONDS      start the program once the view's network is ready\n"
          "                          (--dhcp lease, --slaac address), at most SECONDS\n"
          "                          (default 10; 0: at once)\n"
          "  --no-namespaces         no PID/network/user namespaces (weaker: kernel sockets\n"
          "                          reach the host network; tree not killed with us)\n"
          "  --keep-fd N             keep inherited host socket N open for the program (a\n"
          "                          hole you open on purpose; repeatable)\n"
          "  --keep-caps             root mode: the program keeps its capabilities\n"
          "  --no-sync-wakeup        do not ask the kernel for synchronous wake-ups\n"
          "  -h, --help              this help\n"
          "  --version               the version and module ABI\n"
          "\n"
          "Other --OPTIONS belong to the modules that declare them. The default module, umnet,\n"
          "gives the program its own network view of named stacks; the options below\n"
          "describe the stack 'default' (with none of them: the embedded default, its own\n"
          "stack with NAT to the host's network through slirp://, 10.0.2.15/24, gateway\n"
          "10.0.2.2 = the host's loopback, DNS 10.0.2.3, SLAAC):\n"
          "  --net URL               a link of the stack (URL forms below); repeatable: the\n"
          "                          first is eth0, the next eth1, ... (a view on two switches)\n"
          "  --ip ADDR/LEN[@ethN]    a static address (repeatable, IPv4 and IPv6) on eth0,\n"
          "                          or on ethN\n"
          "  --gw ADDR[@ethN]        a default route (one per family) through the link whose\n"
          "                          --ip prefix holds ADDR (else eth0), or through ethN\n"
          "  --dns ADDR              a name server (repeatable); queries to the host's name\n"
          "                          servers go to these\n"
          "  --dhcp                  DHCPv4 (on eth0)\n"
          "  --slaac                 IPv6 stateless autoconfiguration (RFC 4862; on eth0)\n"
          "  --iid stable|eui64      SLAAC interface ids: RFC 7217 stable-privacy (default)\n"
          "                          or modified EUI-64 from the MAC (shows the MAC)\n"
          "  --tempaddr              also RFC 8981 temporary addresses (preferred as source)\n"
          "  --mac MAC[@ethN]        eth0's (or ethN's) MAC (default: random, locally\n"
          "                          administered)\n"
          "  --mtu N[@ethN]          every link's MTU (68..65535), or ethN's\n"
          "  --pcap FILE             record eth0's frames into FILE, ethN's into FILE.ethN\n"
          "                          (x.pcap: x.ethN.pcap); alone: the embedded default\n"
          "  --forward               route between the stack's links (IPv4 and IPv6)\n"
          "  --mesh                  join the stack to the Netsukuku mesh (router plug-in\n"
          "                          threadnet-netsukuku.so): radar and QSPN on every link,\n"
          "                          the address from the hook, forwarding on; the program\n"
          "                          starts once the node has its address (--wait-net)\n"
          "  --stack NAME=URL[,KEY[=VALUE]...]\n"
          "                          one more stack, keys net= (one more link) ip= gw= dns=\n"
          "                          dhcp slaac iid= tempaddr mac= mtu= pcap= forward mesh;\n"
          "                          `threadnet stack NAME -- CMD`\n"
          "                          runs CMD on it (msocket(3) for programs that use several)\n"
          "  --publish V:H           TCP: a server on the view's port V is reached at the\n"
          "                          host's 127.0.0.1:H and [::1]:H (both are bound, or the\n"
          "                          run stops with an error before the program starts)\n"
          "Mesh router options, for every mesh stack of the view (T: 500ms, 5s, or a number\n"
          "of milliseconds):\n"
          "  --mesh-radar-interval T a radar scan of the neighbours every T (default 5s)\n"
          "  --mesh-radar-pings N    echo requests per scan (default 16)\n"
          "  --mesh-radar-timeout T  a ping not answered within T is lost (default 1s)\n"
          "  --mesh-rtt-threshold T  an RTT change above T starts a new QSPN (default 1000ms)\n"
          "  --mesh-qspn-wait-round T\n"
          "                          QSPN rounds T apart (default 60s)\n"
          "  --mesh-qspn-wait T      at least T between two QSPN floods a node starts\n"
          "                          (default 5s)\n"
          "  --mesh-maxroutes N      routes kept per destination (default 10)\n"
          "  --mesh-realm CIDR       the mesh's address range (default 10.0.0.0/8)\n"
          "  --mesh-hook-wait T      how long a joining node waits for its neighbours'\n"
          "                          answers (default 1s)\n"
          "  --mesh-flood-rate N     packets per second taken from one neighbour, beyond:\n"
          "                          dropped (default 500)\n"
          "  --mesh-gnode-size N     nodes one gnode takes, 2..254; fewer make many small\n"
          "                          gnodes, a small model of a big mesh (default 254)\n"
          "  --mesh-verbose          the router's log lines on stderr\n"
          "URL forms (--net, --stack):\n"
          "  none                    loopback only\n"
          "  host                    the host's own network (served by the supervisor)\n"
          "  mem://NAME              an in-memory switch shared by the view's stacks on NAME\n"
          "  tap:NAME, tun:NAME      a kernel tap/tun device (needs CAP_NET_ADMIN)\n"
          "  /PATH                   a vde_switch control directory (vde_switch -s PATH)\n"
          "  SCHEME://...            a libvdeplug plugin:",
          kDefaultModule);
  size_t col = 50;
  for (auto &sc : vdeplug_schemes()) {
    if (col + sc.size() + 4 > 88) {
      fprintf(f, "\n                         ");
      col = 25;
    }
    fprintf(f, " %s://", sc.c_str());
    col += sc.size() + 4;
  }
  fprintf(f,
          "\n"
          "                          e.g. vde:///tmp/sw, switch:///tmp/sw, vxvde://239.1.2.3,\n"
          "                          slirp://, cmd://\"ssh host vde_plug\", ptp:///tmp/p\n"
          "'-m relay' instead relays every TCP/UDP/ping socket to the host's network;\n"
          "--publish V:H there binds the program's port V as H on the host's loopback.\n"
          "Module directories: $THREADNET_MODULE_PATH, then the build tree / install prefix.\n"
          "threadnet stack, inside a view of the umnet module (--net/--stack): runs COMMAND\n"
          "with the view's stack NAME as its default network (see msocket(3)).\n");
}


int version() {
  printf("threadnet 0.1.0 (module ABI %u)\n", TN_MODULE_ABI_VERSION);
  return 0;
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
    if (quiet_missing) return false;
    if (name.find('/') != std::string::npos) {  // a path: nothing was searched
      fprintf(stderr, "threadnet: module %s: %s\n", name.c_str(), strerror(ENOENT));
    } else {
      std::string dirs;
      for (auto &d : tn::module_dirs()) dirs += (dirs.empty() ? "" : ":") + d;
      fprintf(stderr,
              "threadnet: module %s not found (searched %s; `threadnet modules` lists the "
              "modules found)\n",
              name.c_str(), dirs.c_str());
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

// Every threadnet-*.so / libthreadnet_*.so in the module directories (and their NAME/
// subdirectories), first hit per name wins, as for --module NAME: fn(name, path, module
// or nullptr, load error).
void visit_modules(
    const std::function<void(const std::string &, const std::string &, const tn_module *,
                             const std::string &)> &fn) {
  std::set<std::string> seen;
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
      bool ok = tn::load_module(path, &m, &err);
      fn(name, path, ok ? m.mod : nullptr, err);
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
}

// A router plug-in (threadnet/router.h: the mesh router umnet's --mesh loads) is a
// threadnet-NAME.so too, with threadnet_router_v1 where a module has threadnet_module_v1.
// 1: it is one (*name, *summary, *options); 0: no router symbol; -1: a broken one (*err).
int probe_router(const std::string &path, std::string *name, std::string *summary,
                 std::vector<std::string> *options, std::string *err) {
  void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;  // the module loader has said why already
  int rc = 0;
  auto entry = reinterpret_cast<tn_router_entry_fn>(dlsym(h, TN_ROUTER_SYMBOL));
  if (entry) {
    const tn_router *r = entry();
    rc = -1;
    if (!r)
      *err = "router plug-in " + path + ": " TN_ROUTER_SYMBOL "() returned NULL";
    else if (r->abi_version != TN_ROUTER_ABI_VERSION)
      *err = "router plug-in " + path + " was built for router ABI version " +
             std::to_string(r->abi_version) + ", this threadnet supports version " +
             std::to_string(TN_ROUTER_ABI_VERSION) + "; rebuild it";
    else if (r->size < offsetof(tn_router, summary) + sizeof(r->summary) || !r->name)
      *err = "router plug-in " + path + " has an incomplete router table (size " +
             std::to_string(r->size) + ")";
    else {
      *name = r->name;
      *summary = r->summary ? r->summary : "";
      if (r->size >= offsetof(tn_router, options) + sizeof(r->options) && r->options)
        for (const char *const *o = r->options; *o; ++o) options->push_back(*o);
      rc = 1;
    }
  }
  dlclose(h);
  return rc;
}

int cmd_modules() {
  int found = 0;
  visit_modules([&](const std::string &name, const std::string &path, const tn_module *m,
                    const std::string &err) {
    if (m) {
      printf("%-10s %s  (%s)\n", m->name, m->summary ? m->summary : "", path.c_str());
      ++found;
      return;
    }
    std::string rname, rsummary, rerr;
    std::vector<std::string> ropts;
    int r = probe_router(path, &rname, &rsummary, &ropts, &rerr);
    if (r > 0) {
      printf("%-10s %s  (router plug-in of umnet, for --mesh; %s)\n", rname.c_str(),
             rsummary.c_str(), path.c_str());
      ++found;
    } else {
      printf("%-10s error: %s\n", name.c_str(), (r < 0 ? rerr : err).c_str());
    }
  });
  if (!found) printf("no modules found\n");
  return 0;
}

// `threadnet options`: one option per line, "--NAME" or "--NAME=" (takes a value), the
// launcher's then each module's found ("MODULE --NAME"), and the options a router plug-in
// takes through its module ("router:NAME --NAME": umnet passes its --mesh-* on).
int cmd_options() {
  for (const char *const *o = kLauncherOptions; *o; ++o) printf("launcher --%s\n", *o);
  visit_modules([](const std::string &name, const std::string &path, const tn_module *m,
                   const std::string &) {
    if (!m) {
      std::string rname, rsummary, rerr;
      std::vector<std::string> ropts;
      if (probe_router(path, &rname, &rsummary, &ropts, &rerr) > 0)
        for (auto &o : ropts) printf("router:%s --%s\n", rname.c_str(), o.c_str());
      return;
    }
    if (!has_options_field(m)) return;
    for (const char *const *o = m->options; *o; ++o) printf("%s --%s\n", name.c_str(), *o);
  });
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
        // Fail closed: the host network is only ever what the user asked for.
        std::string dirs;
        for (auto &d : tn::module_dirs()) dirs += (dirs.empty() ? "" : ":") + d;
        fprintf(stderr,
                "threadnet: the default module %s was not found in %s; not starting the "
                "program (build modules/umnet, set THREADNET_MODULE_PATH, or choose one "
                "with -m)\n",
                n.c_str(), dirs.c_str());
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
  // A launcher option with a value, as "--NAME V" or "--NAME=V": 1 and *v set, 0 when `a`
  // is another option, 2 (said) when the value is missing.
  auto valued = [&](const std::string &a, const char *name, const char *what, int &i,
                    std::string *v) -> int {
    std::string flag = std::string("--") + name;
    if (a == flag) {
      if (i + 1 >= argc) {
        bad("option " + flag + " needs " + what);
        return 2;
      }
      *v = argv[++i];
      return 1;
    }
    if (a.rfind(flag + "=", 0) != 0) return 0;
    *v = a.substr(flag.size() + 1);
    return 1;
  };
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
    if (a == "--version") return version();
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
    if (a == "--keep-caps") {
      opts.keep_caps = true;
      continue;
    }
    std::string v;
    if (int r = valued(a, "keep-fd", "a file descriptor number", i, &v); r) {
      if (r == 2) return 2;
      char *end = nullptr;
      long fd = strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || fd < 3 || fd > INT_MAX)
        return bad("--keep-fd " + v + ": not a file descriptor number >= 3");
      opts.keep_fds.insert(int(fd));
      continue;
    }
    if (a == "--no-namespaces") {
      opts.use_namespaces = false;
      continue;
    }
    if (int r = valued(a, "wait-net", "SECONDS", i, &v); r) {
      if (r == 2) return 2;
      char *end = nullptr;
      double sec = strtod(v.c_str(), &end);
      if (v.empty() || *end || !(sec >= 0 && sec <= 3600))
        return bad("--wait-net " + v + ": not a number of seconds from 0 to 3600");
      opts.wait_net_s = sec;
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
      fprintf(stderr, "threadnet stack: not inside a threadnet view (run it under "
                      "`threadnet run --stack NAME=URL ...`)\n");
    else if (e == EOPNOTSUPP)
      fprintf(stderr, "threadnet stack: this view has no named stacks (it runs -m relay, the "
                      "host's network; named stacks come with the umnet module's --stack "
                      "NAME=URL)\n");
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
  if (cmd == "--version" || cmd == "version") return version();
  if (cmd == "run") return cmd_run(argc - 2, argv + 2);
  if (cmd == "modules") return cmd_modules();
  if (cmd == "options") return cmd_options();
  if (cmd == "stack") return cmd_stack(argc - 2, argv + 2);
  fprintf(stderr, "threadnet: unknown command '%s' (try: threadnet run --help)\n", cmd.c_str());
  return 2;
}
