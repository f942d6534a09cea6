#!/usr/bin/env bash
# moto S3 server (python3 -m moto.server) on 127.0.0.1. Accepts any credentials; checks no signatures.
# usage: start-moto.sh DIR PORT        stop: source lib.sh && osp_stop_dir DIR
# env: START_TIMEOUT (s, default 60)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
D=$(osp_abs_dir "$1")
PORT=$2
TIMEOUT=${START_TIMEOUT:-60}

osp_prepare "$D"
trap 'rc=$?; [ "$rc" = 0 ] || osp_stop_dir "$D"' EXIT
SECONDS=0
osp_spawn "$D" moto python3 -m moto.server -H 127.0.0.1 -p "$PORT"
osp_wait_until moto "$D" "$TIMEOUT" osp_s3_list_ok "http://127.0.0.1:$PORT" test test
echo "moto ready after ${SECONDS}s: endpoint=http://127.0.0.1:$PORT pid=$(cat "$D/run/moto.pid")"
