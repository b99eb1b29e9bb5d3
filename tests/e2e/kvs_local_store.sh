#!/usr/bin/env bash
# kvs-local keeps to the service's rules and its own storage promises:
#  - a PutMedia whose body goes silent is ended with an ERROR ack its client
#    reads (--putmedia-idle-timeout), and the stream's next producer gets in;
#  - names, ARNs, tags and tokens at their length limits work, one past is
#    InvalidArgumentException, and NUL or another control character is
#    refused (never cut: "a\u0000b" does not create "a");
#  - a 256-character stream name is stored, read back and survives a
#    restart;
#  - what a killed run leaves (a partial .incoming-* fragment, a torn
#    index record, a fragment file the index never got) is cleaned at
#    start, logged, and the stream still serves what was acknowledged.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
LOAD="$VPIPE_TOP/tests/e2e/kvs_local_load.py"
call() { $PY "$CLIENT" call "$EP" "$@"; }
# expect_status WANT OP JSON: the call answers WANT ("200", "400 Invalid...")
expect_status() {
	local want=$1 out
	shift
	out=$(call "$@")
	[[ $out == "$want"* ]] || fail "$1 $2: got '${out:0:300}', want '$want'"
	echo "ok: ${1} ${2:0:60}... -> $want"
}
long() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }

start_kvs_local --putmedia-idle-timeout 2000 --idle-interval 500

# --- idle PutMedia -------------------------------------------------------
expect_status 200 createStream '{"StreamName":"idle","DataRetentionInHours":1}'
$PY "$LOAD" idle "$EP" idle >"$T/idle.out" || { cat "$T/idle.out"; fail "idle PutMedia not ended"; }
grep -q '"ErrorId": 4000' "$T/idle.out" || { cat "$T/idle.out"; fail "no ERROR 4000 ack"; }
grep -q '"EventType": "PERSISTED"' "$T/idle.out" || fail "the complete fragment was not stored"
expect_grep 'no body byte for 2000 ms' "$KVS_LOG"
echo "ok: a silent PutMedia ends with ERROR 4000 STREAM_READ_ERROR"
$PY "$LOAD" stream "$EP" idle 2 1 >"$T/next.out" || { cat "$T/next.out"; fail "the next producer was locked out"; }
echo "ok: the stream's next producer is served"

# --- names and values at the service's limits ----------------------------
n256=$(long 256 n)
expect_status 200 createStream "{\"StreamName\":\"$n256\",\"DataRetentionInHours\":1,\"DeviceName\":\"$(long 128 d)\",\"MediaType\":\"video/h264,audio/aac\",\"Tags\":{\"$(long 128 k)\":\"$(long 256 v)\"}}"
expect_status "400 InvalidArgumentException" createStream "{\"StreamName\":\"$(long 257 n)\"}"
expect_status "400 InvalidArgumentException" createStream "{\"StreamName\":\"x\",\"DeviceName\":\"$(long 129 d)\"}"
expect_status "400 InvalidArgumentException" createStream '{"StreamName":""}'
expect_status "400 InvalidArgumentException" createStream '{"StreamName":"a\u0000b"}'
expect_status "400 InvalidArgumentException" createStream '{"StreamName":"a\u0001b"}'
expect_status "400 InvalidArgumentException" createStream '{"StreamName":"a\nb"}'
expect_status "400 InvalidArgumentException" createStream '{"StreamName":"a b"}'
expect_status "400 InvalidArgumentException" createStream '{"StreamName":"ok1","MediaType":"video"}'
expect_status "400 InvalidArgumentException" createStream '{"StreamName":"ok1","KmsKeyId":"k\u0000"}'
expect_status "400 SerializationException" createStream '{"StreamName":5}'
call listStreams '{}' >"$T/list.out"
grep -q '"StreamName": *"a"' "$T/list.out" && fail "a\\u0000b created stream a"
expect_status "400 InvalidArgumentException" describeStream '{"StreamName":"idle\u0000x"}'
# a key holding NUL is not the key before it
expect_status "400 InvalidArgumentException" describeStream '{"StreamName\u0000x":"idle"}'
expect_status 200 describeStream "{\"StreamName\":\"$n256\"}"
arn=$(call describeStream "{\"StreamName\":\"$n256\"}" | sed 's/.*"StreamARN": *"\([^"]*\)".*/\1/')
[ "${#arn}" -gt 256 ] || fail "no ARN for the 256-character stream: $arn"
expect_status 200 listTagsForStream "{\"StreamARN\":\"$arn\"}"
expect_status "400 InvalidArgumentException" describeStream "{\"StreamARN\":\"$arn/x\"}"
expect_status "400 InvalidArgumentException" describeStream "{\"StreamARN\":\"$(long 1025 a)\"}"
# tags: key 1-128, value 0-256, letters/digits/space/_.:/=+-@ (and Unicode letters)
expect_status 200 tagStream "{\"StreamName\":\"idle\",\"Tags\":{\"caf\u00e9 k:=+-@/.\":\"\",\"x\":\"\u00fc\"}}"
expect_status "400 InvalidArgumentException" tagStream "{\"StreamName\":\"idle\",\"Tags\":{\"$(long 129 k)\":\"v\"}}"
expect_status "400 InvalidArgumentException" tagStream "{\"StreamName\":\"idle\",\"Tags\":{\"k\":\"$(long 257 v)\"}}"
expect_status "400 InvalidArgumentException" tagStream '{"StreamName":"idle","Tags":{"k":"a\u0000b"}}'
expect_status "400 InvalidArgumentException" tagStream '{"StreamName":"idle","Tags":{"k\u0000":"v"}}'
expect_status "400 InvalidArgumentException" tagStream '{"StreamName":"idle","Tags":{"k":"a\tb"}}'
expect_status "400 InvalidArgumentException" tagStream '{"StreamName":"idle","Tags":{"k":"a#b"}}'
expect_status "400 InvalidArgumentException" deleteStream "{\"StreamARN\":\"$arn\",\"CurrentVersion\":\"$(long 65 1)\"}"
expect_status "400 InvalidArgumentException" listStreams "{\"NextToken\":\"$(long 513 1)\"}"
expect_status "400 InvalidArgumentException" listFragments '{"StreamName":"idle","NextToken":"a b"}'
expect_status "400 InvalidArgumentException" getMedia '{"StreamName":"idle","StartSelector":{"StartSelectorType":"FRAGMENT_NUMBER","AfterFragmentNumber":"12a"}}'
expect_status "400 InvalidArgumentException" getMediaForFragmentList '{"StreamName":"idle","Fragments":["1\u0000"]}'
expect_status "400 InvalidArgumentException" listStreams '{"StreamNameCondition":{"ComparisonOperator":"BEGINS_WITH","ComparisonValue":"a\u0000"}}'

# PutMedia and read back on the 256-character stream
$PY "$LOAD" stream "$EP" "$n256" 3 1 >"$T/long.out" || { cat "$T/long.out"; fail "PutMedia to a 256-character name"; }
call listFragments "{\"StreamName\":\"$n256\"}" >"$T/lf.out"
nfrag=$(grep -o FragmentNumber "$T/lf.out" | wc -l)
[ "$nfrag" -ge 2 ] || { cat "$T/lf.out"; fail "fragments of the 256-character stream: $nfrag"; }
echo "ok: a 256-character stream holds $nfrag fragments"
# ListFragments pages: NextToken continues where the page ended
call listFragments "{\"StreamName\":\"$n256\",\"MaxResults\":1}" >"$T/p1.out"
token=$(sed -n 's/.*"NextToken": *"\([^"]*\)".*/\1/p' "$T/p1.out")
[ -n "$token" ] || { cat "$T/p1.out"; fail "no NextToken after one of $nfrag fragments"; }
call listFragments "{\"StreamName\":\"$n256\",\"MaxResults\":1,\"NextToken\":\"$token\"}" >"$T/p2.out"
f1=$(grep -o '"FragmentNumber":"[0-9]*"' "$T/p1.out")
f2=$(grep -o '"FragmentNumber":"[0-9]*"' "$T/p2.out")
[ -n "$f2" ] && [ "$f1" != "$f2" ] || fail "second page: '$f2' after '$f1'"
echo "ok: ListFragments pages with NextToken"
# PutMedia headers follow the same rules
$PY "$LOAD" stream "$EP" "$(long 257 n)" 1 1 >"$T/bad.out" 2>&1 && fail "PutMedia to a 257-character name accepted"
expect_grep "at 'x-amzn-stream-name' failed to satisfy constraint" "$KVS_LOG"
stop_kvs_local

# --- a killed run's leftovers are cleaned at start -----------------------
sdir=$(ls -d "$T"/data/streams/idle)
echo torn >"$sdir/f/.incoming-0x1234"
echo stray >"$sdir/f/999999999999999999999.mkv"
seg=$(ls "$sdir"/i/*.idx | sort -V | tail -n 1)
size=$(stat -c %s "$seg")
printf 'half a record' >>"$seg"
start_kvs_local
expect_grep 'removed 1 partial fragment files (.incoming-\*)' "$KVS_LOG"
expect_grep 'removed 1 fragment files the index does not hold' "$KVS_LOG"
expect_grep 'cut 13 bytes of a torn index record' "$KVS_LOG"
[ ! -e "$sdir/f/.incoming-0x1234" ] || fail ".incoming file left"
[ "$(stat -c %s "$seg")" = "$size" ] || fail "torn record not cut"
call listFragments '{"StreamName":"idle"}' | grep -q FragmentNumber || fail "fragments lost at restart"
expect_status 200 describeStream "{\"StreamName\":\"$n256\"}"
$PY "$LOAD" stream "$EP" idle 2 1 >"$T/after.out" || { cat "$T/after.out"; fail "PutMedia after the clean-up"; }
echo "ok: leftovers of a killed run cleaned; the 256-character stream reloaded"
stop_kvs_local
echo PASS
