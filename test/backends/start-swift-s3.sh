#!/usr/bin/env bash
# Throwaway single-replica OpenStack Swift (Debian 12 packages) with the s3api middleware on 127.0.0.1.
# needs: apt-get install -y --no-install-recommends swift-proxy swift-account swift-container swift-object memcached
# usage: start-swift-s3.sh DIR PORT     S3 credentials: access key "test:tester", secret "testing"
# stop: source lib.sh && osp_stop_dir DIR
# The account/container/object servers and memcached listen on free ports (override with
# SWIFT_ACCOUNT_PORT, SWIFT_CONTAINER_PORT, SWIFT_OBJECT_PORT, MEMCACHE_PORT).
# env: START_TIMEOUT (s, default 90)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
D=$(osp_abs_dir "$1")
PORT=$2
TIMEOUT=${START_TIMEOUT:-90}
read -r p1 p2 p3 p4 <<<"$(osp_free_ports 4)"
ACCOUNT_PORT=${SWIFT_ACCOUNT_PORT:-$p1}
CONTAINER_PORT=${SWIFT_CONTAINER_PORT:-$p2}
OBJECT_PORT=${SWIFT_OBJECT_PORT:-$p3}
MEMCACHE_PORT=${MEMCACHE_PORT:-$p4}

osp_prepare "$D" etc srv
mkdir -p "$D/srv/d1"
trap 'rc=$?; [ "$rc" = 0 ] || osp_stop_dir "$D"' EXIT
E="$D/etc"
for t in "account:$ACCOUNT_PORT" "container:$CONTAINER_PORT" "object:$OBJECT_PORT"; do
  n=${t%%:*}
  p=${t##*:}
  cat > "$E/$n-server.conf" <<CONF
[DEFAULT]
devices = $D/srv
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
swift_dir = $E
log_level = WARNING
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
CONF
  (cd "$E" && swift-ring-builder "$n.builder" create 8 1 1 >/dev/null &&
    swift-ring-builder "$n.builder" add "r1z1-127.0.0.1:$p/d1" 100 >/dev/null &&
    { swift-ring-builder "$n.builder" rebalance >/dev/null || [ $? -eq 1 ]; })   # 1 = warning
done
cat > "$E/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
swift_dir = $E
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
storage_domain = s3.localhost
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHE_PORT
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
CONF
SECONDS=0
osp_spawn "$D" memcached memcached -l 127.0.0.1 -p "$MEMCACHE_PORT" -U 0 -m 64 -u root
for n in account container object proxy; do
  osp_spawn "$D" "$n" "swift-$n-server" "$E/$n-server.conf" -v
done
# The proxy's /healthcheck answers before the storage servers do: probe each, then a signed S3 call.
osp_wait_until swift-proxy "$D" "$TIMEOUT" curl -sf --noproxy "*" -m 5 -o /dev/null "http://127.0.0.1:$PORT/healthcheck"
for p in "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT"; do
  osp_wait_until "swift storage server :$p" "$D" "$((TIMEOUT - SECONDS))" osp_http_answers "http://127.0.0.1:$p/"
done
osp_wait_until "swift s3api (signed request)" "$D" "$((TIMEOUT - SECONDS))" \
  osp_s3_list_ok "http://127.0.0.1:$PORT" "test:tester" testing
echo "swift-s3 ready after ${SECONDS}s: endpoint=http://127.0.0.1:$PORT ak=test:tester sk=testing" \
  "pids=$(cat "$D"/run/*.pid | tr '\n' ' ')"
