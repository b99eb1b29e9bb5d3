#!/usr/bin/env bash
# Upstream events: when a GOP runs past mkv's max-fragment-duration, mkv
# sends a key-frame request upstream, the kernel delivers it to the encoder
# (through an identity node that does not handle it and passes it on), and
# the encoder starts a new GOP, so fragments stay within the limit.
source "$VPIPE_TOP/tests/lib.sh"
need ffprobe
for m in x264 mkv; do [ -f "$VPIPE_MODULE_PATH/$m.so" ] || skip "module $m not built"; done
cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = 160
height = 120
framerate = 30
num-frames = 180
is-live = false

[enc]
module = x264
input = cam
keyint = 60s

[pass]
module = identity
input = enc

[mux]
module = mkv
input = pass
max-fragment-duration = 1s

[out]
module = filesink
input = mux
location = $T/out.mkv
INI
"$VPIPE" run "$T/g.ini" 2>"$T/log" || { cat "$T/log"; fail "run failed"; }
ffprobe -v error -select_streams v -show_entries packet=pts_time,flags -of csv=p=0 "$T/out.mkv" >"$T/packets"
keys=$(grep -c ',K' "$T/packets")
total=$(wc -l <"$T/packets")
echo "packets=$total key frames=$keys"
grep ',K' "$T/packets" | head
expect_eq "packets" "$total" 180
# 6 s of video, a 60 s keyint: without the requests there would be 1 key frame.
[ "$keys" -ge 5 ] || fail "want at least 5 key frames from requests, got $keys"
# no GOP much longer than the limit (requests travel back through queues)
/usr/bin/python3 - "$T/packets" <<'PY'
import sys
keys = [float(l.split(',')[0]) for l in open(sys.argv[1]) if ',K' in l]
gaps = [b - a for a, b in zip(keys, keys[1:])]
print("GOP lengths:", ["%.2f" % g for g in gaps])
assert max(gaps) <= 1.6, max(gaps)
PY
grep -qi "key-frame\|key frame" "$T/log" || fail "no warning about the long GOP"
echo "ok: fragments kept within the limit by key-frame requests"

# A forced key frame appears within one frame: a live source, so queues are
# empty and the request reaches the encoder before the next picture.
cat >"$T/force.ini" <<INI
[cam]
module = testsrc
width = 160
height = 120
framerate = 30
num-frames = 60

[enc]
module = x264
input = cam
keyint = 60s

[ask]
module = identity
input = enc
request-keyframe-at = 40

[out]
module = filesink
input = ask
location = $T/force.h264
INI
"$VPIPE" run "$T/force.ini" 2>"$T/log2" || { cat "$T/log2"; fail "run failed"; }
ffprobe -v error -show_entries packet=flags -of csv=p=0 "$T/force.h264" | grep -n K | cut -d: -f1 >"$T/keys"
cat "$T/keys"
first=$(sed -n 2p "$T/keys")
# packet numbers are 1-based: frame 40 is line 41; the request follows it
[ "$(sed -n 1p "$T/keys")" = 1 ] || fail "first frame is not a key frame"
[ -n "$first" ] && [ "$first" -ge 42 ] && [ "$first" -le 43 ] || fail "forced key frame at packet '$first', want 42 (the frame after the request) or 43"
echo "ok: key frame forced at packet $first after the request on frame 40"
