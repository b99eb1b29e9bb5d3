#!/usr/bin/env bash
# filesrc on input that never ends and never forms an access unit
# (/dev/zero as H.264) gives up after its scan limit with the byte offset
# instead of spinning in produce() for ever; endless input that is valid
# (/dev/zero as raw video) stops on SIGTERM like any source.
source "$VPIPE_TOP/tests/lib.sh"
# run_watched LOG INI: vpipe run, SIGKILLed by a watchdog after 60 s (exit
# status 137 then fails the test). Sets rc.
run_watched() {
	"$VPIPE" run "$2" 2>"$1" &
	pid=$!
	(sleep 60 && kill -KILL $pid 2>/dev/null) &
	dog=$!
}
finish_watched() {
	rc=0
	wait $pid || rc=$?
	kill $dog 2>/dev/null || true
	cat "$1"
	[ "$rc" != 137 ] || fail "vpipe run did not exit (killed by the watchdog)"
}

cat >"$T/h264.ini" <<INI
[src]
module = filesrc
location = /dev/zero

[out]
module = null
input = src
INI
run_watched "$T/log1" "$T/h264.ini"
finish_watched "$T/log1"
expect_eq "exit status on /dev/zero as H.264" "$rc" 1
expect_grep "src: /dev/zero: byte 0: no H.264 access unit in the 32 MB after it" "$T/log1"

cat >"$T/raw.ini" <<INI
[src]
module = filesrc
location = /dev/zero
format = i420
width = 64
height = 64

[out]
module = filesink
input = src
location = $T/out.yuv
INI
run_watched "$T/log2" "$T/raw.ini"
wait_for test -s "$T/out.yuv"
kill -TERM $pid
finish_watched "$T/log2"
expect_eq "exit status after SIGTERM on endless raw input" "$rc" 0
produced=$(sed -n 's/.*src: frames in=0 out=\([0-9]*\).*/\1/p' "$T/log2")
expect_eq "frames written = frames read" \
	"$(($(stat -c %s "$T/out.yuv") / (64 * 64 * 3 / 2)))" "$produced"
