#!/usr/bin/env bash
# v4l2 on the device double: raw frames reach filesink byte for byte (zero
# copy from the mapped buffers), by path and by stable name; requests the
# device cannot meet fail with what it offers; a missing device is a clear
# error; `vpipe probe` lists the offers.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/doubles/v4l2dev/preload.sh"
CHECK="/usr/bin/python3 $VPIPE_TOP/tests/doubles/v4l2dev/check_pattern.py"
cat >"$T/dev.conf" <<CONF
[device]
path = /dev/video7
alias = /dev/v4l/by-id/usb-vpipe_Double_Camera-video-index0
formats = YUYV NV12 YU12
sizes = 160x120 320x240
rates = 30 15
CONF
export VPIPE_V4L2_DOUBLE="$T/dev.conf"
run() { LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" "$@"; }
graph() { # DEVICE FORMAT W H FPS OUT
	cat >"$T/g.ini" <<INI
[cam]
module = v4l2
device = $1
format = $2
width = $3
height = $4
framerate = $5
buffers = 3

[out]
module = filesink
input = cam
location = $6
INI
}

graph /dev/video7 yuyv 160 120 30 "$T/a.yuyv"
run run "$T/g.ini" --duration 1s 2>"$T/log" || { cat "$T/log"; fail "yuyv run failed"; }
$CHECK "$T/a.yuyv" YUYV 160 120 --min-frames 20 | tee "$T/chk"
expect_grep "gaps=0" "$T/chk"

graph /dev/v4l/by-id/usb-vpipe_Double_Camera-video-index0 i420 320 240 15 "$T/b.i420"
run run "$T/g.ini" --duration 1s 2>"$T/log" || { cat "$T/log"; fail "i420 run failed"; }
$CHECK "$T/b.i420" YU12 320 240 --min-frames 10
expect_grep "YU12 320x240 at 15 fps" "$T/log"

graph /dev/video7 nv12 320 240 30 "$T/c.nv12"
run run "$T/g.ini" --duration 1s 2>"$T/log" || { cat "$T/log"; fail "nv12 run failed"; }
$CHECK "$T/c.nv12" NV12 320 240 --min-frames 20

# Requests the device cannot meet say what it offers.
graph /dev/video7 mjpeg 320 240 30 "$T/x"
run run "$T/g.ini" --duration 1s 2>"$T/log" && fail "mjpeg accepted"
expect_grep "does not offer format mjpeg (MJPG); it offers: YUYV (YUYV 4:2:2), NV12 (Y/UV 4:2:0), YU12 (Planar YUV 4:2:0)" "$T/log"
graph /dev/video7 yuyv 640 480 30 "$T/x"
run run "$T/g.ini" --duration 1s 2>"$T/log" && fail "640x480 accepted"
expect_grep "does not offer 640x480 in yuyv; it offers: 160x120, 320x240" "$T/log"
graph /dev/video7 yuyv 320 240 60 "$T/x"
run run "$T/g.ini" --duration 1s 2>"$T/log" && fail "60 fps accepted"
expect_grep "does not offer 60 fps at 320x240 yuyv; it offers: 30, 15 fps" "$T/log"

# A missing device: a clear error at start; `vpipe check` does not open it.
graph /dev/video9 yuyv 320 240 30 "$T/x"
run check "$T/g.ini" >"$T/check" 2>&1 || { cat "$T/check"; fail "check opened the device"; }
run run "$T/g.ini" --duration 1s 2>"$T/log" && fail "a missing device ran"
expect_grep "cannot open /dev/video9: No such file or directory (is the camera connected?" "$T/log"

run probe /dev/video7 >"$T/probe"
expect_grep "vpipe Double Camera (driver uvcvideo" "$T/probe"
expect_grep "NV12  Y/UV 4:2:0  \[format = nv12\]" "$T/probe"
expect_grep "320x240: 30, 15 fps" "$T/probe"
expect_grep "stable name\|use with: module = v4l2, device = /dev/video7, format = yuyv, width = 160, height = 120, framerate = 30" "$T/probe"
