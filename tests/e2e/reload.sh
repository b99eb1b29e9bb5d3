#!/usr/bin/env bash
# `vpipe reload` finds a running instance by its graph file (or the only
# one, or a PID) and makes it re-read the file: the chain whose section
# changed is drained and restarted, the other one keeps its threads and
# writes every frame it produced into one file. A file that does not
# build keeps the graph as it runs.
source "$VPIPE_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR="$T/rt"
mkdir -p "$XDG_RUNTIME_DIR"

graph() { # A_RATE
	cat <<INI
[a]
module = testsrc
width = 32
height = 32
framerate = $1

[a-out]
module = filesink
input = a
location = $T/a.yuv

[b]
module = testsrc
width = 32
height = 32
framerate = 50

[b-out]
module = filesink
input = b
location = $T/b.yuv
INI
}
graph 50 >"$T/g.ini"
"$VPIPE" run "$T/g.ini" 2>"$T/log" &
pid=$!
at_exit "kill $pid 2>/dev/null"
wait_for test -e "$XDG_RUNTIME_DIR/vpipe/$pid.pid"
sleep 1

echo "== by graph file: a changed, b not"
graph 25 >"$T/g.ini"
"$VPIPE" reload "$T/g.ini" >"$T/out" || { cat "$T/out"; fail "reload failed"; }
expect_grep "sent SIGHUP to vpipe $pid" "$T/out"
wait_for grep -q "reload: done" "$T/log"
expect_grep "reload: stopping the changed chain(s) of a, a-out$" "$T/log"
expect_grep "reload: starting a, a-out$" "$T/log"

echo "== the only instance, no argument: an unchanged file changes nothing"
"$VPIPE" reload >"$T/out2" || { cat "$T/out2"; fail "reload without argument failed"; }
wait_for grep -q "no chain changed" "$T/log"

echo "== by PID: a broken file keeps both chains"
printf '[b]\nframerate = 5\n' >>"$T/g.ini"
"$VPIPE" reload "$pid" >/dev/null
wait_for grep -q "has errors (above)" "$T/log"
expect_grep "g.ini:.*duplicate node \[b\]" "$T/log"

sleep 1
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$T/log"
expect_eq "exit status" "$rc" 0
[ -e "$XDG_RUNTIME_DIR/vpipe/$pid.pid" ] && fail "the pid file is left behind"
produced=$(sed -n 's/.* b: frames in=0 out=\([0-9]*\).*/\1/p' "$T/log")
written=$(($(stat -c %s "$T/b.yuv") / (32 * 32 * 3 / 2)))
expect_eq "b: frames written = frames produced since the start" "$written" "$produced"
[ "$produced" -gt 50 ] || fail "b produced only $produced frames"
grep -Eq "(stopping the changed|starting).* b" "$T/log" && fail "chain b was restarted"

echo "== no instance left"
"$VPIPE" reload "$T/g.ini" 2>"$T/err" && fail "reload found a stopped instance"
expect_grep "no running vpipe found" "$T/err"
echo PASS
