#!/usr/bin/env bash
# S3 down for 20 s while a camera makes a picture a second: with room in
# the queue every picture made meanwhile is stored once S3 is back; with a
# 5-object queue the oldest are dropped and counted, and everything not
# dropped is stored. The camera's chain never waits for S3.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/s3.sh"
start_s3rver s3 roomy,tight
port=$S3_PORT

s3node() { # NAME BUCKET QUEUE
	cat <<INI
[$1]
module = s3
input = img
bucket = $2
endpoint = $S3_URL
access-key = $S3_KEY
secret-key = $S3_SECRET
key-template = {stream}/{seq}.{ext}
max-pending = $3
retry-delay = 200ms
retry-max-delay = 2s
connection-timeout = 1s
flush-timeout = 20s
INI
}
{
	cat <<INI
[cam]
module = testsrc
width = 160
height = 120
framerate = 5
num-frames = 180
is-live = true

[img]
module = image
input = cam
interval = 1s
stream-name = gate
INI
	s3node roomy roomy 64
	s3node tight tight 5
} >"$T/g.ini"

"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 &
vp=$!
at_exit "kill $vp 2>/dev/null"
sleep 6
kill "$S3_PID"
wait "$S3_PID" 2>/dev/null || true
echo "s3rver stopped at $(date +%T)"
sleep 20
start_s3rver s3 roomy,tight "$port"
echo "s3rver back at $(date +%T)"
wait "$vp" || { cat "$T/run.log"; fail "vpipe run"; }

images=$(sed -n 's/.* img: .*images_total=\([0-9]*\).*/\1/p' "$T/run.log")
count() { find "$T/s3-data/$1" -name '*.jpg._S3rver_object' | wc -l; }
stat_of() { sed -n "s/.* $1: frames.* $2=\([0-9]*\).*/\1/p" "$T/run.log"; }
roomy=$(count roomy)
tight=$(count tight)
dropped=$(stat_of tight dropped_objects_total)
echo "pictures made: $images; stored: roomy $roomy, tight $tight (dropped $dropped)"
[ "$images" -ge 33 ] || fail "only $images pictures in 36 s"
expect_eq "roomy queue: every picture stored" "$roomy" "$images"
expect_eq "roomy queue: dropped" "$(stat_of roomy dropped_objects_total)" ""
if [ "${dropped:-0}" -lt 10 ]; then
	tail -40 "$T/run.log"
	fail "tight queue dropped ${dropped:-0} of ~20 pictures made during the outage"
fi
expect_eq "tight queue: stored + dropped" "$((tight + dropped))" "$images"
expect_grep "roomy: PUT s3://roomy/gate/.*retrying with backoff" "$T/run.log"
expect_grep "roomy: uploads to s3://roomy work again" "$T/run.log"
expect_grep "tight: queue full (5 objects): dropped the oldest" "$T/run.log"
expect_grep "cam->img .*drops=0" "$T/run.log"
# The picture node never waited for S3 (its frames are not held by uploads).
busy=$(sed -n 's/.* img: frames.* busy=\([0-9]*\)\..*/\1/p' "$T/run.log")
[ "$busy" -lt 5 ] || fail "the image node was busy ${busy} s: it waited for uploads"
echo "ok: the image node was busy ${busy} s in 36 s"
