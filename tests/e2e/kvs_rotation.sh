# kvs sink rotating its PutMedia connection before the service's 45-minute
# limit, here after max-connection-duration = 5 s over a 15 s live stream:
# several PutMedia requests, each ended at a fragment boundary, never two at
# once (kvs-local refuses a second PutMedia on a stream), and GetMedia
# returns every picture once, in order, one fragment per GOP.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 15
start_kvs_local rot
LIVE=1 graph "$T/g.ini" "$T/in.h264" cam-rot "$KL_URL" \
	"max-connection-duration = 5s"
"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "run failed"; }
expect_grep "rotating the PutMedia connection.*max-connection-duration" "$T/run.log"
expect_grep "every fragment acknowledged" "$T/run.log"
reqs=$(grep -o 'putmedia_requests_total=[0-9]*' "$T/run.log" | tail -1 | cut -d= -f2)
[ "${reqs:-0}" -ge 3 ] || fail "expected at least 3 PutMedia requests, got ${reqs:-none}"
echo "ok: $reqs PutMedia requests"
! grep -q "ConnectionLimitExceeded\|stale\|ConnectionErrors=[1-9]" "$T/run.log" ||
	fail "rotation overlapped connections or failed"
! grep -q "in the middle of a fragment\|connection lost" "$T/rot.log" ||
	fail "a connection ended mid-fragment"
ended=$(grep -c "PutMedia ended" "$T/rot.log")
expect_eq "PutMedia bodies ended cleanly" "$ended" "$reqs"
get_media "$KL_URL" cam-rot "$T/out.mkv"
same_frames "$T/in.h264" "$T/out.mkv"
expect_eq "fragments (one per GOP)" "$(fragments "$KL_URL" cam-rot)" 15
echo "PASS"
