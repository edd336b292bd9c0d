// Netsukuku wire format, version 2 (docs/mesh.md "Wire format").
//
// Every message is one UDP datagram on the router's port: a 32-byte header, then the
// body of its type. All fields are fixed width and big-endian; nothing depends on the
// host's word size (ntkd packed size_t and pointers, so its 32- and 64-bit builds could
// not talk). decode() checks every length against the datagram before reading and says
// why it refused; the caller counts the refusal and drops the datagram.
//
//   header: magic "NK" | version u8 | type u8 | flags u8 | level-1 gnodes u8 | body length u16 |
//           source node id u64 | destination node id u64 (0: every node on the link) |
//           source mesh address u32 (0: not hooked yet) | gnode size u16 | gnode seqno u16
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ntk {

inline constexpr uint8_t kWireVersion = 2;  // 2: echo and ext entries say the round's starter
inline constexpr uint16_t kPort = 269;  // UDP, every message (ntkd's radar port)
inline constexpr size_t kHeaderLen = 32;
inline constexpr size_t kHopLen = 9;        // tracer entry: pos u8 | tag u32 | rtt_us u32
inline constexpr size_t kMapEntryLen = 9;   // map entry: pos u8 | tag u32 | cost_us u32
inline constexpr size_t kMaxGroupNode = 256;
inline constexpr size_t kMaxNeighbours = 1024;  // beyond: strangers are dropped (bounded memory)

enum class Type : uint8_t {
  Echo = 1,        // radar probe (broadcast)
  EchoReply = 2,   // radar answer (to the prober's node id)
  HookRequest = 3, // "which positions of your gnode are free?"
  HookReply = 4,
  MapRequest = 5,  // "your routes in your gnode, please" (newcomer)
  MapReply = 6,
  Tracer = 7,      // plain tracer, qspn_close or qspn_open
  ExtMap = 8,      // level 1: costs to the other gnodes (a distance vector)
};

// Header flags. Busy: the sender joined its gnode so recently that its map may lack nodes
// (no QSPN round has completed since): it offers no position to a newcomer (a hook reply
// with this flag is a refusal: ask again later) and no gnode fuses into it yet.
inline constexpr uint8_t kHeaderBusy = 1;
// Whole map (map reply): the last datagram of the answer to a map request, which holds
// every position the sender knows.
inline constexpr uint8_t kHeaderWholeMap = 2;

struct Header {
  Type type = Type::Echo;
  uint8_t flags = 0;
  uint64_t src_nid = 0;
  uint64_t dst_nid = 0;
  uint32_t src_addr = 0;   // host order; 0 before the hook
  uint16_t gnode_size = 0; // nodes the sender knows in its level-0 gnode (itself included)
  uint16_t gseq = 0;       // its gnode's sequence number for level-1 routes (its round, low bits)
  uint8_t l1_gnodes = 0;   // gnodes the sender knows in its level-1 gnode (fusion), at most 255
};

struct Echo {  // Echo and EchoReply
  uint32_t seq = 0;
  uint64_t sent_ns = 0;  // the prober's clock, echoed back unchanged
  uint32_t gtag = 0;     // the sender's gnode tag (0: not hooked)
  uint8_t origin = 0;    // the starter (a position) of its gnode's current round
};

struct HookReply {
  uint32_t qspn_age_ms = 0;      // time since the replier's last QSPN round began
  uint32_t round = 0;            // its round id
  uint8_t free[kMaxGroupNode / 8]{};  // bit p set: position p is free in its gnode
  uint8_t gnodes[kMaxGroupNode / 8]{};  // bit g set: gnode id g is taken (level 1)
  uint32_t gtag = 0;             // its gnode's tag (the joiner takes it)
};

struct MapEntry {
  uint8_t pos = 0;
  uint32_t tag = 0;      // low 32 bits of that node's id (duplicate detection)
  uint32_t cost_us = 0;  // replier's best route cost to it
};

struct ExtEntry {
  uint8_t gnode = 0;
  uint16_t seq = 0;      // that gnode's sequence number the cost is for
  uint32_t tag = 0;      // that gnode's tag: two gnodes that took one id are told apart
  uint32_t cost_us = 0;  // kUnreachable: withdrawn
  // The starter of that round and the gnode's size, as its border said: two parts of a
  // split gnode (one id, one tag) are told apart by these, and the smaller leaves.
  uint8_t origin = 0;
  uint8_t size = 0;
};
inline constexpr size_t kExtEntryLen = 13;
inline constexpr uint32_t kUnreachable = 0xffffffffu;

struct Hop {
  uint8_t pos = 0;
  uint32_t tag = 0;
  uint32_t rtt_us = 0;  // RTT from this hop to the previous one (0 for the origin)
};

enum class TracerKind : uint8_t { Plain = 0, Close = 1, Open = 2 };
// Tracer flags. Change: the round was started by a change (a neighbour new, lost or
// re-addressed), not by the round timer; its routes replace the last round's at once.
constexpr uint8_t kTracerChange = 1;

struct Tracer {
  TracerKind kind = TracerKind::Plain;
  uint8_t flags = 0;
  uint32_t round = 0;
  uint8_t sub_id = 0;    // qspn_open: the opener's position
  uint32_t pkt_id = 0;   // plain tracers: per-origin sequence (duplicate suppression)
  std::vector<Hop> hops;  // origin first
};

// Why decode() refused a datagram (each is a drop counter in the node).
enum class WireError : uint8_t {
  None = 0, Short, BadMagic, BadVersion, BadLength, UnknownType, BadBody,
};

struct Message {
  Header h;
  Echo echo;
  HookReply hook;
  uint32_t map_round = 0;  // MapReply: the QSPN round its costs belong to
  std::vector<MapEntry> map;
  Tracer tracer;
  uint8_t ext_level = 0;
  std::vector<ExtEntry> ext;
};

// Parse one datagram. On error returns nullopt and sets *err.
std::optional<Message> decode(std::span<const uint8_t> d, WireError* err);

// Encoders append to `out` (cleared first) and return false if it would exceed `max`.
void encode_header(std::vector<uint8_t>& out, const Header& h, size_t body_len);
bool encode(std::vector<uint8_t>& out, const Header& h, const Echo& e);
bool encode(std::vector<uint8_t>& out, const Header& h);  // HookRequest, MapRequest
bool encode(std::vector<uint8_t>& out, const Header& h, const HookReply& r);
bool encode(std::vector<uint8_t>& out, const Header& h, uint32_t round, std::span<const MapEntry> m,
            size_t max);
bool encode(std::vector<uint8_t>& out, const Header& h, const Tracer& t, size_t max);
bool encode(std::vector<uint8_t>& out, const Header& h, uint8_t level, std::span<const ExtEntry> e,
            size_t max);

const char* wire_error_name(WireError e);

}  // namespace ntk
