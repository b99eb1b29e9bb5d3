#!/usr/bin/env bash
# The s3 module's requests, captured on the wire, carry the same
# Authorization header as botocore's S3 signer computes for them (payload
# hash and UNSIGNED-PAYLOAD, session token, metadata headers, keys that
# need encoding); S3 error answers are reported with the bucket, the key
# and the S3 error code, retried or dropped as they deserve, and the
# secret key never appears in the log.
source "$VPIPE_TOP/tests/lib.sh"
/usr/bin/python3 -c 'import botocore' 2>/dev/null || skip "needs python3-botocore"
export VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH:$VPIPE_TOP/$BUILD/tests"
[ -f "$VPIPE_TOP/$BUILD/tests/tagger.so" ] || skip "needs $BUILD/tests/tagger.so"
SECRET='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

/usr/bin/python3 "$VPIPE_TOP/tests/e2e/s3_capture_server.py" "$T/port" "$T/req.jsonl" &
srv=$!
at_exit "kill $srv 2>/dev/null"
wait_for test -s "$T/port"
URL="http://127.0.0.1:$(cat "$T/port")"

# graph BUCKET [s3 lines...]
graph() {
	local bucket=$1
	shift
	cat <<INI
[cam]
module = testsrc
width = 64
height = 48
framerate = 10
num-frames = 5
is-live = false

[app]
module = tagger
input = cam
every = 1
tags = Site Name=lab,motion=yes

[img]
module = image
input = app
interval = 200ms
stream-name = front door

[up]
module = s3
input = img
bucket = $bucket
endpoint = $URL
access-key = AKIDEXAMPLE
secret-key = $SECRET
session-token = FQoGZXIvYXdzEXAMPLETOKEN
account-id = 111122223333
retry-delay = 50ms
retry-max-delay = 200ms
flush-timeout = 2s
INI
	printf '%s\n' "$@"
}

graph snaps "notify = true" "key-template = a b/{stream}+{seq}~{rand-hex}.{ext}" >"$T/a.ini"
"$VPIPE" run "$T/a.ini" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "vpipe run"; }
graph snaps "sign-payload = false" >"$T/b.ini"
"$VPIPE" run "$T/b.ini" >"$T/b.log" 2>&1 || { cat "$T/b.log"; fail "vpipe run (unsigned)"; }
n=$(wc -l <"$T/req.jsonl")
# 3 pictures + 3 events, then 3 pictures unsigned
expect_eq "requests captured" "$n" 9
grep -q '"x-amz-meta-site-name", "lab"' "$T/req.jsonl" || fail "metadata header missing"
grep -q 'UNSIGNED-PAYLOAD' "$T/req.jsonl" || fail "no UNSIGNED-PAYLOAD request"
grep -q '/snaps/a%20b/front%20door%2B0~' "$T/req.jsonl" || fail "key not encoded as S3 signs it"
/usr/bin/python3 "$VPIPE_TOP/tests/e2e/s3_client.py" sign-check "$T/req.jsonl" "$SECRET" >"$T/sign.log" 2>&1 ||
	{ cat "$T/sign.log"; fail "signatures differ from botocore's"; }
cat "$T/sign.log"
echo "ok: every request signed as botocore signs it"

# Errors: named with bucket, key and code; retried or dropped.
for case in "denied SignatureDoesNotMatch retrying" "nobucket NoSuchBucket retrying" \
	"toolarge EntityTooLarge object dropped" "slow SlowDown retrying"; do
	set -- $case
	bucket=$1 code=$2 what="${*:3}"
	graph "$bucket" "key-template = {stream}/{seq}.{ext}" >"$T/$bucket.ini"
	"$VPIPE" run "$T/$bucket.ini" >"$T/$bucket.log" 2>&1 || true
	expect_grep "PUT s3://$bucket/front door/0.jpg: HTTP [0-9]* $code" "$T/$bucket.log"
	expect_grep "$what" "$T/$bucket.log"
	if grep -qF "$SECRET" "$T/$bucket.log"; then fail "secret key in the log"; fi
done
# The throttled bucket got everything once SlowDown passed.
expect_grep "uploads to s3://slow work again" "$T/slow.log"
expect_grep "uploaded_objects_total=3" "$T/slow.log"
expect_grep "failed_objects_total=3" "$T/toolarge.log"
echo "ok: S3 errors named, retried or dropped; secret never logged"

# A refused session token from the INI is never renewed: the node fails
# with a message naming the token, instead of retrying it forever.
graph expired "key-template = {stream}/{seq}.{ext}" >"$T/expired.ini"
rc=0
timeout 60 "$VPIPE" run "$T/expired.ini" >"$T/expired.log" 2>&1 || rc=$?
[ "$rc" != 124 ] || { cat "$T/expired.log"; fail "a refused static token is still retried"; }
[ "$rc" != 0 ] || { cat "$T/expired.log"; fail "the run succeeded with a refused token"; }
expect_grep "HTTP 400 ExpiredToken.*refused the session token.*never renewed" "$T/expired.log"
! grep -q "retrying" "$T/expired.log" || { cat "$T/expired.log"; fail "the refused token was retried"; }
! grep -qF -e "$SECRET" -e FQoGZXIvYXdzEXAMPLETOKEN "$T/expired.log" || fail "a secret in the log"
echo "ok: a refused static session token fails the node"
