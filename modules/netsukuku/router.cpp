// The router ABI entry (threadnet/router.h): one ntk::Node per create().
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <threadnet/router.h>

#include "node.h"

namespace {

ntk::Node *node(void *self) { return static_cast<ntk::Node *>(self); }

void *r_create(const tn_router_host *host, int argc, const char *const *argv, char *err,
               size_t errcap) {
  auto fail = [&](const std::string &m) -> void * {
    if (err && errcap) std::snprintf(err, errcap, "%s", m.c_str());
    return nullptr;
  };
  if (!host || host->abi_version != TN_ROUTER_ABI_VERSION || host->size < sizeof(tn_router_host))
    return fail("mesh: the router host speaks another router ABI version");
  ntk::Options o;
  std::string e;
  if (argc < 0 || argc % 2 || !ntk::parse_options(argc, argv, &o, &e))
    return fail(e.empty() ? "mesh: options come as --KEY VALUE pairs" : e);
  return new (std::nothrow) ntk::Node(host, o);
}

void r_destroy(void *self) { delete node(self); }
void r_start(void *self) { node(self)->start(); }
void r_receive(void *self, uint32_t ifindex, const tn_router_addr *, uint16_t, const void *buf,
               size_t len) {
  node(self)->receive(ifindex, {static_cast<const uint8_t *>(buf), len});
}
uint64_t r_poll(void *self, uint64_t now) { return node(self)->poll(now); }
void r_link_event(void *self, uint32_t ifindex, int up) { node(self)->link_event(ifindex, up != 0); }
int r_hooked(void *self) { return node(self)->hooked(); }
size_t r_status(void *self, char *buf, size_t cap) {
  std::string s = node(self)->status_json();
  if (buf && cap) std::snprintf(buf, cap, "%s", s.c_str());
  return s.size() + 1;
}

const tn_router kRouter = {
    TN_ROUTER_ABI_VERSION,
    sizeof(tn_router),
    "netsukuku",
    "Netsukuku mesh router (radar, hook, QSPN; --mesh)",
    ntk::kPort,
    ntk::kOptionNames,
    r_create,
    r_destroy,
    r_start,
    r_receive,
    r_poll,
    r_link_event,
    r_hooked,
    r_status,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const tn_router *threadnet_router_v1(void) {
  return &kRouter;
}
