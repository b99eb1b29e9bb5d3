#!/usr/bin/env bash
# The kernel's cost per hop: ns per frame per node through a chain of eight
# `identity` nodes, against the same source and sink without them.
#   testsrc (16x16, not live) -> null                  time T0
#   testsrc -> identity x 8 -> null                    time T8
#   cost per hop = (T8 - T0) / (frames * 8)
# Each graph runs BENCH_HOP_REPEAT times (default 3) with BENCH_HOP_FRAMES
# frames (default 100000); the best wall time of each is used, which includes
# process start-up alike for both. What a hop costs: a ring push and pop, the
# futex wake-up of a sleeping consumer when the ring was empty, the frame
# reference handover and the node's process() call, with one thread per node
# (10 threads in the long chain: on a 2-core machine most hops also cost a
# context switch).
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

write_graph() { # FILE IDENTITIES
	{
		printf '[src]\nmodule = testsrc\nwidth = 16\nheight = 16\n'
		printf 'is-live = false\nnum-frames = %s\n' "$frames"
		local prev=src i
		for ((i = 1; i <= $2; i++)); do
			printf '\n[id%d]\nmodule = identity\ninput = %s\n' "$i" "$prev"
			prev=id$i
		done
		printf '\n[sink]\nmodule = null\ninput = %s\n' "$prev"
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

write_graph "$T/chain0.ini" 0
write_graph "$T/chain8.ini" 8
t0=$(best_ms "$T/chain0.ini")
t8=$(best_ms "$T/chain8.ini")
echo "hop: $frames frames of 16x16 I420, best of $repeat runs"
echo "  testsrc -> null:                 ${t0} ms"
echo "  testsrc -> 8 x identity -> null: ${t8} ms"
awk -v t0="$t0" -v t8="$t8" -v n="$frames" 'BEGIN {
	hop = (t8 - t0) * 1e6 / (n * 8)
	rate = (hop > 0) ? 1e3 / hop : 0
	printf "  cost per hop: %.0f ns per frame per node (%.2f M frames/s through one hop)\n", hop, rate
}'
