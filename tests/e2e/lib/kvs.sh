# Helpers for the kvs sink's end-to-end tests (sourced after tests/lib.sh).
export AWS_ACCESS_KEY_ID=AKIDKVSTEST AWS_SECRET_ACCESS_KEY=kvsTestSecret0123456789
export AWS_DEFAULT_REGION=us-west-2
need ffmpeg ffprobe aws

# make_h264 FILE SECONDS: 320x240 at 30 fps, a key frame every second.
make_h264() {
	ffmpeg -v error -y -f lavfi -i "testsrc=size=320x240:rate=30" -t "$2" \
		-c:v libx264 -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
		-pix_fmt yuv420p -f h264 "$1"
}

# make_test_ca DIR: a test CA (DIR/ca.pem, ca.key) and a server certificate
# it signed for 127.0.0.1 (DIR/srv.pem, srv.key).
make_test_ca() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=vpipe-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext" -out "$d/srv.pem" 2>/dev/null
}

# start_kvs_local NAME [ARGS...]: sets KL_URL; logs in $T/NAME.log.
start_kvs_local() {
	local name=$1 port
	shift
	port=$(free_port)
	"$VPIPE" kvs-local --listen "127.0.0.1:$port" --data "$T/$name-data" \
		--access-key "$AWS_ACCESS_KEY_ID" \
		--secret-key "$AWS_SECRET_ACCESS_KEY" "$@" >"$T/$name.log" 2>&1 &
	local pid=$!
	at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	KL_PID=$pid
	local scheme=http
	case " $* " in *" --tls-cert "*) scheme=https ;; esac
	KL_URL="$scheme://127.0.0.1:$port"
	for _ in $(seq 100); do
		grep -q "listening" "$T/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$T/$name.log" >&2
	fail "kvs-local did not start"
}

# graph FILE H264 STREAM URL [extra kvs lines...]
graph() {
	local out=$1 in=$2 stream=$3 url=$4
	shift 4
	{
		printf '[cam]\nmodule = filesrc\nlocation = %s\nframerate = 30\n' "$in"
		[ -n "${LIVE:-}" ] && printf 'is-live = true\n'
		printf '\n[mux]\nmodule = mkv\ninput = cam\n\n'
		printf '[cloud]\nmodule = kvs\ninput = mux\nstream-name = %s\n' "$stream"
		printf "endpoint = %s\nstop-stream-timeout = ${STOP_TIMEOUT:-20s}\n" "$url"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$out"
}

# get_media URL STREAM OUT [aws args...]: everything stored, from the start.
get_media() {
	local url=$1 stream=$2 out=$3
	shift 3
	timeout 60 aws kinesis-video-media get-media --endpoint-url "$url" "$@" \
		--stream-name "$stream" \
		--start-selector StartSelectorType=EARLIEST "$out" >/dev/null
}

# same_frames A B: every decoded picture of A is in B, in order, once.
same_frames() {
	ffmpeg -v error -i "$1" -map 0:v -f framemd5 - | grep -v '^#' |
		awk -F, '{print $NF}' >"$T/a.md5"
	ffmpeg -v error -i "$2" -map 0:v -f framemd5 - | grep -v '^#' |
		awk -F, '{print $NF}' >"$T/b.md5"
	expect_eq "decoded pictures" "$(wc -l <"$T/b.md5")" "$(wc -l <"$T/a.md5")"
	cmp -s "$T/a.md5" "$T/b.md5" || fail "pictures differ or are out of order"
	echo "ok: every picture once, in order"
}

# clusters F: Matroska clusters (= KVS fragments) in F.
clusters() { mkvinfo "$1" | grep -c '^|+ Cluster'; }

# fragments URL STREAM [aws args...]: how many fragments ListFragments shows.
fragments() {
	local url=$1 stream=$2
	shift 2
	timeout 30 aws kinesis-video-archived-media list-fragments \
		--endpoint-url "$url" "$@" --stream-name "$stream" \
		--query 'length(Fragments)' --output text
}

# no_sanitizer_report LOG: a run expected to fail must fail for its own
# reason, not because ASan, UBSan, LSan or TSan stopped it (BUILD=build-asan).
no_sanitizer_report() {
	if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$1"; then
		grep -E -A 30 'Sanitizer|runtime error:' "$1" | head -n 60 >&2
		fail "sanitizer report in $1"
	fi
}
