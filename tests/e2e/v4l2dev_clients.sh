#!/usr/bin/env bash
# The V4L2 device double is faithful enough for real clients: v4l2-ctl and
# ffmpeg enumerate, configure and stream through it, frames match the
# pattern byte for byte, camera H.264 decodes, the scripted unplug is seen
# as ENODEV, and v4l2-ctl encodes through the M2M encoder (EOS event, output
# decodable).
source "$VPIPE_TOP/tests/lib.sh"
need v4l2-ctl ffmpeg ffprobe
source "$VPIPE_TOP/tests/doubles/v4l2dev/preload.sh"
CHECK="/usr/bin/python3 $VPIPE_TOP/tests/doubles/v4l2dev/check_pattern.py"

ffmpeg -v error -f lavfi -i testsrc=size=160x120:rate=30 -frames:v 30 \
	-c:v libx264 -g 10 -bf 0 -tune zerolatency -f h264 "$T/clip.h264"
cat >"$T/dev.conf" <<CONF
[device]
path = /dev/video7
alias = /dev/v4l/by-id/usb-vpipe_Double_Camera-video-index0
formats = YUYV NV12 YU12 H264
sizes = 160x120 320x240
rates = 30 15
h264 = $T/clip.h264

[device]
path = /dev/video8
formats = YUYV
sizes = 160x120
unplug-after = 10
unplug-for-ms = 800

[device]
path = /dev/video11
type = encoder
CONF
export VPIPE_V4L2_DOUBLE="$T/dev.conf"
# third-party tools: their own leaks are not ours
dbl() { ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 LD_PRELOAD="$V4L2DEV_PRELOAD" "$@"; }

dbl v4l2-ctl -d /dev/v4l/by-id/usb-vpipe_Double_Camera-video-index0 --all >"$T/all.txt"
expect_grep "Driver name *: uvcvideo" "$T/all.txt"
expect_grep "Video Capture" "$T/all.txt"
expect_grep "h264_i_frame_period" "$T/all.txt"
expect_grep "Frames per second: 30.000" "$T/all.txt"

dbl v4l2-ctl -d /dev/video7 --list-formats-ext >"$T/fmts.txt"
expect_grep "'NV12'" "$T/fmts.txt"
expect_grep "'H264' (H.264, compressed)" "$T/fmts.txt"
expect_grep "Interval: Discrete 0.067s (15.000 fps)" "$T/fmts.txt"

dbl v4l2-ctl -d /dev/video7 --set-fmt-video=width=320,height=240,pixelformat=NV12 \
	--set-parm=15 --stream-mmap --stream-count=20 --stream-to="$T/ctl.nv12"
$CHECK "$T/ctl.nv12" NV12 320 240 --min-frames 20

dbl ffmpeg -v error -f v4l2 -input_format yuyv422 -video_size 160x120 -framerate 30 \
	-i /dev/video7 -frames:v 10 -f rawvideo -y "$T/ff.yuyv"
$CHECK "$T/ff.yuyv" YUYV 160 120 --min-frames 10

dbl ffmpeg -v error -f v4l2 -input_format h264 -video_size 160x120 \
	-i /dev/video7 -frames:v 25 -c copy -f h264 -y "$T/ff.h264"
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/ff.h264")
expect_eq "decodable H.264 frames from the camera" "$n" 25

# Unplug: v4l2-ctl sees ENODEV after 10 frames (it reports it, exit 0).
# Reappearance is exercised in one process by tests/e2e/v4l2_unplug.sh.
dbl v4l2-ctl -d /dev/video8 --stream-mmap --stream-count=40 >"$T/unplug.txt" 2>&1 || true
expect_grep "VIDIOC_DQBUF: failed: No such device" "$T/unplug.txt"

# The M2M encoder: v4l2-ctl feeds its own test pattern on OUTPUT, drains
# with ENC_CMD_STOP (EOS event) and writes CAPTURE; ffprobe decodes it.
dbl v4l2-ctl -d /dev/video11 --all >"$T/enc.txt"
expect_grep "Video Memory-to-Memory Multiplanar" "$T/enc.txt"
expect_grep "h264_i_frame_period" "$T/enc.txt"
dbl v4l2-ctl -d /dev/video11 --set-fmt-video-out=width=160,height=120,pixelformat=YU12 \
	--stream-out-mmap --stream-mmap --stream-count=30 --stream-to="$T/enc.h264" >"$T/encrun.txt" 2>&1
expect_grep "EOS EVENT" "$T/encrun.txt"
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/enc.h264")
expect_eq "pictures v4l2-ctl encoded through the M2M double" "$n" 30
