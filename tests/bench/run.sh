#!/usr/bin/env bash
# The benchmark runner behind `make bench`.
#   tests/bench/run.sh [NAME ...]   run every benchmark, or those named
# A benchmark is a script tests/bench/NAME.sh or a binary $BUILD/tests/bench_NAME
# (NAME given with or without the bench_ prefix). Each prints its own figures
# and ratios; this runs them one after another (never in parallel: they would
# disturb each other's timings), shows each one's output as it comes, carries
# on past failures and exits non-zero if any failed. Exit 77 means skipped.
# Scripts get the same environment as tests/e2e: BUILD, VPIPE,
# VPIPE_MODULE_PATH, VPIPE_TOP.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export BUILD
export VPIPE="$PWD/$BUILD/bin/vpipe"
export VPIPE_MODULE_PATH="$PWD/$BUILD/modules"
export VPIPE_TOP="$PWD"
export PATH="/usr/bin:$PATH" # Debian's python3 first, as in tests/run.sh
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}

benches=()
for b in tests/bench/*.sh; do
	[ -f "$b" ] && [ "$(basename "$b")" != run.sh ] && benches+=("$b")
done
for b in "$BUILD"/tests/bench_*; do
	[ -x "$b" ] && [ -f "$b" ] && benches+=("$b")
done

selected=()
if [ $# -gt 0 ]; then
	for b in "${benches[@]}"; do
		n=$(basename "$b" .sh)
		for want in "$@"; do
			[ "$n" = "$want" ] || [ "$n" = "bench_$want" ] && selected+=("$b")
		done
	done
else
	selected=("${benches[@]}")
fi
if [ ${#selected[@]} -eq 0 ]; then
	echo "no benchmarks found (tests/bench/*.sh, $BUILD/tests/bench_*)" >&2
	exit 1
fi

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) CPUs," \
	"load $(cut -d' ' -f1-3 /proc/loadavg), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
pass=0 fail=0 skip=0
failed=()
for b in "${selected[@]}"; do
	name=$(basename "$b" .sh)
	echo
	echo "== $name"
	start=$(date +%s)
	if [ "${b%.sh}" != "$b" ]; then
		timeout -k 10 "$BENCH_TIMEOUT" bash "$b"
	else
		timeout -k 10 "$BENCH_TIMEOUT" "$b"
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)); echo "== $name: ok (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "== $name: skipped" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "== $name: FAILED (exit $rc, ${secs}s)" ;;
	esac
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
summary="benchmarks: $pass ok, $fail failed"
[ $skip -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ $fail -eq 0 ]
