#!/usr/bin/env bash
# filesrc (H.264) -> mkv -> filesink, on streams made here with ffmpeg/libx264
# (several sizes incl. 1080p cropping, GOPs of 1 to 10 s, AUD/SEI, 4 slices per
# picture, B-frames). Each output is checked by independent tools: mkvinfo
# parses it without error, ffprobe sees the same packets with the same pts
# as ffmpeg's own remux of the input,
# ffmpeg decodes the same pictures bit for bit (framemd5), gst-discoverer-1.0
# accepts it, every cluster starts with a key frame, cluster timecodes
# increase, and the fragment tags are there.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe mkvinfo gst-discoverer-1.0
PY=/usr/bin/python3

# encode NAME SIZE FRAMES GOP X264PARAMS
encode() {
	ffmpeg -v error -y -f lavfi -i "testsrc2=size=$2:rate=30" -frames:v "$3" \
		-c:v libx264 -preset ultrafast -g "$4" -pix_fmt yuv420p \
		-x264-params "scenecut=0${5:+:$5}" "$T/$1.h264"
}

# mux NAME [mkv key=value...]: runs the pipeline, output in $T/NAME.mkv
mux() {
	local name=$1
	shift
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\nformat = h264\nframerate = 30\n\n' "$T/$name.h264"
		printf '[mux]\nmodule = mkv\ninput = src\n'
		for kv in "$@"; do printf '%s\n' "$kv"; done
		printf '\n[out]\nmodule = filesink\ninput = mux\nlocation = %s\n' "$T/$name.mkv"
	} >"$T/$name.ini"
	"$VPIPE" run "$T/$name.ini" >"$T/$name.log" 2>&1 || { cat "$T/$name.log"; fail "$name: vpipe run failed"; }
}

packets() { ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
# Every decoded picture, in decoder output order (passthrough: no frame
# dropped or repeated for timing, which matters for B-frame streams that
# filesrc stamps in decode order).
pictures() { ffmpeg -v error -i "$1" -vsync passthrough -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}'; }

# check NAME [pts]: the independent checks on $T/NAME.mkv against $T/NAME.h264
check() {
	local name=$1 in="$T/$1.h264" out="$T/$1.mkv"
	mkvinfo -v "$out" >"$T/$name.info" 2>&1 || { tail "$T/$name.info"; fail "$name: mkvinfo failed"; }
	if grep -qiE '^\(mkvinfo\)|error' "$T/$name.info"; then
		grep -iE '^\(mkvinfo\)|error' "$T/$name.info" | head
		fail "$name: mkvinfo reports errors"
	fi
	expect_eq "$name: packets" "$(packets "$out")" "$(packets "$in")"
	pictures "$in" >"$T/$name.in.md5"
	pictures "$out" >"$T/$name.out.md5"
	[ -s "$T/$name.in.md5" ] || fail "$name: input does not decode"
	cmp -s "$T/$name.in.md5" "$T/$name.out.md5" || fail "$name: decoded pictures differ"
	echo "ok: $name: $(wc -l <"$T/$name.out.md5") decoded pictures identical (framemd5)"
	gst-discoverer-1.0 "$out" >"$T/$name.gst" 2>&1 || { cat "$T/$name.gst"; fail "$name: gst-discoverer failed"; }
	expect_grep "H.264" "$T/$name.gst"
	# Clusters: each starts with a key block; timecodes strictly increase.
	$PY - "$T/$name.info" <<'EOF' || fail "$name: cluster structure"
import re, sys
clusters, prev, expect_key = 0, None, False
def secs(s):
    h, m, rest = s.split(':')
    return int(h) * 3600 + int(m) * 60 + float(rest)
for line in open(sys.argv[1]):
    m = re.search(r'Cluster timestamp: ([\d:.]+)', line)
    if m:
        t = secs(m.group(1))
        if prev is not None and t <= prev:
            sys.exit('cluster timestamp %s not after %s' % (t, prev))
        prev, clusters, expect_key = t, clusters + 1, True
    elif 'Simple block' in line:
        if expect_key and 'key' not in line.split('track')[0]:
            sys.exit('cluster %d starts with a non-key block' % clusters)
        expect_key = False
print('ok: %d clusters, each opened by a key frame, timecodes increasing' % clusters)
EOF
	if [ "${2:-}" = pts ]; then
		# An elementary stream has no timestamps of its own: the reference
		# is ffmpeg's remux of it at the same frame rate (1 ms ticks).
		ffmpeg -v error -framerate 30 -i "$in" -c copy -f matroska "$T/$name.ref.mkv"
		ffprobe -v error -show_entries packet=pts_time -of csv=p=0 "$T/$name.ref.mkv" >"$T/$name.in.pts"
		ffprobe -v error -show_entries packet=pts_time -of csv=p=0 "$out" >"$T/$name.out.pts"
		$PY - "$T/$name.in.pts" "$T/$name.out.pts" <<'EOF' || fail "$name: pts differ"
import sys
a = [float(x) for x in open(sys.argv[1]) if x.strip() and x.strip() != 'N/A']
b = [float(x) for x in open(sys.argv[2]) if x.strip()]
if len(a) != len(b):
    sys.exit('%d input pts, %d output pts' % (len(a), len(b)))
# Absolute (epoch) times: compare offsets from the first frame.
bad = [(i, x, y) for i, (x, y) in enumerate(zip(a, b))
       if abs((x - a[0]) - (y - b[0])) > 0.0011]
if bad:
    sys.exit('pts differ (index, in, out): %s' % bad[:5])
print('ok: %d pts equal within the 1 ms timecode scale' % len(a))
EOF
	fi
}

clusters() { grep -c 'Cluster timestamp' "$T/$1.info"; }

# 1. 320x240, 1 s GOP, AUD + SEI, relative times, persistent tags.
encode small 320x240 90 30 aud=1
mux small "absolute-fragment-times = false" "tags = camera=front,site=lab"
check small pts
expect_eq "small: clusters (one per key frame)" "$(clusters small)" 3
expect_eq "small: first cluster at 0" "$(grep -m1 'Cluster timestamp' "$T/small.info" | sed 's/.*: //')" "00:00:00.000000000"
expect_eq "small: tags per fragment" "$(grep -c 'Name: camera' "$T/small.info")" 3
expect_grep "String: lab" "$T/small.info"
expect_grep "Pixel width: 320" "$T/small.info"
expect_grep "Name: kinesis_video" "$T/small.info"
expect_grep "Codec ID: V_MPEG4/ISO/AVC" "$T/small.info"

# 2. 1920x1080 (coded 1088, cropped), 2 s GOP... kept short: 40 frames,
#    GOP 20; absolute (epoch) cluster times; KVS event tags every fragment.
encode hd 1920x1080 40 20
mux hd "notification-every = 1" "image-every = 2" "image-prefix = cam1"
check hd pts
expect_grep "Pixel width: 1920" "$T/hd.info"
expect_grep "Pixel height: 1080" "$T/hd.info"
expect_eq "hd: notification tags" "$(grep -c 'Name: AWS_KINESISVIDEO_NOTIFICATION' "$T/hd.info")" 2
expect_eq "hd: image tags" "$(grep -c 'Name: AWS_KINESISVIDEO_IMAGE_GENERATION' "$T/hd.info")" 1
expect_grep "String: cam1" "$T/hd.info"
year=$(grep -m1 'Cluster timestamp' "$T/hd.info" | sed 's/.*: //; s/:.*//')
[ "$year" -gt 400000 ] || fail "hd: absolute cluster time should be epoch-based hours, got $year"
echo "ok: hd: absolute cluster timecode ($year h since the epoch)"

# 3. 4 slices per picture, 10 s GOP (the KVS-safe maximum), 11 s of video;
#    max-fragment-duration 5 s: the guard warns once per long GOP.
encode slices 320x180 330 300 slices=4
mux slices "max-fragment-duration = 5s"
check slices pts
expect_eq "slices: clusters" "$(clusters slices)" 2
expect_grep "max-fragment-duration" "$T/slices.log"
expect_eq "slices: one warning per long GOP" "$(grep -c 'asked upstream for a key frame' "$T/slices.log")" 1

# 4. B-frames (pts != dts upstream of filesrc's decode-order stamps), odd
#    size, 1 s GOP: pictures and counts.
encode bfr 352x288 60 30 bframes=2
mux bfr
check bfr

# 5. Fragments by duration (key-frame-fragmentation off): 0.5 s GOPs,
#    fragments of at least 1 s.
encode dur 160x120 90 15
mux dur "key-frame-fragmentation = false" "fragment-duration = 1000ms"
check dur pts
expect_eq "dur: clusters" "$(clusters dur)" 3

# 6. A config error names the parameter; `vpipe check` catches it.
printf '[src]\nmodule = filesrc\nlocation = %s\nformat = h264\n\n[mux]\nmodule = mkv\ninput = src\ntags = AWS_X=1\n\n[out]\nmodule = null\ninput = mux\n' "$T/small.h264" >"$T/bad.ini"
if "$VPIPE" check "$T/bad.ini" >"$T/bad.log" 2>&1; then fail "check passed with an AWS tag"; fi
expect_grep "STATUS_INVALID_METADATA_NAME" "$T/bad.log"
echo "all mkv end-to-end checks passed"
