/* 64 threads blocked at once in accept() on one listener and 64 threads blocked at once in
 * connect() to another whose accept queue is full; then the queue is enlarged (listen()
 * again), every connect completes (SYN retransmission), each connected thread wakes one
 * accept thread with a byte. Prints counts; exits non-zero on a shortfall. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N 64
static struct sockaddr_in a1, a2;
static atomic_int accepted, connected, bytes;

static void *acceptor(void *arg) {
  int l = *(int *)arg;
  int c = accept(l, NULL, NULL);
  if (c < 0) return NULL;
  atomic_fetch_add(&accepted, 1);
  char ch;
  if (recv(c, &ch, 1, MSG_WAITALL) == 1) atomic_fetch_add(&bytes, 1);
  close(c);
  return NULL;
}
static void *connector(void *arg) {
  (void)arg;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr *)&a2, sizeof a2) < 0) {
    perror("connect");
    return NULL;
  }
  atomic_fetch_add(&connected, 1);
  int t = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(t, (struct sockaddr *)&a1, sizeof a1) == 0) send(t, "x", 1, 0);
  close(t);
  close(s);
  return NULL;
}
static int mk_listener(struct sockaddr_in *a, int backlog) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *a;
  if (bind(l, (struct sockaddr *)a, sizeof *a) < 0 || listen(l, backlog) < 0 ||
      getsockname(l, (struct sockaddr *)a, &len) < 0) {
    perror("listener");
    exit(2);
  }
  return l;
}
int main(void) {
  alarm(60);
  int l1 = mk_listener(&a1, 128);
  int l2 = mk_listener(&a2, 0);
  int fill = socket(AF_INET, SOCK_STREAM, 0);  /* occupies l2's only queue slot */
  if (connect(fill, (struct sockaddr *)&a2, sizeof a2) < 0) return 2;
  pthread_t ta[N], tc[N];
  for (int i = 0; i < N; ++i) pthread_create(&ta[i], NULL, acceptor, &l1);
  for (int i = 0; i < N; ++i) pthread_create(&tc[i], NULL, connector, NULL);
  usleep(300000);
  printf("blocked: connected %d accepted %d\n", atomic_load(&connected), atomic_load(&accepted));
  listen(l2, 256); /* room for everyone: the retransmitted SYNs now get in */
  int got = 0;
  for (int i = 0; i < 400 && got < N + 1; ++i) {
    struct pollfd p = {l2, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int c = accept(l2, NULL, NULL);
    if (c >= 0) ++got;
  }
  for (int i = 0; i < N; ++i) pthread_join(tc[i], NULL);
  for (int i = 0; i < N; ++i) pthread_join(ta[i], NULL);
  printf("connected %d accepted %d bytes %d queue %d\n", atomic_load(&connected),
         atomic_load(&accepted), atomic_load(&bytes), got);
  return (connected == N && accepted == N && bytes == N) ? 0 : 1;
}
