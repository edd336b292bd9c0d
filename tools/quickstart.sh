#!/usr/bin/env bash
# Quickstart: install the dependencies, build, and run an unmodified program in its own
# network view (the embedded default: its own libstack stack with NAT to the host's
# network through slirp://): python3 serves HTTP on port 80 *inside* `threadnet run
# --publish 80:18080`, curl fetches the page from the host on port 18080 and prints its
# title, then the server is stopped (SIGTERM, relayed by threadnet) and the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

TN=build/tools/threadnet
if ! "$TN" modules | grep -q '^umnet'; then
  echo "quickstart: the umnet module was not built (modules/umnet)" >&2
  exit 1
fi

site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
cat >"$site/index.html" <<'HTML'
<!doctype html>
<html><head><title>Hello from a ThreadNet view</title></head>
<body><p>This page is served by an unmodified python3 whose port 80 lives in its own view.</p></body></html>
HTML

echo "quickstart: threadnet run --publish 80:18080 -- python3 -m http.server 80"
"$TN" run --publish 80:18080 -- python3 -m http.server 80 --directory "$site" \
  >"$site/server.log" 2>&1 &
server=$!

page=""
for _ in $(seq 100); do  # at most ~10 s
  if page=$(curl -fsS --max-time 2 http://127.0.0.1:18080/ 2>/dev/null); then break; fi
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.1
done
title=$(printf '%s' "$page" | sed -n 's:.*<title>\(.*\)</title>.*:\1:p')

kill -TERM "$server" 2>/dev/null || true
status=0
wait "$server" || status=$?

if [ -z "$title" ]; then
  echo "quickstart: could not fetch the page; server log:" >&2
  cat "$site/server.log" >&2
  exit 1
fi
echo "quickstart: page title: $title"
echo "quickstart: server stopped (threadnet exit status $status = 128+SIGTERM)"
