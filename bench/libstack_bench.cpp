// libstack benchmarks (not tests): prints one "name value unit" line per figure.
//
//   libstack_bench throughput MTU SECONDS   two stacks, in-process link, one TCP stream
//   libstack_bench throughput2 MTU SECONDS  the same with each stack on its own thread
//                                           (sender / receiver, like iperf3's two processes)
//   libstack_bench rr SECONDS               1-byte request/response round trips per second
//   libstack_bench memory N                 heap per idle stack (mallinfo2), N alive at once
//   libstack_bench conns N                  N concurrent TCP connections on one stack (idle
//                                           and busy poll cost)
//   libstack_bench tap TAP DST PORT SECONDS MTU  one stream from a stack on tap TAP (moved
//                                           into namespace NS by the caller) to DST:PORT
//
// Theory of operation: stacks are driven on the real steady clock (now = steady_clock
// as Instant); in-process links deliver at once, so the loop polls both stacks back to
// back; the tap mode waits with ppoll on the tap fd up to the stack's next deadline.
#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "libstack/links.h"
#include "libstack/stack.h"
#include "libstack/tcp.h"

using namespace libstack;
using namespace std::chrono_literals;

namespace {

Instant now() {
  return std::chrono::duration_cast<Instant>(std::chrono::steady_clock::now().time_since_epoch());
}
double secs(Instant d) { return std::chrono::duration<double>(d).count(); }
// Bytes allocated: heap chunks in use plus mmapped chunks.
size_t heap() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}
// Resident set size in bytes (pages actually touched).
size_t rss() {
  long pages = 0, res = 0;
  if (FILE* f = fopen("/proc/self/statm", "r")) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
  }
  return size_t(res) * size_t(sysconf(_SC_PAGESIZE));
}

Tuning big_tuning() {
  Tuning t;
  t.tcp_rcvbuf = t.tcp_sndbuf = 4 << 20;
  t.tcp_time_wait = 1s;
  return t;
}

struct Pair {
  SplitMix64 ra{1}, rb{2};
  std::unique_ptr<Stack> a, b;
  explicit Pair(size_t mtu, Tuning t = big_tuning()) {
    InProcessOptions o;
    o.mtu = mtu;
    o.queue_limit = 65536;
    o.trusted_checksum = true;  // both ends are stacks: no TCP checksums (link_offload)
    auto [la, lb] = InProcessHub::make_pair(o);
    a = Stack::create({ra, t});
    b = Stack::create({rb, t});
    int ia = a->add_interface(std::move(la), MacAddr{{2, 0, 0, 0, 0, 1}});
    int ib = b->add_interface(std::move(lb), MacAddr{{2, 0, 0, 0, 0, 2}});
    a->add_address(uint32_t(ia), *Cidr::parse("10.9.0.1/16"));
    b->add_address(uint32_t(ib), *Cidr::parse("10.9.0.2/16"));
  }
  void poll() {
    Instant t = now();
    a->poll(t);
    b->poll(t);
  }
  template <typename F>
  bool run_until(F&& pred, Duration timeout) {
    Instant end = now() + timeout;
    for (uint64_t i = 0; !pred(); ++i) {
      if ((i & 63) == 0 && now() > end) return false;
      poll();
    }
    return true;
  }
  // Connected client (on a) / server (on b) pair.
  bool connect(TcpSocket& c, TcpSocket& s, uint16_t port) {
    TcpSocket l = b->tcp_socket();
    l.bind({*IpAddr::parse("10.9.0.2"), port});
    l.listen(16);
    c = a->tcp_socket();
    c.connect({*IpAddr::parse("10.9.0.2"), port});
    return run_until([&] { return l.accept(&s) == 0; }, 5s) &&
           run_until([&] { return c.state() == TcpState::Established; }, 5s);
  }
};

int throughput(size_t mtu, double seconds) {
  Pair p(mtu);
  TcpSocket c, s;
  if (!p.connect(c, s, 5001)) return fprintf(stderr, "connect failed\n"), 1;
  std::vector<uint8_t> buf(1 << 20, 0x5a), rbuf(1 << 20);
  uint64_t got = 0;
  Instant t0 = now(), end = t0 + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  Instant t = t0;
  for (uint64_t i = 0; t < end; ++i) {
    for (int k = 0; k < 8; ++k)
      if (c.send(buf) <= 0) break;
    p.poll();
    for (int k = 0; k < 64; ++k) {
      int64_t n = s.recv(rbuf);
      if (n <= 0) break;
      got += uint64_t(n);
    }
    if ((i & 15) == 0) t = now();
  }
  double gbs = double(got) / secs(now() - t0) / 1e9;
  auto info = c.info();
  printf("libstack_inprocess_mtu%zu %.3f GB/s (retransmits %llu)\n", mtu, gbs,
         (unsigned long long)info.retransmits);
  return 0;
}

// Sender stack on this thread, receiver stack on another; the hub (mutex) is the only
// shared object, and each stack and socket is used by one thread only once they run.
// A thread with nothing to do sleeps on an eventfd that its stack's wakeup callback
// (called when the hub queues a frame for it) signals, like a blocking socket would.
struct Waiter {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ~Waiter() { close(fd); }
  void wake() const {
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
  }
  void wait(Duration max) const {
    pollfd pf{fd, POLLIN, 0};
    timespec ts{0, long(max.count())};
    ppoll(&pf, 1, &ts, nullptr);
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
  }
};

int throughput2(size_t mtu, double seconds) {
  Pair p(mtu);
  TcpSocket c, s;
  if (!p.connect(c, s, 5003)) return fprintf(stderr, "connect failed\n"), 1;
  Waiter wa, wb;
  p.a->set_wakeup([&wa] { wa.wake(); });
  p.b->set_wakeup([&wb] { wb.wake(); });
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> got{0};
  Instant t0 = now(), end = t0 + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  std::thread rx([&] {
    std::vector<uint8_t> rbuf(1 << 20);
    uint64_t g = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      p.b->poll(now());
      bool any = false;
      for (int k = 0; k < 64; ++k) {
        int64_t n = s.recv(rbuf);
        if (n <= 0) break;
        g += uint64_t(n);
        any = true;
      }
      got.store(g, std::memory_order_relaxed);
      if (!any) wb.wait(1ms);
    }
  });
  std::vector<uint8_t> buf(1 << 20, 0x5a);
  for (Instant t = t0; t < end; t = now()) {
    p.a->poll(t);
    bool any = false;
    for (int k = 0; k < 8; ++k) {
      if (c.send(buf) <= 0) break;
      any = true;
    }
    if (!any) wa.wait(1ms);
  }
  uint64_t at_end = got.load();
  double el = secs(now() - t0);
  stop = true;
  wb.wake();
  rx.join();
  p.a->set_wakeup(nullptr);
  p.b->set_wakeup(nullptr);
  auto ci = c.info();
  printf("libstack_inprocess_2threads_mtu%zu %.3f GB/s (retransmits %llu)\n", mtu,
         double(at_end) / el / 1e9, (unsigned long long)ci.retransmits);
  return 0;
}

int rr(double seconds) {
  Pair p(1500);
  TcpSocket c, s;
  if (!p.connect(c, s, 5002)) return 1;
  c.set_nodelay(true);
  s.set_nodelay(true);
  uint8_t one = 1, b = 0;
  uint64_t n = 0;
  Instant t0 = now(), end = t0 + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  while (now() < end) {
    for (int k = 0; k < 256; ++k) {
      c.send({&one, 1});
      if (!p.run_until([&] { return s.recv({&b, 1}) == 1; }, 1s)) return fprintf(stderr, "rr stall\n"), 1;
      s.send({&b, 1});
      if (!p.run_until([&] { return c.recv({&b, 1}) == 1; }, 1s)) return fprintf(stderr, "rr stall\n"), 1;
      ++n;
    }
  }
  printf("libstack_rr %.0f transactions/s\n", double(n) / secs(now() - t0));
  return 0;
}

int memory(size_t n) {
  SplitMix64 rng(3);
  std::vector<std::unique_ptr<Stack>> v;
  v.reserve(n);
  size_t h0 = heap();
  for (size_t i = 0; i < n; ++i) v.push_back(Stack::create({rng, Tuning{}}));
  size_t h1 = heap();
  printf("libstack_idle_stack_loopback_only %.0f bytes/stack (%zu alive)\n", double(h1 - h0) / double(n), v.size());
  v.clear();
  // With one in-process Ethernet interface, an IPv4 address and a TCP engine each.
  std::vector<std::unique_ptr<Link>> peers;
  peers.reserve(n);
  h0 = heap();
  for (size_t i = 0; i < n; ++i) {
    auto st = Stack::create({rng, Tuning{}});
    auto [a, b] = InProcessHub::make_pair();
    int ifx = st->add_interface(std::move(a), MacAddr{{2, 0, 0, 0, 1, 1}});
    st->add_address(uint32_t(ifx), *Cidr::parse("10.1.0.1/24"));
    v.push_back(std::move(st));
    peers.push_back(std::move(b));
  }
  h1 = heap();
  printf("libstack_idle_stack_one_interface %.0f bytes/stack incl. link pair (%zu alive)\n",
         double(h1 - h0) / double(n), v.size());
  size_t h2 = heap();
  for (auto& st : v) {
    TcpSocket t = st->tcp_socket();  // builds the engine
  }
  printf("libstack_tcp_engine %.0f bytes/stack extra once TCP is used\n", double(heap() - h2) / double(n));
  return 0;
}

int conns(size_t n) {
  Tuning t;  // default buffers: what a server with many sockets would use
  t.tcp_max_backlog = 4096;
  Pair p(1500, t);
  TcpSocket l = p.b->tcp_socket();
  l.bind({*IpAddr::parse("10.9.0.2"), 80});
  l.listen(4096);
  std::vector<TcpSocket> cs, ss;
  cs.reserve(n);
  ss.reserve(n);
  size_t h0 = heap(), r0 = rss();
  Instant t0 = now();
  for (size_t i = 0; i < n; ++i) {
    cs.push_back(p.a->tcp_socket());
    cs.back().connect({*IpAddr::parse("10.9.0.2"), 80});
    if (i % 64 == 63) p.poll();
    TcpSocket s;
    while (l.accept(&s) == 0) ss.push_back(std::move(s));
  }
  bool ok = p.run_until([&] {
    TcpSocket s;
    while (l.accept(&s) == 0) ss.push_back(std::move(s));
    return ss.size() == n;
  }, 60s);
  double est = secs(now() - t0);
  size_t est_count = 0;
  for (auto& c : cs) est_count += c.state() == TcpState::Established;
  printf("libstack_conns_established %zu/%zu in %.3f s (%.0f conn/s)%s\n", est_count, n, est,
         double(n) / est, ok ? "" : " TIMEOUT");
  printf("libstack_conns_memory %.0f bytes allocated, %.0f bytes resident per connection "
         "(both ends, default 256 KiB buffers, no data sent)\n",
         double(heap() - h0) / double(n), double(rss() - r0) / double(n));
  // poll() cost with n idle connections on each stack.
  const int rounds = 200;
  Instant t1 = now();
  for (int i = 0; i < rounds; ++i) p.b->poll(now());
  printf("libstack_conns_poll %.1f us per Stack::poll (server stack, %zu idle connections)\n",
         secs(now() - t1) / rounds * 1e6, n);
  Instant t2 = now();
  Instant dl{0};
  for (int i = 0; i < rounds; ++i) dl = std::max(dl, p.b->next_deadline());
  printf("libstack_conns_next_deadline %.1f us per call\n", secs(now() - t2) / rounds * 1e6);
  // The same with traffic: one connection carries a byte each round, so every poll
  // follows engine activity and rescans every connection's timers.
  uint8_t one = 1, got = 0;
  Instant t3 = now();
  for (int i = 0; i < rounds; ++i) {
    cs[0].send({&one, 1});
    p.poll();
    (void)ss[0].recv({&got, 1});
  }
  printf("libstack_conns_busy_round %.1f us per send + poll of both stacks + recv (%zu connections each)\n",
         secs(now() - t3) / rounds * 1e6, n);
  return 0;
}

int tap(const std::string& tapname, const std::string& dst, uint16_t port, double seconds, size_t mtu) {
  std::string err;
  LinkOptions lo;
  lo.mtu = mtu;
  auto link = make_link("tap:" + tapname, lo, &err);
  if (!link) return fprintf(stderr, "%s\n", err.c_str()), 1;
  Link* lp = link.get();
  (void)lp;
  printf("ready\n");
  fflush(stdout);
  // The caller moves the tap into the namespace and configures it, then writes a line.
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 1;
  SplitMix64 rng(9);
  auto st = Stack::create({rng, big_tuning()});
  int fd = link->wait_fd();
  int ifx = st->add_interface(std::move(link), MacAddr{{2, 0, 0, 0, 7, 7}});
  st->add_address(uint32_t(ifx), *Cidr::parse("10.205.0.2/24"));
  TcpSocket c = st->tcp_socket();
  c.connect({*IpAddr::parse(dst), port});
  std::vector<uint8_t> buf(1 << 20, 0x33);
  Instant t0 = now(), end = t0 + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  Instant est{0};
  uint64_t acked0 = 0;
  for (Instant t = now(); t < end + 10s; t = now()) {
    st->poll(t);
    if (c.state() == TcpState::Established) {
      if (est == Instant{0}) est = t, acked0 = c.info().bytes_acked;
      if (t >= est + (end - t0)) break;
      for (int k = 0; k < 8; ++k)
        if (c.send(buf) <= 0) break;
    }
    Instant dl = st->next_deadline();
    Duration w = std::clamp<Duration>(dl == kNever ? 10ms : dl - now(), 0ns, 10ms);
    pollfd pf{fd, POLLIN, 0};
    timespec ts{0, long(w.count())};
    ppoll(&pf, 1, &ts, nullptr);
  }
  if (est == Instant{0}) return fprintf(stderr, "no connection\n"), 1;
  double gbs = double(c.info().bytes_acked - acked0) / secs(now() - est) / 1e9;
  printf("libstack_to_kernel_tap_mtu%zu %.3f GB/s (acked at the sender)\n", mtu, gbs);
  c.abort();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed 64 KiB frames in the heap instead of returning them to the kernel and
  // faulting them in again (glibc would mmap/munmap or trim them per packet).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  std::string m = argc > 1 ? argv[1] : "";
  if (m == "throughput" && argc == 4) return throughput(size_t(atol(argv[2])), atof(argv[3]));
  if (m == "throughput2" && argc == 4) return throughput2(size_t(atol(argv[2])), atof(argv[3]));
  if (m == "rr" && argc == 3) return rr(atof(argv[2]));
  if (m == "memory" && argc == 3) return memory(size_t(atol(argv[2])));
  if (m == "conns" && argc == 3) return conns(size_t(atol(argv[2])));
  if (m == "tap" && argc == 7)
    return tap(argv[2], argv[3], uint16_t(atoi(argv[4])), atof(argv[5]), size_t(atol(argv[6])));
  fprintf(stderr, "usage: see the comment at the top of bench/libstack_bench.cpp\n");
  return 2;
}
