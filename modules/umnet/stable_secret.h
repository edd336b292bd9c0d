// The RFC 7217 secret of a user's views (see stable_secret.cpp for the theory of operation).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace umnet {

struct StableSecret {
  std::array<uint8_t, 32> key{};
  bool persistent = false;  // read from or written to `path`; false: random for this run
  std::string path;         // the key file (empty when no location could be found)
  std::string problem;      // why it is not persistent (for a warning), empty otherwise
};

// $XDG_STATE_HOME/threadnet/rfc7217-secret when XDG_STATE_HOME is an absolute path, else
// $HOME/.local/state/threadnet/rfc7217-secret; empty if neither is usable.
std::string stable_secret_path(const char *xdg_state_home, const char *home);

// Reads the key file at `path`, or creates it (directories 0700, file 0600) with a key from
// getrandom(). A missing location, an unwritable directory, or a file that is not a
// regular file of ours, private, holding exactly one key, gives a random key for this run
// only (persistent = false, `problem` says why).
StableSecret load_stable_secret(const std::string &path);

}  // namespace umnet
