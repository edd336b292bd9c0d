// Helpers for the link/DHCP integration tests: child processes, commands, bounded waits.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "libstack/link.h"

namespace linktest {

inline libstack::Instant mono_now() {
  return std::chrono::duration_cast<libstack::Instant>(
      std::chrono::steady_clock::now().time_since_epoch());
}

// Runs a shell command; returns its exit status (or -1).
inline int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline bool is_root() { return geteuid() == 0; }

inline bool have(const char* path) { return access(path, X_OK) == 0; }

// Waits until pred() holds, checking every 20 ms, at most `timeout`.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 100000; ++i) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    usleep(20000);
  }
  return false;
}

// A child process: argv exec'd with stdin on a pipe (closing it makes vde_switch exit);
// killed (SIGTERM, then SIGKILL) and reaped on destruction.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, bool quiet = true) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[0], 0);
      if (quiet) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        dup2(dn, 2);
      }
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execvp(a[0], a.data());
      _exit(127);
    }
    close(p[0]);
    stdin_ = p[1];
  }
  ~Child() { stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool running() {
    if (pid_ <= 0) return false;
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void stop() {
    if (stdin_ >= 0) close(stdin_), stdin_ = -1;
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      usleep(20000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
};

// Receives one frame accepted by `want`, waiting on wait_fd (or polling) up to `timeout`.
inline size_t receive_matching(libstack::Link& l, std::span<uint8_t> buf,
                               const std::function<bool(std::span<const uint8_t>)>& want,
                               std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 100000; ++i) {
    size_t n = l.receive(buf, mono_now());
    if (n > 0) {
      if (want(buf.first(n))) return n;
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    if (l.wait_fd() >= 0) {
      pollfd p{l.wait_fd(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    } else {
      usleep(5000);
    }
  }
  return 0;
}

inline std::string make_temp_dir(const char* tag) {
  std::string t = std::string("/tmp/libstack-") + tag + "-XXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back('\0');
  return mkdtemp(b.data()) ? std::string(b.data()) : std::string();
}

}  // namespace linktest

namespace linktest {

// A named network namespace created for one test and deleted (with everything in it) when
// this object dies, also when the test fails half way.
class NetnsGuard {
 public:
  explicit NetnsGuard(std::string name) : name_(std::move(name)) {
    sh("ip netns del " + name_ + " 2>/dev/null");
    ok_ = sh("ip netns add " + name_) == 0;
  }
  ~NetnsGuard() {
    if (ok_) sh("ip netns del " + name_ + " 2>/dev/null");
  }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  int exec(const std::string& cmd) const { return sh("ip netns exec " + name_ + " " + cmd); }

 private:
  std::string name_;
  bool ok_ = false;
};

// Why a root/namespace test cannot run here, or "" if it can.
inline std::string netns_unavailable_reason() {
  if (!is_root()) return "needs root (creates a network namespace and a tap device)";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun not available";
  if (sh("command -v ip >/dev/null 2>&1") != 0) return "ip (iproute2) not installed";
  return "";
}

}  // namespace linktest
