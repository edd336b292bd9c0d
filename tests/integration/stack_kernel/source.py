# Kernel-side TCP source: connects to the stack, sends `total` bytes of the repeating
# pattern, half-closes, waits for the peer's EOF, writes "SENT <bytes>".
import socket, sys, time
host, port, total, pat, res = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), open(sys.argv[4], 'rb').read(), sys.argv[5]
L = len(pat); pp = pat + pat
s = None
for i in range(100):
    try:
        s = socket.create_connection((host, port), timeout=60); break
    except OSError:
        time.sleep(0.05)
# tcpi_options (byte 5 of struct tcp_info): 1 timestamps, 2 SACK, 4 window scaling
open(res + '.opts', 'w').write(str(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5]))
sent = 0
while sent < total:
    o = sent % L; n = min(L, total - sent)
    s.sendall(pp[o:o + n]); sent += n
s.shutdown(socket.SHUT_WR)
while s.recv(4096): pass
s.close()
open(res, 'w').write('SENT %d' % sent)
