# kvs sink under kvs-local's fault injection: connections cut mid-fragment,
# a run of 5xx answers, control-plane throttling, connections refused for
# 30 s (each losing no picture and duplicating none), and an outage longer
# than buffer-duration (the oldest fragments dropped and counted, the
# stream resumes).
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 10

lossless() { # NAME kvs-local-args...
	local name=$1
	shift
	start_kvs_local "$name" "$@"
	STOP_TIMEOUT=90s graph "$T/$name.ini" "$T/in.h264" "cam-$name" "$KL_URL"
	"$VPIPE" run "$T/$name.ini" >"$T/run-$name.log" 2>&1 ||
		{ cat "$T/run-$name.log"; fail "$name: run failed"; }
	expect_grep "every fragment acknowledged" "$T/run-$name.log"
	get_media "$KL_URL" "cam-$name" "$T/$name.mkv"
	same_frames "$T/in.h264" "$T/$name.mkv"
	# A fragment stored twice (its ACK lost in a cut) decodes as one
	# extra picture only (ffmpeg drops frames whose timestamps go back):
	# count the fragments themselves.
	expect_eq "$name: fragments stored" \
		"$(fragments "$KL_URL" "cam-$name")" 10
	kill "$KL_PID"
}

lossless drop --drop-after 40000
expect_grep "dropping the connection" "$T/drop.log"
lossless fivexx --fail-next 6
expect_grep "HTTP 500" "$T/run-fivexx.log"
lossless throttle --throttle 1
expect_grep "throttled" "$T/run-throttle.log"
lossless refuse --refuse-for 30000
expect_grep "network" "$T/run-refuse.log"
# The recovery is logged once, with the outage's length.
expect_grep "reconnected after an outage of [0-9.]* s; [0-9]* fragment(s)" "$T/run-refuse.log"
expect_eq "refuse: recovery lines" "$(grep -c 'reconnected after an outage' "$T/run-refuse.log")" 1

# Outage longer than the buffer: 10 s of pictures, buffer-duration 3 s.
start_kvs_local outage --refuse-for 3000
graph "$T/outage.ini" "$T/in.h264" cam-outage "$KL_URL" "buffer-duration = 3s"
"$VPIPE" run "$T/outage.ini" >"$T/run-outage.log" 2>&1 ||
	{ cat "$T/run-outage.log"; fail "outage: run failed"; }
expect_grep "buffer-duration (3 s) exceeded" "$T/run-outage.log"
dropped=$(grep -o 'dropped_frames_total=[0-9]*' "$T/run-outage.log" | tail -1 | cut -d= -f2)
[ "${dropped:-0}" -gt 0 ] || fail "no dropped frames counted"
get_media "$KL_URL" cam-outage "$T/outage.mkv"
got=$(ffprobe -v error -count_packets -show_entries stream=nb_read_packets \
	-of csv=p=0 "$T/outage.mkv")
expect_eq "pictures stored + dropped" "$((got + dropped))" 300
echo "PASS"
