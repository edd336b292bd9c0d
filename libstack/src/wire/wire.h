// Wire formats: one parsed form ("Repr") per protocol header, with parse() and emit().
//
// Theory of operation: parse() takes untrusted bytes, checks every length before reading
// and returns std::nullopt (plus a reason) on anything malformed; on success the Repr
// holds the host-order header fields and a span of the payload that points back into the
// input (no copies). emit() writes a header into a caller-provided buffer whose size is
// at least header_len(); checksums are filled by emit where the header covers them, and
// by the caller through the pseudo-header helpers for UDP/ICMPv6/TCP. Nothing in here has
// state; every function is pure over its arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "libstack/types.h"

namespace libstack::wire {

using Bytes = std::span<const uint8_t>;
using MutBytes = std::span<uint8_t>;

inline uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void wr16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void wr32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}

// Why a parse failed; the stack maps these onto drop counters.
enum class Error : uint8_t { Truncated, BadLength, BadChecksum, BadVersion, Unsupported, Malformed };

template <typename T>
struct Result {
  std::optional<T> value;
  Error error = Error::Malformed;
  Result(T v) : value(std::move(v)) {}  // NOLINT
  Result(Error e) : error(e) {}         // NOLINT
  explicit operator bool() const { return value.has_value(); }
  T& operator*() { return *value; }
  T* operator->() { return &*value; }
};

// ---------------- checksum (RFC 1071) ----------------
// Running one's-complement sum; fold() gives the 16-bit checksum to store.
struct Checksum {
  uint32_t sum = 0;
  bool odd = false;  // an odd byte is pending from the previous add
  void add(Bytes b);
  void add16(uint16_t v) { add_u32(v); }
  void add_u32(uint32_t v) { sum += v; sum = (sum & 0xffff) + (sum >> 16); }
  uint16_t fold() const;  // ~sum, never returns 0xffff? (returns the complement as is)
};
uint16_t checksum(Bytes b);
// Sum of the pseudo-header (RFC 768/793 for v4, RFC 8200 §8.1 for v6).
Checksum pseudo_header(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint32_t len);
// Checksum over pseudo-header + data; 0 result means "verifies" when data includes the field.
uint16_t transport_checksum(const IpAddr& src, const IpAddr& dst, uint8_t proto, Bytes data);

// ---------------- Ethernet II ----------------
namespace ethertype {
inline constexpr uint16_t kIpv4 = 0x0800, kArp = 0x0806, kIpv6 = 0x86dd, kVlan = 0x8100;
}
struct EthernetRepr {
  static constexpr size_t kHeaderLen = 14;
  MacAddr dst, src;
  uint16_t ethertype = 0;
  Bytes payload;
  static Result<EthernetRepr> parse(Bytes frame);
  void emit(MutBytes out) const;  // header only
};

// ---------------- ARP (RFC 826, Ethernet/IPv4 only) ----------------
struct ArpRepr {
  static constexpr size_t kLen = 28;
  enum Op : uint16_t { kRequest = 1, kReply = 2 };
  uint16_t op = kRequest;
  MacAddr sha, tha;
  Ipv4Addr spa, tpa;
  static Result<ArpRepr> parse(Bytes b);
  void emit(MutBytes out) const;
};

// ---------------- IPv4 (RFC 791) ----------------
namespace ipproto {
inline constexpr uint8_t kHopByHop = 0, kIcmp = 1, kIgmp = 2, kTcp = 6, kUdp = 17, kIpv6Route = 43,
                         kIpv6Frag = 44, kIcmpv6 = 58, kIpv6NoNxt = 59, kIpv6Opts = 60;
}
struct Ipv4Repr {
  static constexpr size_t kMinHeaderLen = 20;
  uint8_t dscp_ecn = 0;
  uint16_t ident = 0;
  bool dont_frag = false, more_frags = false;
  uint16_t frag_offset = 0;  // bytes (multiple of 8)
  uint8_t ttl = 64;
  uint8_t protocol = 0;
  Ipv4Addr src, dst;
  size_t header_len = 20;  // parsed: includes options; emit always writes 20
  Bytes options;           // parsed only
  Bytes payload;           // exactly total_length - header_len (link padding removed)
  // verify_checksum=false lets the fuzzer reach deeper code.
  static Result<Ipv4Repr> parse(Bytes b, bool verify_checksum = true);
  // Writes a 20-byte header with total length 20+payload_len and a valid checksum.
  void emit(MutBytes out, size_t payload_len) const;
  bool is_fragment() const { return more_frags || frag_offset != 0; }
};

// ---------------- IPv6 (RFC 8200) incl. extension headers ----------------
struct Ipv6Repr {
  static constexpr size_t kHeaderLen = 40;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint8_t next_header = 0;  // of the fixed header
  uint8_t hop_limit = 64;
  Ipv6Addr src, dst;
  Bytes payload;  // exactly payload_length bytes
  static Result<Ipv6Repr> parse(Bytes b);
  void emit(MutBytes out, size_t payload_len) const;
};

// Fragment header (RFC 8200 §4.5), 8 bytes.
struct Ipv6FragRepr {
  static constexpr size_t kLen = 8;
  uint8_t next_header = 0;
  uint16_t offset = 0;  // bytes
  bool more = false;
  uint32_t ident = 0;
  static Result<Ipv6FragRepr> parse(Bytes b);
  void emit(MutBytes out) const;
};

// Generic extension header with the (next, hdr-ext-len) prefix: hop-by-hop, routing,
// destination options. Options are validated for structure (TLV lengths in bounds).
struct Ipv6ExtRepr {
  uint8_t next_header = 0;
  size_t length = 0;  // whole header in bytes: (hdr_ext_len + 1) * 8
  Bytes data;         // bytes after the 2-byte prefix
  static Result<Ipv6ExtRepr> parse(Bytes b);
  // For option headers: the first option whose action bits demand discarding an unknown
  // option (type >= 0x40), 0 if all options are Pad1/PadN/known or skippable.
  // Returns the option type and its offset within the header via out-params.
  bool first_unknown_option(uint8_t& type, size_t& offset) const;
};

// Walk from the fixed header's next_header through hop-by-hop/routing/dest-opts/fragment
// to the upper-layer protocol.
struct Ipv6Chain {
  uint8_t upper_proto = ipproto::kIpv6NoNxt;
  size_t upper_offset = 0;     // offset of the upper-layer header in the IPv6 payload
  std::optional<Ipv6FragRepr> frag;
  size_t frag_offset_in_payload = 0;  // where the fragment header starts
  uint8_t unknown_opt_type = 0;   // set when an option demands ICMP parameter problem
  bool unknown_opt = false;
  size_t unknown_opt_pointer = 0; // offset from the start of the IPv6 header
  uint8_t routing_segments_left = 0;
  static Result<Ipv6Chain> parse(uint8_t first_next, Bytes payload);
};

// ---------------- ICMPv4 (RFC 792) ----------------
namespace icmp4 {
inline constexpr uint8_t kEchoReply = 0, kDestUnreach = 3, kEchoRequest = 8, kTimeExceeded = 11,
                         kParamProblem = 12;
inline constexpr uint8_t kNetUnreach = 0, kHostUnreach = 1, kProtoUnreach = 2, kPortUnreach = 3,
                         kFragNeeded = 4;
}  // namespace icmp4
struct Icmpv4Repr {
  static constexpr size_t kHeaderLen = 8;
  uint8_t type = 0, code = 0;
  uint32_t rest = 0;  // id<<16|seq for echo, next-hop MTU for frag needed, pointer<<24
  Bytes data;         // echo payload or the quoted datagram
  static Result<Icmpv4Repr> parse(Bytes b, bool verify_checksum = true);
  size_t len() const { return kHeaderLen + data.size(); }
  void emit(MutBytes out) const;  // header + data, checksum filled
  uint16_t echo_id() const { return uint16_t(rest >> 16); }
  uint16_t echo_seq() const { return uint16_t(rest); }
};

// ---------------- ICMPv6 (RFC 4443) and NDP (RFC 4861) ----------------
namespace icmp6 {
inline constexpr uint8_t kDestUnreach = 1, kPacketTooBig = 2, kTimeExceeded = 3, kParamProblem = 4,
                         kEchoRequest = 128, kEchoReply = 129, kRouterSolicit = 133,
                         kRouterAdvert = 134, kNeighborSolicit = 135, kNeighborAdvert = 136,
                         kRedirect = 137;
inline constexpr uint8_t kNoRoute = 0, kAddrUnreach = 3, kPortUnreach = 4;
}  // namespace icmp6
struct Icmpv6Repr {
  static constexpr size_t kHeaderLen = 8;
  uint8_t type = 0, code = 0;
  uint32_t rest = 0;
  Bytes data;
  // Checksum needs the pseudo-header, so it is checked against src/dst.
  static Result<Icmpv6Repr> parse(Bytes b, const Ipv6Addr& src, const Ipv6Addr& dst,
                                  bool verify_checksum = true);
  size_t len() const { return kHeaderLen + data.size(); }
  void emit(MutBytes out, const Ipv6Addr& src, const Ipv6Addr& dst) const;
};

// NDP options (RFC 4861 §4.6): type, length in 8-byte units, never zero.
struct NdpOptions {
  std::optional<MacAddr> source_lladdr, target_lladdr;
  std::optional<uint32_t> mtu;
  struct Prefix {
    uint8_t prefix_len = 0;
    bool on_link = false, autonomous = false;
    uint32_t valid_lifetime = 0, preferred_lifetime = 0;
    Ipv6Addr prefix;
  };
  std::vector<Prefix> prefixes;
  static Result<NdpOptions> parse(Bytes b);
  static size_t emit_lladdr(MutBytes out, uint8_t type, const MacAddr& mac);  // 8 bytes
};

// NS/NA bodies (after the 8-byte ICMPv6 header: rest holds flags for NA).
struct NdpNeighborRepr {
  bool router = false, solicited = false, override_ = false;  // NA flags
  Ipv6Addr target;
  NdpOptions options;
  // body = Icmpv6Repr::data, rest = Icmpv6Repr::rest
  static Result<NdpNeighborRepr> parse(uint32_t rest, Bytes body);
};

struct NdpRouterAdvertRepr {
  uint8_t cur_hop_limit = 0;
  bool managed = false, other = false;
  uint16_t router_lifetime = 0;
  uint32_t reachable_time = 0, retrans_timer = 0;
  NdpOptions options;
  static Result<NdpRouterAdvertRepr> parse(uint32_t rest, Bytes body);
};

// ---------------- UDP (RFC 768) ----------------
struct UdpRepr {
  static constexpr size_t kHeaderLen = 8;
  uint16_t src_port = 0, dst_port = 0;
  Bytes payload;
  // Checksum 0 in IPv4 means "none"; in IPv6 it is invalid (RFC 8200 §8.1).
  static Result<UdpRepr> parse(Bytes b, const IpAddr& src, const IpAddr& dst,
                               bool verify_checksum = true);
  // Writes header + payload (payload copied from this->payload), checksum filled.
  void emit(MutBytes out, const IpAddr& src, const IpAddr& dst) const;
};

// Multicast MAC for an IP group (RFC 1112 §6.4, RFC 2464 §7).
MacAddr multicast_mac(const IpAddr& group);
// Solicited-node multicast address ff02::1:ffXX:XXXX (RFC 4291 §2.7.1).
Ipv6Addr solicited_node(const Ipv6Addr& a);
Ipv6Addr link_local_from_mac(const MacAddr& m);  // modified EUI-64 (RFC 4291 App. A)

}  // namespace libstack::wire
