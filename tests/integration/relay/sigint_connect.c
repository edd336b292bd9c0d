/* SIGINT in the middle of a blocking connect (to a listener whose accept queue is full, so
 * the SYN is dropped and connect waits for a retransmission). Without SA_RESTART connect
 * fails with EINTR and the attempt goes on in the background (EALREADY, later connected);
 * with SA_RESTART the call is restarted and completes. Prints deterministic lines. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t hits;
static void on_int(int s) { (void)s; hits++; }
static pthread_t main_thread;
static int enlarge_fd = -1;

static const char *en(int rc) { return rc < 0 ? strerrorname_np(errno) : "OK"; }
static int mk_full_listener(struct sockaddr_in *a) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *a;
  bind(l, (struct sockaddr *)a, sizeof *a);
  listen(l, 0);
  getsockname(l, (struct sockaddr *)a, &len);
  int f = socket(AF_INET, SOCK_STREAM, 0);
  connect(f, (struct sockaddr *)a, sizeof *a); /* takes the only slot */
  return l;
}
static atomic_int connect_returned;
/* Interrupts main's connect: every 300 ms until it returned (a signal that comes before
 * the call started is simply absorbed by the handler), at most 30 times. */
static void *poker(void *arg) {
  (void)arg;
  for (int i = 0; i < 30 && !atomic_load(&connect_returned); ++i) {
    usleep(300000);
    if (!atomic_load(&connect_returned)) pthread_kill(main_thread, SIGINT);
    if (enlarge_fd >= 0) {
      usleep(200000);
      listen(enlarge_fd, 64);
    }
  }
  return NULL;
}
int main(void) {
  alarm(60);
  main_thread = pthread_self();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_int;
  sigaction(SIGINT, &sa, NULL); /* no SA_RESTART */
  struct sockaddr_in a;
  int l = mk_full_listener(&a);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  pthread_t t;
  pthread_create(&t, NULL, poker, NULL);
  int rc = connect(c, (struct sockaddr *)&a, sizeof a);
  int e = errno;
  atomic_store(&connect_returned, 1);
  errno = e;
  printf("connect: %s\n", en(rc));
  pthread_join(t, NULL);
  printf("handler ran: %s\n", hits > 0 ? "yes" : "no");
  fcntl(c, F_SETFL, O_NONBLOCK);
  printf("connect again: %s\n", en(connect(c, (struct sockaddr *)&a, sizeof a)));
  struct pollfd p = {c, POLLOUT, 0};
  printf("poll before room: %d\n", poll(&p, 1, 0));
  listen(l, 64);
  p.revents = 0;
  int n = poll(&p, 1, 10000);
  printf("poll after room: %d revents %s\n", n, (p.revents & POLLOUT) ? "OUT" : "-");
  int err = -1;
  socklen_t el = sizeof err;
  getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
  printf("so_error: %d\n", err);
  printf("connect after: %s\n", en(connect(c, (struct sockaddr *)&a, sizeof a)));
  printf("connect after2: %s\n", en(connect(c, (struct sockaddr *)&a, sizeof a)));
  /* SA_RESTART: the interrupted connect is restarted and completes. */
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  struct sockaddr_in b;
  int l2 = mk_full_listener(&b);
  enlarge_fd = l2;
  int d = socket(AF_INET, SOCK_STREAM, 0);
  atomic_store(&connect_returned, 0);
  int before = hits;
  pthread_create(&t, NULL, poker, NULL);
  rc = connect(d, (struct sockaddr *)&b, sizeof b);
  e = errno;
  atomic_store(&connect_returned, 1);
  errno = e;
  printf("restarted connect: %s\n", en(rc));
  pthread_join(t, NULL);
  printf("handler ran: %s\n", hits > before ? "yes" : "no");
  printf("send: %zd\n", send(d, "z", 1, 0));
  close(d);
  close(c);
  close(l);
  close(l2);
  return 0;
}
