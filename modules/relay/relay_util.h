// Pure helpers of the relay module (no system calls): option parsing and socket-address
// port rewriting. Kept apart so unit tests can check them without a supervisor.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tn::relay {

struct Publish {
  uint16_t view_port = 0;  // port the program binds inside the view
  uint16_t host_port = 0;  // port really bound on the host
};

// Parses "VIEWPORT:HOSTPORT" (decimal, 1..65535 each). false + message on error.
bool parse_publish(const std::string &spec, Publish *out, std::string *err);

// Parses the module argv (--publish V:H, repeatable; "--publish=V:H" too).
bool parse_args(int argc, const char *const *argv, std::vector<Publish> *pubs,
                std::string *err);

// Port of an AF_INET/AF_INET6 address of length len; -1 if not such an address.
int sockaddr_port(const sockaddr_storage &ss, socklen_t len);
// Rewrites the port in place; false if not an AF_INET/AF_INET6 address of enough length.
bool set_sockaddr_port(sockaddr_storage *ss, socklen_t len, uint16_t port);
// Rewrites the address to the loopback of its family (127.0.0.1, ::1); false likewise.
bool set_sockaddr_loopback(sockaddr_storage *ss, socklen_t len);

}  // namespace tn::relay
