// The event loop and fiber scheduler, driven by a manual clock: waits, deadlines, park/
// wake (remembered wakes), cancellation, timers, spawn, shutdown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <vector>

#include "loop.h"

namespace {

struct Fixture : ::testing::Test {
  uint64_t clock = 1'000'000'000;
  tn::Loop loop{[this] { return clock; }};
  void step() { ASSERT_TRUE(loop.run_once(0)); }
};

using HvLoop = Fixture;

TEST_F(HvLoop, WaitFdReadyAndDeadline) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  int result = -1000;
  loop.spawn([&] { result = loop.wait_fd(p[0], EPOLLIN, clock + 5'000'000); });
  step();
  EXPECT_EQ(result, -1000);  // waiting
  ASSERT_EQ(write(p[1], "x", 1), 1);
  step();
  EXPECT_TRUE(result & EPOLLIN);
  char b;
  ASSERT_EQ(read(p[0], &b, 1), 1);

  result = -1000;
  loop.spawn([&] { result = loop.wait_fd(p[0], EPOLLIN, clock + 5'000'000); });
  step();
  clock += 4'000'000;
  step();
  EXPECT_EQ(result, -1000);
  clock += 1'000'000;
  step();
  EXPECT_EQ(result, 0);  // deadline
  EXPECT_EQ(loop.live_tasks(), 0u);
  close(p[0]);
  close(p[1]);
}

TEST_F(HvLoop, ParkWakeAndRememberedWake) {
  tn::Token tok;
  std::vector<int> got;
  loop.spawn([&] {
    got.push_back(loop.park(&tok, 0));
    got.push_back(loop.park(&tok, 0));
  });
  step();
  EXPECT_TRUE(got.empty());
  loop.wake(&tok);
  loop.wake(&tok);  // the second wake is remembered for the second park
  step();
  EXPECT_EQ(got, (std::vector<int>{1, 1}));
  EXPECT_EQ(loop.live_tasks(), 0u);
}

TEST_F(HvLoop, SleepWithNullToken) {
  int r = -1000;
  loop.spawn([&] { r = loop.park(nullptr, clock + 1000); });
  step();
  EXPECT_EQ(r, -1000);
  clock += 1000;
  step();
  EXPECT_EQ(r, 0);
}

TEST_F(HvLoop, CancellationWhenCallGoesAway) {
  bool valid = true;
  int r = -1000;
  int checks = 0;
  loop.set_cancel_poll_ns(10'000'000);
  loop.run_now([&] { r = loop.park(nullptr, clock + 1'000'000'000); },
               [&] {
                 ++checks;
                 return valid;
               });
  EXPECT_EQ(r, -1000);
  clock += 10'000'000;
  step();
  EXPECT_EQ(r, -1000);  // still valid: keeps waiting
  EXPECT_GE(checks, 2);
  valid = false;
  clock += 10'000'000;
  step();
  EXPECT_EQ(r, tn::kCanceled);
  // Immediate check too: an invalid call never starts to wait.
  r = -1000;
  loop.run_now([&] { r = loop.park(nullptr, clock + 1000); }, [] { return false; });
  EXPECT_EQ(r, tn::kCanceled);
}

TEST_F(HvLoop, CheckCancellationsOnWakeup) {
  bool valid = true;
  int r = -1000;
  loop.run_now([&] { r = loop.park(nullptr, 0); }, [&] { return valid; });
  valid = false;
  loop.check_cancellations();
  step();
  EXPECT_EQ(r, tn::kCanceled);
}

TEST_F(HvLoop, TimersInOrderAndCancel) {
  std::vector<int> fired;
  loop.add_timer(clock + 30, [&] { fired.push_back(3); });
  loop.add_timer(clock + 10, [&] { fired.push_back(1); });
  long id = loop.add_timer(clock + 20, [&] { fired.push_back(2); });
  loop.cancel_timer(id);
  clock += 15;
  step();
  EXPECT_EQ(fired, (std::vector<int>{1}));
  clock += 100;
  step();
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
}

TEST_F(HvLoop, WatchCallbacksAndWaitOutsideFiber) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  int events = 0;
  ASSERT_EQ(loop.watch(p[0], EPOLLIN, [&](uint32_t ev) { events += (ev & EPOLLIN) ? 1 : 0; }), 0);
  EXPECT_EQ(loop.watch(p[0], EPOLLIN, [](uint32_t) {}), -EEXIST);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  step();
  EXPECT_EQ(events, 1);
  EXPECT_EQ(loop.unwatch(p[0]), 0);
  EXPECT_EQ(loop.unwatch(p[0]), -ENOENT);
  // Closing a watched fd without unwatch, then watching a new file with that number.
  int q[2];
  ASSERT_EQ(pipe2(q, O_CLOEXEC | O_NONBLOCK), 0);
  ASSERT_EQ(loop.watch(q[0], EPOLLIN, [](uint32_t) {}), 0);
  int num = q[0];
  close(q[0]);
  ASSERT_EQ(dup2(p[0], num), num);
  int hits = 0;
  EXPECT_EQ(loop.watch(num, EPOLLIN, [&](uint32_t) { ++hits; }), 0);
  ASSERT_EQ(write(p[1], "y", 1), 1);
  step();
  EXPECT_EQ(hits, 1);
  loop.unwatch(num);
  close(num);
  close(q[1]);
  EXPECT_EQ(loop.wait_fd(p[0], EPOLLIN, 0), -EINVAL);  // not in a fiber
  EXPECT_EQ(loop.park(nullptr, 1), -EINVAL);
  close(p[0]);
  close(p[1]);
}

// unwatch_close: the fd is closed and forgotten, and an event of the same batch for it
// (here: both ends of two pipes ready at once, each callback closing the other's fd) is
// not delivered after the close.
TEST_F(HvLoop, UnwatchCloseForgetsTheFd) {
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
  int fired = 0;
  ASSERT_EQ(loop.watch(a[0], EPOLLIN, [&](uint32_t) { ++fired; loop.unwatch_close(b[0]); }), 0);
  ASSERT_EQ(loop.watch(b[0], EPOLLIN, [&](uint32_t) { ++fired; loop.unwatch_close(a[0]); }), 0);
  ASSERT_EQ(write(a[1], "x", 1), 1);
  ASSERT_EQ(write(b[1], "x", 1), 1);
  step();
  EXPECT_EQ(fired, 1);
  int closed = (fcntl(a[0], F_GETFD) < 0) + (fcntl(b[0], F_GETFD) < 0);
  EXPECT_EQ(closed, 1);
  int left = fcntl(a[0], F_GETFD) >= 0 ? a[0] : b[0];
  EXPECT_EQ(loop.unwatch_close(left), 0);
  EXPECT_EQ(fcntl(left, F_GETFD), -1);
  EXPECT_EQ(loop.unwatch(left), -ENOENT);  // forgotten
  close(a[1]);
  close(b[1]);
}

TEST_F(HvLoop, ManyFibersInterleave) {
  tn::Token toks[50];
  int done = 0;
  for (auto &t : toks)
    loop.spawn([&, tp = &t] {
      if (loop.park(tp, 0) == 1) ++done;
    });
  step();
  EXPECT_EQ(loop.live_tasks(), 50u);
  for (int i = 49; i >= 0; --i) loop.wake(&toks[i]);
  step();
  EXPECT_EQ(done, 50);
  EXPECT_EQ(loop.live_tasks(), 0u);
}

TEST(HvLoopShutdown, WaitingFibersSeeCancel) {
  int r = -1000;
  {
    tn::Loop loop;
    tn::Token tok;
    loop.spawn([&] { r = loop.park(&tok, 0); });
    loop.run_once(0);
    loop.shutdown();
    EXPECT_EQ(loop.live_tasks(), 0u);
  }
  EXPECT_EQ(r, tn::kCanceled);
}

}  // namespace
