# The kvs sink's memory does not grow with what its disk spool holds:
#  1. with no service reachable, KVS_SPOOL_MIB (128) MiB of 720p H.264 go
#     into the spool (storage-size = 8, a RAM store of 8 MiB); vpipe's
#     peak resident size (VmHWM) once the spool holds a quarter of it and
#     at the end differ by less than KVS_SPOOL_MAX_GROWTH_KB (2048);
#     (nothing is read into the RAM store while there is no connection);
#  2. a restart with the same spool and kvs-local up: every spooled
#     fragment is delivered first (ListFragments counts them), the log
#     gives the replay's progress and duration, and the peak resident size
#     stays within the fill's plus the RAM store (8 MiB).
# tests/bench/kvs_spool.sh runs it with 1024 MiB and prints the figures.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
MIB=${KVS_SPOOL_MIB:-128}
MAX_GROWTH_KB=${KVS_SPOOL_MAX_GROWTH_KB:-2048}
PY=/usr/bin/python3
COUNT="$VPIPE_TOP/tests/e2e/kvs_spool_count.py"

# 2 s of 720p at a high constant quality: large frames, quick to make.
ffmpeg -v error -y -f lavfi -i "testsrc=size=1280x720:rate=30" -t 2 \
	-c:v libx264 -preset ultrafast -qp 12 -g 30 -bf 0 -pix_fmt yuv420p \
	-f h264 "$T/clip.h264"
clip_bytes=$(stat -c %s "$T/clip.h264")
frames=$((MIB * 1048576 / (clip_bytes / 60) + 60))
frames=$((frames / 30 * 30))
dir="$T/spool"
hwm() { awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status" 2>/dev/null; }
rss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null; }

# spool_graph INI FRAMES URL
spool_graph() {
	{
		printf '[cam]\nmodule = filesrc\nlocation = %s\nloop = true\n' "$T/clip.h264"
		printf 'num-frames = %s\n\n[mux]\nmodule = mkv\ninput = cam\n\n' "$2"
		printf '[cloud]\nmodule = kvs\ninput = mux\nstream-name = mem\n'
		printf 'endpoint = %s\nstorage-size = 8M\nspool = %s\n' "$3" "$dir"
		printf 'spool-size = %sM\nstop-stream-timeout = %s\n' "$((MIB + 64))" "$4"
	} >"$1"
}

# watch PID LOG: samples "spool-bytes VmHWM-kB" until PID exits.
watch() {
	while kill -0 "$1" 2>/dev/null; do
		local h
		h=$(hwm "$1")
		[ -n "$h" ] && echo "$(du -sb "$dir" 2>/dev/null | cut -f1) $h $(rss "$1")" >>"$2"
		sleep 0.2
	done
}

# ---- 1. fill the spool with nothing to send to
nobody="http://127.0.0.1:$(free_port)"
spool_graph "$T/fill.ini" "$frames" "$nobody" 1s
t0=$(date +%s.%N)
"$VPIPE" run "$T/fill.ini" >"$T/fill.log" 2>&1 &
pid=$!
watch "$pid" "$T/fill.samples"
wait "$pid" && fail "fill: exited 0 with nothing delivered"
t1=$(date +%s.%N)
expect_grep "stay in the spool for the next start" "$T/fill.log"
read -r spooled_frames spooled_frags < <($PY "$COUNT" "$dir")
expect_eq "fill: frames in the spool" "$spooled_frames" "$frames"
bytes=$(du -sb "$dir" | cut -f1)
at16=$(awk -v q="$((bytes / 4))" '$1 >= q {print $2; exit}' "$T/fill.samples")
end=$(tail -n 1 "$T/fill.samples" | cut -d' ' -f2)
echo "fill: $((bytes / 1048576)) MiB, $spooled_frags fragments spooled in" \
	"$(echo "$t1 - $t0" | bc) s; vpipe VmHWM $at16 kB at a quarter," \
	"$end kB at $((bytes / 1048576)) MiB"
awk -v total="$bytes" 'BEGIN {n = 1} $1 >= total * n / 4 && n <= 4 {
	printf "  spool %4d MiB: VmRSS %6d kB, VmHWM %6d kB\n", $1 / 1048576, $3, $2; n++ }' "$T/fill.samples"
[ -n "$at16" ] || fail "no sample at a quarter of the spool"
# A sanitizer's allocator keeps freed memory (quarantine): no bound then.
bounded() { [ -z "${VPIPE_SANITIZER:-}" ] || { echo "memory not bounded under $VPIPE_SANITIZER"; return 1; }; }
if bounded; then
	[ $((end - at16)) -lt "$MAX_GROWTH_KB" ] ||
		fail "peak memory grew by $((end - at16)) kB while the spool filled"
	echo "ok: fill: peak memory grew by $((end - at16)) kB"
fi

# ---- 2. restart with the service up: the spool is replayed first
start_kvs_local kl --no-rate-limits
spool_graph "$T/replay.ini" 60 "$KL_URL" 300s
t0=$(date +%s.%N)
"$VPIPE" run "$T/replay.ini" >"$T/replay.log" 2>&1 &
pid=$!
watch "$pid" "$T/replay.samples"
wait "$pid" || { tail -n 30 "$T/replay.log"; fail "replay: run failed"; }
t1=$(date +%s.%N)
expect_grep "$spooled_frags fragment(s) from an earlier run, $spooled_frames frames" "$T/replay.log"
expect_grep "from the earlier run are delivered" "$T/replay.log"
expect_grep "every fragment acknowledged" "$T/replay.log"
grep -E "spool replay:|earlier run are delivered" "$T/replay.log" | sed 's/^[^ ]* //'
expect_eq "replay: fragments stored" "$(fragments "$KL_URL" mem | awk '{s += $1} END {print s}')" "$((spooled_frags + 2))"
rend=$(sort -n -k2 "$T/replay.samples" | tail -n 1 | cut -d' ' -f2)
echo "replay: $((bytes / 1048576)) MiB in $(echo "$t1 - $t0" | bc) s;" \
	"vpipe VmHWM $rend kB"
if bounded; then
	[ $((rend - end)) -lt $((8192 + MAX_GROWTH_KB)) ] ||
		fail "replay: peak memory $rend kB, $((rend - end)) kB above the fill's"
	echo "ok: replay: peak memory $((rend - end)) kB above the fill's (the RAM store is 8 MiB)"
fi
echo "PASS"
