# Helpers for the rtsp e2e tests (sourced after tests/lib.sh).
RTSP_SERVER="$VPIPE_TOP/tests/servers/rtsp_server.py"

rtsp_need() {
	need ffprobe ffmpeg
	/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer' 2>/dev/null ||
		skip "needs python3-gi and gir1.2-gst-rtsp-server-1.0"
	gst-inspect-1.0 x264enc >/dev/null 2>&1 || skip "needs gstreamer1.0-plugins-ugly (x264enc)"
}

# rtsp_start_server NAME PORT ARGS... : starts the server in the background,
# waits for "ready"; its pid goes to $T/NAME.pid.
rtsp_start_server() {
	local name=$1 port=$2
	shift 2
	/usr/bin/python3 "$RTSP_SERVER" --port "$port" "$@" >"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.pid"
	at_exit "kill $(cat "$T/$name.pid") 2>/dev/null"
	wait_for grep -q ready "$T/$name.log"
}

rtsp_stop_server() {
	local pid
	pid=$(cat "$T/$1.pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Decoded-picture hashes of an H.264 elementary stream, one per line.
frame_hashes() {
	ffmpeg -v error -i "$1" -f framemd5 - 2>"$1.decode-errors" | grep -v '^#' | awk -F, '{print $6}'
}

# key_frames FILE: number of decoded key pictures (decoding, not parsing:
# a payloader's repeated SPS/PPS make ffprobe's parser split packets).
key_frames() {
	ffprobe -v error -show_entries frame=key_frame -of csv=p=0 "$1" | grep -c '^1' || true
}

# The received pictures must be a contiguous run of the sent ones:
# same order, nothing lost in between, nothing invented.
expect_contiguous() {
	local sent=$1 got=$2
	frame_hashes "$sent" >"$T/sent.md5"
	frame_hashes "$got" >"$T/got.md5"
	[ -s "$T/got.md5" ] || fail "no decodable picture in $got"
	[ ! -s "$got.decode-errors" ] || { cat "$got.decode-errors"; fail "ffmpeg decode errors in $got"; }
	/usr/bin/python3 - "$T/sent.md5" "$T/got.md5" <<'PY' || fail "received pictures are not a contiguous run of the sent ones"
import sys
sent = open(sys.argv[1]).read().split()
got = open(sys.argv[2]).read().split()
for i in range(len(sent) - len(got) + 1):
    if sent[i:i + len(got)] == got:
        print(f"ok: {len(got)} of {len(sent)} sent pictures, in order, from #{i}")
        sys.exit(0)
print(f"sent {len(sent)}, got {len(got)} pictures; no contiguous match", file=sys.stderr)
sys.exit(1)
PY
}
