#!/usr/bin/env bash
# image from H.264 only (as from an RTSP camera: no raw frames anywhere in
# the graph, SPS/PPS only in the first access unit): each picture is the
# key frame ffmpeg decodes from the same stream (PSNR against ffmpeg's
# decode of that frame, and clearly worse against other frames); a trigger
# tag on a non-key frame gives the next key frame; a requested width keeps
# the aspect ratio.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
export VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH:$VPIPE_TOP/$BUILD/tests"
[ -f "$VPIPE_TOP/$BUILD/tests/tagger.so" ] || skip "needs $BUILD/tests/tagger.so (make test builds it)"

# 3 s at 10 fps, a key frame every 10 frames; x264 writes SPS/PPS once.
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=10 -frames:v 30 \
	-c:v libx264 -preset ultrafast -g 10 -keyint_min 10 -sc_threshold 0 -bf 0 \
	-pix_fmt yuv420p -f h264 "$T/clip.h264"
# Keep SPS/PPS in the first access unit only, as cameras that send them
# once (or only in the SDP) do: later key frames need the remembered ones.
/usr/bin/python3 - "$T/clip.h264" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
starts = [m.start() for m in re.finditer(b"\x00\x00\x01", data)] + [len(data)]
out, seen = bytearray(), set()
for a, b in zip(starts, starts[1:]):
    nal_type = data[a + 3] & 31
    if nal_type in (7, 8) and nal_type in seen:
        continue
    seen.add(nal_type)
    out += b"\x00" + data[a:b].rstrip(b"\x00")
open(sys.argv[1], "wb").write(out)
n_sps = len(re.findall(b"\x00\x00\x01[\x27\x47\x67]", out))
n_idr = len(re.findall(b"\x00\x00\x01[\x25\x45\x65]", out))
print("the stream has %d SPS for %d IDR slices" % (n_sps, n_idr))
PY

ref() { # frame number -> reference PNG decoded by ffmpeg
	# The same YUV to RGB conversion as the module (swscale, BT.601,
	# accurate rounding, full chroma interpolation).
	[ -f "$T/ref_$1.png" ] || ffmpeg -v error -i "$T/clip.h264" \
		-vf "select=eq(n\\,$1)" -sws_flags bicubic+accurate_rnd+full_chroma_int \
		-frames:v 1 "$T/ref_$1.png"
	echo "$T/ref_$1.png"
}
psnr() { # a.png b.png -> average PSNR in dB (integer part)
	ffmpeg -v info -i "$1" -i "$2" -lavfi psnr -f null - 2>&1 |
		sed -n 's/.*average:\([0-9.inf]*\).*/\1/p' | tail -1 |
		sed 's/inf/99/; s/\..*//'
}

# 1. Interval: one picture per second of stream time, at key frames.
mkdir -p "$T/png"
cat >"$T/a.ini" <<INI
[src]
module = filesrc
location = $T/clip.h264
format = h264
framerate = 10

[img]
module = image
input = src
format = png
interval = 1s
directory = $T/png
file-prefix = cam-
INI
"$VPIPE" run "$T/a.ini" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "vpipe run (interval)"; }
mapfile -t pngs < <(ls "$T/png"/cam-*.png | sort)
expect_eq "pictures from 3 s at interval 1s" "${#pngs[@]}" 3
frames=(0 10 20)
for i in 0 1 2; do
	k=${frames[$i]}
	wh=$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "${pngs[$i]}")
	expect_eq "picture $i size" "$wh" 320,240
	same=$(psnr "${pngs[$i]}" "$(ref "$k")")
	other=$(psnr "${pngs[$i]}" "$(ref $(((k + 5) % 30)))")
	echo "picture $i: PSNR $same dB against ffmpeg's frame $k, $other dB against frame $(((k + 5) % 30))"
	[ "$same" -ge 35 ] || fail "picture $i differs from ffmpeg's decode of key frame $k ($same dB)"
	[ "$same" -ge $((other + 10)) ] || fail "picture $i is not clearly key frame $k ($same vs $other dB)"
done
echo "ok: each picture is ffmpeg's decode of its key frame"

# 2. Trigger only: a tag on frame 12 (not a key frame) gives key frame 20;
#    width 160 keeps 4:3.
mkdir -p "$T/jpg"
cat >"$T/b.ini" <<INI
[src]
module = filesrc
location = $T/clip.h264
format = h264
framerate = 10

[app]
module = tagger
input = src
at = 12
tags = AWS_KINESISVIDEO_IMAGE_GENERATION,motion=door

[img]
module = image
input = app
interval = 0
format = png
width = 160
directory = $T/jpg
INI
"$VPIPE" run "$T/b.ini" >"$T/b.log" 2>&1 || { cat "$T/b.log"; fail "vpipe run (trigger)"; }
mapfile -t jpgs < <(ls "$T/jpg"/*.png)
expect_eq "pictures on one trigger" "${#jpgs[@]}" 1
info=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "${jpgs[0]}")
expect_eq "triggered picture" "$info" "png,160,120"
small() { # frame number -> ffmpeg's decode scaled to 160x120 as the module does
	ffmpeg -v error -i "$T/clip.h264" -vf "select=eq(n\\,$1)" \
		-sws_flags bicubic+accurate_rnd+full_chroma_int -s 160x120 \
		-frames:v 1 "$T/ref${1}_small.png"
}
small 20
small 10
same=$(psnr "${jpgs[0]}" "$T/ref20_small.png")
other=$(psnr "${jpgs[0]}" "$T/ref10_small.png")
echo "triggered picture: PSNR $same dB against key frame 20, $other against key frame 10"
[ "$same" -ge 30 ] && [ "$same" -ge $((other + 10)) ] || fail "the triggered picture is not key frame 20"
echo "ok: a trigger on a non-key frame gives the next key frame"

# 3. JPEG (full range, as JFIF is) of key frame 0 at quality 95: close to
#    ffmpeg's decode of that frame (limited-range copied as is: ~28 dB).
mkdir -p "$T/q95"
sed -e "s|format = png|quality = 95|; s|directory = $T/png|directory = $T/q95|" "$T/a.ini" >"$T/c.ini"
"$VPIPE" run "$T/c.ini" >"$T/c.log" 2>&1 || { cat "$T/c.log"; fail "vpipe run (jpeg)"; }
first=$(ls "$T/q95"/*.jpg | sort | head -1)
q=$(psnr "$first" "$(ref 0)")
echo "JPEG q95 of key frame 0: PSNR $q dB against ffmpeg's decode"
[ "$q" -ge 33 ] || fail "JPEG picture too far from the key frame ($q dB): colour range?"
echo "ok: JPEG of a key frame"
