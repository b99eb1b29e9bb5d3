#!/usr/bin/env bash
# rtsp against GStreamer's RTSP server, x264 at 320x240: over TCP
# (interleaved) the received stream is byte-identical to what the server
# sent; over UDP every received picture decodes and they are a contiguous,
# in-order run of the sent pictures, and keep-alives (GET_PARAMETER) are
# answered within a short session timeout. SPS/PPS come from the SDP
# (config-interval=0) or in-band (-1).
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/servers/rtsp_helpers.sh"
rtsp_need

run_case() {
	local name=$1 transport=$2 ci=$3
	shift 3
	local port
	port=$(free_port)
	rtsp_start_server "$name" "$port" --frames 60 --sent "$T/$name.sent.h264" --config-interval "$ci" "$@"
	cat >"$T/$name.ini" <<INI
[cam]
module = rtsp
url = rtsp://127.0.0.1:$port/cam
transport = $transport
timeout = 2s
[out]
module = filesink
input = cam
location = $T/$name.got.h264
INI
	"$VPIPE" run "$T/$name.ini" --duration 4s >"$T/$name.out" 2>&1 || { cat "$T/$name.out"; fail "$name: vpipe run failed"; }
	rtsp_stop_server "$name"
	expect_grep "playing over $transport" "$T/$name.out"
	expect_grep "320x240" "$T/$name.out"
	local sent got
	sent=$(key_frames "$T/$name.sent.h264")
	got=$(key_frames "$T/$name.got.h264")
	expect_eq "$name key frames" "$got" "$sent"
	expect_contiguous "$T/$name.sent.h264" "$T/$name.got.h264"
	n=$(wc -l <"$T/got.md5")
	[ "$n" -ge 50 ] || fail "$name: only $n pictures of ~60"
}

run_case tcp_sdp tcp 0
cmp "$T/tcp_sdp.sent.h264" "$T/tcp_sdp.got.h264" || fail "tcp: received bytes differ from sent"
echo "ok: tcp stream byte-identical to the server's"
# A 2 s session timeout: keep-alives every second, each answered.
run_case udp_inband udp -1 --session-timeout 2
expect_grep "session timeout 2 s" "$T/udp_inband.out"
ka=$(grep -o 'keepalive_ok_total=[0-9]*' "$T/udp_inband.out" | cut -d= -f2)
[ "${ka:-0}" -ge 2 ] || { cat "$T/udp_inband.out"; fail "keep-alives answered: ${ka:-0}, want >= 2 in 4 s"; }
echo "ok: $ka keep-alives answered"
echo "PASS"
