#!/usr/bin/env bash
# rtsp with B-frames: GStreamer's RTSP server serves x264 with 2 B-frames
# (with and without b-pyramid), over TCP. RTP carries presentation times;
# the module derives dts from the reorder depth the SPS declares. Checked:
#  - tsdump: dts never goes back and steps one frame (33.3 ms, within RTP
#    tick rounding) after the first frames; pts >= dts; the pts of the
#    received frames sorted give the display order ffmpeg decodes from
#    the sent stream; key frames have pts - dts = the depth;
#  - rtsp -> mkv -> filesink: the muxer drops nothing, mkvinfo parses the
#    file, ffmpeg decodes a contiguous run of the sent pictures from it,
#    and its ffprobe pts are a gap-free 30 fps grid.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/servers/rtsp_helpers.sh"
rtsp_need
need mkvinfo
PY=/usr/bin/python3
export VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH:$VPIPE_TOP/$BUILD/tests"
[ -f "$VPIPE_TOP/$BUILD/tests/tsdump.so" ] || skip "needs $BUILD/tests/tsdump.so (make test builds it)"

# run_case NAME DEPTH SERVER-ARGS...
run_case() {
	local name=$1 depth=$2
	shift 2
	local port
	port=$(free_port)
	rtsp_start_server "$name" "$port" --frames 75 --sent "$T/$name.sent.h264" --size 176x144 "$@"
	cat >"$T/$name.ini" <<INI
[cam]
module = rtsp
url = rtsp://127.0.0.1:$port/cam
timeout = 2s
[ts]
module = tsdump
input = cam
location = $T/$name.ts
[mux]
module = mkv
input = ts
absolute-fragment-times = false
[out]
module = filesink
input = mux
location = $T/$name.mkv
INI
	"$VPIPE" run "$T/$name.ini" --duration 4s >"$T/$name.out" 2>&1 || { cat "$T/$name.out"; fail "$name: vpipe run failed"; }
	rtsp_stop_server "$name"
	if grep -qE 'dropped|before the previous|deeper than' "$T/$name.out"; then
		cat "$T/$name.out"
		fail "$name: frames dropped or reordered deeper than declared"
	fi
	expect_grep "reordered up to $depth deep (SPS max_num_reorder_frames)" "$T/$name.out"
	mkvinfo "$T/$name.mkv" >"$T/$name.info" 2>&1 || { tail "$T/$name.info"; fail "$name: mkvinfo failed"; }
	# The pictures in the .mkv, in decoding order, as sent.
	ffmpeg -v error -y -i "$T/$name.mkv" -c copy -bsf:v h264_mp4toannexb -f h264 "$T/$name.got.h264"
	expect_contiguous "$T/$name.sent.h264" "$T/$name.got.h264"
	n=$(wc -l <"$T/got.md5")
	# (how many arrive depends on how soon the session starts on a busy
	# machine; that they are contiguous is checked above)
	[ "$n" -ge 30 ] || fail "$name: only $n pictures of 75"
	# Display order of the received pictures per ffmpeg (decoding the
	# received stream) against the order of our pts.
	ffprobe -v error -show_entries frame=coded_picture_number -of csv=p=0 "$T/$name.got.h264" |
		grep -E '^[0-9]' | cut -d, -f1 >"$T/$name.display"
	ffprobe -v error -show_entries packet=pts_time -of csv=p=0 "$T/$name.mkv" >"$T/$name.mkv.pts"
	$PY - "$T/$name.ts" "$T/$name.display" "$T/$name.mkv.pts" "$depth" "$name" <<'EOF' || fail "$name: timestamps"
import sys
frame = 1e9 / 30
rows = [l.split() for l in open(sys.argv[1])]
dts = [int(r[0]) for r in rows]
pts = [int(r[1]) for r in rows]
depth = int(sys.argv[4])
if any(b < a for a, b in zip(dts, dts[1:])):
    sys.exit('dts go back')
steps = [b - a for a, b in zip(dts[depth + 1:], dts[depth + 2:])]
if any(abs(s - frame) > 0.05e6 for s in steps):
    sys.exit('dts steps not one frame: %s' % sorted(set(steps))[:5])
low = [i for i in range(len(rows)) if pts[i] < dts[i]]
if low:
    sys.exit('pts below dts at frames %s' % low[:5])
keys = [round((pts[i] - dts[i]) / frame) for i, r in enumerate(rows) if 'K' in r[3]]
if any(k != depth for k in keys[1:]) or (keys and keys[0] > depth):
    sys.exit('key frames pts - dts (frames) %s, want %d' % (keys, depth))
# ffmpeg lists pictures in display order by decoding-order number; our
# frames (as muxed, the same decoding order) sorted by pts must agree.
shown = [int(x) for x in open(sys.argv[2]) if x.strip()]
ours = sorted(range(len(pts)), key=lambda i: pts[i])
first = len(pts) - len(shown)  # frames the muxer saw before its first key frame
if first < 0 or [i - first for i in ours if i >= first] != shown:
    sys.exit('display order differs from ffmpeg\'s: %s vs %s' % (ours[:12], shown[:12]))
mkv = sorted(float(x) for x in open(sys.argv[3]) if x.strip())
gaps = [round((b - a) * 30, 2) for a, b in zip(mkv, mkv[1:])]
if any(abs(g - 1) > 0.05 for g in gaps):
    sys.exit('mkv pts not a 30 fps grid: %s' % gaps[:10])
print('ok: %s: %d frames, dts monotonic one frame apart, pts >= dts, key '
      'frames pts - dts = %d frames, display order = ffmpeg\'s, mkv pts on '
      'a 30 fps grid' % (sys.argv[5], len(rows), depth))
EOF
}

run_case b2 1 --bframes 2
run_case b2_pyramid 2 --bframes 2 --b-pyramid
echo "PASS"
