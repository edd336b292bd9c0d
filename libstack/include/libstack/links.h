// Concrete libstack::Link implementations and a URL factory.
//
//  * VdeLink        any libvdeplug URL (vde://, switch://, ptp://, hub://, tap://, vxvde://,
//                   cmd://, slirp://, ... or a bare vde_switch directory path).
//  * TapLink        a Linux tap (or tun) device opened directly through /dev/net/tun.
//  * InProcessHub   frames carried in memory between stacks of one process, with optional
//                   impairments (loss, delay, jitter, duplication, reordering, rate cap).
//  * PcapLink       wraps any Link and records every frame in a classic pcap file.
//  * make_link()    "tap:NAME" / "tun:NAME" -> TapLink, anything else -> VdeLink.
//
// All links are non-blocking: transmit() never waits, receive() returns 0 when idle.
// Errors while opening are reported as text (with errno and the URL) through `error`.
// See docs/links.md.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "libstack/link.h"
#include "libstack/types.h"

struct vdeconn;

namespace libstack {

inline constexpr size_t kEthernetHeaderLen = 14;
inline constexpr size_t kMaxLinkMtu = 65535;

// ---------------------------------------------------------------------------------------
// VdeLink: a libvdeplug connection.
class VdeLink final : public Link {
 public:
  // Opens `url` (passed to vde_open unchanged). `descr` appears in the switch port list.
  // Returns nullptr and sets *error ("vde_open(URL): strerror (errno N)") on failure.
  static std::unique_ptr<VdeLink> open(std::string_view url, size_t mtu, std::string* error,
                                       std::string_view descr = "libstack");
  ~VdeLink() override;
  VdeLink(const VdeLink&) = delete;
  VdeLink& operator=(const VdeLink&) = delete;

  LinkKind kind() const override { return LinkKind::Ethernet; }
  size_t mtu() const override { return mtu_; }
  void set_mtu(size_t mtu) { mtu_ = mtu; }
  bool transmit(std::span<const uint8_t> frame, Instant now) override;
  size_t receive(std::span<uint8_t> buf, Instant now) override;
  int wait_fd() const override { return data_fd_; }
  // While frames wait in the transmit queue: a retry time shortly after the last call.
  Instant next_rx_time() const override;
  uint64_t dropped() const override { return dropped_; }
  const std::string& url() const { return url_; }
  size_t tx_queued() const { return txq_.size(); }

  // Frames kept (in order) while the switch cannot take more; beyond this they drop.
  static constexpr size_t kTxQueueFrames = 512;
  static constexpr Duration kTxRetry = std::chrono::microseconds(200);
  // A queue that made no progress for this long is dropped (a stuck switch must not keep
  // the stack polling every kTxRetry for ever).
  static constexpr Duration kTxStall = std::chrono::milliseconds(100);

 private:
  VdeLink(vdeconn* conn, std::string url, size_t mtu);
  void flush();  // send queued frames until the socket would block
  vdeconn* conn_;
  std::string url_;
  size_t mtu_;
  int data_fd_;
  uint64_t dropped_ = 0;
  std::vector<uint8_t> scratch_;
  std::deque<std::vector<uint8_t>> txq_;   // frames the switch could not take yet
  std::vector<std::vector<uint8_t>> spare_;  // recycled frame buffers
  Instant last_{0};
  Instant progress_{0};  // last time the queue was empty or a queued frame left
};

// ---------------------------------------------------------------------------------------
// TapLink: /dev/net/tun with IFF_TAP|IFF_NO_PI (or IFF_TUN|IFF_NO_PI for an IP link).
class TapLink final : public Link {
 public:
  // Attaches to (or creates) interface `name`. Needs CAP_NET_ADMIN unless the device is
  // persistent and owned by the caller; the error text says so on EPERM.
  // `offload` (tap only): open with IFF_VNET_HDR so that TCP checksums and segmentation
  // of 64 KiB super-segments are left to the kernel (falls back to plain frames if the
  // kernel refuses).
  static std::unique_ptr<TapLink> open(std::string_view name, size_t mtu, std::string* error,
                                       bool tun = false, bool offload = false);
  ~TapLink() override;
  TapLink(const TapLink&) = delete;
  TapLink& operator=(const TapLink&) = delete;

  LinkKind kind() const override { return tun_ ? LinkKind::Ip : LinkKind::Ethernet; }
  size_t mtu() const override { return mtu_; }
  void set_mtu(size_t mtu) { mtu_ = mtu; }
  bool transmit(std::span<const uint8_t> frame, Instant now) override;
  size_t receive(std::span<uint8_t> buf, Instant now) override;
  int wait_fd() const override { return fd_; }
  uint64_t dropped() const override { return dropped_; }
  uint32_t offloads() const override;
  bool transmit_offload(std::span<const uint8_t> frame, const TxOffload& o, Instant now) override;
  const std::string& name() const { return name_; }
  bool vnet_hdr() const { return vnet_; }

 private:
  TapLink(int fd, std::string name, size_t mtu, bool tun, bool vnet);
  bool write_frame(std::span<const uint8_t> frame, const TxOffload* o);
  int fd_;
  std::string name_;
  size_t mtu_;
  bool tun_;
  bool vnet_;  // every read/write starts with a struct virtio_net_hdr
  uint64_t dropped_ = 0;
  std::vector<uint8_t> scratch_;
};

// ---------------------------------------------------------------------------------------
// In-process links. A hub joins any number of ports; a frame sent by one port is offered to
// every other port (hub mode) or, in switch mode, only to the port that last sent from the
// destination MAC (unknown/multicast destinations flood). make_pair() is the common case.
struct Impairments {
  double loss = 0.0;        // probability a frame is dropped
  double duplicate = 0.0;   // probability a frame is delivered twice
  double reorder = 0.0;     // probability a frame is held back by reorder_delay extra
  Duration delay{0};        // fixed one-way latency
  Duration jitter{0};       // extra latency, uniform in [0, jitter)
  Duration reorder_delay = std::chrono::milliseconds(1);
  uint64_t rate_bps = 0;    // sender serialisation rate cap (bits/s), 0 = unlimited
};

struct InProcessOptions {
  LinkKind kind = LinkKind::Ethernet;
  size_t mtu = 1500;          // up to kMaxLinkMtu
  size_t queue_limit = 1024;  // frames waiting per receiving port; beyond: dropped
  bool learning_switch = false;  // Ethernet only: forward by learnt MAC instead of flooding
  // Ports advertise link_offload::kTrustedChecksum: stacks on this hub skip computing and
  // verifying TCP checksums (faster bulk transfers). Only for hubs whose ports are all
  // libstack Stacks; leave it off when a test injects hand-made frames with bad checksums.
  bool trusted_checksum = false;
  Impairments impairments;
};

struct InProcessStats {
  uint64_t sent = 0;        // frames accepted by transmit()
  uint64_t delivered = 0;   // frames handed out by receive()
  uint64_t lost = 0;        // dropped by the loss impairment (per destination)
  uint64_t duplicated = 0;  // extra copies made
  uint64_t reordered = 0;   // frames held back
  uint64_t queue_drops = 0; // destination queue full
  uint64_t oversize = 0;    // frame longer than mtu (+header) or than the receive buffer
};

class InProcessHub : public std::enable_shared_from_this<InProcessHub> {
 public:
  // `rng` drives the impairments; it may be null when all probabilities and jitter are 0.
  static std::shared_ptr<InProcessHub> create(InProcessOptions opts,
                                              std::shared_ptr<Random> rng = nullptr);
  // Two connected links.
  static std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> make_pair(
      InProcessOptions opts = {}, std::shared_ptr<Random> rng = nullptr);

  std::unique_ptr<Link> add_port();
  InProcessStats stats() const;
  void set_impairments(const Impairments& imp);

  // Implementation detail, public for the port class.
  struct Frame {
    Instant ready;
    uint64_t seq;
    std::vector<uint8_t> bytes;  // the frame is bytes[0, len); big frames use pooled buffers
    size_t len = 0;
  };
  struct PortState;
  bool transmit_from(size_t port, std::span<const uint8_t> frame, Instant now);
  size_t receive_at(size_t port, std::span<uint8_t> buf, Instant now);
  size_t receive_swap_at(size_t port, std::vector<uint8_t>& buf, Instant now);
  Instant next_rx_time(size_t port) const;
  uint64_t dropped_at(size_t port) const;
  void set_notify(size_t port, std::function<void()> cb);
  void detach(size_t port);
  const InProcessOptions& options() const { return opts_; }

  InProcessHub(InProcessOptions opts, std::shared_ptr<Random> rng);
  ~InProcessHub();

 private:
  double uniform();  // [0,1), needs rng_
  void enqueue(size_t dst, std::span<const uint8_t> frame, Instant ready);
  mutable std::mutex mu_;
  InProcessOptions opts_;
  std::shared_ptr<Random> rng_;
  std::vector<std::unique_ptr<PortState>> ports_;
  InProcessStats stats_;
  std::map<MacAddr, size_t> learned_;
  uint64_t seq_ = 0;
  // Recycled frame buffers of pool_buf_size() bytes: big frames are copied into one on
  // transmit and handed to the receiving stack by receive_swap (which returns its old
  // buffer), so bulk traffic neither allocates nor copies a second time.
  std::vector<std::vector<uint8_t>> pool_;
  size_t pool_buf_size() const;
};

// ---------------------------------------------------------------------------------------
// PcapLink: records every transmitted and received frame of `inner`.
class PcapLink final : public Link {
 public:
  // Creates/truncates `path`. LINKTYPE_ETHERNET for Ethernet links, LINKTYPE_RAW for IP.
  // Record timestamps are the Instants passed in plus `wall_offset`: the caller's
  // "Unix time minus its clock" (0 keeps the caller's clock, e.g. a test's manual one).
  static std::unique_ptr<PcapLink> open(std::unique_ptr<Link> inner, const std::string& path,
                                        std::string* error, Duration wall_offset = Duration(0));
  ~PcapLink() override;

  LinkKind kind() const override { return inner_->kind(); }
  size_t mtu() const override { return inner_->mtu(); }
  bool transmit(std::span<const uint8_t> frame, Instant now) override;
  size_t receive(std::span<uint8_t> buf, Instant now) override;
  int wait_fd() const override { return inner_->wait_fd(); }
  void set_rx_notify(std::function<void()> cb) override { inner_->set_rx_notify(std::move(cb)); }
  Instant next_rx_time() const override { return inner_->next_rx_time(); }
  uint64_t dropped() const override { return inner_->dropped(); }
  // As the inner link (records show uncomputed TCP checksums on a trusted link).
  uint32_t offloads() const override { return inner_->offloads(); }
  bool transmit_offload(std::span<const uint8_t> frame, const TxOffload& o, Instant now) override;
  uint64_t records() const { return records_; }
  Link& inner() { return *inner_; }

 private:
  PcapLink(std::unique_ptr<Link> inner, std::FILE* f, Duration wall_offset);
  void record(std::span<const uint8_t> frame, Instant now);
  std::unique_ptr<Link> inner_;
  std::FILE* file_;
  Duration wall_offset_;
  uint64_t records_ = 0;
};

// ---------------------------------------------------------------------------------------
// Factory.
struct LinkOptions {
  size_t mtu = 1500;
  std::string descr = "libstack";  // VDE port description
  std::string pcap_path;           // non-empty: wrap the link in a PcapLink writing here
  Duration pcap_wall_offset{0};    // its timestamps: Instant + this (see PcapLink::open)
  bool tap_offload = true;         // tap:NAME with IFF_VNET_HDR (TSO + checksum offload)
};

// URL forms:
//   tap:NAME        kernel tap device NAME through /dev/net/tun (TapLink, Ethernet)
//   tun:NAME        kernel tun device NAME (TapLink, IP link)
//   SCHEME://...    passed to libvdeplug (vde://, switch://, ptp://, hub://, tap://NAME,
//                   vxvde://, udp://, cmd://, slirp://, ...)
//   /path           a vde_switch control directory (libvdeplug's default vde:// plugin)
// Returns nullptr with a message in *error on parse or open failure.
// System calls (x86_64 numbers) that a link of this URL may make after it is open, beyond
// reading, writing and polling its fds: for a process that sandboxes itself (the
// threadnet supervisor). The vdeplug4 switch://, hub:// and ptp:// plugins remove their
// socket files and directory when they close.
std::vector<int> link_runtime_syscalls(std::string_view url);

// *sys_errno (optional) gets the errno of a failed open (0 for a bad URL), so a caller
// can give a hint ("no switch at PATH: start one") rather than parse the text.
std::unique_ptr<Link> make_link(std::string_view url, const LinkOptions& opts,
                                std::string* error, int* sys_errno = nullptr);

}  // namespace libstack
