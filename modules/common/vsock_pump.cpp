// vsock: the TCP byte pump between the program's pair end and the far socket.
// The theory of operation is at the top of vsock.cpp; the shared state in vsock_impl.h.
#include "vsock_impl.h"

namespace tn::vsock {

// ---- TCP byte pump ------------------------------------------------------------------

// Byte moves between the sup end and the far socket; -errno on failure.
ssize_t Engine::Impl::to_dst(VSock &v, bool up, const void *p, size_t n) {
  if (up) {
    FarCall fc(this);
    return v.far->send(p, n);
  }
  ssize_t w = ::send(v.sup, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
  return w < 0 ? -errno : w;
}

ssize_t Engine::Impl::from_src(VSock &v, bool up, void *p, size_t n) {
  if (!up) {
    FarCall fc(this);
    return v.far->recv(p, n);
  }
  ssize_t r = ::recv(v.sup, p, n, MSG_DONTWAIT);
  return r < 0 ? -errno : r;
}

// up == true: sup -> far; else far -> sup. Runs until a side would block.
void Engine::Impl::pump(VSock &v, bool up) {
  if (v.dead || v.sup < 0 || v.st != St::Connected || !v.far) return;
  Stash &s = up ? v.up : v.down;
  bool &wait_dst = up ? v.up_wait_dst : v.down_wait_dst;
  wait_dst = false;
  size_t moved = 0;
  for (;;) {
    if (s.off < s.data.size()) {
      if (s.dst_dead) {
        s.data = {};
        s.off = 0;
      } else {
        ssize_t w = to_dst(v, up, s.data.data() + s.off, s.data.size() - s.off);
        if (w < 0) {
          if (w == -EAGAIN || w == -EINTR) {
            wait_dst = true;
            return;
          }
          dst_broken(v, up);
          continue;
        }
        s.off += size_t(w);
        if (s.off < s.data.size()) {
          wait_dst = true;
          return;
        }
        s.data = {};
        s.off = 0;
      }
    }
    if (s.src_eof) break;
    if (moved >= kPumpBudget) {
      schedule_kick(v);
      return;
    }
    size_t want = scratch.size();
    if (up && !s.dst_dead) {
      size_t room;
      {
        FarCall fc(this);
        room = v.far->send_room();
      }
      if (room == 0) {  // the far side's EPOLLOUT edge resumes this direction
        wait_dst = true;
        return;
      }
      want = std::min(want, room);
    }
    ssize_t n = from_src(v, up, scratch.data(), want);
    if (n < 0) {
      if (n == -EAGAIN || n == -EINTR) return;
      if (!up && reset_tracee(v)) return;  // host connection reset: mirror it
      n = 0;  // otherwise: treat as the end of this direction
    }
    if (n == 0) {
      s.src_eof = true;
      src_ended(v, up, s);
      break;
    }
    moved += size_t(n);
    // A short read emptied the source queue; new data raises a new edge.
    // (Not after a HUP/RDHUP edge: the end-of-file must still be read -- except on our
    // own AF_UNIX end, which after the program's close or shutdown can get no more bytes
    // nor an error worth reporting, so a short read there is the end.)
    bool fin = up ? v.up_fin : v.down_fin;
    bool drained = size_t(n) < want && !fin;
    bool last = up && fin && size_t(n) < want;
    if (s.dst_dead) {  // discard: the reader is gone
      if (drained) return;
      continue;
    }
    ssize_t w = to_dst(v, up, scratch.data(), size_t(n));
    if (w < 0) {
      if (w != -EAGAIN && w != -EINTR) {
        dst_broken(v, up);
        continue;
      }
      w = 0;
    }
    if (w < n) {
      s.data.assign(scratch.data() + w, scratch.data() + n);
      s.off = 0;
      wait_dst = true;
      return;
    }
    if (drained) return;
    if (last) {
      s.src_eof = true;
      src_ended(v, up, s);
      break;
    }
  }
  if (up && s.src_eof && v.sup_hup) closed_check(v);
}

// The source of one direction reached its end (all of it handed to the destination).
void Engine::Impl::src_ended(VSock &v, bool up, Stash &s) {
  if (up && !v.sup_hup) {
    pollfd p{v.sup, POLLIN, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)) v.sup_hup = true;
  }
  // The tracee's close is the host socket's close (FIN, or RST with SO_LINGER 0),
  // done by closed_check; only a real shutdown(SHUT_WR) is forwarded as such.
  if (!s.dst_dead && !(up && v.sup_hup)) {
    if (up) {
      FarCall fc(this);
      v.far->shutdown(SHUT_WR);
    } else {
      ::shutdown(v.sup, SHUT_WR);
    }
  }
  if (!up) v.shut = true;
}

// A duplicate of the tracee end outside a handler: through the last process and fd
// number seen using this socket, checked by identity. -1 if that is gone.
int Engine::Impl::tracee_dup(VSock &v) {
  if (v.last_tgid <= 0 || v.last_fd < 0) return -1;
  int pfd = int(syscall(SYS_pidfd_open, v.last_tgid, 0));
  if (pfd < 0) return -1;
  int d = int(syscall(SYS_pidfd_getfd, pfd, v.last_fd, 0));
  close(pfd);
  if (d < 0) return -1;
  if (ident_local(d) != v.ident) {
    close(d);
    return -1;
  }
  return d;
}

// The host connection was reset: the tracee's reads must end with ECONNRESET (after the
// bytes already delivered), not EOF. The kernel does exactly that to a pair end whose
// peer closes with unread data, so one byte is put into our end's queue from a transient
// duplicate of the tracee end, and our end is closed.
bool Engine::Impl::reset_tracee(VSock &v) {
  int d = tracee_dup(v);
  if (d < 0) return false;
  // Bytes read from the host before the reset go first (best effort, non-blocking).
  if (v.down.off < v.down.data.size())
    send(v.sup, v.down.data.data() + v.down.off, v.down.data.size() - v.down.off,
         MSG_DONTWAIT | MSG_NOSIGNAL);
  char z = 0;
  bool ok = send(d, &z, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
  close(d);
  if (!ok) return false;
  v.down = {};
  v.up = {};
  v.shut = true;
  make_zombie(v);  // closes our end: ECONNRESET on the tracee's
  return true;
}

void Engine::Impl::dst_broken(VSock &v, bool up) {
  Stash &s = up ? v.up : v.down;
  s.dst_dead = true;
  s.data = {};
  s.off = 0;
  if (up) {
    // The host connection cannot take more: make the tracee's writes fail (EPIPE).
    if (v.sup >= 0) shutdown(v.sup, SHUT_RD);
    v.shut = true;
  } else {
    // The tracee shut its reading side: stop reading from the far side.
    FarCall fc(this);
    if (v.far) v.far->shutdown(SHUT_RD);
  }
}

// fresh_pair: the program got its end only now (accept), so nothing can wait on ours yet;
// the edge-triggered watch reports its first write.
void Engine::Impl::start_connected(VSock &v, bool fresh_pair) {
  v.st = St::Connected;
  pump(v, false);
  if (!v.dead && !fresh_pair) pump(v, true);
}

}  // namespace tn::vsock
