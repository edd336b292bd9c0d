// umnet view configuration: what the launcher options of the umnet module mean.
//
//   threadnet run [--net URL|none|host]... [--ip ADDR/LEN[@ethN]]... [--gw ADDR[@ethN]]...
//                 [--dhcp] [--slaac] [--iid stable|eui64] [--tempaddr] [--dns ADDR]...
//                 [--mac MAC[@ethN]]... [--mtu N[@ethN]]... [--pcap FILE] [--forward]
//                 [--mesh] [--mesh-KEY[ VALUE]]...
//                 [--stack NAME=URL[,net=URL]...[,ip=A/L[@ethN]][,gw=A[@ethN]][,dhcp][,slaac]
//                                  [,iid=stable|eui64][,tempaddr][,dns=A][,mac=M[@ethN]]
//                                  [,mtu=N[@ethN]][,pcap=F][,forward][,mesh]]...
//                 [--publish VIEWPORT:HOSTPORT]... -- PROGRAM
//
// Several links per stack: every --net URL (and, in --stack, the URL after NAME= then each
// net=URL) is one link of the stack, interfaces eth0, eth1, ... in the order given (a
// view on two VDE switches routes between them with --forward and static addresses).
// Per-link settings: --ip and --mac go on eth0 unless suffixed @ethN (--ip 10.2.0.1/24@eth1,
// --mac 02:00:00:00:00:02@eth1; one MAC per interface, the others random); --gw's route
// goes through the link whose --ip prefix holds the gateway, else eth0, unless @ethN;
// --mtu N is every link's MTU and --mtu N@ethN one link's (overriding it); --pcap FILE
// records eth0 into FILE and ethN (N >= 1) into FILE with ".ethN" put before a ".pcap"
// ending (cap.pcap -> cap.eth1.pcap) or appended (cap -> cap.eth1); --dhcp and --slaac
// run on eth0. An @ethN naming no link of the stack is an error, and so is a suffix that is
// not ethN. none and host stand alone: not with a second --net / net=. --forward (the
// `forward` key) makes the stack a router (libstack Tuning::forward_v4/v6).
// --mesh (the `mesh` key) joins the stack to the Netsukuku mesh: the router plug-in
// (threadnet-netsukuku.so, mesh.h) runs on every link of it, gives it an address from the
// hook and installs routes; the stack forwards. Like --ip it needs --net and is refused on
// host/none stacks. The router's options, --mesh-KEY VALUE (kMeshOptions; a flag has no
// value), are the view's, for every mesh stack of it: kept as given, in order, at most
// once each, checked by the router itself when it starts (its message is the error); one
// without any mesh stack is an error.
//
// The first group (--net ... --forward) describes the stack named "default". A view holds
// that stack when --net is given or when no --stack is given at all; with no network
// option whatsoever (--publish and --pcap alone do not count) it is the embedded default:
// slirp:// (user-mode NAT to the host's network) with 10.0.2.15/24, gateway 10.0.2.2,
// DNS 10.0.2.3 and SLAAC. The other options of the group need --net: `--ip X` alone is
// the error "--ip needs --net (or use --stack NAME=URL,...)" (no silent slirp), except
// --iid and --tempaddr, which only shape the SLAAC addresses of the default stack (the
// embedded one too). SLAAC interface ids are RFC 7217 stable-privacy ids (`iid=stable`,
// the default, keyed with the per-user secret of stable_secret.h) or modified EUI-64
// (`iid=eui64`, which shows the MAC in every address); `tempaddr` adds RFC 8981 temporary
// addresses, preferred for new connections. Both need slaac (error otherwise).
// Any slirp:// link (--net or --stack) given without ip/gw/dns/dhcp/slaac gets those same
// slirp settings, so `--net slirp:// --pcap F` is the embedded default plus a capture.
// URL mem://NAME (no switch process): every stack of the view whose URL is mem://NAME
// joins one in-memory learning switch (frames up to 65535 bytes; a stack's MTU is its
// mtu= or 65535), e.g. `--stack a=mem://x,ip=10.7.0.1/24 --stack b=mem://x,ip=10.7.0.2/24`
// for two stacks of one session that talk at memory speed (`threadnet stack a -- CMD`).
// A slirp:// URL without mtu= gets /mtu=9000/mru=9000 (or the stack's mtu= if <= 9000).
// `--stack NAME=host` (or `--stack host`) is the real network through the relay module.
// `--net none` is a stack with only its loopback interface. host and none stacks take no
// address/link settings (error). --ip needs /LEN; --ip/--gw/--dns repeat (v4 and v6), at
// most one --gw per family, and a gateway must be reachable: inside an --ip prefix of its
// family, or v4 with --dhcp, or v6 link-local / with slaac or dhcp. --mac is unicast,
// non-zero; --mtu 68..65535 (>= 1280 with IPv6). Double quotes in a URL/value protect
// commas (`--stack 'vpn=cmd://"ssh gw vde_plug",dhcp'`) and are removed (in --net too).
// Stack names: [A-Za-z0-9_.-]{1,63}, unique, "default" reserved. Url is empty for
// Host/None. --publish needs a default stack (stacks[0]) that is not host; host ports
// are unique.
// stacks[0] of the parsed config is each process's initial default stack: "default"
// when present, else the first --stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libstack/types.h"

namespace umnet {

// One link of a stack: interface ethN for links[N].
struct LinkSpec {
  std::string url;                       // libvdeplug URL, tap:NAME / tun:NAME, mem://NAME
  std::optional<libstack::MacAddr> mac;  // none: a random locally administered MAC
  size_t mtu = 0;                        // 0: the link's own
  std::string pcap;                      // record this link's frames into this file ("": no)
};

struct StackSpec {
  std::string name;                  // "default", or the NAME of --stack NAME=...
  enum class Kind : uint8_t { Link, Host, None } kind = Kind::Link;
  std::string url;                   // Kind::Link: links[0].url (the first link's URL)
  std::vector<LinkSpec> links;       // Kind::Link: eth0, eth1, ... (at least one)
  std::vector<libstack::Cidr> addrs; // static addresses (v4 and/or v6)
  std::vector<size_t> addr_link;     // per addrs[i]: the index in links it goes on
  std::vector<libstack::IpAddr> gateways;  // default routes (at most one per family)
  std::vector<size_t> gw_link;       // per gateways[i]: the link its route goes through
  std::vector<libstack::IpAddr> dns;       // configured name servers
  bool dhcp = false;                       // on eth0
  bool slaac = false;                      // on eth0
  enum class Iid : uint8_t { Stable, Eui64 } iid = Iid::Stable;  // SLAAC interface ids
  bool tempaddr = false;                   // RFC 8981 temporary addresses (with slaac)
  bool forward = false;                    // route between the stack's links (v4 and v6)
  bool mesh = false;                       // joins the mesh: router plug-in, forwarding on
  // The addressing is slirp's own network plan (10.0.2.15, SLAAC), not asked for: the
  // program's start does not wait for it (--wait-net waits for --dhcp/--slaac).
  bool slirp_plan = false;
};

struct PublishSpec {
  uint16_t view_port = 0;  // port of a server inside the view (default stack)
  uint16_t host_port = 0;  // port the supervisor listens on, on the host
};

// One router option as given: key without dashes ("mesh-radar-interval"), value ("1" for
// a flag).
struct MeshOption {
  std::string key, value;
  bool operator==(const MeshOption &) const = default;
};

struct ViewConfig {
  std::vector<StackSpec> stacks;  // never empty after a successful parse; [0] = default
  std::vector<PublishSpec> publish;
  std::vector<MeshOption> mesh_options;  // for every mesh stack's router, in the order given
};

// The module's launcher options, NULL-terminated, in tn_module.options form
// ({"net=", "ip=", ..., "dhcp", "slaac", "iid=", "tempaddr", ..., NULL}).
extern const char *const kViewOptions[];
// The mesh router's options: the tail of kViewOptions from "mesh-radar-interval=" to
// "mesh-verbose" (NULL-terminated), in the order of the router's own tn_router.options.
extern const char *const *const kMeshOptions;

// Parses the umnet module argv (as the launcher passes it: "--net" "URL" "--dhcp" ...,
// "--net=URL" too). On error returns false with a one-line message naming the bad
// option, e.g. "--ip 10.0.0.300/24: not an address/prefix".
bool parse_view_config(int argc, const char *const *argv, ViewConfig *out, std::string *err);

}  // namespace umnet
