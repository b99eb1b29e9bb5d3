# kvs sink with temporary credentials from credential-path, rewritten
# mid-stream by "another process": the file is re-read, the connection is
# rotated onto the new token at a fragment boundary, no picture lost or
# duplicated, and the token never appears in the log.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 8
start_kvs_local creds
exp=$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)
echo "CREDENTIALS $AWS_ACCESS_KEY_ID $exp $AWS_SECRET_ACCESS_KEY TOKENONE1" >"$T/cred"
LIVE=1 graph "$T/g.ini" "$T/in.h264" cam-creds "$KL_URL" "credential-path = $T/cred"
(sleep 4; echo "CREDENTIALS $AWS_ACCESS_KEY_ID $exp $AWS_SECRET_ACCESS_KEY TOKENTWO2" >"$T/cred") &
rewriter=$!
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 ||
	{ cat "$T/run.log"; fail "run failed"; }
wait "$rewriter"
expect_grep "new credentials from credential-path" "$T/run.log"
expect_grep "rotating the PutMedia connection.*new credentials" "$T/run.log"
expect_grep "putmedia_requests_total=2" "$T/run.log"
expect_grep "every fragment acknowledged" "$T/run.log"
! grep -q "TOKENONE1\|TOKENTWO2\|$AWS_SECRET_ACCESS_KEY" "$T/run.log" || fail "a secret was logged"
get_media "$KL_URL" cam-creds "$T/out.mkv"
same_frames "$T/in.h264" "$T/out.mkv"
echo "PASS"
