#!/usr/bin/env bash
# kvs sink cost, against the KVS producer SDK for C as issue 5 quotes it
# (measured on this kind of machine against a local endpoint over plain
# HTTP): 1.6 % of one core and 13 MiB for one 1080p30 stream, 12 % of a core
# and 49-81 MiB for 16 streams, 153 s to create 16 new streams.
#   one      filesrc (is-live, real time) -> mkv -> kvs, one stream, on
#            vpipe kvs-local over plain HTTP
#   sixteen  16 such chains in one vpipe process, streams that do not exist
#            yet (DescribeStream, CreateStream, GetDataEndpoint, PutMedia;
#            kvs-local enforces the service's documented rate limits)
# Figures for the vpipe process only (kvs-local runs apart): CPU (user+sys)
# as a share of one core over the run, peak resident memory, the time from
# launch until every stream's PutMedia has begun (bring-up), the time from
# SIGTERM until the process has exited with everything acknowledged (stop),
# and the capture-to-wire latency p50/p99 each sink logs (frame's capture
# wall-clock time to its last byte handed to the socket; for 16 streams the
# worst stream's). Any dropped frame or unacknowledged fragment fails.
# Each sink has a 16 MiB content store (storage-size = 16M), the size with
# which the SDK lost frames.
# The input, 1080p30 H.264 (x264 ultrafast, 4 Mbit/s, a key frame every 2 s,
# as a camera would send), is encoded once and kept in $BUILD/bench-cache/.
# BENCH_KVS_SECONDS (default 30) sets the streaming time of each case.
set -eu
: "${VPIPE:?run through tests/bench/run.sh or make bench}"
[ -x "$VPIPE" ] || { echo "SKIP: $VPIPE not built"; exit 77; }
for m in filesrc mkv kvs; do
	[ -f "$VPIPE_MODULE_PATH/$m.so" ] || { echo "SKIP: module $m not built"; exit 77; }
done
"$VPIPE" kvs-local --help >/dev/null 2>&1 || { echo "SKIP: vpipe has no kvs-local"; exit 77; }
for c in ffmpeg /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "SKIP: needs $c"; exit 77; }
done
secs=${BENCH_KVS_SECONDS:-30}
cache="$BUILD/bench-cache"
in="$PWD/$cache/kvs-1080p30-4mbit-${secs}s.h264"
mkdir -p "$cache"
if [ ! -s "$in" ]; then
	echo "encoding ${secs} s of 1080p30 once (cached in $cache)..."
	ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
		-t "$secs" -c:v libx264 -preset ultrafast -g 60 -keyint_min 60 \
		-sc_threshold 0 -bf 0 -b:v 4M -maxrate 4M -bufsize 8M \
		-pix_fmt yuv420p "$in.tmp.h264"
	mv "$in.tmp.h264" "$in"
fi
T=$(mktemp -d /tmp/vpipe-bench-kvs.XXXXXX)
KL_PID=
cleanup() {
	[ -n "$KL_PID" ] && kill "$KL_PID" 2>/dev/null && wait "$KL_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export AWS_ACCESS_KEY_ID=AKIDKVSBENCH AWS_SECRET_ACCESS_KEY=kvsBenchSecret0123456789
export AWS_DEFAULT_REGION=us-west-2

port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$VPIPE" kvs-local --listen "127.0.0.1:$port" --data "$T/data" \
	--access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
	>"$T/kvs-local.log" 2>&1 &
KL_PID=$!
for _ in $(seq 100); do grep -q listening "$T/kvs-local.log" && break; sleep 0.1; done

graph() { # PREFIX N: the graph on stdout
	local i
	for ((i = 0; i < $2; i++)); do
		printf '[cam%d]\nmodule = filesrc\nlocation = %s\nformat = h264\n' "$i" "$in"
		printf 'framerate = 30\nis-live = true\n\n'
		printf '[mux%d]\nmodule = mkv\ninput = cam%d\n\n' "$i" "$i"
		if [ "$1" = floor ]; then
			printf '[out%d]\nmodule = null\ninput = mux%d\n\n' "$i" "$i"
			continue
		fi
		printf '[kvs%d]\nmodule = kvs\ninput = mux%d\nstream-name = %s-%d\n' "$i" "$i" "$1" "$i"
		printf 'endpoint = http://127.0.0.1:%s\nstop-stream-timeout = 60s\n' "$port"
		printf 'storage-size = 16M\n\n' # where the SDK lost frames
	done
	printf '[pipeline]\ndrain-timeout = 60s\n'
}

now_ms() { date +%s%3N; }
# kvs-local's log time HH:MM:SS.mmm (UTC, today) in epoch ms
log_ms() { date -u -d "$(date -u +%F) $1" +%s%3N; }

# run_case NAME N: stream N chains for $secs, then SIGTERM; sets R_* figures.
run_case() {
	local name=$1 n=$2
	graph "$name" "$n" >"$T/$name.ini"
	local t0 t_term t_end
	t0=$(now_ms)
	/usr/bin/time -f '%U %S %M' -o "$T/$name.time" \
		"$VPIPE" run "$T/$name.ini" >"$T/$name.log" 2>&1 &
	local tpid=$!
	local vpid=
	for _ in $(seq 100); do
		vpid=$(pgrep -P "$tpid" || true)
		[ -n "$vpid" ] && break
		sleep 0.05
	done
	# bring-up: every stream's first PutMedia seen by kvs-local
	local up=0
	for _ in $(seq 6000); do
		up=$(grep -c " $name-[0-9]* PutMedia from" "$T/kvs-local.log" || true)
		[ "$up" -ge "$n" ] && break
		kill -0 "$tpid" 2>/dev/null || break
		sleep 0.05
	done
	[ "$up" -ge "$n" ] || { cat "$T/$name.log"; echo "FAIL: $name: only $up of $n streams up"; exit 1; }
	local last
	last=$(grep " $name-[0-9]* PutMedia from" "$T/kvs-local.log" | awk '{print $1}' | sort | tail -n 1)
	R_UP=$(($(log_ms "$last") - t0))
	# SIGTERM 2 s before the input ends: stopping a live stream. Until
	# then, sample the private (anonymous) memory once a second: RSS also
	# counts the shared libraries' pages (libcrypto, libcurl...).
	R_ANON=0
	while [ $(($(now_ms) - t0)) -lt $((secs * 1000 - 2000)) ]; do
		local a
		a=$(awk '/^Anonymous:/ { print $2 }' "/proc/$vpid/smaps_rollup" 2>/dev/null || echo 0)
		[ "${a:-0}" -gt "$R_ANON" ] && R_ANON=$a
		sleep 1
	done
	t_term=$(now_ms)
	kill -TERM "$vpid"
	local rc=0
	wait "$tpid" || rc=$?
	t_end=$(now_ms)
	R_STOP=$((t_end - t_term))
	R_WALL=$((t_end - t0))
	[ "$rc" = 0 ] || { tail -n 30 "$T/$name.log"; echo "FAIL: $name: vpipe exited with $rc"; exit 1; }
	local acked
	acked=$(grep -c "every fragment acknowledged" "$T/$name.log" || true)
	[ "$acked" = "$n" ] || { tail -n 30 "$T/$name.log"; echo "FAIL: $name: $acked of $n streams fully acknowledged"; exit 1; }
	! grep -q "dropped_frames_total=[1-9]" "$T/$name.log" || { echo "FAIL: $name: frames dropped"; exit 1; }
	read -r user sys maxrss <"$T/$name.time"
	R_CPU=$(awk -v u="$user" -v s="$sys" -v w="$R_WALL" 'BEGIN { printf "%.2f", (u + s) * 100000 / w }')
	R_CPUMS=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", (u + s) * 1000 }')
	R_RSS=$(awk -v k="$maxrss" 'BEGIN { printf "%.1f", k / 1024 }')
	R_ANON=$(awk -v k="$R_ANON" 'BEGIN { printf "%.1f", k / 1024 }')
	R_FRAMES=$(grep -o 'capture-to-wire latency.*' "$T/$name.log" | awk '{ s += $9 } END { print s }')
	R_P50=$(grep -o 'latency p50 [0-9.]*' "$T/$name.log" | awk '{ if ($3 > m) m = $3 } END { print m }')
	R_P99=$(grep -o 'p99 [0-9.]*' "$T/$name.log" | awk '{ if ($2 > m) m = $2 } END { print m }')
}

# floor N: the same chains ending in null instead of kvs (reading, pacing,
# Matroska, the kernel): CPU %core and peak RSS MiB, the share not kvs's.
floor() {
	graph floor "$1" >"$T/floor.ini"
	/usr/bin/time -f '%U %S %e %M' -o "$T/floor.time" "$VPIPE" run "$T/floor.ini" >/dev/null 2>&1
	awk '{ printf "%.2f %.1f", ($1 + $2) * 100 / $3, $4 / 1024 }' "$T/floor.time"
}

run_case one 1
declare -A one=([cpu]=$R_CPU [cpums]=$R_CPUMS [rss]=$R_RSS [anon]=$R_ANON [up]=$R_UP [stop]=$R_STOP [p50]=$R_P50 [p99]=$R_P99 [frames]=$R_FRAMES)
run_case sixteen 16
declare -A six=([cpu]=$R_CPU [cpums]=$R_CPUMS [rss]=$R_RSS [anon]=$R_ANON [up]=$R_UP [stop]=$R_STOP [p50]=$R_P50 [p99]=$R_P99 [frames]=$R_FRAMES)

echo "kvs sink: 1080p30 H.264 at 4 Mbit/s, ${secs} s per case, real time, vpipe kvs-local over HTTP; CPU and memory of the vpipe process"
printf '%-9s %7s %9s %9s %8s %9s %10s %7s %7s %7s\n' case "frames" "CPU %core" "ms/frame" "RSS MiB" "anon MiB" "bring-up s" "stop s" "p50 ms" "p99 ms"
for c in one six; do
	declare -n r=$c
	awk -v c="$([ $c = one ] && echo one || echo sixteen)" -v f="${r[frames]}" -v cpu="${r[cpu]}" \
		-v ms="${r[cpums]}" -v rss="${r[rss]}" -v anon="${r[anon]}" -v up="${r[up]}" -v st="${r[stop]}" \
		-v p50="${r[p50]}" -v p99="${r[p99]}" 'BEGIN {
		printf "%-9s %7d %9.2f %9.3f %8.1f %9.1f %10.2f %7.2f %7.1f %7.1f\n", c, f, cpu, (f ? ms / f : 0), rss, anon, up / 1000, st / 1000, p50, p99 }'
done
read -r f1cpu f1rss <<<"$(floor 1)"
read -r f16cpu f16rss <<<"$(floor 16)"
printf '%-9s %7s %9.2f %9s %8.1f   (filesrc -> mkv -> null, no kvs: the floor)\n' floor-1 "" "$f1cpu" "" "$f1rss"
printf '%-9s %7s %9.2f %9s %8.1f\n' floor-16 "" "$f16cpu" "" "$f16rss"
awk -v c1="${one[cpu]}" -v f1="$f1cpu" -v c16="${six[cpu]}" -v f16="$f16cpu" 'BEGIN {
	printf "kvs alone (case minus floor): one stream %.2f %% of a core, 16 streams %.2f %%\n", c1 - f1, c16 - f16 }'
echo "against the KVS producer SDK for C (issue 5's figures; goal: a quarter of its CPU, half its memory, seconds to start):"
awk -v c1="${one[cpu]}" -v m1="${one[rss]}" -v c16="${six[cpu]}" -v m16="${six[rss]}" -v up="${six[up]}" 'BEGIN {
	printf "  one stream:  CPU %.2f %% vs 1.6 %% = %.2f (goal <= 0.25), memory %.1f vs 13 MiB = %.2f (goal <= 0.5)\n", c1, c1 / 1.6, m1, m1 / 13
	printf "  16 streams:  CPU %.2f %% vs 12 %% = %.2f (goal <= 0.25), memory %.1f vs 49-81 MiB = %.2f-%.2f (goal <= 0.5)\n", c16, c16 / 12, m16, m16 / 81, m16 / 49
	printf "  bring-up of 16 new streams: %.2f s vs 153 s = %.4f\n", up / 1000, up / 1000 / 153 }'
