// vsock: socket names and options.
// The theory of operation is at the top of vsock.cpp; the shared state in vsock_impl.h.
#include "vsock_impl.h"

namespace tn::vsock {

// ---- names and options --------------------------------------------------------------

void Engine::Impl::put_name(const tn_call *c, const sockaddr_storage &ss, socklen_t sl) {
  int ulen = 0;
  if (h->read_mem(hv, c, c->args[2], &ulen, sizeof ulen) < 0) {
    reply(c, 0, EFAULT);
    return;
  }
  if (ulen < 0) {
    reply(c, 0, EINVAL);
    return;
  }
  size_t n = std::min<size_t>(size_t(ulen), sl);
  int outlen = int(sl);
  if (write2(c, c->args[1], &ss, n, c->args[2], &outlen, sizeof outlen) < 0) {
    reply(c, 0, EFAULT);
    return;
  }
  reply(c, 0, 0);
}

void Engine::Impl::do_name(const tn_call *c, VSock &v, bool peer) {
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  int rc;
  {
    FarCall fc(this);
    rc = v.far ? v.far->name(peer, &ss, &sl) : -EBADF;
  }
  if (rc < 0) {
    reply(c, 0, -rc);
    return;
  }
  v.prov->map_name(&ss, sl, peer, v.tag);
  put_name(c, ss, sl);
}

void Engine::Impl::do_bind(const tn_call *c, VSock &v) {
  socklen_t len = socklen_t(c->args[2]);
  sockaddr_storage ss{};
  if (len > sizeof ss) {
    reply(c, 0, EINVAL);
    return;
  }
  if (len && h->read_mem(hv, c, c->args[1], &ss, len) < 0) {
    reply(c, 0, EFAULT);
    return;
  }
  uint32_t tag = 0;
  if (ss.ss_family == v.domain) v.prov->map_bind(&ss, len, &tag);
  int rc;
  {
    FarCall fc(this);
    rc = v.far ? v.far->bind(ss, len) : -EBADF;
  }
  if (rc == 0) v.tag = tag;
  reply(c, 0, rc < 0 ? -rc : 0);
}

uint64_t Engine::Impl::tv_ns(const char *val, size_t n, int optname) {
  if (optname == SO_RCVTIMEO_NEW || optname == SO_SNDTIMEO_NEW) {
    if (n < 16) return 0;
    int64_t s, us;
    memcpy(&s, val, 8);
    memcpy(&us, val + 8, 8);
    return s < 0 ? 0 : uint64_t(s) * 1'000'000'000ull + uint64_t(us) * 1000ull;
  }
  if (n < sizeof(timeval)) return 0;
  timeval tv;
  memcpy(&tv, val, sizeof tv);
  if (tv.tv_sec < 0) return 0;
  return uint64_t(tv.tv_sec) * 1'000'000'000ull + uint64_t(tv.tv_usec) * 1000ull;
}

// Is `level` one this socket's protocols answer (else Linux answers without looking)?
bool Engine::Impl::own_level(const VSock &v, int level) {
  switch (level) {
    case SOL_SOCKET: return true;
    case IPPROTO_IP: return v.domain == AF_INET || v.domain == AF_INET6;
    case IPPROTO_IPV6: return v.domain == AF_INET6;
    case IPPROTO_TCP: return v.type == SOCK_STREAM;
    case IPPROTO_UDP:
      return v.type == SOCK_DGRAM && (v.protocol == 0 || v.protocol == IPPROTO_UDP);
    case IPPROTO_ICMPV6:
      return v.domain == AF_INET6 && v.type != SOCK_STREAM && v.protocol == IPPROTO_ICMPV6;
    case 255 /* SOL_RAW */: return v.type == SOCK_RAW;
    default: return false;
  }
}

// Is [addr, addr + n) of the tracee readable? (-ENOENT: the call went away.)
int Engine::Impl::readable(const tn_call *c, uint64_t addr, size_t n) {
  char tmp[16];
  return h->read_mem(hv, c, addr, tmp, std::min(n, sizeof tmp));
}

// Linux's int read before the option itself at SOL_SOCKET/TCP/UDP (and IPv6 for a
// non-NULL value of 4 bytes or more): 0, or the errno it gives. `got` is how much of the
// value is known to be readable (-1: not known yet, asked here).
int Engine::Impl::int_first(const tn_call *c, int level, int name, uint64_t uval, int len,
                            long got) {
  bool generic = sockopt::reads_int_first(level) &&
                 !(level == SOL_SOCKET && name == SO_BINDTODEVICE) &&
                 !(level == IPPROTO_TCP &&
                   (name == TCP_CONGESTION || name == TCP_ULP || name == TCP_FASTOPEN_KEY));
  bool v6 = level == IPPROTO_IPV6 && uval && len >= int(sizeof(int));
  if (generic && len < int(sizeof(int))) return EINVAL;
  if (!generic && !v6) return 0;
  if (got >= 0) return got >= long(sizeof(int)) ? 0 : EFAULT;
  int rc = readable(c, uval, sizeof(int));
  return rc == -ENOENT ? TN_ECANCELED : rc < 0 ? EFAULT : 0;
}

int Engine::Impl::far_setopt(VSock &v, int level, int name, const void *val, socklen_t len) {
  FarCall fc(this);
  return v.far ? v.far->setopt(level, name, val, len) : -EBADF;
}

int Engine::Impl::far_getopt(VSock &v, int level, int name, void *val, socklen_t *len) {
  FarCall fc(this);
  return v.far ? v.far->getopt(level, name, val, len) : -EBADF;
}

bool Engine::Impl::filter_locked(VSock &v) {
  int on = 0;
  socklen_t l = sizeof on;
  return far_getopt(v, SOL_SOCKET, SO_LOCK_FILTER, &on, &l) == 0 && on;
}

// SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF: the program's struct sock_fprog points
// at instructions in the tracee; the far side gets a copy in the supervisor.
int Engine::Impl::set_filter(const tn_call *c, VSock &v, int level, int name, uint64_t uval,
                             int len) {
  if (len != int(sizeof(sock_fprog))) return EINVAL;
  struct {
    uint16_t len;
    uint16_t pad[3];
    uint64_t filter;
  } uf{};
  static_assert(sizeof uf == sizeof(sock_fprog));
  int rc = h->read_mem(hv, c, uval, &uf, sizeof uf);
  if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  if (filter_locked(v)) return EPERM;
  if (!uf.filter || uf.len == 0 || uf.len > BPF_MAXINSNS) return EINVAL;
  std::vector<sock_filter> insns(uf.len);
  rc = h->read_mem(hv, c, uf.filter, insns.data(), insns.size() * sizeof(sock_filter));
  if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  sock_fprog local{uf.len, insns.data()};
  rc = far_setopt(v, level, name, &local, sizeof local);
  return rc < 0 ? -rc : 0;
}

// SO_ATTACH_BPF / SO_ATTACH_REUSEPORT_EBPF: the value is an fd of the tracee's; the far
// side gets the supervisor's duplicate of it.
int Engine::Impl::set_bpf_fd(const tn_call *c, VSock &v, int level, int name, uint64_t uval,
                             int len) {
  if (len != int(sizeof(uint32_t))) return EINVAL;
  uint32_t ufd = 0;
  int rc = h->read_mem(hv, c, uval, &ufd, sizeof ufd);
  if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
  if (name == SO_ATTACH_BPF && filter_locked(v)) return EPERM;
  int d = h->get_fd(hv, c, int(ufd));
  if (d == -ENOENT) return TN_ECANCELED;
  if (d < 0) return EBADF;
  uint32_t local = uint32_t(d);
  rc = far_setopt(v, level, name, &local, sizeof local);
  close(d);
  return rc < 0 ? -rc : 0;
}

void Engine::Impl::do_setsockopt(const tn_call *c, VSock &v) {
  int level = int(c->args[1]), name = int(c->args[2]);
  uint64_t uval = c->args[3];
  int len = int(c->args[4]);
  auto answer = [&](int e) {
    if (e != TN_ECANCELED) reply(c, 0, e);
  };
  if (len < 0) return answer(EINVAL);
  if (!optbuf.ok()) return answer(ENOMEM);
  if (!own_level(v, level)) return answer(ENOPROTOOPT);
  const sockopt::Spec *sp = sockopt::find(level, name);
  sockopt::Set kind = sp ? sp->set : sockopt::Set::No;
  if (kind != sockopt::Set::Value) {
    if (int e = int_first(c, level, name, uval, len)) return answer(e);
    switch (kind) {
      case sockopt::Set::Filter: return answer(set_filter(c, v, level, name, uval, len));
      case sockopt::Set::BpfFd: return answer(set_bpf_fd(c, v, level, name, uval, len));
      case sockopt::Set::Refuse: return answer(sp->set_err);
      default: return answer(ENOPROTOOPT);
    }
  }
  size_t want = std::min<size_t>(size_t(len), sp->cap);
  char *at = nullptr;
  long got = uval ? copy_to_guard(h, c, uval, want, optbuf, &at) : 0;
  if (got < 0) return;  // the call went away
  bool kernel = v.far && v.far->kernel_socket();
  int rc;
  if (kernel) {
    // The program's length, its readable bytes, then the guard: the host kernel checks
    // and faults exactly as the program's own kernel would.
    rc = far_setopt(v, level, name, uval ? at : nullptr, socklen_t(len));
  } else {
    // A far side that is not a kernel socket gets only readable values: the kernel's
    // length checks and faults are decided here, in the kernel's order.
    if (int e = int_first(c, level, name, uval, len, got)) return answer(e);
    if (uint32_t(len) < sp->min) return answer(EINVAL);
    int small = 0;
    if (!uval && level == IPPROTO_IPV6 && sp->cap == sizeof(int)) {
      at = reinterpret_cast<char *>(&small);  // Linux takes a NULL IPv6 int as 0
      got = long(want);
    } else if (level == IPPROTO_IP && sp->cap == sizeof(int) && sp->min == 0 &&
               len < int(sizeof(int))) {
      // IP options take 0, 1 or 4 bytes: a shorter value is its first byte (or 0).
      if (len >= 1 && got < 1) return answer(EFAULT);
      small = len >= 1 ? static_cast<unsigned char>(*at) : 0;
      at = reinterpret_cast<char *>(&small);
      want = sizeof small;
      got = long(want);
    } else if (size_t(got) < want && level == IPPROTO_TCP && name == TCP_CONGESTION &&
               memchr(at, 0, size_t(got))) {
      want = size_t(got);  // a name: Linux stops at its NUL
    }
    if (size_t(got) < want) return answer(EFAULT);
    rc = far_setopt(v, level, name, want ? at : nullptr, socklen_t(want));
  }
  int e = rc < 0 ? -rc : 0;
  if (rc == 0 && level == SOL_SOCKET &&
      (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD || name == SO_RCVTIMEO_NEW ||
       name == SO_SNDTIMEO_NEW || name == SO_RCVLOWAT) &&
      size_t(got) == want) {
    // These govern the tracee's own reads/writes on its end too.
    int d = dup_of(c, int(c->args[0]));
    if (d >= 0) {
      setsockopt(d, level, name, at, socklen_t(want));
      close(d);
    }
    if (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)
      v.rcvtimeo_ns = tv_ns(at, want, name);
    if (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW)
      v.sndtimeo_ns = tv_ns(at, want, name);
  }
  answer(e);
}

void Engine::Impl::do_getsockopt(const tn_call *c, VSock &v) {
  int level = int(c->args[1]), name = int(c->args[2]);
  uint64_t uval = c->args[3], ulenp = c->args[4];
  auto answer = [&](int e) {
    if (e != TN_ECANCELED) reply(c, 0, e);
  };
  if (!optbuf.ok()) return answer(ENOMEM);
  if (!own_level(v, level)) return answer(v.domain == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
  int ulen = 0;
  if (int rc = h->read_mem(hv, c, ulenp, &ulen, sizeof ulen); rc < 0)
    return answer(rc == -ENOENT ? TN_ECANCELED : EFAULT);
  const sockopt::Spec *sp = sockopt::find(level, name);
  sockopt::Get kind = sp ? sp->get : sockopt::Get::No;
  bool kernel = v.far && v.far->kernel_socket();
  // A kernel far side checks the length itself (as the program's kernel would); for
  // others: negative is EINVAL, except at the IPv6 level, which takes it as unsigned.
  if (ulen < 0 && !kernel && level != IPPROTO_IPV6) return answer(EINVAL);
  if (kind == sockopt::Get::No) return answer(ulen < 0 ? EINVAL : ENOPROTOOPT);
  if (kind == sockopt::Get::Refuse) return answer(ulen < 0 ? EINVAL : sp->get_err);
  char *buf = optbuf.begin();
  socklen_t sl =
      kernel ? socklen_t(ulen) : socklen_t(std::min<size_t>(uint32_t(ulen), optbuf.size()));
  size_t out_bytes = 0;  // bytes of the answer to copy to optval
  int rc;
  if (kind == sockopt::Get::Filter) {  // SO_GET_FILTER: the length counts instructions
    if (ulen < 0) return answer(EINVAL);
    sl = socklen_t(std::min(ulen, BPF_MAXINSNS));
    rc = far_getopt(v, level, name, buf, &sl);
    if (rc == 0) out_bytes = ulen > 0 ? size_t(sl) * sizeof(sock_filter) : 0;
  } else if (level == SOL_SOCKET && name == SO_ERROR) {
    if (ulen < 0) return answer(EINVAL);
    if (v.st == St::Connecting) finish_connect(v);
    int e = 0;
    socklen_t el = sizeof e;
    far_getopt(v, SOL_SOCKET, SO_ERROR, &e, &el);
    if (v.pending_err) {
      e = v.pending_err;
      v.pending_err = 0;
      v.err_consumed = true;
      // Clear the ECONNRESET the kernel put on the tracee end when we closed ours.
      int d = dup_of(c, int(c->args[0]));
      if (d >= 0) {
        int x;
        socklen_t xl = sizeof x;
        getsockopt(d, SOL_SOCKET, SO_ERROR, &x, &xl);
        close(d);
      }
    }
    rc = 0;
    sl = std::min<socklen_t>(socklen_t(ulen), sizeof e);
    memcpy(buf, &e, sl);
    out_bytes = sl;
  } else {
    if (kind == sockopt::Get::InOut && ulen > 0) {
      // The socket reads the request the program put in the buffer.
      size_t want = std::min<size_t>(size_t(ulen), sp->in);
      char *at = nullptr;
      long got = copy_to_guard(h, c, uval, want, optbuf, &at);
      if (got < 0) return;
      if (size_t(got) < want) {
        if (!kernel) return answer(EFAULT);
        buf = at;  // the host kernel faults where the program's would
      } else {
        memmove(buf, at, want);
      }
    }
    socklen_t before = sl;
    rc = far_getopt(v, level, name, buf, &sl);
    if (rc < 0 && sl != before) {
      // Some options report the length they need along with the error (ERANGE).
      int need = int(sl);
      if (h->write_mem(hv, c, ulenp, &need, sizeof need) < 0) return answer(EFAULT);
    }
    if (rc == 0) out_bytes = std::min<size_t>(sl, optbuf.size());
  }
  if (rc < 0) return answer(-rc);
  int outlen = int(sl);
  if ((out_bytes && h->write_mem(hv, c, uval, buf, out_bytes) < 0) ||
      h->write_mem(hv, c, ulenp, &outlen, sizeof outlen) < 0)
    return answer(EFAULT);
  reply(c, 0, 0);
}

}  // namespace tn::vsock
