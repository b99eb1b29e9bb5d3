#!/usr/bin/env bash
# Nodes linked 1:1 share their source's thread (no queue, no wake-up per
# frame): a running chain of four nodes has one node thread, not four; with
# `thread = own` each node has its own again. Both deliver every frame, and
# `vpipe check` says which nodes share a thread.
source "$VPIPE_TOP/tests/lib.sh"
write_graph() { # EXTRA-KEY
	cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = 16
height = 16
framerate = 100
num-frames = 300
[a]
module = identity
input = cam
$1
[b]
module = identity
input = a
$1
[out]
module = null
input = b
$1
INI
}

# node_threads LOG: the node threads of a running vpipe (its main thread
# and the threads named after nodes), counted while frames flow.
node_threads() {
	"$VPIPE" run "$T/g.ini" 2>"$1" &
	local pid=$!
	sleep 1
	local n
	n=$(grep -l -E '^(cam|a|b|out)$' /proc/$pid/task/*/comm | wc -l)
	wait $pid || fail "vpipe run failed (see $1)"
	echo "$n"
}

write_graph ""
"$VPIPE" check "$T/g.ini" >"$T/check.out"
cat "$T/check.out"
expect_grep "^  \[cam\] -> \[a\] -> \[b\] -> \[out\]$" "$T/check.out"
expect_grep "threads (1): " "$T/check.out"
shared=$(node_threads "$T/log")
cat "$T/log"
expect_eq "node threads of a chain linked 1:1" "$shared" 1
expect_grep "out: frames in=300 " "$T/log"
expect_grep "link b->out frames=300 .* drops=0 max-depth=0/8" "$T/log"

write_graph "thread = own"
"$VPIPE" check "$T/g.ini" >"$T/check2.out"
expect_grep "threads (4): " "$T/check2.out"
expect_grep "^  \[b\]  (own thread: thread = own)$" "$T/check2.out"
own=$(node_threads "$T/log2")
cat "$T/log2"
expect_eq "node threads with thread = own" "$own" 4
expect_grep "out: frames in=300 " "$T/log2"
