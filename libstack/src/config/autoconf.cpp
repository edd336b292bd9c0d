// Autoconf: glue between a Stack interface and the DHCPv4 client / SLAAC state machines.
//
// Theory of operation. The DHCP client (dhcp_client.cpp) and SLAAC (slaac.cpp) know
// nothing about the Stack; this file wires them:
//  * DHCP: one UDP socket bound to 0.0.0.0:68, SO_BROADCAST, bound to the interface.
//    Before a lease the stack sends it from 0.0.0.0 to 255.255.255.255 (udp.cpp allows an
//    unspecified source for the limited broadcast on a bound device, like Linux). Every
//    datagram read in poll() goes to DhcpClient::on_packet. configure() installs the
//    address (+ connected route) and the default route; a renewal with the same address
//    changes nothing; deconfigure() (expiry, NAK, release) removes both.
//  * SLAAC: the stack's router-advert hook copies each RA (bounded queue) and poll()
//    parses it (bounds-checked, options 1/3/5/25/31) into a RouterAdvert for SlaacState.
//    Added addresses go to Stack::add_address (the stack runs DAD; a failed DAD is
//    reported back to SLAAC), removed ones are removed; deprecation and RFC 8981 temporary
//    addresses become the stack's source-selection hints (set_address_preference). Ids are
//    RFC 7217 stable ones unless EUI-64 is asked for; without a configured secret one is
//    drawn from the injected Random. The stack installs the default route from the RA
//    itself. RDNSS servers are kept by SlaacState.
#include "libstack/autoconf.h"

#include <algorithm>
#include <deque>

#include "config/slaac.h"
#include "crypto/prf.h"
#include "libstack/udp.h"

namespace libstack {

namespace {
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Parses an ICMPv6 router advertisement (header included). nullopt if malformed.
std::optional<RouterAdvert> parse_ra(std::span<const uint8_t> m, const Ipv6Addr& src) {
  if (m.size() < 16 || m[0] != 134 || m[1] != 0) return std::nullopt;
  RouterAdvert ra;
  ra.source = src;
  ra.cur_hop_limit = m[4];
  ra.managed = m[5] & 0x80;
  ra.other_config = m[5] & 0x40;
  ra.router_lifetime = be16(&m[6]);
  ra.reachable_time_ms = be32(&m[8]);
  ra.retrans_timer_ms = be32(&m[12]);
  size_t off = 16;
  for (int guard = 0; off < m.size() && guard < 256; ++guard) {
    if (m.size() - off < 2) return std::nullopt;
    size_t len = size_t(m[off + 1]) * 8;
    if (len == 0 || len > m.size() - off) return std::nullopt;
    const uint8_t* o = &m[off];
    switch (o[0]) {
      case 1:
        if (len >= 8) {
          MacAddr mac;
          std::copy_n(o + 2, 6, mac.b.begin());
          ra.source_lladdr = mac;
        }
        break;
      case 3:
        if (len == 32) {
          RaPrefix p;
          p.prefix_len = o[2];
          p.on_link = o[3] & 0x80;
          p.autonomous = o[3] & 0x40;
          p.valid_lifetime = be32(o + 4);
          p.preferred_lifetime = be32(o + 8);
          std::copy_n(o + 16, 16, p.prefix.b.begin());
          ra.prefixes.push_back(p);
        }
        break;
      case 5:
        if (len == 8) ra.mtu = be32(o + 4);
        break;
      case 25:  // RDNSS (RFC 8106): lifetime + n addresses
        if (len >= 24 && (len - 8) % 16 == 0) {
          RaRdnss r;
          r.lifetime = be32(o + 4);
          for (size_t a = 8; a + 16 <= len; a += 16) {
            Ipv6Addr x;
            std::copy_n(o + a, 16, x.b.begin());
            r.servers.push_back(x);
          }
          ra.rdnss.push_back(std::move(r));
        }
        break;
      default:
        break;
    }
    off += len;
  }
  return ra;
}
}  // namespace

class AutoconfImpl {
 public:
  AutoconfImpl(Stack& st, uint32_t ifx, AutoconfConfig cfg, Random& rng)
      : st_(st), ifx_(ifx), cfg_(std::move(cfg)), rng_(rng) {
    if (cfg_.dhcp4) {
      DhcpClientConfig dc;
      dc.mac = cfg_.mac;
      dc.hostname = cfg_.hostname;
      DhcpCallbacks cb;
      cb.send = [this](const DhcpSend& s) {
        if (udp_) udp_->sendto(s.payload, Endpoint{IpAddr(s.dst), 67});
      };
      cb.configure = [this](const DhcpLease& l) { configure(l); };
      cb.deconfigure = [this](const DhcpLease& l) { deconfigure(l); };
      dhcp_ = std::make_unique<DhcpClient>(dc, rng_, std::move(cb));
      udp_ = st_.udp_socket(IpAddr::Family::V4);
      udp_->set_broadcast(true);
      udp_->bind_to_device(ifx_);
      udp_->bind(Endpoint{IpAddr(Ipv4Addr{}), 68});
    }
    if (cfg_.slaac) {
      SlaacConfig sc;
      sc.mac = cfg_.mac;
      sc.mode = cfg_.slaac_iid == SlaacIid::Eui64 ? IidMode::Eui64 : IidMode::StableRandom;
      sc.secret = cfg_.slaac_secret;
      bool zero = std::all_of(sc.secret.begin(), sc.secret.end(), [](uint8_t b) { return b == 0; });
      if (zero && sc.mode == IidMode::StableRandom) sc.secret = crypto::SipKey::draw(rng_).bytes();
      for (auto& i : st_.interfaces())
        if (i.id == ifx_) sc.interface_name = i.name, sc.link_mtu = i.mtu;
      if (!cfg_.slaac_iface_id.empty()) sc.interface_name = cfg_.slaac_iface_id;
      sc.temporary = cfg_.slaac_temporary;
      sc.rng = &rng_;
      slaac_ = std::make_unique<SlaacState>(sc);
      st_.set_router_advert_hook(
          [this](uint32_t ifx, const Ipv6Addr& rtr, std::span<const uint8_t> ra) {
            if (ifx != ifx_ || ras_.size() >= 8) return;
            ras_.push_back({rtr, std::vector<uint8_t>(ra.begin(), ra.end())});
          });
    }
  }
  ~AutoconfImpl() {
    if (slaac_) st_.set_router_advert_hook(nullptr);
  }

  void start(Instant now) {
    if (dhcp_) dhcp_->start(now);
  }
  void release(Instant now) {
    if (dhcp_) dhcp_->release(now);
  }

  void poll(Instant now) {
    if (dhcp_) {
      for (int i = 0; i < 64; ++i) {
        ssize_t n = udp_->recvfrom(rxbuf_);
        if (n == -EAGAIN) break;
        if (n < 0) continue;  // pending ICMP error
        dhcp_->on_packet(std::span<const uint8_t>(rxbuf_.data(), size_t(n)), now);
      }
      if (dhcp_->poll_at() <= now) dhcp_->poll(now);
    }
    if (slaac_) {
      while (!ras_.empty()) {
        auto [rtr, bytes] = std::move(ras_.front());
        ras_.pop_front();
        ++stats_.ra_received;
        auto ra = parse_ra(bytes, rtr);
        if (!ra) {
          ++stats_.ra_malformed;
          continue;
        }
        apply(slaac_->on_router_advert(*ra, now), now);
      }
      // Addresses still in DAD: done (usable), or failed -> tell SLAAC (it may offer
      // another id). Only scanned while some are pending, so idle polls stay cheap.
      if (!pending_dad_.empty()) {
        auto addrs = st_.addresses();
        std::vector<Ipv6Addr> failed;
        std::erase_if(pending_dad_, [&](const Ipv6Addr& p) {
          for (auto& a : addrs)
            if (a.ifindex == ifx_ && a.cidr.addr == IpAddr(p)) {
              if (a.dad_failed) {
                st_.remove_address(ifx_, a.cidr);
                failed.push_back(p);
                return true;
              }
              return !a.tentative;
            }
          return true;  // gone (removed or expired)
        });
        for (auto& f : failed) apply(slaac_->dad_failed(f, now), now);
      }
      if (slaac_->next_event() <= now) apply(slaac_->expire(now), now);
    }
  }

  Instant next_deadline() const {
    Instant t = kNever;
    if (dhcp_) t = std::min(t, dhcp_->poll_at());
    if (slaac_) t = std::min(t, slaac_->next_event());
    if (!ras_.empty()) t = Instant{0};
    return t;
  }

  std::vector<IpAddr> dns_servers() const {
    std::vector<IpAddr> out;
    if (dhcp_ && dhcp_->lease())
      for (auto& a : dhcp_->lease()->dns_servers) out.emplace_back(a);
    if (slaac_)
      for (auto& d : slaac_->dns_servers()) out.emplace_back(d.address);
    return out;
  }
  std::vector<Cidr> slaac_addresses() const {
    std::vector<Cidr> out;
    if (slaac_)
      for (auto& a : slaac_->addresses()) out.push_back(Cidr{IpAddr(a.address), a.prefix_len});
    return out;
  }

  std::unique_ptr<DhcpClient> dhcp_;
  AutoconfStats stats_;
  std::optional<DhcpLease> none_;

 private:
  void configure(const DhcpLease& l) {
    if (configured_ && configured_->address == l.address && configured_->prefix_len == l.prefix_len &&
        configured_->router() == l.router())
      return;  // plain renewal
    if (configured_) deconfigure(*configured_);
    st_.add_address(ifx_, Cidr{IpAddr(l.address), l.prefix_len});
    if (auto r = l.router())
      st_.add_route(Cidr{IpAddr(Ipv4Addr{}), 0}, IpAddr(*r), ifx_, cfg_.default_route_metric);
    configured_ = l;
    ++stats_.dhcp_configured;
  }
  void deconfigure(const DhcpLease& l) {
    if (!configured_) return;
    (void)l;
    if (auto r = configured_->router()) st_.remove_route(Cidr{IpAddr(Ipv4Addr{}), 0}, IpAddr(*r), ifx_);
    st_.remove_address(ifx_, Cidr{IpAddr(configured_->address), configured_->prefix_len});
    configured_.reset();
    ++stats_.dhcp_deconfigured;
  }
  void apply(const SlaacChanges& c, Instant now) {
    for (auto& a : c.added) {
      if (st_.add_address(ifx_, Cidr{IpAddr(a.address), a.prefix_len}) == 0) {
        ++stats_.slaac_added;
        if (a.temporary) ++stats_.slaac_temporary_added;
        st_.set_address_preference(ifx_, IpAddr(a.address), a.deprecated(now), a.temporary);
        pending_dad_.push_back(a.address);
      }
    }
    for (auto* v : {&c.updated, &c.deprecated})
      for (auto& a : *v)
        st_.set_address_preference(ifx_, IpAddr(a.address), a.deprecated(now), a.temporary);
    for (auto& a : c.removed) {
      if (st_.remove_address(ifx_, Cidr{IpAddr(a.address), a.prefix_len}) == 0) ++stats_.slaac_removed;
    }
  }

  Stack& st_;
  uint32_t ifx_;
  AutoconfConfig cfg_;
  Random& rng_;
  std::unique_ptr<UdpSocket> udp_;
  std::unique_ptr<SlaacState> slaac_;
  std::deque<std::pair<Ipv6Addr, std::vector<uint8_t>>> ras_;
  std::optional<DhcpLease> configured_;
  std::vector<Ipv6Addr> pending_dad_;
  std::vector<uint8_t> rxbuf_ = std::vector<uint8_t>(1600);  // DHCP messages are < 1500
};

Autoconf::Autoconf(Stack& stack, uint32_t ifindex, AutoconfConfig cfg, Random& rng)
    : impl_(std::make_unique<AutoconfImpl>(stack, ifindex, std::move(cfg), rng)) {}
Autoconf::~Autoconf() = default;
void Autoconf::start(Instant now) { impl_->start(now); }
void Autoconf::release(Instant now) { impl_->release(now); }
void Autoconf::poll(Instant now) { impl_->poll(now); }
Instant Autoconf::next_deadline() const { return impl_->next_deadline(); }
DhcpState Autoconf::dhcp_state() const {
  return impl_->dhcp_ ? impl_->dhcp_->state() : DhcpState::Stopped;
}
const std::optional<DhcpLease>& Autoconf::lease() const {
  return impl_->dhcp_ ? impl_->dhcp_->lease() : impl_->none_;
}
std::vector<IpAddr> Autoconf::dns_servers() const { return impl_->dns_servers(); }
std::vector<Cidr> Autoconf::slaac_addresses() const { return impl_->slaac_addresses(); }
const AutoconfStats& Autoconf::stats() const { return impl_->stats_; }

}  // namespace libstack
