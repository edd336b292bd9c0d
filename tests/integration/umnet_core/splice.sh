#!/usr/bin/env bash
# Host splices (modules/umnet/splice.cpp): on the embedded default network (slirp://),
# TCP from the view to the host (10.0.2.2 = the host's loopback) is served from a host
# socket directly, and --publish hands host connections to the view's listener. Checked:
# the bytes arrive exactly (8 MiB, sha256 both ways), the names the program sees are the
# view's, a refused port is ECONNREFUSED, and these connections are not in the stack's
# frames (--pcap) while UDP still is; with slirp's disable_host_loopback nothing is spliced
# and slirp's refusal is what the program gets.
. "$(dirname "$0")/../umnet/lib.sh"
need tcpdump
cd "$WORK"
port=$(free_port)
uport=$(free_port)
# Host side: a TCP server that answers each connection with the sha256 of what it read and
# the peer it saw; a UDP sink that writes what it got to a file.
cat >host.py <<'EOF'
import hashlib, socket, sys, threading
port, uport, udpfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", uport))
    data, _ = u.recvfrom(100)
    open(udpfile, "wb").write(data)
threading.Thread(target=udp, daemon=True).start()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
while True:
    c, a = s.accept()
    h = hashlib.sha256()
    while True:
        b = c.recv(1 << 16)
        if not b: break
        h.update(b)
    try:
        c.sendall(("%s %s\n" % (h.hexdigest(), a[0])).encode() + b"x" * (8 << 20))
    except OSError:
        pass  # wait_port's probe
    c.close()
EOF
cat >client.py <<'EOF'
import errno, hashlib, os, socket, sys
port, uport, dead = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(8 << 20)
c = socket.create_connection(("10.0.2.2", port), timeout=20)
print("names", c.getsockname()[0], "%s:%d" % c.getpeername())
c.sendall(data); c.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = c.recv(1 << 16)
    if not b: break
    got += b
line, rest = got.split(b"\n", 1)
digest, peer = line.decode().split()
print("sent", "ok" if digest == hashlib.sha256(data).hexdigest() else "BAD", "peer", peer)
print("received", "ok" if rest == b"x" * (8 << 20) else "BAD %d" % len(rest))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"udp-through-slirp", ("10.0.2.2", uport))
r = socket.socket(); r.settimeout(10)
print("refused", errno.errorcode.get(r.connect_ex(("10.0.2.2", dead)), "0"))
EOF
bg $PY host.py "$port" "$uport" "$WORK/udp.got"
wait_port "$port"
dead=$(free_port)
# The embedded default's network, spelled out so that --pcap may be given.
DEFAULT=(--net slirp:// --ip 10.0.2.15/24 --gw 10.0.2.2)
out=$(timeout 60 "$TN" run -m "$UMNET_MOD" "${DEFAULT[@]}" --pcap "$WORK/view.pcap" -- $PY client.py "$port" "$uport" "$dead" 2>&1) \
  || fail "client in the view failed: $out"
echo "$out"
echo "$out" | grep -qx "names 10.0.2.15 10.0.2.2:$port" || fail "names seen in the view: $out"
echo "$out" | grep -qx "sent ok peer 127.0.0.1" || fail "host did not get the bytes from its loopback: $out"
echo "$out" | grep -qx "received ok" || fail "the view did not get the host's bytes: $out"
echo "$out" | grep -qx "refused ECONNREFUSED" || fail "a closed host port: $out"
wait_file "$WORK/udp.got" 10
[ "$(cat "$WORK/udp.got")" = "udp-through-slirp" ] || fail "UDP datagram lost"
tcp_frames=$(tcpdump -nr "$WORK/view.pcap" "tcp port $port" 2>/dev/null | wc -l)
udp_frames=$(tcpdump -nr "$WORK/view.pcap" "udp port $uport" 2>/dev/null | wc -l)
[ "$tcp_frames" -eq 0 ] || fail "$tcp_frames frames of the spliced connection went through the stack"
[ "$udp_frames" -ge 1 ] || fail "the UDP datagram is not in the stack's frames (pcap broken?)"

# disable_host_loopback: slirp refuses the host's loopback, and so must the view.
out=$(timeout 60 "$TN" run -m "$UMNET_MOD" --net slirp:///disable_host_loopback --ip 10.0.2.15/24 \
  --gw 10.0.2.2 --pcap "$WORK/noloop.pcap" -- $PY -c "
import socket, errno
r = socket.socket(); r.settimeout(10)
print('loopback', errno.errorcode.get(r.connect_ex(('10.0.2.2', $port)), '0'))" 2>&1) || fail "$out"
echo "$out"
echo "$out" | grep -q "^loopback 0$" && fail "connected to the host's loopback despite disable_host_loopback"
syn=$(tcpdump -nr "$WORK/noloop.pcap" "tcp port $port" 2>/dev/null | wc -l)
[ "$syn" -ge 1 ] || fail "without the host loopback the connection must go through the stack"

# --publish: a dual-stack listener in the view gets host connections as accepted sockets
# with the view's names; they are not in the stack's frames.
hport=$(free_port)
cat >names.py <<'EOF'
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 80)); s.listen(5)
print("ready", flush=True)
for i in range(2):
    c, a = s.accept()
    c.sendall(("%s %s %s %d\n" % (a[0], c.getsockname()[0], c.getsockname()[1],
               c.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN))).encode())
    c.close()
EOF
"$TN" run -m "$UMNET_MOD" "${DEFAULT[@]}" --publish "80:$hport" --pcap "$WORK/pub.pcap" -- $PY names.py >pub.out 2>&1 &
PIDS+=($!)
wait_log pub.out ready
got4=$($PY -c "import socket; c=socket.create_connection(('127.0.0.1',$hport)); print(c.recv(200).decode().strip())")
got6=$($PY -c "import socket; c=socket.create_connection(('::1',$hport)); print(c.recv(200).decode().strip())")
echo "published: v4 '$got4', v6 '$got6'"
[ "$got4" = "::ffff:127.0.0.1 ::ffff:127.0.0.1 80 10" ] || fail "IPv4 published connection: '$got4'"
[ "$got6" = "::1 ::1 80 10" ] || fail "IPv6 published connection: '$got6'"
pframes=$(tcpdump -nr "$WORK/pub.pcap" "tcp port 80" 2>/dev/null | wc -l)
[ "$pframes" -eq 0 ] || fail "$pframes frames of published connections went through the stack"
echo "splices: view to host and published ports served from host sockets"
