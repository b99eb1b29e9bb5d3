#!/usr/bin/env bash
# The camera goes away mid-stream (ENODEV, the node vanishes for 600 ms):
# v4l2 reports it, reopens with backoff, and the stream continues. Raw
# frames on both sides of the gap are still byte-exact (the pattern counter
# shows the frame lost in the unplug and keeps rising); an H.264 stream resumes at a key frame and every
# access unit decodes; the first frame after the reopen carries
# DISCONTINUITY, which v4l2m2m turns into a key frame right there.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
source "$VPIPE_TOP/tests/doubles/v4l2dev/preload.sh"
CHECK="/usr/bin/python3 $VPIPE_TOP/tests/doubles/v4l2dev/check_pattern.py"
ffmpeg -v error -f lavfi -i testsrc=size=160x120:rate=30 -frames:v 60 \
	-c:v libx264 -g 15 -bf 0 -tune zerolatency -f h264 "$T/clip.h264"
cat >"$T/dev.conf" <<CONF
[device]
path = /dev/video5
formats = YUYV
sizes = 160x120
rates = 30
unplug-after = 20
unplug-for-ms = 600

[device]
path = /dev/video6
formats = H264
sizes = 160x120
rates = 30
h264 = $T/clip.h264
unplug-after = 25
unplug-for-ms = 600

[device]
path = /dev/video9
formats = YUYV
sizes = 160x120
rates = 30
unplug-after = 20
unplug-for-ms = 300

[device]
path = /dev/video11
type = encoder
CONF
export VPIPE_V4L2_DOUBLE="$T/dev.conf"
for dev in 5 6; do
	fmt=yuyv; [ $dev = 6 ] && fmt=h264
	cat >"$T/g$dev.ini" <<INI
[cam]
module = v4l2
device = /dev/video$dev
format = $fmt
width = 160
height = 120
retry-delay = 100ms
retry-max-delay = 400ms

[out]
module = filesink
input = cam
location = $T/out.$fmt
INI
	LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" run "$T/g$dev.ini" --duration 2500ms 2>"$T/log$dev" ||
		{ cat "$T/log$dev"; fail "run failed"; }
	expect_grep "/dev/video$dev: VIDIOC_DQBUF: No such device (unplugged?); reopening" "$T/log$dev"
	# the kernel's backoff: the second wait is 100-200 ms (jittered), none
	# is longer than retry-max-delay
	next=$(sed -n 's/.*still unavailable after 1 attempts; next in \([0-9]*\) ms.*/\1/p' "$T/log$dev")
	[ -n "$next" ] && [ "$next" -ge 100 ] && [ "$next" -le 200 ] ||
		{ cat "$T/log$dev"; fail "second reopen wait '$next' ms is not in 100-200 ms"; }
	for w in $(sed -n 's/.*next in \([0-9]*\) ms.*/\1/p' "$T/log$dev"); do
		[ "$w" -le 400 ] || fail "a reopen wait of $w ms is above retry-max-delay"
	done
	echo "ok: reopen waits $(sed -n 's/.*next in \([0-9]*\) ms.*/\1/p' "$T/log$dev" | tr '\n' ' ')ms"
	expect_grep "/dev/video$dev is back after" "$T/log$dev"
	expect_grep "device_lost_total=1 reopens_total=1" "$T/log$dev"
done
$CHECK "$T/out.yuyv" YUYV 160 120 --min-frames 40 | tee "$T/chk"
gaps=$(sed -n 's/.*gaps=\([0-9]*\).*/\1/p' "$T/chk")
last=$(sed -n 's/.*last=\([0-9]*\).*/\1/p' "$T/chk")
[ "$gaps" -ge 1 ] || fail "the frame in flight at the unplug should be lost, gaps=$gaps"
[ "$last" -ge 40 ] || fail "the stream did not continue after the reopen (last counter $last)"
echo "ok: $gaps frame(s) lost in the unplug, the stream continued to counter $last"
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.h264")
frames=$(sed -n 's/.*cam: frames in=0 out=\([0-9]*\).*/\1/p' "$T/log6")
expect_eq "H.264 pictures decoded across the unplug" "$n" "$frames"
[ "$n" -ge 40 ] || fail "only $n H.264 frames"

# DISCONTINUITY seen downstream: with a 1000-frame GOP the only key frames
# are the first and the one the encoder forced at the first frame after the
# reopen (the double unplugs after 20 frames; the last one or two are lost
# with it, so that picture is packet 18 to 20).
cat >"$T/d.ini" <<INI
[cam]
module = v4l2
device = /dev/video9
width = 160
height = 120

[enc]
module = v4l2m2m
input = cam
device = /dev/video11
keyint = 1000

[out]
module = filesink
input = enc
location = $T/d.h264
INI
LD_PRELOAD="$V4L2DEV_PRELOAD" "$VPIPE" run "$T/d.ini" --duration 1500ms 2>"$T/logd" ||
	{ cat "$T/logd"; fail "run failed"; }
expect_grep "/dev/video9 is back after" "$T/logd"
keys=$(ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/d.h264" | grep -n K | cut -d: -f1 | tr '\n' ' ')
case "$keys" in
"1 18 " | "1 19 " | "1 20 ") echo "ok: key frames at packets $keys(the first after the reopen)" ;;
*) fail "key frames at packets '$keys', want 1 and the first after the reopen (18-20)" ;;
esac
