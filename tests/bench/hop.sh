#!/usr/bin/env bash
# The kernel's cost per hop: ns per frame per node through a chain of eight
# `identity` nodes, against the same source and sink without them, in both
# ways a hop can go (docs/architecture.md, threads):
#   same thread: nodes linked 1:1 share the source's thread, each push
#     calls the next node's process() directly (the default)
#   own threads: every node has `thread = own`, a queue and a thread
#   testsrc (16x16, not live) -> null                  time T0
#   testsrc -> identity x 8 -> null                    time T8
#   cost per hop = (T8 - T0) / (frames * 8)
# Each graph runs BENCH_HOP_REPEAT times (default 3) with BENCH_HOP_FRAMES
# frames (default 100000); the best wall time of each is used, which includes
# process start-up alike for both. What a hop in its own thread costs: a ring
# push and pop, the futex wake-up of a sleeping consumer when the ring was
# empty, the frame reference handover and the node's process() call (10
# threads in the long chain: on a 2-core machine most hops also cost a
# context switch). In the same thread: the reference handover, the call, and
# two clock reads for the node's busy time. Against a vpipe without the
# `thread` key (before fusing), the own-threads figures are what it measures.
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
[ -x "$VPIPE" ] || { echo "SKIP: $VPIPE not built"; exit 77; }
for m in testsrc identity null; do
	[ -f "$VPIPE_MODULE_PATH/$m.so" ] || { echo "SKIP: module $m not built"; exit 77; }
done
frames=${BENCH_HOP_FRAMES:-100000}
repeat=${BENCH_HOP_REPEAT:-3}
T=$(mktemp -d /tmp/vpipe-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

write_graph() { # FILE IDENTITIES [THREAD]
	local own=
	[ "${3:-}" = own ] && own='thread = own\n'
	{
		printf '[src]\nmodule = testsrc\nwidth = 16\nheight = 16\n'
		printf 'is-live = false\nnum-frames = %s\n' "$frames"
		local prev=src i
		for ((i = 1; i <= $2; i++)); do
			printf "\n[id%d]\nmodule = identity\ninput = %s\n$own" "$i" "$prev"
			prev=id$i
		done
		printf "\n[sink]\nmodule = null\ninput = %s\n$own" "$prev"
	} >"$1"
}

best_ms() { # GRAPH: best wall time in ms over $repeat runs; checks the count
	local best= i s e ms
	for ((i = 0; i < repeat; i++)); do
		s=$(date +%s%N)
		"$VPIPE" run "$1" >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
		e=$(date +%s%N)
		grep -q "sink: frames in=$frames " "$T/log" ||
			{ echo "sink did not get $frames frames:" >&2; cat "$T/log" >&2; return 1; }
		ms=$(((e - s) / 1000000))
		if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
	done
	echo "$best"
}

report() { # LABEL T0 T8
	echo "  $1:"
	echo "    testsrc -> null:                 ${2} ms"
	echo "    testsrc -> 8 x identity -> null: ${3} ms"
	awk -v t0="$2" -v t8="$3" -v n="$frames" 'BEGIN {
		hop = (t8 - t0) * 1e6 / (n * 8)
		rate = (hop > 0) ? 1e3 / hop : 0
		printf "    cost per hop: %.0f ns per frame per node (%.2f M frames/s through one hop)\n", hop, rate
	}'
}

echo "hop: $frames frames of 16x16 I420, best of $repeat runs"
for mode in same own; do
	write_graph "$T/chain0.ini" 0 "$mode"
	write_graph "$T/chain8.ini" 8 "$mode"
	t0=$(best_ms "$T/chain0.ini")
	t8=$(best_ms "$T/chain8.ini")
	if [ $mode = same ]; then
		report "same thread (linked 1:1, the default)" "$t0" "$t8"
		s0=$t0 s8=$t8
	else
		report "own threads (thread = own: a queue and a wake-up per hop)" "$t0" "$t8"
		awk -v a="$s0" -v b="$s8" -v c="$t0" -v d="$t8" 'BEGIN {
			if (b - a > 0) printf "  a hop in its own thread costs %.1fx one in the same thread\n", (d - c) / (b - a)
		}'
	fi
done
