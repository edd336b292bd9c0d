// vsock: listening sockets and accept().
// The theory of operation is at the top of vsock.cpp; the shared state in vsock_impl.h.
#include "vsock_impl.h"

namespace tn::vsock {

// ---- listening ----------------------------------------------------------------------

void Engine::Impl::set_marker(VSock &v) {
  if (v.marker || v.sup < 0) return;
  char m = 'L';
  if (send(v.sup, &m, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) v.marker = true;
}

bool Engine::Impl::far_pending(VSock &v) {
  if (!v.backlog.empty()) return true;
  FarCall fc(this);
  return v.far && v.far->accept_pending();
}

int Engine::Impl::far_connect(VSock &v, const sockaddr_storage &ss, socklen_t len) {
  FarCall fc(this);
  return v.far->connect(ss, len);
}

// ---- accept -------------------------------------------------------------------------

void Engine::Impl::do_accept(const tn_call *c, VPtr vp, int flags) {
  VSock &v = *vp;
  int fd = int(c->args[0]);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    reply(c, 0, EINVAL);
    return;
  }
  if (v.udp) {
    reply(c, 0, EOPNOTSUPP);
    return;
  }
  int d = dup_of(c, fd);
  if (d < 0) {
    reply(c, 0, -d);
    return;
  }
  int nonblock = -1;  // asked of the file only when nothing is pending
  uint64_t dl = deadline(v.rcvtimeo_ns);
  for (;;) {
    if (v.dead) {
      close(d);
      reply(c, 0, EBADF);
      return;
    }
    sockaddr_storage peer{};
    socklen_t plen = sizeof(peer);
    std::unique_ptr<Far> nfd;
    int e = 0;
    {
      FarCall fc(this);
      if (!v.backlog.empty()) {
        Pending &p = v.backlog.front();
        nfd = std::move(p.far);
        peer = p.peer;
        plen = p.plen;
        v.backlog.pop_front();
      } else if (v.far) {
        nfd = v.far->accept(&peer, &plen, &e);
      } else {
        e = EBADF;
      }
    }
    if (nfd) {
      // Is another connection pending (the marker stays) or not (it goes)? Asked by
      // taking the next one right away where the queue is long (see SYS_listen): when
      // one is there, that is the far accept the next call would make anyway.
      if (v.marker && !(v.prefetch ? refill(v) : far_pending(v))) {
        char m;
        if (recv(d, &m, 1, MSG_DONTWAIT) == 1) v.marker = false;
      }
      close(d);
      deliver_accepted(c, v, std::move(nfd), peer, plen, flags);
      return;
    }
    if (e != EAGAIN) {
      close(d);
      reply(c, 0, e);
      return;
    }
    if (v.marker) {  // stale marker: nothing is pending any more
      char m;
      if (recv(d, &m, 1, MSG_DONTWAIT) == 1) v.marker = false;
    }
    if (nonblock < 0) nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) ? 1 : 0;
    if (nonblock) {
      close(d);
      reply(c, 0, EAGAIN);
      return;
    }
    int rc = park_on(v, c, dl);
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

// Takes the next pending far connection into the backlog; false if there is none.
bool Engine::Impl::refill(VSock &v) {
  if (!v.backlog.empty()) return true;
  if (!v.far) return false;
  Pending p;
  p.plen = sizeof p.peer;
  int e = 0;
  {
    FarCall fc(this);
    p.far = v.far->accept(&p.peer, &p.plen, &e);
  }
  if (!p.far) return false;
  v.backlog.push_back(std::move(p));
  return true;
}

void Engine::Impl::push_back_pending(VSock &lv, std::unique_ptr<Far> f,
                                     const sockaddr_storage &peer, socklen_t plen) {
  Pending p;
  p.far = std::move(f);
  p.peer = peer;
  p.plen = plen;
  lv.backlog.push_front(std::move(p));
}

void Engine::Impl::deliver_accepted(const tn_call *c, VSock &lv, std::unique_ptr<Far> nfd,
                                    const sockaddr_storage &peer, socklen_t plen, int flags) {
  // Peer address first: the injection below answers the call. (`peer` stays as the far
  // side gave it, for the backlog if the delivery fails.)
  if (c->args[1]) {
    sockaddr_storage shown = peer;
    lv.prov->map_name(&shown, plen, true, lv.tag);
    // The program's own bad address arguments lose the connection, as in the kernel
    // (it is accepted, then dropped when the address cannot be written).
    int e = put_addr(c, c->args[1], c->args[2], shown, plen);
    if (e) {
      if (e == TN_ECANCELED) {  // the call went away: keep it for the next accept
        push_back_pending(lv, std::move(nfd), peer, plen);
        set_marker(lv);
        return;
      }
      {
        FarCall fc(this);
        nfd.reset();
      }
      reply(c, 0, e);
      return;
    }
  }
  VPtr nv = new_vsock(lv.domain, SOCK_STREAM, lv.protocol, std::move(nfd), lv.prov);
  if (!nv) {
    reply(c, 0, ENOMEM);
    return;
  }
  nv->tag = lv.tag;
  int te = new_pair(*nv, flags & SOCK_NONBLOCK);
  if (te < 0) {
    destroy(*nv);
    reply(c, 0, -te);
    return;
  }
  table[nv->ident] = nv;
  nv->st = St::Connected;
  int rc = h->inject_fd(hv, c, te, -1,
                        send_flags() | ((flags & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0));
  close(te);
  if (rc < 0) {
    // The call vanished (signal): keep the connection for the next accept. (A copy of
    // the pair end the tracee may hold unannounced sees our end close: EOF.)
    std::unique_ptr<Far> f = std::move(nv->far);
    destroy(*nv);
    push_back_pending(lv, std::move(f), peer, plen);
    set_marker(lv);
    if (rc != -ENOENT && rc != -EOWNERDEAD) reply(c, 0, -rc);
    return;
  }
  nv->last_tgid = c->tgid;
  nv->last_fd = rc;
  start_connected(*nv, true);
}

}  // namespace tn::vsock
