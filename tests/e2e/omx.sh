#!/usr/bin/env bash
# The omx module on the fake IL core (tests/doubles/fakeomx, libx264 inside):
# testsrc -> omx(core = fakeomx.so) -> filesink decodes with ffmpeg to the
# input picture; IDR period as set; SPS/PPS (sent once by the component as
# codec config) in front of every key frame; the component walked Loaded ->
# Idle -> Executing -> Idle -> Loaded with every buffer freed; component
# errors surface with their OMX names.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe
CORE="$VPIPE_TOP/$BUILD/tests/fakeomx.so"
[ -f "$CORE" ] || fail "no $CORE: build it with make"
W=320 H=240

cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = $W
height = $H
num-frames = 90
is-live = false

[raw]
module = filesink
input = cam
location = $T/raw.i420

[enc]
module = omx
input = cam
core = $CORE
bitrate = 1000
keyint = 1s
profile = baseline

[out]
module = filesink
input = enc
location = $T/out.h264
INI
FAKEOMX_TRACE="$T/trace" "$VPIPE" run "$T/g.ini" 2>"$T/log" || { cat "$T/log" "$T/trace"; fail "vpipe run failed"; }
cat "$T/trace"
n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.h264")
expect_eq "decoded pictures" "$n" 90
prof=$(ffprobe -v error -show_entries stream=profile -of csv=p=0 "$T/out.h264")
expect_eq "profile" "$prof" "Constrained Baseline"
p=$(ffmpeg -nostats -r 30 -i "$T/out.h264" -f rawvideo -pix_fmt yuv420p -s ${W}x$H \
	-framerate 30 -i "$T/raw.i420" -lavfi psnr -f null - 2>&1 |
	sed -n 's/.*PSNR .* average:\([0-9.inf]*\).*/\1/p')
echo "PSNR $p dB at 1000 kbit/s"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" || fail "PSNR $p below 35"
keys=$(ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/out.h264" | awk '/K/ {printf "%d ", NR-1}')
expect_eq "key frames (IDR period 30)" "$keys" "0 30 60 "
sps=$(/usr/bin/python3 -c "
import sys; d=open('$T/out.h264','rb').read()
print(sum(1 for i in range(len(d)-3) if d[i:i+3]==b'\0\0\1' and d[i+3]&0x1f==7))")
expect_eq "SPS in front of each key frame" "$sps" 3
expect_grep "state Loaded -> Idle" "$T/trace"
expect_grep "state Idle -> Executing" "$T/trace"
expect_grep "state Executing -> Idle" "$T/trace"
expect_grep "state Idle -> Loaded" "$T/trace"
expect_grep "eos out" "$T/trace"
expect_grep "encoder 320x240 profile baseline bitrate 1000000 idr-period 30 variable" "$T/trace"
expect_grep "FreeHandle pictures=90 keyframes=3 forced=0 allocated=5 freed=5" "$T/trace"
if grep -q "^error" "$T/trace"; then fail "the component saw a client error"; fi

# Errors from the component, named.
sed -i "s|^core = .*|core = $CORE\ncomponent = OMX.nonexistent.encoder|" "$T/g.ini"
if "$VPIPE" run "$T/g.ini" 2>"$T/log"; then fail "an unknown component ran"; fi
expect_grep "OMX_ErrorComponentNotFound" "$T/log"
sed -i "/^component = /d" "$T/g.ini"
if FAKEOMX_ERROR_AFTER=10 "$VPIPE" run "$T/g.ini" 2>"$T/log"; then fail "a hardware error went unnoticed"; fi
expect_grep "OMX_ErrorHardware" "$T/log"
sed -i "s|^core = .*|core = $T/missing.so|" "$T/g.ini"
if "$VPIPE" run "$T/g.ini" 2>"$T/log"; then fail "a missing core ran"; fi
expect_grep "cannot load IL core $T/missing.so" "$T/log"
