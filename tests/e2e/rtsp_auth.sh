#!/usr/bin/env bash
# rtsp authentication against GStreamer's RTSP server: Basic and Digest,
# credentials in the url or in user/password; a wrong password is a clear
# error naming the user, retried with backoff; the password never appears
# in any output (urls are printed with "***").
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/servers/rtsp_helpers.sh"
rtsp_need

pw='S3cr3t-pw'
run() { # NAME URL [extra ini lines]
	local name=$1 url=$2
	shift 2
	{
		printf '[cam]\nmodule = rtsp\nurl = %s\ntimeout = 2s\nretry-delay = 300ms\n' "$url"
		for l in "$@"; do printf '%s\n' "$l"; done
		printf '[out]\nmodule = filesink\ninput = cam\nlocation = %s\n' "$T/$name.h264"
	} >"$T/$name.ini"
	"$VPIPE" run "$T/$name.ini" --duration 2500ms >"$T/$name.out" 2>&1 || { cat "$T/$name.out"; fail "$name: vpipe run failed"; }
	if grep -q -- "$pw" "$T/$name.out"; then cat "$T/$name.out"; fail "$name: password in the log"; fi
}
decodes() {
	local n
	n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/$1.h264")
	[ "${n:-0}" -ge 20 ] || fail "$1: only ${n:-0} pictures decoded"
	echo "ok: $1: $n pictures decoded"
}

for scheme in basic digest; do
	port=$(free_port)
	rtsp_start_server "$scheme" "$port" --auth "$scheme" --user cam --password "$pw"
	run "$scheme-url" "rtsp://cam:$pw@127.0.0.1:$port/cam"
	expect_grep "rtsp://cam:\*\*\*@127.0.0.1:$port/cam: playing over tcp" "$T/$scheme-url.out"
	decodes "$scheme-url"
	run "$scheme-params" "rtsp://127.0.0.1:$port/cam" "user = cam" "password = $pw"
	decodes "$scheme-params"
	run "$scheme-wrong" "rtsp://cam:wrong-$pw@127.0.0.1:$port/cam"
	expect_grep "the server refused user 'cam'" "$T/$scheme-wrong.out"
	expect_grep "reconnecting in" "$T/$scheme-wrong.out"
	[ ! -s "$T/$scheme-wrong.h264" ] || fail "$scheme-wrong: got media without the right password"
	run "$scheme-none" "rtsp://127.0.0.1:$port/cam"
	expect_grep "needs authentication" "$T/$scheme-none.out"
	rtsp_stop_server "$scheme"
done
echo PASS
