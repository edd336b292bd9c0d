// Shared harness for the libstack <-> Linux kernel interop tests and benchmarks: a
// namespace + tap made by the caller, a Stack on the TapLink driven by a real event loop
// (ppoll on the tap fd + Stack::next_deadline, steady clock as Instant), and child
// processes whose exit status is observable.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "libstack/autoconf.h"
#include "libstack/links.h"
#include "libstack/stack.h"
#include "links_test_util.h"

namespace kerneltest {

using namespace libstack;
using namespace std::chrono_literals;

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `sh -c cmd` in the background, output to a file; killed and reaped on destruction.
class Proc {
 public:
  Proc(const std::string& cmd, const std::string& out = "/dev/null") {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", ("exec >" + out + " 2>&1; " + cmd).c_str(), (char*)nullptr);
      _exit(127);
    }
  }
  ~Proc() {
    if (pid_ > 0 && !done_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  bool finished() {
    if (done_) return true;
    int st;
    if (pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_) {
      done_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return done_;
  }
  int status() const { return status_; }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = -1;
};

// netem in user space, for kernels without sch_netem: wraps the stack's link and applies
// loss / duplication / delay / reordering to both directions, like
// `netem loss L reorder R duplicate D delay T` on each side (reordered frames skip the
// delay, as netem does). Seeded, so a failure is reproducible.
class ImpairedLink final : public Link {
 public:
  struct Params {
    double loss = 0.05, reorder = 0.10, duplicate = 0.02;
    Duration delay = std::chrono::milliseconds(50);
  };
  ImpairedLink(std::unique_ptr<Link> inner, Params p, uint64_t seed)
      : in_(std::move(inner)), p_(p), rng_(seed) {}
  LinkKind kind() const override { return in_->kind(); }
  size_t mtu() const override { return in_->mtu(); }
  int wait_fd() const override { return in_->wait_fd(); }
  uint64_t dropped() const override { return in_->dropped() + lost_; }
  bool transmit(std::span<const uint8_t> f, Instant now) override {
    enqueue(tx_, f, now);
    flush_tx(now);
    return true;
  }
  size_t receive(std::span<uint8_t> buf, Instant now) override {
    flush_tx(now);
    std::vector<uint8_t> tmp(in_->mtu() + 14 + 4);
    for (int i = 0; i < 256; ++i) {
      size_t n = in_->receive(tmp, now);
      if (!n) break;
      enqueue(rx_, std::span<const uint8_t>(tmp.data(), n), now);
    }
    auto it = earliest(rx_);
    if (it == rx_.end() || it->ready > now) return 0;
    size_t n = it->data.size();
    if (n > buf.size()) {
      rx_.erase(it);
      return 0;
    }
    std::copy(it->data.begin(), it->data.end(), buf.begin());
    rx_.erase(it);
    return n;
  }
  Instant next_rx_time() const override {
    Instant t = kNever;
    for (auto& q : {&rx_, &tx_})
      for (auto& f : *q) t = std::min(t, f.ready);
    return t;
  }
  uint64_t lost() const { return lost_; }

 private:
  struct Frame {
    Instant ready;
    uint64_t seq;
    std::vector<uint8_t> data;
  };
  bool chance(double p) { return double(rng_.next_u64() >> 11) * 0x1.0p-53 < p; }
  void enqueue(std::vector<Frame>& q, std::span<const uint8_t> f, Instant now) {
    if (chance(p_.loss)) {
      ++lost_;
      return;
    }
    int copies = chance(p_.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      Instant ready = chance(p_.reorder) ? now : now + p_.delay;
      if (q.size() < 20000) q.push_back({ready, seq_++, std::vector<uint8_t>(f.begin(), f.end())});
    }
  }
  std::vector<Frame>::iterator earliest(std::vector<Frame>& q) {
    auto best = q.end();
    for (auto it = q.begin(); it != q.end(); ++it)
      if (best == q.end() || std::pair(it->ready, it->seq) < std::pair(best->ready, best->seq)) best = it;
    return best;
  }
  void flush_tx(Instant now) {
    for (int i = 0; i < 100000; ++i) {
      auto it = earliest(tx_);
      if (it == tx_.end() || it->ready > now) return;
      in_->transmit(it->data, now);
      tx_.erase(it);
    }
  }
  std::unique_ptr<Link> in_;
  Params p_;
  SplitMix64 rng_;
  std::vector<Frame> tx_, rx_;
  uint64_t seq_ = 0, lost_ = 0;
};

// A Stack on a tap whose other end lives in a fresh namespace `ns` as device `tap`.
struct KernelPeer {
  std::string id, tap, nsname;
  std::unique_ptr<linktest::NetnsGuard> ns;
  SplitMix64 rng{0x5eed};
  std::unique_ptr<Stack> st;
  Link* link = nullptr;
  int ifx = -1;
  MacAddr mac{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
  std::unique_ptr<Autoconf> ac;
  std::string err;

  // Returns "" or why it cannot run (skip reason) / failed.
  std::string setup(const std::string& tag, Tuning t = {}, bool impaired = false) {
    if (auto why = linktest::netns_unavailable_reason(); !why.empty()) return why;
    id = std::to_string(getpid());
    tap = "lk" + tag + id;
    if (tap.size() > 15) tap = tap.substr(0, 15);
    nsname = "lkns" + tag + id;
    ns = std::make_unique<linktest::NetnsGuard>(nsname);
    if (!ns->ok()) return "ip netns add failed";
    auto l = make_link("tap:" + tap, {}, &err);
    if (!l) return err;
    link = l.get();
    if (linktest::sh("ip link set " + tap + " netns " + nsname) != 0) return "cannot move tap";
    if (ns->exec("ip link set lo up") != 0 || ns->exec("ip link set " + tap + " up") != 0)
      return "cannot bring tap up";
    if (impaired) l = std::make_unique<ImpairedLink>(std::move(l), ImpairedLink::Params{}, 77);
    link = l.get();
    st = Stack::create({rng, t});
    ifx = st->add_interface(std::move(l), mac, 0, "eth0");
    if (ifx < 0) return "add_interface failed";
    return "";
  }

  static Instant now() { return linktest::mono_now(); }

  // One event-loop turn: poll the stack (and autoconf), then sleep until the tap is
  // readable, the next deadline, or at most `max_wait`.
  void turn(Duration max_wait = 50ms) {
    Instant t = now();
    st->poll(t);
    if (ac) ac->poll(t);
    if (step) step();
    Instant dl = st->next_deadline();
    if (ac) dl = std::min(dl, ac->next_deadline());
    dl = std::min(dl, link->next_rx_time());
    Instant t2 = now();
    Duration wait = dl == kNever ? max_wait : std::clamp<Duration>(dl - t2, 0ns, max_wait);
    pollfd p{link->wait_fd(), POLLIN, 0};
    timespec ts{long(wait.count() / 1000000000), long(wait.count() % 1000000000)};
    ppoll(&p, 1, &ts, nullptr);
  }
  // Runs the loop until pred() or timeout. Bounded in time.
  bool run_until(const std::function<bool()>& pred, Duration timeout) {
    Instant end = now() + timeout;
    while (!pred()) {
      if (now() >= end) return false;
      turn();
    }
    return true;
  }
  std::function<void()> step;  // extra work per turn (application logic)
};

}  // namespace kerneltest
