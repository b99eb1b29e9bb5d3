#!/usr/bin/env bash
# DMABUF import from a v4l2 camera into v4l2m2m, on the device double
# (camera buffers exported with VIDIOC_EXPBUF are memfds; the encoder
# imports them with V4L2_MEMORY_DMABUF and reads the camera's bytes through
# its own mapping of the fd).
#  1. The same camera frames go to two encoders in one graph, one importing
#     and one copying: the two H.264 streams are byte-identical, decode to
#     the same pictures, and match the camera's raw frames (PSNR); the
#     importing encoder copied nothing (its counters and the double's own
#     count of pictures read from DMABUF say so).
#  2. NV12 imports too.
#  3. A camera size whose layout is not the encoder's (160x120: the encoder
#     pads the luma plane to 128 rows) falls back to copying, saying why;
#     input-memory = dmabuf then fails at the first picture with the reason.
#  4. export-dmabuf = off on the camera, a camera driver without EXPBUF, an
#     encoder that refuses DMABUF queues: copies (or, with input-memory =
#     dmabuf, an error saying why).
#  5. The camera is unplugged while the encoder holds imported buffers: the
#     stream goes on after the reopen, still imported, and decodes.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
source "$VPIPE_TOP/tests/doubles/v4l2dev/preload.sh"
cat >"$T/dev.conf" <<CONF
[device]
path = /dev/video11
type = encoder

[device]
path = /dev/video12
type = encoder

[device]
path = /dev/video0
formats = YU12 NV12 YUYV
sizes = 320x240 160x120
rates = 30

[device]
path = /dev/video13
type = encoder
dmabuf = no

[device]
path = /dev/video2
formats = YU12
sizes = 320x240
rates = 30
dmabuf = no

[device]
path = /dev/video1
formats = YU12
sizes = 320x240
rates = 30
unplug-after = 20
unplug-for-ms = 300
CONF
export VPIPE_V4L2_DOUBLE="$T/dev.conf" VPIPE_V4L2_DOUBLE_STATS=1
run() { LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" "$@"; }
frames() { ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }
counter() { # NODE NAME LOG -> value of the node's counter NAME (0 if none)
	local v
	v=$(sed -n "s/.* $1: frames in=.* $2=\([0-9]*\).*/\1/p" "$3" | tail -n 1)
	echo "${v:-0}"
}
graph() { # FORMAT WIDTH HEIGHT IMPORT-MEMORY [CAMERA-EXPORT]
	cat <<INI
[cam]
module = v4l2
device = /dev/video0
format = $1
width = $2
height = $3
export-dmabuf = ${5:-auto}

[raw]
module = filesink
input = cam
location = $T/raw

[imp]
module = v4l2m2m
input = cam
device = /dev/video11
input-memory = $4
keyint = 15

[cpy]
module = v4l2m2m
input = cam
device = /dev/video12
input-memory = mmap
keyint = 15

[o1]
module = filesink
input = imp
location = $T/imp.h264

[o2]
module = filesink
input = cpy
location = $T/cpy.h264
INI
}

# 1. I420 320x240: the layouts match, the import path is taken.
graph i420 320 240 auto >"$T/g.ini"
run run "$T/g.ini" --duration 1500ms 2>"$T/log" || { cat "$T/log"; fail "i420 run failed"; }
expect_grep "cam: .*4 buffers exported as DMABUF" "$T/log"
expect_grep "imp: /dev/video11: YU12 320x240 (as YU12, DMABUF imported)" "$T/log"
n=$(counter imp dmabuf_frames_total "$T/log")
[ "$n" -ge 30 ] || { cat "$T/log"; fail "imported only '$n' pictures"; }
expect_eq "pictures copied by the importing encoder" "$(counter imp copied_frames_total "$T/log")" 0
expect_eq "pictures copied by the copying encoder" "$(counter cpy copied_frames_total "$T/log")" "$n"
expect_grep "v4l2dev: /dev/video11 encoded $n pictures from DMABUF, 0 from MMAP" "$T/log"
cmp "$T/imp.h264" "$T/cpy.h264" || fail "imported and copied encodes differ"
echo "ok: imported and copied encodes are byte-identical ($(stat -c %s "$T/imp.h264") bytes)"
expect_eq "decoded pictures" "$(frames "$T/imp.h264")" "$n"
ffmpeg -v error -i "$T/imp.h264" -f framemd5 "$T/imp.md5"
ffmpeg -v error -i "$T/cpy.h264" -f framemd5 "$T/cpy.md5"
cmp "$T/imp.md5" "$T/cpy.md5" || fail "decoded pictures differ"
echo "ok: the decoded pictures are the same ($(grep -vc '^#' "$T/imp.md5") frames)"
p=$(ffmpeg -v info -f rawvideo -pix_fmt yuv420p -s 320x240 -i "$T/raw" -i "$T/imp.h264" \
	-lavfi "[0:v]settb=1/30,setpts=N[a];[1:v]settb=1/30,setpts=N[b];[b][a]psnr" -f null - 2>&1 |
	sed -n 's/.*PSNR.* average:\([0-9.inf]*\).*/\1/p' | tail -n 1)
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" ||
	fail "imported pictures against the camera's: PSNR $p dB < 35"
echo "ok: imported pictures match the camera's frames: PSNR $p dB"

# 2. NV12 is imported as NV12.
graph nv12 320 240 dmabuf >"$T/g.ini"
run run "$T/g.ini" --duration 1s 2>"$T/log" || { cat "$T/log"; fail "nv12 run failed"; }
expect_grep "imp: /dev/video11: NV12 320x240 (as NV12, DMABUF imported)" "$T/log"
cmp "$T/imp.h264" "$T/cpy.h264" || fail "nv12: imported and copied encodes differ"
expect_eq "nv12: pictures copied" "$(counter imp copied_frames_total "$T/log")" 0
echo "ok: nv12 imported, $(frames "$T/imp.h264") pictures identical to the copy"

# 3. 160x120: the encoder wants its chroma at row 128, the camera's is at 120.
graph i420 160 120 auto >"$T/g.ini"
run run "$T/g.ini" --duration 1s 2>"$T/log" || { cat "$T/log"; fail "160x120 run failed"; }
expect_grep "imp: /dev/video11: copying pictures into MMAP buffers: plane 1 starts at byte 19200 of the DMABUF, the encoder reads it at 20480 (its planes are padded)" "$T/log"
expect_grep "imp: /dev/video11: YU12 160x120 (as YU12) -> H.264" "$T/log"
expect_eq "160x120: pictures imported" "$(counter imp dmabuf_frames_total "$T/log")" 0
[ "$(counter imp copied_frames_total "$T/log")" -ge 15 ] || fail "160x120: too few pictures copied"
expect_grep "v4l2dev: /dev/video11 encoded 0 pictures from DMABUF" "$T/log"
cmp "$T/imp.h264" "$T/cpy.h264" || fail "160x120: the fallback encode differs from the copy"
echo "ok: mismatched layout falls back to copies, $(frames "$T/imp.h264") pictures"
graph i420 160 120 dmabuf >"$T/g.ini"
run run "$T/g.ini" --duration 1s 2>"$T/log" && fail "input-memory = dmabuf ran with a mismatched layout"
expect_grep "imp: /dev/video11: input-memory = dmabuf, but plane 1 starts at byte 19200" "$T/log"
# YUYV is converted, so it cannot be imported.
graph yuyv 320 240 auto >"$T/g.ini"
run run "$T/g.ini" --duration 500ms 2>"$T/log" || { cat "$T/log"; fail "yuyv run failed"; }
expect_grep "imp: /dev/video11: copying pictures into MMAP buffers: the pictures are YUYV, the encoder takes YU12" "$T/log"

# 4. The camera exports nothing: copies.
graph i420 320 240 auto off >"$T/g.ini"
run run "$T/g.ini" --duration 500ms 2>"$T/log" || { cat "$T/log"; fail "export-dmabuf = off run failed"; }
grep -q "exported as DMABUF" "$T/log" && fail "buffers exported with export-dmabuf = off"
expect_eq "export off: pictures imported" "$(counter imp dmabuf_frames_total "$T/log")" 0
graph i420 320 240 dmabuf off >"$T/g.ini"
run run "$T/g.ini" --duration 500ms 2>"$T/log" && fail "input-memory = dmabuf ran without a DMABUF"
expect_grep "input-memory = dmabuf, but the pictures carry no DMABUF" "$T/log"

# A camera driver without VIDIOC_EXPBUF, an encoder that refuses DMABUF.
graph i420 320 240 auto | sed 's|/dev/video0|/dev/video2|' >"$T/noexp.ini"
run run "$T/noexp.ini" --duration 500ms 2>"$T/log" || { cat "$T/log"; fail "camera without EXPBUF run failed"; }
grep -q "exported as DMABUF" "$T/log" && fail "a camera without EXPBUF exported"
expect_eq "camera without EXPBUF: pictures imported" "$(counter imp dmabuf_frames_total "$T/log")" 0
graph i420 320 240 auto | sed 's|/dev/video11|/dev/video13|' >"$T/noimp.ini"
run run "$T/noimp.ini" --duration 500ms 2>"$T/log" || { cat "$T/log"; fail "encoder without DMABUF run failed"; }
expect_grep "imp: /dev/video13 (bcm2835-codec-encode) does not import DMABUF on OUTPUT (VIDIOC_REQBUFS: Invalid argument); copying pictures instead" "$T/log"
expect_eq "encoder without DMABUF: pictures imported" "$(counter imp dmabuf_frames_total "$T/log")" 0
[ "$(counter imp copied_frames_total "$T/log")" -ge 5 ] || fail "encoder without DMABUF: nothing copied"
cmp "$T/imp.h264" "$T/cpy.h264" || fail "encoder without DMABUF: the encode differs from the copy"
graph i420 320 240 dmabuf | sed 's|/dev/video11|/dev/video13|' >"$T/noimp.ini"
run run "$T/noimp.ini" --duration 500ms 2>"$T/log" && fail "input-memory = dmabuf ran on an encoder without DMABUF"
expect_grep "does not import DMABUF on OUTPUT (VIDIOC_REQBUFS: Invalid argument)" "$T/log"

# 5. Unplug while imported buffers are in the encoder.
cat >"$T/u.ini" <<INI
[cam]
module = v4l2
device = /dev/video1
format = i420
width = 320
height = 240
retry-delay = 100ms
retry-max-delay = 200ms

[imp]
module = v4l2m2m
input = cam
device = /dev/video11
input-memory = dmabuf
keyint = 15

[o1]
module = filesink
input = imp
location = $T/u.h264
INI
run run "$T/u.ini" --duration 2500ms 2>"$T/log" || { cat "$T/log"; fail "unplug run failed"; }
expect_grep "cam: .*reopening" "$T/log"
expect_grep "cam: /dev/video1 is back" "$T/log"
n=$(counter imp dmabuf_frames_total "$T/log")
[ "$n" -ge 40 ] || { cat "$T/log"; fail "only '$n' pictures imported across the unplug"; }
expect_eq "unplug: decoded pictures" "$(frames "$T/u.h264")" "$n"
echo "ok: $n pictures imported across an unplug, all decode"
