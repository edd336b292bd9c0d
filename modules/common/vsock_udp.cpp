// vsock: datagrams to and from the program, and the messages it sends.
// The theory of operation is at the top of vsock.cpp; the shared state in vsock_impl.h.
#include "vsock_impl.h"

namespace tn::vsock {

// net.core.optmem_max: sendmsg control data beyond it is ENOBUFS.
size_t read_optmem_max() {
  size_t v = 20480;  // Linux's default before 6.9
  if (FILE *f = fopen("/proc/sys/net/core/optmem_max", "re")) {
    unsigned long x = 0;
    if (fscanf(f, "%lu", &x) == 1 && x > 0) v = x;
    fclose(f);
  }
  return v;
}

// ---- UDP ----------------------------------------------------------------------------

void Engine::Impl::udp_push(VSock &v) {
  if (v.sup < 0) return;
  if (v.inflight) {
    int q = 0;
    if (ioctl(v.sup, SIOCOUTQ, &q) < 0 || q > 0) return;
    v.inflight = false;
  }
  for (int i = 0; i < 16 && !v.inflight; ++i) {
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    ssize_t n;
    {
      FarCall fc(this);
      n = v.far ? v.far->recvfrom(scratch.data(), kMaxDgram, &ss, &sl) : -EBADF;
    }
    if (n < 0) {
      if (n == -EAGAIN || n == -EINTR || n == -EBADF) return;
      v.pending_err = int(-n);  // ICMP error on a connected socket
      continue;
    }
    v.prov->map_name(&ss, sl, true, v.tag);
    if (send(v.sup, scratch.data(), size_t(n), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) continue;
    v.inflight = true;
    v.in_addr = ss;
    v.in_len = sl;
  }
}

ssize_t Engine::Impl::far_send(VSock &v, const void *p, size_t n) {
  FarCall fc(this);
  return v.far ? v.far->send(p, n) : -EBADF;
}

void Engine::Impl::udp_pull(VSock &v) {
  for (int i = 0; i < 64 && v.sup >= 0; ++i) {
    if (v.out_has) {
      ssize_t w = far_send(v, v.out_dgram.data(), v.out_dgram.size());
      if (w == -EAGAIN) return;
      v.out_has = false;
      v.out_dgram.clear();
    }
    ssize_t n = recv(v.sup, scratch.data(), kMaxDgram, MSG_DONTWAIT);
    if (n < 0) return;
    if (n == 0) {  // an empty datagram, or the end: the end shows as HUP
      pollfd p{v.sup, POLLIN, 0};
      if (v.sup_hup || (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))) {
        v.sup_hup = true;
        return;
      }
    }
    ssize_t w = far_send(v, scratch.data(), size_t(n));
    if (w == -EAGAIN) {
      v.out_dgram.assign(scratch.data(), scratch.data() + n);
      v.out_has = true;
      return;
    }
  }
}

// One datagram for the tracee: data scattered into `iov` (tracee addresses). Returns the
// recv result (>= 0) or -errno; -TN_ECANCELED when the call went away. *from / *from_len
// / *mflags describe it. A datagram whose copy faults is consumed, as in the kernel.
long Engine::Impl::recv_one(const tn_call *c, VSock &v, int d, const std::vector<iovec> &iov,
                            int flags, bool nonblock, uint64_t dl, sockaddr_storage *from,
                            socklen_t *from_len, int *mflags) {
  size_t want = 0;
  for (auto &x : iov) want += x.iov_len;
  std::vector<char> buf(std::min(want, kMaxDgram));
  ssize_t n;
  for (;;) {
    if (v.pending_err && !(flags & MSG_PEEK)) {
      int e = v.pending_err;
      v.pending_err = 0;
      return -e;
    }
    iovec one{buf.data(), buf.size()};
    msghdr m{};
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    n = recvmsg(d, &m, (flags & (MSG_PEEK | MSG_TRUNC)) | MSG_DONTWAIT);
    *mflags = m.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
    if (n >= 0) break;
    int e = errno;
    if (e != EAGAIN || nonblock) return -e;
    int rc = h->wait_fd(hv, c, d, EPOLLIN, dl);
    if (rc == -TN_ECANCELED) return rc;
    if (rc == 0) return -EAGAIN;
    // The supervisor notices a signal's cancellation only by polling: a call that went
    // away must not take the datagram meant for the next one.
    if (!h->call_valid(hv, c)) return -TN_ECANCELED;
  }
  *from = v.in_addr;
  *from_len = v.inflight ? v.in_len : 0;
  bool consumed = !(flags & MSG_PEEK);
  if (consumed) v.inflight = false;
  size_t got = std::min(size_t(n), buf.size());
  size_t off = 0;
  long rc = long(n);
  for (auto &x : iov) {
    if (off >= got) break;
    size_t k = std::min(x.iov_len, got - off);
    if (k && h->write_mem(hv, c, uint64_t(uintptr_t(x.iov_base)), buf.data() + off, k) < 0) {
      rc = -EFAULT;
      break;
    }
    off += k;
  }
  if (consumed) udp_push(v);  // the next datagram (and its address) in
  return rc;
}

// The kernel's import of a msghdr's iovec array: EMSGSIZE past UIO_MAXIOV, EFAULT for an
// unreadable array or a range outside user space, EINVAL for a negative length; lengths
// are cut to MAX_RW_COUNT in all. 0 or errno.
int Engine::Impl::read_iov(const tn_call *c, const msghdr &mh, std::vector<iovec> *iov) {
  if (mh.msg_iovlen > kMaxIov) return EMSGSIZE;
  iov->resize(mh.msg_iovlen);
  if (!iov->empty()) {
    int rc = h->read_mem(hv, c, uint64_t(uintptr_t(mh.msg_iov)), iov->data(),
                         iov->size() * sizeof(iovec));
    if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  }
  for (auto &x : *iov)
    if (ssize_t(x.iov_len) < 0) return EINVAL;
  size_t total = 0;
  for (auto &x : *iov) {
    uint64_t base = uint64_t(uintptr_t(x.iov_base));
    if (x.iov_len > kUserTop || base > kUserTop - x.iov_len) return EFAULT;
    if (x.iov_len > kMaxRw - total) x.iov_len = kMaxRw - total;
    total += x.iov_len;
  }
  return 0;
}

// The kernel's move_addr_to_user for an address and its length argument: the length read
// (EFAULT), cut to the address's, negative: EINVAL; then the address and its real length.
int Engine::Impl::put_addr(const tn_call *c, uint64_t addr, uint64_t lenp,
                           const sockaddr_storage &ss, socklen_t klen) {
  int ulen = 0;
  if (int rc = h->read_mem(hv, c, lenp, &ulen, sizeof ulen); rc < 0)
    return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  if (ulen > int(klen)) ulen = int(klen);
  if (ulen < 0) return EINVAL;
  int outlen = int(klen);
  return write2(c, addr, &ss, size_t(ulen), lenp, &outlen, sizeof outlen) < 0 ? EFAULT : 0;
}

// After a datagram: msg_namelen, msg_flags and msg_controllen (no ancillary data) of the
// program's msghdr at `at`, the address first.
int Engine::Impl::put_msg(const tn_call *c, uint64_t at, const msghdr &mh,
                          const sockaddr_storage &from, socklen_t from_len, int mflags) {
  socklen_t k = mh.msg_name ? std::min<socklen_t>(mh.msg_namelen, from_len) : 0;
  if (k && h->write_mem(hv, c, uint64_t(uintptr_t(mh.msg_name)), &from, k) < 0) return EFAULT;
  socklen_t nl = mh.msg_name ? from_len : 0;
  size_t cl = 0;
  int fl = mflags;
  tn_memv w[3] = {{at + offsetof(msghdr, msg_namelen), &nl, sizeof nl},
                  {at + offsetof(msghdr, msg_controllen), &cl, sizeof cl},
                  {at + offsetof(msghdr, msg_flags), &fl, sizeof fl}};
  if (fast_host) return h->write_memv(hv, c, w, 3) < 0 ? EFAULT : 0;
  for (auto &x : w)
    if (h->write_mem(hv, c, x.addr, x.buf, x.len) < 0) return EFAULT;
  return 0;
}

// recvmmsg's timeout: read (EFAULT) and checked (EINVAL) like the kernel, then not used.
int Engine::Impl::check_timeout(const tn_call *c, uint64_t at) {
  if (!at) return 0;
  timespec ts{};
  if (int rc = h->read_mem(hv, c, at, &ts, sizeof ts); rc < 0)
    return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  return ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000L ? EINVAL : 0;
}

// recvfrom/recvmsg/recvmmsg with an address on a virtual UDP socket.
void Engine::Impl::do_udp_recv(const tn_call *c, VPtr vp, int kind /* 0 from, 1 msg, 2 mmsg */) {
  VSock &v = *vp;
  int fd = int(c->args[0]);
  int flags = int(kind == 0 ? c->args[3] : c->args[kind == 1 ? 2 : 3]);
  if (kind == 2) {
    if (int e = check_timeout(c, c->args[4])) {
      if (e != TN_ECANCELED) reply(c, 0, e);
      return;
    }
  }
  int d = dup_of(c, fd);
  if (d < 0) {
    reply(c, 0, -d);
    return;
  }
  bool nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) || (flags & MSG_DONTWAIT);
  uint64_t dl = deadline(v.rcvtimeo_ns);
  auto finish = [&](int64_t val, int err) {
    close(d);
    if (err != TN_ECANCELED) reply(c, val, err);
  };
  sockaddr_storage from{};
  socklen_t from_len = 0;
  int mflags = 0;
  if (kind == 0) {
    std::vector<iovec> iov{{reinterpret_cast<void *>(uintptr_t(c->args[1])),
                            std::min<size_t>(size_t(c->args[2]), kMaxRw)}};
    long n = recv_one(c, v, d, iov, flags, nonblock, dl, &from, &from_len, &mflags);
    if (n < 0) return finish(0, int(-n));
    if (int e = put_addr(c, c->args[4], c->args[5], from, from_len)) return finish(0, e);
    return finish(n, 0);
  }
  if (kind == 1) {
    msghdr mh{};
    std::vector<iovec> iov;
    if (h->read_mem(hv, c, c->args[1], &mh, sizeof mh) < 0) return finish(0, EFAULT);
    if (mh.msg_name && int(mh.msg_namelen) < 0) return finish(0, EINVAL);
    if (int e = read_iov(c, mh, &iov)) return finish(0, e);
    long n = recv_one(c, v, d, iov, flags, nonblock, dl, &from, &from_len, &mflags);
    if (n < 0) return finish(0, int(-n));
    if (int e = put_msg(c, c->args[1], mh, from, from_len, mflags)) return finish(0, e);
    return finish(n, 0);
  }
  // recvmmsg: like the kernel, block for every message unless MSG_WAITFORONE (then only
  // for the first); an error after some messages returns the count. (The timeout is not
  // honoured.)
  size_t vlen = std::min<size_t>(size_t(c->args[2]), kMaxIov);
  std::vector<mmsghdr> mm(vlen);
  if (vlen && h->read_mem(hv, c, c->args[1], mm.data(), vlen * sizeof(mmsghdr)) < 0)
    return finish(0, EFAULT);
  size_t done = 0;
  for (; done < vlen; ++done) {
    msghdr &mh = mm[done].msg_hdr;
    std::vector<iovec> iov;
    int e = mh.msg_name && int(mh.msg_namelen) < 0 ? EINVAL : read_iov(c, mh, &iov);
    if (e) {
      if (done || e == TN_ECANCELED) break;
      return finish(0, e);
    }
    bool nb = nonblock || (done > 0 && (flags & MSG_WAITFORONE));
    long n = recv_one(c, v, d, iov, flags & ~MSG_WAITFORONE, nb, dl, &from, &from_len,
                      &mflags);
    if (n == -TN_ECANCELED) return finish(0, TN_ECANCELED);
    if (n < 0) {
      if (done) break;
      return finish(0, int(-n));
    }
    uint64_t at = c->args[1] + done * sizeof(mmsghdr);
    if ((e = put_msg(c, at, mh, from, from_len, mflags))) return finish(0, e);
    unsigned ml = unsigned(n);
    if (h->write_mem(hv, c, at + offsetof(mmsghdr, msg_len), &ml, sizeof ml) < 0)
      return finish(0, EFAULT);
  }
  finish(int64_t(done), 0);
}

// ---- a message from the program on its way out ---------------------------------------

// Address argument like move_addr_to_kernel: 0 or errno.
int Engine::Impl::read_name(const tn_call *c, uint64_t addr, int len, std::vector<char> *out) {
  if (len < 0 || size_t(len) > sizeof(sockaddr_storage)) return EINVAL;
  out->resize(size_t(len));
  if (len) {
    int rc = h->read_mem(hv, c, addr, out->data(), out->size());
    if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  }
  return 0;
}

// The data of `iov` for a datagram: readable prefix against the guard of dgrambuf.
int Engine::Impl::gather_dgram(const tn_call *c, const std::vector<iovec> &iov, OutMsg *m) {
  size_t total = 0;
  for (auto &x : iov) total += x.iov_len;
  size_t cap = std::min(total, dgrambuf.size());
  // Read in place, ending at the guard; only a fault moves the readable prefix up to it.
  char *base = dgrambuf.end() - cap;
  size_t off = 0;
  for (auto &x : iov) {
    if (off >= cap) break;
    size_t k = std::min(x.iov_len, cap - off);
    long got = copy_prefix(h, c, uint64_t(uintptr_t(x.iov_base)), k, base + off);
    if (got < 0) return TN_ECANCELED;
    off += size_t(got);
    if (size_t(got) < k) break;
  }
  if (off < cap && off) memmove(dgrambuf.end() - off, base, off);
  m->data = dgrambuf.end() - off;
  m->len = total;
  m->avail = off;
  return 0;
}

int Engine::Impl::gather_stream(const tn_call *c, const std::vector<iovec> &iov, OutMsg *m) {
  size_t total = 0;
  for (auto &x : iov) total += x.iov_len;
  total = std::min(total, kScratch);
  m->stream.resize(total);
  size_t off = 0;
  for (auto &x : iov) {
    size_t k = std::min(x.iov_len, total - off);
    if (k && h->read_mem(hv, c, uint64_t(uintptr_t(x.iov_base)), m->stream.data() + off, k) < 0)
      return EFAULT;
    off += k;
  }
  m->data = m->stream.data();
  m->len = m->avail = total;
  return 0;
}

// Control data: more than INT_MAX is ENOBUFS; a kernel far side gets the readable
// prefix against ctlbuf's guard, others all of it or EFAULT (ENOBUFS past optmem_max).
int Engine::Impl::gather_ctl(const tn_call *c, const msghdr &mh, bool kernel, OutMsg *m) {
  m->ctllen = mh.msg_controllen;
  if (!m->ctllen) return 0;
  if (m->ctllen > size_t(INT32_MAX)) return ENOBUFS;
  if (!kernel && m->ctllen > optmem_max) return ENOBUFS;
  long got = copy_to_guard(h, c, uint64_t(uintptr_t(mh.msg_control)),
                           std::min(m->ctllen, ctlbuf.size()), ctlbuf, &m->ctl);
  if (got < 0) return TN_ECANCELED;
  m->ctlavail = size_t(got);
  if (!kernel && m->ctlavail < m->ctllen) return EFAULT;
  return 0;
}

// The framing of control data as the kernel walks it (for far sides that do not parse
// it themselves): every header must fit and have a length between its own and the end.
bool Engine::Impl::cmsgs_ok(const OutMsg &m) {
  size_t off = 0;
  while (m.ctllen - off >= sizeof(cmsghdr)) {
    cmsghdr h;
    memcpy(&h, m.ctl + off, sizeof h);
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > m.ctllen - off) return false;
    off += CMSG_ALIGN(h.cmsg_len);
    if (off >= m.ctllen) break;
  }
  return true;
}

// sendmsg's msghdr (already read) or sendto's arguments into *m: 0 or errno.
int Engine::Impl::prepare(const tn_call *c, VSock &v, const msghdr *mh, OutMsg *m) {
  bool kernel = v.far && v.far->kernel_socket();
  std::vector<iovec> iov;
  if (mh) {
    int nl = mh->msg_name ? int(mh->msg_namelen) : 0;
    if (nl < 0) return EINVAL;
    nl = std::min<int>(nl, sizeof(sockaddr_storage));
    if (nl) {
      if (int e = read_name(c, uint64_t(uintptr_t(mh->msg_name)), nl, &m->name)) return e;
      m->named = true;
    }
    if (int e = read_iov(c, *mh, &iov)) return e;
    if (int e = gather_ctl(c, *mh, kernel, m)) return e;
    if (!kernel && !cmsgs_ok(*m)) return EINVAL;
  } else {
    if (int e = read_name(c, c->args[4], int(c->args[5]), &m->name)) return e;
    m->named = true;
    iov.push_back({reinterpret_cast<void *>(uintptr_t(c->args[1])),
                   std::min<size_t>(size_t(c->args[2]), kMaxRw)});
  }
  if (!v.udp) return gather_stream(c, iov, m);
  if (int e = gather_dgram(c, iov, m)) return e;
  if (!kernel && m->avail < m->len) {
    // The protocol refuses an oversized datagram before it copies anything.
    size_t max = v.domain == AF_INET ? 65535 - 20 - 8 : 65535 - 8;
    return m->len > max ? EMSGSIZE : EFAULT;
  }
  return 0;
}

// Moves a prepared datagram's bytes out of the shared buffers (before the handler waits).
void Engine::Impl::own(OutMsg &m) {
  auto keep = [](const char *p, size_t avail, std::unique_ptr<GuardedBuf> *g) -> char * {
    *g = std::make_unique<GuardedBuf>(avail);
    if (!(*g)->ok()) return nullptr;
    char *at = (*g)->end() - avail;
    memcpy(at, p, avail);
    return at;
  };
  if (m.data && m.data != m.stream.data()) m.data = keep(m.data, m.avail, &m.own_data);
  if (m.ctl) m.ctl = keep(m.ctl, m.ctlavail, &m.own_ctl);
}

// sendmmsg with addresses on a virtual UDP socket: each message from the host socket.
void Engine::Impl::do_udp_sendmmsg(const tn_call *c, VSock &v) {
  size_t vlen = std::min<size_t>(size_t(c->args[2]), kMaxIov);
  int flags = int(c->args[3]);
  std::vector<mmsghdr> mm(vlen);
  if (vlen && h->read_mem(hv, c, c->args[1], mm.data(), vlen * sizeof(mmsghdr)) < 0) {
    reply(c, 0, EFAULT);
    return;
  }
  size_t done = 0;
  int err = 0;
  for (; done < vlen; ++done) {
    OutMsg m;
    err = prepare(c, v, &mm[done].msg_hdr, &m);
    if (err) break;
    ssize_t n = far_sendmsg(v, m, flags);
    if (n < 0) {
      err = int(-n);
      break;
    }
    mm[done].msg_len = unsigned(n);
    if (h->write_mem(hv, c, c->args[1] + done * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len),
                     &mm[done].msg_len, sizeof(unsigned)) < 0) {
      err = EFAULT;
      break;
    }
  }
  if (err == TN_ECANCELED) return;
  if (done) reply(c, int64_t(done), 0);
  else reply(c, 0, err ? err : 0);
}

// One datagram from the far socket, to its name (mapped by the provider) if it has one.
ssize_t Engine::Impl::far_sendmsg(VSock &v, const OutMsg &m, int flags) {
  sockaddr_storage to{};
  socklen_t tolen = 0;
  if (m.named) {
    tolen = socklen_t(std::min(m.name.size(), sizeof to));
    if (tolen) memcpy(&to, m.name.data(), tolen);  // (an address of length 0 has no data)
    v.prov->map_dest(&to, tolen);
  }
  FarCall fc(this);
  if (!v.far) return -EBADF;
  if (!m.data && m.avail) return -ENOMEM;
  return v.far->sendmsg(m.data, m.len, m.named ? &to : nullptr, tolen,
                        m.ctllen ? m.ctl : nullptr, m.ctllen,
                        flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL));
}

// sendto/sendmsg with an address (UDP), or on TCP (the address is ignored there).
void Engine::Impl::do_send(const tn_call *c, VPtr vp, bool is_msg) {
  VSock &v = *vp;
  int fd = int(c->args[0]);
  OutMsg m;
  int flags;
  if (!dgrambuf.ok() || !ctlbuf.ok()) {
    reply(c, 0, ENOMEM);
    return;
  }
  int e;
  if (is_msg) {
    msghdr mh{};
    if (h->read_mem(hv, c, c->args[1], &mh, sizeof mh) < 0) {
      reply(c, 0, EFAULT);
      return;
    }
    flags = int(c->args[2]);
    e = prepare(c, v, &mh, &m);
  } else {
    flags = int(c->args[3]);
    e = prepare(c, v, nullptr, &m);
  }
  if (e) {
    if (e != TN_ECANCELED) reply(c, 0, e);
    return;
  }
  int d = dup_of(c, fd);
  if (d < 0) {
    reply(c, 0, -d);
    return;
  }
  bool nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) || (flags & MSG_DONTWAIT);
  if (!v.udp && v.st != St::Connected) {
    close(d);
    reply(c, 0, v.st == St::Connecting ? EAGAIN : EPIPE);
    return;
  }
  uint64_t dl = deadline(v.sndtimeo_ns);
  for (;;) {
    ssize_t n;
    if (v.udp) {
      n = far_sendmsg(v, m, flags);
    } else {
      n = ::send(d, m.data, m.len, (flags & ~MSG_FASTOPEN) | MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) n = -errno;
    }
    if (n >= 0) {
      close(d);
      reply(c, n, 0);
      return;
    }
    e = int(-n);
    if (e != EAGAIN || nonblock) {
      close(d);
      reply(c, 0, e);
      return;
    }
    if (v.udp) own(m);  // other handlers use the shared buffers while this one waits
    int rc = v.udp ? park_on(v, c, dl) : h->wait_fd(hv, c, d, EPOLLOUT, dl);
    if (rc == -TN_ECANCELED) {
      close(d);
      return;
    }
    if (rc == 0) {
      close(d);
      reply(c, 0, EAGAIN);
      return;
    }
  }
}

}  // namespace tn::vsock
