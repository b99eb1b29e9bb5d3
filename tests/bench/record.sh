#!/usr/bin/env bash
# Recording cost: CPU time (user + sys) per frame to record 60 s of 1080p30
# H.264 (1800 access units, the input of tests/bench/mkv.sh, shared through
# $BUILD/bench-cache/) into 10 s Matroska segment files, against in the same
# run:
#   record     filesrc -> mkv -> record (segment-duration 10s, sync 5s:
#              buffered writes, fdatasync, finalisation with Cues)
#   filesink   filesrc -> mkv -> filesink (one plain file: the recorder's share
#              is the difference)
#   ffmpeg     ffmpeg -c copy -f segment -segment_format matroska, 10 s
#   cp         cp of the same file (the I/O floor)
# Each runs BENCH_RECORD_REPEAT times (default 3); the lowest CPU time counts.
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
[ -x "$VPIPE" ] || { echo "SKIP: $VPIPE not built"; exit 77; }
for m in filesrc mkv filesink record; do
	[ -f "$VPIPE_MODULE_PATH/$m.so" ] || { echo "SKIP: module $m not built"; exit 77; }
done
for c in ffmpeg ffprobe; do
	command -v "$c" >/dev/null || { echo "SKIP: needs $c"; exit 77; }
done
repeat=${BENCH_RECORD_REPEAT:-3}
frames=1800
cache="$BUILD/bench-cache"
in="$cache/mkv-1080p30-60s.h264"
mkdir -p "$cache"
if [ ! -s "$in" ]; then
	echo "encoding the 60 s 1080p30 input once (cached in $cache)..."
	ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
		-frames:v $frames -c:v libx264 -preset ultrafast -g 60 -bf 0 \
		-pix_fmt yuv420p "$in.tmp.h264"
	mv "$in.tmp.h264" "$in"
fi
T=$(mktemp -d /tmp/vpipe-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

graph() { # FILE SINK-SECTION
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\nformat = h264\nframerate = 30\n\n' "$PWD/$in"
		printf '[mux]\nmodule = mkv\ninput = src\n\n'
		printf '%s\n' "$2"
	} >"$1"
}
graph "$T/record.ini" "$(printf '[out]\nmodule = record\ninput = mux\nlocation = %s/rec\nsegment-duration = 10s\nsync-interval = 5s' "$T")"
graph "$T/filesink.ini" "$(printf '[out]\nmodule = filesink\ninput = mux\nlocation = %s/out.mkv' "$T")"

# cpu_us CMD...: lowest user+sys CPU time in microseconds over $repeat runs.
cpu_us() {
	local best= i t
	for ((i = 0; i < repeat; i++)); do
		rm -rf "$T/rec" "$T"/ff*.mkv
		t=$( { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -n 1)
		t=$(awk -v u="${t% *}" -v s="${t#* }" 'BEGIN { printf "%d", (u + s) * 1e6 }')
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

declare -A us
us[record]=$(cpu_us "$VPIPE" run "$T/record.ini")
n=0
for f in "$T"/rec/*.mkv; do
	n=$((n + $(ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$f")))
done
[ "$n" = $frames ] || { echo "FAIL: recorded files hold $n packets, want $frames"; exit 1; }
files=$(ls "$T"/rec/*.mkv | wc -l)
us[filesink]=$(cpu_us "$VPIPE" run "$T/filesink.ini")
us[ffmpeg]=$(cpu_us ffmpeg -v error -y -framerate 30 -i "$in" -c copy -f segment \
	-segment_time 10 -segment_format matroska "$T/ff%03d.mkv")
us[cp]=$(cpu_us cp "$in" "$T/cp.h264")

size=$(stat -c %s "$in")
echo "record: $frames frames of 1080p30 H.264 ($((size / 1024)) KiB) into $files files, best of $repeat, CPU (user+sys) per frame"
printf '%-10s %10s %12s %12s %10s\n' run "CPU ms" "us/frame" "vs ffmpeg" "vs cp"
for k in record filesink ffmpeg cp; do
	awk -v k="$k" -v t="${us[$k]}" -v f="${us[ffmpeg]}" -v c="${us[cp]}" -v n=$frames 'BEGIN {
		printf "%-10s %10.1f %12.2f %12.2f %10.2f\n", k, t / 1000, t / n, (f ? t / f : 0), (c ? t / c : 0) }'
done
awk -v r="${us[record]}" -v s="${us[filesink]}" -v n=$frames 'BEGIN {
	printf "recorder share (record - filesink) = %.2f us/frame\n", (r - s) / n }'
