#!/usr/bin/env bash
# redis-server on 127.0.0.1, configured as exact presigned limits need (README "Shared Redis"):
# AOF with fsync every second, and no eviction of keys at maxmemory.
# usage: start-redis.sh DIR PORT       stop: source lib.sh && osp_stop_dir DIR
# env: START_TIMEOUT (s, default 30)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
D=$(osp_abs_dir "$1")
PORT=$2
TIMEOUT=${START_TIMEOUT:-30}

redis_ping() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3>&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

osp_prepare "$D" data
trap 'rc=$?; [ "$rc" = 0 ] || osp_stop_dir "$D"' EXIT
SECONDS=0
osp_spawn "$D" redis redis-server --bind 127.0.0.1 --port "$PORT" --dir "$D/data" \
  --save '' --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
  --daemonize no --protected-mode yes --loglevel warning
osp_wait_until redis "$D" "$TIMEOUT" redis_ping
echo "redis ready after ${SECONDS}s: url=redis://127.0.0.1:$PORT pid=$(cat "$D/run/redis.pid")"
