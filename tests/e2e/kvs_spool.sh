# kvs sink with a disk spool (`spool = DIR`) against kvs-local, every
# picture checked with GetMedia and framemd5 against the input:
#  1. an outage of 12x buffer-duration at 1080p with a 1 MiB RAM store:
#     nothing lost;
#  2. kill -9 at random moments (KVS_SPOOL_KILLS runs, 3 by default; 20
#     with KVS_SPOOL_KILLS=20), then a restart with the same spool: what
#     the first run spooled arrives first, in order, then the second run's
#     pictures; duplicates only for fragments unacknowledged at the kill;
#  3. a torn spool tail: logged with its offset and cut, everything before
#     it delivered;
#  4. a reboot simulated by restarting with the same spool during an
#     outage;
#  5. the spool full, realtime: the oldest dropped, every drop counted;
#  6. the spool full, offline: frames wait, nothing dropped.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
need mkvinfo
PY=/usr/bin/python3
COUNT="$VPIPE_TOP/tests/e2e/kvs_spool_count.py"
KILLS=${KVS_SPOOL_KILLS:-3}

# Two clips with the same stream header but different pictures, so that
# the first run's pictures and the second's can be told apart.
clip() { # OUT PATTERN SECONDS
	ffmpeg -v error -y -f lavfi -i "$2=size=320x240:rate=30" -t "$3" \
		-c:v libx264 -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
		-pix_fmt yuv420p -f h264 "$1"
}
clip "$T/a.h264" testsrc 10
clip "$T/b.h264" testsrc2 4
md5s() { ffmpeg -v error -i "$1" -map 0:v -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}'; }
md5s "$T/a.h264" >"$T/clip-a.md5"
md5s "$T/b.h264" >"$T/clip-b.md5"

# got_a_then_b MKV MIN_A: the stored pictures (each counted once) are the
# first m pictures of a, in order, then all of b, with m >= MIN_A. Sets M
# and DUPS (pictures decoded twice: fragments stored twice).
got_a_then_b() {
	md5s "$1" >"$T/got.md5"
	DUPS=$(($(wc -l <"$T/got.md5") - $(awk '!seen[$0]++' "$T/got.md5" | wc -l)))
	awk '!seen[$0]++' "$T/got.md5" >"$T/uniq.md5"
	local nb m
	nb=$(wc -l <"$T/clip-b.md5")
	M=$(($(wc -l <"$T/uniq.md5") - nb))
	[ "$M" -ge 0 ] || fail "fewer pictures ($(wc -l <"$T/uniq.md5")) than the second run sent ($nb)"
	{ head -n "$M" "$T/clip-a.md5"; cat "$T/clip-b.md5"; } | cmp -s - "$T/uniq.md5" ||
		fail "pictures lost, out of order or foreign (m=$M)"
	[ "$M" -ge "$2" ] || fail "only $M pictures of the first run, want >= $2"
	echo "ok: $M pictures of the first run, then all $nb of the second, in order ($DUPS decoded twice)"
}

# spool_graph INI H264 STREAM SPOOLDIR [extra kvs lines...]
spool_graph() {
	local ini=$1 in=$2 stream=$3 dir=$4
	shift 4
	STOP_TIMEOUT=60s graph "$ini" "$in" "$stream" "$KL_URL" \
		"spool = $dir" "storage-size = 1M" "buffer-duration = 1s" "$@"
}

# ---- 1. outage of 12x buffer-duration at 1080p, 1 MiB of RAM
ffmpeg -v error -y -f lavfi -i "testsrc=size=1920x1080:rate=30" -t 12 \
	-c:v libx264 -preset ultrafast -b:v 3M -g 30 -bf 0 -pix_fmt yuv420p \
	-f h264 "$T/hd.h264"
start_kvs_local outage --refuse-for 12000
LIVE=1 spool_graph "$T/outage.ini" "$T/hd.h264" cam-outage "$T/spool-outage"
"$VPIPE" run "$T/outage.ini" >"$T/run-outage.log" 2>&1 ||
	{ cat "$T/run-outage.log"; fail "outage: run failed"; }
expect_grep "every fragment acknowledged" "$T/run-outage.log"
if grep -q 'dropped_frames_total=[1-9]' "$T/run-outage.log"; then fail "frames dropped"; fi
peak=$(grep -o 'spool_written_bytes_total=[0-9]*' "$T/run-outage.log" | tail -1 | cut -d= -f2)
[ "$peak" -gt $((2 * 1048576)) ] || fail "the spool held only $peak bytes: no outage beyond RAM"
get_media "$KL_URL" cam-outage "$T/outage.mkv"
same_frames "$T/hd.h264" "$T/outage.mkv"
kill "$KL_PID"

# ---- 2. kill -9 at random moments, then a restart with the same spool
start_kvs_local kills --ack-delay 400
total_dups=0
for run in $(seq "$KILLS"); do
	dir="$T/spool-kill-$run"
	LIVE=1 spool_graph "$T/k1-$run.ini" "$T/a.h264" "cam-k$run" "$dir"
	LIVE=1 spool_graph "$T/k2-$run.ini" "$T/b.h264" "cam-k$run" "$dir"
	"$VPIPE" run "$T/k1-$run.ini" >"$T/run-k1-$run.log" 2>&1 &
	pid=$!
	ms=$((1000 + RANDOM % 5000))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	read -r spooled _ < <($PY "$COUNT" "$dir")
	# What the service already had: pictures acknowledged before the kill.
	before=0
	if get_media "$KL_URL" "cam-k$run" "$T/k-before-$run.mkv" 2>/dev/null; then
		before=$(md5s "$T/k-before-$run.mkv" 2>/dev/null | awk '!seen[$0]++' | wc -l)
	fi
	"$VPIPE" run "$T/k2-$run.ini" >"$T/run-k2-$run.log" 2>&1 ||
		{ cat "$T/run-k2-$run.log"; fail "kill run $run: restart failed"; }
	expect_grep "every fragment acknowledged" "$T/run-k2-$run.log"
	get_media "$KL_URL" "cam-k$run" "$T/k-$run.mkv"
	# A fragment acknowledged but not yet journalled is both in the
	# service and in the spool: count it once.
	frags=$(fragments "$KL_URL" "cam-k$run")
	uniq_frags=$(aws kinesis-video-archived-media list-fragments \
		--endpoint-url "$KL_URL" --stream-name "cam-k$run" \
		--query 'Fragments[].ProducerTimestamp' --output text |
		tr '\t' '\n' | sort -u | wc -l)
	dup_frags=$((frags - uniq_frags))
	got_a_then_b "$T/k-$run.mkv" $((spooled + before - 30 * dup_frags))
	echo "kill run $run: killed at ${ms} ms; $spooled pictures in the spool, $before already stored; $dup_frags fragment(s) stored twice"
	[ "$dup_frags" -le 2 ] || fail "$dup_frags duplicates: more than were on the wire"
	total_dups=$((total_dups + dup_frags))
done
echo "kill runs: $KILLS, duplicate fragments in all: $total_dups"
kill "$KL_PID"

# ---- 3. a torn tail (a power cut mid-write), during an outage
start_kvs_local torn --refuse-for 9000
dir="$T/spool-torn"
LIVE=1 spool_graph "$T/t1.ini" "$T/a.h264" cam-torn "$dir"
LIVE=1 spool_graph "$T/t2.ini" "$T/b.h264" cam-torn "$dir"
"$VPIPE" run "$T/t1.ini" >"$T/run-t1.log" 2>&1 &
pid=$!
sleep 4
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
read -r seg last size < <($PY "$COUNT" "$dir" --tail)
cut=$((last + 30)) # inside the last record's head
truncate -s "$cut" "$seg"
read -r spooled _ < <($PY "$COUNT" "$dir")
[ "$spooled" -gt 30 ] || fail "only $spooled pictures spooled in 4 s"
"$VPIPE" run "$T/t2.ini" >"$T/run-t2.log" 2>&1 ||
	{ cat "$T/run-t2.log"; fail "torn: restart failed"; }
expect_grep "$(basename "$seg"): torn record head at byte $last: cut off the $((cut - last)) bytes" "$T/run-t2.log"
get_media "$KL_URL" cam-torn "$T/torn.mkv"
got_a_then_b "$T/torn.mkv" "$spooled"
expect_eq "torn: first-run pictures delivered" "$M" "$spooled"
kill "$KL_PID"

# ---- 4. a reboot during an outage: killed, restarted, still no network
start_kvs_local reboot --refuse-for 12000
dir="$T/spool-reboot"
LIVE=1 spool_graph "$T/r1.ini" "$T/a.h264" cam-reboot "$dir"
LIVE=1 spool_graph "$T/r2.ini" "$T/b.h264" cam-reboot "$dir"
"$VPIPE" run "$T/r1.ini" >"$T/run-r1.log" 2>&1 &
pid=$!
sleep 4
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
read -r spooled frags < <($PY "$COUNT" "$dir")
"$VPIPE" run "$T/r2.ini" >"$T/run-r2.log" 2>&1 ||
	{ cat "$T/run-r2.log"; fail "reboot: restart failed"; }
expect_grep "spool $dir: $frags fragment(s) from an earlier run, $spooled frames" "$T/run-r2.log"
expect_grep "from the earlier run are delivered" "$T/run-r2.log"
get_media "$KL_URL" cam-reboot "$T/reboot.mkv"
got_a_then_b "$T/reboot.mkv" "$spooled"
expect_eq "reboot: first-run pictures delivered" "$M" "$spooled"
kill "$KL_PID"

# ---- 5. spool full, realtime: the oldest go, counted and logged
start_kvs_local full --refuse-for 6000
spool_graph "$T/full.ini" "$T/hd.h264" cam-full "$T/spool-full" "spool-size = 1M"
"$VPIPE" run "$T/full.ini" >"$T/run-full.log" 2>&1 ||
	{ cat "$T/run-full.log"; fail "full: run failed"; }
expect_grep "spool full (spool-size 1 MiB): dropped the oldest" "$T/run-full.log"
dropped=$(grep -o 'dropped_frames_total=[0-9]*' "$T/run-full.log" | tail -1 | cut -d= -f2)
get_media "$KL_URL" cam-full "$T/full.mkv"
md5s "$T/hd.h264" >"$T/hd.md5"
md5s "$T/full.mkv" >"$T/full.md5"
got=$(wc -l <"$T/full.md5")
expect_eq "full: pictures stored + dropped" "$((got + dropped))" "$(wc -l <"$T/hd.md5")"
# What arrived is the input in order, with whole fragments missing.
$PY - "$T/hd.md5" "$T/full.md5" <<'EOF' || fail "full: stored pictures out of order"
import sys
a = open(sys.argv[1]).read().split()
b = open(sys.argv[2]).read().split()
i = 0
for x in b:
    while i < len(a) and a[i] != x:
        i += 1
    if i == len(a):
        sys.exit(1)
    i += 1
EOF
echo "ok: full: $got pictures stored in order, $dropped dropped and counted"
kill "$KL_PID"

# ---- 6. spool full, offline: frames wait, none dropped
start_kvs_local offline --refuse-for 6000
spool_graph "$T/off.ini" "$T/hd.h264" cam-off "$T/spool-off" "spool-size = 1M" \
	"streaming-type = offline"
"$VPIPE" run "$T/off.ini" >"$T/run-off.log" 2>&1 ||
	{ cat "$T/run-off.log"; fail "offline: run failed"; }
expect_grep "frames wait (streaming-type = offline)" "$T/run-off.log"
if grep -q 'dropped_frames_total=[1-9]' "$T/run-off.log"; then fail "offline: frames dropped"; fi
get_media "$KL_URL" cam-off "$T/off.mkv"
same_frames "$T/hd.h264" "$T/off.mkv"
kill "$KL_PID"
echo "PASS"
