// umnet view configuration parser (config.h).
//
// Theory of operation: the launcher hands the module its options as argv tokens
// ("--net" "URL" ..., or "--net=URL"). One pass walks them: the options of the default
// group (--net --ip --gw --dns --dhcp --slaac --iid --tempaddr --mac --mtu --pcap) fill one
// StackSpec,
// every --stack value is split (commas outside double quotes) into NAME=URL and key
// settings that fill another through the same setter, and --publish is collected apart.
// A second step checks each spec as a whole (settings that a host/none stack cannot take,
// gateways that no address of the stack can reach, slirp defaults) and assembles the
// ViewConfig: the default stack first when there is one, then the --stack stacks in the
// order given. Every error is one line that names the option and its value.
#include "config.h"

#include <cctype>
#include <charconv>
#include <set>
#include <string_view>
#include <utility>

namespace umnet {

const char *const kViewOptions[] = {"net=",  "ip=",      "gw=",  "dns=", "dhcp",
                                    "slaac", "iid=",     "tempaddr",   "mac=", "mtu=",
                                    "pcap=", "stack=",   "publish=",   nullptr};

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
  bool have_gw4 = false, have_gw6 = false, have_mac = false, have_mtu = false,
       have_pcap = false, have_iid = false;
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

// Sets the link of a draft from a --net value or the URL part of --stack.
bool set_link(Draft *d, std::string_view raw, std::string *err) {
  std::string u = unquote(raw);
  if (u == "none") {
    d->spec.kind = StackSpec::Kind::None;
  } else if (u == "host") {
    d->spec.kind = StackSpec::Kind::Host;
  } else {
    std::string w = d->is_default ? "--net " + std::string(raw)
                                  : "--stack " + d->spec.name + "=" + std::string(raw);
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
    d->spec.url = std::move(u);
  }
  return true;
}

// One address/link setting (a default-group option or a --stack key). `has_val` tells a
// flag from a valued key ("dhcp" vs "dhcp=1").
bool apply_setting(Draft *d, std::string_view key, bool has_val, std::string_view val,
                   std::string *err) {
  StackSpec &s = d->spec;
  const bool flag = key == "dhcp" || key == "slaac" || key == "tempaddr";
  const bool valued = key == "ip" || key == "gw" || key == "dns" || key == "mac" ||
                      key == "mtu" || key == "pcap" || key == "iid";
  if (!flag && !valued) {
    return fail(err, "--stack " + s.name + ": unknown setting '" + std::string(key) +
                         "' (ip, gw, dns, dhcp, slaac, iid, tempaddr, mac, mtu, pcap)");
  }
  if (flag && has_val) return fail(err, d->where(key, val) + ": " + std::string(key) + " takes no value");
  if (valued && (!has_val || val.empty())) return fail(err, d->where(key) + ": needs a value");
  // iid/tempaddr shape SLAAC only: they neither need --net nor stop the slirp plan.
  const bool slaac_shape = key == "iid" || key == "tempaddr";
  if (slaac_shape) {
    if (d->slaac_setting.empty()) d->slaac_setting = std::string(key);
  } else {
    if (d->first_setting.empty()) d->first_setting = std::string(key);
    if (d->first_not_pcap.empty() && key != "pcap") d->first_not_pcap = std::string(key);
  }

  if (key == "dhcp") {
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
      if (o.addr == a) return fail(err, d->where(key, val) + ": address given twice");
    s.addrs.push_back(*c);
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
  } else if (key == "dns") {
    auto a = IpAddr::parse(val);
    if (!a) return fail(err, d->where(key, val) + ": not an address");
    if (a->is_unspecified() || is_multicast(*a))
      return fail(err, d->where(key, val) + ": not a usable name server address");
    s.dns.push_back(*a);
  } else if (key == "mac") {
    if (d->have_mac) return fail(err, d->where(key, val) + ": given twice");
    auto m = MacAddr::parse(val);
    if (!m) return fail(err, d->where(key, val) + ": not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (m->is_multicast()) return fail(err, d->where(key, val) + ": a multicast MAC address");
    if (*m == MacAddr{}) return fail(err, d->where(key, val) + ": the all-zero MAC address");
    d->have_mac = true;
    s.mac = *m;
  } else if (key == "mtu") {
    if (d->have_mtu) return fail(err, d->where(key, val) + ": given twice");
    size_t n = 0;
    if (!parse_uint(val, &n) || n < 68 || n > 65535)
      return fail(err, d->where(key, val) + ": not an MTU (68..65535)");
    d->have_mtu = true;
    s.mtu = n;
  } else {  // pcap
    if (d->have_pcap) return fail(err, d->where(key, val) + ": given twice");
    d->have_pcap = true;
    s.pcap = unquote(val);
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
    // slirp's own network plan: what the embedded default is made of.
    s.addrs.push_back(*Cidr::parse("10.0.2.15/24"));
    s.gateways.push_back(*IpAddr::parse("10.0.2.2"));
    s.dns.push_back(*IpAddr::parse("10.0.2.3"));
    s.slaac = true;
    s.slirp_plan = true;
  }
  if (!d->slaac_setting.empty() && !s.slaac)
    return fail(err, d->where(d->slaac_setting) + ": needs " + (d->is_default ? "--slaac" : "slaac") +
                         " (it only shapes SLAAC addresses)");
  for (auto &g : s.gateways) {
    bool reachable = false, have_family = false;
    for (auto &c : s.addrs)
      if (c.addr.family == g.family) {
        have_family = true;
        if (c.contains(g)) reachable = true;
      }
    if (g.is_v4()) {
      if (!have_family && !s.dhcp)
        return fail(err, d->where("gw", g.to_string()) +
                             ": no IPv4 address on this stack to reach it (add " +
                             (d->is_default ? "--ip or --dhcp)" : "ip= or dhcp)"));
      if (have_family && !reachable && !s.dhcp)
        return fail(err, d->where("gw", g.to_string()) + ": not inside any " +
                             (d->is_default ? "--ip" : "ip=") + " prefix of this stack");
    } else if (!g.v6().is_link_local() && !reachable && !s.slaac && !s.dhcp) {
      return fail(err, d->where("gw", g.to_string()) + ": not inside any " +
                           (d->is_default ? "--ip" : "ip=") +
                           " prefix of this stack (use a link-local gateway or slaac)");
    }
  }
  if (s.mtu && s.mtu < 1280) {
    bool v6 = s.slaac;
    for (auto &c : s.addrs) v6 = v6 || c.addr.is_v6();
    if (v6)
      return fail(err, d->where("mtu", std::to_string(s.mtu)) + ": IPv6 needs at least 1280");
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
      if (net_given) return fail(err, "--net " + val + ": --net given twice");
      net_given = true;
      if (!set_link(&def, val, err)) return false;
    } else if (key == "stack") {
      Draft d;
      if (!parse_stack(val, &d, err)) return false;
      if (!names.insert(d.spec.name).second)
        return fail(err, "--stack " + val + ": a stack named " + d.spec.name + " already exists");
      stacks.push_back(std::move(d));
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
  if (!net_given && !def.spec.pcap.empty() && !stacks.empty())
    return fail(err, "--pcap " + def.spec.pcap + ": with --stack, give --net too or pcap= in --stack");
  if (!net_given && !stacks.empty() && !def.slaac_setting.empty())
    return fail(err, "--" + def.slaac_setting + ": no default stack to shape (use --stack NAME=URL,...," +
                         def.slaac_setting + (def.slaac_setting == "iid" ? "=...)" : ")"));
  if (net_given) {
    if (!finish(&def, err)) return false;
    cfg.stacks.push_back(std::move(def.spec));
  } else if (stacks.empty()) {
    // No network option at all: the embedded default, user-mode NAT through slirp.
    def.spec.url = "slirp://";
    if (!finish(&def, err)) return false;
    cfg.stacks.push_back(std::move(def.spec));
  }
  for (auto &d : stacks) cfg.stacks.push_back(std::move(d.spec));
  if (!publish.empty() && cfg.stacks[0].kind == StackSpec::Kind::Host)
    return fail(err, "--publish " + std::to_string(publish[0].view_port) + ":" +
                         std::to_string(publish[0].host_port) + ": the default stack (" +
                         cfg.stacks[0].name + ") is the host's network; its ports are the host's already");
  cfg.publish = std::move(publish);
  if (out) *out = std::move(cfg);
  return true;
}

}  // namespace umnet
