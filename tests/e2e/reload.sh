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

echo "== runtime parameters: record's max-age changes without a restart"
"$VPIPE" modules x264 >/dev/null 2>&1 || { echo "no x264 module: runtime part not run"; exit 0; }
need ffprobe
mkdir -p "$T/rec"
old="$T/rec/rec-20200101T000000.000Z.mkv"
cp /dev/null "$old" && touch -d '3 days ago' "$old"
rec_graph() { # MAX_AGE
	printf '[cam]\nmodule = testsrc\nwidth = 160\nheight = 120\nframerate = 30\n'
	printf '[enc]\nmodule = x264\ninput = cam\nkeyint = 15\n'
	printf '[mux]\nmodule = mkv\ninput = enc\n'
	printf '[rec]\nmodule = record\ninput = mux\nlocation = %s\nmax-age = %s\n' "$T/rec" "$1"
}
rec_graph 720h >"$T/r.ini"
"$VPIPE" run "$T/r.ini" 2>"$T/rlog" &
pid=$!
wait_for grep -q "recording to" "$T/rlog"
[ -e "$old" ] || fail "a file within max-age was deleted"
rec_graph 48h >"$T/r.ini"
"$VPIPE" reload "$pid" >/dev/null
wait_for grep -q "reload: done" "$T/rlog"
sleep 0.5
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$T/rlog"
expect_eq "exit status" "$rc" 0
expect_grep "rec: reload: new parameters applied without a restart" "$T/rlog"
expect_grep "rec: retention now max-size 0 MiB, max-age 48 h" "$T/rlog"
expect_grep "reload: no chain restarts" "$T/rlog"
[ -e "$old" ] && fail "the file older than the new max-age is still there"
expect_eq "recordings (one file, not restarted)" "$(ls "$T"/rec/*.mkv | wc -l)" 1
f=$(ls "$T"/rec/*.mkv)
got=$(ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$f")
want=$(sed -n 's/.*enc: frames in=[0-9]* out=\([0-9]*\).*/\1/p' "$T/rlog")
expect_eq "packets in the recording = frames encoded" "$got" "$want"

echo "== runtime parameters: image's interval changes without a restart"
mkdir -p "$T/img"
img_graph() { # INTERVAL
	printf '[cam]\nmodule = testsrc\nwidth = 64\nheight = 48\nframerate = 30\n'
	printf '[img]\nmodule = image\ninput = cam\ninterval = %s\ndirectory = %s\n' "$1" "$T/img"
}
img_graph 1h >"$T/i.ini"
"$VPIPE" run "$T/i.ini" 2>"$T/ilog" &
pid=$!
pictures_at_least() { [ "$(ls "$T/img" | wc -l)" -ge "$1" ]; }
wait_for pictures_at_least 1
img_graph 500ms >"$T/i.ini"
"$VPIPE" reload "$pid" >/dev/null
wait_for grep -q "img: interval now 0.500 s" "$T/ilog"
# with the old interval there would be no second picture for an hour
wait_for pictures_at_least 3
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$T/ilog"
expect_eq "exit status" "$rc" 0
expect_grep "img: reload: new parameters applied without a restart" "$T/ilog"
expect_grep "img: frames in=[0-9]* out=[0-9]* errors=0 restarts=0" "$T/ilog"

echo "== a node that does not stop during a reload is left behind, the rest goes on"
hung_graph() { # SUFFIX
	printf '[pipeline]\ndrain-timeout = 1s\n'
	printf '[src]\nmodule = testsrc\nwidth = 32\nheight = 32\nframerate = 50\n'
	printf '[stuck]\nmodule = identity\ninput = src\nhang-after = 5\n'
	printf '[out]\nmodule = filesink\ninput = stuck\nlocation = %s\n' "$T/h$1.yuv"
	printf '[other]\nmodule = testsrc\nwidth = 32\nheight = 32\nframerate = 50\n'
	printf '[other-out]\nmodule = filesink\ninput = other\nlocation = %s\n' "$T/other.yuv"
}
hung_graph 1 >"$T/h.ini"
"$VPIPE" run "$T/h.ini" 2>"$T/hlog" &
pid=$!
wait_for grep -q "hanging on frame 5" "$T/hlog"
hung_graph 2 >"$T/h.ini"
"$VPIPE" reload "$pid" >/dev/null
wait_for grep -q "reload: done" "$T/hlog"
kill -0 $pid || fail "vpipe ended during the reload"
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$T/hlog"
expect_grep "stuck: did not stop: process() has not returned" "$T/hlog"
expect_grep "reload: 1 node(s) did not stop" "$T/hlog"
expect_grep "reload: starting src, stuck, out$" "$T/hlog"
expect_eq "exit status (a node was given up on)" "$rc" 1
produced=$(sed -n 's/.* other: frames in=0 out=\([0-9]*\).*/\1/p' "$T/hlog")
written=$(($(stat -c %s "$T/other.yuv") / (32 * 32 * 3 / 2)))
expect_eq "other: frames written = frames produced" "$written" "$produced"
