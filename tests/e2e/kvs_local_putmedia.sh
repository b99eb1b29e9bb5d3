#!/usr/bin/env bash
# kvs-local PutMedia: ACKs in order while the body streams, IDLE acks, every
# limit's ERROR ack, one PutMedia per stream, bad input that must get an
# error or a close while the server keeps serving, and fault injection.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
need ffmpeg
start_kvs_local --idle-interval 300
for s in s1 s2 s3 s4 s5 s6 s7 s8; do
	$PY "$CLIENT" call "$EP" createStream \
		"{\"StreamName\":\"$s\",\"DataRetentionInHours\":1}" | grep -q '^200' ||
		fail "createStream $s"
done
make_clip "$T/clip.mkv" 3

# ACK order, and IDLE while the producer holds the connection
$PY "$CLIENT" putmedia "$EP" s1 "$T/clip.mkv" --expect-fragments 3 --hold 1 \
	--expect-idle 1 >"$T/ok.out" || { cat "$T/ok.out"; fail "PutMedia ACKs"; }
echo "ok: $(tail -n 1 "$T/ok.out")"

# every limit gives its ERROR ack
limit() { # KIND ERRORID STREAM
	$PY "$CLIENT" mkv "$1" "$T/$1.mkv"
	$PY "$CLIENT" putmedia "$EP" "$3" "$T/$1.mkv" --expect-error "$2" \
		--seconds 0.2 >"$T/$1.out" || { cat "$T/$1.out"; fail "$1: want ERROR $2"; }
	echo "ok: $1 -> ERROR $2"
}
limit long-fragment 4002 s2
limit backwards 4004 s3
limit four-tracks 4005 s4
limit many-tags 4009 s5
limit garbage 4006 s6
limit big-fragment 4001 s7
expect_grep MAX_FRAGMENT_SIZE_REACHED "$KVS_LOG"

# fragment tags are recorded (AWS_KINESISVIDEO_NOTIFICATION)
$PY "$CLIENT" mkv tagged "$T/tagged.mkv"
$PY "$CLIENT" putmedia "$EP" s8 "$T/tagged.mkv" --expect-fragments 2 >/dev/null ||
	fail "tagged PutMedia"
cat "$T"/data/streams/s8/f/*.tags 2>/dev/null | grep -q AWS_KINESISVIDEO_NOTIFICATION ||
	fail "fragment tag not recorded"
echo "ok: fragment tags recorded"

# one PutMedia per stream: the second concurrent one is refused
$PY "$CLIENT" putmedia "$EP" s1 "$T/clip.mkv" --hold 3 >"$T/first.out" &
first=$!
sleep 1
$PY "$CLIENT" putmedia "$EP" s1 "$T/clip.mkv" --expect-status 400 >"$T/second.out" ||
	{ cat "$T/second.out"; fail "second PutMedia not refused"; }
wait $first || fail "first PutMedia failed"
expect_grep ConnectionLimitExceededException "$KVS_LOG"

# bad input: each gets an error response or a close; the server lives on
raw() { /usr/bin/python3 -c '
import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=15)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin1"))
try:
    print(s.recv(200).decode(errors="replace").splitlines()[0])
except (IndexError, OSError):
    print("closed")' "${EP##*:}" "$1"; }
r=$(raw 'GARBAGE\r\n\r\n'); echo "malformed: $r"; [[ $r == *400* ]] || fail "malformed HTTP: $r"
r=$(raw "GET / HTTP/1.1\\r\\nX: $(head -c 20000 /dev/zero | tr '\0' a)"); echo "endless header: $r"
[[ $r == *431* || $r == closed ]] || fail "endless header: $r"
r=$(raw 'POST /listStreams HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdefgh\r\n0\r\n\r\n')
echo "lying chunk: $r"; [[ $r == *400* || $r == closed ]] || fail "lying chunk size: $r"
$PY "$CLIENT" call "$EP" listStreams 'not json' >"$T/nj.out"
expect_grep '^400 SerializationException' "$T/nj.out"
$PY "$CLIENT" call "$EP" listStreams '{}' | grep -q '^200' || fail "server stopped serving"
echo "ok: still serving after bad input"
stop_kvs_local

# fault injection: ERROR ack for fragment 2, 5xx for the next 2 requests,
# a PutMedia dropped mid-fragment, refused connections, throttling
start_kvs_local --error-fragment 2 --fail-next 2 --ack-delay 50 --throttle 1
$PY "$CLIENT" call "$EP" listStreams '{}' | grep -q '^500' || fail "--fail-next 1"
$PY "$CLIENT" call "$EP" listStreams '{}' | grep -q '^500' || fail "--fail-next 2"
$PY "$CLIENT" putmedia "$EP" s1 "$T/clip.mkv" --expect-error 5000 >"$T/inj.out" ||
	{ cat "$T/inj.out"; fail "--error-fragment"; }
for i in 1 2 3 4 5 6; do $PY "$CLIENT" call "$EP" listStreams '{}'; done >"$T/thr.out"
expect_grep '^400 ClientLimitExceededException' "$T/thr.out"
stop_kvs_local
start_kvs_local --drop-after 5000
$PY "$CLIENT" putmedia "$EP" s1 "$T/clip.mkv" >"$T/drop.out" || true
expect_grep 'dropping the connection' "$KVS_LOG"
grep -q '"EventType": "RECEIVED"' "$T/drop.out" && fail "fragment RECEIVED despite the drop"
stop_kvs_local
start_kvs_local --refuse-for 60000
if $PY "$CLIENT" call "$EP" listStreams '{}' >"$T/ref.out" 2>&1; then
	grep -q '^200' "$T/ref.out" && fail "connection not refused"
fi
expect_grep 'connection refused' "$KVS_LOG"
stop_kvs_local
echo PASS
