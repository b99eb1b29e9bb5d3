#!/usr/bin/env bash
# Matroska passthrough cost: CPU time (user + sys) per frame to turn 60 s of
# 1080p30 H.264 (1800 access units) into Matroska, against in the same run:
#   vpipe        filesrc -> mkv -> filesink
#   vpipe-nomux  filesrc -> filesink (the same without mkv: the kernel and I/O)
#   gst          filesrc ! matroskademux ! h264parse ! matroskamux ! filesink
#                (from a Matroska copy of the stream: h264parse leaves raw
#                Annex-B frames without the pts matroskamux needs)
#   gst-demux    filesrc ! matroskademux ! fakesink (its demux share)
#   ffmpeg       ffmpeg -framerate 30 -i in.h264 -c copy -f matroska
#   cp           cp of the same file (the I/O floor)
# Each runs BENCH_MKV_REPEAT times (default 3); the lowest CPU time counts.
# The input is encoded once with ffmpeg (ultrafast) and kept in
# $BUILD/bench-cache/. Goal from issue 3: vpipe at most half of gst, and
# within twice the I/O floor.
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
[ -x "$VPIPE" ] || { echo "SKIP: $VPIPE not built"; exit 77; }
for m in filesrc mkv filesink; do
	[ -f "$VPIPE_MODULE_PATH/$m.so" ] || { echo "SKIP: module $m not built"; exit 77; }
done
for c in ffmpeg ffprobe gst-launch-1.0; do
	command -v "$c" >/dev/null || { echo "SKIP: needs $c"; exit 77; }
done
repeat=${BENCH_MKV_REPEAT:-3}
frames=1800
cache="$BUILD/bench-cache"
in="$cache/mkv-1080p30-60s.h264"
inmkv="$cache/mkv-1080p30-60s.mkv"
mkdir -p "$cache"
if [ ! -s "$in" ]; then
	echo "encoding the 60 s 1080p30 input once (cached in $cache)..."
	ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
		-frames:v $frames -c:v libx264 -preset ultrafast -g 60 -bf 0 \
		-pix_fmt yuv420p "$in.tmp.h264"
	mv "$in.tmp.h264" "$in"
fi
if [ ! -s "$inmkv" ]; then
	ffmpeg -v error -y -framerate 30 -i "$in" -c copy -f matroska "$inmkv.tmp"
	mv "$inmkv.tmp" "$inmkv"
fi
T=$(mktemp -d /tmp/vpipe-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

graph() { # FILE WITH_MUX
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\nformat = h264\nframerate = 30\n\n' "$PWD/$in"
		if [ "$2" = 1 ]; then
			printf '[mux]\nmodule = mkv\ninput = src\n\n'
			printf '[out]\nmodule = filesink\ninput = mux\nlocation = %s/out.mkv\n' "$T"
		else
			printf '[out]\nmodule = filesink\ninput = src\nlocation = %s/out.h264\n' "$T"
		fi
	} >"$1"
}
graph "$T/mux.ini" 1
graph "$T/nomux.ini" 0

# cpu_us CMD...: lowest user+sys CPU time in microseconds over $repeat runs.
cpu_us() {
	local best= i t
	for ((i = 0; i < repeat; i++)); do
		t=$( { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -n 1)
		t=$(awk -v u="${t% *}" -v s="${t#* }" 'BEGIN { printf "%d", (u + s) * 1e6 }')
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

declare -A us
us[vpipe]=$(cpu_us "$VPIPE" run "$T/mux.ini")
n=$(ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$T/out.mkv")
[ "$n" = $frames ] || { echo "FAIL: vpipe output has $n packets, want $frames"; exit 1; }
us[vpipe-nomux]=$(cpu_us "$VPIPE" run "$T/nomux.ini")
us[gst]=$(cpu_us gst-launch-1.0 -q filesrc location="$inmkv" ! matroskademux ! h264parse ! \
	matroskamux ! filesink location="$T/gst.mkv")
us[gst-demux]=$(cpu_us gst-launch-1.0 -q filesrc location="$inmkv" ! matroskademux ! fakesink)
us[ffmpeg]=$(cpu_us ffmpeg -v error -y -framerate 30 -i "$in" -c copy -f matroska "$T/ff.mkv")
us[cp]=$(cpu_us cp "$in" "$T/cp.h264")

size=$(stat -c %s "$in")
echo "mkv passthrough: $frames frames of 1080p30 H.264 ($((size / 1024)) KiB), best of $repeat, CPU (user+sys) per frame"
printf '%-12s %10s %12s %10s %10s\n' run "CPU ms" "us/frame" "vs gst" "vs cp"
for k in vpipe vpipe-nomux gst gst-demux ffmpeg cp; do
	awk -v k="$k" -v t="${us[$k]}" -v g="${us[gst]}" -v c="${us[cp]}" -v n=$frames 'BEGIN {
		printf "%-12s %10.1f %12.2f %10.2f %10.2f\n", k, t / 1000, t / n, (g ? t / g : 0), (c ? t / c : 0) }'
done
awk -v v="${us[vpipe]}" -v g="${us[gst]}" -v c="${us[cp]}" 'BEGIN {
	printf "vpipe/gst = %.2f (goal <= 0.5), vpipe/cp = %.2f (goal <= 2)\n", v / g, (c ? v / c : 0) }'
