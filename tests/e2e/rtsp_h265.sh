#!/usr/bin/env bash
# rtsp with H.265 (RFC 7798) against GStreamer's RTSP server (x265enc !
# rtph265pay, 320x240, FUs for large pictures): over TCP (config-interval
# 0: the payloader adds no parameter sets, the SDP has sprop-vps/sps/pps)
# and UDP (config-interval -1) the received stream is a contiguous in-order
# run of the sent pictures with every key frame; rtsp -> mkv -> filesink
# writes a V_MPEGH/ISO/HEVC file that ffprobe, mkvinfo and gst-discoverer
# accept and whose pictures are the sent ones.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/servers/rtsp_helpers.sh"
rtsp_need
gst-inspect-1.0 x265enc >/dev/null 2>&1 || skip "needs gstreamer1.0-plugins-bad (x265enc)"
gst-inspect-1.0 rtph265pay >/dev/null 2>&1 || skip "needs gstreamer1.0-plugins-good (rtph265pay)"

run_case() { # NAME TRANSPORT CONFIG-INTERVAL [mkv]
	local name=$1 transport=$2 ci=$3 mux=${4:-}
	local port
	port=$(free_port)
	rtsp_start_server "$name" "$port" --codec h265 --frames 60 \
		--sent "$T/$name.sent.h265" --config-interval "$ci"
	{
		printf '[cam]\nmodule = rtsp\nurl = rtsp://127.0.0.1:%s/cam\ntransport = %s\ntimeout = 2s\n' "$port" "$transport"
		if [ -n "$mux" ]; then
			printf '[mux]\nmodule = mkv\ninput = cam\n'
			printf '[out]\nmodule = filesink\ninput = mux\nlocation = %s\n' "$T/$name.got.mkv"
		else
			printf '[out]\nmodule = filesink\ninput = cam\nlocation = %s\n' "$T/$name.got.h265"
		fi
	} >"$T/$name.ini"
	"$VPIPE" run "$T/$name.ini" --duration 4s >"$T/$name.out" 2>&1 || { cat "$T/$name.out"; fail "$name: vpipe run failed"; }
	rtsp_stop_server "$name"
	expect_grep "playing over $transport, H.265" "$T/$name.out"
	expect_grep "H.265 profile 1 .* 320x240" "$T/$name.out"
}

check_pictures() { # NAME GOT
	local name=$1 got=$2
	expect_eq "$name key frames" "$(key_frames "$got")" "$(key_frames "$T/$name.sent.h265")"
	expect_contiguous "$T/$name.sent.h265" "$got"
	n=$(wc -l <"$T/got.md5")
	[ "$n" -ge 50 ] || fail "$name: only $n pictures of ~60"
}

run_case tcp_sdp tcp 0
check_pictures tcp_sdp "$T/tcp_sdp.got.h265"
run_case udp_inband udp -1
check_pictures udp_inband "$T/udp_inband.got.h265"
run_case tcp_mkv tcp -1 mkv
f="$T/tcp_mkv.got.mkv"
expect_eq "codec" "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$f")" hevc
mkvinfo "$f" >"$T/info" 2>&1 || { cat "$T/info"; fail "mkvinfo rejects $f"; }
expect_grep "V_MPEGH/ISO/HEVC" "$T/info"
gst-discoverer-1.0 "$f" >"$T/gst" 2>&1 || { cat "$T/gst"; fail "gst-discoverer rejects $f"; }
expect_grep "H.265" "$T/gst"
check_pictures tcp_mkv "$f"
echo "PASS"
