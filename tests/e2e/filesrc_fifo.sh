#!/usr/bin/env bash
# filesrc on a FIFO: without a writer it waits, and a stop ends the wait
# (open() and read() would block where no signal reaches); with a writer
# it reads the stream through to the writer's end.
source "$VPIPE_TOP/tests/lib.sh"
mkfifo "$T/fifo"
cat >"$T/g.ini" <<INI
[src]
module = filesrc
location = $T/fifo

[out]
module = filesink
input = src
location = $T/out.h264
INI

# 1. No writer ever: SIGTERM stops it, exit 0.
"$VPIPE" run "$T/g.ini" 2>"$T/log1" &
pid=$!
(sleep 60 && kill -KILL $pid 2>/dev/null) &
dog=$!
wait_for grep -q "is a FIFO: waiting for a writer" "$T/log1"
kill -TERM $pid
rc=0
wait $pid || rc=$?
kill $dog 2>/dev/null || true
cat "$T/log1"
[ "$rc" != 137 ] || fail "vpipe run did not exit (killed by the watchdog)"
expect_eq "exit status after SIGTERM with no writer" "$rc" 0
expect_grep "src: frames in=0 out=0 errors=0" "$T/log1"

# 2. A writer comes later: every access unit arrives, exit 0 at its end.
cat >"$T/enc.ini" <<INI
[cam]
module = testsrc
width = 160
height = 120
num-frames = 40
is-live = false

[enc]
module = x264
input = cam

[out]
module = filesink
input = enc
location = $T/in.h264
INI
"$VPIPE" run "$T/enc.ini" 2>"$T/enc.log" || { cat "$T/enc.log"; fail "encoding the input failed"; }
"$VPIPE" run "$T/g.ini" 2>"$T/log2" &
pid=$!
(sleep 60 && kill -KILL $pid 2>/dev/null) &
dog=$!
wait_for grep -q "is a FIFO: waiting for a writer" "$T/log2"
sleep 0.5
cat "$T/in.h264" >"$T/fifo"
rc=0
wait $pid || rc=$?
kill $dog 2>/dev/null || true
cat "$T/log2"
expect_eq "exit status at the writer's end" "$rc" 0
expect_grep "src: frames in=0 out=40 " "$T/log2"
cmp "$T/in.h264" "$T/out.h264" || fail "the stream through the FIFO differs"
echo "ok: 40 access units through the FIFO, byte for byte"
