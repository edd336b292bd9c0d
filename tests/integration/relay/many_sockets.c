/* Opens and closes many sockets in rounds (TCP, UDP, and every tenth a connected TCP pair
 * through a listener). After each round it prints "round N" and waits for a line on stdin,
 * so a test can measure the supervisor between rounds. Usage: many_sockets N1 N2 ... */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  alarm(120);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 64) ||
      getsockname(l, (struct sockaddr *)&a, &len))
    return 2;
  for (int r = 1; r < argc; ++r) {
    int n = atoi(argv[r]);
    for (int i = 0; i < n; ++i) {
      int s = socket(AF_INET, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
      if (s < 0) { perror("socket"); return 1; }
      if (i % 10 == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
        int x = accept(l, NULL, NULL);
        if (x < 0) { perror("accept"); return 1; }
        send(c, "p", 1, 0);
        char ch;
        if (recv(x, &ch, 1, 0) != 1) return 1;
        close(x);
        close(c);
      }
      close(s);
    }
    printf("round %d\n", r);
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) break;
  }
  return 0;
}
