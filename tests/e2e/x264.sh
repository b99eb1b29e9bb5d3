#!/usr/bin/env bash
# The x264 module through the real kernel, checked with ffmpeg/ffprobe:
#  - testsrc (I420 and NV12) -> x264 -> filesink decodes to the input
#    picture (PSNR >= 35 dB against the raw frames written beside it);
#  - key frames exactly every `keyint` (ffprobe packet flags), SPS/PPS on
#    every key frame (a stream cut at any key frame decodes on its own);
#  - YUYV from a file (filesrc) is converted and encoded (PSNR >= 35 dB);
#  - rate-control = cbr holds the bitrate within 15 % over 30 s of video.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe

W=320 H=240

# psnr DECODED_H264 RAW_FILE PIX_FMT -> average PSNR (dB), pictures paired in
# order (both read at 30 fps so the filter pairs frame n with frame n).
psnr() {
	ffmpeg -nostats -r 30 -i "$1" -f rawvideo -pix_fmt "$3" -s ${W}x$H \
		-framerate 30 -i "$2" -lavfi psnr -f null - 2>&1 |
		sed -n 's/.*PSNR .* average:\([0-9.inf]*\).*/\1/p'
}

for fmt in i420 nv12; do
	cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = $W
height = $H
format = $fmt
num-frames = 90
is-live = false

[raw]
module = filesink
input = cam
location = $T/raw.$fmt

[enc]
module = x264
input = cam
bitrate = 800
keyint = 1s

[out]
module = filesink
input = enc
location = $T/out.$fmt.h264
INI
	"$VPIPE" run "$T/g.ini" 2>"$T/log" || { cat "$T/log"; fail "vpipe run failed"; }
	n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.$fmt.h264")
	expect_eq "$fmt: decoded pictures" "$n" 90
	pix=yuv420p; [ $fmt = nv12 ] && pix=nv12
	p=$(psnr "$T/out.$fmt.h264" "$T/raw.$fmt" $pix)
	echo "$fmt: PSNR $p dB at 800 kbit/s"
	/usr/bin/python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" ||
		fail "$fmt: PSNR $p dB below 35"
	keys=$(ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/out.$fmt.h264" |
		awk '/K/ {printf "%d ", NR-1}')
	expect_eq "$fmt: key frames (keyint 1s at 30 fps)" "$keys" "0 30 60 "
	grep -q "key frame every 30 frames" "$T/log" || fail "no keyint line in log"
done

# A stream cut at the second key frame decodes on its own: SPS/PPS repeated.
/usr/bin/python3 - "$T/out.i420.h264" "$T/cut.h264" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
idr = [i for i in range(len(d) - 4) if d[i:i+3] == b'\0\0\1' and d[i+3] & 0x1f == 7]
assert len(idr) == 3, idr
start = idr[1] - (1 if d[idr[1]-1] == 0 else 0)
open(sys.argv[2], 'wb').write(d[start:])
PY
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/cut.h264")
expect_eq "pictures decoded from the second key frame on" "$n" 60

# YUYV (a USB webcam's format) from a file.
ffmpeg -v error -f lavfi -i testsrc2=size=${W}x$H:rate=30 -frames:v 30 \
	-pix_fmt yuyv422 -f rawvideo "$T/in.yuyv"
ffmpeg -v error -f rawvideo -pix_fmt yuyv422 -s ${W}x$H -i "$T/in.yuyv" \
	-pix_fmt yuv420p -f rawvideo "$T/in.yuyv.i420"
cat >"$T/y.ini" <<INI
[file]
module = filesrc
location = $T/in.yuyv
format = yuyv
width = $W
height = $H

[enc]
module = x264
input = file
bitrate = 1500
profile = baseline

[out]
module = filesink
input = enc
location = $T/out.yuyv.h264
INI
"$VPIPE" run "$T/y.ini" 2>"$T/log" || { cat "$T/log"; fail "vpipe run (yuyv) failed"; }
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.yuyv.h264")
expect_eq "yuyv: decoded pictures" "$n" 30
prof=$(ffprobe -v error -show_entries stream=profile -of csv=p=0 "$T/out.yuyv.h264")
expect_eq "yuyv: profile" "$prof" "Constrained Baseline"
p=$(psnr "$T/out.yuyv.h264" "$T/in.yuyv.i420" yuv420p)
echo "yuyv: PSNR $p dB against ffmpeg's own yuyv422 -> yuv420p"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" ||
	fail "yuyv: PSNR $p dB below 35"

# CBR: 30 s of 30 fps video at 300 kbit/s.
cat >"$T/c.ini" <<INI
[cam]
module = testsrc
width = $W
height = $H
num-frames = 900
is-live = false

[enc]
module = x264
input = cam
rate-control = cbr
bitrate = 300
preset = ultrafast

[out]
module = filesink
input = enc
location = $T/cbr.h264
INI
"$VPIPE" run "$T/c.ini" 2>"$T/log" || { cat "$T/log"; fail "vpipe run (cbr) failed"; }
bytes=$(stat -c %s "$T/cbr.h264")
/usr/bin/python3 - "$bytes" <<'PY'
import sys
kbps = int(sys.argv[1]) * 8 / 30 / 1000
print("cbr: %.1f kbit/s for 300 over 30 s (%+.1f %%)" % (kbps, (kbps / 300 - 1) * 100))
sys.exit(0 if abs(kbps / 300 - 1) <= 0.15 else 1)
PY
