#!/usr/bin/env bash
# The overlay module through the real kernel and encoder:
#  - testsrc -> overlay -> filesink (I420 and NV12): outside the text box
#    every byte equals a run without the overlay, inside it the picture
#    differs, and the clock in the box changes exactly once a second of
#    capture time (every 30 frames);
#  - testsrc -> overlay -> x264 -> mkv -> filesink: ffprobe accepts the
#    file, and decoded pictures differ from the encode without the overlay
#    inside the box only;
#  - a bad pattern is refused by `vpipe check` naming the key and byte.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
[ -r /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] ||
	skip "needs fonts-dejavu-core"

W=320 H=240
for fmt in i420 nv12; do
	cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = $W
height = $H
format = $fmt
num-frames = 90
is-live = false

[plain]
module = filesink
input = cam
location = $T/plain.$fmt

[ov]
module = overlay
input = cam
text = %H:%M:%S
size = 20
box-opacity = 100
anchor = top-left
margin = 16

[overlaid]
module = filesink
input = ov
location = $T/ov.$fmt

[enc]
module = x264
input = ov
crf = 20
rate-control = crf
threads = 1

[mux]
module = mkv
input = enc

[file]
module = filesink
input = mux
location = $T/ov.$fmt.mkv

[enc0]
module = x264
input = cam
crf = 20
rate-control = crf
threads = 1

[mux0]
module = mkv
input = enc0

[file0]
module = filesink
input = mux0
location = $T/plain.$fmt.mkv
INI
	"$VPIPE" run "$T/g.ini" 2>"$T/log" || { cat "$T/log"; fail "vpipe run failed"; }
	rect=$(/usr/bin/python3 "$VPIPE_TOP/tests/e2e/overlay_check.py" raw $W $H $fmt \
		"$T/plain.$fmt" "$T/ov.$fmt") || { echo "$rect"; fail "$fmt: raw comparison"; }
	echo "ok: $fmt: only the text box $rect differs, the clock ticks once a second"
	n=$(ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames \
		-of csv=p=0 "$T/ov.$fmt.mkv")
	expect_eq "$fmt: ffprobe of the mkv" "$n" "h264,90"
	for f in plain ov; do
		ffmpeg -v error -y -i "$T/$f.$fmt.mkv" -f rawvideo -pix_fmt yuv420p \
			"$T/$f.$fmt.dec" || fail "ffmpeg cannot decode $f.$fmt.mkv"
	done
	# shellcheck disable=SC2086
	/usr/bin/python3 "$VPIPE_TOP/tests/e2e/overlay_check.py" decoded $W $H $rect \
		"$T/plain.$fmt.dec" "$T/ov.$fmt.dec" || fail "$fmt: decoded comparison"
done

# Bad patterns never reach a pipeline.
cat >"$T/bad.ini" <<INI
[cam]
module = testsrc

[ov]
module = overlay
input = cam
text = %H:%M %{stream}

[out]
module = null
input = ov
INI
if "$VPIPE" check "$T/bad.ini" >"$T/bad.log" 2>&1; then
	fail "vpipe check accepted an unknown substitution"
fi
expect_grep "text = %H:%M %{stream}: byte 6: unknown substitution %{stream}" "$T/bad.log"
sed -i 's/^text = .*/text = 100%/' "$T/bad.ini"
"$VPIPE" check "$T/bad.ini" >"$T/bad.log" 2>&1 && fail "vpipe check accepted a lone %"
expect_grep "byte 3: the text ends with a lone '%'" "$T/bad.log"
sed -i 's|^text = .*|text = %T\nfont = /nonexistent/font.ttf|' "$T/bad.ini"
"$VPIPE" check "$T/bad.ini" >"$T/bad.log" 2>&1 && fail "vpipe check accepted a missing font"
expect_grep "font = /nonexistent/font.ttf" "$T/bad.log"
echo "ok: bad text patterns and fonts are refused by vpipe check"
