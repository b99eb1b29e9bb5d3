# kvs sink end to end against vpipe kvs-local, over HTTP and over TLS with a
# test CA: an H.264 file through mkv to kvs; GetMedia returns every picture
# once and in order; ListFragments shows one fragment per GOP (1 s).
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
need openssl

make_h264 "$T/in.h264" 10

check_stream() { # URL STREAM [aws args]
	local url=$1 stream=$2
	shift 2
	get_media "$url" "$stream" "$T/$stream.mkv" "$@"
	same_frames "$T/in.h264" "$T/$stream.mkv"
	local lens
	lens=$(timeout 30 aws kinesis-video-archived-media list-fragments \
		--endpoint-url "$url" "$@" --stream-name "$stream" \
		--query 'Fragments[].FragmentLengthInMilliseconds' --output text)
	expect_eq "fragments (one per 1 s GOP)" "$(echo "$lens" | wc -w)" 10
	for l in $lens; do [ "$l" -ge 900 ] && [ "$l" -le 1100 ] || fail "fragment of $l ms"; done
}

# --- plain HTTP
start_kvs_local http
graph "$T/http.ini" "$T/in.h264" cam-http "$KL_URL"
"$VPIPE" run "$T/http.ini" >"$T/run-http.log" 2>&1 || { cat "$T/run-http.log"; fail "run failed"; }
expect_grep "every fragment acknowledged" "$T/run-http.log"
expect_grep "putmedia_incoming_frames_total=300" "$T/run-http.log"
expect_grep "putmedia_success_total=10" "$T/run-http.log"
check_stream "$KL_URL" cam-http

# --- TLS with a test CA (added to the system's trust by ca-path)
make_test_ca "$T"
start_kvs_local tls --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
graph "$T/tls.ini" "$T/in.h264" cam-tls "$KL_URL" "ca-path = $T/ca.pem"
"$VPIPE" run "$T/tls.ini" >"$T/run-tls.log" 2>&1 || { cat "$T/run-tls.log"; fail "TLS run failed"; }
expect_grep "every fragment acknowledged" "$T/run-tls.log"
check_stream "$KL_URL" cam-tls --ca-bundle "$T/ca.pem"

# --- TLS without the CA: refused with a clear message, non-zero exit
graph "$T/noca.ini" "$T/in.h264" cam-noca "$KL_URL"
if "$VPIPE" run "$T/noca.ini" >"$T/run-noca.log" 2>&1; then
	cat "$T/run-noca.log"
	fail "an untrusted certificate was accepted"
fi
expect_grep "not trusted" "$T/run-noca.log"
expect_grep "ca-path" "$T/run-noca.log"
echo "PASS"
