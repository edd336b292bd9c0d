// Fragment reassembly for IPv4 (RFC 791 §3.2, RFC 815 hole logic simplified) and IPv6
// (RFC 8200 §4.5).
//
// Each partial datagram keeps its fragments as separate buffers. Limits: total bytes
// across all partial datagrams (Tuning::reasm_mem_limit), number of partial datagrams,
// fragments per datagram, a timeout per datagram, and the 65535-byte datagram size.
// Overlapping fragments discard the whole datagram (RFC 5722 for IPv6; we apply the same
// rule to IPv4, which defeats overlap-based evasion). Exact duplicates are ignored.
#include <algorithm>

#include "stack_impl.h"

namespace libstack {

void StackImpl::drop_reasm(size_t idx) {
  reasm_bytes -= reasm[idx].bytes;
  reasm.erase(reasm.begin() + long(idx));
}

std::optional<std::vector<uint8_t>> StackImpl::reassemble(
    bool v6, const IpAddr& src, const IpAddr& dst, uint32_t ident, uint8_t proto, uint32_t off,
    bool more, std::span<const uint8_t> data, std::span<const uint8_t> header, uint32_t ifindex) {
  size_t idx = reasm.size();
  for (size_t k = 0; k < reasm.size(); ++k) {
    auto& r = reasm[k];
    if (r.v6 == v6 && r.src == src && r.dst == dst && r.ident == ident && (v6 || r.proto == proto)) {
      idx = k;
      break;
    }
  }
  if (idx == reasm.size()) {
    if (reasm.size() >= tuning.reasm_max_datagrams) {
      ++ctr.reasm_overflow;
      drop_reasm(0);  // oldest
      idx = reasm.size();
    }
    Reasm r;
    r.v6 = v6;
    r.src = src;
    r.dst = dst;
    r.ident = ident;
    r.proto = proto;
    r.ifindex = ifindex;
    r.deadline = now + (v6 ? tuning.reasm_timeout_v6 : tuning.reasm_timeout_v4);
    reasm.push_back(std::move(r));
  }
  Reasm& r = reasm[idx];
  uint32_t end = off + uint32_t(data.size());
  if (end > (v6 ? 65535u : 65535u - 20)) {
    ++ctr.reasm_oversize;
    drop_reasm(idx);
    return std::nullopt;
  }
  if (data.empty() || (more && data.size() % 8 != 0) || (r.total && end > r.total) ||
      (!more && r.total && end != r.total)) {
    ++ctr.reasm_bad_length;
    drop_reasm(idx);
    return std::nullopt;
  }
  if (!more) {
    for (auto& f : r.frags)
      if (f.off + f.data.size() > end) {
        ++ctr.reasm_bad_length;
        drop_reasm(idx);
        return std::nullopt;
      }
  }
  for (auto& f : r.frags) {
    uint32_t fend = f.off + uint32_t(f.data.size());
    if (off < fend && f.off < end) {
      if (f.off == off && fend == end && std::equal(data.begin(), data.end(), f.data.begin()))
        return std::nullopt;  // exact duplicate (e.g. retransmitted by a duplicating link)
      ++ctr.reasm_overlap;
      drop_reasm(idx);
      return std::nullopt;
    }
  }
  if (r.frags.size() >= tuning.reasm_max_fragments || reasm_bytes + data.size() > tuning.reasm_mem_limit) {
    ++ctr.reasm_overflow;
    drop_reasm(idx);
    return std::nullopt;
  }
  r.frags.push_back({off, std::vector<uint8_t>(data.begin(), data.end())});
  r.bytes += data.size();
  reasm_bytes += data.size();
  if (!more) r.total = end;
  if (off == 0) {
    if (v6) r.proto = proto;
    r.first_header.assign(header.begin(), header.end());
  }
  if (!r.total || r.bytes != r.total) return std::nullopt;
  // No overlaps and bytes == total => the fragments tile [0, total).
  std::sort(r.frags.begin(), r.frags.end(), [](auto& a, auto& b) { return a.off < b.off; });
  std::vector<uint8_t> out;
  out.reserve(r.total);
  for (auto& f : r.frags) out.insert(out.end(), f.data.begin(), f.data.end());
  drop_reasm(idx);
  return out;
}

void StackImpl::reasm_timers() {
  for (size_t k = 0; k < reasm.size();) {
    if (reasm[k].deadline > now) { ++k; continue; }
    ++ctr.reasm_timeout;
    Reasm& r = reasm[k];
    // RFC 792 / RFC 8200 §4.5: time exceeded (code 1) only if the first fragment arrived.
    if (!r.first_header.empty()) {
      std::vector<uint8_t> quote = r.first_header;
      icmp_error(r.v6, r.v6 ? wire::icmp6::kTimeExceeded : wire::icmp4::kTimeExceeded, 1, 0, quote,
                 r.ifindex);
    }
    drop_reasm(k);
  }
}

}  // namespace libstack
