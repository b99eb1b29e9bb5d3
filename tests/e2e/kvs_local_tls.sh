#!/usr/bin/env bash
# kvs-local over TLS with a self-signed certificate: the AWS CLI and the
# PutMedia client trust it through a CA bundle and round-trip media.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
need openssl ffmpeg /usr/bin/aws
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" \
	-out "$T/cert.pem" 2>/dev/null
start_kvs_local --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
[[ $EP == https://* ]] || fail "endpoint $EP is not https"
export AWS_CA_BUNDLE="$T/cert.pem" KVS_CA="$T/cert.pem"
AWS kinesisvideo create-stream --stream-name tls1 --data-retention-in-hours 1 >/dev/null
make_clip "$T/clip.mkv" 2
$PY "$CLIENT" putmedia "$EP" tls1 "$T/clip.mkv" --expect-fragments 2 >"$T/put.out" ||
	{ cat "$T/put.out"; fail "PutMedia over TLS"; }
AWS kinesis-video-media get-media --stream-name tls1 \
	--start-selector StartSelectorType=EARLIEST "$T/got.mkv" >/dev/null
expect_eq "frames over TLS" "$(count_frames "$T/got.mkv")" 30
# a plain-HTTP client is refused by the TLS handshake, the server lives on
curl -s -m 5 "http://${EP#https://}/listStreams" >/dev/null 2>&1 || true
expect_grep 'TLS handshake failed' "$KVS_LOG"
AWS kinesisvideo list-streams | grep -q tls1 || fail "server gone after a bad handshake"
stop_kvs_local
echo PASS
