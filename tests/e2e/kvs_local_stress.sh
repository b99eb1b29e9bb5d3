#!/usr/bin/env bash
# kvs-local with many things at once, for the sanitizers (run it with
# BUILD=build-asan or build-tsan; any report in the server's log fails it):
# PutMedia on three streams, live GetMedia followers, a stalled reader,
# control calls, a stream deleted while its PutMedia is running, and
# SIGTERM while connections are still open: the server stops within the
# test's patience, every thread gone, nothing leaked.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
need ffmpeg
LOAD="$VPIPE_TOP/tests/e2e/kvs_local_load.py"
start_kvs_local --idle-interval 200 --no-rate-limits
for s in sa sb sc; do
	$PY "$CLIENT" call "$EP" createStream \
		"{\"StreamName\":\"$s\",\"DataRetentionInHours\":1}" | grep -q '^200' ||
		fail "createStream $s"
done
make_clip "$T/clip.mkv" 4
pids=()
for s in sa sb sc; do
	$PY "$CLIENT" putmedia "$EP" $s "$T/clip.mkv" --seconds 3 --hold 1 \
		>"$T/put.$s.out" 2>&1 &
	pids+=($!)
done
for i in 1 2; do
	$PY "$LOAD" slowread "$EP" sa 4 512 >"$T/read.$i.out" 2>&1 &
	pids+=($!)
done
sleep 1
for i in 1 2 3 4 5; do
	$PY "$CLIENT" call "$EP" describeStream '{"StreamName":"sb"}' >/dev/null
	$PY "$CLIENT" call "$EP" tagStream "{\"StreamName\":\"sb\",\"Tags\":{\"k$i\":\"v\"}}" >/dev/null
	$PY "$CLIENT" call "$EP" listFragments '{"StreamName":"sa"}' >/dev/null
done &
pids+=($!)
arn=$($PY "$CLIENT" call "$EP" describeStream '{"StreamName":"sc"}' |
	sed 's/^200 *//' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["StreamInfo"]["StreamARN"])')
$PY "$CLIENT" call "$EP" deleteStream "{\"StreamARN\":\"$arn\"}" | grep -q '^200' ||
	fail "deleteStream sc while its PutMedia runs"
for p in "${pids[@]}"; do wait "$p" || true; done
grep -q '"EventType": "PERSISTED"' "$T/put.sa.out" || { cat "$T/put.sa.out"; fail "PutMedia sa"; }
grep -q '"EventType": "PERSISTED"' "$T/put.sb.out" || { cat "$T/put.sb.out"; fail "PutMedia sb"; }
echo "ok: concurrent PutMedia, GetMedia, control calls and a delete"

# a client that pipelines requests for a missing stream and never reads
# the answers: its thread blocks writing, others are still served (the
# answers are written after the store lock is released)
$PY - "$EP" >"$T/pipeline.out" 2>&1 <<'PYEOF' &
import os, sys, time, socket
sys.path.insert(0, os.environ["VPIPE_TOP"] + "/tests/e2e")
from kvs_client import send_call, sign
import urllib.parse
ep = sys.argv[1]
u = urllib.parse.urlparse(ep)
body = b'{"StreamName":"missing"}'
h = sign("POST", ep + "/describeStream", {"Host": u.netloc,
         "Content-Type": "application/json"}, body)
h["Content-Length"] = str(len(body))
req = ("POST /describeStream HTTP/1.1\r\n" + "".join(
    "%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode() + body
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((u.hostname, u.port))
s.settimeout(20)
try:
    s.sendall(req * 30000)
except OSError as e:
    print("send stopped:", e)
time.sleep(4)
print("pipeline done")
PYEOF
pipeline=$!
sleep 2
timeout 5 $PY "$CLIENT" call "$EP" listStreams '{}' | grep -q '^200' ||
	fail "listStreams not answered while a client does not read its answers"
echo "ok: served while another client pipelines without reading"
wait $pipeline || true

# SIGTERM with a live follower, a stalled GetMedia and an idle PutMedia open
$PY "$CLIENT" putmedia "$EP" sb "$T/clip.mkv" --seconds 1 --hold 30 >/dev/null 2>&1 &
held_put=$!
$PY "$LOAD" slowread "$EP" sb 30 64 >/dev/null 2>&1 &
follower=$!
$PY "$CLIENT" hold "$EP" getMedia \
	'{"StreamName":"sa","StartSelector":{"StartSelectorType":"EARLIEST"}}' 1 30 >/dev/null 2>&1 &
stalled=$!
sleep 2
start=$(date +%s)
stop_kvs_local
echo "ok: stopped in $(($(date +%s) - start)) s with connections open"
kill "$held_put" "$follower" "$stalled" 2>/dev/null || true
wait "$held_put" "$follower" "$stalled" 2>/dev/null || true
echo PASS
