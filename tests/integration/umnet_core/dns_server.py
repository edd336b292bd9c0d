# A tiny authoritative DNS responder for tests: every A query is answered with the
# address given on the command line, AAAA queries with no records. Listens on UDP 53
# (inside a view: no privilege needed; on BIND, default 0.0.0.0, "::" for IPv6 only) and
# touches READY_FILE once bound.
import socket
import struct
import sys

addr, ready = sys.argv[1], sys.argv[2]
bind = sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0"
if ":" in bind:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((bind, 53))
open(ready, "w").write("ready\n")
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 17:
        continue
    i = 12
    while i < len(q) and q[i] != 0:
        i += 1 + q[i]
    if i + 5 > len(q):
        continue
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    answers = b""
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
    header = q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1 if answers else 0, 0, 0)
    s.sendto(header + question + answers, peer)
