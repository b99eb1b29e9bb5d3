#!/usr/bin/env bash
# filesrc timestamps for H.264 with B-frames: filesrc (Annex-B) -> tsdump ->
# mkv -> filesink on x264 streams (B-frames 1 to 3, b-pyramid none/normal/
# strict, open GOP, P only). The reference is the Matroska file ffmpeg
# writes straight from libx264 (encoder timestamps, 30 fps); the elementary
# stream is extracted from it. Checked independently:
#  - ffprobe packet pts of our .mkv equal the reference's up to a constant
#    shift (1 ms timecodes);
#  - the frames leaving filesrc (tsdump) have dts one frame apart in
#    decoding order and pts >= dts; key frames have pts - dts = the reorder
#    delay (0 without B-frames);
#  - mkvinfo parses the file without error, ffmpeg decodes the same
#    pictures (framemd5) as from the reference, gst-discoverer accepts it.
# (`ffmpeg -framerate 30 -i in.h264 -c copy out.mkv` cannot serve as the
# reference: ffmpeg 5.1 leaves B-frame packets of a raw stream without pts
# and its Matroska muxer refuses them.)
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe mkvinfo gst-discoverer-1.0
PY=/usr/bin/python3
export VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH:$VPIPE_TOP/$BUILD/tests"
[ -f "$VPIPE_TOP/$BUILD/tests/tsdump.so" ] || skip "needs $BUILD/tests/tsdump.so (make test builds it)"

# encode NAME FRAMES GOP PRESET X264PARAMS: $T/NAME.ref.mkv and $T/NAME.h264
encode() {
	ffmpeg -v error -y -f lavfi -i "testsrc2=size=176x144:rate=30" -frames:v "$2" \
		-c:v libx264 -preset "$4" -g "$3" -pix_fmt yuv420p \
		-x264-params "scenecut=0:$5" "$T/$1.ref.mkv"
	ffmpeg -v error -y -i "$T/$1.ref.mkv" -c copy -bsf:v h264_mp4toannexb -f h264 "$T/$1.h264"
}

# mux NAME [filesrc key=value...]
mux() {
	local name=$1
	shift
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\nformat = h264\nframerate = 30\n' "$T/$name.h264"
		for kv in "$@"; do printf '%s\n' "$kv"; done
		printf '\n[ts]\nmodule = tsdump\ninput = src\nlocation = %s\n' "$T/$name.ts"
		printf '\n[mux]\nmodule = mkv\ninput = ts\nabsolute-fragment-times = false\n'
		printf '\n[out]\nmodule = filesink\ninput = mux\nlocation = %s\n' "$T/$name.mkv"
	} >"$T/$name.ini"
	"$VPIPE" run "$T/$name.ini" >"$T/$name.log" 2>&1 || { cat "$T/$name.log"; fail "$name: vpipe run failed"; }
}

pictures() { ffmpeg -v error -i "$1" -vsync passthrough -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}'; }

# check NAME FRAMES DELAY
check() {
	local name=$1 frames=$2 delay=$3 out="$T/$1.mkv" ref="$T/$1.ref.mkv"
	mkvinfo -v "$out" >"$T/$name.info" 2>&1 || { tail "$T/$name.info"; fail "$name: mkvinfo failed"; }
	if grep -qiE '^\(mkvinfo\)|error' "$T/$name.info"; then
		grep -iE '^\(mkvinfo\)|error' "$T/$name.info" | head
		fail "$name: mkvinfo reports errors"
	fi
	if grep -qE 'dropped|before the previous' "$T/$name.log"; then
		cat "$T/$name.log"
		fail "$name: the muxer dropped frames"
	fi
	pictures "$ref" >"$T/$name.ref.md5"
	pictures "$out" >"$T/$name.out.md5"
	[ "$(wc -l <"$T/$name.out.md5")" = "$frames" ] || fail "$name: $(wc -l <"$T/$name.out.md5") pictures, want $frames"
	cmp -s "$T/$name.ref.md5" "$T/$name.out.md5" || fail "$name: decoded pictures differ"
	echo "ok: $name: $frames decoded pictures identical (framemd5)"
	gst-discoverer-1.0 "$out" >"$T/$name.gst" 2>&1 || { cat "$T/$name.gst"; fail "$name: gst-discoverer failed"; }
	expect_grep "H.264" "$T/$name.gst"
	ffprobe -v error -show_entries packet=pts_time -of csv=p=0 "$ref" >"$T/$name.ref.pts"
	ffprobe -v error -show_entries packet=pts_time -of csv=p=0 "$out" >"$T/$name.out.pts"
	$PY - "$T/$name.ref.pts" "$T/$name.out.pts" "$T/$name.ts" "$delay" "$name" <<'EOF' || fail "$name: timestamps"
import sys
ref = [float(x) for x in open(sys.argv[1]) if x.strip()]
out = [float(x) for x in open(sys.argv[2]) if x.strip()]
if len(ref) != len(out):
    sys.exit('%d reference packets, %d ours' % (len(ref), len(out)))
shift = out[0] - ref[0]
bad = [(i, r, o) for i, (r, o) in enumerate(zip(ref, out)) if abs(o - r - shift) > 0.0011]
if bad:
    sys.exit('pts differ from the reference (index, ref, ours): %s' % bad[:5])
frame = 1e9 / 30
rows = [l.split() for l in open(sys.argv[3])]
dts = [int(r[0]) for r in rows]
pts = [int(r[1]) for r in rows]
for i in range(1, len(dts)):
    if abs(dts[i] - dts[i - 1] - frame) > 1:
        sys.exit('dts %d -> %d at frame %d: not one frame later' % (dts[i - 1], dts[i], i))
low = [i for i in range(len(dts)) if pts[i] < dts[i]]
if low:
    sys.exit('pts below dts at frames %s' % low[:5])
want = int(sys.argv[4])
keys = [round((pts[i] - dts[i]) / frame) for i, r in enumerate(rows) if 'K' in r[3]]
if any(k != want for k in keys):
    sys.exit('key frames pts - dts (frames): %s, want %d' % (keys, want))
print('ok: %s: %d pts equal to the encoder\'s (shift %.3f s), dts one frame '
      'apart, pts >= dts, key frames pts - dts = %d frames' % (sys.argv[5], len(ref), shift, want))
EOF
}

encode p_only 45 15 ultrafast bframes=0
mux p_only
check p_only 45 0
encode b1 45 15 ultrafast bframes=1:b-adapt=0
mux b1
check b1 45 1
encode b2 60 30 ultrafast bframes=2:b-adapt=0:b-pyramid=none
mux b2
check b2 60 1
encode b3n 60 20 ultrafast bframes=3:b-pyramid=normal
mux b3n
check b3n 60 2
encode b3s 60 30 veryfast bframes=3:b-pyramid=strict:b-adapt=2
mux b3s
check b3s 60 2
encode open 75 25 veryfast bframes=3:open-gop=1
mux open
check open 75 2

# loop: the second pass keeps counting (dts and pts continue, display order
# right in both passes).
mux b3n "loop = true" "num-frames = 120"
$PY - "$T/b3n.ts" <<'EOF' || fail "loop: timestamps"
import sys
rows = [l.split() for l in open(sys.argv[1])]
frame = 1e9 / 30
dts = [int(r[0]) for r in rows]
pts = [int(r[1]) for r in rows]
if len(rows) != 120:
    sys.exit('%d frames, want 120' % len(rows))
if any(abs(dts[i] - dts[i - 1] - frame) > 1 for i in range(1, len(dts))):
    sys.exit('dts not one frame apart')
order = sorted(range(len(pts)), key=lambda i: pts[i])
if any(abs(pts[order[i]] - pts[order[i - 1]] - frame) > 1 for i in range(1, len(order))):
    sys.exit('pts are not a gap-free frame grid')
if any(p < d for p, d in zip(pts, dts)):
    sys.exit('pts below dts')
print('ok: loop: 120 frames over two passes, dts and pts on one frame grid')
EOF
echo "PASS"
