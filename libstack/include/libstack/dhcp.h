// DHCPv4 client (RFC 2131/2132), independent of the Stack internals.
//
// The client only produces and consumes DHCP messages (UDP payloads, client port 68 to
// server port 67) and reports what to configure. Whoever owns the interface wires it:
//   * callbacks.send(msg): send msg.payload by UDP from msg.src:68 to msg.dst:67 (src
//     0.0.0.0 and dst 255.255.255.255 while unconfigured: link broadcast).
//   * DHCP replies arriving on UDP port 68 (broadcast or to our address): on_packet().
//   * call poll(now) when now >= poll_at().
//   * callbacks.configure(lease): install address/prefix, default route, DNS, MTU;
//     called again on every renewal (the address may change only if the server says so).
//   * callbacks.deconfigure(lease): remove them (lease expired, NAK, release, decline).
// Time comes only from the Instant arguments; randomness (xid, backoff jitter) from the
// injected Random, which must outlive the client.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libstack/types.h"

namespace libstack {

namespace wire {
struct DhcpMessage;
}

struct DhcpLease {
  Ipv4Addr address;
  uint8_t prefix_len = 24;
  Ipv4Addr server_id;
  std::vector<Ipv4Addr> routers;      // first one is the default gateway
  std::vector<Ipv4Addr> dns_servers;
  std::string domain_name;
  std::optional<uint16_t> mtu;
  uint32_t lease_seconds = 0;         // 0xffffffff = infinite
  Instant start{0};                   // when the REQUEST that got this lease was sent
  Instant renew_at = kNever;          // T1
  Instant rebind_at = kNever;         // T2
  Instant expires_at = kNever;
  std::optional<Ipv4Addr> router() const {
    return routers.empty() ? std::nullopt : std::optional<Ipv4Addr>(routers.front());
  }
};

struct DhcpSend {
  std::vector<uint8_t> payload;  // UDP payload
  Ipv4Addr src;                  // 0.0.0.0 while unconfigured
  Ipv4Addr dst;                  // 255.255.255.255 (link broadcast) or the server
};

struct DhcpClientConfig {
  MacAddr mac;
  std::string hostname;                    // option 12 when non-empty
  std::vector<uint8_t> client_id;          // option 61; default 01 + MAC
  std::optional<Ipv4Addr> requested_address;  // hint in DISCOVER (option 50)
  bool broadcast_flag = true;              // ask servers to broadcast replies (we have no
                                           // address yet, so unicast may not reach us)
  Duration initial_delay_max{0};           // random wait before the first DISCOVER (RFC
                                           // suggests 1..10 s on boot; 0 = none)
  Duration first_timeout = std::chrono::seconds(4);  // retransmission: 4, 8, 16, 32, 64 s
  Duration max_timeout = std::chrono::seconds(64);   //   each +-1 s random
  Duration jitter = std::chrono::seconds(1);
  int max_request_tries = 4;               // REQUESTING: then back to INIT
  Duration min_renew_retry = std::chrono::seconds(60);  // RENEWING/REBINDING retry floor
  Duration nak_restart_delay = std::chrono::seconds(2);
  Duration decline_restart_delay = std::chrono::seconds(10);  // RFC 2131 3.1 step 5
};

enum class DhcpState : uint8_t {
  Stopped, Init, Selecting, Requesting, Bound, Renewing, Rebinding,
};
const char* to_string(DhcpState s);

struct DhcpCallbacks {
  std::function<void(const DhcpSend&)> send;
  std::function<void(const DhcpLease&)> configure;
  std::function<void(const DhcpLease&)> deconfigure;
};

struct DhcpStats {
  uint64_t sent = 0, received = 0, ignored = 0, malformed = 0;
  uint64_t offers = 0, acks = 0, naks = 0, retransmissions = 0, expiries = 0;
};

class DhcpClient {
 public:
  DhcpClient(DhcpClientConfig cfg, Random& rng, DhcpCallbacks cb);
  // INIT; the first DISCOVER goes out at now (+ a random initial delay, if configured).
  void start(Instant now);
  // If bound: sends DHCPRELEASE and deconfigures. Then Stopped.
  void release(Instant now);
  // The bound address is in use by someone else (e.g. ARP probe answered): DHCPDECLINE,
  // deconfigure, restart after decline_restart_delay.
  void decline(Instant now);
  // A UDP payload received on port 68.
  void on_packet(std::span<const uint8_t> payload, Instant now);
  // Runs timers: retransmissions, T1, T2, expiry.
  void poll(Instant now);
  Instant poll_at() const;

  DhcpState state() const { return state_; }
  const std::optional<DhcpLease>& lease() const { return lease_; }
  const DhcpStats& stats() const { return stats_; }

 private:
  struct Offer {
    Ipv4Addr address;
    Ipv4Addr server_id;
    std::optional<uint32_t> lease_time;
  };
  void enter_init(Instant at);
  void send_discover(Instant now);
  void send_request(Instant now);
  void arm_retransmit(Instant now);
  void arm_renew_retry(Instant now, Instant deadline);
  void bind(const wire::DhcpMessage& ack, Instant now);
  void drop_lease(Instant now);
  uint16_t secs_since(Instant now) const;
  std::vector<uint8_t> client_id() const;

  DhcpClientConfig cfg_;
  Random& rng_;
  DhcpCallbacks cb_;
  DhcpState state_ = DhcpState::Stopped;
  uint32_t xid_ = 0;
  Instant timer_ = kNever;      // next retransmission / INIT start
  int tries_ = 0;               // transmissions in the current exchange
  Instant exchange_start_{0};   // for the secs field
  Instant last_request_sent_{0};
  std::optional<Offer> offer_;
  std::optional<DhcpLease> lease_;
  DhcpStats stats_;
};

}  // namespace libstack
