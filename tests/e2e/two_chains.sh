#!/usr/bin/env bash
# One failing chain does not stop another chain in the same graph; with
# restart = on-error the failing node comes back with backoff.
source "$VPIPE_TOP/tests/lib.sh"
cat >"$T/g.ini" <<INI
[a-cam]
module = testsrc
width = 64
height = 48
framerate = 50

[a-broken]
module = identity
input = a-cam
fail-after = 5

[a-out]
module = null
input = a-broken

[b-cam]
module = testsrc
width = 64
height = 48
framerate = 50
num-frames = 60

[b-out]
module = filesink
input = b-cam
location = $T/b.yuv
INI
rc=0
"$VPIPE" run "$T/g.ini" 2>"$T/log" || rc=$?
cat "$T/log"
expect_eq "exit status with a failed node" "$rc" 1
expect_eq "chain b wrote every frame" "$(stat -c %s "$T/b.yuv")" $((64 * 48 * 3 / 2 * 60))
expect_grep "a-broken: failing on frame 5" "$T/log"
expect_grep "a-broken: node failed (restart = never)" "$T/log"
expect_grep "b-out: frames in=60" "$T/log"
# chain a stopped as a whole: its source noticed that nobody consumes
expect_grep "a-cam: every consumer of this node is gone" "$T/log"

# restart = on-error: the node restarts (backoff 100ms, 200ms, ...) and the
# chain keeps going, frames after a restart are marked discontinuous.
sed -i 's/^fail-after = 5/fail-after = 5\nrestart = on-error\nrestart-delay = 100ms/' "$T/g.ini"
"$VPIPE" run "$T/g.ini" --duration 1.5s 2>"$T/log2" || { cat "$T/log2"; fail "run with restarts failed"; }
cat "$T/log2"
restarts=$(sed -n 's/.*a-broken: frames in=[0-9]* out=[0-9]* errors=\([0-9]*\) restarts=\([0-9]*\).*/\2/p' "$T/log2")
[ "${restarts:-0}" -ge 2 ] || fail "want at least 2 restarts, got '$restarts'"
echo "ok: a-broken restarted $restarts times"
# The kernel's backoff: the n-th wait lies in [c/2, c], c = 100ms x 2^n
# (printed to 0.1 s), so the waits grow.
sed -n 's/.*a-broken: restarting in \([0-9.]*\) s.*/\1/p' "$T/log2" >"$T/waits"
awk '{ c = 0.1 * 2 ^ (NR - 1); if ($1 < c / 2 - 0.05 || $1 > c + 0.05) bad = 1 }
     END { exit bad || NR < 2 }' "$T/waits" ||
	{ cat "$T/log2"; fail "restart waits $(tr '\n' ' ' <"$T/waits")s outside the backoff"; }
echo "ok: restart waits $(tr '\n' ' ' <"$T/waits")s"
# Each time it is back, one line says how long it was down; the node runs
# until its next failure in between, so there is one per restart.
expect_eq "'running again' lines = restarts" \
	"$(grep -c 'a-broken: running again after [0-9.]* s down (restart [0-9]*)' "$T/log2")" "$restarts"
expect_grep "b-out: frames in=60" "$T/log2"
