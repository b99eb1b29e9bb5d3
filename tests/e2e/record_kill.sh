# record's claim that a file stays playable whatever happens to the process:
# a live filesrc -> mkv -> record pipeline is killed with SIGKILL at a
# random moment, RECORD_KILLS times (6 by default; 20 or more as a long
# test). After each kill every file in the directory must be accepted by
# mkvinfo and ffprobe, and the pictures of all files, in name order, must
# be the first pictures of the input, in order, none missing between two.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg ffprobe mkvinfo
KILLS=${RECORD_KILLS:-6}

ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=30 -t 8 -c:v libx264 \
	-preset ultrafast -g 15 -keyint_min 15 -sc_threshold 0 -bf 0 \
	-pix_fmt yuv420p "$T/in.h264"
pictures() { ffmpeg -v error -i "$1" -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}'; }
pictures "$T/in.h264" >"$T/in.md5"

total_files=0
for run in $(seq "$KILLS"); do
	dir="$T/rec-$run"
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\nframerate = 30\n' "$T/in.h264"
		printf 'is-live = true\n[mux]\nmodule = mkv\ninput = src\n'
		printf '[rec]\nmodule = record\ninput = mux\nlocation = %s\n' "$dir"
		printf 'segment-duration = 2s\nsync-interval = 1s\n'
	} >"$dir.ini"
	"$VPIPE" run "$dir.ini" 2>"$dir.log" &
	pid=$!
	ms=$((300 + RANDOM % 6000))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	: >"$T/got.md5"
	n=0
	for f in "$dir"/*.mkv; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		mkvinfo "$f" >"$T/info" 2>&1 || { tail -n 5 "$T/info"; ls -l "$dir"; fail "run $run: mkvinfo rejects $f"; }
		ffprobe -v error -count_frames -show_entries stream=nb_read_frames \
			-of csv=p=0 "$f" >"$T/probe" 2>&1 || { cat "$T/probe"; fail "run $run: ffprobe rejects $f"; }
		pictures "$f" >>"$T/got.md5"
	done
	got=$(wc -l <"$T/got.md5")
	head -n "$got" "$T/in.md5" | cmp -s - "$T/got.md5" ||
		fail "run $run: the files' pictures are not the input's first $got in order"
	echo "ok: run $run: killed at ${ms} ms: $n file(s), $got pictures, all playable"
	total_files=$((total_files + n))
done
echo "killed $KILLS times; $total_files files checked"
echo "PASS"
