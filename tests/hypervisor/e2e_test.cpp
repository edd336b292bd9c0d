// End-to-end tests: real programs (tn_probe, sh) under `threadnet run` with the example
// module. Every child run has a timeout; a test never waits unboundedly.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <cctype>
#include <string>
#include <vector>

extern char **environ;

namespace {

const std::string kThreadnet = THREADNET_BIN;
const std::string kProbe = PROBE_BIN;
const std::string kExample = EXAMPLE_MODULE;

struct Child {
  pid_t pid = -1;
  int out = -1, err = -1;
  std::string sout, serr;
};

Child start(const std::vector<std::string> &args) {
  int o[2], e[2];
  EXPECT_EQ(pipe2(o, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(e, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, o[1], 1);
  posix_spawn_file_actions_adddup2(&fa, e[1], 2);
  std::vector<char *> av;
  for (auto &a : args) av.push_back(const_cast<char *>(a.c_str()));
  av.push_back(nullptr);
  // A known signal state whatever the test runner's (CI may ignore SIGPIPE, etc.).
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t def, none;
  sigemptyset(&none);
  sigemptyset(&def);
  for (int s : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGCHLD}) sigaddset(&def, s);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  Child c;
  int r = posix_spawn(&c.pid, av[0], &fa, &at, av.data(), environ);
  EXPECT_EQ(r, 0);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  close(o[1]);
  close(e[1]);
  c.out = o[0];
  c.err = e[0];
  fcntl(c.out, F_SETFL, O_NONBLOCK);
  fcntl(c.err, F_SETFL, O_NONBLOCK);
  return c;
}

// Reads output until `pred(stdout)` holds or the deadline passes.
bool pump(Child &c, int ms, const std::function<bool()> &pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    if (pred && pred()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return pred ? pred() : false;
    pollfd p[2] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}};
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count());
    int n = poll(p, 2, left > 50 ? 50 : left + 1);
    if (n < 0) return false;
    bool eof = true;
    for (int i = 0; i < 2; ++i) {
      char buf[4096];
      ssize_t k;
      while ((k = read(p[i].fd, buf, sizeof buf)) > 0) (i ? c.serr : c.sout).append(buf, k);
      if (k != 0) eof = false;
    }
    if (eof && !pred) return true;
  }
}

// Waits for exit (bounded); SIGKILLs on timeout and returns -1.
int finish(Child &c, int ms = 20000) {
  pump(c, ms, nullptr);
  int st = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    pid_t w = waitpid(c.pid, &st, WNOHANG);
    if (w == c.pid) break;
    if (std::chrono::steady_clock::now() >= end) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &st, 0);
      close(c.out);
      close(c.err);
      return -1;
    }
    usleep(5000);
  }
  pump(c, 200, nullptr);
  close(c.out);
  close(c.err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct Res {
  int code;
  std::string out, err;
};

Res run(std::vector<std::string> args, int ms = 20000) {
  Child c = start(args);
  int code = finish(c, ms);
  return {code, c.sout, c.serr};
}

std::vector<std::string> tn(std::vector<std::string> opts, std::vector<std::string> prog) {
  std::vector<std::string> v{kThreadnet, "run"};
  v.insert(v.end(), opts.begin(), opts.end());
  v.push_back("--");
  v.insert(v.end(), prog.begin(), prog.end());
  return v;
}

std::vector<std::string> ex(std::vector<std::string> more = {}) {
  std::vector<std::string> v{"--module", kExample};
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

int count(const std::string &s, const std::string &needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// All descendants of pid (host view), from /proc/*/stat parent links.
std::set<pid_t> descendants(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> links;
  DIR *d = opendir("/proc");
  if (!d) return {};
  while (dirent *e = readdir(d)) {
    pid_t p = atoi(e->d_name);
    if (p <= 0) continue;
    std::ifstream f("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    auto rp = line.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream is(line.substr(rp + 2));
    char state;
    pid_t ppid;
    is >> state >> ppid;
    links.push_back({p, ppid});
  }
  closedir(d);
  std::set<pid_t> out{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (auto &l : links)
      if (out.count(l.second) && !out.count(l.first)) {
        out.insert(l.first);
        grew = true;
      }
  }
  out.erase(root);
  return out;
}

TEST(HvE2E, NonNetworkProgramRunsUnchanged) {
  Res r = run(tn({"--module", "none"}, {"/bin/sh", "-c", "echo hi | cat; exit 3"}));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "");
}

TEST(HvE2E, ExitStatusOfSignalIs128PlusN) {
  Res r = run(tn(ex(), {"/bin/sh", "-c", "kill -TERM $$"}));
  EXPECT_EQ(r.code, 128 + SIGTERM);
}

TEST(HvE2E, SocketTrappedAndAnswered) {
  Res r = run(tn(ex(), {kProbe, "socket"}));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "socket: EACCES\n");
}

TEST(HvE2E, WithoutModuleTheKernelAnswers) {
  Res r = run(tn({"--module", "none"}, {kProbe, "socket"}));
  EXPECT_EQ(r.out, "socket: ok\n");
}

TEST(HvE2E, UnixSocketsGoToTheKernel) {
  Res r = run(tn(ex({"--trace"}), {kProbe, "unix"}));
  EXPECT_EQ(r.out, "unix: ok\n");
  EXPECT_EQ(count(r.err, "socket("), 0) << r.err;
}

TEST(HvE2E, InjectedSocketpairEnd) {
  Res r = run(tn(ex({"--example-mode", "pair"}), {kProbe, "echo"}));
  EXPECT_EQ(r.out, "echo: ABC\n") << r.err;
  Res r2 = run(tn(ex({"-o", "example:example-mode=pair"}), {kProbe, "echo"}));
  EXPECT_EQ(r2.out, "echo: ABC\n") << r2.err;
  // Installed first, answered in a second step (TN_INJECT_REPLY): the call still returns
  // the new fd, and the trace shows that number.
  Res r3 = run(tn(ex({"--example-mode", "reply", "--trace"}), {kProbe, "echo"}));
  EXPECT_EQ(r3.out, "echo: ABC\n") << r3.err;
  size_t at = r3.err.find("socket(AF_INET, ");
  size_t eq = at == std::string::npos ? at : r3.err.find(") = ", at);
  ASSERT_NE(eq, std::string::npos) << r3.err;
  EXPECT_TRUE(isdigit(static_cast<unsigned char>(r3.err[eq + 4]))) << r3.err;
}

TEST(HvE2E, InjectAtAndFdIdentity) {
  Res r = run(tn(ex({"--example-mode", "ident"}), {kProbe, "socketfd"}));
  EXPECT_EQ(r.out, "socketfd: 100\n") << r.err;
  // From non-leader threads too (pidfd_open(tid, PIDFD_THREAD) / Tgid path).
  Res t = run(tn(ex({"--example-mode", "ident"}), {kProbe, "threadsfd", "3"}));
  EXPECT_EQ(count(t.out, ": fd 100\n"), 3) << t.out << t.err;
}

TEST(HvE2E, FollowsThreads) {
  Res r = run(tn(ex(), {kProbe, "threads", "4"}));
  EXPECT_EQ(count(r.out, ": EACCES"), 4) << r.out;
}

TEST(HvE2E, FollowsForkAndVfork) {
  Res r = run(tn(ex(), {kProbe, "fork"}));
  EXPECT_EQ(r.out, "child: EACCES\nparent: EACCES\n");
  Res v = run(tn(ex(), {kProbe, "vfork"}));
  EXPECT_EQ(v.out, "socket: EACCES\nparent: EACCES\n");
}

TEST(HvE2E, FollowsShellPipelineAndExec) {
  std::string cmd = kProbe + " socket | { " + kProbe + " socket; cat; }; exec " + kProbe + " fork";
  Res r = run(tn(ex(), {"/bin/sh", "-c", cmd}));
  EXPECT_EQ(count(r.out, ": EACCES"), 4) << r.out;
  EXPECT_EQ(count(r.out, ": ok"), 0) << r.out;
}

TEST(HvE2E, ProgramNotFound) {
  Res r = run(tn(ex(), {"threadnet-no-such-program"}));
  EXPECT_EQ(r.code, 127);
  EXPECT_EQ(r.err, "threadnet: threadnet-no-such-program: command not found\n");
}

TEST(HvE2E, ProgramNotExecutable) {
  char path[] = "/tmp/tn_noexec_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Res r = run(tn(ex(), {path}));
  unlink(path);
  EXPECT_EQ(r.code, 126);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

TEST(HvE2E, OwnSeccompListenerGetsEbusy) {
  Res r = run(tn(ex(), {kProbe, "listener"}));
  EXPECT_EQ(r.out, "listener: EBUSY\n");
  EXPECT_NE(r.err.find("own seccomp user-notify listener"), std::string::npos) << r.err;
}

TEST(HvE2E, NestedThreadnetFailsClearly) {
  Res r = run(tn(ex(), {kThreadnet, "run", "--module", kExample, "--", "/bin/true"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("threadnet: cannot install the seccomp filter: a seccomp user-notify "
                       "listener already exists in this process tree"),
            std::string::npos)
      << r.err;
}

TEST(HvE2E, IoUringRefusedWithOneMessage) {
  Res r = run(tn(ex(), {"/bin/sh", "-c", kProbe + " uring; " + kProbe + " uring"}));
  EXPECT_EQ(r.out, "uring: ENOSYS\nuring: ENOSYS\n");
  EXPECT_EQ(count(r.err, "io_uring is disabled in this view"), 1) << r.err;
}

TEST(HvE2E, Int80AndX32Refused) {
  Res b = run(tn(ex(), {kProbe, "x32"}));
  EXPECT_EQ(b.out, "x32: ENOSYS\n");
  EXPECT_NE(b.err.find("x32 system calls are disabled"), std::string::npos) << b.err;
  // Natively, the x32 getpid works or fails differently (kernel config): not our ENOSYS
  // message in any case, which is what the test pins down above.
  // int 0x80 itself must work natively for the i386 half to mean anything: some kernels
  // (paravirtualised guests among them) kill the process that uses it.
  Res n = run({kProbe, "int80"});
  if (n.code >= 128)
    GTEST_SKIP() << "int 0x80 kills a native process on this kernel (signal " << n.code - 128
                 << "): no i386 system calls to refuse";
  Res a = run(tn(ex(), {kProbe, "int80"}));
  EXPECT_EQ(a.out, "int80: ENOSYS\n");
  EXPECT_NE(a.err.find("32-bit"), std::string::npos) << a.err;
}

TEST(HvE2E, SigintSentWithKillIsForwarded) {
  Child c = start(tn(ex(), {kProbe, "sigint-wait"}));
  ASSERT_TRUE(pump(c, 10000, [&] { return c.sout.find("ready") != std::string::npos; }))
      << c.serr;
  kill(c.pid, SIGINT);
  EXPECT_EQ(finish(c), 42);
}

TEST(HvE2E, TerminalSigintIsNotDoubled) {
  // In a pty, ^C reaches the whole foreground process group (threadnet, its init and the
  // program); the supervisor must not relay it once more.
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(kThreadnet.c_str(), kThreadnet.c_str(), "run", "--module", kExample.c_str(), "--",
          kProbe.c_str(), "sigint-count", (char *)nullptr);
    _exit(127);
  }
  fcntl(master, F_SETFL, O_NONBLOCK);
  std::string out;
  auto read_until = [&](const std::string &what, int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (out.find(what) == std::string::npos && std::chrono::steady_clock::now() < end) {
      pollfd p{master, POLLIN, 0};
      poll(&p, 1, 20);
      char buf[512];
      ssize_t n;
      while ((n = read(master, buf, sizeof buf)) > 0) out.append(buf, n);
    }
    return out.find(what) != std::string::npos;
  };
  bool ready = read_until("ready", 10000);
  if (ready) {
    ASSERT_EQ(write(master, "\x03", 1), 1);
  }
  bool counted = ready && read_until("sigints: ", 10000) && read_until("\n", 2000);
  int st = 0;
  for (int i = 0; i < 500 && waitpid(pid, &st, WNOHANG) == 0; ++i) usleep(10000);
  if (waitpid(pid, &st, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  close(master);
  ASSERT_TRUE(ready) << out;
  ASSERT_TRUE(counted) << out;
  EXPECT_NE(out.find("sigints: 1"), std::string::npos) << out;
}

TEST(HvE2E, ProgramInheritsTheUsersSignalState) {
  // nohup-style: SIGHUP ignored by the user stays ignored; SIGPIPE default stays default;
  // nothing is left blocked by the supervisor.
  Res r = run(tn(ex(), {"/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"}));
  ASSERT_EQ(r.code, 0) << r.err;
  unsigned long long blk = 1, ign = 0;
  ASSERT_EQ(sscanf(r.out.c_str(), "SigBlk: %llx SigIgn: %llx", &blk, &ign), 2) << r.out;
  EXPECT_EQ(blk, 0u);
  EXPECT_EQ(ign & (1ull << (SIGPIPE - 1)), 0u) << r.out;
  Res h = run({"/bin/sh", "-c", "trap '' HUP; exec \"$0\" run --module \"$1\" -- /bin/sh -c "
                                "\"grep '^SigIgn' /proc/self/status\"",
               kThreadnet, kExample});
  unsigned long long ign2 = 0;
  ASSERT_EQ(sscanf(h.out.c_str(), "SigIgn: %llx", &ign2), 1) << h.out << h.err;
  EXPECT_NE(ign2 & (1ull << (SIGHUP - 1)), 0u) << h.out;
}

TEST(HvE2E, BackgroundChildrenKeepTheRunAlive) {
  Res r = run(tn(ex(), {"/bin/sh", "-c", "(sleep 0.3; echo late; exit 9) & echo early; exit 5"}));
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.out, "early\nlate\n");
}

TEST(HvE2E, SigtermAfterProgramEndReachesDaemons) {
  // The program exits at once, leaving a setsid'd daemon; SIGTERM to threadnet ends it.
  Child c = start(tn(ex(), {"/bin/sh", "-c", "setsid sleep 30 & echo started"}));
  ASSERT_TRUE(pump(c, 10000, [&] { return c.sout.find("started") != std::string::npos; }));
  // Wait (bounded) until the shell has exited; the run stays alive for the daemon.
  auto comm_of = [](pid_t p) {
    std::ifstream f("/proc/" + std::to_string(p) + "/comm");
    std::string s;
    std::getline(f, s);
    return s;
  };
  bool shell_gone = false;
  for (int i = 0; i < 1000 && !shell_gone; ++i) {
    shell_gone = true;
    for (pid_t p : descendants(c.pid))
      if (comm_of(p) == "sh") shell_gone = false;
    if (!shell_gone) usleep(10000);
  }
  ASSERT_TRUE(shell_gone);
  auto t0 = std::chrono::steady_clock::now();
  kill(c.pid, SIGTERM);
  EXPECT_EQ(finish(c, 10000), 0);  // the program's (the shell's) status
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(HvE2E, CancelledCallWhenSignalInterruptsTracee) {
  Res r = run(tn(ex({"--example-mode", "block", "--trace"}), {kProbe, "eintr"}));
  EXPECT_EQ(r.out, "eintr: EINTR\n");
  EXPECT_NE(r.err.find("example: call cancelled"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("= ? <interrupted>"), std::string::npos) << r.err;
}

TEST(HvE2E, DeadlineAnswersWhenNobodyCancels) {
  Res r = run(tn(ex({"--example-mode", "block", "--example-timeout-ms", "100"}), {kProbe, "socket"}));
  EXPECT_EQ(r.out, "socket: ETIMEDOUT\n") << r.err;
}

TEST(HvE2E, ModulesHearAboutExits) {
  Res r = run(tn(ex({"--trace"}), {kProbe, "fork"}));
  EXPECT_EQ(r.out, "child: EACCES\nparent: EACCES\n");
  // The child exits while the run goes on; the parent's exit may race the end of the run.
  EXPECT_GE(count(r.err, "example: process "), 1) << r.err;
}

TEST(HvE2E, TraceStackShowsTheCallSite) {
  Res r = run(tn(ex({"--trace-stack"}), {kProbe, "socket"}));
  EXPECT_EQ(r.out, "socket: EACCES\n");
  auto line = r.err.find("socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES");
  ASSERT_NE(line, std::string::npos) << r.err;
  std::string frames = r.err.substr(line);
  EXPECT_NE(frames.find("#0 "), std::string::npos) << frames;
  EXPECT_NE(frames.find(" do_socket+0x"), std::string::npos) << frames;
  // main appears too unless tn_probe was built with frame pointers (the sanitizer
  // build): an rbp-based CFA ends the walk, see docs/hypervisor.md.
  EXPECT_NE(frames.find("tn_probe)"), std::string::npos) << frames;
}

TEST(HvE2E, ConditionalTrapAndWriteMem) {
  Res r = run(tn(ex({"--example-fionread", "4242", "--trace"}), {kProbe, "fionread"}));
  EXPECT_EQ(r.out, "fionread: 0 4242 0\n") << r.err;
  EXPECT_EQ(count(r.err, "ioctl("), 1) << r.err;  // FIONBIO never reached the supervisor
  Res n = run(tn(ex(), {kProbe, "fionread"}));
  EXPECT_EQ(n.out, "fionread: 0 0 0\n") << n.err;
}

TEST(HvE2E, ModuleHoldKeepsTheLoopAfterTheTree) {
  auto t0 = std::chrono::steady_clock::now();
  Res r = run(tn(ex({"--example-linger-ms", "300", "--trace"}), {kProbe, "socket"}));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.err.find("example: released"), std::string::npos) << r.err;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(HvE2E, TraceToFile) {
  char path[] = "/tmp/tn_trace_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Res r = run(tn(ex({std::string("--trace=") + path}), {kProbe, "socket"}));
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  unlink(path);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(ss.str().find("] socket(AF_INET, SOCK_STREAM, 0) = -1 EACCES (Permission denied)"),
            std::string::npos)
      << ss.str();
}

TEST(HvE2E, ProgramKilledMidCallSupervisorExitsCleanly) {
  Child c = start(tn(ex({"--example-mode", "block"}), {kProbe, "socket"}));
  // Find the probe (a descendant named tn_probe) once it is blocked in the call.
  pid_t probe = -1;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (probe < 0 && std::chrono::steady_clock::now() < end) {
    for (pid_t p : descendants(c.pid)) {
      std::ifstream f("/proc/" + std::to_string(p) + "/comm");
      std::string comm;
      std::getline(f, comm);
      std::ifstream s("/proc/" + std::to_string(p) + "/syscall");
      std::string sc;
      std::getline(s, sc);
      if (comm == "tn_probe" && sc.rfind("41 ", 0) == 0) probe = p;  // in socket()
    }
    if (probe < 0) usleep(10000);
  }
  ASSERT_GT(probe, 0);
  kill(probe, SIGKILL);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(finish(c, 10000), 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(HvE2E, SupervisorKilledTreeDies) {
  char path[] = "/tmp/tn_tree_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Child c = start(tn(ex(), {kProbe, "tree", path}));
  ASSERT_TRUE(pump(c, 10000, [&] { return c.sout.find("ready") != std::string::npos; }))
      << c.serr;
  unlink(path);
  // The tree: init, probe, its child, the double-forked daemon (reparented to init).
  std::set<pid_t> tree = descendants(c.pid);
  ASSERT_GE(tree.size(), 4u);
  std::vector<int> pidfds;
  for (pid_t p : tree) {
    int pfd = int(syscall(SYS_pidfd_open, p, 0));
    if (pfd >= 0) pidfds.push_back(pfd);
  }
  ASSERT_GE(pidfds.size(), 4u);
  kill(c.pid, SIGKILL);
  finish(c, 5000);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t dead = 0;
  while (std::chrono::steady_clock::now() < end) {
    dead = 0;
    for (int pfd : pidfds) {
      pollfd p{pfd, POLLIN, 0};
      if (poll(&p, 1, 0) == 1) ++dead;
    }
    if (dead == pidfds.size()) break;
    usleep(10000);
  }
  EXPECT_EQ(dead, pidfds.size());
  for (int pfd : pidfds) {
    syscall(SYS_pidfd_send_signal, pfd, SIGKILL, nullptr, 0);  // cleanup on failure
    close(pfd);
  }
}

TEST(HvE2E, NoNamespacesFallbackMode) {
  Res r = run(tn(ex({"--no-namespaces"}), {"/bin/sh", "-c", kProbe + " fork; exit 7"}));
  EXPECT_EQ(r.code, 7);
  EXPECT_EQ(r.out, "child: EACCES\nparent: EACCES\n");
  Res s = run(tn(ex({"--no-namespaces"}), {"/bin/sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(s.code, 128 + SIGKILL);
}

TEST(HvE2E, GetpidMatchesProc) {
  Res r = run(tn(ex(), {kProbe, "pid"}));
  int a = -1, b = -2;
  ASSERT_EQ(sscanf(r.out.c_str(), "pid: %d %d", &a, &b), 2) << r.out << r.err;
  EXPECT_EQ(a, b);
}

TEST(HvE2E, UserErrors) {
  Res m = run(tn({"--module", "threadnet-no-such-module"}, {"/bin/true"}));
  EXPECT_EQ(m.code, 2);
  EXPECT_NE(m.err.find("module threadnet-no-such-module not found"), std::string::npos) << m.err;
  Res o = run(tn(ex({"--bogus-option"}), {"/bin/true"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("unknown option --bogus-option"), std::string::npos) << o.err;
  Res v = run(tn(ex({"--example-mode", "wrong"}), {"/bin/true"}));
  EXPECT_EQ(v.code, 2);
  // A module's message about one of its options is printed as that option's error.
  EXPECT_EQ(v.err.rfind("threadnet: --example-mode must be", 0), 0u) << v.err;
  Res n = run({kThreadnet, "run", "--module", kExample});
  EXPECT_EQ(n.code, 2);
  EXPECT_NE(n.err.find("no PROGRAM"), std::string::npos) << n.err;
}

TEST(HvE2E, UnprivilegedUserNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv (util-linux) missing";
  Res probe = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   kThreadnet, "--version"});
  if (probe.code != 0)
    GTEST_SKIP() << "build tree not accessible to uid 65534: " << probe.err;
  Res r = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               kThreadnet, "run", "--module", kExample, "--", kProbe, "socket"});
  if (r.err.find("namespaces unavailable") != std::string::npos)
    GTEST_SKIP() << "unprivileged user namespaces disabled here";
  EXPECT_EQ(r.out, "socket: EACCES\n") << r.err;
  EXPECT_EQ(r.code, 0);
}

}  // namespace
