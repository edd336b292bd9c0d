// vsock: connect() on virtual TCP sockets.
// The theory of operation is at the top of vsock.cpp; the shared state in vsock_impl.h.
#include "vsock_impl.h"

namespace tn::vsock {

// ---- connect ------------------------------------------------------------------------

// Write filler into the tracee end's send buffer so it does not poll writable.
void Engine::Impl::fill(VSock &v, int tracee_dup) {
  if (v.filler) return;
  size_t total = 0;
  for (int i = 0; i < 64; ++i) {
    ssize_t n = send(tracee_dup, scratch.data(), 64 * 1024, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    total += size_t(n);
  }
  v.filler = total;
}

// Reads the filler back, all of it or all but `keep` bytes.
void Engine::Impl::discard_filler(VSock &v, size_t keep) {
  while (v.filler > keep && v.sup >= 0) {
    ssize_t n = recv(v.sup, scratch.data(), std::min(v.filler - keep, scratch.size()),
                     MSG_DONTWAIT);
    if (n <= 0) break;
    v.filler -= size_t(n);
  }
  v.filler = 0;
}

// The host connect may have finished: ask it with a second connect().
void Engine::Impl::finish_connect(VSock &v) {
  if (v.st != St::Connecting) return;
  int rc = far_connect(v, v.conn_addr, v.conn_len);
  int e = rc < 0 ? -rc : 0;
  if (rc == 0 || e == EISCONN) {
    discard_filler(v);
    v.unreported = v.waiters.empty();
    v.wait_result = 0;
    start_connected(v);
    wake_all(v);
    return;
  }
  if (e == EALREADY || e == EINPROGRESS || e == EINTR) return;
  if (!v.waiters.empty() || !v.filler) {
    // A blocking connect waits for this result: the pair stays usable.
    discard_filler(v);
    v.wait_result = e;
    v.pending_err = v.waiters.empty() ? e : 0;
    v.st = St::Fresh;
    wake_all(v);
    return;
  }
  // Non-blocking: close our end with the filler unread (tracee end: ECONNRESET, HUP).
  // (The kernel wakes the tracee at our close before it frees the filler, so a poll may
  // see POLLERR|POLLHUP a moment before POLLOUT joins them; docs/relay.md.)
  v.pending_err = e;
  v.err_consumed = false;
  v.st = St::Failed;
  v.filler = 0;
  make_zombie(v);
  v.zombie = true;
}

// Replace the tracee's broken pair end by a fresh one at the same fd number.
int Engine::Impl::swap_pair(VSock &v, const tn_call *c, int fd) {
  bool nonblock = false, cloexec = false;
  int d = dup_of(c, fd);
  if (d >= 0) {
    nonblock = fcntl(d, F_GETFL) & O_NONBLOCK;
    close(d);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", c->tid, fd);
  if (FILE *f = fopen(path, "re")) {
    char line[128];
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "flags:", 6)) cloexec = strtoul(line + 6, nullptr, 8) & O_CLOEXEC;
    fclose(f);
  }
  close_sup(v);
  uint64_t old = v.ident;
  int te = new_pair(v, nonblock);
  if (te < 0) return te;
  int rc = h->inject_fd(hv, c, te, fd, TN_INJECT_AT | (cloexec ? TN_INJECT_CLOEXEC : 0));
  close(te);
  auto it = table.find(old);
  VPtr keep = v.self.lock();
  if (it != table.end() && it->second.get() == &v) table.erase(it);
  table[v.ident] = keep;
  v.zombie = false;
  return rc < 0 ? rc : 0;
}

void Engine::Impl::do_connect(const tn_call *c, VPtr vp) {
  VSock &v = *vp;
  int fd = int(c->args[0]);
  socklen_t len = socklen_t(c->args[2]);
  sockaddr_storage ss{};
  if (len > sizeof(ss)) {
    reply(c, 0, EINVAL);
    return;
  }
  if (len && h->read_mem(hv, c, c->args[1], &ss, len) < 0) {
    reply(c, 0, EFAULT);
    return;
  }
  if (len < sizeof(sa_family_t)) {  // inet_stream_connect/inet_dgram_connect, first thing
    reply(c, 0, EINVAL);
    return;
  }
  v.prov->map_dest(&ss, len);
  if (v.udp) {
    int rc = far_connect(v, ss, len);
    reply(c, 0, rc < 0 ? -rc : 0);
    return;
  }
  if (v.st == St::Connecting) finish_connect(v);
  if (v.st == St::Failed) {
    // The failed attempt's verdict, like a second connect on a failed socket.
    int e = v.err_consumed ? ECONNABORTED : v.pending_err;
    v.pending_err = 0;
    v.st = St::Fresh;  // the pair is still broken: swapped at the next attempt
    reply(c, 0, e ? e : ECONNABORTED);
    return;
  }
  if (v.st == St::Connected) {
    if (v.unreported) {
      v.unreported = false;
      reply(c, 0, 0);
    } else {
      reply(c, 0, EISCONN);
    }
    return;
  }
  int d = dup_of(c, fd);
  if (d < 0) {
    reply(c, 0, -d);
    return;
  }
  bool nonblock = fcntl(d, F_GETFL) & O_NONBLOCK;
  if (v.st == St::Fresh) {
    int rc = far_connect(v, ss, len);
    int e = rc < 0 ? -rc : 0;
    if (rc == 0) {
      close(d);
      if (v.sup < 0 && swap_pair(v, c, fd) < 0) {
        reply(c, 0, ENOBUFS);
        return;
      }
      start_connected(v);
      reply(c, 0, 0);
      return;
    }
    if (e != EINPROGRESS) {
      close(d);
      reply(c, 0, e);
      return;
    }
    v.conn_addr = ss;
    v.conn_len = len;
    v.pending_err = 0;
    v.err_consumed = false;
    v.unreported = false;
    if (v.sup < 0) {
      close(d);
      d = -1;
      int s = swap_pair(v, c, fd);
      if (s < 0) {
        if (s != -ENOENT) reply(c, 0, -s);
        return;
      }
      d = dup_of(c, fd);
    }
    v.st = St::Connecting;
    if (nonblock) {
      if (d >= 0) fill(v, d);
      if (d >= 0) close(d);
      finish_connect(v);  // loopback may already be done
      if (v.st == St::Connected) v.unreported = true;
      reply(c, 0, EINPROGRESS);
      return;
    }
  } else if (v.st == St::Connecting) {
    if (nonblock) {
      close(d);
      reply(c, 0, EALREADY);
      return;
    }
  } else {  // Listening
    close(d);
    int rc = far_connect(v, ss, len);
    reply(c, 0, rc < 0 ? -rc : 0);
    return;
  }
  // Blocking connect: wait for the host's verdict.
  uint64_t dl = deadline(v.sndtimeo_ns);
  while (v.st == St::Connecting && !v.dead) {
    finish_connect(v);
    if (v.st != St::Connecting) break;
    // Fill now, not on cancellation: a signal may end this call (and the tracee poll the
    // socket) before the supervisor notices the cancellation.
    if (d >= 0) fill(v, d);
    int rc = park_on(v, c, dl);
    if (rc == -TN_ECANCELED) {  // the connect goes on in the background, as in the kernel
      if (d >= 0) close(d);
      return;
    }
    if (rc == 0 && v.st == St::Connecting) {  // SO_SNDTIMEO expired
      if (d >= 0) close(d);
      reply(c, 0, EINPROGRESS);
      return;
    }
  }
  if (d >= 0) close(d);
  if (v.dead) {
    reply(c, 0, EBADF);
  } else if (v.st == St::Connected) {
    v.unreported = false;
    reply(c, 0, 0);
  } else if (v.st == St::Failed) {
    v.pending_err = 0;
    v.st = St::Fresh;
    reply(c, 0, ECONNREFUSED);
  } else {
    int e = v.wait_result ? v.wait_result : ECONNABORTED;
    v.pending_err = 0;
    reply(c, 0, e);
  }
}

}  // namespace tn::vsock
