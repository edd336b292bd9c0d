#!/usr/bin/env bash
# nginx (no daemon, generated config, unprivileged port) under relay serving a 100 MB
# file; curl fetches it natively and under relay; sha256 compared.
. "$(dirname "$0")/lib.sh"
need curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip "nginx not installed"
D=$WORK/nginx
mkdir -p "$D/www" "$D/tmp" "$D/logs"
head -c $((100 << 20)) /dev/urandom >"$D/www/big"
want=$(sha256sum <"$D/www/big" | cut -d' ' -f1)
P=$(free_port)
cat >"$D/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $D/logs/error.log warn;
pid $D/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $D/tmp/body;
  proxy_temp_path $D/tmp/proxy;
  fastcgi_temp_path $D/tmp/fastcgi;
  uwsgi_temp_path $D/tmp/uwsgi;
  scgi_temp_path $D/tmp/scgi;
  sendfile on;
  server {
    listen 127.0.0.1:$P;
    root $D/www;
  }
}
CONF
bg "$TN" run -m "$RELAY_MOD" "${ROOTCAPS[@]}" -- "$NGINX" -p "$D" -c "$D/nginx.conf" -e "$D/logs/error.log"
NG=$!
wait_port "$P"
got=$(timeout 120 curl -sS --fail http://127.0.0.1:$P/big | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "native curl: checksum mismatch"
got=$(timeout 120 "$TN" run -m "$RELAY_MOD" -- curl -sS --fail http://127.0.0.1:$P/big | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "curl under relay: checksum mismatch"
# Keep-alive: several requests on one connection.
n=$(timeout 60 curl -sS --fail -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
    http://127.0.0.1:$P/big http://127.0.0.1:$P/big http://127.0.0.1:$P/big | awk '{s += $1} END {print s}')
[ "$n" = 1 ] || fail "keep-alive: $n connections for 3 requests"
kill -0 $NG 2>/dev/null || fail "nginx died: $(cat "$D/logs/error.log")"
stop $NG
echo "nginx: ok"
