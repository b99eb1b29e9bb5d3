#!/usr/bin/env bash
# v4l2 with a camera that encodes H.264 itself (the double plays a file):
# every access unit reaches filesink and decodes with ffmpeg, the first is a
# key frame with SPS/PPS (inline headers through the repeat-sequence-header
# control), and a key-frame request from mkv (GOP over
# max-fragment-duration) is honoured through V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
source "$VPIPE_TOP/tests/doubles/v4l2dev/preload.sh"
# SPS/PPS only at the start of the file: key frame 2 and later lack them.
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 90 \
	-c:v libx264 -g 30 -bf 0 -tune zerolatency -f h264 "$T/gop30.h264"
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 300 \
	-c:v libx264 -g 300 -bf 0 -tune zerolatency -preset ultrafast -f h264 "$T/gop300.h264"
cat >"$T/dev.conf" <<CONF
[device]
path = /dev/video3
formats = H264 YUYV
sizes = 320x240
rates = 30
h264 = $T/gop30.h264

[device]
path = /dev/video4
formats = H264
sizes = 320x240
rates = 30
h264 = $T/gop300.h264
CONF
export VPIPE_V4L2_DOUBLE="$T/dev.conf"
cat >"$T/g.ini" <<INI
[cam]
module = v4l2
device = /dev/video3
format = h264
width = 320
height = 240
bitrate = 500
keyint = 30

[out]
module = filesink
input = cam
location = $T/out.h264
INI
LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" run "$T/g.ini" --duration 2s 2>"$T/log" || { cat "$T/log"; fail "run failed"; }
frames=$(sed -n 's/.*cam: frames in=0 out=\([0-9]*\).*/\1/p' "$T/log")
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.h264")
expect_eq "decoded pictures = access units pushed" "$n" "$frames"
[ "$n" -ge 50 ] || fail "only $n frames in 2 s"
keys=$(ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/out.h264" | grep -c K)
[ "$keys" -ge 2 ] || fail "want at least 2 key frames, got $keys"
echo "ok: $keys key frames"
# Cut at the last key frame: it decodes on its own (SPS/PPS repeated).
/usr/bin/python3 - "$T/out.h264" "$T/tail.h264" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
i = d.rfind(b"\x00\x00\x00\x01\x67")
assert i > 0, "no repeated SPS after the first key frame"
open(sys.argv[2], "wb").write(d[i:])
PY
m=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/tail.h264")
[ "$m" -ge 1 ] || fail "stream cut at the last key frame does not decode"
echo "ok: a stream cut at the last key frame decodes ($m pictures)"

# A 10 s GOP into mkv with max-fragment-duration 1s: mkv asks for a key
# frame and the camera makes one right away.
cat >"$T/k.ini" <<INI
[cam]
module = v4l2
device = /dev/video4
format = h264
width = 320
height = 240

[mux]
module = mkv
input = cam
max-fragment-duration = 1s

[out]
module = filesink
input = mux
location = $T/k.mkv
INI
LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" run "$T/k.ini" --duration 2s 2>"$T/klog" || { cat "$T/klog"; fail "run failed"; }
expect_grep "asked upstream for a key frame" "$T/klog"
expect_grep "keyframe_requests_total=1" "$T/klog"
ffprobe -v error -show_entries packet=pts_time,flags -of csv=p=0 "$T/k.mkv" >"$T/pk"
second=$(grep -n K "$T/pk" | sed -n 2p | cut -d: -f1)
[ -n "$second" ] || { cat "$T/pk"; fail "no second key frame"; }
[ "$second" -le 35 ] || fail "second key frame at packet $second, want it right after 1 s (about 31)"
echo "ok: forced key frame at packet $second"
# Buffer timestamps (CLOCK_MONOTONIC) mapped onto the pipeline clock: the
# pictures are one frame interval apart, as the camera paced them.
/usr/bin/python3 - "$T/pk" <<'PY' || fail "timestamps do not follow the camera's 30 fps"
import sys
t = [float(l.split(",")[0]) for l in open(sys.argv[1]) if l.strip()]
d = [b - a for a, b in zip(t, t[1:])]
avg = sum(d) / len(d)
print(f"ok: {len(t)} timestamps, mean step {avg * 1000:.2f} ms, min {min(d) * 1000:.1f}, max {max(d) * 1000:.1f}")
sys.exit(0 if abs(avg - 1 / 30) < 0.1 / 30 and min(d) > 0 else 1)
PY
