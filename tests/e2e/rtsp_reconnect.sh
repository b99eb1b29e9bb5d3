#!/usr/bin/env bash
# rtsp survives the camera going away: the server is killed and restarted
# on the same port (the connection closes), then frozen with SIGSTOP (the
# connection stays open but silent: the media timeout fires, and the
# reconnect times out until SIGCONT). Each time the stream resumes at a key
# frame; the H.264 written decodes without errors and the Matroska written
# through the mkv muxer behind it is valid.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/servers/rtsp_helpers.sh"
rtsp_need
need mkvinfo

port=$(free_port)
rtsp_start_server srv1 "$port"
cat >"$T/g.ini" <<INI
[cam]
module = rtsp
url = rtsp://127.0.0.1:$port/cam
timeout = 1500ms
retry-delay = 300ms
retry-max-delay = 1s
[raw]
module = filesink
input = cam
location = $T/got.h264
[mux]
module = mkv
input = cam
[file]
module = filesink
input = mux
location = $T/got.mkv
INI
"$VPIPE" run "$T/g.ini" --duration 11s >"$T/run.out" 2>&1 &
vp=$!
at_exit "kill $vp 2>/dev/null"
sleep 2.5
rtsp_stop_server srv1
sleep 1
rtsp_start_server srv2 "$port"
sleep 2.5
kill -STOP "$(cat "$T/srv2.pid")"
sleep 2.5
kill -CONT "$(cat "$T/srv2.pid")"
wait $vp || { cat "$T/run.out"; fail "vpipe run failed"; }
cat "$T/run.out"

expect_grep "server closed the connection" "$T/run.out"
expect_grep "no media for" "$T/run.out"
plays=$(grep -c "playing over tcp" "$T/run.out")
[ "$plays" -ge 3 ] || fail "played $plays times, want 3 (start, restart, thaw)"
echo "ok: played $plays times"

n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/got.h264")
errs=$(ffmpeg -v error -i "$T/got.h264" -f null - 2>&1 | wc -l)
expect_eq "decode errors in got.h264" "$errs" 0
# About 11 s at 30 fps minus ~4 s of outage.
[ "$n" -ge 150 ] || fail "only $n pictures"
echo "ok: $n pictures decode"
mkvinfo "$T/got.mkv" >"$T/mkvinfo.out" || fail "mkvinfo rejects got.mkv"
m=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/got.mkv")
expect_eq "pictures in got.mkv" "$m" "$n"
echo PASS
