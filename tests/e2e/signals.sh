#!/usr/bin/env bash
# Every signal a service manager, a terminal or an operator sends during a
# recording (testsrc -> x264 -> mkv -> record) leaves a playable file:
# SIGHUP reloads (the file keeps growing), SIGUSR1 logs a status snapshot,
# SIGPIPE is ignored, every other catchable terminating signal drains like
# SIGTERM and exits 0. ffprobe and mkvinfo read each recording.
source "$VPIPE_TOP/tests/lib.sh"
need ffprobe mkvinfo
"$VPIPE" modules x264 >/dev/null 2>&1 || skip "no x264 module"

graph() {
	cat <<INI
[cam]
module = testsrc
width = 160
height = 120
framerate = 30

[enc]
module = x264
input = cam
keyint = 15

[mux]
module = mkv
input = enc

[rec]
module = record
input = mux
location = $1
INI
}
packets() { ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
# check DIR LOG: one recording, parsed by both tools, with every frame the
# encoder produced
check() {
	local f
	f=$(ls "$1"/*.mkv | head -1)
	[ -s "$f" ] || fail "$2: empty recording $f"
	mkvinfo "$f" >"$T/info" || { cat "$T/info"; fail "$2: mkvinfo rejects $f"; }
	local got want
	got=$(packets "$f") || fail "$2: ffprobe rejects $f"
	want=$(sed -n 's/.*enc: frames in=[0-9]* out=\([0-9]*\).*/\1/p' "$2")
	[ "$got" -gt 10 ] || fail "$2: only $got packets"
	expect_eq "$(basename "$2"): packets in the file = frames encoded" "$got" "$want"
}

for sig in TERM INT QUIT USR2 ALRM XCPU XFSZ VTALRM PROF PWR IO TRAP RTMIN; do
	mkdir -p "$T/$sig"
	graph "$T/$sig" >"$T/$sig.ini"
	"$VPIPE" run "$T/$sig.ini" 2>"$T/$sig.log" &
	pid=$!
	sleep 1.5
	kill -s "$sig" $pid
	rc=0
	wait $pid || rc=$?
	[ $rc = 0 ] || { cat "$T/$sig.log"; fail "SIG$sig: exit $rc"; }
	expect_grep "stopping, draining queued frames" "$T/$sig.log"
	check "$T/$sig" "$T/$sig.log"
done

echo "== SIGHUP, SIGUSR1 and SIGPIPE do not stop the recording"
mkdir -p "$T/keep"
{ printf '[pipeline]\nsummary-interval = 500ms\n'; graph "$T/keep"; } >"$T/keep.ini"
"$VPIPE" run "$T/keep.ini" 2>"$T/keep.log" &
pid=$!
sleep 1
kill -HUP $pid
sleep 0.5
kill -USR1 $pid
sleep 0.5
kill -PIPE $pid
sleep 0.5
kill -0 $pid || { cat "$T/keep.log"; fail "vpipe ended after HUP/USR1/PIPE"; }
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$T/keep.log"
expect_eq "exit status" "$rc" 0
expect_grep "User defined signal 1: status" "$T/keep.log"
expect_grep "enc: running frames in=[0-9]* out=" "$T/keep.log"
expect_grep "link enc->mux frames=[0-9]* bytes=[0-9]* drops=0 depth=" "$T/keep.log"
expect_grep "reload: no chain changed" "$T/keep.log"
# the periodic one-line summary (every 500 ms here, 2.5 s run)
expect_grep "vpipe: summary: up [0-9]* s; nodes running 4, restarting 0, ended 0; frames from sources [0-9]*, into sinks [0-9]*; queue drops 0; errors 0; restarts 0" "$T/keep.log"
check "$T/keep" "$T/keep.log"
