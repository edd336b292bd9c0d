/*
 * ThreadNet router ABI, version 1: a routing protocol (the Netsukuku mesh router,
 * modules/netsukuku/) that runs one node on one network stack of a view.
 *
 * A router is a shared object loaded at run time, found like the other modules
 * (`threadnet-NAME.so` in the module directories; `threadnet modules` lists it) and
 * exporting one C symbol:
 *
 *     const struct tn_router *threadnet_router_v1(void);
 *
 * The stack's owner (umnet, for `--mesh`; the mesh simulator for thousands of nodes in one
 * process) gives the router a `tn_router_host`: the small interface a router needs from a
 * stack. The router never sees the stack itself: it sends and receives datagrams on its
 * own UDP port on each interface, asks for a wake-up, adds and removes addresses, and
 * installs multipath routes. Everything runs on the owner's single event-loop thread, in
 * the owner's memory: no thread per node, no global state in the router (every call gets
 * its `self`), so thousands of nodes can live in one process.
 *
 * Time is the owner's clock (CLOCK_MONOTONIC nanoseconds in a view; a manual clock in the
 * simulator) and randomness the owner's generator: a router reads neither itself.
 *
 * Compatibility: tables only grow at their end; `size` lets either side see an older
 * partner (as in module.h).
 */
#ifndef THREADNET_ROUTER_H
#define THREADNET_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TN_ROUTER_ABI_VERSION 1u
#define TN_ROUTER_SYMBOL "threadnet_router_v1"

/* An address: family 4 or 6; IPv4 in the first 4 bytes of `b`. */
struct tn_router_addr {
  uint8_t family;
  uint8_t b[16];
};

/* One interface of the stack the router may use (every one but loopback). */
struct tn_router_if {
  uint32_t ifindex;
  uint32_t mtu;
  uint8_t mac[6];
  uint8_t up; /* link up */
  char name[16];
};

/* One next hop of a multipath route: a neighbour's address on an interface, a weight
 * (1..256, higher carries more flows). */
struct tn_router_nexthop {
  struct tn_router_addr gateway;
  uint32_t ifindex;
  uint16_t weight;
};

/* At most this many next hops in one route (the stack's limit). */
#define TN_ROUTER_MAX_NEXTHOPS 24

struct tn_router_host {
  uint32_t abi_version; /* TN_ROUTER_ABI_VERSION */
  uint32_t size;        /* sizeof(struct tn_router_host) as built by the owner */
  void *ctx;            /* passed back as the first argument */

  uint64_t (*now_ns)(void *ctx);
  uint64_t (*random_u64)(void *ctx);
  /* Call the router's poll() at `at_ns` at the latest (earlier calls are allowed). */
  void (*wakeup)(void *ctx, uint64_t at_ns);

  /* The stack's interfaces (loopback excluded); returns the count (may exceed max). */
  int (*interfaces)(void *ctx, struct tn_router_if *out, int max);

  /* A datagram from the router's UDP port on interface `ifindex` to `dst`:`port`. `dst`
   * may be the IPv4 limited broadcast 255.255.255.255 or an IPv6 link-local multicast
   * address (all neighbours on that link), or a neighbour's address. 0 or -errno (a full
   * queue is -ENOBUFS: the datagram is dropped, as on a real link). */
  int (*send)(void *ctx, uint32_t ifindex, const struct tn_router_addr *dst, uint16_t port,
              const void *buf, size_t len);

  /* The node's own address (from the hook): added to / removed from an interface, with
   * the prefix length of the realm (e.g. 10.0.0.0/8: 8). 0 or -errno. */
  int (*add_address)(void *ctx, uint32_t ifindex, const struct tn_router_addr *a, uint8_t plen);
  int (*del_address)(void *ctx, uint32_t ifindex, const struct tn_router_addr *a, uint8_t plen);

  /* Install (replace) the route to dst/plen with n next hops (1..TN_ROUTER_MAX_NEXTHOPS,
   * best first); the stack spreads flows over them by a flow hash, so a connection keeps
   * one path. n == 0 removes the route. Routes of the router are its own: the owner never
   * mixes them with static ones of the same prefix. 0 or -errno. */
  int (*set_route)(void *ctx, const struct tn_router_addr *dst, uint8_t plen,
                   const struct tn_router_nexthop *hops, int n);

  /* A line for the user (e.g. `--mesh-verbose`) or the trace; may be NULL. */
  void (*log)(void *ctx, const char *line);
};

/* What a router reports to its owner (all may be NULL). */
struct tn_router {
  uint32_t abi_version; /* TN_ROUTER_ABI_VERSION */
  uint32_t size;        /* sizeof(struct tn_router) as built by the router */
  const char *name;     /* "netsukuku" */
  const char *summary;  /* one line for `threadnet modules` */
  uint16_t port;        /* its UDP port on every interface (the owner binds it) */

  /* Options it takes after `--mesh` (NULL-terminated, "KEY=" takes a value), for
   * `--help` and the option tables, e.g. {"mesh-radar-interval=", ...}. */
  const char *const *options;

  /* A node on the owner's stack. argv: "--KEY" "VALUE" pairs of the options above.
   * NULL with a one-line message in err on error. */
  void *(*create)(const struct tn_router_host *host, int argc, const char *const *argv,
                  char *err, size_t errcap);
  void (*destroy)(void *self);

  /* Start: the node's first radar scan and hook. */
  void (*start)(void *self);
  /* A datagram that arrived on the router's port of interface `ifindex`. */
  void (*receive)(void *self, uint32_t ifindex, const struct tn_router_addr *src, uint16_t sport,
                  const void *buf, size_t len);
  /* Timers: do what is due at now_ns; returns the next deadline (UINT64_MAX: none). */
  uint64_t (*poll)(void *self, uint64_t now_ns);
  /* An interface came up or went down (or appeared). */
  void (*link_event)(void *self, uint32_t ifindex, int up);

  /* Has the node an address of its own (hooked)? The owner waits for it before starting
   * the program (--wait-net). */
  int (*hooked)(void *self);
  /* The node's state as one JSON object (address, levels, neighbours with RTTs, routes
   * count, rounds, counters) into buf; returns the length needed. */
  size_t (*status)(void *self, char *buf, size_t cap);
};

typedef const struct tn_router *(*tn_router_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* THREADNET_ROUTER_H */
