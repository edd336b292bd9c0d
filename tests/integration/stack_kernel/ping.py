# Kernel-side ping (raw ICMP/ICMPv6 socket): sends `count` echo requests to `dst`, exits 0
# if every one got its reply within 2 s.
import socket, sys, struct, time
dst, count = sys.argv[1], int(sys.argv[2])
v6 = ':' in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
s.settimeout(2)
def csum(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
ok = 0
for seq in range(count):
    payload = b'threadnet-%d' % seq
    hdr = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, 0x4242, seq)
    pkt = hdr + payload
    if not v6: pkt = hdr[:2] + struct.pack('!H', csum(pkt)) + hdr[4:] + payload
    s.sendto(pkt, (dst, 0))
    end = time.time() + 2
    while time.time() < end:
        try: data, _ = s.recvfrom(2048)
        except socket.timeout: break
        if not v6: data = data[(data[0] & 15) * 4:]
        if data[0] == (129 if v6 else 0) and struct.unpack('!HH', data[4:8]) == (0x4242, seq) and data[8:] == payload:
            ok += 1; break
sys.exit(0 if ok == count else 1)
