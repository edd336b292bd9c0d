// The socket option table (see sockopt_table.h). Lengths are the kernel's: `cap` is the most
// it reads from optval for the option, `min` the length below which it answers EINVAL before
// reading. A wrong `cap` is safe: the engine places the copy against an inaccessible page,
// so a host kernel that wanted more bytes faults (EFAULT) instead of reading supervisor
// memory.
#include "sockopt_table.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>

// Numbers the C library's headers of Debian 12 do not all name (Linux's UAPI values).
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52
#endif
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11
#endif
#ifndef IPV6_FLOWLABEL_MGR
#define IPV6_FLOWLABEL_MGR 32
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33
#endif
#ifndef UDP_CORK
#define UDP_CORK 1
#endif
#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_NO_CHECK6_TX
#define UDP_NO_CHECK6_TX 101
#endif
#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace tn::vsock::sockopt {
namespace {

constexpr int kSolIp = IPPROTO_IP, kSolIp6 = IPPROTO_IPV6, kSolTcp = IPPROTO_TCP,
              kSolUdp = IPPROTO_UDP, kSolIcmp6 = IPPROTO_ICMPV6,
              kSolRaw = 255;

// Sizes of the kernel's structures (x86_64 ABI).
constexpr uint32_t kInt = 4, kLinger = 8, kTimeval = 16, kMreq = 8, kMreqn = 12,
                   kMreqSource = 12, kMreq6 = 20, kGroupReq = 136, kGroupSourceReq = 264,
                   kPktinfo6 = 20, kFprog = 16, kTcpMd5sig = 216, kIcmp6Filter = 32,
                   kFlowlabelReq = 32, kTimestamping = 8, kTxtime = 8;

constexpr Spec V(int level, int name, uint32_t cap = kInt, uint32_t min = kInt) {
  return Spec{level, name, Set::Value, cap, min, Get::Out, 0, 0, 0};
}
// Settable, and the kernel's getsockopt of it is ENOPROTOOPT or harmless output.
constexpr Spec Vb(int level, int name, uint32_t cap, uint32_t min = 0) {
  return V(level, name, cap, min);
}
// Read only.
constexpr Spec G(int level, int name) {
  return Spec{level, name, Set::No, 0, 0, Get::Out, 0, 0, 0};
}
// Refused both ways.
constexpr Spec R(int level, int name, int set_err, int get_err) {
  return Spec{level, name, Set::Refuse, 0, 0, Get::Refuse, 0, set_err, get_err};
}

const Spec kTable[] = {
    // ---- SOL_SOCKET (every value is read as an int first, then per option) -----------
    V(SOL_SOCKET, SO_DEBUG), V(SOL_SOCKET, SO_REUSEADDR), G(SOL_SOCKET, SO_TYPE),
    G(SOL_SOCKET, SO_ERROR), V(SOL_SOCKET, SO_DONTROUTE), V(SOL_SOCKET, SO_BROADCAST),
    V(SOL_SOCKET, SO_SNDBUF), V(SOL_SOCKET, SO_RCVBUF), V(SOL_SOCKET, SO_SNDBUFFORCE),
    V(SOL_SOCKET, SO_RCVBUFFORCE), V(SOL_SOCKET, SO_KEEPALIVE), V(SOL_SOCKET, SO_OOBINLINE),
    V(SOL_SOCKET, SO_NO_CHECK), V(SOL_SOCKET, SO_PRIORITY),
    V(SOL_SOCKET, SO_LINGER, kLinger, kLinger),
    V(SOL_SOCKET, SO_BSDCOMPAT), V(SOL_SOCKET, SO_REUSEPORT), V(SOL_SOCKET, SO_PASSCRED),
    G(SOL_SOCKET, SO_PEERCRED), V(SOL_SOCKET, SO_RCVLOWAT), V(SOL_SOCKET, SO_SNDLOWAT),
    V(SOL_SOCKET, SO_RCVTIMEO_OLD, kTimeval, kTimeval),
    V(SOL_SOCKET, SO_SNDTIMEO_OLD, kTimeval, kTimeval),
    // SO_BINDTODEVICE: a name of at most IFNAMSIZ-1 bytes, no int read first.
    Vb(SOL_SOCKET, SO_BINDTODEVICE, 15),
    // SO_ATTACH_FILTER (set) / SO_GET_FILTER (get) share the number.
    Spec{SOL_SOCKET, SO_ATTACH_FILTER, Set::Filter, kFprog, kInt, Get::Filter, 0, 0, 0},
    V(SOL_SOCKET, SO_DETACH_FILTER), G(SOL_SOCKET, SO_PEERNAME),
    V(SOL_SOCKET, SO_TIMESTAMP_OLD), G(SOL_SOCKET, SO_ACCEPTCONN), G(SOL_SOCKET, SO_PEERSEC),
    V(SOL_SOCKET, SO_PASSSEC), V(SOL_SOCKET, SO_TIMESTAMPNS_OLD), V(SOL_SOCKET, SO_MARK),
    V(SOL_SOCKET, SO_TIMESTAMPING_OLD, kTimestamping), G(SOL_SOCKET, SO_PROTOCOL),
    G(SOL_SOCKET, SO_DOMAIN), V(SOL_SOCKET, SO_RXQ_OVFL), V(SOL_SOCKET, SO_WIFI_STATUS),
    V(SOL_SOCKET, SO_PEEK_OFF), V(SOL_SOCKET, SO_NOFCS), V(SOL_SOCKET, SO_LOCK_FILTER),
    V(SOL_SOCKET, SO_SELECT_ERR_QUEUE), V(SOL_SOCKET, SO_BUSY_POLL),
    V(SOL_SOCKET, SO_MAX_PACING_RATE, 8), G(SOL_SOCKET, SO_BPF_EXTENSIONS),
    V(SOL_SOCKET, SO_INCOMING_CPU),
    Spec{SOL_SOCKET, SO_ATTACH_BPF, Set::BpfFd, kInt, kInt, Get::No, 0, 0, 0},
    Spec{SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, Set::Filter, kFprog, kInt, Get::No, 0, 0, 0},
    Spec{SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, Set::BpfFd, kInt, kInt, Get::No, 0, 0, 0},
    V(SOL_SOCKET, SO_CNX_ADVICE), G(SOL_SOCKET, SO_MEMINFO), G(SOL_SOCKET, SO_INCOMING_NAPI_ID),
    G(SOL_SOCKET, SO_COOKIE), G(SOL_SOCKET, SO_PEERGROUPS), V(SOL_SOCKET, SO_ZEROCOPY),
    V(SOL_SOCKET, SO_TXTIME, kTxtime, kTxtime), V(SOL_SOCKET, SO_BINDTOIFINDEX),
    V(SOL_SOCKET, SO_TIMESTAMP_NEW), V(SOL_SOCKET, SO_TIMESTAMPNS_NEW),
    V(SOL_SOCKET, SO_TIMESTAMPING_NEW, kTimestamping),
    V(SOL_SOCKET, SO_RCVTIMEO_NEW, kTimeval, kTimeval),
    V(SOL_SOCKET, SO_SNDTIMEO_NEW, kTimeval, kTimeval), V(SOL_SOCKET, SO_DETACH_REUSEPORT_BPF),
    V(SOL_SOCKET, SO_PREFER_BUSY_POLL), V(SOL_SOCKET, SO_BUSY_POLL_BUDGET),
    G(SOL_SOCKET, SO_NETNS_COOKIE), V(SOL_SOCKET, SO_BUF_LOCK), V(SOL_SOCKET, SO_RESERVE_MEM),
    V(SOL_SOCKET, SO_TXREHASH), V(SOL_SOCKET, SO_RCVMARK),
    V(SOL_SOCKET, 76 /* SO_PASSPIDFD */),
    // SO_PEERPIDFD would install a pidfd in the supervisor: an inet socket has no peer
    // process, which Linux reports as ENODATA.
    Spec{SOL_SOCKET, 77 /* SO_PEERPIDFD */, Set::No, 0, 0, Get::Refuse, 0, 0, ENODATA},
    // SO_DEVMEM_*: device memory tokens of the supervisor's socket.
    R(SOL_SOCKET, 78, EOPNOTSUPP, EOPNOTSUPP), R(SOL_SOCKET, 79, EOPNOTSUPP, EOPNOTSUPP),
    R(SOL_SOCKET, 80, EOPNOTSUPP, EOPNOTSUPP),
    V(SOL_SOCKET, 82 /* SO_RCVPRIORITY */), V(SOL_SOCKET, 83 /* SO_PASSRIGHTS */),

    // ---- IPPROTO_IP (ints may be 0, 1 or 4 bytes long) -------------------------------
    Vb(kSolIp, IP_TOS, kInt), Vb(kSolIp, IP_TTL, kInt), Vb(kSolIp, IP_HDRINCL, kInt),
    Vb(kSolIp, IP_OPTIONS, 40), Vb(kSolIp, IP_ROUTER_ALERT, kInt), Vb(kSolIp, IP_RECVOPTS, kInt),
    Vb(kSolIp, IP_RETOPTS, kInt), Vb(kSolIp, IP_PKTINFO, kInt), G(kSolIp, IP_PKTOPTIONS),
    Vb(kSolIp, IP_MTU_DISCOVER, kInt), Vb(kSolIp, IP_RECVERR, kInt), Vb(kSolIp, IP_RECVTTL, kInt),
    Vb(kSolIp, IP_RECVTOS, kInt), G(kSolIp, IP_MTU), Vb(kSolIp, IP_FREEBIND, kInt),
    // Per-socket IPsec policies need CAP_NET_ADMIN, which the program may lack while the
    // supervisor has it.
    R(kSolIp, IP_IPSEC_POLICY, EPERM, ENOPROTOOPT), R(kSolIp, IP_XFRM_POLICY, EPERM, ENOPROTOOPT),
    Vb(kSolIp, IP_PASSSEC, kInt), Vb(kSolIp, IP_TRANSPARENT, kInt),
    Vb(kSolIp, IP_RECVORIGDSTADDR, kInt), Vb(kSolIp, IP_MINTTL, kInt),
    Vb(kSolIp, IP_NODEFRAG, kInt), Vb(kSolIp, IP_CHECKSUM, kInt),
    Vb(kSolIp, IP_BIND_ADDRESS_NO_PORT, kInt), Vb(kSolIp, IP_RECVFRAGSIZE, kInt),
    Vb(kSolIp, IP_RECVERR_RFC4884, kInt), Vb(kSolIp, IP_MULTICAST_IF, kMreqn),
    Vb(kSolIp, IP_MULTICAST_TTL, kInt), Vb(kSolIp, IP_MULTICAST_LOOP, kInt),
    Vb(kSolIp, IP_ADD_MEMBERSHIP, kMreqn, kMreq), Vb(kSolIp, IP_DROP_MEMBERSHIP, kMreqn, kMreq),
    Vb(kSolIp, IP_UNBLOCK_SOURCE, kMreqSource, kMreqSource),
    Vb(kSolIp, IP_BLOCK_SOURCE, kMreqSource, kMreqSource),
    Vb(kSolIp, IP_ADD_SOURCE_MEMBERSHIP, kMreqSource, kMreqSource),
    Vb(kSolIp, IP_DROP_SOURCE_MEMBERSHIP, kMreqSource, kMreqSource),
    // Variable-length source filters: the socket reads the whole value (and getsockopt
    // reads the group header first).
    Spec{kSolIp, IP_MSFILTER, Set::Value, kMaxValue, 16, Get::InOut, 16, 0, 0},
    Vb(kSolIp, MCAST_JOIN_GROUP, kGroupReq, kGroupReq),
    Vb(kSolIp, MCAST_BLOCK_SOURCE, kGroupSourceReq, kGroupSourceReq),
    Vb(kSolIp, MCAST_UNBLOCK_SOURCE, kGroupSourceReq, kGroupSourceReq),
    Vb(kSolIp, MCAST_LEAVE_GROUP, kGroupReq, kGroupReq),
    Vb(kSolIp, MCAST_JOIN_SOURCE_GROUP, kGroupSourceReq, kGroupSourceReq),
    Vb(kSolIp, MCAST_LEAVE_SOURCE_GROUP, kGroupSourceReq, kGroupSourceReq),
    Spec{kSolIp, MCAST_MSFILTER, Set::Value, kMaxValue, 144, Get::InOut, 144, 0, 0},
    Vb(kSolIp, IP_MULTICAST_ALL, kInt), Vb(kSolIp, IP_UNICAST_IF, kInt),
    Vb(kSolIp, IP_LOCAL_PORT_RANGE, kInt), G(kSolIp, IP_PROTOCOL),
    G(kSolIp, 80 /* SO_ORIGINAL_DST: the original destination of a NAT'd connection */),

    // ---- IPPROTO_IPV6 -----------------------------------------------------------------
    V(kSolIp6, IPV6_ADDRFORM), V(kSolIp6, IPV6_2292PKTINFO), V(kSolIp6, IPV6_2292HOPOPTS),
    V(kSolIp6, IPV6_2292DSTOPTS), V(kSolIp6, IPV6_2292RTHDR),
    Vb(kSolIp6, IPV6_2292PKTOPTIONS, 64 * 1024), V(kSolIp6, IPV6_CHECKSUM),
    V(kSolIp6, IPV6_2292HOPLIMIT), V(kSolIp6, IPV6_FLOWINFO), V(kSolIp6, IPV6_UNICAST_HOPS),
    V(kSolIp6, IPV6_MULTICAST_IF), V(kSolIp6, IPV6_MULTICAST_HOPS),
    V(kSolIp6, IPV6_MULTICAST_LOOP), Vb(kSolIp6, IPV6_ADD_MEMBERSHIP, kMreq6, kMreq6),
    Vb(kSolIp6, IPV6_DROP_MEMBERSHIP, kMreq6, kMreq6), V(kSolIp6, IPV6_ROUTER_ALERT),
    V(kSolIp6, IPV6_MTU_DISCOVER), V(kSolIp6, IPV6_MTU), V(kSolIp6, IPV6_RECVERR),
    V(kSolIp6, IPV6_V6ONLY), Vb(kSolIp6, IPV6_JOIN_ANYCAST, kMreq6, kMreq6),
    Vb(kSolIp6, IPV6_LEAVE_ANYCAST, kMreq6, kMreq6), V(kSolIp6, IPV6_MULTICAST_ALL),
    V(kSolIp6, IPV6_ROUTER_ALERT_ISOLATE), V(kSolIp6, IPV6_RECVERR_RFC4884),
    Spec{kSolIp6, IPV6_FLOWLABEL_MGR, Set::Value, kMaxValue, kFlowlabelReq, Get::InOut,
         kFlowlabelReq, 0, 0},
    V(kSolIp6, IPV6_FLOWINFO_SEND),
    R(kSolIp6, IPV6_IPSEC_POLICY, EPERM, ENOPROTOOPT),
    R(kSolIp6, IPV6_XFRM_POLICY, EPERM, ENOPROTOOPT), V(kSolIp6, IPV6_HDRINCL),
    Vb(kSolIp6, MCAST_JOIN_GROUP, kGroupReq, kGroupReq),
    Vb(kSolIp6, MCAST_BLOCK_SOURCE, kGroupSourceReq, kGroupSourceReq),
    Vb(kSolIp6, MCAST_UNBLOCK_SOURCE, kGroupSourceReq, kGroupSourceReq),
    Vb(kSolIp6, MCAST_LEAVE_GROUP, kGroupReq, kGroupReq),
    Vb(kSolIp6, MCAST_JOIN_SOURCE_GROUP, kGroupSourceReq, kGroupSourceReq),
    Vb(kSolIp6, MCAST_LEAVE_SOURCE_GROUP, kGroupSourceReq, kGroupSourceReq),
    Spec{kSolIp6, MCAST_MSFILTER, Set::Value, kMaxValue, 144, Get::InOut, 144, 0, 0},
    V(kSolIp6, IPV6_RECVPKTINFO), Vb(kSolIp6, IPV6_PKTINFO, kPktinfo6, kPktinfo6),
    V(kSolIp6, IPV6_RECVHOPLIMIT), V(kSolIp6, IPV6_HOPLIMIT), V(kSolIp6, IPV6_RECVHOPOPTS),
    // Extension headers: at most 8 * 255 bytes, read whole.
    Vb(kSolIp6, IPV6_HOPOPTS, 2040), Vb(kSolIp6, IPV6_RTHDRDSTOPTS, 2040),
    V(kSolIp6, IPV6_RECVRTHDR), Vb(kSolIp6, IPV6_RTHDR, 2040), V(kSolIp6, IPV6_RECVDSTOPTS),
    Vb(kSolIp6, IPV6_DSTOPTS, 2040), V(kSolIp6, IPV6_RECVPATHMTU), G(kSolIp6, IPV6_PATHMTU),
    V(kSolIp6, IPV6_DONTFRAG), V(kSolIp6, IPV6_RECVTCLASS), V(kSolIp6, IPV6_TCLASS),
    V(kSolIp6, IPV6_AUTOFLOWLABEL), V(kSolIp6, IPV6_ADDR_PREFERENCES),
    V(kSolIp6, IPV6_MINHOPCOUNT), V(kSolIp6, IPV6_RECVORIGDSTADDR),
    V(kSolIp6, IPV6_TRANSPARENT), V(kSolIp6, IPV6_UNICAST_IF), V(kSolIp6, IPV6_RECVFRAGSIZE),
    V(kSolIp6, IPV6_FREEBIND), G(kSolIp6, 80 /* IP6T_SO_ORIGINAL_DST */),

    // ---- IPPROTO_TCP (an int is read first, except for the strings and keys) ----------
    V(kSolTcp, TCP_NODELAY), V(kSolTcp, TCP_MAXSEG), V(kSolTcp, TCP_CORK),
    V(kSolTcp, TCP_KEEPIDLE), V(kSolTcp, TCP_KEEPINTVL), V(kSolTcp, TCP_KEEPCNT),
    V(kSolTcp, TCP_SYNCNT), V(kSolTcp, TCP_LINGER2), V(kSolTcp, TCP_DEFER_ACCEPT),
    V(kSolTcp, TCP_WINDOW_CLAMP), G(kSolTcp, TCP_INFO), V(kSolTcp, TCP_QUICKACK),
    Vb(kSolTcp, TCP_CONGESTION, 15, 1), V(kSolTcp, TCP_MD5SIG, kTcpMd5sig),
    V(kSolTcp, TCP_THIN_LINEAR_TIMEOUTS), V(kSolTcp, TCP_THIN_DUPACK),
    V(kSolTcp, TCP_USER_TIMEOUT),
    // Repair mode rewrites a live connection's sequence numbers and queues; Linux allows it
    // only with CAP_NET_ADMIN, which the program may lack while the supervisor has it.
    R(kSolTcp, TCP_REPAIR, EPERM, EPERM), R(kSolTcp, TCP_REPAIR_QUEUE, EPERM, EPERM),
    R(kSolTcp, TCP_QUEUE_SEQ, EPERM, EPERM), R(kSolTcp, TCP_REPAIR_OPTIONS, EPERM, EPERM),
    R(kSolTcp, TCP_REPAIR_WINDOW, EPERM, EPERM),
    V(kSolTcp, TCP_FASTOPEN), V(kSolTcp, TCP_TIMESTAMP), V(kSolTcp, TCP_NOTSENT_LOWAT),
    G(kSolTcp, TCP_CC_INFO), V(kSolTcp, TCP_SAVE_SYN), G(kSolTcp, TCP_SAVED_SYN),
    V(kSolTcp, TCP_FASTOPEN_CONNECT),
    // Upper-layer protocols (kTLS) on the host socket would see the pair's plaintext but
    // could not give the program their control messages.
    R(kSolTcp, TCP_ULP, EOPNOTSUPP, EOPNOTSUPP), V(kSolTcp, TCP_MD5SIG_EXT, kTcpMd5sig),
    Vb(kSolTcp, TCP_FASTOPEN_KEY, 32, 16), V(kSolTcp, TCP_FASTOPEN_NO_COOKIE),
    // Zero-copy receive maps the socket's pages into the caller: the supervisor.
    R(kSolTcp, TCP_ZEROCOPY_RECEIVE, EOPNOTSUPP, EOPNOTSUPP), V(kSolTcp, TCP_INQ),
    V(kSolTcp, TCP_TX_DELAY), G(kSolTcp, 43 /* TCP_IS_MPTCP */),
    V(kSolTcp, 44 /* TCP_RTO_MAX_MS */), V(kSolTcp, 45 /* TCP_RTO_MIN_US */),
    V(kSolTcp, 46 /* TCP_DELACK_MAX_US */),

    // ---- IPPROTO_UDP --------------------------------------------------------------------
    V(kSolUdp, UDP_CORK), V(kSolUdp, UDP_ENCAP), V(kSolUdp, UDP_NO_CHECK6_TX),
    V(kSolUdp, UDP_NO_CHECK6_RX), V(kSolUdp, UDP_SEGMENT), V(kSolUdp, UDP_GRO),

    // ---- ping and raw sockets (umnet's host stack) --------------------------------------
    // (IPPROTO_ICMP is SOL_SOCKET's number: ICMP_FILTER lives at SOL_RAW.)
    Vb(kSolRaw, 1 /* ICMP_FILTER */, kInt), Vb(kSolIcmp6, 1 /* ICMPV6_FILTER */, kIcmp6Filter),
    V(kSolRaw, IPV6_CHECKSUM),
};

// Netfilter's own options (iptables, ip6tables, arptables, ebtables, IPVS) are served at
// any level of an inet socket and change the host's firewall and load balancer: never
// through the supervisor. An unprivileged program gets EPERM for them natively.
bool netfilter(int name) {
  return (name >= 64 && name < 64 + 4) ||   // IPT_SO_SET_* / IPT_SO_GET_* (and IP6T_)
         (name >= 96 && name < 96 + 4) ||   // ARPT_SO_*
         (name >= 128 && name < 128 + 5) ||  // EBT_SO_*
         (name >= 1024 && name < 1024 + 20);  // IP_VS_SO_*
}

}  // namespace

const Spec *find(int level, int name) {
  for (const Spec &s : kTable)
    if (s.level == level && s.name == name) return &s;
  if ((level == kSolIp || level == kSolIp6) && netfilter(name)) {
    static const Spec nf = R(0, 0, EPERM, EPERM);
    return &nf;
  }
  // Multicast routing (MRT_*, MRT6_*): a routing daemon's raw IGMP/ICMPv6 socket, host-wide.
  if ((level == kSolIp || level == kSolIp6) && name >= 200 && name < 200 + 16) {
    static const Spec mrt = R(0, 0, EOPNOTSUPP, EOPNOTSUPP);
    return &mrt;
  }
  return nullptr;
}

bool reads_int_first(int level) {
  return level == SOL_SOCKET || level == kSolTcp || level == kSolUdp;
}

}  // namespace tn::vsock::sockopt
