# Kernel-side TCP sink: listens, accepts one connection, checks every received byte against
# the repeating pattern file, writes "OK <bytes>" or "BAD <offset>" to the result file.
import socket, sys
port, total, pat, res = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], 'rb').read(), sys.argv[4]
L = len(pat); pp = pat + pat
addr = sys.argv[5] if len(sys.argv) > 5 else '0.0.0.0'  # optional bind address (v4 or v6)
ls = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port)); ls.listen(1); ls.settimeout(60)
open(res + '.ready', 'w').close()
c, _ = ls.accept(); c.settimeout(60)
# tcpi_options (byte 5 of struct tcp_info): 1 timestamps, 2 SACK, 4 window scaling
open(res + '.opts', 'w').write(str(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5]))
got = 0; bad = -1; buf = bytearray(1 << 16)
while True:
    n = c.recv_into(buf)
    if n == 0: break
    o = got % L
    if bad < 0 and pp[o:o + n] != buf[:n]: bad = got
    got += n
c.close()
open(res, 'w').write(('OK %d' % got) if bad < 0 and got == total else ('BAD %d got %d' % (bad, got)))
