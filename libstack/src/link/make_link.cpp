// make_link: turns a link URL into a Link (see links.h for the accepted forms).
//
// Theory of operation: "tap:NAME"/"tun:NAME" (no "//") select our own TapLink on the kernel
// device; anything with "SCHEME://" or a bare path goes to libvdeplug unchanged, so every
// installed vdeplug4 plugin (including libvdeplug's own tap://) works. An optional pcap
// path wraps the result in a PcapLink.
#include <cerrno>

#include "libstack/links.h"

namespace libstack {

std::unique_ptr<Link> make_link(std::string_view url, const LinkOptions& opts,
                                std::string* error, int* sys_errno) {
  if (sys_errno) *sys_errno = 0;
  auto fail = [&](std::string msg) -> std::unique_ptr<Link> {
    if (error) *error = std::move(msg);
    return nullptr;
  };
  if (url.empty()) return fail("link URL is empty (expected tap:NAME, tun:NAME, SCHEME://...)");
  if (opts.mtu < 68 || opts.mtu > kMaxLinkMtu)
    return fail("link MTU " + std::to_string(opts.mtu) + " out of range [68, 65535]");
  std::unique_ptr<Link> link;
  std::string err;
  size_t colon = url.find(':');
  bool has_scheme_slashes = url.find("://") != std::string_view::npos;
  if (!has_scheme_slashes && colon != std::string_view::npos) {
    std::string_view scheme = url.substr(0, colon);
    std::string_view rest = url.substr(colon + 1);
    if (scheme == "tap" || scheme == "tun") {
      if (rest.empty())
        return fail("link URL '" + std::string(url) + "': missing interface name after '" +
                    std::string(scheme) + ":'");
      link = TapLink::open(rest, opts.mtu, &err, scheme == "tun", opts.tap_offload && scheme == "tap");
    } else {
      return fail("link URL '" + std::string(url) + "': unknown scheme '" +
                  std::string(scheme) +
                  ":' (expected tap:NAME, tun:NAME, or a libvdeplug SCHEME://...)");
    }
  } else if (has_scheme_slashes || url.front() == '/' || url.front() == '.') {
    if (has_scheme_slashes && url.find("://") == 0)
      return fail("link URL '" + std::string(url) + "': missing scheme before '://'");
    link = VdeLink::open(url, opts.mtu, &err, opts.descr);
  } else {
    return fail("link URL '" + std::string(url) +
                "': not understood (expected tap:NAME, tun:NAME, SCHEME://... or /path)");
  }
  if (!link) {
    if (sys_errno) *sys_errno = errno;  // as the failed open left it
    return fail(std::move(err));
  }
  if (!opts.pcap_path.empty()) {
    auto p = PcapLink::open(std::move(link), opts.pcap_path, &err, opts.pcap_wall_offset);
    if (!p) return fail(std::move(err));
    return p;
  }
  return link;
}

}  // namespace libstack
