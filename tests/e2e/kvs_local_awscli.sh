#!/usr/bin/env bash
# vpipe kvs-local against the real AWS CLI: control plane, then media put by
# a botocore-signed PutMedia client comes back through get-media,
# list-fragments and get-media-for-fragment-list with every frame.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
need /usr/bin/aws ffmpeg ffprobe
start_kvs_local

AWS kinesisvideo create-stream --stream-name cam1 --data-retention-in-hours 2 \
	--media-type video/h264 --tags site=lab >"$T/create.json"
expect_grep 'arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam1/' "$T/create.json"
AWS kinesisvideo describe-stream --stream-name cam1 >"$T/describe.json"
expect_grep '"Status": "ACTIVE"' "$T/describe.json"
expect_grep '"DataRetentionInHours": 2' "$T/describe.json"
AWS kinesisvideo list-streams >"$T/list.json"
expect_grep '"StreamName": "cam1"' "$T/list.json"
AWS kinesisvideo list-tags-for-stream --stream-name cam1 >"$T/tags.json"
expect_grep '"site": "lab"' "$T/tags.json"
AWS kinesisvideo get-data-endpoint --stream-name cam1 --api-name PUT_MEDIA >"$T/ep.json"
DATA_EP=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["DataEndpoint"])' "$T/ep.json")
expect_eq "data endpoint" "$DATA_EP" "$EP"
if AWS kinesisvideo create-stream --stream-name cam1 2>"$T/dup.err"; then
	fail "second create-stream succeeded"
fi
expect_grep ResourceInUseException "$T/dup.err"
if AWS kinesisvideo describe-stream --stream-name nope 2>"$T/nf.err"; then
	fail "describe-stream of a missing stream succeeded"
fi
expect_grep ResourceNotFoundException "$T/nf.err"

# media in: 4 s at 15 fps, a fragment per second
make_clip "$T/clip.mkv" 4
want=$(count_frames "$T/clip.mkv")
expect_eq "frames in the clip" "$want" 60
$PY "$CLIENT" putmedia "$DATA_EP" cam1 "$T/clip.mkv" --expect-fragments 4 \
	>"$T/put.out" || { cat "$T/put.out"; fail "PutMedia"; }
tail -n 1 "$T/put.out"

# media out through the AWS CLI
AWS kinesis-video-media get-media --stream-name cam1 \
	--start-selector StartSelectorType=EARLIEST "$T/got.mkv" >/dev/null
expect_eq "get-media frames" "$(count_frames "$T/got.mkv")" "$want"
mkvinfo "$T/got.mkv" >"$T/got.info" || fail "mkvinfo rejects get-media output"
expect_grep AWS_KINESISVIDEO_FRAGMENT_NUMBER "$T/got.info"
ffmpeg -v error -i "$T/clip.mkv" -f framemd5 - | grep -v '^#' | cut -d, -f6 >"$T/in.md5"
ffmpeg -v error -i "$T/got.mkv" -f framemd5 - | grep -v '^#' | cut -d, -f6 >"$T/out.md5"
cmp -s "$T/in.md5" "$T/out.md5" || fail "decoded pictures differ"
echo "ok: every picture identical"

AWS kinesis-video-archived-media list-fragments --stream-name cam1 >"$T/frags.json"
nums=$(/usr/bin/python3 -c '
import json,sys
f=json.load(open(sys.argv[1]))["Fragments"]
assert all(x["FragmentSizeInBytes"]>0 and x["FragmentLengthInMilliseconds"]>=900 for x in f), f
print(" ".join(x["FragmentNumber"] for x in f))' "$T/frags.json")
expect_eq "fragments listed" "$(echo $nums | wc -w)" 4
# the last two fragments only
set -- $nums
AWS kinesis-video-archived-media get-media-for-fragment-list --stream-name cam1 \
	"$T/two.mkv" --fragments "$3" "$4" >/dev/null
expect_eq "get-media-for-fragment-list frames" "$(count_frames "$T/two.mkv")" 30
# start at a fragment number, and at a producer timestamp
AWS kinesis-video-media get-media --stream-name cam1 \
	--start-selector "StartSelectorType=FRAGMENT_NUMBER,AfterFragmentNumber=$2" \
	"$T/from2.mkv" >/dev/null
expect_eq "get-media from fragment 2 frames" "$(count_frames "$T/from2.mkv")" 45
# botocore sends whole seconds: take the first second inside fragment 4
ts=$(/usr/bin/python3 -c '
import json,sys,math,datetime
f=json.load(open(sys.argv[1]))["Fragments"]
t=datetime.datetime.fromisoformat(f[3]["ProducerTimestamp"]).timestamp()
print(math.ceil(t))' "$T/frags.json")
AWS kinesis-video-media get-media --stream-name cam1 \
	--start-selector "StartSelectorType=PRODUCER_TIMESTAMP,StartTimestamp=$ts" \
	"$T/last.mkv" >/dev/null
expect_eq "get-media from the last producer timestamp" "$(count_frames "$T/last.mkv")" 15

# signatures: a wrong secret and a tampered body are refused with 403
if AWS_SECRET_ACCESS_KEY=wrong AWS kinesisvideo list-streams 2>"$T/sig.err"; then
	fail "wrong secret accepted"
fi
expect_grep InvalidSignatureException "$T/sig.err"
$PY "$CLIENT" call "$EP" describeStream '{"StreamName":"cam1"}' >"$T/call.out"
expect_grep '^200 ' "$T/call.out"
$PY "$CLIENT" call "$EP" describeStream '{"StreamName":"cam1"}' --tamper >"$T/tamper.out"
expect_grep '^403 InvalidSignatureException' "$T/tamper.out"
expect_grep 'expected canonical request' "$KVS_LOG"

AWS kinesisvideo delete-stream --stream-arn "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["StreamARN"])' "$T/create.json")"
AWS kinesisvideo list-streams >"$T/list2.json"
grep -q cam1 "$T/list2.json" && fail "stream still listed after delete-stream"
stop_kvs_local
echo PASS
