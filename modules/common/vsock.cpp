// vsock: the virtual-socket engine shared by the relay and umnet modules.
//
// Theory of operation
// -------------------
// socket() is trapped: the module's Provider creates the far socket (a host kernel socket,
// a libstack socket, ...; argument errors are the far side's own) and the engine makes an
// AF_UNIX pair and injects one end into the tracee (SOCK_STREAM for TCP, SOCK_SEQPACKET for
// datagrams: it keeps boundaries and still reports the peer's close). read/write/poll/
// epoll/close/dup/fork/exec/SCM_RIGHTS then run in the kernel on that end at native speed;
// the supervisor moves bytes between its end ("sup") and the far socket with backpressure:
// it stops reading one side while the other is full (at most one partial chunk is kept in
// user space per direction, allocated only while a destination is full).
//
// Far sides report readiness through a callback (edge style). A callback that arrives
// while the engine itself is inside a far call (libstack calls back synchronously) is
// posted and run when the outermost far call returns, so the engine is never re-entered.
//
// Identity: a virtual socket is the sockfs inode of the injected end (TraceeFds), which
// survives dup/fork/exec/SCM_RIGHTS. `choose` claims a call when its fd's identity is in
// the table and declines everything else cheaply. A virtual socket ends when the sup end
// reports HUP (every copy closed); because HUP also appears when both directions were shut
// down, the end is confirmed with a NETLINK_SOCK_DIAG lookup of the tracee end's inode;
// survivors become "zombies" re-checked by a slow sweep. The supervisor never keeps a
// duplicate of a tracee end beyond one handler (it would hide the close).
//
// Readiness is emulated on the injected end:
//  * listening socket: when the far listener has a pending connection one marker byte is
//    written into the pair, so the tracee's end polls readable; accept() is trapped, takes a
//    connection from the far side, injects a new connected pair end (accept4 flags applied)
//    and drains the marker once nothing more is pending. Blocking accept parks the handler.
//  * non-blocking connect: the tracee end must not be writable before the handshake ends,
//    so the supervisor fills the tracee end's send buffer with filler from a transient
//    duplicate; on success it discards exactly that filler (EPOLLOUT appears); on failure
//    it closes its end with the filler unread, so the kernel gives the tracee end
//    ECONNRESET + HUP (POLLOUT|POLLERR|POLLHUP like a refused TCP connect) and SO_ERROR is
//    answered from the recorded real error. A later connect swaps a fresh pair in
//    (TN_INJECT_AT, then a separate reply).
//  * the far socket's own connect() state machine decides EINPROGRESS/EALREADY/EISCONN:
//    every connect is forwarded to it, and its completion is read with a second connect().
//  * datagrams: at most one is in flight inside the seqpacket pair, so the source address
//    of the datagram the tracee reads is always known (sup's SIOCOUTQ == 0 means it was
//    consumed; the EPOLLOUT wake-up of the consumption pulls the next). recvfrom/recvmsg
//    with an address are trapped and answered from a transient duplicate of the tracee end;
//    sendto/sendmsg with an address are sent from the far socket.
// Socket options are applied to the far socket and answered from it (SO_ERROR from the
// recorded connect result; receive/send timeouts also on the tracee end), through the table
// of sockopt_table.h: values copied once, pointer and fd values translated from the
// tracee, options that would act with the supervisor's privilege refused. A value (and a
// datagram, and control data) for a kernel far side is placed against a PROT_NONE page
// with the program's own length (guarded_copy.h), so the host kernel's length checks and
// faults are the program's; other far sides get only readable values, checked here in the
// kernel's order. The Provider may rewrite destinations, bound addresses and reported
// names (published ports, DNS).
#include "vsock_impl.h"

namespace tn::vsock {

// ---- lifetime -----------------------------------------------------------------------

void Engine::Impl::close_sup(VSock &v) {
  if (v.sup >= 0) {
    close_only_ref(v.sup);  // the supervisor never duplicates its end
    v.sup = -1;
  }
}

void Engine::Impl::destroy(VSock &v) {
  if (v.dead) return;
  v.dead = true;
  close_sup(v);
  {
    FarCall fc(this);
    v.far.reset();
    v.backlog.clear();
  }
  v.up = {};
  v.down = {};
  v.out_dgram = {};
  wake_all(v);
  auto it = table.find(v.ident);
  if (it != table.end() && it->second.get() == &v) table.erase(it);
}

void Engine::Impl::make_zombie(VSock &v) {
  close_sup(v);
  if (v.zombie) return;
  v.zombie = true;
  zombies.push_back(v.self.lock());
  arm_sweep();
}

void Engine::Impl::arm_sweep() {
  if (sweep_timer > 0 || zombies.empty()) return;
  sweep_timer = h->add_timer(hv, h->now_ns(hv) + kSweepNs, &Impl::sweep_cb, this);
}

void Engine::Impl::sweep_cb(void *arg) {
  auto *r = static_cast<Impl *>(arg);
  r->sweep_timer = 0;
  std::vector<VPtr> keep;
  for (auto &z : r->zombies) {
    if (z->dead || !z->zombie) continue;
    if (!r->alive(z->tracee_ino))
      r->destroy(*z);
    else
      keep.push_back(z);
  }
  r->zombies.swap(keep);
  r->arm_sweep();
}

// The sup end saw HUP: every copy of the tracee end closed, or both directions shut.
void Engine::Impl::closed_check(VSock &v) {
  if (v.dead) return;
  if (!v.up.data.empty() && !v.up.dst_dead) return;  // flush to the host first
  // Without any shutdown, HUP on our end means the last copy of the tracee end is gone.
  if (!v.shut || !alive(v.tracee_ino)) {
    destroy(v);
  } else {
    // Both directions shut but still open: the tracee's SHUT_WR reaches the host now.
    if (!v.udp && v.st == St::Connected && v.up.src_eof && v.far) {
      FarCall fc(this);
      v.far->shutdown(SHUT_WR);
    }
    make_zombie(v);
  }
}

// ---- creation -----------------------------------------------------------------------

// New pair: returns the tracee end (caller closes it after injecting) or -errno.
int Engine::Impl::new_pair(VSock &v, bool tracee_nonblock) {
  int sv[2];
  // Both ends non-blocking from the start (one syscall fewer per socket; accept4 and
  // socket() of event-driven servers ask for it anyway).
  if (socketpair(AF_UNIX, (v.udp ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK,
                 0, sv) < 0)
    return -errno;
  if (!tracee_nonblock) fcntl(sv[1], F_SETFL, 0);
  uint64_t id = ident_local(sv[1]);  // the sockfs inode
  if (!id) {
    close(sv[0]);
    close(sv[1]);
    return -EBADF;
  }
  v.sup = sv[0];
  v.ident = id;
  v.tracee_ino = id;
  v.sup_hup = false;
  v.shut = false;
  v.up_fin = v.down_fin = false;
  v.up = {};
  v.down = {};
  v.marker = false;
  v.filler = 0;
  v.inflight = false;
  int w = h->watch_fd(hv, v.sup, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &Impl::sup_cb, &v);
  if (w < 0) {
    close(sv[0]);
    close(sv[1]);
    v.sup = -1;
    return w;
  }
  return sv[1];
}

VPtr Engine::Impl::new_vsock(int domain, int type, int protocol, std::unique_ptr<Far> far,
                             Provider *prov) {
  auto v = std::make_shared<VSock>();
  v->self = v;
  v->r = this;
  v->domain = domain;
  v->type = type;
  v->protocol = protocol;
  v->udp = type != SOCK_STREAM;
  v->far = std::move(far);
  v->prov = prov;
  if (start_far(*v) < 0) {
    FarCall fc(this);
    v->far.reset();
    return nullptr;
  }
  return v;
}

// ---- events -------------------------------------------------------------------------

void Engine::Impl::sup_cb(void *arg, int, uint32_t ev) {
  auto *v = static_cast<VSock *>(arg);
  VPtr keep = v->self.lock();
  if (keep && !keep->dead) v->r->on_sup(*v, ev);
}

void Engine::Impl::schedule_kick(VSock &v) {
  if (v.kick) return;
  v.kick = true;
  kicks.push_back(v.self);
  if (kick_timer <= 0) kick_timer = h->add_timer(hv, h->now_ns(hv), &Impl::kick_cb, this);
}

void Engine::Impl::kick_cb(void *arg) {
  auto *r = static_cast<Impl *>(arg);
  r->kick_timer = 0;
  std::vector<std::weak_ptr<VSock>> now;
  now.swap(r->kicks);
  for (auto &w : now) {
    VPtr v = w.lock();
    if (!v || v->dead) continue;
    v->kick = false;
    r->pump(*v, true);
    if (!v->dead) r->pump(*v, false);
  }
}

void Engine::Impl::on_far(VSock &v, uint32_t ev) {
  if (ev & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) v.down_fin = true;
  if (v.udp) {
    if (ev & EPOLLIN) udp_push(v);
    if (ev & EPOLLOUT) {
      udp_pull(v);
      wake_all(v);  // a sendto waiting for room
    }
    return;
  }
  switch (v.st) {
    case St::Connecting:
      if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(v);
      break;
    case St::Listening:
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        // The edge may be for one already taken: ask, unless the marker is there anyway.
        if (!v.marker && far_pending(v)) set_marker(v);
        wake_all(v);
      }
      break;
    case St::Connected:
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) pump(v, false);
      if (!v.dead && (ev & EPOLLOUT) && v.up_wait_dst) pump(v, true);
      break;
    default:
      break;
  }
}

void Engine::Impl::on_sup(VSock &v, uint32_t ev) {
  if (ev & EPOLLHUP) v.sup_hup = true;
  if (ev & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) v.up_fin = true;
  if (v.udp) {
    if (ev & (EPOLLIN | EPOLLHUP)) udp_pull(v);
    if (!v.dead) udp_push(v);
    if (!v.dead && v.sup_hup) {
      v.out_dgram = {};
      v.out_has = false;
      closed_check(v);
    }
    return;
  }
  if (v.st == St::Connected) {
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) pump(v, true);
    if (!v.dead && (ev & EPOLLOUT) && v.down_wait_dst) pump(v, false);
    if (!v.dead && v.sup_hup && v.up.src_eof) closed_check(v);
    return;
  }
  if (v.sup_hup) closed_check(v);
}

// ---- dispatch -----------------------------------------------------------------------

void Engine::Impl::do_socket(const tn_call *c, Provider &p) {
  int domain = int(c->args[0]), type = int(c->args[1]), proto = int(c->args[2]);
  int err = 0;
  std::unique_ptr<Far> far;
  {
    FarCall fc(this);
    far = p.create(domain, type, proto, &err);
  }
  if (!far) {
    reply(c, 0, err ? err : ENOMEM);
    return;
  }
  VPtr v = new_vsock(domain, type & 0xf, proto, std::move(far), &p);
  if (!v) {
    reply(c, 0, ENOMEM);
    return;
  }
  int te = new_pair(*v, type & SOCK_NONBLOCK);
  if (te < 0) {
    destroy(*v);
    reply(c, 0, -te);
    return;
  }
  table[v->ident] = v;
  int rc = h->inject_fd(hv, c, te, -1,
                        send_flags() | ((type & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0));
  close(te);
  if (rc < 0) {
    destroy(*v);  // (a copy the tracee may hold unannounced sees our end close)
    if (rc != -ENOENT && rc != -EOWNERDEAD) reply(c, 0, -rc);
    return;
  }
  v->last_tgid = c->tgid;
  v->last_fd = rc;
}

void Engine::Impl::handle(const tn_call *c) {
  VPtr v;
  if (auto it = chosen.find(c->id); it != chosen.end()) {
    v = std::move(it->second.v);
    if (it->second.dup >= 0) predup[c->id] = it->second.dup;
    chosen.erase(it);
  }
  if (!v || v->dead) v = lookup(c, int(c->args[0]));
  if (v) serve(c, v);
  else h->reply_continue(hv, c);  // closed between choose and handle
  // The duplicate choose() made and the handler did not take.
  if (auto it = predup.find(c->id); it != predup.end()) {
    if (it->second >= 0) close(it->second);
    predup.erase(it);
  }
}

void Engine::Impl::serve(const tn_call *c, const VPtr &v) {
  v->last_tgid = c->tgid;
  v->last_fd = int(c->args[0]);
  switch (c->nr) {
    case SYS_connect: do_connect(c, v); break;
    case SYS_bind: do_bind(c, *v); break;
    case SYS_listen: {
      // A long queue lets accept take the next connection ahead (refill), and the far
      // listener's queue is one shorter so that as many peers connect as natively; a
      // short one, whose limit programs and tests may probe, is served exactly.
      int backlog = int(c->args[1]);
      bool prefetch = backlog >= 8;
      int rc;
      {
        FarCall fc(this);
        rc = v->far ? v->far->listen(prefetch ? backlog - 1 : backlog) : -EBADF;
      }
      if (rc == 0) v->prefetch = prefetch;
      if (rc == 0 && !v->udp && v->st != St::Listening) {
        v->st = St::Listening;
        // A listening socket never polls writable: fill the tracee end's send buffer.
        int d = dup_of(c, int(c->args[0]));
        if (d >= 0) {
          fill(*v, d);
          close(d);
        }
        if (far_pending(*v)) set_marker(*v);
      }
      reply(c, 0, rc < 0 ? -rc : 0);
      break;
    }
    case SYS_accept: do_accept(c, v, 0); break;
    case SYS_accept4: do_accept(c, v, int(c->args[3])); break;
    case SYS_getsockname: do_name(c, *v, false); break;
    case SYS_getpeername: do_name(c, *v, true); break;
    case SYS_setsockopt: do_setsockopt(c, *v); break;
    case SYS_getsockopt: do_getsockopt(c, *v); break;
    case SYS_shutdown:
      if (int(c->args[1]) < SHUT_RD || int(c->args[1]) > SHUT_RDWR) {
        reply(c, 0, EINVAL);  // before anything else, as inet_shutdown does
        break;
      }
      v->shut = true;
      if (!v->udp && v->st == St::Connected) {
        h->reply_continue(hv, c);  // the pair carries it (queued data first, then FIN)
      } else {
        int rc;
        {
          FarCall fc(this);
          rc = v->far ? v->far->shutdown(int(c->args[1])) : -EBADF;
        }
        if (rc == 0) wake_all(*v);
        reply(c, 0, rc < 0 ? -rc : 0);
      }
      break;
    case SYS_sendto: do_send(c, v, false); break;
    case SYS_sendmsg: do_send(c, v, true); break;
    case SYS_recvfrom: do_udp_recv(c, v, 0); break;
    case SYS_recvmsg: do_udp_recv(c, v, 1); break;
    case SYS_recvmmsg: do_udp_recv(c, v, 2); break;
    case SYS_sendmmsg: do_udp_sendmmsg(c, *v); break;
    default: h->reply_continue(hv, c); break;
  }
}

// choose()'s fd lookup: the socket behind args[0] and a duplicate of that fd (kept for
// the handler), or nullptr.
VPtr Engine::Impl::choose_lookup(const tn_call *c, int *dup) {
  *dup = -1;
  int fd = int(c->args[0]);
  if (fd < 0) return nullptr;
  int d = fds.dup_of(c, fd);
  if (d < 0) return nullptr;
  uint64_t id = ident_local(d);
  auto it = id ? table.find(id) : table.end();
  if (it == table.end() || it->second->dead) {
    close(d);
    return nullptr;
  }
  *dup = d;
  return it->second;
}

int Engine::Impl::choose(const tn_call *c) {
  // Asked again for a call it already claimed (a module's handle re-checking).
  if (auto it = chosen.find(c->id); it != chosen.end() && !it->second.v->dead)
    return TN_CHOICE_MINE;
  switch (c->nr) {
    case SYS_socket:
      return TN_CHOICE_NONE;  // the module decides (Engine::socket)
    case SYS_sendto:
    case SYS_recvfrom:
      if (!c->args[4]) return TN_CHOICE_NONE;  // no address: the pair handles it
      break;
    case SYS_recvmmsg:
    case SYS_sendmmsg: {
      size_t n = std::min<size_t>(size_t(c->args[2]), 64);
      mmsghdr mm[64];
      if (!n || h->read_mem(hv, c, c->args[1], mm, n * sizeof(mmsghdr)) < 0)
        return TN_CHOICE_NONE;
      bool named = false;
      for (size_t i = 0; i < n; ++i) named |= mm[i].msg_hdr.msg_name != nullptr;
      if (!named) return TN_CHOICE_NONE;
      break;
    }
    case SYS_sendmsg:
    case SYS_recvmsg: {
      // Every program's sendmsg/recvmsg is trapped (AF_UNIX too): the cheap test first.
      msghdr mh{};
      if (h->read_mem(hv, c, c->args[1], &mh, sizeof mh) < 0 || !mh.msg_name)
        return TN_CHOICE_NONE;
      break;
    }
    default:
      break;
  }
  int dup = -1;
  VPtr found = choose_lookup(c, &dup);
  if (!found) return TN_CHOICE_NONE;
  const VSock &v = *found;
  bool mine = true;
  switch (c->nr) {
    case SYS_recvfrom:
      // A stream end reports an empty address exactly like TCP: only UDP needs us.
    case SYS_recvmsg:
      // (a stream end reports no address, like TCP)
    case SYS_recvmmsg:
    case SYS_sendmmsg:
      // Only UDP with at least one address needs us (the pair carries the rest).
      mine = v.udp;
      break;
    default:
      break;
  }
  if (!mine) {
    close(dup);
    return TN_CHOICE_NONE;
  }
  if (chosen.size() > 4096) {  // calls that vanished before handle()
    for (auto &kv : chosen)
      if (kv.second.dup >= 0) close(kv.second.dup);
    chosen.clear();
  }
  chosen[c->id] = Chosen{found, dup};
  return TN_CHOICE_MINE;
}

// At the end of the run the tracees are gone but bytes they wrote may still sit in the
// pairs or in a stash (the kernel would have sent them after the process exited): move
// them to the far sockets, whose close then sends them. Bounded by kFlushNs in total.
constexpr uint64_t kFlushNs = 5'000'000'000ull;
static void flush_all(Engine::Impl *r) {
  uint64_t end = r->h->now_ns(r->hv) + kFlushNs;
  std::vector<VPtr> all;
  for (auto &kv : r->table)
    if (!kv.second->udp && kv.second->st == St::Connected) all.push_back(kv.second);
  for (auto &v : all) {
    while (!v->dead && v->sup >= 0 && r->h->now_ns(r->hv) < end) {
      r->pump(*v, true);
      if (v->dead || v->up.dst_dead) break;
      bool pending = v->up.off < v->up.data.size();
      int pfd = pending ? (v->far ? v->far->poll_fd() : -1) : v->sup;
      if (pfd < 0) break;
      pollfd p{pfd, short(pending ? POLLOUT : POLLIN), 0};
      if (!pending) {
        if (v->up.src_eof || poll(&p, 1, 0) <= 0) break;
        continue;
      }
      poll(&p, 1, 100);
    }
  }
}

Engine::Engine(const tn_host *h, TraceeFds &fds) : impl_(std::make_unique<Impl>(h, fds)) {}
Engine::~Engine() { fini(); }
bool Engine::choose(const tn_call *c) { return impl_ && impl_->choose(c) == TN_CHOICE_MINE; }
void Engine::handle(const tn_call *c) { impl_->handle(c); }
void Engine::socket(const tn_call *c, Provider &p) { impl_->do_socket(c, p); }
void Engine::run_posted() {
  if (impl_ && impl_->far_depth == 0 && !impl_->draining && !impl_->posted.empty())
    impl_->drain();
}
void Engine::on_exit(int32_t tgid) { impl_->fds.drop(tgid); }
void Engine::fini() {
  if (!impl_) return;
  Impl *r = impl_.get();
  flush_all(r);
  if (r->sweep_timer > 0) r->h->cancel_timer(r->hv, r->sweep_timer);
  if (r->kick_timer > 0) r->h->cancel_timer(r->hv, r->kick_timer);
  r->sweep_timer = r->kick_timer = 0;
  r->kicks.clear();
  std::vector<VPtr> all;
  for (auto &kv : r->table) all.push_back(kv.second);
  for (auto &z : r->zombies) all.push_back(z);
  for (auto &v : all) r->destroy(*v);
  r->table.clear();
  r->zombies.clear();
  r->posted.clear();
  impl_.reset();
}

}  // namespace tn::vsock
