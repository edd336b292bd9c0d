#!/usr/bin/env python3
"""Seeds for ntk_fuzz: one message of each type in the Netsukuku wire format, version 2
(header with level-1 gnodes and gnode seq, echoes with the gnode tag and the round's
starter, hook replies with the gnode tag, ext entries with seq, tag, starter and size)
(modules/netsukuku/wire.h), as a router sends them. Run from tests/fuzz/."""
import os
import struct

def header(t, body, src=0x0102030405060708, dst=0, addr=0x0a010203, gsize=3, l1=2, gseq=5, flags=0):
    return b"NK" + struct.pack(">BBBBH QQ IHH", 2, t, flags, l1, len(body), src, dst, addr, gsize, gseq) + body

def hop(pos, tag, rtt):
    return struct.pack(">BII", pos, tag, rtt)

seeds = {
    "echo": header(1, struct.pack(">IQIB", 0x0100, 1_000_000_000, 0x5eed0001, 4)),
    "echo_reply": header(2, struct.pack(">IQIB", 0x0100, 1_000_000_000, 0x5eed0001, 4), dst=7),
    "hook_request": header(3, b""),
    "hook_reply": header(4, struct.pack(">II", 1500, 4) + bytes([0xfe] + [0xff] * 30 + [0x7f]) + bytes([0x02] + [0] * 31) + struct.pack(">I", 0x5eed0001)),
    "ext_map": header(8, struct.pack(">BH", 1, 2) + struct.pack(">BHIIBB", 8, 5, 0x5eed0002, 2500, 3, 40)
                      + struct.pack(">BHIIBB", 9, 4, 0x5eed0003, 0xffffffff, 0, 0), addr=0x0a010903),
    # an entry for the receiver's own gnode id with another tag (the duplicate-id path)
    "ext_map_own_id": header(8, struct.pack(">BH", 1, 1) + struct.pack(">BHIIBB", 2, 5, 0xfffffff0, 900, 7, 12),
                             addr=0x0a010903),
    # our own id and tag with a newer round (the split-gnode path)
    "ext_map_split": header(8, struct.pack(">BH", 1, 1) + struct.pack(">BHIIBB", 2, 9, 0x5eed0001, 900, 7, 12),
                            addr=0x0a010903),
    # flags: bit 0 busy (a refusal: the sender's map is not complete), bit 1 whole map
    "hook_reply_busy": header(4, struct.pack(">II", 1500, 4) + bytes(64) + struct.pack(">I", 0x5eed0001), flags=1),
    "map_reply_whole": header(6, struct.pack(">IH", 5, 1) + hop(4, 0xaabb, 3000), flags=2),
    "map_request": header(5, b""),
    "map_reply": header(6, struct.pack(">IH", 5, 2) + hop(4, 0xaabb, 3000) + hop(9, 0xccdd, 9000)),
    "tracer_close": header(7, struct.pack(">BBIBIB", 1, 0, 5, 0, 0, 2) + hop(3, 0x11, 0) + hop(8, 0x22, 4000)),
    "tracer_close_change": header(7, struct.pack(">BBIBIB", 1, 1, 6, 0, 0, 2) + hop(3, 0x11, 0) + hop(8, 0x22, 4000)),
    "tracer_open": header(7, struct.pack(">BBIBIB", 2, 0, 5, 3, 0, 1) + hop(3, 0x11, 0)),
    "tracer_plain": header(7, struct.pack(">BBIBIB", 0, 0, 5, 0, 1, 1) + hop(6, 0x33, 0)),
}
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "ntk_fuzz")
os.makedirs(d, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
