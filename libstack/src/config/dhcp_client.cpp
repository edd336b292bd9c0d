// DHCPv4 client state machine (RFC 2131 section 4.4).
//
// Theory of operation:
//   INIT       wait (timer_) then broadcast DISCOVER with a fresh random xid -> SELECTING.
//   SELECTING  retransmit DISCOVER with exponential backoff (4, 8, ... 64 s, +-1 s random);
//              the first valid OFFER (our xid and MAC, yiaddr and server id present) is
//              answered with a broadcast REQUEST (options 50 + 54, same xid) -> REQUESTING.
//   REQUESTING retransmit REQUEST with the same backoff; ACK from the chosen server ->
//              BOUND (configure); NAK -> INIT after nak_restart_delay; too many tries ->
//              INIT.
//   BOUND      at T1 -> RENEWING: REQUEST unicast to the server (ciaddr = our address).
//   RENEWING   retry at half the time left to T2 (not below min_renew_retry, not past T2);
//              at T2 -> REBINDING: the same REQUEST broadcast to any server.
//   REBINDING  retry at half the time left to expiry; at expiry -> deconfigure, INIT.
//   ACK in RENEWING/REBINDING -> BOUND with the new times (configure again); NAK ->
//   deconfigure, INIT.
// Lease times run from the moment the REQUEST that obtained the ACK was sent (RFC 2131
// 4.4.1). Missing T1/T2 default to 0.5 and 0.875 of the lease; inconsistent ones are
// replaced by the defaults. Replies are matched by xid and chaddr, and ignored otherwise.
// The client never reads a clock: all times are the Instants passed in.
#include "config/dhcp_client.h"

#include <algorithm>

namespace libstack {

using wire::DhcpMessage;
using wire::DhcpMessageType;

const char* to_string(DhcpState s) {
  switch (s) {
    case DhcpState::Stopped: return "STOPPED";
    case DhcpState::Init: return "INIT";
    case DhcpState::Selecting: return "SELECTING";
    case DhcpState::Requesting: return "REQUESTING";
    case DhcpState::Bound: return "BOUND";
    case DhcpState::Renewing: return "RENEWING";
    case DhcpState::Rebinding: return "REBINDING";
  }
  return "?";
}

namespace {
constexpr uint32_t kInfinite = 0xffffffffu;
constexpr Ipv4Addr kBroadcast = Ipv4Addr::from_u32(0xffffffffu);

uint8_t prefix_from_mask(Ipv4Addr mask, Ipv4Addr addr) {
  uint32_t m = mask.to_u32();
  // A valid mask is contiguous ones; otherwise fall back to the classful default.
  if (m != 0 && ((~m + 1) & ~m) == 0) return static_cast<uint8_t>(__builtin_popcount(m));
  uint8_t first = addr.b[0];
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}
}  // namespace

DhcpClient::DhcpClient(DhcpClientConfig cfg, Random& rng, DhcpCallbacks cb)
    : cfg_(std::move(cfg)), rng_(rng), cb_(std::move(cb)) {}

std::vector<uint8_t> DhcpClient::client_id() const {
  if (!cfg_.client_id.empty()) return cfg_.client_id;
  std::vector<uint8_t> id{1};
  id.insert(id.end(), cfg_.mac.b.begin(), cfg_.mac.b.end());
  return id;
}

uint16_t DhcpClient::secs_since(Instant now) const {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now - exchange_start_).count();
  return static_cast<uint16_t>(std::clamp<int64_t>(s, 0, 0xffff));
}

void DhcpClient::start(Instant now) {
  if (lease_) drop_lease(now);
  Duration d{0};
  if (cfg_.initial_delay_max.count() > 0)
    d = Duration(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(cfg_.initial_delay_max.count()))));
  enter_init(now + d);
}

void DhcpClient::enter_init(Instant at) {
  state_ = DhcpState::Init;
  offer_.reset();
  tries_ = 0;
  timer_ = at;
}

void DhcpClient::arm_retransmit(Instant now) {
  // RFC 2131 4.1: 4 s, doubling to 64 s, randomised by +-1 s.
  Duration base = cfg_.first_timeout;
  for (int i = 1; i < tries_ && base < cfg_.max_timeout; ++i) base *= 2;
  base = std::min(base, cfg_.max_timeout);
  if (cfg_.jitter.count() > 0) {
    auto span = static_cast<uint64_t>(2 * cfg_.jitter.count() + 1);
    base += Duration(static_cast<int64_t>(rng_.below(span))) - cfg_.jitter;
  }
  timer_ = now + std::max(base, Duration(std::chrono::milliseconds(100)));
}

void DhcpClient::arm_renew_retry(Instant now, Instant deadline) {
  // RFC 2131 4.4.5: half the remaining time, down to a floor; never past the deadline.
  Duration half = (deadline - now) / 2;
  timer_ = std::min(deadline, now + std::max(half, cfg_.min_renew_retry));
}

void DhcpClient::send_discover(Instant now) {
  DhcpMessage m;
  m.xid = xid_;
  m.secs = secs_since(now);
  m.flags = cfg_.broadcast_flag ? wire::kDhcpFlagBroadcast : 0;
  std::copy(cfg_.mac.b.begin(), cfg_.mac.b.end(), m.chaddr.begin());
  m.type = DhcpMessageType::Discover;
  m.client_id = client_id();
  m.requested_ip = cfg_.requested_address;
  m.host_name = cfg_.hostname;
  m.max_message_size = 1500;
  m.param_request_list = {wire::dhcp_opt::SubnetMask,   wire::dhcp_opt::Router,
                          wire::dhcp_opt::DnsServer,    wire::dhcp_opt::DomainName,
                          wire::dhcp_opt::InterfaceMtu, wire::dhcp_opt::BroadcastAddr,
                          wire::dhcp_opt::LeaseTime,    wire::dhcp_opt::RenewalTime,
                          wire::dhcp_opt::RebindingTime};
  ++stats_.sent;
  if (cb_.send) cb_.send(DhcpSend{wire::emit_dhcp(m), Ipv4Addr{}, kBroadcast});
}

void DhcpClient::send_request(Instant now) {
  DhcpMessage m;
  m.xid = xid_;
  m.secs = secs_since(now);
  std::copy(cfg_.mac.b.begin(), cfg_.mac.b.end(), m.chaddr.begin());
  m.type = DhcpMessageType::Request;
  m.client_id = client_id();
  m.host_name = cfg_.hostname;
  m.max_message_size = 1500;
  m.param_request_list = {wire::dhcp_opt::SubnetMask,   wire::dhcp_opt::Router,
                          wire::dhcp_opt::DnsServer,    wire::dhcp_opt::DomainName,
                          wire::dhcp_opt::InterfaceMtu, wire::dhcp_opt::BroadcastAddr,
                          wire::dhcp_opt::LeaseTime,    wire::dhcp_opt::RenewalTime,
                          wire::dhcp_opt::RebindingTime};
  Ipv4Addr src{}, dst = kBroadcast;
  if (state_ == DhcpState::Requesting) {
    // SELECTING-style REQUEST: 'server identifier' and 'requested IP', ciaddr 0.
    m.flags = cfg_.broadcast_flag ? wire::kDhcpFlagBroadcast : 0;
    m.requested_ip = offer_->address;
    m.server_id = offer_->server_id;
    if (offer_->lease_time) m.lease_time = offer_->lease_time;
  } else {
    // RENEWING (unicast to the server) / REBINDING (broadcast): ciaddr = our address.
    m.ciaddr = lease_->address;
    src = lease_->address;
    if (state_ == DhcpState::Renewing) dst = lease_->server_id;
  }
  last_request_sent_ = now;
  ++stats_.sent;
  if (cb_.send) cb_.send(DhcpSend{wire::emit_dhcp(m), src, dst});
}

void DhcpClient::drop_lease(Instant) {
  if (!lease_) return;
  DhcpLease old = *lease_;
  lease_.reset();
  if (cb_.deconfigure) cb_.deconfigure(old);
}

void DhcpClient::release(Instant now) {
  if (lease_ && (state_ == DhcpState::Bound || state_ == DhcpState::Renewing ||
                 state_ == DhcpState::Rebinding)) {
    DhcpMessage m;
    m.xid = rng_.next_u32();
    std::copy(cfg_.mac.b.begin(), cfg_.mac.b.end(), m.chaddr.begin());
    m.ciaddr = lease_->address;
    m.type = DhcpMessageType::Release;
    m.server_id = lease_->server_id;
    m.client_id = client_id();
    ++stats_.sent;
    if (cb_.send) cb_.send(DhcpSend{wire::emit_dhcp(m), lease_->address, lease_->server_id});
  }
  drop_lease(now);
  state_ = DhcpState::Stopped;
  timer_ = kNever;
}

void DhcpClient::decline(Instant now) {
  if (!lease_) return;
  DhcpMessage m;
  m.xid = rng_.next_u32();
  std::copy(cfg_.mac.b.begin(), cfg_.mac.b.end(), m.chaddr.begin());
  m.type = DhcpMessageType::Decline;
  m.requested_ip = lease_->address;
  m.server_id = lease_->server_id;
  m.client_id = client_id();
  ++stats_.sent;
  if (cb_.send) cb_.send(DhcpSend{wire::emit_dhcp(m), Ipv4Addr{}, kBroadcast});
  drop_lease(now);
  enter_init(now + cfg_.decline_restart_delay);
}

Instant DhcpClient::poll_at() const {
  switch (state_) {
    case DhcpState::Stopped: return kNever;
    case DhcpState::Init:
    case DhcpState::Selecting:
    case DhcpState::Requesting: return timer_;
    case DhcpState::Bound: return lease_->renew_at;
    case DhcpState::Renewing: return std::min(timer_, lease_->rebind_at);
    case DhcpState::Rebinding: return std::min(timer_, lease_->expires_at);
  }
  return kNever;
}

void DhcpClient::poll(Instant now) {
  // Bounded: each step either leaves a state or moves a timer into the future.
  for (int step = 0; step < 8; ++step) {
    switch (state_) {
      case DhcpState::Stopped: return;
      case DhcpState::Init:
        if (now < timer_) return;
        xid_ = rng_.next_u32();
        exchange_start_ = now;
        state_ = DhcpState::Selecting;
        tries_ = 1;
        send_discover(now);
        arm_retransmit(now);
        return;
      case DhcpState::Selecting:
        if (now < timer_) return;
        ++tries_;
        ++stats_.retransmissions;
        send_discover(now);
        arm_retransmit(now);
        return;
      case DhcpState::Requesting:
        if (now < timer_) return;
        if (tries_ >= cfg_.max_request_tries) {
          enter_init(now);
          continue;
        }
        ++tries_;
        ++stats_.retransmissions;
        send_request(now);
        arm_retransmit(now);
        return;
      case DhcpState::Bound:
        if (now < lease_->renew_at) return;
        state_ = DhcpState::Renewing;
        xid_ = rng_.next_u32();
        exchange_start_ = now;
        tries_ = 0;
        timer_ = now;  // send at once (handled by the Renewing case)
        continue;
      case DhcpState::Renewing:
        if (now >= lease_->rebind_at) {
          state_ = DhcpState::Rebinding;
          xid_ = rng_.next_u32();
          tries_ = 0;
          timer_ = now;
          continue;
        }
        if (now < timer_) return;
        if (tries_++ > 0) ++stats_.retransmissions;
        send_request(now);
        arm_renew_retry(now, lease_->rebind_at);
        return;
      case DhcpState::Rebinding:
        if (now >= lease_->expires_at) {
          ++stats_.expiries;
          drop_lease(now);
          enter_init(now);
          continue;
        }
        if (now < timer_) return;
        if (tries_++ > 0) ++stats_.retransmissions;
        send_request(now);
        arm_renew_retry(now, lease_->expires_at);
        return;
    }
  }
}

void DhcpClient::bind(const DhcpMessage& ack, Instant now) {
  (void)now;
  DhcpLease l;
  l.address = ack.yiaddr;
  l.server_id = ack.server_id ? *ack.server_id
                              : (offer_ ? offer_->server_id : (lease_ ? lease_->server_id : Ipv4Addr{}));
  l.prefix_len = prefix_from_mask(ack.subnet_mask.value_or(Ipv4Addr{}), ack.yiaddr);
  l.routers = ack.routers;
  l.dns_servers = ack.dns_servers;
  l.domain_name = ack.domain_name;
  l.mtu = ack.interface_mtu;
  uint32_t lease_s = ack.lease_time.value_or(
      offer_ && offer_->lease_time ? *offer_->lease_time : (lease_ ? lease_->lease_seconds : 3600));
  l.lease_seconds = lease_s;
  l.start = last_request_sent_;
  if (lease_s == kInfinite) {
    l.renew_at = l.rebind_at = l.expires_at = kNever;
  } else {
    Duration lease = std::chrono::seconds(lease_s);
    Duration t1 = lease / 2, t2 = lease * 7 / 8;
    if (ack.renewal_time && ack.rebinding_time && *ack.renewal_time < *ack.rebinding_time &&
        *ack.rebinding_time < lease_s) {
      t1 = std::chrono::seconds(*ack.renewal_time);
      t2 = std::chrono::seconds(*ack.rebinding_time);
    } else if (ack.renewal_time && !ack.rebinding_time && *ack.renewal_time < lease_s &&
               std::chrono::seconds(*ack.renewal_time) < t2) {
      t1 = std::chrono::seconds(*ack.renewal_time);
    } else if (ack.rebinding_time && !ack.renewal_time && *ack.rebinding_time < lease_s &&
               std::chrono::seconds(*ack.rebinding_time) > t1) {
      t2 = std::chrono::seconds(*ack.rebinding_time);
    }
    l.renew_at = l.start + t1;
    l.rebind_at = l.start + t2;
    l.expires_at = l.start + lease;
  }
  if (lease_ && lease_->address != l.address) drop_lease(now);
  lease_ = l;
  state_ = DhcpState::Bound;
  offer_.reset();
  tries_ = 0;
  timer_ = kNever;
  if (cb_.configure) cb_.configure(*lease_);
}

void DhcpClient::on_packet(std::span<const uint8_t> payload, Instant now) {
  ++stats_.received;
  auto parsed = wire::parse_dhcp(payload);
  if (!parsed) {
    ++stats_.malformed;
    return;
  }
  const DhcpMessage& m = *parsed;
  auto ignore = [&] { ++stats_.ignored; };
  if (m.op != wire::DhcpOp::Reply || !m.type || m.xid != xid_ || m.hlen != 6 ||
      m.client_mac() != cfg_.mac)
    return ignore();
  switch (state_) {
    case DhcpState::Selecting:
      if (*m.type != DhcpMessageType::Offer || !m.server_id || m.yiaddr.is_unspecified() ||
          m.yiaddr.is_broadcast() || m.yiaddr.is_multicast() || m.yiaddr.is_loopback())
        return ignore();
      ++stats_.offers;
      offer_ = Offer{m.yiaddr, *m.server_id, m.lease_time};
      state_ = DhcpState::Requesting;
      tries_ = 1;
      send_request(now);
      arm_retransmit(now);
      return;
    case DhcpState::Requesting:
      if (m.server_id && *m.server_id != offer_->server_id) return ignore();
      if (*m.type == DhcpMessageType::Ack) {
        if (m.yiaddr.is_unspecified()) return ignore();
        ++stats_.acks;
        bind(m, now);
      } else if (*m.type == DhcpMessageType::Nak) {
        ++stats_.naks;
        enter_init(now + cfg_.nak_restart_delay);
      } else {
        ignore();
      }
      return;
    case DhcpState::Renewing:
    case DhcpState::Rebinding:
      if (*m.type == DhcpMessageType::Ack) {
        if (m.yiaddr.is_unspecified()) return ignore();
        ++stats_.acks;
        bind(m, now);
      } else if (*m.type == DhcpMessageType::Nak) {
        ++stats_.naks;
        drop_lease(now);
        enter_init(now);
        poll(now);  // DISCOVER at once
      } else {
        ignore();
      }
      return;
    default:
      return ignore();
  }
}

}  // namespace libstack
