// umnet::NetlinkSockets with a fake tn_host: the test process is its own "tracee" (tracee
// memory is our memory, tracee fds are our fds, TraceeFds reaches them through our own
// pidfd), so every call is made by filling a tn_call and checking the recorded answer.
// The supervisor's watch callbacks are invoked by hand, which makes the untrapped write()
// path and the EPOLLOUT backlog flush deterministic.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "libstack/links.h"
#include "libstack/stack.h"
#include "nlsock.h"
#include "tracee_fds.h"

namespace {

using namespace libstack;

struct Fake {
  tn_host h{};
  struct Answer {
    bool cont = false;
    int64_t val = 0;
    int err = 0;
  };
  std::vector<Answer> answers;
  struct Watch {
    tn_watch_cb cb;
    void *arg;
    uint32_t ev;
  };
  std::map<int, Watch> watches;
  std::map<long, std::pair<tn_timer_cb, void *>> timers;
  long next_timer = 1;
  bool valid = true;
  std::function<void()> on_wait;  // runs when a handler starts waiting

  static Fake *F(void *hv) { return static_cast<Fake *>(hv); }
  Fake() {
    h.abi_version = TN_MODULE_ABI_VERSION;
    h.size = sizeof h;
    h.hv = this;
    h.read_mem = [](void *, const tn_call *, uint64_t a, void *b, size_t n) -> int {
      if (!a) return -EFAULT;
      std::memcpy(b, reinterpret_cast<void *>(uintptr_t(a)), n);
      return 0;
    };
    h.write_mem = [](void *, const tn_call *, uint64_t a, const void *b, size_t n) -> int {
      if (!a) return -EFAULT;
      std::memcpy(reinterpret_cast<void *>(uintptr_t(a)), b, n);
      return 0;
    };
    h.get_fd = [](void *, const tn_call *, int fd) -> int {
      int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      return d < 0 ? -errno : d;
    };
    h.reply = [](void *hv, const tn_call *, int64_t v, int e) -> int {
      F(hv)->answers.push_back({false, v, e});
      return 0;
    };
    h.reply_continue = [](void *hv, const tn_call *) -> int {
      F(hv)->answers.push_back({true, 0, 0});
      return 0;
    };
    h.inject_fd = [](void *hv, const tn_call *, int local, int, unsigned flags) -> int {
      int n = fcntl(local, (flags & TN_INJECT_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
      if (n < 0) return -errno;
      if (flags & TN_INJECT_SEND) F(hv)->answers.push_back({false, n, 0});
      return n;
    };
    h.call_valid = [](void *hv, const tn_call *) -> int { return F(hv)->valid ? 1 : 0; };
    h.wait_fd = [](void *hv, const tn_call *, int fd, uint32_t ev, uint64_t dl) -> int {
      if (F(hv)->on_wait) F(hv)->on_wait();
      uint64_t now = F(hv)->h.now_ns(hv);
      int ms = dl ? int(dl > now ? (dl - now) / 1000000 + 1 : 0) : 200;
      pollfd p{fd, short(ev), 0};
      int r = poll(&p, 1, ms);
      if (r > 0) return p.revents;
      return dl ? 0 : -TN_ECANCELED;  // "no deadline" waits end as a cancellation here
    };
    h.watch_fd = [](void *hv, int fd, uint32_t ev, tn_watch_cb cb, void *arg) -> int {
      F(hv)->watches[fd] = {cb, arg, ev};
      return 0;
    };
    h.modify_watch = [](void *hv, int fd, uint32_t ev) -> int {
      F(hv)->watches[fd].ev = ev;
      return 0;
    };
    h.unwatch_fd = [](void *hv, int fd) -> int {
      F(hv)->watches.erase(fd);
      return 0;
    };
    h.add_timer = [](void *hv, uint64_t, tn_timer_cb cb, void *arg) -> long {
      long id = F(hv)->next_timer++;
      F(hv)->timers[id] = {cb, arg};
      return id;
    };
    h.cancel_timer = [](void *hv, long id) { F(hv)->timers.erase(id); };
    h.now_ns = [](void *) -> uint64_t {
      timespec ts{};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
    };
    h.tracing = [](void *) -> int { return 0; };
    h.trace = [](void *, const tn_call *, const char *) {};
    h.warn = [](void *, const char *) {};
  }
  // Fire every watch once with `ev` (what the event loop does on readiness).
  void fire(uint32_t ev) {
    auto copy = watches;
    for (auto &kv : copy)
      if (watches.count(kv.first)) kv.second.cb(kv.second.arg, kv.first, ev);
  }
  Answer take() {
    EXPECT_FALSE(answers.empty());
    if (answers.empty()) return {true, 0, -1};
    Answer a = answers.back();
    answers.clear();
    return a;
  }
};

class NlSock : public ::testing::Test {
 protected:
  SplitMix64 rng{3};
  std::unique_ptr<Stack> st;
  std::shared_ptr<InProcessHub> hub;
  Fake fake;
  std::unique_ptr<tn::TraceeFds> fds;
  std::unique_ptr<umnet::NetlinkSockets> nls;
  std::vector<int> open_fds;

  void SetUp() override {
    Tuning t;
    t.dad_transmits = 0;
    t.ipv6_link_local = false;
    t.router_solicitations = 0;
    t.gratuitous_arp = false;
    st = Stack::create({rng, t});
    hub = InProcessHub::create({});
    int eth = st->add_interface(hub->add_port(), MacAddr{{2, 0, 0, 0, 0, 5}}, 0, "veth5");
    ASSERT_GT(eth, 0);
    ASSERT_EQ(st->add_address(uint32_t(eth), *Cidr::parse("10.5.0.2/24")), 0);
    fds = std::make_unique<tn::TraceeFds>(&fake.h);
    nls = std::make_unique<umnet::NetlinkSockets>(&fake.h, *fds);
  }
  void TearDown() override {
    nls.reset();
    fds.reset();
    for (int fd : open_fds) close(fd);
  }
  tn_call call(int nr, std::initializer_list<uint64_t> args) {
    tn_call c{};
    c.id = 1;
    c.tid = int32_t(gettid());
    c.tgid = getpid();
    c.nr = nr;
    int i = 0;
    for (uint64_t a : args) c.args[i++] = a;
    return c;
  }
  static uint64_t P(const void *p) { return uint64_t(uintptr_t(p)); }
  int make(int type) {
    tn_call c = call(SYS_socket, {AF_NETLINK, uint64_t(type), NETLINK_ROUTE});
    nls->create(&c, *st);
    Fake::Answer a = fake.take();
    if (a.err || a.cont) return -a.err;
    open_fds.push_back(int(a.val));
    return int(a.val);
  }
  uint64_t ident(int fd) {
    tn_call c = call(SYS_getsockname, {uint64_t(fd)});
    return fds->ident_of(&c, fd);
  }
  Fake::Answer op(int nr, std::initializer_list<uint64_t> args) {
    tn_call c = call(nr, args);
    nls->handle(&c, ident(int(c.args[0])));
    return fake.take();
  }
  sockaddr_nl name_of(int fd, bool peer = false) {
    sockaddr_nl a{};
    socklen_t l = sizeof a;
    Fake::Answer r = op(peer ? SYS_getpeername : SYS_getsockname, {uint64_t(fd), P(&a), P(&l)});
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(l, sizeof a);
    return a;
  }
  static std::vector<uint8_t> getlink_dump(uint32_t seq) {
    struct {
      nlmsghdr nh;
      ifinfomsg ifi;
    } q{};
    q.nh.nlmsg_len = sizeof q;
    q.nh.nlmsg_type = RTM_GETLINK;
    q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    q.nh.nlmsg_seq = seq;
    auto *b = reinterpret_cast<const uint8_t *>(&q);
    return {b, b + sizeof q};
  }
  Fake::Answer send_kernel(int fd, const std::vector<uint8_t> &req) {
    sockaddr_nl k{};
    k.nl_family = AF_NETLINK;
    return op(SYS_sendto, {uint64_t(fd), P(req.data()), req.size(), 0, P(&k), sizeof k});
  }
  // Counts NLMSG_DONE in one datagram.
  static int dones(const uint8_t *b, ssize_t n, uint32_t *seq = nullptr) {
    int d = 0;
    for (auto *nh = reinterpret_cast<const nlmsghdr *>(b); NLMSG_OK(nh, size_t(n)); nh = NLMSG_NEXT(nh, n)) {
      if (seq) *seq = nh->nlmsg_seq;
      if (nh->nlmsg_type == NLMSG_DONE) ++d;
    }
    return d;
  }
};

TEST_F(NlSock, CreateHonoursTypeAndFlags) {
  int fd = make(SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(nls->owns(ident(fd)));
  int v = 0;
  socklen_t l = sizeof v;
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_SOCKET, SO_TYPE, P(&v), P(&l)}).err, 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  l = sizeof v;
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_SOCKET, SO_DOMAIN, P(&v), P(&l)}).err, 0);
  EXPECT_EQ(v, AF_NETLINK);
  int raw = make(SOCK_RAW);
  ASSERT_GE(raw, 0);
  EXPECT_FALSE(fcntl(raw, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(make(SOCK_STREAM), -ESOCKTNOSUPPORT);
  EXPECT_EQ(make(SOCK_RAW | 0x100000), -EINVAL);
  tn_call c = call(SYS_socket, {AF_NETLINK, SOCK_RAW, NETLINK_GENERIC});
  nls->create(&c, *st);
  EXPECT_EQ(fake.take().err, EPROTONOSUPPORT);
}

TEST_F(NlSock, BindAutobindAndNames) {
  int a = make(SOCK_RAW), b = make(SOCK_RAW);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(name_of(a).nl_pid, 0u);  // unbound
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  EXPECT_EQ(op(SYS_bind, {uint64_t(a), P(&sa), sizeof sa - 1}).err, EINVAL);
  sockaddr_nl bad = sa;
  bad.nl_family = AF_INET;
  EXPECT_EQ(op(SYS_bind, {uint64_t(a), P(&bad), sizeof bad}).err, EINVAL);
  EXPECT_EQ(op(SYS_bind, {uint64_t(a), P(&sa), sizeof sa}).err, 0);
  sockaddr_nl got = name_of(a);
  EXPECT_EQ(got.nl_family, AF_NETLINK);
  EXPECT_EQ(got.nl_pid, uint32_t(getpid()));
  EXPECT_EQ(got.nl_groups, uint32_t(RTMGRP_LINK));
  EXPECT_EQ(op(SYS_bind, {uint64_t(a), P(&sa), sizeof sa}).err, EINVAL);  // pid 0 again
  sa.nl_pid = got.nl_pid;
  EXPECT_EQ(op(SYS_bind, {uint64_t(a), P(&sa), sizeof sa}).err, 0);  // its own pid
  EXPECT_EQ(op(SYS_bind, {uint64_t(b), P(&sa), sizeof sa}).err, EADDRINUSE);
  sa.nl_pid = 0;
  EXPECT_EQ(op(SYS_bind, {uint64_t(b), P(&sa), sizeof sa}).err, 0);
  uint32_t pb = name_of(b).nl_pid;
  EXPECT_NE(pb, got.nl_pid);
  EXPECT_NE(pb, 0u);
  // A short buffer gets a prefix and the full length.
  sockaddr_nl part{};
  socklen_t l = 4;
  EXPECT_EQ(op(SYS_getsockname, {uint64_t(b), P(&part), P(&l)}).err, 0);
  EXPECT_EQ(l, sizeof(sockaddr_nl));
  EXPECT_EQ(part.nl_family, AF_NETLINK);
  EXPECT_EQ(part.nl_pid, 0u);
  // Closing frees the pid: the next socket of the process gets it again.
  close(a);
  open_fds.erase(std::find(open_fds.begin(), open_fds.end(), a));
  fake.fire(EPOLLIN | EPOLLHUP | EPOLLRDHUP);
  int c = make(SOCK_RAW);
  ASSERT_GE(c, 0);
  EXPECT_EQ(op(SYS_bind, {uint64_t(c), P(&sa), sizeof sa}).err, 0);
  EXPECT_EQ(name_of(c).nl_pid, uint32_t(getpid()));
}

TEST_F(NlSock, SendAnswersSynchronouslyAndRecvReportsTheKernel) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  auto req = getlink_dump(5);
  Fake::Answer s = send_kernel(fd, req);
  EXPECT_EQ(s.err, 0);
  EXPECT_EQ(s.val, int64_t(req.size()));
  uint32_t me = name_of(fd).nl_pid;
  EXPECT_EQ(me, uint32_t(getpid()));  // send autobinds
  // Peek the size with an empty buffer.
  msghdr mh{};
  sockaddr_nl from{};
  iovec iov{nullptr, 0};
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  Fake::Answer pk = op(SYS_recvmsg, {uint64_t(fd), P(&mh), MSG_PEEK | MSG_TRUNC});
  ASSERT_EQ(pk.err, 0);
  ASSERT_GT(pk.val, int64_t(sizeof(nlmsghdr)));
  EXPECT_TRUE(mh.msg_flags & MSG_TRUNC);
  std::vector<uint8_t> buf(size_t(pk.val));
  iov = {buf.data(), buf.size()};
  std::memset(&from, 0xff, sizeof from);
  mh.msg_namelen = 100;
  Fake::Answer r = op(SYS_recvmsg, {uint64_t(fd), P(&mh), 0});
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(r.val, pk.val);
  EXPECT_EQ(mh.msg_namelen, sizeof(sockaddr_nl));
  EXPECT_EQ(mh.msg_flags & MSG_TRUNC, 0);
  EXPECT_EQ(from.nl_family, AF_NETLINK);
  EXPECT_EQ(from.nl_pid, 0u);
  EXPECT_EQ(from.nl_groups, 0u);
  auto *nh = reinterpret_cast<nlmsghdr *>(buf.data());
  EXPECT_EQ(nh->nlmsg_seq, 5u);
  EXPECT_EQ(nh->nlmsg_pid, me);
  EXPECT_EQ(dones(buf.data(), r.val), 1);
  // recvfrom with an address; nothing queued and MSG_DONTWAIT: EAGAIN.
  socklen_t fl = sizeof from;
  EXPECT_EQ(op(SYS_recvfrom, {uint64_t(fd), P(buf.data()), buf.size(), MSG_DONTWAIT, P(&from), P(&fl)}).err,
            EAGAIN);
  // A short buffer: truncated, MSG_TRUNC, datagram gone.
  ASSERT_EQ(send_kernel(fd, getlink_dump(6)).err, 0);
  iov = {buf.data(), 16};
  Fake::Answer t = op(SYS_recvmsg, {uint64_t(fd), P(&mh), 0});
  EXPECT_EQ(t.val, 16);
  EXPECT_TRUE(mh.msg_flags & MSG_TRUNC);
  EXPECT_EQ(recv(fd, buf.data(), buf.size(), MSG_DONTWAIT), -1);
  // recvfrom reports the address length.
  ASSERT_EQ(send_kernel(fd, getlink_dump(7)).err, 0);
  fl = 2;
  from = {};
  Fake::Answer rf = op(SYS_recvfrom, {uint64_t(fd), P(buf.data()), buf.size(), 0, P(&from), P(&fl)});
  EXPECT_GT(rf.val, 0);
  EXPECT_EQ(fl, sizeof(sockaddr_nl));
  EXPECT_EQ(from.nl_family, AF_NETLINK);  // the 2 bytes that fit
}

TEST_F(NlSock, WrittenRequestsAreAnsweredInOrder) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  auto r1 = getlink_dump(11);
  ASSERT_EQ(write(fd, r1.data(), r1.size()), ssize_t(r1.size()));
  uint8_t buf[16384];
  EXPECT_EQ(recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);  // nobody answered yet
  fake.fire(EPOLLIN);                                       // the supervisor's watch
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  uint32_t seq = 0;
  EXPECT_EQ(dones(buf, n, &seq), 1);
  EXPECT_EQ(seq, 11u);
  // A written request, then a trapped sendto: the written one is answered first.
  auto r2 = getlink_dump(12);
  ASSERT_EQ(write(fd, r2.data(), r2.size()), ssize_t(r2.size()));
  ASSERT_EQ(send_kernel(fd, getlink_dump(13)).err, 0);
  n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  dones(buf, n, &seq);
  EXPECT_EQ(seq, 12u);
  n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  dones(buf, n, &seq);
  EXPECT_EQ(seq, 13u);
  // A written request then a trapped non-blocking receive: answered, not EAGAIN.
  auto r3 = getlink_dump(14);
  ASSERT_EQ(write(fd, r3.data(), r3.size()), ssize_t(r3.size()));
  sockaddr_nl from{};
  socklen_t fl = sizeof from;
  Fake::Answer a = op(SYS_recvfrom, {uint64_t(fd), P(buf), sizeof buf, MSG_DONTWAIT, P(&from), P(&fl)});
  ASSERT_EQ(a.err, 0);
  dones(buf, a.val, &seq);
  EXPECT_EQ(seq, 14u);
}

TEST_F(NlSock, BacklogFlushesOnEpollout) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  const int kReq = 4000;  // several MiB of replies: more than the pair holds
  for (int i = 1; i <= kReq; ++i) ASSERT_EQ(send_kernel(fd, getlink_dump(uint32_t(i))).err, 0);
  bool out_watched = false;
  for (auto &kv : fake.watches) out_watched |= (kv.second.ev & EPOLLOUT) != 0;
  EXPECT_TRUE(out_watched) << "replies should be waiting in the backlog";
  static uint8_t buf[65536];
  int got = 0, in_order = 1;
  uint32_t last = 0;
  for (int rounds = 0; rounds < 1000000 && got < kReq; ++rounds) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
      size_t before = fake.watches.size();
      fake.fire(EPOLLOUT);
      ASSERT_EQ(fake.watches.size(), before);
      n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      ASSERT_GT(n, 0) << "the backlog did not refill the pair after " << got << " dumps";
    }
    uint32_t seq = 0;
    got += dones(buf, n, &seq);
    if (seq < last) in_order = 0;
    last = seq;
  }
  EXPECT_EQ(got, kReq);
  EXPECT_TRUE(in_order);
  for (auto &kv : fake.watches) EXPECT_EQ(kv.second.ev & EPOLLOUT, 0u);
}

TEST_F(NlSock, OverrunIsEnobufs) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  // Far more than the pair and the 8 MiB backlog together.
  for (int i = 1; i <= 40000; ++i) ASSERT_EQ(send_kernel(fd, getlink_dump(uint32_t(i))).err, 0);
  uint8_t buf[8192];
  sockaddr_nl from{};
  socklen_t fl = sizeof from;
  EXPECT_EQ(op(SYS_recvfrom, {uint64_t(fd), P(buf), sizeof buf, 0, P(&from), P(&fl)}).err, ENOBUFS);
  EXPECT_GT(op(SYS_recvfrom, {uint64_t(fd), P(buf), sizeof buf, 0, P(&from), P(&fl)}).val, 0);
}

TEST_F(NlSock, Options) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  int one = 1, v = 0;
  socklen_t l = sizeof v;
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_EXT_ACK, P(&one), sizeof one}).err, 0);
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_GET_STRICT_CHK, P(&one), sizeof one}).err, 0);
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_EXT_ACK, P(&v), P(&l)}).err, 0);
  EXPECT_EQ(v, 1);
  l = sizeof v;
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_CAP_ACK, P(&v), P(&l)}).err, 0);
  EXPECT_EQ(v, 0);
  l = 2;
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_EXT_ACK, P(&v), P(&l)}).err, EINVAL);
  int g1 = RTNLGRP_LINK, g3 = RTNLGRP_IPV4_IFADDR, g0 = 0;
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, P(&g1), sizeof g1}).err, 0);
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, P(&g3), sizeof g3}).err, 0);
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, P(&g0), sizeof g0}).err, EINVAL);
  uint32_t words[4] = {};
  l = sizeof words;
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, P(words), P(&l)}).err, 0);
  EXPECT_EQ(words[0], (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_IPV4_IFADDR - 1)));
  EXPECT_EQ(l % 4, 0u);
  EXPECT_GE(l, 4u);
  EXPECT_EQ(name_of(fd).nl_groups, words[0]);
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, P(&g1), sizeof g1}).err, 0);
  EXPECT_EQ(name_of(fd).nl_groups, 1u << (RTNLGRP_IPV4_IFADDR - 1));
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, 99, P(&one), sizeof one}).err, ENOPROTOOPT);
  EXPECT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_IP, 1, P(&one), sizeof one}).err, ENOPROTOOPT);
  EXPECT_TRUE(op(SYS_setsockopt, {uint64_t(fd), SOL_SOCKET, SO_RCVBUF, P(&one), sizeof one}).cont);
  EXPECT_TRUE(op(SYS_getsockopt, {uint64_t(fd), SOL_SOCKET, SO_RCVBUF, P(&v), P(&l)}).cont);
  l = 2;
  v = 0;
  EXPECT_EQ(op(SYS_getsockopt, {uint64_t(fd), SOL_SOCKET, SO_PROTOCOL, P(&v), P(&l)}).err, 0);
  EXPECT_EQ(l, 2u);
  EXPECT_EQ(op(SYS_shutdown, {uint64_t(fd), SHUT_RDWR}).err, EOPNOTSUPP);
}

TEST_F(NlSock, CapAckAndPktinfo) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  struct {
    nlmsghdr nh;
    ifaddrmsg ifa;
    rtattr rta;
    uint32_t addr;
  } q{};
  q.nh.nlmsg_len = sizeof q;
  q.nh.nlmsg_type = RTM_NEWADDR;
  q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  q.nh.nlmsg_seq = 40;
  q.ifa.ifa_family = AF_INET;
  q.ifa.ifa_prefixlen = 24;
  q.ifa.ifa_index = 99;  // no such interface: an error that echoes the request
  q.rta.rta_len = RTA_LENGTH(4);
  q.rta.rta_type = IFA_LOCAL;
  q.addr = htonl(0x0a050009);
  std::vector<uint8_t> req(reinterpret_cast<uint8_t *>(&q), reinterpret_cast<uint8_t *>(&q) + sizeof q);
  uint8_t buf[4096];
  auto error_reply = [&](size_t *len) {
    ASSERT_EQ(send_kernel(fd, req).err, 0);
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    *len = size_t(n);
  };
  size_t full = 0, capped = 0;
  error_reply(&full);
  auto *nh = reinterpret_cast<nlmsghdr *>(buf);
  ASSERT_EQ(nh->nlmsg_type, NLMSG_ERROR);
  EXPECT_EQ(nh->nlmsg_len, NLMSG_LENGTH(sizeof(nlmsgerr)) + sizeof q - sizeof(nlmsghdr));
  EXPECT_EQ(nh->nlmsg_flags & NLM_F_CAPPED, 0);
  int one = 1;
  ASSERT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_CAP_ACK, P(&one), sizeof one}).err, 0);
  error_reply(&capped);
  EXPECT_EQ(capped, NLMSG_LENGTH(sizeof(nlmsgerr)));
  EXPECT_EQ(nh->nlmsg_len, NLMSG_LENGTH(sizeof(nlmsgerr)));
  EXPECT_TRUE(nh->nlmsg_flags & NLM_F_CAPPED);
  auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(nh));
  EXPECT_EQ(e->error, -ENODEV);
  EXPECT_EQ(e->msg.nlmsg_seq, 40u);
  EXPECT_EQ(e->msg.nlmsg_len, sizeof q);  // the original header, unchanged
  // NETLINK_PKTINFO: a control message with group 0; MSG_CTRUNC without room for it.
  ASSERT_EQ(op(SYS_setsockopt, {uint64_t(fd), SOL_NETLINK, NETLINK_PKTINFO, P(&one), sizeof one}).err, 0);
  ASSERT_EQ(send_kernel(fd, getlink_dump(41)).err, 0);
  alignas(cmsghdr) uint8_t ctl[64];
  std::memset(ctl, 0xee, sizeof ctl);
  iovec iov{buf, sizeof buf};
  msghdr mh{};
  sockaddr_nl from{};
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ASSERT_GT(op(SYS_recvmsg, {uint64_t(fd), P(&mh), 0}).val, 0);
  cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->cmsg_level, SOL_NETLINK);
  EXPECT_EQ(cm->cmsg_type, NETLINK_PKTINFO);
  EXPECT_EQ(reinterpret_cast<nl_pktinfo *>(CMSG_DATA(cm))->group, 0u);
  EXPECT_EQ(mh.msg_flags & MSG_CTRUNC, 0);
  ASSERT_EQ(send_kernel(fd, getlink_dump(42)).err, 0);
  mh.msg_control = nullptr;
  mh.msg_controllen = 0;
  ASSERT_GT(op(SYS_recvmsg, {uint64_t(fd), P(&mh), 0}).val, 0);
  EXPECT_TRUE(mh.msg_flags & MSG_CTRUNC);
}

TEST_F(NlSock, ConnectAndUserDestinations) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  sockaddr_nl peer{};
  peer.nl_family = AF_NETLINK;
  peer.nl_pid = 4242;
  EXPECT_EQ(op(SYS_connect, {uint64_t(fd), P(&peer), sizeof peer}).err, 0);
  EXPECT_EQ(name_of(fd, true).nl_pid, 4242u);
  EXPECT_NE(name_of(fd).nl_pid, 0u);  // connect autobinds
  auto req = getlink_dump(1);
  iovec iov{req.data(), req.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  EXPECT_EQ(op(SYS_sendmsg, {uint64_t(fd), P(&mh), 0}).err, ECONNREFUSED);
  EXPECT_EQ(send_kernel(fd, req).err, 0);  // an explicit kernel address still works
  sa_family_t unspec = AF_UNSPEC;
  EXPECT_EQ(op(SYS_connect, {uint64_t(fd), P(&unspec), sizeof unspec}).err, 0);
  EXPECT_EQ(name_of(fd, true).nl_pid, 0u);
  Fake::Answer s = op(SYS_sendmsg, {uint64_t(fd), P(&mh), 0});
  EXPECT_EQ(s.err, 0);
  EXPECT_EQ(s.val, int64_t(req.size()));
}

TEST_F(NlSock, BlockingRecvHonoursRcvtimeo) {
  int fd = make(SOCK_RAW);
  ASSERT_GE(fd, 0);
  timeval tv{0, 50000};
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);  // "continued"
  uint8_t buf[64];
  sockaddr_nl from{};
  socklen_t fl = sizeof from;
  uint64_t t0 = fake.h.now_ns(&fake);
  EXPECT_EQ(op(SYS_recvfrom, {uint64_t(fd), P(buf), sizeof buf, 0, P(&from), P(&fl)}).err, EAGAIN);
  EXPECT_GE(fake.h.now_ns(&fake) - t0, 40'000'000ull);
  // A call that went away while waiting (the supervisor notices only by polling) is
  // woken by a reply's arrival: it must not answer, nor consume the reply.
  tv = {0, 0};
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  fake.on_wait = [&] {
    fake.on_wait = nullptr;
    auto req = getlink_dump(3);
    ASSERT_EQ(write(fd, req.data(), req.size()), ssize_t(req.size()));
    fake.fire(EPOLLIN);  // answered into the pair: the waiter becomes readable
    fake.valid = false;  // ...but its call is gone
  };
  tn_call c = call(SYS_recvfrom, {uint64_t(fd), P(buf), sizeof buf, 0, P(&from), P(&fl)});
  nls->handle(&c, ident(fd));
  EXPECT_TRUE(fake.answers.empty());
  uint8_t big[8192];
  ssize_t n = recv(fd, big, sizeof big, MSG_DONTWAIT);
  ASSERT_GT(n, 0) << "the reply was consumed by a cancelled call";
  uint32_t seq = 0;
  EXPECT_EQ(dones(big, n, &seq), 1);
  EXPECT_EQ(seq, 3u);
}

TEST_F(NlSock, InterfaceIoctls) {
  int u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(u, 0);
  open_fds.push_back(u);
  auto io = [&](int fd, unsigned long req, void *arg) {
    tn_call c = call(SYS_ioctl, {uint64_t(fd), req, P(arg)});
    nls->if_ioctl(&c, *st);
    return fake.take();
  };
  ifreq r{};
  std::strcpy(r.ifr_name, "veth5");
  EXPECT_EQ(io(u, SIOCGIFINDEX, &r).err, 0);
  EXPECT_EQ(r.ifr_ifindex, 2);
  EXPECT_EQ(io(u, SIOCGIFADDR, &r).err, 0);
  EXPECT_EQ(reinterpret_cast<sockaddr_in &>(r.ifr_addr).sin_addr.s_addr, htonl(0x0a050002));
  EXPECT_EQ(io(u, SIOCGIFMETRIC, &r).err, 0);
  EXPECT_EQ(r.ifr_metric, 0);
  ifreq n{};
  std::strcpy(n.ifr_name, "nosuch0");
  EXPECT_EQ(io(u, SIOCGIFFLAGS, &n).err, ENODEV);
  EXPECT_EQ(io(u, SIOCGIFMETRIC, &n).err, ENODEV);
  ifconf ifc{};
  EXPECT_EQ(io(u, SIOCGIFCONF, &ifc).err, 0);
  EXPECT_EQ(ifc.ifc_len, int(2 * sizeof(ifreq)));  // lo and veth5
  ifreq list[4];
  ifc.ifc_len = sizeof(ifreq);  // room for one
  ifc.ifc_req = list;
  EXPECT_EQ(io(u, SIOCGIFCONF, &ifc).err, 0);
  EXPECT_EQ(ifc.ifc_len, int(sizeof(ifreq)));
  // Not from inside a view: routes, ARP, device-private requests.
  EXPECT_EQ(io(u, SIOCADDRT, &r).err, EOPNOTSUPP);
  EXPECT_EQ(io(u, SIOCSARP, &r).err, EOPNOTSUPP);
  EXPECT_EQ(io(u, SIOCDEVPRIVATE, &r).err, EOPNOTSUPP);
  // Requests about the fd itself, and anything on a non-socket, are the kernel's.
  int pid = 0;
  EXPECT_TRUE(io(u, FIOSETOWN, &pid).cont);
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  open_fds.push_back(p[0]);
  open_fds.push_back(p[1]);
  EXPECT_TRUE(io(p[0], SIOCGIFINDEX, &r).cont);
  EXPECT_EQ(io(999999, SIOCGIFINDEX, &r).err, EBADF);
  // Set requests change the Stack.
  ifreq m{};
  std::strcpy(m.ifr_name, "veth5");
  m.ifr_mtu = 1280;
  EXPECT_EQ(io(u, SIOCSIFMTU, &m).err, 0);
  for (auto &i : st->interfaces())
    if (i.name == "veth5") {
      EXPECT_EQ(i.mtu, 1280u);
    }
}

}  // namespace
