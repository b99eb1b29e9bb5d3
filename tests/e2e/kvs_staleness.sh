# kvs sink against a PutMedia connection that goes silent (kvs-local's
# one-shot --stall-acks-after fault: after 6 ACKs, the third fragment's
# BUFFERING, the server neither reads nor answers for 5 s, then closes):
# connection-staleness makes the sink give up on it and reconnect, and
# GetMedia returns every picture once, in order.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 10
start_kvs_local stall --stall-acks-after 6 --stall-for 5000
LIVE=1 graph "$T/g.ini" "$T/in.h264" cam-stall "$KL_URL" \
	"connection-staleness = 2s"
"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "run failed"; }
expect_grep "stalling after 6 ACKs" "$T/stall.log"
expect_grep "connection stale: data sent but no ACK" "$T/run.log"
expect_grep "every fragment acknowledged" "$T/run.log"
reqs=$(grep -o 'putmedia_requests_total=[0-9]*' "$T/run.log" | tail -1 | cut -d= -f2)
[ "${reqs:-0}" -ge 2 ] || fail "expected a reconnect, putmedia_requests_total=${reqs:-none}"
echo "ok: $reqs PutMedia requests"
get_media "$KL_URL" cam-stall "$T/out.mkv"
same_frames "$T/in.h264" "$T/out.mkv"
expect_eq "fragments (one per GOP)" "$(fragments "$KL_URL" cam-stall)" 10
echo "PASS"
