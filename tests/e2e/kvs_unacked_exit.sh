# A stream that ends with fragments the service never acknowledged is not a
# success: the sink waits stop-stream-timeout (and the stop waits for it,
# beyond the pipeline's default drain-timeout), reports what is left, and
# `vpipe run` exits non-zero.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
make_h264 "$T/in.h264" 3
start_kvs_local slow --ack-delay 15000
STOP_TIMEOUT=7s graph "$T/g.ini" "$T/in.h264" cam-unacked "$KL_URL"
start=$(date +%s)
rc=0
"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 || rc=$?
took=$(($(date +%s) - start))
cat "$T/run.log"
no_sanitizer_report "$T/run.log"
[ "$rc" -ne 0 ] || fail "exit status 0 with unacknowledged fragments"
expect_grep "not acknowledged" "$T/run.log"
expect_grep "could not deliver everything at end of stream" "$T/run.log"
# it waited the whole stop-stream-timeout (7 s > the 5 s drain default)
[ "$took" -ge 7 ] || fail "gave up after ${took}s, stop-stream-timeout is 7 s"
echo "ok: exit $rc after ${took}s"
