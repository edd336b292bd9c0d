#include "relay_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

namespace tn::relay {

namespace {
bool parse_port(const std::string &s, uint16_t *out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + unsigned(ch - '0');
  }
  if (v == 0 || v > 65535) return false;
  *out = uint16_t(v);
  return true;
}
}  // namespace

bool parse_publish(const std::string &spec, Publish *out, std::string *err) {
  auto colon = spec.find(':');
  Publish p;
  if (colon == std::string::npos || !parse_port(spec.substr(0, colon), &p.view_port) ||
      !parse_port(spec.substr(colon + 1), &p.host_port)) {
    *err = "relay: --publish wants VIEWPORT:HOSTPORT (1..65535), got '" + spec + "'";
    return false;
  }
  *out = p;
  return true;
}

bool parse_args(int argc, const char *const *argv, std::vector<Publish> *pubs,
                std::string *err) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i] ? argv[i] : "";
    std::string val;
    if (a == "--publish" || a == "publish") {
      if (i + 1 >= argc || !argv[i + 1]) {
        *err = "relay: --publish needs a value VIEWPORT:HOSTPORT";
        return false;
      }
      val = argv[++i];
    } else if (a.rfind("--publish=", 0) == 0) {
      val = a.substr(10);
    } else if (a.rfind("publish=", 0) == 0) {
      val = a.substr(8);
    } else {
      *err = "relay: unknown option '" + a + "'";
      return false;
    }
    Publish p;
    if (!parse_publish(val, &p, err)) return false;
    for (const auto &q : *pubs)
      if (q.view_port == p.view_port) {
        *err = "relay: port " + std::to_string(p.view_port) + " published twice";
        return false;
      }
    pubs->push_back(p);
  }
  return true;
}

int sockaddr_port(const sockaddr_storage &ss, socklen_t len) {
  if (ss.ss_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in)))
    return ntohs(reinterpret_cast<const sockaddr_in &>(ss).sin_port);
  if (ss.ss_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6)))
    return ntohs(reinterpret_cast<const sockaddr_in6 &>(ss).sin6_port);
  return -1;
}

bool set_sockaddr_port(sockaddr_storage *ss, socklen_t len, uint16_t port) {
  if (ss->ss_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) {
    reinterpret_cast<sockaddr_in *>(ss)->sin_port = htons(port);
    return true;
  }
  if (ss->ss_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6))) {
    reinterpret_cast<sockaddr_in6 *>(ss)->sin6_port = htons(port);
    return true;
  }
  return false;
}

}  // namespace tn::relay

namespace tn::relay {

bool set_sockaddr_loopback(sockaddr_storage *ss, socklen_t len) {
  if (ss->ss_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) {
    reinterpret_cast<sockaddr_in *>(ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return true;
  }
  if (ss->ss_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6))) {
    reinterpret_cast<sockaddr_in6 *>(ss)->sin6_addr = in6addr_loopback;
    return true;
  }
  return false;
}

}  // namespace tn::relay
