#!/usr/bin/env bash
# `npm test`: install what is missing, start real S3 servers on 127.0.0.1, type-check, run jest.
#
# usage: bash test/run-all.sh [JEST ARGS...]       e.g. npm test -- test/e2e/backends-smoke.test.ts
#
# 1. `npm ci` when node_modules is missing or older than package-lock.json; Debian packages
#    (radosgw, ceph-mon, ceph-osd, swift-*, memcached, redis-server, s3cmd) when their binaries are missing.
# 2. Starts the selected backends in parallel (test/backends/start-*.sh), each on a free port chosen
#    by the kernel, and runs `tsc --noEmit`, `eslint .` and `prettier --check .` meanwhile. A type,
#    lint or format error fails the run (`npm run format` fixes the format).
# 3. Runs `npx jest "$@"` with the variables below exported; exits with jest's exit code.
# 4. On exit (also on failure, Ctrl-C or SIGTERM) stops every server it started, by PID: SIGTERM,
#    up to 5 s grace, then SIGKILL. State and logs live in a fresh /tmp/osp-test.XXXXXX directory
#    (short path: Ceph's admin sockets must fit in 107 bytes); it is deleted after a green run and
#    kept (path printed) after a red one. A run killed with SIGKILL leaves its servers behind: the
#    next run stops them (it sweeps /tmp/osp-test.* whose owning run-all.sh is gone).
#
# Input:
#   OSP_TEST_BACKENDS   comma-separated subset of moto,rgw,swift,redis (default: all). Variables of
#                       backends not started stay unset, so tests that need them fail (never skip).
#   START_TIMEOUT       per-backend start timeout in seconds (defaults: rgw 180, swift 90, moto 60,
#                       redis 30).
#
# Exported to jest (read them through test/helpers/backends.ts):
#   OSP_TEST_STATE_DIR           state root; PID files are $OSP_TEST_STATE_DIR/<backend>/run/*.pid,
#                                logs $OSP_TEST_STATE_DIR/<backend>/log/*.log
#   OSP_TEST_MOTO_ENDPOINT       http://127.0.0.1:PORT   (moto: any credentials, no signature checks)
#   OSP_TEST_RGW_ENDPOINT        http://127.0.0.1:PORT   (Ceph radosgw: verifies SigV4 strictly)
#   OSP_TEST_RGW_ACCESS_KEY      user "proxy"
#   OSP_TEST_RGW_SECRET_KEY
#   OSP_TEST_RGW_ALT_ACCESS_KEY  user "alt" (a second, unrelated user for multi-user tests)
#   OSP_TEST_RGW_ALT_SECRET_KEY
#   OSP_TEST_RGW_CONF            ceph.conf for `radosgw-admin -c "$OSP_TEST_RGW_CONF" ...`
#   OSP_TEST_SWIFT_ENDPOINT      http://127.0.0.1:PORT   (OpenStack Swift + s3api: strict SigV4)
#   OSP_TEST_SWIFT_ACCESS_KEY    test:tester
#   OSP_TEST_SWIFT_SECRET_KEY    testing
#   OSP_TEST_REDIS_URL           redis://127.0.0.1:PORT
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=backends/lib.sh
. test/backends/lib.sh

say() { echo "[run-all] $*" >&2; }
T0=$SECONDS

ALL_BACKENDS="moto rgw swift redis"
BACKENDS=$(echo "${OSP_TEST_BACKENDS:-$ALL_BACKENDS}" | tr ',' ' ')
for b in $BACKENDS; do
  case " $ALL_BACKENDS " in *" $b "*) ;; *) say "OSP_TEST_BACKENDS: unknown backend '$b' (known: $ALL_BACKENDS)"; exit 2 ;; esac
done
selected() { case " $BACKENDS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---- 1. dependencies ---------------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "node_modules missing or older than package-lock.json: npm ci"
  npm ci --no-audit --no-fund
fi

# The project's own Node (issue [11]): the `node` devDependency (Node 24) runs tsc, eslint and jest
# even where the machine's node is older; the unit suite runs once more under `node22` (Node 22).
export PATH="$ROOT/node_modules/.bin:$PATH"
export OSP_TEST_NODE_LINE=node

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
APT_PACKAGES="radosgw ceph-mon ceph-osd swift-proxy swift-account swift-container swift-object memcached redis-server awscli chromium s3cmd"
need_bins="curl python3 chromium s3cmd"  # chromium: the browser POST upload test; s3cmd: SigV2 signurl test
selected rgw && need_bins="$need_bins monmaptool ceph-mon ceph-osd ceph radosgw radosgw-admin"
selected swift && need_bins="$need_bins swift-ring-builder swift-proxy-server swift-account-server swift-container-server swift-object-server memcached"
selected redis && need_bins="$need_bins redis-server"
missing=""
for bin in $need_bins; do command -v "$bin" >/dev/null 2>&1 || missing="$missing $bin"; done
# aws-cli v2 from Debian (the body-mode tests run both it and the pip aws-cli v1 found on PATH).
[ -x /usr/bin/aws ] || missing="$missing /usr/bin/aws"
if [ -n "$missing" ]; then
  say "missing:$missing -> apt-get install $APT_PACKAGES curl python3"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  # shellcheck disable=SC2086
  as_root apt-get install -y -q --no-install-recommends $APT_PACKAGES curl python3
fi
if selected moto && ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  say "python module moto.server missing: pip install 'moto[server]'"
  python3 -m pip install -q 'moto[server]'
fi

# ---- 2. state, cleanup -------------------------------------------------------------------------
# Stop what runs whose owner is gone (killed with SIGKILL, machine hiccup) left behind.
# Their directories (logs of red runs) are deleted once they are an hour old.
for old in /tmp/osp-test.*; do
  [ -f "$old/owner" ] || continue
  read -r opid oticks < "$old/owner" || continue
  [ "$(osp_start_ticks "$opid")" = "$oticks" ] && continue   # that run is still going
  if [ ! -f "$old/stopped" ]; then
    for d in "$old"/*/; do osp_stop_dir "${d%/}" & done
    wait
    touch "$old/stopped"
  fi
  [ -n "$(find "$old/owner" -mmin +60)" ] && rm -rf "$old"
done

STATE=$(mktemp -d /tmp/osp-test.XXXXXX)
echo "$$ $(osp_start_ticks $$)" > "$STATE/owner"
declare -A STARTER=()   # backend -> PID of its start script
HELPERS=""              # PIDs of tsc / jest while they run

cleanup() {
  local rc=$? pid b
  trap - EXIT
  trap '' INT TERM HUP   # a second Ctrl-C must not cut the cleanup short
  # jest/tsc (npx -> sh -> node -> workers) and unfinished start scripts, with their children.
  local tree=""
  for pid in $HELPERS "${STARTER[@]}"; do tree="$tree $(osp_tree "$pid" | tr '\n' ' ')"; done
  # shellcheck disable=SC2086
  if [ -n "${tree// /}" ]; then
    kill -TERM $tree 2>/dev/null || true
    for pid in $tree; do
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  for b in $BACKENDS; do osp_stop_dir "$STATE/$b" & done
  wait
  touch "$STATE/stopped"
  if [ "$rc" = 0 ]; then rm -rf "$STATE"; else say "exit $rc; backend logs kept in $STATE/*/log"; fi
  say "total ${SECONDS}s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- 3. start backends and tsc in parallel -------------------------------------------------------
read -r -a PORTS <<<"$(osp_free_ports 4)"
declare -A PORT=([moto]=${PORTS[0]} [rgw]=${PORTS[1]} [swift]=${PORTS[2]} [redis]=${PORTS[3]})
declare -A SCRIPT=([moto]=start-moto.sh [rgw]=start-ceph-rgw.sh [swift]=start-swift-s3.sh [redis]=start-redis.sh)
export RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-TESTACCESSKEY0000001}
export RGW_SECRET_KEY=${RGW_SECRET_KEY:-testsecretkey0000000000000000000000000001}
export RGW_ALT_ACCESS_KEY=${RGW_ALT_ACCESS_KEY:-ALTACCESSKEY00000001}
export RGW_ALT_SECRET_KEY=${RGW_ALT_SECRET_KEY:-altsecretkey000000000000000000000000000001}

say "starting $BACKENDS (state in $STATE)"
for b in $BACKENDS; do
  bash "test/backends/${SCRIPT[$b]}" "$STATE/$b" "${PORT[$b]}" >"$STATE/$b.out" 2>&1 &
  STARTER[$b]=$!
done
(npx tsc -p tsconfig.json --noEmit && npx eslint . && npx prettier --check --log-level warn .) >"$STATE/tsc.out" 2>&1 &
TSC=$!
HELPERS=$TSC

if ! wait "$TSC"; then
  say "type check, lint or format check failed (npx tsc -p tsconfig.json --noEmit && npx eslint . && npx prettier --check .; npm run format fixes the format):"
  cat "$STATE/tsc.out" >&2
  exit 2
fi
HELPERS=""
failed=""
for b in $BACKENDS; do
  if wait "${STARTER[$b]}"; then
    say "$(tail -n 1 "$STATE/$b.out")"
  else
    failed="$failed $b"
    say "FAILED to start $b:"
    cat "$STATE/$b.out" >&2
  fi
  unset "STARTER[$b]"
done
[ -z "$failed" ] || { say "backends failed to start:$failed"; exit 3; }
say "backends started after $((SECONDS - T0))s"

# ---- 4. jest -----------------------------------------------------------------------------------
export OSP_TEST_STATE_DIR="$STATE"
if selected moto; then export OSP_TEST_MOTO_ENDPOINT="http://127.0.0.1:${PORT[moto]}"; fi
if selected rgw; then
  export OSP_TEST_RGW_ENDPOINT="http://127.0.0.1:${PORT[rgw]}"
  export OSP_TEST_RGW_ACCESS_KEY="$RGW_ACCESS_KEY" OSP_TEST_RGW_SECRET_KEY="$RGW_SECRET_KEY"
  export OSP_TEST_RGW_ALT_ACCESS_KEY="$RGW_ALT_ACCESS_KEY" OSP_TEST_RGW_ALT_SECRET_KEY="$RGW_ALT_SECRET_KEY"
  export OSP_TEST_RGW_CONF="$STATE/rgw/ceph.conf"
fi
if selected swift; then
  export OSP_TEST_SWIFT_ENDPOINT="http://127.0.0.1:${PORT[swift]}"
  export OSP_TEST_SWIFT_ACCESS_KEY="test:tester" OSP_TEST_SWIFT_SECRET_KEY="testing"
fi
if selected redis; then export OSP_TEST_REDIS_URL="redis://127.0.0.1:${PORT[redis]}"; fi

# In the background so that INT/TERM reach our traps at once (bash defers traps while a
# foreground child runs); cleanup() stops jest too.
npx jest --json --outputFile="$STATE/jest-results.json" "$@" &
HELPERS=$!
rc=0
wait "$HELPERS" || rc=$?
HELPERS=""
results="$STATE/jest-results.json"
# The unit suite under the oldest supported Node line too, on a whole run (no jest arguments) or
# when OSP_TEST_NODE22=1.
if [ $# -eq 0 ] || [ "${OSP_TEST_NODE22:-}" = 1 ]; then
  say "unit suite under Node 22 ($(node_modules/node22/bin/node --version))"
  OSP_TEST_NODE_LINE=node22 node_modules/node22/bin/node node_modules/jest/bin/jest.js --selectProjects unit \
    --json --outputFile="$STATE/jest-results-node22.json" &
  HELPERS=$!
  wait "$HELPERS" || rc=$((rc == 0 ? 1 : rc))
  HELPERS=""
  results="$results $STATE/jest-results-node22.json"
fi
# One plain closing line that CI and people can read: "tests: N passed, N failed, N skipped".
# shellcheck disable=SC2086
node -e '
  let passed = 0, failed = 0, skipped = 0, total = 0;
  for (const file of process.argv.slice(1)) {
    const r = require(file);
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests; total += r.numTotalTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (total === 0) console.log("no test ran");
' $results 2>/dev/null || say "jest wrote no results"
exit "$rc"
