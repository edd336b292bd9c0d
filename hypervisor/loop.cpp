// Theory of operation: the supervisor is one thread. Everything it does is driven from
// Loop::run_once: an epoll set holds the seccomp listener, the modules' watched fds and
// the fds that waiting handlers wait on; timers live in an ordered map whose first
// deadline bounds epoll's timeout. A handler of a trapped call runs on a Boost.Context
// fiber (stacks from a pool, so creating one costs ~50 ns). A fiber that must wait
// (wait_fd/park) registers what it waits for and switches back to the loop; the loop
// resumes it when the fd is ready, the deadline passes, someone wakes its token, or its
// call is cancelled. Cancellation is polled: while any fiber waits on behalf of a tracee
// call, a periodic timer asks the kernel whether each call is still pending
// (SECCOMP_IOCTL_NOTIF_ID_VALID via the task's still_valid check); a call that went away
// (the tracee took a signal, or died) resumes its fiber with kCanceled.
// Fibers are never resumed from inside another fiber or a callback: wake-ups only move a
// task to the ready list, which the loop drains. This keeps stacks shallow and ordering
// simple.
#include "loop.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <cerrno>

namespace ctx = boost::context;

namespace tn {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
}

struct Loop::Item {
  int fd = -1;
  std::function<void(uint32_t)> cb;
  Task *waiter = nullptr;
  bool dead = false;
};

struct Task {
  ctx::fiber fib;
  ctx::fiber back;
  std::function<void()> fn;
  std::function<bool()> still_valid;
  bool done = false;
  bool waiting = false;
  int result = 0;
  Loop::Item *wait_item = nullptr;
  int wait_dup = -1;
  long wait_timer = 0;
  Token *parked_on = nullptr;
};

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStack = 1024 * 1024;
#else
constexpr size_t kStack = 256 * 1024;
#endif

struct Loop::Impl {
  ctx::pooled_fixedsize_stack stacks{kStack, 16};
};

Loop::Loop(std::function<uint64_t()> clock) : clock_(std::move(clock)), impl_(new Impl) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
}

Loop::~Loop() {
  shutdown();
  tasks_.clear();  // any fiber still alive is force-unwound by its destructor
  for (auto &kv : watches_) delete kv.second;
  for (Item *it : dead_items_) delete it;
  if (epfd_ >= 0) close(epfd_);
}

void Loop::shutdown() {
  // Every fiber still waiting sees kCanceled and must return. Bounded.
  for (int round = 0; round < 16 && !tasks_.empty(); ++round) {
    std::vector<Task *> all;
    for (auto &kv : tasks_) all.push_back(kv.first);
    for (Task *t : all) make_ready(t, kCanceled);
    auto rd = std::move(ready_);
    ready_.clear();
    for (Task *t : rd)
      if (tasks_.count(t)) resume(t);
  }
}

int Loop::watch(int fd, uint32_t events, std::function<void(uint32_t)> cb, bool edge) {
  auto old = watches_.find(fd);
  auto *it = new Item;
  it->fd = fd;
  it->cb = std::move(cb);
  epoll_event ev{};
  ev.events = events | (edge ? uint32_t(EPOLLET) : 0u);
  ev.data.ptr = it;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    delete it;
    return -e;  // EEXIST: this fd is watched already
  }
  if (old != watches_.end()) {
    // The fd number was closed without unwatch and is now a new file: replace.
    old->second->dead = true;
    dead_items_.push_back(old->second);
  }
  watches_[fd] = it;
  return 0;
}

int Loop::modify(int fd, uint32_t events) {
  auto w = watches_.find(fd);
  if (w == watches_.end()) return -ENOENT;
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = w->second;
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int Loop::unwatch(int fd) {
  auto w = watches_.find(fd);
  if (w == watches_.end()) return -ENOENT;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  w->second->dead = true;
  dead_items_.push_back(w->second);
  watches_.erase(w);
  return 0;
}

int Loop::unwatch_close(int fd) {
  auto w = watches_.find(fd);
  if (w != watches_.end()) {
    w->second->dead = true;
    dead_items_.push_back(w->second);
    watches_.erase(w);
  }
  return close(fd) < 0 ? -errno : 0;
}

long Loop::add_timer(uint64_t deadline_ns, std::function<void()> cb) {
  long id = next_timer_++;
  timers_.emplace(std::make_pair(deadline_ns, id), std::move(cb));
  timer_deadline_[id] = deadline_ns;
  return id;
}

void Loop::cancel_timer(long id) {
  auto d = timer_deadline_.find(id);
  if (d == timer_deadline_.end()) return;
  timers_.erase(std::make_pair(d->second, id));
  timer_deadline_.erase(d);
}

Task *Loop::spawn(std::function<void()> fn, std::function<bool()> still_valid) {
  auto t = std::make_unique<Task>();
  Task *raw = t.get();
  raw->fn = std::move(fn);
  raw->still_valid = std::move(still_valid);
  raw->fib = ctx::fiber(std::allocator_arg, impl_->stacks, [raw](ctx::fiber &&back) {
    raw->back = std::move(back);
    raw->fn();
    raw->done = true;
    return std::move(raw->back);
  });
  tasks_[raw] = std::move(t);
  ready_.push_back(raw);
  return raw;
}

void Loop::run_now(std::function<void()> fn, std::function<bool()> still_valid) {
  Task *t = spawn(std::move(fn), std::move(still_valid));
  ready_.pop_back();
  resume(t);
}

void Loop::resume(Task *t) {
  Task *prev = current_;
  current_ = t;
  ++switches_;
  t->fib = std::move(t->fib).resume();
  current_ = prev;
  if (t->done) tasks_.erase(t);
}

void Loop::suspend() {
  Task *t = current_;
  ++switches_;
  t->back = std::move(t->back).resume();
}

void Loop::finish_wait(Task *t) {
  if (t->wait_item) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, t->wait_dup, nullptr);
    close(t->wait_dup);
    t->wait_dup = -1;
    t->wait_item->dead = true;
    dead_items_.push_back(t->wait_item);
    t->wait_item = nullptr;
  }
  if (t->wait_timer) {
    cancel_timer(t->wait_timer);
    t->wait_timer = 0;
  }
  if (t->parked_on) {
    t->parked_on->parked = nullptr;
    t->parked_on = nullptr;
  }
}

void Loop::make_ready(Task *t, int result) {
  if (!t->waiting) return;
  t->waiting = false;
  t->result = result;
  finish_wait(t);
  ready_.push_back(t);
}

void Loop::arm_cancel_poll() {
  if (cancel_timer_) return;
  cancel_timer_ = add_timer(now() + cancel_poll_ns_, [this] {
    cancel_timer_ = 0;
    check_cancellations();
    for (auto &kv : tasks_)
      if (kv.first->waiting && kv.first->still_valid) {
        arm_cancel_poll();
        break;
      }
  });
}

void Loop::check_cancellations() {
  std::vector<Task *> gone;
  for (auto &kv : tasks_) {
    Task *t = kv.first;
    if (t->waiting && t->still_valid && !t->still_valid()) gone.push_back(t);
  }
  for (Task *t : gone) make_ready(t, kCanceled);
}

int Loop::wait_fd(int fd, uint32_t events, uint64_t deadline_ns) {
  Task *t = current_;
  if (!t) return -EINVAL;
  pollfd p{fd, short(events & 0xffff), 0};
  if (poll(&p, 1, 0) > 0 && p.revents) return p.revents;
  if (t->still_valid && !t->still_valid()) return kCanceled;
  if (deadline_ns && deadline_ns <= now()) return 0;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return -errno;
  auto *it = new Item;
  it->fd = d;
  it->waiter = t;
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.ptr = it;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, d, &ev) < 0) {
    int e = errno;
    close(d);
    delete it;
    return -e;
  }
  t->wait_item = it;
  t->wait_dup = d;
  if (deadline_ns) t->wait_timer = add_timer(deadline_ns, [this, t] {
      t->wait_timer = 0;
      make_ready(t, 0);
    });
  t->waiting = true;
  if (t->still_valid) arm_cancel_poll();
  suspend();
  return t->result;
}

int Loop::park(Token *tok, uint64_t deadline_ns) {
  Task *t = current_;
  if (!t) return -EINVAL;
  if (tok && tok->pending) {
    tok->pending = false;
    return 1;
  }
  if (tok && tok->parked) return -EBUSY;
  if (t->still_valid && !t->still_valid()) return kCanceled;
  if (deadline_ns && deadline_ns <= now()) return 0;
  if (!tok && !deadline_ns && !t->still_valid) return -EINVAL;  // would sleep forever
  if (tok) {
    tok->parked = t;
    t->parked_on = tok;
  }
  if (deadline_ns) t->wait_timer = add_timer(deadline_ns, [this, t] {
      t->wait_timer = 0;
      make_ready(t, 0);
    });
  t->waiting = true;
  if (t->still_valid) arm_cancel_poll();
  suspend();
  return t->result;
}

void Loop::wake(Token *tok) {
  if (!tok) return;
  if (tok->parked) {
    make_ready(tok->parked, 1);
  } else {
    tok->pending = true;
  }
}

bool Loop::run_once(uint64_t max_wait_ns) {
  while (!ready_.empty()) {
    auto rd = std::move(ready_);
    ready_.clear();
    for (Task *t : rd)
      if (tasks_.count(t)) resume(t);
  }
  uint64_t wait = max_wait_ns;
  if (!timers_.empty()) {
    uint64_t first = timers_.begin()->first.first, n = now();
    uint64_t until = first > n ? first - n : 0;
    if (until < wait) wait = until;
  }
  epoll_event evs[64];
  timespec ts{time_t(wait / 1'000'000'000ull), long(wait % 1'000'000'000ull)};
  int n = epoll_pwait2(epfd_, evs, 64, &ts, nullptr);
  if (n < 0 && errno != EINTR) return false;
  for (int i = 0; i < n; ++i) {
    auto *it = static_cast<Item *>(evs[i].data.ptr);
    if (it->dead) continue;
    if (it->waiter)
      make_ready(it->waiter, int(evs[i].events));
    else
      it->cb(evs[i].events);
  }
  uint64_t nowv = now();
  while (!timers_.empty() && timers_.begin()->first.first <= nowv) {
    auto node = timers_.extract(timers_.begin());
    timer_deadline_.erase(node.key().second);
    node.mapped()();
  }
  while (!ready_.empty()) {
    auto rd = std::move(ready_);
    ready_.clear();
    for (Task *t : rd)
      if (tasks_.count(t)) resume(t);
  }
  for (Item *it : dead_items_) delete it;
  dead_items_.clear();
  return true;
}

void Loop::run(const std::function<bool()> &done) {
  while (!done())
    if (!run_once(1'000'000'000ull)) break;
}

}  // namespace tn
