# kvs-local's playback APIs through the real AWS CLI: vpipe puts 6 s of
# H.264 (a fragment per second) into kvs-local; GetClip of fragments 2-4
# is an MP4 that ffprobe accepts and that decodes to exactly the source's
# pictures 30-119; an ON_DEMAND HLS session over the same range decodes to
# the same pictures through ffmpeg's HLS client; a LIVE session lists the
# newest fragments and follows a growing stream; a range of 205 fragments
# gives the first 200; the service's errors come back for bad ranges,
# tokens, and a codec private data change inside a clip.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
PY=/usr/bin/python3

make_h264 "$T/in.h264" 6
start_kvs_local play
graph "$T/play.ini" "$T/in.h264" cam "$KL_URL"
"$VPIPE" run "$T/play.ini" >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "run failed"; }
expect_grep "every fragment acknowledged" "$T/run.log"

A() { timeout 60 aws --region us-west-2 "$@"; }
# GetDataEndpoint answers for every playback API
for api in GET_CLIP GET_HLS_STREAMING_SESSION_URL GET_DASH_STREAMING_SESSION_URL GET_IMAGES; do
	ep=$(A kinesisvideo get-data-endpoint --endpoint-url "$KL_URL" \
		--stream-name cam --api-name $api --query DataEndpoint --output text)
	expect_eq "data endpoint for $api" "$ep" "$KL_URL"
done
EP=$ep

# fragments 2-4 (1-based) by producer time; botocore sends whole seconds,
# and fragments are 1 s apart: the range from the second fragment's start
# rounded down to the fourth's rounded up holds just those three
A kinesis-video-archived-media list-fragments --endpoint-url "$EP" \
	--stream-name cam --output json >"$T/frags.json"
read -r START END <<<"$($PY -c '
import json,sys,math,datetime
f=sorted(json.load(open(sys.argv[1]))["Fragments"],key=lambda x:x["ProducerTimestamp"])
assert len(f)==6, len(f)
t=lambda x: datetime.datetime.fromisoformat(x["ProducerTimestamp"]).timestamp()
print(math.floor(t(f[1])), math.ceil(t(f[3])))' "$T/frags.json")"
RANGE="TimestampRange={StartTimestamp=$START,EndTimestamp=$END}"

# the source's pictures 30-119 (fragments 2-4 of 30 pictures each)
ffmpeg -v error -i "$T/in.h264" -f framemd5 - | grep -v '^#' |
	awk -F, '{print $NF}' | sed -n 31,120p >"$T/want.md5"
expect_eq "pictures wanted" "$(wc -l <"$T/want.md5")" 90
pictures() { # SOURCE OUT: decoded pictures' MD5s
	ffmpeg -v error -i "$1" -map 0:v -f framemd5 - | grep -v '^#' |
		awk -F, '{print $NF}' >"$2"
}

# --- GetClip
A kinesis-video-archived-media get-clip --endpoint-url "$EP" --stream-name cam \
	--clip-fragment-selector "FragmentSelectorType=PRODUCER_TIMESTAMP,$RANGE" \
	"$T/clip.mp4" >"$T/clip.json"
expect_grep '"ContentType": "video/mp4"' "$T/clip.json"
ffprobe -v error -show_entries format=format_name -of csv=p=0 "$T/clip.mp4" \
	>"$T/probe.out" 2>"$T/probe.err" || fail "ffprobe rejects the clip"
[ -s "$T/probe.err" ] && { cat "$T/probe.err"; fail "ffprobe complains"; }
expect_grep mp4 "$T/probe.out"
pictures "$T/clip.mp4" "$T/clip.md5"
cmp -s "$T/want.md5" "$T/clip.md5" || fail "GetClip pictures differ from the source"
echo "ok: GetClip holds exactly the source's pictures 30-119"

# --- HLS, ON_DEMAND over the same range
A kinesis-video-archived-media get-hls-streaming-session-url --endpoint-url "$EP" \
	--stream-name cam --playback-mode ON_DEMAND --expires 300 \
	--hls-fragment-selector "FragmentSelectorType=PRODUCER_TIMESTAMP,$RANGE" \
	--query HLSStreamingSessionURL --output text >"$T/hls.url"
URL=$(cat "$T/hls.url")
case "$URL" in "$EP/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken="*) ;;
*) fail "session URL $URL" ;; esac
curl -sf "${URL/getHLSMasterPlaylist/getHLSMediaPlaylist}" >"$T/media.m3u8"
expect_eq "fragments in the VOD playlist" "$(grep -c getMP4MediaFragment.mp4 "$T/media.m3u8")" 3
expect_grep '#EXT-X-ENDLIST' "$T/media.m3u8"
expect_grep '#EXT-X-MAP:URI="getMP4InitFragment.mp4?SessionToken=' "$T/media.m3u8"
pictures "$URL" "$T/hls.md5"
cmp -s "$T/want.md5" "$T/hls.md5" || fail "HLS pictures differ from the source"
echo "ok: HLS ON_DEMAND plays exactly the source's pictures 30-119"
grep -q "${URL##*=}" "$T/play.log" && fail "the session token is in the log"

# LIVE_REPLAY from the second fragment on: an EVENT playlist that grows
# (no end while its end time has not passed), then one whose end passed
replay() { # RANGE OUT
	A kinesis-video-archived-media get-hls-streaming-session-url --endpoint-url "$EP" \
		--stream-name cam --playback-mode LIVE_REPLAY \
		--hls-fragment-selector "FragmentSelectorType=PRODUCER_TIMESTAMP,TimestampRange={$1}" \
		--query HLSStreamingSessionURL --output text >"$T/replay.url"
	local u
	u=$(cat "$T/replay.url")
	curl -sf "${u/getHLSMasterPlaylist/getHLSMediaPlaylist}" >"$2"
}
replay "StartTimestamp=$START" "$T/replay.m3u8"
expect_eq "fragments in the LIVE_REPLAY playlist" "$(grep -c getMP4MediaFragment.mp4 "$T/replay.m3u8")" 5
expect_grep '#EXT-X-PLAYLIST-TYPE:EVENT' "$T/replay.m3u8"
grep -q ENDLIST "$T/replay.m3u8" && fail "an open LIVE_REPLAY playlist ends"
replay "StartTimestamp=$START,EndTimestamp=$END" "$T/replay-end.m3u8"
expect_eq "fragments in the ended LIVE_REPLAY playlist" "$(grep -c getMP4MediaFragment.mp4 "$T/replay-end.m3u8")" 3
expect_grep '#EXT-X-ENDLIST' "$T/replay-end.m3u8"

# an unknown or altered token is refused; the URL is the only credential
code=$(curl -s -o /dev/null -w '%{http_code}' "${URL%?}0")
[ "${URL: -1}" = 0 ] && code=$(curl -s -o /dev/null -w '%{http_code}' "${URL%?}1")
expect_eq "altered token" "$code" 403

# --- errors as the service answers them
err() { # WANT CLI-ARGS...: the call fails with the error WANT
	local want=$1
	shift
	if A kinesis-video-archived-media "$@" --endpoint-url "$EP" --stream-name cam \
		>"$T/err.out" 2>"$T/err.txt"; then
		fail "$* succeeded"
	fi
	expect_grep "$want" "$T/err.txt"
}
err InvalidArgumentException get-hls-streaming-session-url --playback-mode ON_DEMAND \
	--hls-fragment-selector "FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=1000000000,EndTimestamp=1000090000}"
err InvalidArgumentException get-hls-streaming-session-url --playback-mode ON_DEMAND
err "MPEG_TS is not served by vpipe-kvs-local" get-hls-streaming-session-url --container-format MPEG_TS
err ResourceNotFoundException get-hls-streaming-session-url --playback-mode ON_DEMAND \
	--hls-fragment-selector "FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=1000000000,EndTimestamp=1000000100}"
err ResourceNotFoundException get-clip "$T/none.mp4" --clip-fragment-selector \
	"FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=1000000000,EndTimestamp=1000000100}"
err InvalidArgumentException get-clip "$T/none.mp4" --clip-fragment-selector \
	"FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=1000000100,EndTimestamp=1000000000}"

# --- a codec private data change inside the range is refused (GetClip)
ffmpeg -v error -y -f lavfi -i "testsrc=size=160x120:rate=30" -t 2 \
	-c:v libx264 -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
	-pix_fmt yuv420p -f h264 "$T/small.h264"
graph "$T/small.ini" "$T/small.h264" cam "$KL_URL"
"$VPIPE" run "$T/small.ini" >"$T/run2.log" 2>&1 || { cat "$T/run2.log"; fail "second run failed"; }
err InvalidCodecPrivateDataException get-clip "$T/cpd.mp4" --clip-fragment-selector \
	"FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=1000000000,EndTimestamp=$(($(date +%s) + 60))}"
# --- LIVE: the newest fragments, no end, and the first one moves on
# while a real-time producer runs
make_h264 "$T/live.h264" 30
LIVE=1 graph "$T/live.ini" "$T/live.h264" growing "$KL_URL"
"$VPIPE" run "$T/live.ini" >"$T/run-live.log" 2>&1 &
LIVE_PID=$!
at_exit "kill $LIVE_PID 2>/dev/null"
has_fragments() { [ "$(fragments "$EP" growing 2>/dev/null)" -ge "$1" ] 2>/dev/null; }
wait_for has_fragments 2
A kinesis-video-archived-media get-hls-streaming-session-url --endpoint-url "$EP" \
	--stream-name growing --playback-mode LIVE --max-media-playlist-fragment-results 2 \
	--query HLSStreamingSessionURL --output text >"$T/grow.url"
GURL=$(cat "$T/grow.url")
GURL=${GURL/getHLSMasterPlaylist/getHLSMediaPlaylist}
first_live() { curl -sf "$GURL" | grep -m1 getMP4MediaFragment; }
curl -sf "$GURL" >"$T/live.m3u8"
expect_eq "fragments in the LIVE playlist" "$(grep -c getMP4MediaFragment.mp4 "$T/live.m3u8")" 2
grep -q ENDLIST "$T/live.m3u8" && fail "a LIVE playlist ends"
F1=$(grep -m1 getMP4MediaFragment "$T/live.m3u8")
moved_on() { [ "$(first_live)" != "$F1" ]; }
wait_for moved_on
echo "ok: the LIVE playlist moved on from ${F1%%&*}"
kill "$LIVE_PID" 2>/dev/null # 30 s of it is more than the check needs
# --- the 200-fragment limit: over 200 short fragments (ffmpeg's Matroska
# muxer cuts a Cluster at every second or third key frame); the clip holds
# the pictures of the first 200, as the service's "first 200 fragments"
ffmpeg -v error -y -f lavfi -i "testsrc=size=160x120:rate=15" -t 84 \
	-c:v libx264 -g 3 -keyint_min 3 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
	-f matroska "$T/many.mkv"
A kinesisvideo create-stream --endpoint-url "$EP" --stream-name many \
	--data-retention-in-hours 1 >/dev/null
$PY "$VPIPE_TOP/tests/e2e/kvs_client.py" putmedia "$EP" many "$T/many.mkv" \
	>"$T/many.out" || { cat "$T/many.out"; fail "PutMedia of the short fragments"; }
A kinesis-video-archived-media list-fragments --endpoint-url "$EP" \
	--stream-name many --output json >"$T/many.json"
$PY -c '
import json,sys
f=sorted(json.load(open(sys.argv[1]))["Fragments"],key=lambda x:x["ServerTimestamp"])
assert len(f)>200, len(f)
print(" ".join(x["FragmentNumber"] for x in f[:200]))' "$T/many.json" >"$T/first200"
A kinesis-video-archived-media get-media-for-fragment-list --endpoint-url "$EP" \
	--stream-name many "$T/first200.mkv" --fragments $(cat "$T/first200") >/dev/null
A kinesis-video-archived-media get-clip --endpoint-url "$EP" --stream-name many \
	--clip-fragment-selector "FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=1000000000,EndTimestamp=$(($(date +%s) + 60))}" \
	"$T/many.mp4" >/dev/null
pictures "$T/many.mp4" "$T/many.md5"
pictures "$T/first200.mkv" "$T/first200.md5"
pictures "$T/many.mkv" "$T/many-src.md5"
[ "$(wc -l <"$T/first200.md5")" -lt "$(wc -l <"$T/many-src.md5")" ] ||
	fail "200 fragments hold the whole source"
cmp -s "$T/first200.md5" "$T/many.md5" ||
	fail "a clip over 200 fragments is not the first 200 ($(wc -l <"$T/many.md5") pictures)"
echo "ok: a range of $(grep -c FragmentNumber "$T/many.json") fragments gives the first 200 ($(wc -l <"$T/many.md5") pictures)"
# stopped, so that LeakSanitizer (BUILD=build-asan) reports what it found
kill -TERM "$KL_PID"
wait "$KL_PID" || fail "kvs-local exited with $? on SIGTERM"
no_sanitizer_report "$T/play.log"
echo "PASS"
