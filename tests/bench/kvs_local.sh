#!/usr/bin/env bash
# kvs-local under load: 16 camera-like producers at 1080p30 rates (4 Mbit/s,
# 30 frames/s, a key frame 5x the others starting each 2 s fragment,
# streams with 24 h retention: every fragment fsynced and PERSISTED) while
# 50 GetMedia readers follow them: 3 live readers on each producer's
# stream (the service's limit per stream) and 2 that read an archived
# stream from EARLIEST again and again. Clients: tests/e2e/kvs_local_load.py
# (one process per producer, one for the readers), signed by botocore.
# Prints each producer's ACK latency (PERSISTED after the first bytes of
# the next fragment were sent: the moment the server can know a fragment
# ended) as p50/p99 over all producers and the worst producer's, the
# server's resident memory (start, peak, end) and CPU, and what the
# readers took. Figures only: no assert beyond "every fragment acked".
#   BENCH_KVS_LOCAL_SECONDS (60), BENCH_KVS_LOCAL_PRODUCERS (16),
#   BENCH_KVS_LOCAL_MBPS (4)
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
[ -x "$VPIPE" ] || { echo "SKIP: $VPIPE not built"; exit 77; }
"$VPIPE" kvs-local --help >/dev/null 2>&1 || { echo "SKIP: vpipe has no kvs-local"; exit 77; }
/usr/bin/python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: needs python3-botocore"; exit 77; }
secs=${BENCH_KVS_LOCAL_SECONDS:-60}
producers=${BENCH_KVS_LOCAL_PRODUCERS:-16}
mbps=${BENCH_KVS_LOCAL_MBPS:-4}
PY=/usr/bin/python3
LOAD="$VPIPE_TOP/tests/e2e/kvs_local_load.py"
CLIENT="$VPIPE_TOP/tests/e2e/kvs_client.py"
T=$(mktemp -d /tmp/vpipe-bench-kvs-local.XXXXXX)
KL_PID=
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "$KL_PID" ] && kill "$KL_PID" 2>/dev/null && wait "$KL_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export AWS_ACCESS_KEY_ID=AKIDKVSBENCH AWS_SECRET_ACCESS_KEY=kvsBenchSecret0123456789
export AWS_DEFAULT_REGION=us-west-2 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

"$VPIPE" kvs-local --listen 127.0.0.1:0 --data "$T/data" \
	--access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
	>"$T/kvs-local.out" 2>"$T/kvs-local.log" &
KL_PID=$!
for _ in $(seq 100); do grep -q listening "$T/kvs-local.out" && break; sleep 0.1; done
EP=$(awk '{print $NF}' "$T/kvs-local.out")
for ((i = 0; i < producers; i++)); do
	$PY "$CLIENT" call "$EP" createStream "{\"StreamName\":\"cam$i\",\"DataRetentionInHours\":24}" |
		grep -q '^200' || { echo "createStream cam$i failed"; exit 1; }
done
$PY "$CLIENT" call "$EP" createStream '{"StreamName":"archive","DataRetentionInHours":24}' |
	grep -q '^200' || { echo "createStream archive failed"; exit 1; }
$PY "$LOAD" stream "$EP" archive 20 "$mbps" >/dev/null # 20 s archived, fed at once
$PY "$LOAD" stream "$EP" archive 1 "$mbps" >/dev/null || true

stat_field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$KL_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KL_PID/stat"; }
rss_start=$(stat_field VmRSS)
ticks_start=$(cpu_ticks)
for ((i = 0; i < producers; i++)); do
	$PY "$LOAD" producer "$EP" "cam$i" "$secs" "$mbps" >"$T/p$i.out" 2>&1 &
	pids+=($!)
done
sleep 1 # readers follow live producers
specs=(archive:2earliest)
for ((i = 0; i < producers; i++)); do specs+=("cam$i:3"); done
$PY "$LOAD" readers "$EP" "$((secs - 2))" "${specs[@]}" >"$T/readers.out" 2>&1 &
pids+=($!)
rss_peak=0
for ((t = 0; t < secs; t++)); do
	sleep 1
	r=$(stat_field VmRSS)
	[ "$r" -gt "$rss_peak" ] && rss_peak=$r
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
pids=()
rss_end=$(stat_field VmRSS)
threads=$(stat_field Threads)
cpu=$(($(cpu_ticks) - ticks_start))
hz=$(getconf CLK_TCK)

$PY - "$T" "$producers" <<'EOF'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
alls, worst = [], None
for i in range(n):
    try:
        r = json.loads(open("%s/p%d.out" % (d, i)).read().strip().splitlines()[-1])
    except (ValueError, IndexError, OSError):
        print("producer %d: no result" % i)
        continue
    alls += r["latencies_ms"]
    if r["p99_ms"] is not None and (worst is None or r["p99_ms"] > worst["p99_ms"]):
        worst = r
v = sorted(alls)
pct = lambda p: v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")
print("ACK latency (PERSISTED), %d fragments of %d producers: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (len(v), n, pct(50), pct(99), v[-1] if v else float("nan")))
if worst:
    print("worst producer (%s): p50 %.1f ms, p99 %.1f ms, %d/%d fragments acked"
          % (worst["stream"], worst["p50_ms"], worst["p99_ms"], worst["acked"], worst["fragments"]))
EOF
echo "readers: $(cat "$T/readers.out")"
echo "kvs-local: RSS ${rss_start} KB at start, ${rss_peak} KB peak, ${rss_end} KB at the end;" \
	"CPU $(awk -v c="$cpu" -v h="$hz" -v s="$secs" 'BEGIN{printf "%.1f", c * 100 / h / s}') % of one core over ${secs} s;" \
	"${threads} threads at the end"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$failed" = 0 ] || { echo "$failed clients failed"; for f in "$T"/p*.out; do tail -n 2 "$f"; done; exit 1; }
