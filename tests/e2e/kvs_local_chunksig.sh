#!/usr/bin/env bash
# kvs-local PutMedia with a chunk-signed body (X-Amz-Content-SHA256:
# STREAMING-AWS4-HMAC-SHA256-PAYLOAD, aws-chunked), signed by an independent
# signer: botocore signs the request (the seed), the client chains the chunk
# signatures with botocore's HMAC over the string to sign AWS documents.
# Every fragment is acknowledged and plays back whole; an altered chunk or
# two chunks swapped end the upload with ERROR 4000 and the log says why.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
need ffmpeg ffprobe /usr/bin/aws
start_kvs_local
for s in cs1 cs2 cs3; do
	$PY "$CLIENT" call "$EP" createStream \
		"{\"StreamName\":\"$s\",\"DataRetentionInHours\":1}" | grep -q '^200' ||
		fail "createStream $s"
done
make_clip "$T/clip.mkv" 3

$PY "$CLIENT" putmedia "$EP" cs1 "$T/clip.mkv" --chunk-signed 2048 \
	--expect-fragments 3 >"$T/ok.out" || { cat "$T/ok.out"; fail "chunk-signed PutMedia"; }
echo "ok: $(tail -n 1 "$T/ok.out")"
expect_grep 'aws-chunked body, chunk signatures verified' "$KVS_LOG"
AWS kinesis-video-media get-media --stream-name cs1 \
	--start-selector StartSelectorType=EARLIEST "$T/got.mkv" >/dev/null
expect_eq "frames back" "$(count_frames "$T/got.mkv")" 45

# chunk 3 altered after signing: refused at that chunk, nothing of it stored
$PY "$CLIENT" putmedia "$EP" cs2 "$T/clip.mkv" --chunk-signed 2048 \
	--tamper-chunk 3 --expect-error 4000 >"$T/tamper.out" ||
	{ cat "$T/tamper.out"; fail "tampered chunk not refused"; }
expect_grep 'chunk 3 at byte .*chunk-signature does not match' "$KVS_LOG"
# chunks 2 and 3 swapped: the chain breaks at the second chunk
$PY "$CLIENT" putmedia "$EP" cs3 "$T/clip.mkv" --chunk-signed 2048 \
	--swap-chunks 2 --expect-error 4000 >"$T/swap.out" ||
	{ cat "$T/swap.out"; fail "swapped chunks not refused"; }
expect_grep 'chunk 2 at byte .*does not match' "$KVS_LOG"
$PY "$CLIENT" call "$EP" listStreams '{}' | grep -q '^200' || fail "server stopped serving"
stop_kvs_local
echo PASS
