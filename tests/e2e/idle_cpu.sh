#!/usr/bin/env bash
# An idle pipeline uses no CPU: nodes sleep on futexes and eventfds, never
# in polling loops. A source at 1 frame every 2 s through three nodes for
# 3 s must stay far below what any spinning or timed polling would burn
# (a single spinning thread would use ~3 s of CPU here).
source "$VPIPE_TOP/tests/lib.sh"
cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = 16
height = 16
framerate = 0.5
[a]
module = identity
input = cam
[b]
module = identity
input = a
[out]
module = null
input = b
INI
"$VPIPE" run "$T/g.ini" --duration 3s 2>"$T/log" &
pid=$!
sleep 2.5
read -r -a st </proc/$pid/stat
ticks=$((st[13] + st[14]))
hz=$(getconf CLK_TCK)
wait $pid
cat "$T/log"
ms=$((ticks * 1000 / hz))
echo "CPU used in 2.5 s: ${ms} ms"
[ "$ms" -le 200 ] || fail "an idle pipeline used ${ms} ms of CPU in 2.5 s"
echo "ok: idle pipeline CPU ${ms} ms"
