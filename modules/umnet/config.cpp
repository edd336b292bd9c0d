// umnet view configuration parser (config.h).
//
// Theory of operation: the launcher hands the module its options as argv tokens
// ("--net" "URL" ..., or "--net=URL"). One pass walks them: the options of the default
// group (--net --ip --gw --dns --dhcp --slaac --iid --tempaddr --mac --mtu --pcap
// --forward --mesh) fill one StackSpec, every --stack value is split (commas outside
// double quotes) into NAME=URL and key settings that fill another through the same
// setter, and --publish and the router's --mesh-* options are collected apart (the
// router checks their values). Each --net (net= in --stack) adds a link; per-link values
// (VALUE@ethN) are kept with their interface number until every link is known. A second
// step checks each spec as a whole (settings that a host/none stack cannot take, @ethN
// naming no link, gateways that no address of the stack can reach, slirp defaults,
// per-link MACs, MTUs and capture files) and assembles the
// ViewConfig: the default stack first when there is one, then the --stack stacks in the
// order given. Every error is one line that names the option and its value.
#include "config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <string_view>
#include <utility>

namespace umnet {

const char *const kViewOptions[] = {
    "net=", "ip=", "gw=", "dns=", "dhcp", "slaac", "iid=", "tempaddr", "mac=", "mtu=", "pcap=",
    "forward", "stack=", "publish=", "mesh",
    // The router's options (kMeshOptions); their defaults are the router's own.
    "mesh-radar-interval=", "mesh-radar-pings=", "mesh-radar-timeout=", "mesh-rtt-threshold=",
    "mesh-qspn-wait-round=", "mesh-qspn-wait=", "mesh-maxroutes=", "mesh-realm=",
    "mesh-hook-wait=", "mesh-flood-rate=", "mesh-gnode-size=", "mesh-verbose", nullptr};
const char *const *const kMeshOptions = kViewOptions + 15;

namespace {

using libstack::Cidr;
using libstack::IpAddr;
using libstack::MacAddr;

constexpr size_t kMaxName = 63;  // TN_MSOCKET_NAME_MAX - 1

// One stack being described: the spec plus what the checks need to know about how it was
// given (for the "given twice" errors and for naming the option in messages).
struct Draft {
  StackSpec spec;
  bool is_default = false;  // the --net group (messages say "--ip X", not "ip=X")
  bool have_gw4 = false, have_gw6 = false, have_mtu = false, have_pcap = false,
       have_iid = false;
  std::map<size_t, libstack::MacAddr> macs;  // per interface number (@ethN; eth0 without)
  std::map<size_t, size_t> link_mtus;        // --mtu N@ethN
  std::string pcap;                          // the capture file (eth0's; ethN derived)
  std::vector<std::string> addr_where, gw_where;  // how each was given, for messages
  std::vector<int> gw_link_given;                  // -1: found from the addresses
  size_t mtu_all = 0;                              // --mtu N: every link
  std::string first_setting;  // first address/link setting given ("ip", "mtu", ...)
  std::string first_not_pcap;  // the same, pcap aside (--pcap alone: the embedded default)
  std::string slaac_setting;  // first SLAAC id setting given ("iid", "tempaddr")

  // How an option is named in messages: "--ip 10.0.0.1/24" or "--stack vpn: ip=10.0.0.1/24".
  std::string where(std::string_view key, std::string_view val = {}) const {
    std::string s;
    if (is_default) {
      s = "--" + std::string(key);
      if (!val.empty()) s += " " + std::string(val);
    } else {
      s = "--stack " + spec.name + ": " + std::string(key);
      if (!val.empty()) s += "=" + std::string(val);
    }
    return s;
  }
};

bool fail(std::string *err, std::string msg) {
  if (err) *err = std::move(msg);
  return false;
}

template <class T>
bool parse_uint(std::string_view s, T *out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool is_loopback(const IpAddr &a) { return a.is_v4() ? a.v4().is_loopback() : a.v6().is_loopback(); }
bool is_multicast(const IpAddr &a) {
  return a.is_v4() ? a.v4().is_multicast() : a.v6().is_multicast();
}

// A link URL libvdeplug (or the tap/tun opener) can take: SCHEME://..., tap:NAME, tun:NAME
// or a VDE switch path.
bool plausible_url(std::string_view u) {
  for (char c : u)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  if (u.empty()) return false;
  if (u.front() == '/') return true;
  if (u.starts_with("tap:") || u.starts_with("tun:")) return u.size() > 4;
  auto p = u.find("://");
  if (p == std::string_view::npos || p == 0) return false;
  for (char c : u.substr(0, p))
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'))
      return false;
  return true;
}

// Removes the double quotes that protected commas/spaces (cmd://"ssh gw vde_plug").
std::string unquote(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  for (char c : s)
    if (c != '"') r += c;
  return r;
}

// Adds a link to a draft from a --net value, the URL part of --stack or its net= key
// (`more`: not the stack's first link).
bool set_link(Draft *d, std::string_view raw, std::string *err, bool more = false) {
  std::string u = unquote(raw);
  std::string w = d->is_default ? "--net " + std::string(raw)
                  : more        ? "--stack " + d->spec.name + ": net=" + std::string(raw)
                                : "--stack " + d->spec.name + "=" + std::string(raw);
  if (more && d->spec.kind != StackSpec::Kind::Link)
    return fail(err, w + ": a " + (d->spec.kind == StackSpec::Kind::None ? "none" : "host") +
                         " stack has no links to add to (none and host stand alone)");
  if (more && (u == "none" || u == "host"))
    return fail(err, w + ": none and host stand alone, not beside another link");
  if (u == "none") {
    d->spec.kind = StackSpec::Kind::None;
  } else if (u == "host") {
    d->spec.kind = StackSpec::Kind::Host;
  } else {
    if (u == "tap:" || u == "tun:" || u == "tap://" || u == "tun://")
      return fail(err, w + ": the device name is missing (" + u.substr(0, 3) + ":NAME, e.g. " +
                           u.substr(0, 3) + ":" + u.substr(0, 3) + "0)");
    if (!plausible_url(u)) {
      std::string hint = " (e.g. vde:///tmp/sw, slirp://, tap:tap0, host, none)";
      if (u.find(':') == std::string::npos && u.find('/') == std::string::npos && !u.empty())
        hint = " (did you mean " + u + "://?)";
      return fail(err, w + ": not a link URL" + hint);
    }
    d->spec.kind = StackSpec::Kind::Link;
    if (d->spec.links.empty()) d->spec.url = u;
    d->spec.links.push_back({std::move(u), std::nullopt, 0, {}});
  }
  return true;
}

// "VALUE@ethN": the value and N (-1 without a suffix). false: '@' not followed by ethN.
bool split_iface(std::string_view v, std::string_view *value, int *link) {
  *value = v;
  *link = -1;
  auto at = v.rfind('@');
  if (at == std::string_view::npos) return true;
  std::string_view s = v.substr(at + 1);
  *value = v.substr(0, at);
  unsigned n = 0;
  if (!s.starts_with("eth") || s.size() < 4 || (s.size() > 4 && s[3] == '0') ||
      !parse_uint(s.substr(3), &n) || n > 255)
    return false;
  *link = int(n);
  return true;
}

// The name of the capture file of link k of a stack whose eth0 records into `base`.
std::string link_pcap(const std::string &base, size_t k) {
  if (k == 0) return base;
  std::string tag = ".eth" + std::to_string(k);
  if (base.size() > 5 && base.ends_with(".pcap")) return base.substr(0, base.size() - 5) + tag + ".pcap";
  return base + tag;
}

// One address/link setting (a default-group option or a --stack key). `has_val` tells a
// flag from a valued key ("dhcp" vs "dhcp=1").
bool apply_setting(Draft *d, std::string_view key, bool has_val, std::string_view val,
                   std::string *err) {
  StackSpec &s = d->spec;
  const bool flag = key == "dhcp" || key == "slaac" || key == "tempaddr" || key == "forward" ||
                    key == "mesh";
  const bool valued = key == "ip" || key == "gw" || key == "dns" || key == "mac" ||
                      key == "mtu" || key == "pcap" || key == "iid" ||
                      (key == "net" && !d->is_default);
  if (!flag && !valued) {
    // The router's options are the view's (one router configuration for all its mesh
    // stacks), not a stack's.
    if (key.starts_with("mesh-"))
      return fail(err, "--stack " + s.name + ": " + std::string(key) +
                           " is not a stack setting; give --" + std::string(key) +
                           " (it applies to every mesh stack of the view)");
    return fail(err, "--stack " + s.name + ": unknown setting '" + std::string(key) +
                         "' (net, ip, gw, dns, dhcp, slaac, iid, tempaddr, mac, mtu, pcap, forward, mesh)");
  }
  if (flag && has_val) return fail(err, d->where(key, val) + ": " + std::string(key) + " takes no value");
  if (valued && (!has_val || val.empty())) return fail(err, d->where(key) + ": needs a value");
  if (key == "net") return set_link(d, val, err, true);
  // iid/tempaddr shape SLAAC only: they neither need --net nor stop the slirp plan.
  const bool slaac_shape = key == "iid" || key == "tempaddr";
  if (slaac_shape) {
    if (d->slaac_setting.empty()) d->slaac_setting = std::string(key);
  } else {
    if (d->first_setting.empty()) d->first_setting = std::string(key);
    if (d->first_not_pcap.empty() && key != "pcap") d->first_not_pcap = std::string(key);
  }
  // Per-link values: VALUE@ethN (the interface is checked once every link is known).
  int link = -1;
  const std::string full(val);
  if (key == "ip" || key == "gw" || key == "mac" || key == "mtu") {
    if (!split_iface(full, &val, &link))
      return fail(err, d->where(key, full) + ": '" + full.substr(full.rfind('@')) +
                           "' is not an interface of a stack (eth0, eth1, ...)");
  }

  if (key == "forward") {
    s.forward = true;
  } else if (key == "mesh") {
    s.mesh = true;
  } else if (key == "dhcp") {
    s.dhcp = true;
  } else if (key == "slaac") {
    s.slaac = true;
  } else if (key == "tempaddr") {
    s.tempaddr = true;
  } else if (key == "iid") {
    if (d->have_iid) return fail(err, d->where(key, val) + ": given twice");
    if (val == "stable")
      s.iid = StackSpec::Iid::Stable;
    else if (val == "eui64")
      s.iid = StackSpec::Iid::Eui64;
    else
      return fail(err, d->where(key, val) + ": not an interface id kind (stable or eui64)");
    d->have_iid = true;
  } else if (key == "ip") {
    auto c = val.find('/') == std::string_view::npos ? std::nullopt : Cidr::parse(val);
    if (!c) return fail(err, d->where(key, val) + ": not an address/prefix (e.g. 10.0.0.2/24)");
    const IpAddr &a = c->addr;
    if (a.is_unspecified() || is_multicast(a) || is_loopback(a) ||
        (a.is_v4() && a.v4().is_broadcast()) || (a.is_v6() && a.v6().is_v4_mapped()))
      return fail(err, d->where(key, val) + ": not a usable interface address");
    if (c->prefix_len == 0) return fail(err, d->where(key, val) + ": prefix length 0");
    for (auto &o : s.addrs)
      if (o.addr == a) return fail(err, d->where(key, full) + ": address given twice");
    s.addrs.push_back(*c);
    s.addr_link.push_back(link < 0 ? 0 : size_t(link));
    d->addr_where.push_back(d->where(key, full));
  } else if (key == "gw") {
    auto a = IpAddr::parse(val);
    if (!a) return fail(err, d->where(key, val) + ": not an address");
    if (a->is_unspecified() || is_multicast(*a) || is_loopback(*a) ||
        (a->is_v4() && a->v4().is_broadcast()))
      return fail(err, d->where(key, val) + ": not a usable gateway address");
    bool &seen = a->is_v4() ? d->have_gw4 : d->have_gw6;
    if (seen)
      return fail(err, d->where(key, val) + ": one " + (a->is_v4() ? "IPv4" : "IPv6") +
                           " gateway per stack");
    seen = true;
    s.gateways.push_back(*a);
    d->gw_link_given.push_back(link);
    d->gw_where.push_back(d->where(key, full));
  } else if (key == "dns") {
    auto a = IpAddr::parse(val);
    if (!a) return fail(err, d->where(key, val) + ": not an address");
    if (a->is_unspecified() || is_multicast(*a))
      return fail(err, d->where(key, val) + ": not a usable name server address");
    s.dns.push_back(*a);
  } else if (key == "mac") {
    size_t k = link < 0 ? 0 : size_t(link);
    if (d->macs.count(k))
      return fail(err, d->where(key, full) + ": given twice" +
                           (link < 0 ? "" : " for eth" + std::to_string(k)));
    auto m = MacAddr::parse(val);
    if (!m) return fail(err, d->where(key, full) + ": not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (m->is_multicast()) return fail(err, d->where(key, full) + ": a multicast MAC address");
    if (*m == MacAddr{}) return fail(err, d->where(key, full) + ": the all-zero MAC address");
    for (auto &[j, o] : d->macs)
      if (o == *m) return fail(err, d->where(key, full) + ": already the MAC address of eth" + std::to_string(j));
    d->macs[k] = *m;
  } else if (key == "mtu") {
    if (link < 0 ? d->have_mtu : d->link_mtus.count(size_t(link)) > 0)
      return fail(err, d->where(key, full) + ": given twice");
    size_t n = 0;
    if (!parse_uint(val, &n) || n < 68 || n > 65535)
      return fail(err, d->where(key, full) + ": not an MTU (68..65535)");
    if (link < 0) d->have_mtu = true, d->mtu_all = n;
    else d->link_mtus[size_t(link)] = n;
  } else {  // pcap
    if (d->have_pcap) return fail(err, d->where(key, val) + ": given twice");
    d->have_pcap = true;
    d->pcap = unquote(val);
  }
  return true;
}

// Whole-spec checks once every setting of a stack is known; fills the slirp defaults.
bool finish(Draft *d, std::string *err) {
  StackSpec &s = d->spec;
  if (s.kind != StackSpec::Kind::Link) {
    if (d->first_setting.empty()) d->first_setting = d->slaac_setting;
    if (!d->first_setting.empty()) {
      const char *what = s.kind == StackSpec::Kind::Host
                             ? "host (the host's own network is used as it is)"
                             : "none (a stack with only its loopback interface)";
      return fail(err, d->where(d->first_setting) + ": not with " +
                           (d->is_default ? "--net " : "") + what);
    }
    return true;
  }
  const bool addressing = !s.addrs.empty() || !s.gateways.empty() || !s.dns.empty() ||
                          s.dhcp || s.slaac;
  if (!addressing && s.url.starts_with("slirp://")) {
    // slirp's own network plan (on eth0): what the embedded default is made of.
    s.addrs.push_back(*Cidr::parse("10.0.2.15/24"));
    s.addr_link.push_back(0);
    d->addr_where.push_back(d->where("ip", "10.0.2.15/24"));
    s.gateways.push_back(*IpAddr::parse("10.0.2.2"));
    d->gw_link_given.push_back(-1);
    d->gw_where.push_back(d->where("gw", "10.0.2.2"));
    s.dns.push_back(*IpAddr::parse("10.0.2.3"));
    s.slaac = true;
    s.slirp_plan = true;
  }
  if (!d->slaac_setting.empty() && !s.slaac)
    return fail(err, d->where(d->slaac_setting) + ": needs " + (d->is_default ? "--slaac" : "slaac") +
                         " (it only shapes SLAAC addresses)");
  // Every @ethN must name a link of this stack.
  const size_t nlinks = s.links.size();
  auto no_such = [&](const std::string &w, size_t k) {
    return fail(err, w + ": this stack has no eth" + std::to_string(k) + " (" +
                         (nlinks == 1 ? "one link, eth0" : "links eth0..eth" + std::to_string(nlinks - 1)) +
                         "; add one with " + (d->is_default ? "another --net" : "net=URL") + ")");
  };
  for (size_t i = 0; i < s.addrs.size(); ++i)
    if (s.addr_link[i] >= nlinks) return no_such(d->addr_where[i], s.addr_link[i]);
  for (auto &[k, m] : d->macs)
    if (k >= nlinks) return no_such(d->where("mac", m.to_string() + "@eth" + std::to_string(k)), k);
  for (auto &[k, n] : d->link_mtus)
    if (k >= nlinks) return no_such(d->where("mtu", std::to_string(n) + "@eth" + std::to_string(k)), k);
  s.gw_link.clear();
  for (size_t i = 0; i < s.gateways.size(); ++i) {
    const IpAddr &g = s.gateways[i];
    const std::string &w = d->gw_where[i];
    int given = d->gw_link_given[i];
    if (given >= 0 && size_t(given) >= nlinks) return no_such(w, size_t(given));
    // The link: as given, else the one with an address prefix holding the gateway, else eth0.
    size_t link = given >= 0 ? size_t(given) : 0;
    if (given < 0)
      for (size_t j = 0; j < s.addrs.size(); ++j)
        if (s.addrs[j].contains(g)) {
          link = s.addr_link[j];
          break;
        }
    s.gw_link.push_back(link);
    bool reachable = false, have_family = false;
    for (size_t j = 0; j < s.addrs.size(); ++j)
      if (s.addrs[j].addr.family == g.family && s.addr_link[j] == link) {
        have_family = true;
        if (s.addrs[j].contains(g)) reachable = true;
      }
    const bool dhcp = s.dhcp && link == 0, slaac = s.slaac && link == 0;
    std::string on = nlinks > 1 ? " on eth" + std::to_string(link) : " of this stack";
    if (g.is_v4()) {
      if (!have_family && !dhcp)
        return fail(err, w + ": no IPv4 address" + (nlinks > 1 ? on : " on this stack") +
                             " to reach it (add " + (d->is_default ? "--ip or --dhcp)" : "ip= or dhcp)"));
      if (have_family && !reachable && !dhcp)
        return fail(err, w + ": not inside any " + (d->is_default ? "--ip" : "ip=") + " prefix" + on);
    } else if (!g.v6().is_link_local() && !reachable && !slaac && !dhcp) {
      return fail(err, w + ": not inside any " + (d->is_default ? "--ip" : "ip=") + " prefix" + on +
                           " (use a link-local gateway or slaac)");
    }
  }
  // Per-link MAC, MTU and capture file.
  for (size_t k = 0; k < nlinks; ++k) {
    LinkSpec &l = s.links[k];
    if (auto m = d->macs.find(k); m != d->macs.end()) l.mac = m->second;
    l.mtu = d->mtu_all;
    if (auto m = d->link_mtus.find(k); m != d->link_mtus.end()) l.mtu = m->second;
    if (!d->pcap.empty()) l.pcap = link_pcap(d->pcap, k);
    if (l.mtu && l.mtu < 1280) {
      bool v6 = s.slaac && k == 0;
      for (size_t j = 0; j < s.addrs.size(); ++j) v6 = v6 || (s.addrs[j].addr.is_v6() && s.addr_link[j] == k);
      if (v6) {
        bool own = d->link_mtus.count(k) > 0;
        std::string v = std::to_string(l.mtu) + (own ? "@eth" + std::to_string(k) : "");
        return fail(err, d->where("mtu", v) + ": IPv6 needs at least 1280" +
                             (own || nlinks == 1 ? "" : " (on eth" + std::to_string(k) + ")"));
      }
    }
  }
  return true;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > kMaxName) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

// Splits a --stack value on the commas outside double quotes.
bool split_stack(std::string_view v, std::vector<std::string_view> *parts) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '"') quoted = !quoted;
    if (v[i] == ',' && !quoted) {
      parts->push_back(v.substr(start, i - start));
      start = i + 1;
    }
  }
  parts->push_back(v.substr(start));
  return !quoted;
}

bool parse_stack(std::string_view v, Draft *d, std::string *err) {
  d->is_default = false;
  std::vector<std::string_view> parts;
  if (!split_stack(v, &parts))
    return fail(err, "--stack " + std::string(v) + ": unbalanced double quote");
  std::string_view head = parts[0];
  auto eq = head.find('=');
  std::string_view name = head.substr(0, eq), url;
  if (eq == std::string_view::npos) {
    if (head != "host")
      return fail(err, "--stack " + std::string(v) + ": expected NAME=URL[,key[=value]...]");
    url = "host";  // --stack host == --stack host=host
  } else {
    url = head.substr(eq + 1);
  }
  if (!valid_name(name))
    return fail(err, "--stack " + std::string(v) + ": bad stack name '" + std::string(name) +
                         "' (1-63 of A-Z a-z 0-9 _ . -)");
  if (name == "default")
    return fail(err, "--stack " + std::string(v) +
                         ": the name 'default' is reserved for the --net stack");
  d->spec.name = std::string(name);
  if (url.empty()) return fail(err, "--stack " + d->spec.name + ": empty URL");
  if (!set_link(d, url, err)) return false;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.empty()) return fail(err, "--stack " + d->spec.name + ": empty setting (stray comma)");
    auto e = p.find('=');
    std::string key = unquote(p.substr(0, e));
    std::string val = e == std::string_view::npos ? std::string() : unquote(p.substr(e + 1));
    if (!apply_setting(d, key, e != std::string_view::npos, val, err)) return false;
  }
  return finish(d, err);
}

bool parse_publish(std::string_view v, PublishSpec *p, std::string *err) {
  auto colon = v.find(':');
  unsigned vp = 0, hp = 0;
  if (colon == std::string_view::npos || !parse_uint(v.substr(0, colon), &vp) ||
      !parse_uint(v.substr(colon + 1), &hp))
    return fail(err, "--publish " + std::string(v) + ": expected VIEWPORT:HOSTPORT (e.g. 80:8080)");
  if (vp < 1 || vp > 65535 || hp < 1 || hp > 65535)
    return fail(err, "--publish " + std::string(v) + ": ports are 1..65535");
  p->view_port = uint16_t(vp);
  p->host_port = uint16_t(hp);
  return true;
}

}  // namespace

bool parse_view_config(int argc, const char *const *argv, ViewConfig *out, std::string *err) {
  Draft def;
  def.is_default = true;
  def.spec.name = "default";
  bool net_given = false;
  std::vector<Draft> stacks;
  std::vector<PublishSpec> publish;
  std::vector<MeshOption> mesh_options;
  std::string mesh_first;  // the first router option, as given (for the message)
  std::set<std::string> names;

  for (int i = 0; i < argc; ++i) {
    if (!argv || !argv[i]) return fail(err, "missing argument");
    std::string_view a = argv[i];
    if (!a.starts_with("--") || a.size() == 2)
      return fail(err, "unexpected argument '" + std::string(a) + "'");
    std::string_view kv = a.substr(2);
    auto eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    bool takes_value = false, known = false;
    for (const char *const *o = kViewOptions; *o; ++o) {
      std::string_view opt = *o;
      bool v = opt.ends_with('=');
      if (v) opt.remove_suffix(1);
      if (opt == key) {
        known = true;
        takes_value = v;
      }
    }
    if (!known) return fail(err, "unknown option --" + key);
    std::string val;
    if (eq != std::string_view::npos) {
      if (!takes_value) return fail(err, "--" + key + " takes no value");
      val = std::string(kv.substr(eq + 1));
    } else if (takes_value) {
      if (i + 1 >= argc || !argv[i + 1]) return fail(err, "--" + key + " needs a value");
      val = argv[++i];
    }
    if (takes_value && val.empty()) return fail(err, "--" + key + ": empty value");

    if (key == "net") {
      if (!set_link(&def, val, err, net_given)) return false;
      net_given = true;
    } else if (key == "stack") {
      Draft d;
      if (!parse_stack(val, &d, err)) return false;
      if (!names.insert(d.spec.name).second)
        return fail(err, "--stack " + val + ": a stack named " + d.spec.name + " already exists");
      stacks.push_back(std::move(d));
    } else if (key.starts_with("mesh-")) {
      for (auto &o : mesh_options)
        if (o.key == key) return fail(err, "--" + key + (takes_value ? " " + val : "") + ": given twice");
      mesh_options.push_back({key, takes_value ? val : "1"});
      if (mesh_first.empty()) mesh_first = "--" + key + (takes_value ? " " + val : "");
    } else if (key == "publish") {
      PublishSpec p;
      if (!parse_publish(val, &p, err)) return false;
      for (auto &q : publish)
        if (q.host_port == p.host_port)
          return fail(err, "--publish " + val + ": host port " + std::to_string(p.host_port) +
                               " already published");
      publish.push_back(p);
    } else {
      if (!apply_setting(&def, key, eq != std::string_view::npos || takes_value, val, err))
        return false;
    }
  }

  ViewConfig cfg;
  if (!net_given && !def.first_not_pcap.empty())
    return fail(err, "--" + def.first_not_pcap + " needs --net (or use --stack NAME=URL,...)");
  if (!net_given && !def.pcap.empty() && !stacks.empty())
    return fail(err, "--pcap " + def.pcap + ": with --stack, give --net too or pcap= in --stack");
  if (!net_given && !stacks.empty() && !def.slaac_setting.empty())
    return fail(err, "--" + def.slaac_setting + ": no default stack to shape (use --stack NAME=URL,...," +
                         def.slaac_setting + (def.slaac_setting == "iid" ? "=...)" : ")"));
  if (net_given) {
    if (!finish(&def, err)) return false;
    cfg.stacks.push_back(std::move(def.spec));
  } else if (stacks.empty()) {
    // No network option at all: the embedded default, user-mode NAT through slirp.
    if (!set_link(&def, "slirp://", err)) return false;
    if (!finish(&def, err)) return false;
    cfg.stacks.push_back(std::move(def.spec));
  }
  for (auto &d : stacks) cfg.stacks.push_back(std::move(d.spec));
  if (!publish.empty() && cfg.stacks[0].kind == StackSpec::Kind::Host)
    return fail(err, "--publish " + std::to_string(publish[0].view_port) + ":" +
                         std::to_string(publish[0].host_port) + ": the default stack (" +
                         cfg.stacks[0].name + ") is the host's network; its ports are the host's already");
  cfg.publish = std::move(publish);
  if (!mesh_options.empty() &&
      std::none_of(cfg.stacks.begin(), cfg.stacks.end(), [](const StackSpec &s) { return s.mesh; }))
    return fail(err, mesh_first + ": no stack joins the mesh (add --mesh, or mesh in --stack NAME=URL,...,mesh)");
  cfg.mesh_options = std::move(mesh_options);
  if (out) *out = std::move(cfg);
  return true;
}

}  // namespace umnet
