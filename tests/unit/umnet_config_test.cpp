// umnet view configuration (modules/umnet/config.cpp): what the module's launcher options
// parse to, and the one-line errors for bad ones (label unit).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config.h"

namespace {

using umnet::StackSpec;
using umnet::ViewConfig;
using Kind = umnet::StackSpec::Kind;

struct Result {
  bool ok = false;
  ViewConfig cfg;
  std::string err;
};

Result parse(const std::vector<std::string> &args) {
  std::vector<const char *> argv;
  for (auto &a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  Result r;
  r.ok = umnet::parse_view_config(int(args.size()), argv.data(), &r.cfg, &r.err);
  return r;
}

libstack::Cidr cidr(const char *s) { return *libstack::Cidr::parse(s); }
libstack::IpAddr ip(const char *s) { return *libstack::IpAddr::parse(s); }

void expect_slirp_plan(const StackSpec &s) {
  EXPECT_EQ(s.kind, Kind::Link);
  ASSERT_EQ(s.addrs.size(), 1u);
  EXPECT_EQ(s.addrs[0], cidr("10.0.2.15/24"));
  ASSERT_EQ(s.gateways.size(), 1u);
  EXPECT_EQ(s.gateways[0], ip("10.0.2.2"));
  ASSERT_EQ(s.dns.size(), 1u);
  EXPECT_EQ(s.dns[0], ip("10.0.2.3"));
  EXPECT_TRUE(s.slaac);
  EXPECT_FALSE(s.dhcp);
}

TEST(Config, NoOptionsIsTheEmbeddedDefault) {
  auto r = parse({});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  EXPECT_EQ(r.cfg.stacks[0].name, "default");
  EXPECT_EQ(r.cfg.stacks[0].url, "slirp://");
  expect_slirp_plan(r.cfg.stacks[0]);
  ASSERT_EQ(r.cfg.stacks[0].links.size(), 1u);
  EXPECT_EQ(r.cfg.stacks[0].links[0].url, "slirp://");
  EXPECT_FALSE(r.cfg.stacks[0].links[0].mac.has_value());
  EXPECT_EQ(r.cfg.stacks[0].links[0].mtu, 0u);
  EXPECT_FALSE(r.cfg.stacks[0].forward);
  EXPECT_TRUE(r.cfg.publish.empty());
}

TEST(Config, PublishAloneKeepsTheEmbeddedDefault) {
  auto r = parse({"--publish", "80:8080", "--publish=22:2222"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  expect_slirp_plan(r.cfg.stacks[0]);
  ASSERT_EQ(r.cfg.publish.size(), 2u);
  EXPECT_EQ(r.cfg.publish[0].view_port, 80);
  EXPECT_EQ(r.cfg.publish[0].host_port, 8080);
  EXPECT_EQ(r.cfg.publish[1].view_port, 22);
  EXPECT_EQ(r.cfg.publish[1].host_port, 2222);
}

TEST(Config, FullDefaultGroup) {
  auto r = parse({"--net", "vde:///tmp/sw", "--ip", "10.0.0.2/24", "--gw", "10.0.0.1",
                  "--ip=fd00::2/64", "--gw", "fe80::1", "--dns", "10.0.0.1", "--dns",
                  "fd00::53", "--mac", "02:00:00:AB:cd:01", "--mtu", "1400", "--pcap",
                  "/tmp/x.pcap", "--dhcp", "--slaac"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  const StackSpec &s = r.cfg.stacks[0];
  EXPECT_EQ(s.name, "default");
  EXPECT_EQ(s.kind, Kind::Link);
  EXPECT_EQ(s.url, "vde:///tmp/sw");
  ASSERT_EQ(s.addrs.size(), 2u);
  EXPECT_EQ(s.addrs[0], cidr("10.0.0.2/24"));
  EXPECT_EQ(s.addrs[1], cidr("fd00::2/64"));
  ASSERT_EQ(s.gateways.size(), 2u);
  EXPECT_EQ(s.gateways[0], ip("10.0.0.1"));
  EXPECT_EQ(s.gateways[1], ip("fe80::1"));
  ASSERT_EQ(s.dns.size(), 2u);
  EXPECT_EQ(s.dns[1], ip("fd00::53"));
  ASSERT_EQ(s.links.size(), 1u);
  ASSERT_TRUE(s.links[0].mac.has_value());
  EXPECT_EQ(s.links[0].mac->to_string(), "02:00:00:ab:cd:01");
  EXPECT_EQ(s.links[0].mtu, 1400u);
  EXPECT_EQ(s.links[0].pcap, "/tmp/x.pcap");
  EXPECT_EQ(s.addr_link, (std::vector<size_t>{0, 0}));
  EXPECT_EQ(s.gw_link, (std::vector<size_t>{0, 0}));
  EXPECT_TRUE(s.dhcp);
  EXPECT_TRUE(s.slaac);
}

TEST(Config, NetNoneAndHost) {
  auto r = parse({"--net", "none"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  EXPECT_EQ(r.cfg.stacks[0].kind, Kind::None);
  EXPECT_TRUE(r.cfg.stacks[0].addrs.empty());
  r = parse({"--net=host"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].kind, Kind::Host);
  EXPECT_TRUE(r.cfg.stacks[0].url.empty());
}

TEST(Config, PcapAloneIsTheEmbeddedDefaultWithACapture) {
  auto r = parse({"--pcap", "f.pcap"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  EXPECT_EQ(r.cfg.stacks[0].url, "slirp://");
  expect_slirp_plan(r.cfg.stacks[0]);
  EXPECT_TRUE(r.cfg.stacks[0].slirp_plan);  // the program does not wait for it
  EXPECT_EQ(r.cfg.stacks[0].links.at(0).pcap, "f.pcap");
  r = parse({"--net", "slirp://", "--slaac"});  // asked for: waited for
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_FALSE(r.cfg.stacks[0].slirp_plan);
}

TEST(Config, SlirpWithoutAddressingGetsSlirpPlan) {
  auto r = parse({"--net", "slirp://", "--pcap", "f.pcap", "--mtu", "1500"});
  ASSERT_TRUE(r.ok) << r.err;
  expect_slirp_plan(r.cfg.stacks[0]);
  EXPECT_EQ(r.cfg.stacks[0].links.at(0).pcap, "f.pcap");
  // Any addressing option replaces the plan.
  r = parse({"--net", "slirp://", "--dhcp"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_TRUE(r.cfg.stacks[0].addrs.empty());
  EXPECT_TRUE(r.cfg.stacks[0].gateways.empty());
  EXPECT_TRUE(r.cfg.stacks[0].dhcp);
  EXPECT_FALSE(r.cfg.stacks[0].slaac);
  // Not for other links.
  r = parse({"--net", "vde:///tmp/sw"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_TRUE(r.cfg.stacks[0].addrs.empty());
  EXPECT_FALSE(r.cfg.stacks[0].slaac);
}

TEST(Config, StacksOnlyHaveNoDefaultStack) {
  auto r = parse({"--stack", "a=none", "--stack", "b=vde:///tmp/sw,ip=10.1.0.2/16,gw=10.1.0.1"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 2u);
  EXPECT_EQ(r.cfg.stacks[0].name, "a");
  EXPECT_EQ(r.cfg.stacks[0].kind, Kind::None);
  EXPECT_EQ(r.cfg.stacks[1].name, "b");
  EXPECT_EQ(r.cfg.stacks[1].url, "vde:///tmp/sw");
  ASSERT_EQ(r.cfg.stacks[1].addrs.size(), 1u);
  EXPECT_EQ(r.cfg.stacks[1].addrs[0], cidr("10.1.0.2/16"));
  EXPECT_EQ(r.cfg.stacks[1].gateways.at(0), ip("10.1.0.1"));
}

TEST(Config, NetStackComesFirst) {
  auto r = parse({"--stack", "lan=host", "--net", "none", "--stack", "x=slirp://"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 3u);
  EXPECT_EQ(r.cfg.stacks[0].name, "default");
  EXPECT_EQ(r.cfg.stacks[0].kind, Kind::None);
  EXPECT_EQ(r.cfg.stacks[1].name, "lan");
  EXPECT_EQ(r.cfg.stacks[1].kind, Kind::Host);
  EXPECT_EQ(r.cfg.stacks[2].name, "x");
  expect_slirp_plan(r.cfg.stacks[2]);
}

TEST(Config, StackHostShortForm) {
  auto r = parse({"--stack", "host"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  EXPECT_EQ(r.cfg.stacks[0].name, "host");
  EXPECT_EQ(r.cfg.stacks[0].kind, Kind::Host);
}

TEST(Config, StackQuotedUrl) {
  auto r = parse({"--stack", "vpn=cmd://\"ssh gw vde_plug\",dhcp,slaac"});
  ASSERT_TRUE(r.ok) << r.err;
  const StackSpec &s = r.cfg.stacks.at(0);
  EXPECT_EQ(s.url, "cmd://ssh gw vde_plug");
  EXPECT_TRUE(s.dhcp);
  EXPECT_TRUE(s.slaac);
  // Quotes protect commas, also in values.
  r = parse({"--stack", "v=cmd://\"a,b\",pcap=\"x,y.pcap\",mac=02:00:00:00:00:09,mtu=9000"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].url, "cmd://a,b");
  EXPECT_EQ(r.cfg.stacks[0].links.at(0).pcap, "x,y.pcap");
  EXPECT_EQ(r.cfg.stacks[0].links.at(0).mtu, 9000u);
  EXPECT_EQ(r.cfg.stacks[0].links.at(0).mac->to_string(), "02:00:00:00:00:09");
}

TEST(Config, StackNames) {
  std::string n63(63, 'a');
  auto r = parse({"--stack", n63 + "=none", "--stack", "A-z_0.9=none"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].name, n63);
  EXPECT_EQ(r.cfg.stacks[1].name, "A-z_0.9");
  r = parse({"--stack", std::string(64, 'a') + "=none"});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.err.find("bad stack name"), std::string::npos) << r.err;
}

TEST(Config, GatewayReachability) {
  // v4 gateway learnt with DHCP's network, v6 link-local or with SLAAC: accepted.
  EXPECT_TRUE(parse({"--net", "vde:///s", "--dhcp", "--gw", "192.168.1.1"}).ok);
  EXPECT_TRUE(parse({"--net", "vde:///s", "--gw", "fe80::1"}).ok);
  EXPECT_TRUE(parse({"--net", "vde:///s", "--slaac", "--gw", "2001:db8::1"}).ok);
  EXPECT_TRUE(parse({"--net", "vde:///s", "--ip", "2001:db8::2/64", "--gw", "2001:db8::1"}).ok);
}

TEST(Config, SeveralLinksPerStack) {
  auto r = parse({"--net", "vde:///tmp/a", "--net=vde:///tmp/b", "--net", "mem://x", "--ip", "10.1.0.2/24",
                  "--ip", "10.2.0.2/24@eth1", "--ip", "fd00:2::2/64@eth1", "--gw", "10.2.0.1",
                  "--gw", "fe80::1@eth2", "--mac", "02:00:00:00:00:0a", "--mac", "02:00:00:00:00:0b@eth1",
                  "--mtu", "1400", "--mtu", "1300@eth2", "--pcap", "/tmp/cap.pcap", "--forward"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  const StackSpec &s = r.cfg.stacks[0];
  EXPECT_EQ(s.url, "vde:///tmp/a");
  ASSERT_EQ(s.links.size(), 3u);
  EXPECT_EQ(s.links[1].url, "vde:///tmp/b");
  EXPECT_EQ(s.links[2].url, "mem://x");
  EXPECT_EQ(s.addr_link, (std::vector<size_t>{0, 1, 1}));
  // 10.2.0.1 is inside eth1's prefix; the link-local one goes where it is told.
  EXPECT_EQ(s.gw_link, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(s.links[0].mac->to_string(), "02:00:00:00:00:0a");
  EXPECT_EQ(s.links[1].mac->to_string(), "02:00:00:00:00:0b");
  EXPECT_FALSE(s.links[2].mac.has_value());
  EXPECT_EQ(s.links[0].mtu, 1400u);
  EXPECT_EQ(s.links[1].mtu, 1400u);
  EXPECT_EQ(s.links[2].mtu, 1300u);
  EXPECT_EQ(s.links[0].pcap, "/tmp/cap.pcap");
  EXPECT_EQ(s.links[1].pcap, "/tmp/cap.eth1.pcap");
  EXPECT_EQ(s.links[2].pcap, "/tmp/cap.eth2.pcap");
  EXPECT_TRUE(s.forward);
  // The same in --stack, with net= keys; a capture file without .pcap gets .ethN appended.
  r = parse({"--stack", "r=vde:///tmp/a,net=vde:///tmp/b,ip=10.1.0.1/24,ip=10.2.0.1/24@eth1,"
                        "pcap=/tmp/r,forward"});
  ASSERT_TRUE(r.ok) << r.err;
  const StackSpec &t = r.cfg.stacks[0];
  EXPECT_EQ(t.name, "r");
  ASSERT_EQ(t.links.size(), 2u);
  EXPECT_EQ(t.links[1].url, "vde:///tmp/b");
  EXPECT_EQ(t.addr_link, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(t.links[0].pcap, "/tmp/r");
  EXPECT_EQ(t.links[1].pcap, "/tmp/r.eth1");
  EXPECT_TRUE(t.forward);
  // One link: as before, and no forwarding unless asked.
  r = parse({"--net", "vde:///tmp/a", "--ip", "10.1.0.2/24@eth0"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].links.size(), 1u);
  EXPECT_FALSE(r.cfg.stacks[0].forward);
}

TEST(Config, ViewOptionsTable) {
  std::vector<std::string> opts;
  for (const char *const *o = umnet::kViewOptions; *o; ++o) opts.push_back(*o);
  for (const char *want : {"net=", "ip=", "gw=", "dns=", "dhcp", "slaac", "iid=", "tempaddr",
                           "mac=", "mtu=", "pcap=", "forward", "stack=", "publish=", "mesh"})
    EXPECT_NE(std::find(opts.begin(), opts.end(), want), opts.end()) << want;
  for (const char *const *o = umnet::kMeshOptions; *o; ++o)
    EXPECT_NE(std::find(opts.begin(), opts.end(), *o), opts.end()) << *o;
  EXPECT_EQ(opts.size(), 15u + 12u);
  // Every option of the table is one the parser knows (no "unknown option").
  for (auto &o : opts) {
    bool val = o.back() == '=';
    std::string key = val ? o.substr(0, o.size() - 1) : o;
    std::vector<std::string> args = {"--" + key};
    if (val) args.push_back("x");
    auto r = parse(args);
    EXPECT_EQ(r.err.find("unknown option"), std::string::npos) << o << ": " << r.err;
  }
}

TEST(Config, SlaacIdsStableByDefaultEui64AndTemporaryWhenAsked) {
  auto r = parse({});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].iid, StackSpec::Iid::Stable);
  EXPECT_FALSE(r.cfg.stacks[0].tempaddr);
  // On the embedded default (no --net needed): the slirp plan stays.
  r = parse({"--iid", "eui64", "--tempaddr"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  expect_slirp_plan(r.cfg.stacks[0]);
  EXPECT_EQ(r.cfg.stacks[0].iid, StackSpec::Iid::Eui64);
  EXPECT_TRUE(r.cfg.stacks[0].tempaddr);
  r = parse({"--net", "vde:///s", "--slaac", "--iid=stable", "--tempaddr"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].iid, StackSpec::Iid::Stable);
  EXPECT_TRUE(r.cfg.stacks[0].tempaddr);
  r = parse({"--stack", "a=vde:///s,slaac,iid=eui64,tempaddr", "--stack", "b=vde:///s,slaac"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 2u);
  EXPECT_EQ(r.cfg.stacks[0].iid, StackSpec::Iid::Eui64);
  EXPECT_TRUE(r.cfg.stacks[0].tempaddr);
  EXPECT_EQ(r.cfg.stacks[1].iid, StackSpec::Iid::Stable);
  EXPECT_FALSE(r.cfg.stacks[1].tempaddr);
}

TEST(Config, SlaacIdOptionErrorsAreExact) {
  auto err = [](const std::vector<std::string> &a) {
    auto r = parse(a);
    EXPECT_FALSE(r.ok);
    return r.err;
  };
  EXPECT_EQ(err({"--iid", "random"}), "--iid random: not an interface id kind (stable or eui64)");
  EXPECT_EQ(err({"--iid", "eui64", "--iid", "stable"}), "--iid stable: given twice");
  EXPECT_EQ(err({"--iid"}), "--iid needs a value");
  EXPECT_EQ(err({"--tempaddr=1"}), "--tempaddr takes no value");
  EXPECT_EQ(err({"--net", "vde:///s", "--tempaddr"}),
            "--tempaddr: needs --slaac (it only shapes SLAAC addresses)");
  EXPECT_EQ(err({"--net", "none", "--iid", "eui64"}),
            "--iid: not with --net none (a stack with only its loopback interface)");
  EXPECT_EQ(err({"--stack", "a=slirp://", "--tempaddr"}),
            "--tempaddr: no default stack to shape (use --stack NAME=URL,...,tempaddr)");
  EXPECT_EQ(err({"--stack", "a=slirp://", "--iid", "eui64"}),
            "--iid: no default stack to shape (use --stack NAME=URL,...,iid=...)");
  EXPECT_EQ(err({"--stack", "a=vde:///s,iid=eui64"}),
            "--stack a: iid: needs slaac (it only shapes SLAAC addresses)");
  EXPECT_EQ(err({"--stack", "a=vde:///s,slaac,iid=mac"}),
            "--stack a: iid=mac: not an interface id kind (stable or eui64)");
  EXPECT_EQ(err({"--stack", "a=vde:///s,slaac,iid"}), "--stack a: iid: needs a value");
  EXPECT_EQ(err({"--stack", "a=vde:///s,slaac,tempaddr=yes"}),
            "--stack a: tempaddr=yes: tempaddr takes no value");
  EXPECT_EQ(err({"--stack", "a=host,tempaddr"}),
            "--stack a: tempaddr: not with host (the host's own network is used as it is)");
  EXPECT_EQ(err({"--stack", "a=vde:///s,bogus"}),
            "--stack a: unknown setting 'bogus' (net, ip, gw, dns, dhcp, slaac, iid, tempaddr, mac, mtu, pcap, forward, mesh)");
}

// ---- --mesh ---------------------------------------------------------------------------------

// The router's options table must be exactly this list, in this order (router.h: the
// router's `options`); it is the tail of the view's table.
TEST(Config, MeshOptionsTableIsTheRoutersList) {
  std::vector<std::string> got;
  for (const char *const *o = umnet::kMeshOptions; *o; ++o) got.push_back(*o);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "mesh-radar-interval=", "mesh-radar-pings=", "mesh-radar-timeout=",
                     "mesh-rtt-threshold=", "mesh-qspn-wait-round=", "mesh-qspn-wait=",
                     "mesh-maxroutes=", "mesh-realm=", "mesh-hook-wait=", "mesh-flood-rate=",
                     "mesh-gnode-size=", "mesh-verbose"}));
  const char *const *v = umnet::kViewOptions;
  while (*v && std::string(*v) != "mesh-radar-interval=") ++v;
  EXPECT_EQ(v, umnet::kMeshOptions);
}

TEST(Config, MeshJoinsTheDefaultStackWithoutAddresses) {
  auto r = parse({"--net", "vde:///s1", "--net", "vde:///s2", "--mesh"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 1u);
  const StackSpec &s = r.cfg.stacks[0];
  EXPECT_TRUE(s.mesh);
  EXPECT_EQ(s.links.size(), 2u);
  EXPECT_TRUE(s.addrs.empty());     // the address comes from the hook
  EXPECT_TRUE(s.gateways.empty());
  EXPECT_FALSE(s.forward);          // the view turns forwarding on for a mesh stack itself
  EXPECT_TRUE(r.cfg.mesh_options.empty());
  // Without --mesh no stack is a mesh stack.
  r = parse({"--net", "vde:///s1"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_FALSE(r.cfg.stacks[0].mesh);
  // Static addresses and a slirp link beside the mesh stay what they are.
  r = parse({"--net", "slirp://", "--net", "vde:///s1", "--mesh"});
  ASSERT_TRUE(r.ok) << r.err;
  expect_slirp_plan(r.cfg.stacks[0]);
  EXPECT_TRUE(r.cfg.stacks[0].mesh);
  r = parse({"--net", "vde:///s1", "--ip", "10.9.0.1/24", "--mesh"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.stacks[0].addrs.size(), 1u);
}

TEST(Config, MeshKeyInStack) {
  auto r = parse({"--stack", "m=vde:///s1,net=vde:///s2,mesh", "--stack", "plain=vde:///s3"});
  ASSERT_TRUE(r.ok) << r.err;
  ASSERT_EQ(r.cfg.stacks.size(), 2u);
  EXPECT_EQ(r.cfg.stacks[0].name, "m");
  EXPECT_TRUE(r.cfg.stacks[0].mesh);
  EXPECT_EQ(r.cfg.stacks[0].links.size(), 2u);
  EXPECT_FALSE(r.cfg.stacks[1].mesh);
  r = parse({"--net", "vde:///s1", "--stack", "m=vde:///s2,mesh"});
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_FALSE(r.cfg.stacks[0].mesh);
  EXPECT_TRUE(r.cfg.stacks[1].mesh);
}

// The router checks the values (its message is the error): the view keeps them verbatim, in
// the order given, flags as "1".
TEST(Config, MeshOptionsAreKeptAsGiven) {
  auto r = parse({"--net", "vde:///s", "--mesh", "--mesh-radar-interval", "200ms",
                  "--mesh-verbose", "--mesh-realm=10.0.0.0/8", "--mesh-radar-pings", "4",
                  "--mesh-qspn-wait-round", "2s", "--mesh-hook-wait", "5x"});
  ASSERT_TRUE(r.ok) << r.err;
  using O = umnet::MeshOption;
  EXPECT_EQ(r.cfg.mesh_options,
            (std::vector<O>{{"mesh-radar-interval", "200ms"}, {"mesh-verbose", "1"},
                            {"mesh-realm", "10.0.0.0/8"}, {"mesh-radar-pings", "4"},
                            {"mesh-qspn-wait-round", "2s"}, {"mesh-hook-wait", "5x"}}));
  // Every router option is accepted (with a mesh stack given by --stack too).
  std::vector<std::string> args = {"--stack", "m=vde:///s,mesh"};
  for (const char *const *o = umnet::kMeshOptions; *o; ++o) {
    std::string k = *o;
    bool val = k.back() == '=';
    if (val) k.pop_back();
    args.push_back("--" + k);
    if (val) args.push_back("1");
  }
  r = parse(args);
  ASSERT_TRUE(r.ok) << r.err;
  EXPECT_EQ(r.cfg.mesh_options.size(), 12u);
}

TEST(Config, MeshErrorsAreExact) {
  auto err = [](const std::vector<std::string> &a) {
    auto r = parse(a);
    EXPECT_FALSE(r.ok);
    return r.err;
  };
  const std::string no_mesh =
      ": no stack joins the mesh (add --mesh, or mesh in --stack NAME=URL,...,mesh)";
  EXPECT_EQ(err({"--mesh"}), "--mesh needs --net (or use --stack NAME=URL,...)");
  EXPECT_EQ(err({"--mesh=1"}), "--mesh takes no value");
  EXPECT_EQ(err({"--net", "none", "--mesh"}),
            "--mesh: not with --net none (a stack with only its loopback interface)");
  EXPECT_EQ(err({"--net", "host", "--mesh"}),
            "--mesh: not with --net host (the host's own network is used as it is)");
  EXPECT_EQ(err({"--stack", "a=host,mesh"}),
            "--stack a: mesh: not with host (the host's own network is used as it is)");
  EXPECT_EQ(err({"--stack", "a=vde:///s,mesh=yes"}), "--stack a: mesh=yes: mesh takes no value");
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh-radar-interval", "1s"}), "--mesh-radar-interval 1s" + no_mesh);
  EXPECT_EQ(err({"--mesh-verbose"}), "--mesh-verbose" + no_mesh);
  EXPECT_EQ(err({"--stack", "a=vde:///s", "--mesh-maxroutes=4"}), "--mesh-maxroutes 4" + no_mesh);
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh", "--mesh-radar-pings", "4", "--mesh-radar-pings", "8"}),
            "--mesh-radar-pings 8: given twice");
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh", "--mesh-verbose", "--mesh-verbose"}),
            "--mesh-verbose: given twice");
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh", "--mesh-verbose=1"}), "--mesh-verbose takes no value");
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh", "--mesh-realm"}), "--mesh-realm needs a value");
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh", "--mesh-realm="}), "--mesh-realm: empty value");
  EXPECT_EQ(err({"--net", "vde:///s", "--mesh", "--mesh-bogus", "1"}), "unknown option --mesh-bogus");
  EXPECT_EQ(err({"--stack", "a=vde:///s,mesh,mesh-radar-interval=1s"}),
            "--stack a: mesh-radar-interval is not a stack setting; give --mesh-radar-interval "
            "(it applies to every mesh stack of the view)");
}

struct Bad {
  std::vector<std::string> args;
  const char *want;  // substring of the error
};

class ConfigBad : public testing::TestWithParam<Bad> {};

TEST_P(ConfigBad, FailsWithOneLineNamingTheOption) {
  const Bad &b = GetParam();
  ViewConfig untouched;
  untouched.publish.push_back({1, 2});
  std::vector<const char *> argv;
  for (auto &a : b.args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::string err;
  ViewConfig cfg = untouched;
  EXPECT_FALSE(umnet::parse_view_config(int(b.args.size()), argv.data(), &cfg, &err));
  EXPECT_NE(err.find(b.want), std::string::npos) << "error was: " << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  ASSERT_EQ(cfg.publish.size(), 1u);  // *out left alone on failure
  EXPECT_TRUE(cfg.stacks.empty());
}

const std::string N = "--net", V = "vde:///tmp/sw";

INSTANTIATE_TEST_SUITE_P(
    Inputs, ConfigBad,
    testing::Values(
        Bad{{"--ip", "10.0.0.2/24"}, "--ip needs --net (or use --stack"},
        Bad{{"--dhcp"}, "--dhcp needs --net"},
        Bad{{"--pcap", "x", "--stack", "a=none"}, "--pcap x: with --stack, give --net too"},
        Bad{{"--pcap", "x", "--mtu", "1400"}, "--mtu needs --net"},
        Bad{{"--stack", "a=none", "--mtu", "1500"}, "--mtu needs --net"},
        Bad{{N, V, "--ip", "10.0.0.300/24"}, "--ip 10.0.0.300/24: not an address/prefix"},
        Bad{{N, V, "--ip", "10.0.0.2"}, "--ip 10.0.0.2: not an address/prefix"},
        Bad{{N, V, "--ip", "10.0.0.2/33"}, "--ip 10.0.0.2/33: not an address/prefix"},
        Bad{{N, V, "--ip", "fd00::1/129"}, "--ip fd00::1/129: not an address/prefix"},
        Bad{{N, V, "--ip", "10.0.0.2/"}, "--ip 10.0.0.2/: not an address/prefix"},
        Bad{{N, V, "--ip", "224.0.0.1/24"}, "--ip 224.0.0.1/24: not a usable"},
        Bad{{N, V, "--ip", "0.0.0.0/8"}, "--ip 0.0.0.0/8: not a usable"},
        Bad{{N, V, "--ip", "127.0.0.2/8"}, "--ip 127.0.0.2/8: not a usable"},
        Bad{{N, V, "--ip", "ff02::1/64"}, "--ip ff02::1/64: not a usable"},
        Bad{{N, V, "--ip", "::ffff:10.0.0.1/96"}, "--ip ::ffff:10.0.0.1/96: not a usable"},
        Bad{{N, V, "--ip", "10.0.0.2/0"}, "--ip 10.0.0.2/0: prefix length 0"},
        Bad{{N, V, "--ip", "10.0.0.2/24", "--ip", "10.0.0.2/16"}, "--ip 10.0.0.2/16: address given twice"},
        Bad{{N, V, "--ip", "10.0.0.2/24", "--gw", "10.0.0.1", "--gw", "10.0.0.3"},
            "--gw 10.0.0.3: one IPv4 gateway per stack"},
        Bad{{N, V, "--gw", "fe80::1", "--gw", "fe80::2"}, "--gw fe80::2: one IPv6 gateway"},
        Bad{{N, V, "--ip", "10.0.0.2/24", "--gw", "10.0.1.1"}, "--gw 10.0.1.1: not inside any --ip prefix"},
        Bad{{N, V, "--gw", "10.0.1.1"}, "--gw 10.0.1.1: no IPv4 address on this stack"},
        Bad{{N, V, "--ip", "10.0.0.2/24", "--gw", "2001:db8::1"}, "--gw 2001:db8::1: not inside any --ip prefix"},
        Bad{{N, V, "--gw", "10.0.0"}, "--gw 10.0.0: not an address"},
        Bad{{N, V, "--dhcp", "--gw", "255.255.255.255"}, "--gw 255.255.255.255: not a usable gateway"},
        Bad{{N, V, "--dns", "ns.example"}, "--dns ns.example: not an address"},
        Bad{{N, V, "--dns", "0.0.0.0"}, "--dns 0.0.0.0: not a usable name server"},
        Bad{{N, V, "--mac", "01:00:5e:00:00:01"}, "--mac 01:00:5e:00:00:01: a multicast MAC"},
        Bad{{N, V, "--mac", "00:00:00:00:00:00"}, "--mac 00:00:00:00:00:00: the all-zero"},
        Bad{{N, V, "--mac", "02:00:00:00:00:1"}, "--mac 02:00:00:00:00:1: not a MAC address"},
        Bad{{N, V, "--mac", "02-00-00-00-00-01"}, "--mac 02-00-00-00-00-01: not a MAC address"},
        Bad{{N, V, "--mac", "02:00:00:00:00:01", "--mac", "02:00:00:00:00:02"}, "--mac 02:00:00:00:00:02: given twice"},
        Bad{{N, V, "--mtu", "67"}, "--mtu 67: not an MTU (68..65535)"},
        Bad{{N, V, "--mtu", "65536"}, "--mtu 65536: not an MTU"},
        Bad{{N, V, "--mtu", "15x"}, "--mtu 15x: not an MTU"},
        Bad{{N, V, "--mtu", "-1500"}, "--mtu -1500: not an MTU"},
        Bad{{N, V, "--mtu", "1500", "--mtu", "1400"}, "--mtu 1400: given twice"},
        Bad{{N, V, "--slaac", "--mtu", "1000"}, "--mtu 1000: IPv6 needs at least 1280"},
        Bad{{N, V, "--pcap", "a", "--pcap", "b"}, "--pcap b: given twice"},
        Bad{{N, V, N, "none"}, "--net none: none and host stand alone, not beside another link"},
        Bad{{N, "host", N, V}, "--net vde:///tmp/sw: a host stack has no links to add to (none and host stand alone)"},
        Bad{{N, V, "--ip", "10.0.0.2/24@eth1"}, "--ip 10.0.0.2/24@eth1: this stack has no eth1 (one link, eth0; add one with another --net)"},
        Bad{{N, V, N, V, "--ip", "10.0.0.2/24@eth2"}, "--ip 10.0.0.2/24@eth2: this stack has no eth2 (links eth0..eth1; add one with another --net)"},
        Bad{{N, V, "--ip", "10.0.0.2/24@wlan0"}, "--ip 10.0.0.2/24@wlan0: '@wlan0' is not an interface of a stack (eth0, eth1, ...)"},
        Bad{{N, V, "--ip", "10.0.0.2/24@eth01"}, "--ip 10.0.0.2/24@eth01: '@eth01' is not an interface"},
        Bad{{N, V, "--ip", "10.0.0.2/24@eth"}, "--ip 10.0.0.2/24@eth: '@eth' is not an interface"},
        Bad{{N, V, N, V, "--mac", "02:00:00:00:00:01", "--mac", "02:00:00:00:00:01@eth1"},
            "--mac 02:00:00:00:00:01@eth1: already the MAC address of eth0"},
        Bad{{N, V, N, V, "--mac", "02:00:00:00:00:01@eth1", "--mac", "02:00:00:00:00:02@eth1"},
            "--mac 02:00:00:00:00:02@eth1: given twice for eth1"},
        Bad{{N, V, "--mac", "02:00:00:00:00:01@eth3"}, "--mac 02:00:00:00:00:01@eth3: this stack has no eth3"},
        Bad{{N, V, N, V, "--mtu", "1400@eth1", "--mtu", "1300@eth1"}, "--mtu 1300@eth1: given twice"},
        Bad{{N, V, "--mtu", "1400@eth1"}, "--mtu 1400@eth1: this stack has no eth1"},
        Bad{{N, V, N, V, "--ip", "fd00::1/64@eth1", "--mtu", "1200@eth1"}, "--mtu 1200@eth1: IPv6 needs at least 1280"},
        Bad{{N, V, N, V, "--ip", "fd00::1/64@eth1", "--mtu", "1200"}, "--mtu 1200: IPv6 needs at least 1280 (on eth1)"},
        Bad{{N, V, N, V, "--ip", "10.0.0.2/24@eth1", "--gw", "10.0.0.1@eth0"},
            "--gw 10.0.0.1@eth0: no IPv4 address on eth0 to reach it (add --ip or --dhcp)"},
        Bad{{N, V, N, V, "--ip", "10.0.0.2/24", "--ip", "10.1.0.2/24@eth1", "--gw", "10.1.0.1@eth0"},
            "--gw 10.1.0.1@eth0: not inside any --ip prefix on eth0"},
        Bad{{N, V, "--gw", "10.0.0.1@eth1"}, "--gw 10.0.0.1@eth1: this stack has no eth1"},
        Bad{{N, "none", "--forward"}, "--forward: not with --net none"},
        Bad{{"--forward"}, "--forward needs --net"},
        Bad{{"--forward=1"}, "--forward takes no value"},
        Bad{{"--stack", "a=none,net=vde:///s"}, "--stack a: net=vde:///s: a none stack has no links to add to"},
        Bad{{"--stack", "a=vde:///s,net=host"}, "--stack a: net=host: none and host stand alone"},
        Bad{{"--stack", "a=vde:///s,net="}, "--stack a: net: needs a value"},
        Bad{{"--stack", "a=vde:///s,net=bogus"}, "--stack a: net=bogus: not a link URL (did you mean bogus://?)"},
        Bad{{"--stack", "a=vde:///s,ip=10.0.0.2/24@eth1"}, "--stack a: ip=10.0.0.2/24@eth1: this stack has no eth1 (one link, eth0; add one with net=URL)"},
        Bad{{"--stack", "a=vde:///s,forward=yes"}, "--stack a: forward=yes: forward takes no value"},
        Bad{{N, "slirp"}, "--net slirp: not a link URL (did you mean slirp://?)"},
        Bad{{N, "://x"}, "--net ://x: not a link URL"},
        Bad{{N, "tap:"}, "--net tap:: the device name is missing (tap:NAME, e.g. tap:tap0)"},
        Bad{{N, "tun://"}, "--net tun://: the device name is missing (tun:NAME"},
        Bad{{N, ""}, "--net: empty value"},
        Bad{{"--net=host", "--ip", "10.0.0.2/24"}, "--ip: not with --net host"},
        Bad{{N, "none", "--dhcp"}, "--dhcp: not with --net none"},
        Bad{{N, "host", "--publish", "80:8080"}, "--publish 80:8080: the default stack"},
        Bad{{"--stack", "lan=host", "--publish", "80:8080"}, "--publish 80:8080: the default stack (lan)"},
        Bad{{"--stack", "foo"}, "--stack foo: expected NAME=URL"},
        Bad{{"--stack", "default=slirp://"}, "the name 'default' is reserved"},
        Bad{{"--stack", "a b=slirp://"}, "--stack a b=slirp://: bad stack name 'a b'"},
        Bad{{"--stack", "=slirp://"}, "bad stack name ''"},
        Bad{{"--stack", "a=none", "--stack", "a=host"}, "a stack named a already exists"},
        Bad{{"--stack", "a="}, "--stack a: empty URL"},
        Bad{{"--stack", "a=vde"}, "--stack a=vde: not a link URL"},
        Bad{{"--stack", "a=slirp://,bogus"}, "--stack a: unknown setting 'bogus'"},
        Bad{{"--stack", "a=slirp://,dhcp=1"}, "--stack a: dhcp=1: dhcp takes no value"},
        Bad{{"--stack", "a=slirp://,ip"}, "--stack a: ip: needs a value"},
        Bad{{"--stack", "a=slirp://,ip="}, "--stack a: ip: needs a value"},
        Bad{{"--stack", "a=slirp://,ip=1.2.3/24"}, "--stack a: ip=1.2.3/24: not an address/prefix"},
        Bad{{"--stack", "a=cmd://\"x,dhcp"}, "unbalanced double quote"},
        Bad{{"--stack", "a=slirp://,,dhcp"}, "--stack a: empty setting"},
        Bad{{"--stack", "a=slirp://,dhcp,"}, "--stack a: empty setting"},
        Bad{{"--stack", "a=host,ip=10.0.0.2/24"}, "--stack a: ip: not with host"},
        Bad{{"--stack", "a=none,mtu=1500"}, "--stack a: mtu: not with none"},
        Bad{{"--stack", "a=vde:///s,ip=10.0.0.2/24,gw=9.9.9.9"}, "--stack a: gw=9.9.9.9: not inside any ip= prefix"},
        Bad{{"--stack", "a=vde:///s,gw=9.9.9.9"}, "--stack a: gw=9.9.9.9: no IPv4 address on this stack to reach it (add ip= or dhcp)"},
        Bad{{"--stack", "a=vde:///s,mac=ff:ff:ff:ff:ff:ff"}, "--stack a: mac=ff:ff:ff:ff:ff:ff: a multicast"},
        Bad{{"--stack", "a=vde:///s,mtu=1,slaac"}, "--stack a: mtu=1: not an MTU"},
        Bad{{"--publish", "80"}, "--publish 80: expected VIEWPORT:HOSTPORT"},
        Bad{{"--publish", "80:"}, "--publish 80:: expected VIEWPORT:HOSTPORT"},
        Bad{{"--publish", "a:b"}, "--publish a:b: expected"},
        Bad{{"--publish", "80:8080:1"}, "--publish 80:8080:1: expected"},
        Bad{{"--publish", "0:8080"}, "--publish 0:8080: ports are 1..65535"},
        Bad{{"--publish", "80:65536"}, "--publish 80:65536: ports are 1..65535"},
        Bad{{"--publish", "80:8080", "--publish", "81:8080"}, "--publish 81:8080: host port 8080 already published"},
        Bad{{"--frobnicate"}, "unknown option --frobnicate"},
        Bad{{"--dhcp=yes"}, "--dhcp takes no value"},
        Bad{{N, V, "--ip"}, "--ip needs a value"},
        Bad{{"foo"}, "unexpected argument 'foo'"},
        Bad{{"--"}, "unexpected argument '--'"}));

}  // namespace
