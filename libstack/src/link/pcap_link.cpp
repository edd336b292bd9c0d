// PcapLink: records the frames of another link in a classic libpcap file.
//
// Theory of operation: the file starts with the 24-byte global header (magic a1b2c3d4 in
// host byte order -> microsecond timestamps, version 2.4, snaplen 262144, LINKTYPE_ETHERNET
// (1) or LINKTYPE_RAW (101) after the inner link's kind). Each frame that the inner link
// accepted for transmission, and each frame it handed out on receive, becomes one 16-byte
// record header (ts_sec, ts_usec from the Instant passed in, caplen, origlen) plus the
// bytes. The stream is flushed after each record so a live `tcpdump -r`/Wireshark sees it.
// Instants are relative to the caller's epoch; the caller passes the offset that makes
// them Unix time (libstack reads no clock itself), so a capture is dated as it happened.
#include <cerrno>
#include <cstring>

#include "libstack/links.h"

namespace libstack {

namespace {
struct PcapGlobalHeader {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t thiszone;
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t network;
};
struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_usec;
  uint32_t incl_len;
  uint32_t orig_len;
};
static_assert(sizeof(PcapGlobalHeader) == 24 && sizeof(PcapRecordHeader) == 16);
constexpr uint32_t kSnapLen = 262144;
}  // namespace

std::unique_ptr<PcapLink> PcapLink::open(std::unique_ptr<Link> inner, const std::string& path,
                                         std::string* error, Duration wall_offset) {
  if (!inner) {
    if (error) *error = "pcap: no inner link";
    return nullptr;
  }
  std::FILE* f = std::fopen(path.c_str(), "wbe");
  if (f == nullptr) {
    int e = errno;
    if (error)
      *error = "cannot create the capture file " + path + ": " + std::strerror(e);
    errno = e;  // for callers that say it their own way
    return nullptr;
  }
  PcapGlobalHeader h{0xa1b2c3d4u, 2, 4, 0, 0, kSnapLen,
                     inner->kind() == LinkKind::Ethernet ? 1u : 101u};
  if (std::fwrite(&h, sizeof h, 1, f) != 1 || std::fflush(f) != 0) {
    int e = errno;
    std::fclose(f);
    if (error) *error = "cannot write the capture file " + path + ": " + std::strerror(e);
    return nullptr;
  }
  return std::unique_ptr<PcapLink>(new PcapLink(std::move(inner), f, wall_offset));
}

PcapLink::PcapLink(std::unique_ptr<Link> inner, std::FILE* f, Duration wall_offset)
    : inner_(std::move(inner)), file_(f), wall_offset_(wall_offset) {}

PcapLink::~PcapLink() { std::fclose(file_); }

void PcapLink::record(std::span<const uint8_t> frame, Instant now) {
  int64_t ns = (now + wall_offset_).count();
  if (ns < 0) ns = 0;
  uint32_t caplen = static_cast<uint32_t>(std::min<size_t>(frame.size(), kSnapLen));
  PcapRecordHeader r{static_cast<uint32_t>(ns / 1'000'000'000),
                     static_cast<uint32_t>((ns % 1'000'000'000) / 1000), caplen,
                     static_cast<uint32_t>(frame.size())};
  std::fwrite(&r, sizeof r, 1, file_);
  std::fwrite(frame.data(), 1, caplen, file_);
  std::fflush(file_);
  ++records_;
}

bool PcapLink::transmit(std::span<const uint8_t> frame, Instant now) {
  bool ok = inner_->transmit(frame, now);
  if (ok) record(frame, now);
  return ok;
}

bool PcapLink::transmit_offload(std::span<const uint8_t> frame, const TxOffload& o, Instant now) {
  bool ok = inner_->transmit_offload(frame, o, now);
  if (ok) record(frame, now);  // as the sender built it (partial checksum, super-segment)
  return ok;
}

size_t PcapLink::receive(std::span<uint8_t> buf, Instant now) {
  size_t n = inner_->receive(buf, now);
  if (n > 0) record(buf.first(n), now);
  return n;
}

}  // namespace libstack
