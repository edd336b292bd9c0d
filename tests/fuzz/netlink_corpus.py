#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/netlink_fuzz.cpp: valid NETLINK_ROUTE request
datagrams (the ones iproute2 6.1 and glibc really send, plus add/delete requests).
Run from anywhere: python3 tests/fuzz/netlink_corpus.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "netlink_fuzz")
REQ, ACK, DUMP, CREATE, EXCL = 1, 4, 0x300, 0x400, 0x200


def align(b):
    return b + b"\0" * (-len(b) % 4)


def attr(t, data):
    return align(struct.pack("<HH", 4 + len(data), t) + data)


def msg(t, flags, body, seq=1):
    body = align(body)
    return struct.pack("<IHHII", 16 + len(body), t, flags, seq, 0) + body


def ifinfo(index=0, fam=0):
    return struct.pack("<BBHiII", fam, 0, 0, index, 0, 0)


def ifaddr(fam, plen, index):
    return struct.pack("<BBBBI", fam, plen, 0, 0, index)


def rtm(fam, dst_len, table=254, typ=1, flags=0):
    return struct.pack("<BBBBBBBBI", fam, dst_len, 0, 0, table, 3, 0, typ, flags)


def rtnh(hops, ifindex, attrs):  # struct rtnexthop + its attributes (RTA_MULTIPATH entry)
    return align(struct.pack("<HBBi", 8 + len(attrs), 0, hops, ifindex) + attrs)


v4 = lambda s: bytes(int(x) for x in s.split("."))
v6_db8 = bytes.fromhex("20010db8000000000000000000000099")
u32 = lambda v: struct.pack("<I", v)

seeds = {
    "ip_addr_show_link": msg(18, REQ | DUMP, ifinfo(fam=2)),
    "ip_addr_show_addr": msg(22, REQ | DUMP, ifaddr(2, 0, 0)) + b"\0" * 128,
    "ip_route": msg(26, REQ | DUMP, rtm(2, 0, 0, 0) + attr(15, u32(254))) + b"\0" * 120,
    "ip6_route": msg(26, REQ | DUMP, rtm(10, 0, 0, 0) + attr(15, u32(254))),
    "ip_link": msg(18, REQ | DUMP, ifinfo(fam=17) + attr(29, u32(1))),
    "ip_neigh": msg(30, REQ | DUMP, b"\0" * 12),
    "ip_link_show_lo": msg(18, REQ, ifinfo() + attr(29, u32(9)) + attr(3, b"lo\0")),
    "ip_link_set_mtu": msg(16, REQ | ACK, ifinfo(2) + attr(4, u32(1400))),
    "ip_link_probe": msg(16, REQ | ACK, ifinfo()),
    "ip_addr_add": msg(20, REQ | ACK | CREATE | EXCL, ifaddr(2, 24, 2) + attr(2, v4("10.0.0.7")) + attr(1, v4("10.0.0.7"))),
    "ip_addr_del": msg(21, REQ | ACK, ifaddr(2, 24, 2) + attr(2, v4("10.0.0.1")) + attr(1, v4("10.0.0.1"))),
    "ip6_addr_add": msg(20, REQ | ACK | CREATE | EXCL, ifaddr(10, 64, 2) + attr(1, v6_db8)),
    "ip_route_add": msg(24, REQ | ACK | CREATE | EXCL, rtm(2, 16) + attr(1, v4("10.8.0.0")) + attr(5, v4("10.0.0.2"))),
    "ip_route_add_dev": msg(24, REQ | ACK | CREATE | EXCL, rtm(2, 16) + attr(1, v4("10.9.0.0")) + attr(4, u32(2))),
    "ip_route_del": msg(25, REQ | ACK, rtm(2, 0, 254, 0)),
    "ip_route_get": msg(26, REQ, rtm(2, 32, 0, 0, 0x1000) + attr(1, v4("10.0.0.5"))),
    "ip6_route_get": msg(26, REQ, rtm(10, 128, 0, 0) + attr(1, v6_db8)),
    "glibc_getifaddrs": msg(18, REQ | DUMP, b"\0\0\0\0") + msg(22, REQ | DUMP, b"\0\0\0\0", 2),
    "glibc_check_pf": msg(22, REQ | DUMP, ifaddr(0, 0, 0)),
    "unknown_type": msg(100, REQ | ACK, b""),
    # ip route add 10.3.0.0/16 nexthop via 10.0.0.2 dev 2 weight 3 nexthop via 10.0.0.3 dev 2
    "ip_route_add_multipath": msg(24, REQ | ACK | CREATE | EXCL, rtm(2, 16) + attr(1, v4("10.3.0.0")) +
                                  attr(9, rtnh(2, 2, attr(5, v4("10.0.0.2"))) + rtnh(0, 2, attr(5, v4("10.0.0.3"))))),
    "ip_route_del_multipath": msg(25, REQ | ACK, rtm(2, 16, 254, 0) + attr(1, v4("10.3.0.0")) +
                                  attr(9, rtnh(0, 2, attr(5, v4("10.0.0.2"))))),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
