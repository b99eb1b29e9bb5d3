#!/usr/bin/env bash
# v4l2m2m on the device double's M2M encoder (libx264 inside): I420 and NV12
# from testsrc, and YUYV from the v4l2 camera double (converted), come out
# as H.264 that ffmpeg decodes to the same pictures (PSNR), with key frames
# every keyint and SPS/PPS on each; a key-frame request from mkv forces an
# IDR right away; a missing encoder is a clear error.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
source "$VPIPE_TOP/tests/doubles/v4l2dev/preload.sh"
cat >"$T/dev.conf" <<CONF
[device]
path = /dev/video11
type = encoder

[device]
path = /dev/video0
formats = YUYV
sizes = 160x120
rates = 30
CONF
export VPIPE_V4L2_DOUBLE="$T/dev.conf"
run() { LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" "$@"; }
psnr() { # RAW PIXFMT SIZE H264 -> average PSNR (dB)
	ffmpeg -v info -f rawvideo -pix_fmt "$2" -s "$3" -i "$1" -i "$4" \
		-lavfi "[0:v]settb=1/30,setpts=N[a];[1:v]settb=1/30,setpts=N[b];[b][a]psnr" -f null - 2>&1 |
		sed -n 's/.*PSNR.* average:\([0-9.inf]*\).*/\1/p' | tail -n 1
}

for fmt in i420 nv12; do
	pix=yuv420p; [ $fmt = nv12 ] && pix=nv12
	cat >"$T/g.ini" <<INI
[src]
module = testsrc
width = 160
height = 120
format = $fmt
num-frames = 60
is-live = false

[raw]
module = filesink
input = src
location = $T/in.$fmt

[enc]
module = v4l2m2m
input = src
device = /dev/video11
bitrate = 800
keyint = 20

[out]
module = filesink
input = enc
location = $T/out.$fmt.h264
INI
	run run "$T/g.ini" 2>"$T/log" || { cat "$T/log"; fail "$fmt run failed"; }
	n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.$fmt.h264")
	expect_eq "$fmt: decoded pictures" "$n" 60
	keys=$(ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/out.$fmt.h264" | grep -n K | cut -d: -f1 | tr '\n' ' ')
	expect_eq "$fmt: key frames (keyint 20)" "$keys" "1 21 41 "
	p=$(psnr "$T/in.$fmt" $pix 160x120 "$T/out.$fmt.h264")
	/usr/bin/python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" ||
		fail "$fmt: PSNR $p dB < 35"
	echo "ok: $fmt: PSNR $p dB"
done
expect_grep "key frame every 20 frames" "$T/log"

# A stream cut at the last key frame decodes alone (SPS/PPS repeated).
/usr/bin/python3 - "$T/out.nv12.h264" "$T/tail.h264" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
i = d.rfind(b"\x00\x00\x00\x01\x67")
assert i > 0, "no repeated SPS"
open(sys.argv[2], "wb").write(d[i:])
PY
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/tail.h264")
expect_eq "pictures decoded from the last key frame" "$n" 20

# YUYV from the camera double, converted on the way into the encoder.
cat >"$T/c.ini" <<INI
[cam]
module = v4l2
device = /dev/video0
format = yuyv
width = 160
height = 120

[enc]
module = v4l2m2m
input = cam
device = /dev/video11

[out]
module = filesink
input = enc
location = $T/cam.h264
INI
run run "$T/c.ini" --duration 1s 2>"$T/log" || { cat "$T/log"; fail "camera run failed"; }
expect_grep "YUYV 160x120 (as YU12) -> H.264" "$T/log"
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/cam.h264")
[ "$n" -ge 20 ] || fail "only $n pictures from the camera through the encoder"
echo "ok: $n camera pictures encoded"

# Key-frame request: GOP 1000 frames, mkv wants a fragment within 1 s.
cat >"$T/k.ini" <<INI
[src]
module = testsrc
width = 160
height = 120
num-frames = 90
is-live = false

[enc]
module = v4l2m2m
input = src
device = /dev/video11
keyint = 1000

[mux]
module = mkv
input = enc
max-fragment-duration = 1s

[out]
module = filesink
input = mux
location = $T/k.mkv
INI
run run "$T/k.ini" 2>"$T/klog" || { cat "$T/klog"; fail "key-frame run failed"; }
expect_grep "asked upstream for a key frame" "$T/klog"
expect_grep "enc: .*keyframe_requests_total=" "$T/klog"
ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/k.mkv" >"$T/pk"
second=$(grep -n K "$T/pk" | sed -n 2p | cut -d: -f1)
[ -n "$second" ] || fail "no forced key frame"
[ "$second" -le 45 ] || fail "forced key frame at packet $second, want soon after 31"
echo "ok: forced key frame at packet $second (request at about 31)"

run probe /dev/video11 >"$T/probe"
expect_grep "capabilities: video-m2m-mplane streaming" "$T/probe"
expect_grep "H264  H.264, compressed  \[format = h264\]" "$T/probe"
expect_grep "32x32 to 1920x1088 in steps of 2x2" "$T/probe"
expect_grep "use with: module = v4l2m2m, device = /dev/video11" "$T/probe"

# No encoder: a clear error at start.
sed -i 's|/dev/video11|/dev/video12|' "$T/k.ini"
run run "$T/k.ini" 2>"$T/log" && fail "ran without an encoder"
expect_grep "cannot open /dev/video12: No such file or directory (no hardware encoder here?" "$T/log"
