# kvs sink with credentials from an IoT credentials provider stand-in
# (tests/e2e/iot_creds_server.py: mutual TLS, a test CA made here, the
# thing-name header checked, credentials expiring 6 s after each fetch):
#  1. the same keys each fetch, kvs-local checking the session token: they
#     are fetched again before they expire, the PutMedia connection goes on
#     with no gap, every picture once;
#  2. a new session token each fetch: the connection is rotated onto each
#     at a fragment boundary, every picture once;
#  5. the provider unreachable for 5 s mid-stream: the refresh is retried
#     and succeeds before the credentials expire, no gap;
#  3. a client certificate from another CA, and 4. a thing name the
#     provider refuses: a clear message and a non-zero exit.
# Secrets and tokens never appear in any log.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
need openssl
PY=/usr/bin/python3
TOKEN=IoTSessionTokenSecret42

# --- certificates: a CA for the provider and its device, and a rogue one
mkcert() { # NAME CN CA-NAME EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$2" 2>/dev/null
	printf '%s\n' "$4" >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.pem" -CAkey "$T/$3.key" \
		-CAcreateserial -days 2 -out "$T/$1.pem" -extfile "$T/$1.ext" 2>/dev/null
}
for ca in ca rogue-ca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$ca.key" -out "$T/$ca.pem" -days 2 -subj "/CN=vpipe test $ca" 2>/dev/null
done
mkcert server 127.0.0.1 ca "subjectAltName=IP:127.0.0.1,DNS:localhost"
mkcert device cam-iot ca "extendedKeyUsage=clientAuth"
mkcert rogue cam-iot rogue-ca "extendedKeyUsage=clientAuth"

start_iot() { # NAME [server args...]
	local name=$1
	shift
	rm -f "$T/$name.port"
	$PY "$VPIPE_TOP/tests/e2e/iot_creds_server.py" --port-file "$T/$name.port" \
		--cert "$T/server.pem" --key "$T/server.key" --client-ca "$T/ca.pem" \
		--alias kvs-role --thing cam-iot --access-key "$AWS_ACCESS_KEY_ID" \
		--secret-key "$AWS_SECRET_ACCESS_KEY" --token "$TOKEN" --lifetime 6 \
		"$@" 2>"$T/$name.iot.log" &
	IOT_PID=$!
	at_exit "kill $IOT_PID 2>/dev/null; wait $IOT_PID 2>/dev/null"
	wait_for test -s "$T/$name.port"
	IOT_EP=127.0.0.1:$(cat "$T/$name.port")
}
# Paths relative to $T (the sink runs there): the kernel's INI reader takes
# lines of at most 200 characters.
iot_spec() { # CERT-NAME [extra]
	echo "iot-certificate = iot-certificate,endpoint=$IOT_EP,cert-path=$1.pem,key-path=$1.key,ca-path=ca.pem,role-aliases=kvs-role${2:-}"
}
run_sink() { # NAME (graph in $T/NAME.ini)
	cd "$T" && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		"$VPIPE" run "$T/$1.ini" >"$T/run-$1.log" 2>&1
}
no_secrets() {
	for f in "$T"/*.log; do
		no_sanitizer_report "$f"
		! grep -q "$TOKEN\|$AWS_SECRET_ACCESS_KEY" "$f" || fail "a secret is in $f"
	done
	echo "ok: no secret in any log"
}
make_h264 "$T/in.h264" 12

# --- 1. same keys, refreshed before expiry, one connection, token checked
start_iot same
start_kvs_local same --session-token "$TOKEN"
LIVE=1 graph "$T/same.ini" "$T/in.h264" cam-iot "$KL_URL" "$(iot_spec device)"
run_sink same || { cat "$T/run-same.log"; fail "same: run failed"; }
expect_grep "IoT credentials provider" "$T/run-same.log"
expect_grep "every fragment acknowledged" "$T/run-same.log"
n=$(grep -c '^fetch' "$T/same.iot.log")
[ "$n" -ge 4 ] || { cat "$T/same.iot.log"; fail "credentials fetched $n times in 12 s (lifetime 6 s)"; }
echo "ok: credentials fetched $n times"
! grep -q "expired" "$T/run-same.log" || fail "credentials were let expire"
expect_grep "putmedia_requests_total=1 " "$T/run-same.log"
! grep -qiE "token|-> 403" "$T/same.log" || { cat "$T/same.log"; fail "kvs-local refused a token"; }
AWS_SESSION_TOKEN=$TOKEN get_media "$KL_URL" cam-iot "$T/same.mkv"
same_frames "$T/in.h264" "$T/same.mkv"

# --- 2. a new token each fetch: rotation at fragment boundaries
start_iot rot --token-per-fetch
start_kvs_local rot
LIVE=1 graph "$T/rot.ini" "$T/in.h264" cam-iot "$KL_URL" "$(iot_spec device)"
run_sink rot || { cat "$T/run-rot.log"; fail "rot: run failed"; }
expect_grep "rotating the PutMedia connection.*new credentials" "$T/run-rot.log"
expect_grep "every fragment acknowledged" "$T/run-rot.log"
reqs=$(grep -o 'putmedia_requests_total=[0-9]*' "$T/run-rot.log" | tail -1 | cut -d= -f2)
[ "${reqs:-0}" -ge 3 ] || fail "expected a rotation per fetch, putmedia_requests_total=${reqs:-none}"
echo "ok: $reqs PutMedia requests"
get_media "$KL_URL" cam-iot "$T/rot.mkv"
same_frames "$T/in.h264" "$T/rot.mkv"

# --- 5. the provider away from 2 s to 7 s with credentials good for 10 s:
# they carry the stream, the refresh due at 5 s is retried (after a quarter
# of their remaining life, here 1 s) and succeeds before they expire; no
# gap, one connection
start_iot away --lifetime 10
start_kvs_local away --session-token "$TOKEN"
LIVE=1 graph "$T/away.ini" "$T/in.h264" cam-iot "$KL_URL" "$(iot_spec device)"
run_sink away &
sink=$!
sleep 2
kill "$IOT_PID"
wait "$IOT_PID" 2>/dev/null || true
sleep 5
start_iot away2 --lifetime 10 --port "${IOT_EP#*:}"
wait "$sink" || { cat "$T/run-away.log"; fail "away: run failed"; }
fails=$(grep -c "warn .*credentials (IoT credentials provider" "$T/run-away.log" || true)
[ "$fails" -ge 1 ] && [ "$fails" -le 4 ] ||
	{ cat "$T/run-away.log"; fail "away: $fails refresh failures logged, want 1-4"; }
echo "ok: $fails failed refreshes while the provider was away"
! grep -q "expired" "$T/run-away.log" || fail "away: credentials were let expire"
expect_grep "putmedia_requests_total=1 " "$T/run-away.log"
expect_grep "every fragment acknowledged" "$T/run-away.log"
[ "$(grep -c '^fetch' "$T/away2.iot.log")" -ge 1 ] || fail "away: no fetch after the provider came back"
AWS_SESSION_TOKEN=$TOKEN get_media "$KL_URL" cam-iot "$T/away.mkv"
same_frames "$T/in.h264" "$T/away.mkv"

# --- 3. a client certificate the provider does not trust
start_iot rogue
graph "$T/rogue.ini" "$T/in.h264" cam-iot "$KL_URL" "$(iot_spec rogue)"
if run_sink rogue; then cat "$T/run-rogue.log"; fail "rogue: run succeeded"; fi
no_sanitizer_report "$T/run-rogue.log"
expect_grep "TLS handshake refused" "$T/rogue.iot.log"
expect_grep "cert-path rogue.pem" "$T/run-rogue.log"

# --- 4. a thing name the provider refuses
start_iot thing
graph "$T/thing.ini" "$T/in.h264" cam-iot "$KL_URL" "$(iot_spec device ,iot-thing-name=other-thing)"
if run_sink thing; then cat "$T/run-thing.log"; fail "thing: run failed"; fi
no_sanitizer_report "$T/run-thing.log"
expect_grep "HTTP 403" "$T/run-thing.log"
expect_grep "other-thing" "$T/run-thing.log"
no_secrets
echo "PASS"
