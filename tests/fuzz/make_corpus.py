#!/usr/bin/env python3
"""Writes the small seed corpora in corpus/<target>/ (run once; outputs are committed)."""
import os, struct

def cs(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

A4, B4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
A6 = bytes.fromhex('20010db8000000000000000000000001')
B6 = bytes.fromhex('20010db8000000000000000000000002')
MA, MB = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2])

def ip4(proto, payload, ident=1, off=0, more=False, ttl=64):
    h = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident,
                              (0x2000 if more else 0) | (off // 8), ttl, proto, 0, A4, B4))
    h[10:12] = struct.pack('!H', cs(bytes(h)))
    return bytes(h) + payload

def ip6(nh, payload, hop=64, src=A6, dst=B6):
    return struct.pack('!IHBB', 6 << 28, len(payload), nh, hop) + src + dst + payload

def udp4(payload, sp=1000, dp=7):
    u = struct.pack('!HHHH', sp, dp, 8 + len(payload), 0) + payload
    c = cs(A4 + B4 + struct.pack('!BBH', 0, 17, len(u)) + u)
    return u[:6] + struct.pack('!H', c) + u[8:]

def udp6(payload, sp=1000, dp=7):
    u = struct.pack('!HHHH', sp, dp, 8 + len(payload), 0) + payload
    c = cs(A6 + B6 + struct.pack('!IxxxB', len(u), 17) + u)
    return u[:6] + struct.pack('!H', c) + u[8:]

def icmp6(msg, src=A6, dst=B6):
    c = cs(src + dst + struct.pack('!IxxxB', len(msg), 58) + msg)
    return msg[:2] + struct.pack('!H', c) + msg[4:]

def eth(et, payload, dst=MB):
    return dst + MA + struct.pack('!H', et) + payload

arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + MA + A4 + bytes(6) + B4
echo4 = bytearray(b'\x08\x00\x00\x00\x00\x01\x00\x01abcd'); echo4[2:4] = struct.pack('!H', cs(bytes(echo4)))
unreach = bytearray(b'\x03\x03\x00\x00\x00\x00\x00\x00' + ip4(17, udp4(b'q'))[:28]); unreach[2:4] = struct.pack('!H', cs(bytes(unreach)))
ns = icmp6(bytes([135, 0, 0, 0, 0, 0, 0, 0]) + B6 + bytes([1, 1]) + MA)
na = icmp6(bytes([136, 0, 0, 0, 0x60, 0, 0, 0]) + A6 + bytes([2, 1]) + MA, src=B6, dst=A6)
ll = bytes.fromhex('fe800000000000000000000000000001'); alln = bytes.fromhex('ff020000000000000000000000000001')
ra = icmp6(bytes([134, 0, 0, 0, 64, 0, 7, 8]) + bytes(8) + bytes([1, 1]) + MA + bytes([5, 1, 0, 0, 0, 0, 5, 0xdc]), src=ll, dst=alln)
echo6 = icmp6(b'\x80\x00\x00\x00\x00\x01\x00\x01abcd')
frag6 = struct.pack('!BBHI', 17, 0, 1, 7) + udp6(b'x' * 16)[:16]
hbh = bytes([60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0]) + udp6(b'opt')

seeds = {
    'fuzz_libstack_ethernet': [eth(0x0806, arp), eth(0x86dd, ip6(17, udp6(b'hi')))],
    'fuzz_libstack_arp': [arp, arp[:7] + b'\x02' + arp[8:]],
    'fuzz_libstack_ipv4': [ip4(17, udp4(b'hello')), ip4(1, bytes(echo4), more=True), ip4(17, b'x' * 16, off=8)],
    'fuzz_libstack_ipv6': [ip6(17, udp6(b'hello')), ip6(44, frag6), ip6(0, hbh)],
    'fuzz_libstack_icmpv4': [bytes(echo4), bytes(unreach)],
    'fuzz_libstack_icmpv6': [A6 + B6 + ns, B6 + A6 + na, ll + alln + ra, A6 + B6 + echo6],
    'fuzz_libstack_udp': [b'\x00' + A4 + B4 + udp4(b'hello'), b'\x01' + A6 + B6 + udp6(b'hello')],
}
def rec(frame, flags=0):
    return struct.pack('!HB', len(frame), flags) + frame
seeds['fuzz_libstack_stack'] = [
    rec(eth(0x0806, arp)) + rec(eth(0x0800, ip4(17, udp4(b'hello')))),
    rec(eth(0x0800, ip4(1, bytes(echo4)))) + rec(eth(0x86dd, ip6(58, echo6)), 2),
    rec(eth(0x86dd, ip6(58, ns, hop=255))) + rec(eth(0x86dd, ip6(44, frag6)), 62) + rec(b'', 62),
    rec(eth(0x0800, ip4(17, udp4(b'y' * 24)[:16], ident=9, more=True))) + rec(eth(0x0800, ip4(17, udp4(b'y' * 24)[16:], ident=9, off=16))),
    b'\x01' + rec(eth(0x0800, ip4(17, udp4(b'fw'), ttl=1)))[1:],
]
here = os.path.dirname(os.path.abspath(__file__))
for name, items in seeds.items():
    d = os.path.join(here, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(items):
        with open(os.path.join(d, 'seed%d' % i), 'wb') as f:
            f.write(s)
