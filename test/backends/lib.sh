# Shared shell helpers for test/backends/start-*.sh and test/run-all.sh. Source it; do not run it.
#
# Every server a start script launches gets OSP_BACKEND_DIR=<its state dir> in its environment and
# its PID in <dir>/run/<name>.pid. osp_stop_dir stops exactly those processes (pid files, plus any
# process still carrying the marker, e.g. a daemon that forked after writing its pid file), so a
# recycled PID that belongs to someone else is never signalled.

# osp_abs_dir DIR: create DIR and print its absolute path.
osp_abs_dir() {
  mkdir -p "$1" && (cd "$1" && pwd -P)
}

# osp_free_ports N: print N distinct free TCP ports on 127.0.0.1 (chosen by the kernel: port 0).
osp_free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# osp_start_ticks PID: the process's start time in clock ticks since boot; empty if it is gone or
# a zombie (an orphan's zombie lingers until init reaps it, but it is dead).
osp_start_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }   # drop "pid (comm) ": comm may contain spaces
  # shellcheck disable=SC2086
  set -- $stat
  [ "$1" = Z ] || echo "${20}"
}

# osp_owns DIR PID [PIDFILE]: true if PID is alive and was started for DIR: it carries the marker,
# or it started no later than PIDFILE was written (a recycled PID starts after that). The second
# test is for servers that overwrite their environment block with their process title (redis).
osp_owns() {
  grep -qzxF "OSP_BACKEND_DIR=$1" "/proc/$2/environ" 2>/dev/null && return 0
  [ -n "${3:-}" ] && [ -f "$3" ] || return 1
  local ticks btime hz
  ticks=$(osp_start_ticks "$2")
  [ -n "$ticks" ] || return 1
  btime=$(awk '$1 == "btime" {print $2}' /proc/stat)
  hz=$(getconf CLK_TCK)
  (( btime + ticks / hz <= $(stat -c %Y "$3") + 1 ))
}

# osp_marked_pids DIR: PIDs of live processes carrying OSP_BACKEND_DIR=DIR (excluding this shell).
osp_marked_pids() {
  grep -lzxF "OSP_BACKEND_DIR=$1" /proc/[0-9]*/environ 2>/dev/null \
    | sed -n 's#^/proc/\([0-9]*\)/environ$#\1#p' | grep -vxF -e "$$" -e "${BASHPID:-$$}" || true
}

# osp_tree PID: PID and all its descendants, parents first.
osp_tree() {
  ps -e -o pid= -o ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { queue[0] = root; n = 1
          for (i = 0; i < n; i++) { print queue[i]; m = split(kids[queue[i]], k, " ")
                                    for (j = 1; j <= m; j++) queue[n++] = k[j] } }'
}

# osp_stop_dir DIR: SIGTERM every process recorded in DIR/run/*.pid or marked with DIR, wait up to
# OSP_STOP_GRACE seconds (default 5), then SIGKILL what is left. Safe to call when nothing runs.
osp_stop_dir() {
  local dir=$1 grace=${OSP_STOP_GRACE:-5} procs="" pid ticks f i p alive
  for f in "$dir"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(tr -dc '0-9' < "$f" 2>/dev/null || true)
    [ -n "$pid" ] && osp_owns "$dir" "$pid" "$f" && procs="$procs $pid"
  done
  procs="$procs $(osp_marked_pids "$dir" | tr '\n' ' ')"
  # Remember each process as PID:START so a PID recycled while we wait is never signalled.
  # shellcheck disable=SC2086
  procs=$(for pid in $(printf '%s\n' $procs | awk 'NF && !seen[$0]++'); do
    ticks=$(osp_start_ticks "$pid"); [ -n "$ticks" ] && echo "$pid:$ticks"
  done | tr '\n' ' ')
  [ -n "${procs// /}" ] || return 0
  for p in $procs; do kill -TERM "${p%%:*}" 2>/dev/null || true; done
  for ((i = 0; i <= grace * 10; i++)); do
    alive=""
    for p in $procs; do [ "$(osp_start_ticks "${p%%:*}")" = "${p##*:}" ] && alive="$alive $p"; done
    procs=$alive
    [ -z "$procs" ] && break
    sleep 0.1
  done
  for p in $procs; do
    echo "osp: pid ${p%%:*} did not stop within ${grace}s, sending SIGKILL" >&2
    kill -KILL "${p%%:*}" 2>/dev/null || true
  done
  # Anything that forked in the meantime.
  for pid in $(osp_marked_pids "$dir"); do kill -KILL "$pid" 2>/dev/null || true; done
  return 0
}

# osp_wait_until NAME DIR TIMEOUT_S COMMAND...: run COMMAND every 0.25 s until it succeeds. Fails
# early if a process recorded in DIR/run/*.pid has died, and after TIMEOUT_S seconds; either way it
# prints a clear message and the tail of DIR/log/*.log, and returns 1.
osp_wait_until() {
  local name=$1 dir=$2 timeout=$3 deadline f pid why=""
  shift 3
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    for f in "$dir"/run/*.pid; do
      [ -f "$f" ] || continue
      pid=$(tr -dc '0-9' < "$f" 2>/dev/null || true)
      if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then why="process $(basename "$f" .pid) (pid $pid) exited"; fi
    done
    ((SECONDS >= deadline)) && why="not ready after ${timeout}s"
    if [ -n "$why" ]; then
      echo "ERROR: $name: $why (probe: $*)" >&2
      for f in "$dir"/log/*.log; do
        [ -s "$f" ] || continue
        echo "----- tail of $f -----" >&2
        tail -n 30 "$f" >&2
      done
      return 1
    fi
    sleep 0.25
  done
}

# osp_http_answers URL: true if something answers HTTP at URL (any status).
osp_http_answers() {
  local code
  code=$(curl -s --noproxy '*' -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null) || true
  [ -n "$code" ] && [ "$code" != "000" ]
}

# osp_s3_status METHOD URL ACCESS SECRET: send an empty-bodied SigV4-signed (us-east-1) S3 request
# to URL (path-style, no query) and print the HTTP status, 000 if nothing answered.
# Python stdlib rather than curl --aws-sigv4: curl cannot take an access key containing ":" (Swift's
# "test:tester") and omits x-amz-content-sha256, which RGW requires.
osp_s3_status() {
  python3 - "$@" <<'PY'
import datetime, hashlib, hmac, sys, urllib.parse, urllib.request, urllib.error
method, url, ak, sk = sys.argv[1:5]
parts = urllib.parse.urlsplit(url)
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
payload = hashlib.sha256(b"").hexdigest()
headers = {"host": parts.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
signed = ";".join(sorted(headers))
canonical = "\n".join([method, parts.path or "/", ""] + [f"{k}:{headers[k]}" for k in sorted(headers)]
                      + ["", signed, payload])
scope = f"{day}/us-east-1/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + sk).encode()
for part in (day, "us-east-1", "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={signed}, Signature={sig}"
del headers["host"]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only: no proxy
request = urllib.request.Request(url, headers=headers, method=method, data=b"" if method == "PUT" else None)
try:
    with opener.open(request, timeout=10) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print("000")
PY
}

# osp_s3_list_ok ENDPOINT ACCESS SECRET: a signed ListBuckets answers 200.
osp_s3_list_ok() {
  [ "$(osp_s3_status GET "$1/" "$2" "$3")" = 200 ]
}

# osp_spawn DIR NAME COMMAND...: start COMMAND in the background (cwd DIR, marked with DIR, output
# in DIR/log/NAME.log) and record its PID in DIR/run/NAME.pid. `exec` makes $! the server itself.
osp_spawn() {
  local dir=$1 name=$2
  shift 2
  (cd "$dir" && export OSP_BACKEND_DIR="$dir" && exec "$@") </dev/null >"$dir/log/$name.log" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

# osp_prepare DIR SUBDIR...: stop what a previous run left in DIR, then recreate DIR/run, DIR/log
# and the given subdirectories empty (only those: DIR itself may hold other things).
osp_prepare() {
  local dir=$1 sub
  shift
  osp_stop_dir "$dir"
  for sub in run log "$@"; do
    rm -rf "${dir:?}/$sub"
    mkdir -p "$dir/$sub"
  done
}
