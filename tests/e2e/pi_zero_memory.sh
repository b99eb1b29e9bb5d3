#!/usr/bin/env bash
# Memory for a small Pi: conf/pi-zero-2w.ini (one 1080p30 camera to KVS) is
# planned under 64 MB (vpipe check's ceiling of frames and queues, plus the
# KVS store, storage-size), and a comparable graph run here (testsrc
# 1920x1080 at 30 fps -> x264 ultrafast -> mkv -> kvs to vpipe kvs-local, the
# same queue, pool and store sizes) peaks under 64 MB resident (VmHWM).
# x264 stands in for the Pi's hardware encoder, so this is an upper bound:
# on the Pi the encoder's memory is the kernel's, not vpipe's.
source "$VPIPE_TOP/tests/lib.sh"
[ -z "${VPIPE_QEMU:-}" ] || skip "resident memory of the emulator, not of vpipe"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
LIMIT_MB=64
SECONDS_RUN=${PI_ZERO_SECONDS:-12}

# --- 1. the plan: vpipe check's ceiling, which includes the KVS store
KVS_STREAM_NAME=pi-zero "$VPIPE" check "$VPIPE_TOP/conf/pi-zero-2w.ini" >"$T/check.txt" 2>&1 ||
	{ cat "$T/check.txt"; fail "vpipe check conf/pi-zero-2w.ini"; }
frames_mb=$(sed -n 's/^memory: this graph holds at most \([0-9.]*\) MB.*/\1/p' "$T/check.txt")
[ -n "$frames_mb" ] || { cat "$T/check.txt"; fail "no memory line in vpipe check"; }
grep -q "known only at run time" "$T/check.txt" && fail "a node's frame size is unknown to vpipe check"
store_mib=$(sed -n 's/^ *storage-size = \([0-9]*\)M$/\1/p' "$T/check.txt")
[ -n "$store_mib" ] || fail "no storage-size in vpipe check"
buffers_mb=$(sed -n 's/.*(\([0-9.]*\) MB of it in module buffers.*/\1/p' "$T/check.txt")
expect_eq "module buffers in the ceiling (the KVS store)" "$buffers_mb" "$store_mib.0"
planned=$frames_mb
echo "plan: $planned MB, of which the KVS store is $store_mib MiB"
awk -v p="$planned" -v l="$LIMIT_MB" 'BEGIN {exit !(p < l)}' ||
	fail "conf/pi-zero-2w.ini plans $planned MB, over $LIMIT_MB MB"
echo "ok: planned $planned MB < $LIMIT_MB MB"
# (The plan above holds under a sanitizer too; resident memory does not.)
[ -z "${VPIPE_SANITIZER:-}" ] ||
	skip "plan checked; resident memory is not meaningful under a sanitizer"

# --- 2. the same shape, run here
start_kvs_local kl
cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = 1920
height = 1080
framerate = 30
format = i420
is-live = true
; as the Pi's camera: 3 buffers + 2
pool-size = 5

[enc]
module = x264
input = cam
queue-size = 2
queue-policy = drop-old
preset = ultrafast
tune = zerolatency
bitrate = 2000
keyint = 2s
threads = 2

[mux]
module = mkv
input = enc
queue-size = 16

[cloud]
module = kvs
input = mux
queue-size = 16
stream-name = pi-zero
endpoint = $KL_URL
storage-size = ${store_mib}M
buffer-duration = 60s
replay-duration = 20s
stop-stream-timeout = 20s
INI
"$VPIPE" run "$T/g.ini" --duration "${SECONDS_RUN}s" >"$T/run.log" 2>&1 &
pid=$!
at_exit "kill $pid 2>/dev/null"
hwm=0
while kill -0 "$pid" 2>/dev/null; do
	h=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
	[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
	sleep 0.2
done
wait "$pid" || { tail -n 30 "$T/run.log"; fail "vpipe run failed"; }
expect_grep "every fragment acknowledged" "$T/run.log"
frames=$(sed -n 's/.*putmedia_incoming_frames_total=\([0-9]*\).*/\1/p' "$T/run.log" | tail -n 1)
[ "${frames:-0}" -ge $((SECONDS_RUN * 30 / 2)) ] ||
	fail "only ${frames:-0} frames reached kvs-local in ${SECONDS_RUN} s (CPU too busy?)"
hwm_mb=$(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}')
echo "measured: peak resident $hwm_mb MB (VmHWM), ${frames} frames of 1080p stored in ${SECONDS_RUN} s"
[ "$hwm" -gt 0 ] || fail "could not read VmHWM"
[ "$hwm" -lt $((LIMIT_MB * 1024)) ] || fail "peak resident $hwm_mb MB, over $LIMIT_MB MB"
echo "ok: peak resident $hwm_mb MB < $LIMIT_MB MB"
