#!/usr/bin/env bash
# Picture cost: CPU time (user + sys) per 1920x1080 picture, best of
# BENCH_IMAGE_REPEAT runs (default 3), beside ffmpeg doing the same work:
#   raw->jpeg   filesrc (I420) -> image (JPEG q80), minus filesrc -> null
#   ffmpeg      ffmpeg rawvideo -> mjpeg (-q:v 5), minus a null decode
#   h264->jpeg  filesrc (every frame an IDR) -> image, minus filesrc -> null
#   ffmpeg      ffmpeg h264 -> mjpeg, minus ffmpeg h264 -> null
# Every frame becomes a picture (5 fps input, interval 200 ms).
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
[ -x "$VPIPE" ] || { echo "SKIP: $VPIPE not built"; exit 77; }
for m in filesrc image null; do
	[ -f "$VPIPE_MODULE_PATH/$m.so" ] || { echo "SKIP: module $m not built"; exit 77; }
done
command -v ffmpeg >/dev/null || { echo "SKIP: needs ffmpeg"; exit 77; }
repeat=${BENCH_IMAGE_REPEAT:-3}
n=20
T=$(mktemp -d /tmp/vpipe-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
ffmpeg -v error -f lavfi -i testsrc2=size=1920x1080:rate=5 -frames:v $n \
	-pix_fmt yuv420p -f rawvideo "$T/in.yuv"
ffmpeg -v error -f rawvideo -s 1920x1080 -pix_fmt yuv420p -r 5 -i "$T/in.yuv" \
	-c:v libx264 -preset ultrafast -g 1 -f h264 "$T/in.h264"

src() { # FORMAT FILE
	if [ "$1" = i420 ]; then
		printf '[src]\nmodule = filesrc\nlocation = %s\nformat = i420\nwidth = 1920\nheight = 1080\nframerate = 5\n\n' "$2"
	else
		printf '[src]\nmodule = filesrc\nlocation = %s\nformat = h264\nframerate = 5\n\n' "$2"
	fi
}
for f in i420:in.yuv h264:in.h264; do
	fmt=${f%%:*}
	{ src "$fmt" "$T/${f#*:}"; printf '[img]\nmodule = image\ninput = src\ninterval = 200ms\n'; } >"$T/$fmt-image.ini"
	{ src "$fmt" "$T/${f#*:}"; printf '[out]\nmodule = null\ninput = src\n'; } >"$T/$fmt-null.ini"
done

cpu_us() { # lowest user+sys CPU time in microseconds over $repeat runs
	local best= i t
	for ((i = 0; i < repeat; i++)); do
		rm -f "$T"/*.jpg
		t=$( { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -n 1)
		t=$(awk -v u="${t% *}" -v s="${t#* }" 'BEGIN { printf "%d", (u + s) * 1e6 }')
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}
raw=(-f rawvideo -s 1920x1080 -pix_fmt yuv420p -r 5 -i "$T/in.yuv")
vr=$(($(cpu_us "$VPIPE" run "$T/i420-image.ini") - $(cpu_us "$VPIPE" run "$T/i420-null.ini")))
fr=$(($(cpu_us ffmpeg -v error "${raw[@]}" -q:v 5 "$T/%d.jpg") - $(cpu_us ffmpeg -v error "${raw[@]}" -f null -)))
vh=$(($(cpu_us "$VPIPE" run "$T/h264-image.ini") - $(cpu_us "$VPIPE" run "$T/h264-null.ini")))
fh=$(($(cpu_us ffmpeg -v error -i "$T/in.h264" -q:v 5 "$T/%d.jpg") - $(cpu_us ffmpeg -v error -i "$T/in.h264" -f null -)))
echo "image: CPU per 1920x1080 picture (us), best of $repeat, $n pictures"
printf '  %-28s %8d   ffmpeg %8d   ratio %.2f\n' "raw I420 -> JPEG" $((vr / n)) $((fr / n)) "$(awk -v a=$vr -v b=$fr 'BEGIN{print b ? a/b : 0}')"
printf '  %-28s %8d   ffmpeg %8d   ratio %.2f\n' "H.264 key frame -> JPEG" $((vh / n)) $((fh / n)) "$(awk -v a=$vh -v b=$fh 'BEGIN{print b ? a/b : 0}')"
