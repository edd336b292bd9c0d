// Single-threaded event loop with cooperative fibers (see loop.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace tn {

constexpr int kCanceled = -125;  // -TN_ECANCELED

uint64_t mono_ns();

class Loop;

// A fiber task. `cancel_check` (optional) tells whether the task's tracee call is still
// pending; a waiting task whose check says "gone" is resumed with kCanceled.
struct Task;

// A park token: remembers one wake; at most one task parked on it.
struct Token {
  Task *parked = nullptr;
  bool pending = false;
};

class Loop {
 public:
  // `now` overridable for tests: the loop reads time only through it.
  explicit Loop(std::function<uint64_t()> clock = mono_ns);
  ~Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  uint64_t now() const { return clock_(); }

  // -- fd watches (edge-triggered), callbacks run on the loop ------------------------
  int watch(int fd, uint32_t events, std::function<void(uint32_t)> cb,
            bool edge = true);  // 0 / -errno
  int modify(int fd, uint32_t events);
  int unwatch(int fd);
  // unwatch + close without EPOLL_CTL_DEL: only for an fd that is the sole reference to its
  // file (closing it then removes it from the epoll set).
  int unwatch_close(int fd);

  // -- timers ------------------------------------------------------------------------
  long add_timer(uint64_t deadline_ns, std::function<void()> cb);  // id > 0
  void cancel_timer(long id);

  // -- fibers ------------------------------------------------------------------------
  // Start fn on a new fiber; it runs soon (from the loop), not inside this call.
  Task *spawn(std::function<void()> fn, std::function<bool()> still_valid = nullptr);
  // Run fn on a fiber now until it first blocks or ends (for notification handlers).
  void run_now(std::function<void()> fn, std::function<bool()> still_valid = nullptr);
  Task *current() const { return current_; }
  // Bumped whenever a fiber is resumed or suspends: two reads of it that agree bracket
  // one uninterrupted stretch of a handler.
  uint64_t switches() const { return switches_; }
  // Inside a fiber: wait for fd events / deadline (0 = none). Returns events, 0 on
  // timeout, kCanceled, or -EINVAL outside a fiber.
  int wait_fd(int fd, uint32_t events, uint64_t deadline_ns);
  // Inside a fiber: park on a token (nullptr = sleep). 1 woken, 0 timeout, kCanceled.
  int park(Token *t, uint64_t deadline_ns);
  void wake(Token *t);

  // How often waiting tasks re-check their call (cancellation).
  void set_cancel_poll_ns(uint64_t ns) { cancel_poll_ns_ = ns; }
  // Check every waiting task's validity now (e.g. after a wake-up).
  void check_cancellations();

  // One iteration: run ready fibers, wait for events up to max_wait_ns (or the next
  // timer), dispatch. Returns false on a fatal epoll error.
  bool run_once(uint64_t max_wait_ns);
  // Loop until stop() or `done()` is true.
  void run(const std::function<bool()> &done);
  size_t live_tasks() const { return tasks_.size(); }
  // Cancel every waiting fiber (waits return kCanceled) and run them to their end;
  // bounded. Used at the end of a run, before modules are finalised.
  void shutdown();

 public:
  struct Item;  // an epoll registration (internal)

 private:
  struct Impl;
  void resume(Task *t);
  void make_ready(Task *t, int result);
  void suspend();
  void finish_wait(Task *t);
  void arm_cancel_poll();

  std::function<uint64_t()> clock_;
  int epfd_ = -1;
  std::unordered_map<int, Item *> watches_;
  std::vector<Item *> dead_items_;
  std::map<std::pair<uint64_t, long>, std::function<void()>> timers_;
  std::unordered_map<long, uint64_t> timer_deadline_;
  long next_timer_ = 1;
  std::unordered_map<Task *, std::unique_ptr<Task>> tasks_;
  std::vector<Task *> ready_;
  Task *current_ = nullptr;
  uint64_t switches_ = 0;
  uint64_t cancel_poll_ns_ = 20'000'000;
  long cancel_timer_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tn
