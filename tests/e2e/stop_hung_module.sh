#!/usr/bin/env bash
# A module that never returns from a callback (identity hang-after: deaf to
# stop and abort, as a driver call that never comes back) cannot keep
# `vpipe run` from exiting: after drain-timeout, or on a second signal, it
# exits 1 naming the node and the callback, while the chain that did drain
# keeps everything it drained in its closed file.
source "$VPIPE_TOP/tests/lib.sh"
FRAME=$((32 * 32 * 3 / 2))
write_graph() { # DRAIN-TIMEOUT
	cat >"$T/g.ini" <<INI
[pipeline]
drain-timeout = $1

[cam]
module = testsrc
width = 32
height = 32
framerate = 100

[stuck]
module = identity
input = cam
hang-after = 5
; the camera must not wait for the stuck node
queue-policy = drop-new

[a]
module = filesink
input = stuck
location = $T/a.yuv

[b]
module = filesink
input = cam
location = $T/b.yuv
INI
}

# run_and_stop LOG SIGNAL...: start, wait for the hang, send the signals
# (0.3 s apart), and wait for the exit. A watchdog SIGKILLs a run that does
# not end (exit status 137 then fails the test).
run_and_stop() {
	local log=$1
	shift
	rm -f "$T/a.yuv" "$T/b.yuv"
	"$VPIPE" run "$T/g.ini" 2>"$log" &
	local pid=$!
	(sleep 60 && kill -KILL $pid 2>/dev/null) &
	local dog=$!
	wait_for grep -q "hanging on frame 5" "$log"
	sleep 0.5
	for sig in "$@"; do
		kill -"$sig" $pid
		sleep 0.3
	done
	rc=0
	wait $pid || rc=$?
	kill $dog 2>/dev/null || true
	cat "$log"
}

check_kept() { # LOG
	local produced
	produced=$(sed -n 's/.*cam: frames in=0 out=\([0-9]*\).*/\1/p' "$1")
	[ -n "$produced" ] && [ "$produced" -gt 5 ] || fail "cam produced '$produced' frames"
	expect_eq "frames in b.yuv = frames produced" \
		"$(($(stat -c %s "$T/b.yuv") / FRAME))" "$produced"
	expect_eq "frames in a.yuv (those before the hang)" \
		"$(($(stat -c %s "$T/a.yuv") / FRAME))" 5
}

# 1. One signal: the drain times out, then vpipe gives up on the node.
write_graph 1s
run_and_stop "$T/log1" TERM
[ "$rc" != 137 ] || fail "vpipe run did not exit (killed by the watchdog)"
expect_eq "exit status with a hung node" "$rc" 1
expect_grep "drain did not finish within drain-timeout (1.0 s)" "$T/log1"
expect_grep "stuck: did not stop: process() has not returned" "$T/log1"
check_kept "$T/log1"

# 2. A second signal does not wait for the (long) drain timeout.
write_graph 10m
run_and_stop "$T/log2" INT INT
[ "$rc" != 137 ] || fail "vpipe run did not exit (killed by the watchdog)"
expect_eq "exit status after a second signal" "$rc" 1
expect_grep "second signal: stopping at once" "$T/log2"
expect_grep "stuck: did not stop: process() has not returned" "$T/log2"
check_kept "$T/log2"

# 3. A third signal exits without waiting even the grace period.
run_and_stop "$T/log3" TERM TERM TERM
[ "$rc" != 137 ] || fail "vpipe run did not exit (killed by the watchdog)"
expect_eq "exit status after a third signal" "$rc" 1
expect_grep "third signal: exiting now" "$T/log3"
expect_grep "stuck: did not stop: process() has not returned" "$T/log3"
