#!/usr/bin/env bash
# record on a disk that fills up: a 512 KiB tmpfs, mostly taken by a junk
# file. Recording must report "No space left on device" once, count it, keep
# the files it had playable, and resume by itself once the junk is removed.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe mkvinfo
[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
mkdir -p "$T/disk"
mount -t tmpfs -o size=512k tmpfs "$T/disk" 2>"$T/mount.err" ||
	skip "mount -t tmpfs is not allowed here: $(cat "$T/mount.err")"
at_exit "umount '$T/disk'"

# 10 s at about 20 KB/s, a key frame every second
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=30 -t 10 -c:v libx264 \
	-preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
	-pix_fmt yuv420p "$T/in.h264"
dd if=/dev/zero of="$T/disk/junk" bs=1k count=450 status=none 2>/dev/null || true
cat >"$T/g.ini" <<INI
[src]
module = filesrc
location = $T/in.h264
framerate = 30
is-live = true

[mux]
module = mkv
input = src

[rec]
module = record
input = mux
location = $T/disk/rec
segment-duration = 2s
sync-interval = 1s
INI
"$VPIPE" run "$T/g.ini" 2>"$T/log" &
pid=$!
sleep 5
rm -f "$T/disk/junk" # space returns
wait "$pid" || { cat "$T/log"; fail "vpipe run failed"; }
cat "$T/log"

expect_grep "No space left on device" "$T/log"
expect_eq "error lines" "$(grep -c 'error rec:' "$T/log" || true)" 1
expect_grep "writable again: recording resumes" "$T/log"
stats=$(grep -o "rec: frames in=.*" "$T/log")
full=$(echo "$stats" | grep -o 'disk_full_total=[0-9]*' | cut -d= -f2)
[ "${full:-0}" -ge 1 ] || fail "no disk-full count in: $stats"
echo "ok: disk-full counted $full times"

total=0
for f in "$T"/disk/rec/*.mkv; do
	n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$f")
	echo "$(basename "$f"): $n frames"
	total=$((total + n))
done
[ "$total" -gt 60 ] && [ "$total" -lt 300 ] || fail "$total frames recorded, want some but not all 300"
last=$(ls "$T"/disk/rec/*.mkv | tail -1)
mkvinfo -a "$last" >"$T/info" || fail "mkvinfo rejects $last"
expect_grep "+ Cues" "$T/info"
echo "ok: $total frames kept around the full disk; recording resumed into a finalised file"
