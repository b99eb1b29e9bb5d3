#!/usr/bin/env bash
# kvs-local enforces the service's documented request limits (kvs-facts
# part1 §4): stream-level TPS (DescribeStream 5/s) and fragment credits
# (GetMediaForFragmentList 500/s) answer ClientLimitExceededException;
# more than 5 concurrent GetMediaForFragmentList or 3 GetMedia on a stream
# answer ConnectionLimitExceededException; --no-rate-limits lifts the TPS
# limits. A reader that takes nothing is dropped after --write-timeout.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
start_kvs_local --write-timeout 2000
$PY "$CLIENT" call "$EP" createStream '{"StreamName":"lim","DataRetentionInHours":1}' |
	grep -q '^200' || fail "createStream"

# 10 DescribeStream in one go on one connection each: 5 pass, then throttled
$PY "$CLIENT" burst "$EP" describeStream '{"StreamName":"lim"}' 10 >"$T/burst.out"
cat "$T/burst.out"
ok=$(grep -c '^200' "$T/burst.out" || true)
thr=$(grep -c '^400 ClientLimitExceededException' "$T/burst.out" || true)
# 5 tokens, plus one per 200 ms the burst took on a loaded machine
[ "$ok" -ge 5 ] && [ "$ok" -le 7 ] || fail "$ok DescribeStream passed, want 5 (to 7 if tokens refilled)"
[ $((ok + thr)) = 10 ] || fail "$ok passed and $thr throttled of 10"
expect_grep 'over its limit of 5 describeStream calls per second' "$KVS_LOG"
sleep 1.2 # the bucket refills
$PY "$CLIENT" call "$EP" describeStream '{"StreamName":"lim"}' | grep -q '^200' ||
	fail "DescribeStream still throttled after a second"

# fragments for the read side: 3 fragments of ~3 MB each
$PY "$CLIENT" mkv big-fragments "$T/big.mkv"
$PY "$CLIENT" putmedia "$EP" lim "$T/big.mkv" --expect-fragments 3 --seconds 0.5 \
	>"$T/put.out" || { cat "$T/put.out"; fail "PutMedia"; }
frags=$($PY "$CLIENT" call "$EP" listFragments '{"StreamName":"lim"}' |
	sed 's/^200 *//' | /usr/bin/python3 -c '
import json,sys
f=[x["FragmentNumber"] for x in json.load(sys.stdin)["Fragments"]]
print(json.dumps(sorted(f)*2))')
echo "fragments: $frags"

# 6 GetMediaForFragmentList that read nothing: 5 are served (and stall
# in the server's writes), the 6th is refused
$PY "$CLIENT" hold "$EP" getMediaForFragmentList \
	"{\"StreamName\":\"lim\",\"Fragments\":$frags}" 6 10 >"$T/hold.out"
cat "$T/hold.out"
expect_eq "GetMediaForFragmentList served" "$(grep -c '^200' "$T/hold.out")" 5
expect_grep '^400 ConnectionLimitExceededException' "$T/hold.out"
# the stalled readers are dropped after --write-timeout, the slots free up
wait_for grep -q 'took nothing for 2000 ms, dropped' "$KVS_LOG"
sleep 1
$PY "$CLIENT" burst "$EP" getMediaForFragmentList \
	"{\"StreamName\":\"lim\",\"Fragments\":$frags}" 1 | grep -q '^200' ||
	fail "GetMediaForFragmentList refused after the stalled readers left"
# fragment credits: 500/s per stream; 1000-fragment lists overdraw them
many=$(/usr/bin/python3 -c "import json; print(json.dumps(json.loads('$frags')[:1]*1000))")
$PY "$CLIENT" burst "$EP" getMediaForFragmentList \
	"{\"StreamName\":\"lim\",\"Fragments\":$many}" 2 >"$T/credits.out"
cat "$T/credits.out"
expect_grep '^400 ClientLimitExceededException' "$T/credits.out"

# 4 GetMedia that read nothing: the 4th is refused
$PY "$CLIENT" hold "$EP" getMedia \
	'{"StreamName":"lim","StartSelector":{"StartSelectorType":"EARLIEST"}}' 4 >"$T/gm.out"
cat "$T/gm.out"
expect_eq "GetMedia served" "$(grep -c '^200' "$T/gm.out")" 3
expect_grep '^400 ConnectionLimitExceededException' "$T/gm.out"
stop_kvs_local

# --no-rate-limits: the same burst all passes
start_kvs_local --no-rate-limits
$PY "$CLIENT" burst "$EP" describeStream '{"StreamName":"lim"}' 10 >"$T/free.out"
expect_eq "DescribeStream without limits" "$(grep -c '^200' "$T/free.out")" 10
stop_kvs_local
echo PASS
