# Helpers for the s3 module's end-to-end tests (sourced after tests/lib.sh).
S3RVER="$VPIPE_TOP/tests/node_modules/.bin/s3rver"
[ -x "$S3RVER" ] || skip "needs s3rver (tests/deps.sh runs npm install in tests/)"
need node ffprobe
/usr/bin/python3 -c 'import botocore' 2>/dev/null || skip "needs python3-botocore"
# s3rver's fixed credentials
S3_KEY=S3RVER
S3_SECRET=S3RVER

# start_s3rver NAME BUCKET[,BUCKET...] [PORT]: sets S3_URL, S3_PORT and
# S3_PID; objects live in $T/NAME-data (kept across restarts); log in
# $T/NAME.log.
start_s3rver() {
	local name=$1 buckets=$2 port=${3:-$(free_port)} b args=()
	for b in ${buckets//,/ }; do args+=(--configure-bucket "$b"); done
	local bucket=${buckets%%,*}
	mkdir -p "$T/$name-data"
	"$S3RVER" -d "$T/$name-data" -p "$port" -a 127.0.0.1 --silent \
		"${args[@]}" >>"$T/$name.log" 2>&1 &
	S3_PID=$!
	at_exit "kill $S3_PID 2>/dev/null; wait $S3_PID 2>/dev/null"
	S3_PORT=$port
	S3_URL="http://127.0.0.1:$port"
	for _ in $(seq 150); do
		curl -s -o /dev/null "$S3_URL/$bucket" && return 0
		sleep 0.1
	done
	cat "$T/$name.log" >&2
	fail "s3rver did not start"
}

# s3_dump BUCKET DIR: every object through botocore (list, head, get) into
# DIR/index.json [{key, content_type, metadata, size, file}].
s3_dump() {
	/usr/bin/python3 "$VPIPE_TOP/tests/e2e/s3_client.py" dump "$S3_URL" "$1" "$2"
}
