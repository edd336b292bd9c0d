/* A stand-in mesh router for umnet's --mesh glue tests (umnet_mesh_test.cpp): the router
 * ABI of threadnet/router.h with just enough behaviour to show each call arriving.
 *
 *   create  logs every option pair it gets ("opt KEY=VALUE"); refuses
 *           --mesh-radar-interval bad (a message naming the option) and --mesh-realm bad
 *           ("mesh: ...", as the real router says it, which umnet makes --mesh's)
 *   start   takes 10.0.0.M/8 on its first interface (M: the MAC's last byte), broadcasts
 *           "hello" there and asks for a wake-up 1 ms on
 *   receive a "hello" from a neighbour (its own, looped back, is ignored): hooked; route 10.99.M'.0/24 through it (M': the
 *           neighbour's last address byte), logs "hooked"
 *   poll    counts, says hello again (its first 100 polls: a neighbour that came later
 *           hears it too); next deadline 10 ms on
 *   link_event  logs "link IF up|down"; down removes its routes
 *
 * Variants: BADABI (abi_version 99), SHORT (a table that ends before `poll`), FEWOPTS
 * (mesh-flood-rate missing from its options). Its own state only: every call gets `self`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <threadnet/router.h>

struct node {
  const struct tn_router_host *h;
  uint32_t ifindex;
  struct tn_router_addr me;
  struct tn_router_addr routes[8];
  int nroutes;
  int hooked;
  unsigned polls;
};

static const char *const opts[] = {
    "mesh-radar-interval=", "mesh-radar-pings=", "mesh-radar-timeout=", "mesh-rtt-threshold=",
    "mesh-qspn-wait-round=", "mesh-qspn-wait=", "mesh-maxroutes=", "mesh-realm=",
    "mesh-hook-wait=",
#ifndef FEWOPTS
    "mesh-flood-rate=", "mesh-gnode-size=",
#endif
    "mesh-verbose", NULL};

static void logf_(struct node *n, const char *fmt, unsigned a, const char *s) {
  char line[256];
  snprintf(line, sizeof line, fmt, a, s);
  if (n->h->log) n->h->log(n->h->ctx, line);
}

static void *r_create(const struct tn_router_host *h, int argc, const char *const *argv,
                      char *err, size_t errcap) {
  if (!h || h->abi_version != TN_ROUTER_ABI_VERSION || h->size < sizeof *h) {
    snprintf(err, errcap, "fake router: bad host table");
    return NULL;
  }
  if (argc % 2) {
    snprintf(err, errcap, "fake router: odd argc %d", argc);
    return NULL;
  }
  for (int i = 0; i < argc; i += 2) {
    if (!strcmp(argv[i], "--mesh-radar-interval") && !strcmp(argv[i + 1], "bad")) {
      snprintf(err, errcap, "--mesh-radar-interval bad: not a duration (500ms, 5s or milliseconds)");
      return NULL;
    }
    if (!strcmp(argv[i], "--mesh-realm") && !strcmp(argv[i + 1], "bad")) {
      snprintf(err, errcap, "mesh: realm bad is not a prefix");
      return NULL;
    }
  }
  struct node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->h = h;
  for (int i = 0; i < argc; i += 2) {
    char line[200];
    snprintf(line, sizeof line, "opt %s=%s", argv[i] + 2, argv[i + 1]);
    if (h->log) h->log(h->ctx, line);
  }
  return n;
}

static void r_destroy(void *self) { free(self); }

static void hello(struct node *n) {
  struct tn_router_addr all = {.family = 4, .b = {255, 255, 255, 255}};
  n->h->send(n->h->ctx, n->ifindex, &all, 0xfa4e, "hello", 5);
}

static void r_start(void *self) {
  struct node *n = self;
  struct tn_router_if ifs[4];
  int k = n->h->interfaces(n->h->ctx, ifs, 4);
  if (k < 1) return;
  n->ifindex = ifs[0].ifindex;
  n->me.family = 4;
  n->me.b[0] = 10;
  n->me.b[3] = ifs[0].mac[5];
  n->h->add_address(n->h->ctx, n->ifindex, &n->me, 8);
  hello(n);
  (void)n->h->random_u64(n->h->ctx);
  n->h->wakeup(n->h->ctx, n->h->now_ns(n->h->ctx) + 1000000);
}

static void r_receive(void *self, uint32_t ifindex, const struct tn_router_addr *src,
                      uint16_t sport, const void *buf, size_t len) {
  struct node *n = self;
  (void)sport;
  if (len != 5 || memcmp(buf, "hello", 5) || src->family != 4 || n->nroutes >= 8) return;
  if (!memcmp(src->b, n->me.b, 4)) return; /* our own broadcast, looped back as on Linux */
  if (n->hooked) return;                   /* one neighbour is enough */
  struct tn_router_addr dst = {.family = 4, .b = {10, 99, src->b[3], 0}};
  struct tn_router_nexthop hop = {.gateway = *src, .ifindex = ifindex, .weight = 1};
  if (n->h->set_route(n->h->ctx, &dst, 24, &hop, 1) == 0) n->routes[n->nroutes++] = dst;
  n->hooked = 1;
  logf_(n, "hooked via %u%s", src->b[3], "");
}

static uint64_t r_poll(void *self, uint64_t now) {
  struct node *n = self;
  if (++n->polls <= 100 && n->ifindex) hello(n);
  return now + 10000000;
}

static void r_link_event(void *self, uint32_t ifindex, int up) {
  struct node *n = self;
  logf_(n, "link %u %s", ifindex, up ? "up" : "down");
  if (up) return;
  for (int i = 0; i < n->nroutes; ++i) n->h->set_route(n->h->ctx, &n->routes[i], 24, NULL, 0);
  n->nroutes = 0;
}

static int r_hooked(void *self) { return ((struct node *)self)->hooked; }

static size_t r_status(void *self, char *buf, size_t cap) {
  struct node *n = self;
  return (size_t)snprintf(buf, cap, "{\"polls\":%u,\"hooked\":%d}", n->polls, n->hooked);
}

static const struct tn_router table = {
#ifdef BADABI
    .abi_version = 99,
#else
    .abi_version = TN_ROUTER_ABI_VERSION,
#endif
#ifdef SHORT
    .size = offsetof(struct tn_router, receive),
#else
    .size = sizeof(struct tn_router),
#endif
    .name = "fake",
    .summary = "a stand-in router for the --mesh glue tests",
    .port = 0xfa4e,
    .options = opts,
    .create = r_create,
    .destroy = r_destroy,
    .start = r_start,
    .receive = r_receive,
    .poll = r_poll,
    .link_event = r_link_event,
    .hooked = r_hooked,
    .status = r_status,
};

const struct tn_router *threadnet_router_v1(void) { return &table; }
