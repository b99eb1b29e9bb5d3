#!/usr/bin/env bash
# SIGINT/SIGTERM: sources stop, queued frames drain to the sinks (nothing
# queued is lost with `block`), exit 0. A second signal stops at once.
source "$VPIPE_TOP/tests/lib.sh"
cat >"$T/g.ini" <<INI
[pipeline]
drain-timeout = 20s

[cam]
module = testsrc
width = 32
height = 32
framerate = 200

[slow]
module = identity
input = cam
delay = 20ms
queue-size = 32

[out]
module = filesink
input = slow
location = $T/out.yuv
queue-size = 4
INI
"$VPIPE" run "$T/g.ini" 2>"$T/log" &
pid=$!
sleep 1.5
kill -INT $pid
rc=0
wait $pid || rc=$?
cat "$T/log"
expect_eq "exit status after SIGINT" "$rc" 0
produced=$(sed -n 's/.*cam: frames in=0 out=\([0-9]*\).*/\1/p' "$T/log")
written=$(($(stat -c %s "$T/out.yuv") / (32 * 32 * 3 / 2)))
# The queue in front of the slow node was full when the signal came.
[ "$produced" -gt 40 ] || fail "only $produced frames produced"
expect_eq "frames written = frames produced" "$written" "$produced"
expect_grep "drops=0" "$T/log"
grep -q "drops=[1-9]" "$T/log" && fail "a link dropped frames"
expect_grep "stopping, draining queued frames" "$T/log"

# SIGTERM likewise.
"$VPIPE" run "$T/g.ini" 2>"$T/log2" &
pid=$!
sleep 1
kill -TERM $pid
rc=0
wait $pid || rc=$?
expect_eq "exit status after SIGTERM" "$rc" 0

# A second signal does not wait for the drain (here: 40 s of queued work).
sed -i 's/delay = 20ms/delay = 2s/; s/drain-timeout = 20s/drain-timeout = 60s/' "$T/g.ini"
"$VPIPE" run "$T/g.ini" 2>"$T/log3" &
pid=$!
sleep 1
kill -INT $pid
sleep 0.5
kill -INT $pid
start=$(date +%s)
wait $pid || true
took=$(($(date +%s) - start))
cat "$T/log3"
expect_grep "second signal: stopping at once" "$T/log3"
[ "$took" -le 5 ] || fail "second signal took ${took}s to stop"
echo "ok: second signal stopped in ${took}s"

# drain-timeout bounds the drain without a second signal.
sed -i 's/drain-timeout = 60s/drain-timeout = 1s/' "$T/g.ini"
"$VPIPE" run "$T/g.ini" 2>"$T/log4" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid || true
expect_grep "drain did not finish within drain-timeout (1.0 s)" "$T/log4"
