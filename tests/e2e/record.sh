#!/usr/bin/env bash
# filesrc (H.264 made here by ffmpeg) -> mkv -> record, each segment checked
# by independent tools: mkvinfo parses it, ffprobe counts the packets (their
# sum is the input's), the decoded pictures equal the input's bit for bit,
# Cues and SeekHead are present and ffmpeg -ss lands on the right picture,
# gst-discoverer accepts it. Then rotation by size, retention (max-size with
# delete-oldest and deny-new, max-age) and power-cut playability.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe mkvinfo

# 10 s, 30 fps, a key frame every second: ten 1 s fragments.
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=30 -t 10 -c:v libx264 \
	-preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
	-pix_fmt yuv420p "$T/in.h264"
pictures() { ffmpeg -v error -i "$1" "${@:2}" -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}'; }
pictures "$T/in.h264" >"$T/in.md5"
packets() { ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
# run DIR [extra record keys...]: the pipeline into DIR; log in DIR.log
run() {
	local dir=$1
	shift
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\nframerate = 30\n' "${SRC:-$T/in.h264}"
		printf '[mux]\nmodule = mkv\ninput = src\n'
		printf '[rec]\nmodule = record\ninput = mux\nlocation = %s\n' "$dir"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$dir.ini"
	"$VPIPE" run "$dir.ini" 2>"$dir.log" || { cat "$dir.log"; fail "vpipe run failed"; }
}
stat_of() { grep -o "rec: frames in=.*" "$1" | grep -o "$2=[0-9]*" | cut -d= -f2; }

echo "== rotation by duration, finalised files"
run "$T/dur" "segment-duration = 4s"
files=("$T"/dur/*.mkv)
expect_eq "files" "${#files[@]}" 3
total=0
: >"$T/out.md5"
for f in "${files[@]}"; do
	mkvinfo "$f" >"$T/info" || { cat "$T/info"; fail "mkvinfo rejects $f"; }
	mkvinfo -a "$f" >"$T/all"
	expect_grep "+ Cues" "$T/all"
	expect_grep "Seek ID: 0x1c 0x53 0xbb 0x6b (KaxCues)" "$T/all"
	expect_grep "Duration: 00:00:0" "$T/info"
	total=$((total + $(packets "$f")))
	pictures "$f" >>"$T/out.md5"
	# each file starts with a key frame
	first=$(ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 "$f" | head -1)
	expect_eq "first packet of $(basename "$f") is key" "${first:0:1}" K
done
expect_eq "packets in all segments" "$total" 300
cmp "$T/in.md5" "$T/out.md5" || fail "decoded pictures differ from the input"
echo "ok: decoded pictures equal the input's"
if command -v gst-discoverer-1.0 >/dev/null; then
	gst-discoverer-1.0 "${files[0]}" >"$T/disc" 2>&1 || { cat "$T/disc"; fail "gst-discoverer rejects ${files[0]}"; }
	expect_grep "Duration: 0:00:0[34]" "$T/disc"
fi
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "${files[0]}")
awk -v d="$d" 'BEGIN { exit !(d > 3.99 && d < 4.01) }' || fail "first segment lasts $d s, want 4"
echo "ok: the first segment's Duration is $d s"
# seeking in a finalised file: 2 s into the first segment is picture 60
pictures "${files[0]}" -ss 2 >/dev/null # warm
ffmpeg -v error -ss 2 -i "${files[0]}" -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}' >"$T/seek.md5"
sed -n '61,120p' "$T/in.md5" | cmp - "$T/seek.md5" || fail "ffmpeg -ss 2 does not land on picture 60"
echo "ok: ffmpeg -ss lands on the right picture"

echo "== rotation by size"
run "$T/size" "segment-duration = 0" "segment-size = 40k"
n=$(ls "$T"/size/*.mkv | wc -l)
[ "$n" -ge 4 ] || fail "segment-size 40k gave $n files"
total=0
for f in "$T"/size/*.mkv; do
	mkvinfo "$f" >/dev/null || fail "mkvinfo rejects $f"
	size=$(stat -c %s "$f")
	[ "$size" -le 60000 ] || fail "$f is $size bytes for segment-size 40k"
	total=$((total + $(packets "$f")))
done
expect_eq "packets in size-rotated segments" "$total" 300

echo "== a new stream header (resolution change) starts a new file"
ffmpeg -v error -f lavfi -i testsrc=size=640x360:rate=30 -t 2 -c:v libx264 \
	-preset ultrafast -g 30 -bf 0 -pix_fmt yuv420p "$T/b.h264"
cat "$T/in.h264" "$T/b.h264" >"$T/ab.h264"
SRC=$T/ab.h264 run "$T/res" "segment-duration = 0"
widths=$(for f in "$T"/res/*.mkv; do ffprobe -v error -show_entries stream=width -of csv=p=0 "$f"; done | tr '\n' ' ')
expect_eq "widths of the files" "$widths" "320 640 "
expect_grep "new stream header" "$T/res.log"

echo "== retention: max-size with delete-oldest"
# about 3.7 MB of H.264 so 1 MiB must be enforced
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=30 -t 10 -c:v libx264 \
	-preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -b:v 3M \
	-pix_fmt yuv420p "$T/big.h264"
SRC=$T/big.h264 run "$T/old" "segment-duration = 2s" "max-size = 1M"
bytes=$(cat "$T"/old/*.mkv | wc -c)
[ "$bytes" -le 1048576 ] || fail "delete-oldest left $bytes bytes for max-size 1 MiB"
deleted=$(stat_of "$T/old.log" segments_deleted_total)
[ "${deleted:-0}" -gt 0 ] || { cat "$T/old.log"; fail "nothing deleted"; }
echo "ok: $bytes bytes kept, $deleted files deleted"
last=$(ls "$T"/old/*.mkv | tail -1)
mkvinfo "$last" >/dev/null || fail "mkvinfo rejects $last"
expect_grep "max-size reached" "$T/old.log"

echo "== retention: max-size with deny-new"
SRC=$T/big.h264 run "$T/deny" "segment-duration = 2s" "max-size = 1M" "on-full = deny-new"
bytes=$(cat "$T"/deny/*.mkv | wc -c)
[ "$bytes" -le 1048576 ] || fail "deny-new left $bytes bytes"
dropped=$(stat_of "$T/deny.log" dropped_frames_total)
[ "${dropped:-0}" -gt 0 ] || { cat "$T/deny.log"; fail "deny-new dropped nothing"; }
expect_grep "no new media until space frees" "$T/deny.log"
# the oldest media is what stays
firstfile=$(ls "$T"/deny/*.mkv | head -1)
first_t=$(ffprobe -v error -show_entries format=start_time -of csv=p=0 "$firstfile")
echo "ok: deny-new kept $bytes bytes from the start ($first_t), dropped $dropped frames"

echo "== retention: max-age"
mkdir -p "$T/age"
touch -d '3 hours ago' "$T/age/rec-20200101T000000.000Z.mkv" "$T/age/notes-20200101T000000.000Z.mkv"
touch -d '10 minutes ago' "$T/age/rec-20200102T000000.000Z.mkv"
run "$T/age" "max-age = 1h"
[ ! -e "$T/age/rec-20200101T000000.000Z.mkv" ] || fail "max-age kept a 3 h old file"
[ -e "$T/age/rec-20200102T000000.000Z.mkv" ] || fail "max-age deleted a recent file"
[ -e "$T/age/notes-20200101T000000.000Z.mkv" ] || fail "max-age deleted a file not its own"
echo "ok: max-age deleted only its own old file"

echo "== power cut: a file cut in the middle of a cluster"
f=${files[0]}
# byte offset of the third cluster (mkvinfo -v -P prints every cluster's position)
pos=$(mkvinfo -v -P "$f" | grep '+ Cluster at' | sed -n 3p | grep -o 'at [0-9]*' | cut -d' ' -f2)
[ -n "$pos" ] || fail "no third cluster in $f"
head -c $((pos + 2000)) "$f" >"$T/cut.mkv"
frames=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/cut.mkv" 2>/dev/null)
[ "${frames:-0}" -ge 60 ] || fail "cut file decodes $frames frames, want the 60 of its two complete clusters"
echo "ok: the cut file decodes $frames frames (two complete clusters hold 60)"

echo "== a stopped pipeline (--duration) leaves a finalised file"
mkdir -p "$T/stop"
{
	printf '[src]\nmodule = filesrc\nlocation = %s\nframerate = 30\nis-live = true\n' "$T/in.h264"
	printf '[mux]\nmodule = mkv\ninput = src\n'
	printf '[rec]\nmodule = record\ninput = mux\nlocation = %s/stop\n' "$T"
} >"$T/stop.ini"
"$VPIPE" run "$T/stop.ini" --duration 2500ms 2>"$T/stop.log" || { cat "$T/stop.log"; fail "vpipe run --duration failed"; }
f=$(ls "$T"/stop/*.mkv | head -1)
mkvinfo -a "$f" >"$T/info" || fail "mkvinfo rejects $f"
expect_grep "+ Cues" "$T/info"
n=$(packets "$f")
[ "$n" -ge 60 ] || fail "stopped recording holds $n packets"
echo "ok: stopped after 2.5 s: $n packets, finalised"

echo "== power cut: the process killed while recording"
mkdir -p "$T/kill"
{
	printf '[src]\nmodule = filesrc\nlocation = %s\nframerate = 30\nis-live = true\n' "$T/in.h264"
	printf '[mux]\nmodule = mkv\ninput = src\n'
	printf '[rec]\nmodule = record\ninput = mux\nlocation = %s/kill\nsync-interval = 1s\n' "$T"
} >"$T/kill.ini"
"$VPIPE" run "$T/kill.ini" 2>"$T/kill.log" &
pid=$!
sleep 4.5
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
f=$(ls "$T"/kill/*.mkv | head -1)
frames=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$f" 2>/dev/null)
[ "${frames:-0}" -ge 60 ] || fail "killed recording decodes ${frames:-0} frames, want >= 60 (synced every 1 s)"
echo "ok: the unfinished file decodes $frames frames"
