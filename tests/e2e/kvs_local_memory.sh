#!/usr/bin/env bash
# kvs-local's memory stays bounded while a long PutMedia streams at a high
# bitrate and a slow live GetMedia reader falls behind: the server's peak
# resident size (VmHWM) after a warm-up and at the end differ by less than
# KVS_MEMORY_MAX_GROWTH_KB. The body is parsed as it arrives and a reader
# that takes less than is produced blocks its own writes: nothing queues.
#   KVS_MEMORY_SECONDS (20), KVS_MEMORY_MBPS (32), KVS_MEMORY_READ_KBPS (128)
# e.g. KVS_MEMORY_SECONDS=120 for the 2-minute figure in docs/kvs-local.md.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
SECS=${KVS_MEMORY_SECONDS:-20}
MBPS=${KVS_MEMORY_MBPS:-32}
READ_KBPS=${KVS_MEMORY_READ_KBPS:-128}
MAX_GROWTH_KB=${KVS_MEMORY_MAX_GROWTH_KB:-8192}
LOAD="$VPIPE_TOP/tests/e2e/kvs_local_load.py"
start_kvs_local
$PY "$CLIENT" call "$EP" createStream '{"StreamName":"mem","DataRetentionInHours":1}' |
	grep -q '^200' || fail "createStream"
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$KVS_PID/status"; }

$PY "$LOAD" stream "$EP" mem "$SECS" "$MBPS" >"$T/stream.out" &
producer=$!
sleep 1
$PY "$LOAD" slowread "$EP" mem "$((SECS - 2))" "$READ_KBPS" >"$T/read.out" &
reader=$!
sleep 4 # warm-up: buffers allocated, first fragments stored
hwm_start=$(kb VmHWM)
rss_start=$(kb VmRSS)
wait $producer || { cat "$T/stream.out"; fail "producer"; }
wait $reader || { cat "$T/read.out"; fail "slow reader"; }
hwm_end=$(kb VmHWM)
rss_end=$(kb VmRSS)
cat "$T/stream.out" "$T/read.out"
echo "kvs-local VmHWM ${hwm_start} kB after warm-up, ${hwm_end} kB after ${SECS} s" \
	"(VmRSS ${rss_start} -> ${rss_end} kB)"
growth=$((hwm_end - hwm_start))
[ "$growth" -lt "$MAX_GROWTH_KB" ] ||
	fail "peak memory grew by $growth kB during the stream (limit $MAX_GROWTH_KB)"
echo "ok: peak memory grew by $growth kB"
stop_kvs_local
echo PASS
