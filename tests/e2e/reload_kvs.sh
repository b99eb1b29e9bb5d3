#!/usr/bin/env bash
# Reload (SIGHUP) while two cameras stream to kvs-local: a change to camera
# a's chain restarts that chain only. Camera b's stream, read back with
# GetMedia, holds every picture of its file once and in order (no gap, no
# duplicate); camera a's stream has its file again from the reload on. A
# reload of a broken file keeps both running and names the error. A third
# reload changes camera b's stream-tags, a runtime key: TagStream sets
# them and b's stream still has no gap and no duplicate.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 8
start_kvs_local kl

# graph A_EXTRA: two live cameras, each file -> mkv -> kvs
graph2() {
	local cam
	for cam in a b; do
		printf '[%s-cam]\nmodule = filesrc\nlocation = %s\nframerate = 30\nis-live = true\n' "$cam" "$T/in.h264"
		printf '[%s-mux]\nmodule = mkv\ninput = %s-cam\n' "$cam" "$cam"
		printf '[%s-kvs]\nmodule = kvs\ninput = %s-mux\nstream-name = cam-%s\n' "$cam" "$cam" "$cam"
		printf 'endpoint = %s\nstop-stream-timeout = 20s\n' "$KL_URL"
		[ $cam = a ] && printf '%s\n' "$1"
		[ $cam = b ] && printf '%s\n' "${2:-}"
	done
	return 0
}
graph2 "" >"$T/g.ini"
"$VPIPE" run "$T/g.ini" 2>"$T/run.log" &
pid=$!
at_exit "kill $pid 2>/dev/null"
sleep 3
graph2 "storage-size = 32MB" >"$T/g.ini"
kill -HUP $pid
sleep 1
printf '[a-cam]\nbroken\n' >>"$T/g.ini"
kill -HUP $pid
sleep 1
graph2 "storage-size = 32MB" "stream-tags = site=north,owner=ops" >"$T/g.ini"
kill -HUP $pid
rc=0
wait $pid || rc=$?
cat "$T/run.log"
expect_eq "exit status" "$rc" 0
expect_grep "reload: stopping the changed chain(s) of a-cam, a-mux, a-kvs$" "$T/run.log"
expect_grep "reload: starting a-cam, a-mux, a-kvs$" "$T/run.log"
expect_grep "g.ini:.*error" "$T/run.log"
expect_grep "has errors (above): the running graph goes on unchanged" "$T/run.log"
grep -E -q "b-[a-z]*: .*(restarting|running again)|(stopping the changed|starting).* b-" "$T/run.log" &&
	fail "camera b's chain was touched"

expect_grep "b-kvs: reload: new parameters applied without a restart" "$T/run.log"
expect_grep "b-kvs: stream tags set: site=north,owner=ops" "$T/run.log"
tags=$(timeout 30 aws kinesisvideo list-tags-for-stream --endpoint-url "$KL_URL" \
	--stream-name cam-b --query 'Tags.[site,owner]' --output text)
expect_eq "camera b's tags" "$(echo $tags)" "north ops"

echo "== camera b: every picture once, in order"
get_media "$KL_URL" cam-b "$T/b.mkv"
same_frames "$T/in.h264" "$T/b.mkv"

echo "== camera a: its file again after the reload"
get_media "$KL_URL" cam-a "$T/a.mkv"
got=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/a.mkv")
[ "$got" -gt 240 ] || fail "camera a: $got pictures, want more than the file's 240"
echo "ok: camera a: $got pictures (240 after the reload, plus those before)"
