#!/usr/bin/env bash
# filesink gathers frames and writes them in large pieces: the file is the
# same, byte for byte, whatever the buffer size (0: one write per frame);
# what is buffered reaches the file at end of stream, at stop and every
# flush-interval; a write error names the file and the byte offset.
source "$VPIPE_TOP/tests/lib.sh"
need ffmpeg strace

# H.264 of small and large frames (key frames above 4 KiB, P frames below).
ffmpeg -v error -y -f lavfi -i "testsrc2=size=320x240:rate=30" -frames:v 60 \
	-c:v libx264 -preset ultrafast -g 15 -pix_fmt yuv420p "$T/in.h264"

h264_graph() { # FILE BUFFER-SIZE [mkv]
	{
		printf '[src]\nmodule = filesrc\nlocation = %s\n\n' "$T/in.h264"
		local up=src
		if [ "${3:-}" = mkv ]; then
			printf '[mux]\nmodule = mkv\ninput = src\nabsolute-fragment-times = false\n\n'
			up=mux
		fi
		printf '[out]\nmodule = filesink\ninput = %s\nlocation = %s.out\nbuffer-size = %s\n' \
			"$up" "$1" "$2"
	} >"$1"
}

for bs in 0 1B 4k 1M; do
	h264_graph "$T/h264-$bs.ini" "$bs"
	"$VPIPE" run "$T/h264-$bs.ini" 2>"$T/log" || { cat "$T/log"; fail "run (buffer-size $bs) failed"; }
	cmp "$T/in.h264" "$T/h264-$bs.ini.out" || fail "buffer-size $bs: output differs from the input"
	echo "ok: H.264 through filesink with buffer-size $bs is byte-identical"
	h264_graph "$T/mkv-$bs.ini" "$bs" mkv
	"$VPIPE" run "$T/mkv-$bs.ini" 2>"$T/log" || { cat "$T/log"; fail "mkv run (buffer-size $bs) failed"; }
	[ "$bs" = 0 ] || cmp "$T/mkv-0.ini.out" "$T/mkv-$bs.ini.out" ||
		fail "buffer-size $bs: Matroska differs from the unbuffered one"
done
echo "ok: Matroska byte-identical for every buffer size"

# System calls: unbuffered, one write per frame; buffered, a handful.
# One trace file per thread (-ff): with -f, a call another thread interrupts
# is printed split ("<unfinished ...>", "<... resumed>"), and the openat
# looked up below was missed in about one run in five.
# (LeakSanitizer cannot run under ptrace: off for these runs.)
trace_run() { # INI: the system calls of `vpipe run INI` in $T/strace
	rm -f "$T"/st.*
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -ff -e trace=openat,write,writev -o "$T/st" "$VPIPE" run "$1" 2>/dev/null
	cat "$T"/st.* >"$T/strace"
}
trace_run "$T/h264-0.ini"
fd=$(grep -o "openat(AT_FDCWD, \"$T/h264-0.ini.out\", [^)]*) = [0-9]*" "$T/strace" | grep -o '[0-9]*$')
n0=$(grep -cE "^writev?\($fd," "$T/strace")
trace_run "$T/h264-1M.ini"
fd=$(grep -o "openat(AT_FDCWD, \"$T/h264-1M.ini.out\", [^)]*) = [0-9]*" "$T/strace" | grep -o '[0-9]*$')
n1=$(grep -cE "^writev?\($fd," "$T/strace")
[ "$n0" -ge 60 ] && [ "$n1" -le 2 ] || fail "writes: $n0 unbuffered (want >= 60), $n1 with 1M (want <= 2)"
echo "ok: $n0 writes unbuffered, $n1 with a 1 MiB buffer"

# Live source, 384-byte frames: the buffer holds them until stop (flush-
# interval 0) or writes them every 200 ms.
live_graph() { # FILE FLUSH-INTERVAL
	printf '[cam]\nmodule = testsrc\nwidth = 16\nheight = 16\nframerate = 30\nis-live = true\n\n[out]\nmodule = filesink\ninput = cam\nlocation = %s.out\nflush-interval = %s\n' \
		"$1" "$2" >"$1"
}
for fi in 0 200ms; do
	live_graph "$T/live-$fi.ini" "$fi"
	"$VPIPE" run "$T/live-$fi.ini" --duration 3s 2>"$T/live-$fi.log" &
	pid=$!
	sleep 1.5
	mid=$(stat -c %s "$T/live-$fi.ini.out" 2>/dev/null || echo 0)
	wait $pid || { cat "$T/live-$fi.log"; fail "live run (flush-interval $fi) failed"; }
	end=$(stat -c %s "$T/live-$fi.ini.out")
	[ "$end" -gt 0 ] && [ $((end % 384)) = 0 ] || fail "flush-interval $fi: $end bytes at stop, want whole 384-byte frames"
	if [ "$fi" = 0 ]; then
		[ "$mid" = 0 ] || fail "flush-interval 0: $mid bytes in the file while running, want 0 (all buffered)"
	else
		[ "$mid" -gt 0 ] || fail "flush-interval $fi: nothing written while running"
	fi
	echo "ok: flush-interval $fi: $mid bytes after 1.5 s, $end (whole frames) after stop"
done

# Write errors: a full device at byte 0; a file size limit in mid-stream
# (EFBIG after a short write; SIGXFSZ ignored so the write fails instead).
printf '[cam]\nmodule = testsrc\nwidth = 16\nheight = 16\nnum-frames = 400\nis-live = false\n\n[out]\nmodule = filesink\ninput = cam\nlocation = %s\nbuffer-size = 10000B\n' \
	/dev/full >"$T/full.ini"
if "$VPIPE" run "$T/full.ini" 2>"$T/full.log"; then fail "writing to /dev/full succeeded"; fi
expect_grep "write /dev/full at byte 0: No space left on device" "$T/full.log"
sed "s|/dev/full|$T/limited.out|" "$T/full.ini" >"$T/limited.ini"
if (trap '' XFSZ; ulimit -f 64; exec "$VPIPE" run "$T/limited.ini") 2>"$T/limited.log"; then
	fail "writing past the file size limit succeeded"
fi
expect_grep "write $T/limited.out at byte 65536: File too large" "$T/limited.log"
expect_eq "bytes in the size-limited file" "$(stat -c %s "$T/limited.out")" 65536
