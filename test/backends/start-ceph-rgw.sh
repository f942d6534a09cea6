#!/usr/bin/env bash
# Throwaway single-node Ceph (mon + memstore OSD) + radosgw (S3) on 127.0.0.1, no systemd.
# needs: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd
# usage: start-ceph-rgw.sh DIR PORT      stop: source lib.sh && osp_stop_dir DIR
#
# Users: uid "proxy" (RGW_ACCESS_KEY / RGW_SECRET_KEY) and uid "alt" (RGW_ALT_ACCESS_KEY /
# RGW_ALT_SECRET_KEY), defaults below. Admin: radosgw-admin -c DIR/ceph.conf ...
# The mon listens on MON_PORT (default: a free port) and the OSD on free ports in 6800-7300 (ceph
# skips busy ones), so several clusters can run side by side.
# Without the `ms * mode = crc` lines radosgw never finishes starting.
# env: START_TIMEOUT (s, default 180), MON_PORT, RGW_*_KEY
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
D=$(osp_abs_dir "$1")
RGW_PORT=$2
TIMEOUT=${START_TIMEOUT:-180}
AK=${RGW_ACCESS_KEY:-TESTACCESSKEY0000001}
SK=${RGW_SECRET_KEY:-testsecretkey0000000000000000000000000001}
ALT_AK=${RGW_ALT_ACCESS_KEY:-ALTACCESSKEY00000001}
ALT_SK=${RGW_ALT_SECRET_KEY:-altsecretkey000000000000000000000000000001}
MON_PORT=${MON_PORT:-$(osp_free_ports 1)}

osp_prepare "$D" mon.a osd.0 rgw
rm -f "$D/ceph.conf" "$D/monmap"
trap 'rc=$?; [ "$rc" = 0 ] || osp_stop_dir "$D"' EXIT
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF="$D/ceph.conf"
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon pg warn min per osd = 0
mon max pg per osd = 1000
osd objectstore = memstore
memstore device bytes = 1073741824
osd max object name len = 460
osd max object namespace len = 64
run dir = $D/run
pid file = $D/run/\$name.pid
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
keyring = /dev/null
[mon.a]
mon data = $D/mon.a
[osd.0]
osd data = $D/osd.0
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = s3.localhost
rgw data = $D/rgw
CONF
export CEPH_CONF="$CONF"
SECONDS=0
deadline=$TIMEOUT
left() { local l=$((deadline - SECONDS)); echo $((l > 1 ? l : 1)); }
# Ceph daemons fork and write their own pid files (DIR/run/<name>.pid); the marker in their
# environment lets osp_stop_dir find them even before that.
daemon() { OSP_BACKEND_DIR="$D" "$@" </dev/null >>"$D/log/daemons.log" 2>&1; }
admin() { timeout "$(left)" "$@" 2>>"$D/log/admin.log"; }
fail() {
  echo "ERROR: ceph-rgw: $1" >&2
  for f in "$D/log/admin.log" "$D/log/daemons.log" "$D/log/$2.log"; do
    [ -s "$f" ] && { echo "----- tail of $f -----"; tail -n 30 "$f"; } >&2
  done
  exit 1
}

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$D/monmap" >>"$D/log/daemons.log" 2>&1 || fail "mon mkfs failed" mon.a
daemon ceph-mon -c "$CONF" -i a || fail "ceph-mon did not start" mon.a
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(admin ceph -c "$CONF" --connect-timeout "$(left)" osd new "$OSD_UUID") \
  || fail "'ceph osd new' failed (mon on 127.0.0.1:$MON_PORT not answering?)" mon.a
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$D/log/daemons.log" 2>&1 \
  || fail "osd mkfs failed" "osd.$OSD_ID"
daemon ceph-osd -c "$CONF" -i "$OSD_ID" || fail "ceph-osd did not start" "osd.$OSD_ID"
osd_up() { timeout 10 ceph -c "$CONF" --connect-timeout 5 osd stat 2>/dev/null | grep -q " 1 up"; }
osp_wait_until "ceph osd.$OSD_ID" "$D" "$(left)" osd_up
daemon radosgw -c "$CONF" -n client.rgw.a || fail "radosgw did not start" client.rgw.a
osp_wait_until radosgw "$D" "$(left)" osp_http_answers "http://127.0.0.1:$RGW_PORT/"
admin radosgw-admin -c "$CONF" user create --uid=proxy --display-name=proxy \
  --access-key="$AK" --secret-key="$SK" >/dev/null || fail "radosgw-admin user create proxy failed" client.admin
admin radosgw-admin -c "$CONF" user create --uid=alt --display-name=alt \
  --access-key="$ALT_AK" --secret-key="$ALT_SK" >/dev/null || fail "radosgw-admin user create alt failed" client.admin
osp_wait_until "radosgw (signed request as proxy)" "$D" "$(left)" \
  osp_s3_list_ok "http://127.0.0.1:$RGW_PORT" "$AK" "$SK"
osp_wait_until "radosgw (signed request as alt)" "$D" "$(left)" \
  osp_s3_list_ok "http://127.0.0.1:$RGW_PORT" "$ALT_AK" "$ALT_SK"
# The first bucket makes radosgw create its bucket pools (~4 s): pay that here, not in a test.
warm="http://127.0.0.1:$RGW_PORT/osp-warmup-$$"
[ "$(osp_s3_status PUT "$warm" "$AK" "$SK")" = 200 ] && [ "$(osp_s3_status DELETE "$warm" "$AK" "$SK")" = 204 ] \
  || fail "warm-up bucket create/delete failed" client.rgw.a
echo "ceph-rgw ready after ${SECONDS}s: endpoint=http://127.0.0.1:$RGW_PORT conf=$CONF" \
  "pids=$(cat "$D"/run/*.pid | tr '\n' ' ')"
