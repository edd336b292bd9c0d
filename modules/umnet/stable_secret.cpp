// The per-user RFC 7217 secret of views.
//
// Theory of operation: RFC 7217 wants the secret behind stable-privacy interface ids kept
// per host across restarts, so that a view on the same network gets the same SLAAC address
// on every run (and a different one on every other network, with the MAC never shown).
// A view has no host of its own, so the secret belongs to the user running threadnet: a
// 32-byte key, stored as 64 hex digits and a newline in a file under the XDG state
// directory (state that should survive restarts but is not configuration). The file is
// created atomically: written to a unique temporary name (O_EXCL, 0600) and then link()ed to
// its name, so two threadnet processes starting at once both end up with the one that won;
// directories that are missing are made 0700. A file that is a symlink, not ours, readable
// by others or not in the expected form is not used (the user may have to remove it): the
// view then uses a random key for this run only, and says so. Views derive their SLAAC key
// from this one (libstack::derive_key16), so the file itself is never used as-is.
#include "stable_secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "libstack/crypto.h"

namespace umnet {

namespace {

constexpr const char *kFile = "rfc7217-secret";

std::string hex(const std::array<uint8_t, 32> &k) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : k) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s + "\n";
}

bool unhex(const std::string &s, std::array<uint8_t, 32> *k) {
  if (s.size() != 65 || s[64] != '\n') return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*k)[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

std::string errstr(int e) { return std::string(strerror(e)); }

// mkdir -p with mode 0700 for the components that are missing.
bool make_dirs(const std::string &dir, std::string *problem) {
  for (size_t p = 1; p <= dir.size(); ++p) {
    if (p < dir.size() && dir[p] != '/') continue;
    std::string part = dir.substr(0, p);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      *problem = "cannot create " + part + ": " + errstr(errno);
      return false;
    }
  }
  return true;
}

// 1: read, 0: no such file, -1: unusable (problem set).
int read_key(const std::string &path, std::array<uint8_t, 32> *k, std::string *problem) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    *problem = "cannot read " + path + ": " + errstr(errno);
    return -1;
  }
  struct stat st {};
  std::string text(128, '\0');
  ssize_t n = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
      (st.st_mode & 077) == 0)
    n = read(fd, text.data(), text.size());
  else
    *problem = path + " is not a private regular file of this user";
  close(fd);
  if (n < 0) {
    if (problem->empty()) *problem = "cannot read " + path + ": " + errstr(errno);
    return -1;
  }
  text.resize(size_t(n));
  if (!unhex(text, k)) {
    *problem = path + " does not hold one key (64 hex digits)";
    return -1;
  }
  return 1;
}

}  // namespace

std::string stable_secret_path(const char *xdg_state_home, const char *home) {
  if (xdg_state_home && xdg_state_home[0] == '/') return std::string(xdg_state_home) + "/threadnet/" + kFile;
  if (home && home[0] == '/') return std::string(home) + "/.local/state/threadnet/" + kFile;
  return {};
}

StableSecret load_stable_secret(const std::string &path) {
  StableSecret s;
  s.path = path;
  auto fallback = [&](std::string why) {
    s.problem = std::move(why);
    s.persistent = false;
    libstack::os_random_bytes(s.key);
    return s;
  };
  if (path.empty()) return fallback("no state directory (neither XDG_STATE_HOME nor HOME is set)");
  int r = read_key(path, &s.key, &s.problem);
  if (r > 0) {
    s.persistent = true;
    return s;
  }
  if (r < 0) return fallback(s.problem);
  if (!make_dirs(path.substr(0, path.rfind('/')), &s.problem)) return fallback(s.problem);
  std::array<uint8_t, 32> k{};
  libstack::os_random_bytes(k);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fallback("cannot create " + tmp + ": " + errstr(errno));
  std::string text = hex(k);
  bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size()) && fsync(fd) == 0;
  int werr = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return fallback("cannot write " + tmp + ": " + errstr(werr));
  }
  int lr = link(tmp.c_str(), path.c_str());
  int lerr = errno;
  unlink(tmp.c_str());
  if (lr != 0 && lerr != EEXIST) return fallback("cannot create " + path + ": " + errstr(lerr));
  // Ours, or the one another process linked first: read back what is there.
  s.problem.clear();
  r = read_key(path, &s.key, &s.problem);
  if (r <= 0) return fallback(s.problem.empty() ? path + " vanished" : s.problem);
  s.persistent = true;
  return s;
}

}  // namespace umnet
