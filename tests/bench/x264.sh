#!/usr/bin/env bash
# x264 module vs the x264 command line, same settings, same run:
#   a 720p30 I420 file through `filesrc -> x264 -> null` and through
#   `x264 --demuxer raw ... -o /dev/null`, wall-clock time of each (process
#   start to exit, best of ROUNDS, alternating), frames per second and the
#   ratio. The framework's overhead should stay within 5 %.
# FRAMES (default 150) and ROUNDS (default 3) change the size of the run.
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
command -v x264 >/dev/null || { echo "SKIP: needs the x264 command (Debian x264)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: needs ffmpeg"; exit 77; }
FRAMES=${FRAMES:-150}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d /tmp/vpipe-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

ffmpeg -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -frames:v "$FRAMES" \
	-pix_fmt yuv420p -f rawvideo "$T/in.yuv"
cat >"$T/g.ini" <<INI
[file]
module = filesrc
location = $T/in.yuv
format = i420
width = 1280
height = 720
framerate = 30

[enc]
module = x264
input = file
rate-control = vbr
bitrate = 2000
keyint = 60
preset = veryfast
tune = zerolatency
profile = main

[sink]
module = null
input = enc
INI
# The same settings spelled for the command line (vbr = ABR, VBV 2x).
cli=(x264 --quiet --demuxer raw --input-csp i420 --input-res 1280x720 --fps 30
	--preset veryfast --tune zerolatency --profile main --bitrate 2000
	--vbv-maxrate 4000 --vbv-bufsize 4000 --keyint 60 --min-keyint 60
	--scenecut 0 --bframes 0 -o /dev/null "$T/in.yuv")

now() { date +%s.%N; }
: >"$T/times"
for r in $(seq "$ROUNDS"); do
	t0=$(now); "$VPIPE" run "$T/g.ini" 2>"$T/log" || { cat "$T/log"; exit 1; }; t1=$(now)
	"${cli[@]}" 2>/dev/null; t2=$(now)
	echo "$t0 $t1 $t2" >>"$T/times"
done
/usr/bin/python3 - "$FRAMES" "$T/times" <<'PY'
import sys
n = int(sys.argv[1])
rounds = [[float(x) for x in l.split()] for l in open(sys.argv[2])]
for i, (t0, t1, t2) in enumerate(rounds, 1):
    print("round %d: vpipe %.3f s, x264 CLI %.3f s" % (i, t1 - t0, t2 - t1))
v = min(t1 - t0 for t0, t1, t2 in rounds)
c = min(t2 - t1 for t0, t1, t2 in rounds)
print("x264 720p30 %d frames, veryfast/zerolatency 2000 kbit/s, best of rounds:" % n)
print("  filesrc -> x264 -> null : %7.1f fps (%.3f s)" % (n / v, v))
print("  x264 command line       : %7.1f fps (%.3f s)" % (n / c, c))
print("  vpipe / CLI speed ratio : %7.3f (overhead %+.1f %%)" % (c / v, (v / c - 1) * 100))
PY
