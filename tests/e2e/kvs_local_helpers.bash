# Shared by the kvs_local_*.sh tests (sourced after tests/lib.sh).
# start_kvs_local [ARGS...]: start the server on a free port with test keys,
# set EP (endpoint), KVS_LOG, KVS_PID; stopped with SIGTERM at exit.
PY=/usr/bin/python3
CLIENT="$VPIPE_TOP/tests/e2e/kvs_client.py"
export AWS_ACCESS_KEY_ID=AKIDKVSLOCAL AWS_SECRET_ACCESS_KEY=kvs-local-secret
export AWS_DEFAULT_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
[ -x "$VPIPE" ] || skip "no $VPIPE"
"$VPIPE" kvs-local --help >/dev/null 2>&1 || skip "vpipe has no kvs-local"
$PY -c 'import botocore' 2>/dev/null || skip "needs python3-botocore"
KVS_N=0
start_kvs_local() {
	KVS_N=$((KVS_N + 1))
	KVS_LOG="$T/kvs-local.$KVS_N.log"
	# keys: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment
	"$VPIPE" kvs-local --listen 127.0.0.1:0 --data "${KVS_DATA:-$T/data}" \
		"$@" \
		>"$T/kvs-local.$KVS_N.out" 2>"$KVS_LOG" &
	KVS_PID=$!
	at_exit "kill -TERM $KVS_PID 2>/dev/null; wait $KVS_PID 2>/dev/null"
	wait_for grep -q listening "$T/kvs-local.$KVS_N.out"
	EP=$(awk '{print $NF}' "$T/kvs-local.$KVS_N.out")
	echo "kvs-local at $EP (log $KVS_LOG)"
}
# sanitizer_clean LOG: fail with the report if a sanitizer (ASan, UBSan,
# LSan, TSan: make check, BUILD=build-asan/build-tsan) wrote one to LOG.
sanitizer_clean() {
	if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$1"; then
		grep -E -A 30 'Sanitizer|runtime error:' "$1" | head -n 80 >&2
		fail "sanitizer report in $1"
	fi
}
stop_kvs_local() {
	kill -TERM "$KVS_PID"
	local rc=0
	wait "$KVS_PID" || rc=$?
	sanitizer_clean "$KVS_LOG"
	[ "$rc" = 0 ] || fail "kvs-local exited with $rc on SIGTERM"
	grep -q stopped "$KVS_LOG" || fail "kvs-local did not log its stop"
}
AWS() { /usr/bin/aws --endpoint-url "$EP" --region us-west-2 "$@"; }
# count_frames FILE: decodable video frames
count_frames() {
	ffprobe -v error -count_frames -select_streams v:0 \
		-show_entries stream=nb_read_frames -of csv=p=0 "$1" | head -n 1
}
# make_clip OUT SECONDS: 160x120 15 fps H.264 with a key frame each second
make_clip() {
	ffmpeg -v error -y -f lavfi -i "testsrc=size=160x120:rate=15" \
		-t "$2" -c:v libx264 -g 15 -bf 0 -pix_fmt yuv420p \
		-f matroska "$1"
}
