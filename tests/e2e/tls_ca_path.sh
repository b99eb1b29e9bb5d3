# ca-path means the same in the kvs and s3 sinks (common/tls.c): a PEM file
# or a directory of hashed CA names (openssl rehash) is trusted besides the
# system's store, for both modules; without it the test CA's server is
# refused with a message naming ca-path.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
need openssl
[ -f "$VPIPE_MODULE_PATH/s3.so" ] || skip "s3 module not built"
[ -f "$VPIPE_MODULE_PATH/kvs.so" ] || skip "kvs module not built"

# A test CA, a server certificate for 127.0.0.1, and the CA both as a file
# and as a directory under its hashed name.
make_test_ca "$T"
mkdir "$T/cadir"
cp "$T/ca.pem" "$T/cadir/$(openssl x509 -hash -noout -in "$T/ca.pem").0"

# --- s3 against an HTTPS stand-in
/usr/bin/python3 "$VPIPE_TOP/tests/e2e/s3_capture_server.py" "$T/port" \
	"$T/req.jsonl" "$T/srv.pem" "$T/srv.key" &
srv=$!
at_exit "kill $srv 2>/dev/null"
wait_for test -s "$T/port"
S3_URL="https://127.0.0.1:$(cat "$T/port")"

s3_graph() { # [s3 lines...]
	cat <<INI
[cam]
module = testsrc
width = 64
height = 48
framerate = 10
num-frames = 1
is-live = false

[img]
module = image
input = cam
interval = 200ms

[up]
module = s3
input = img
bucket = shots
endpoint = $S3_URL
access-key = AKIDEXAMPLE
secret-key = s3TestSecret0123456789
retry-delay = 50ms
retry-max-delay = 100ms
flush-timeout = 2s
INI
	printf '%s\n' "$@"
}

for how in file dir; do
	ca=$T/ca.pem
	[ $how = dir ] && ca=$T/cadir
	: >"$T/req.jsonl"
	s3_graph "ca-path = $ca" >"$T/s3-$how.ini"
	"$VPIPE" run "$T/s3-$how.ini" >"$T/s3-$how.log" 2>&1 ||
		{ cat "$T/s3-$how.log"; fail "s3 with ca-path $how failed"; }
	expect_eq "s3 objects stored with ca-path $how" \
		"$(grep -c '"PUT"' "$T/req.jsonl")" 1
done

: >"$T/req.jsonl"
s3_graph >"$T/s3-noca.ini"
"$VPIPE" run "$T/s3-noca.ini" >"$T/s3-noca.log" 2>&1 || true
expect_grep "certificate" "$T/s3-noca.log"
[ ! -s "$T/req.jsonl" ] || fail "s3 stored through an untrusted server"

# --- kvs against kvs-local over TLS, the CA as a directory (the file is
# kvs_stream.sh's case)
make_h264 "$T/in.h264" 2
start_kvs_local tls --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
graph "$T/kvs-dir.ini" "$T/in.h264" cam-dir "$KL_URL" "ca-path = $T/cadir"
"$VPIPE" run "$T/kvs-dir.ini" >"$T/kvs-dir.log" 2>&1 ||
	{ cat "$T/kvs-dir.log"; fail "kvs with a ca-path directory failed"; }
expect_grep "every fragment acknowledged" "$T/kvs-dir.log"
expect_eq "kvs fragments with ca-path dir" \
	"$(fragments "$KL_URL" cam-dir --ca-bundle "$T/ca.pem")" 2

# A ca-path that does not exist is named, not taken for "no extra CA".
graph "$T/kvs-bad.ini" "$T/in.h264" cam-bad "$KL_URL" "ca-path = $T/nothing.pem"
if "$VPIPE" run "$T/kvs-bad.ini" >"$T/kvs-bad.log" 2>&1; then
	cat "$T/kvs-bad.log"
	fail "a missing ca-path was accepted"
fi
expect_grep "ca-path" "$T/kvs-bad.log"
echo "PASS"
