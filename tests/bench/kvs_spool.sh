#!/usr/bin/env bash
# kvs disk spool figures (issue 16), printed, never asserted on time:
#   memory   BENCH_SPOOL_MIB (1024) MiB of 720p into the spool with no
#            service reachable, then replayed to kvs-local: vpipe's VmRSS /
#            VmHWM as the spool fills (flat), fill and replay time and rate
#            (tests/e2e/kvs_spool_memory.sh at that size)
#   kills    BENCH_SPOOL_KILLS (20) runs of kill -9 at a random moment and a
#            restart with the same spool (tests/e2e/kvs_spool.sh): pictures
#            in the spool, already stored, fragments stored twice
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
cd "$VPIPE_TOP"
run() { # NAME SCRIPT: its figures, without the ok: lines
	local out rc=0
	out=$(mktemp)
	bash "$2" >"$out" 2>&1 || rc=$?
	if [ $rc = 77 ]; then grep SKIP "$out"; rm -f "$out"; exit 77; fi
	grep -vE '^(ok: /|20[0-9][0-9]-)' "$out" | grep -vE 'kvs-local at|^ok: (decoded|every|/)' || true
	rm -f "$out"
	[ $rc = 0 ] || { echo "$1: FAILED (exit $rc)"; exit 1; }
}
echo "== memory: ${BENCH_SPOOL_MIB:-1024} MiB through the spool"
KVS_SPOOL_MIB=${BENCH_SPOOL_MIB:-1024} run memory tests/e2e/kvs_spool_memory.sh
echo "== kills: ${BENCH_SPOOL_KILLS:-20} runs of kill -9 and a restart"
KVS_SPOOL_KILLS=${BENCH_SPOOL_KILLS:-20} run kills tests/e2e/kvs_spool.sh
