#!/usr/bin/env bash
# The test runner behind `make test` and `make check`.
#   tests/run.sh [NAME ...]   run all tests, or those whose name matches
# A test is a unit binary $BUILD/tests/test_* or a script tests/e2e/*.sh.
# Exit 0 = pass, 77 = skipped (the test prints its reason), anything else = fail.
# The last line is the summary: "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export VPIPE="$PWD/$BUILD/bin/vpipe"
export VPIPE_MODULE_PATH="$PWD/$BUILD/modules"
export VPIPE_TOP="$PWD"
export PATH="/usr/bin:$PATH" # Debian's python3 (with python3-gi, botocore) first
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
logdir="$BUILD/test-logs"
mkdir -p "$logdir"

tests=()
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && [ "${t%.so}" = "$t" ] && tests+=("$t")
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] && tests+=("$t")
done

selected=()
unknown=()
if [ $# -gt 0 ]; then
	for want in "$@"; do
		found=0
		for t in "${tests[@]}"; do
			[ "$(basename "$t" .sh)" = "$want" ] && { selected+=("$t"); found=1; }
		done
		# A renamed or unbuilt test must not vanish from a list silently
		# (make check's TSAN_TESTS).
		[ $found = 1 ] || unknown+=("$want")
	done
else
	selected=("${tests[@]}")
fi

# Under a sanitizer (make check sets VPIPE_SANITIZER), every sanitized
# process of a test writes its ASan/LSan/TSan reports to files of its own
# (log_path), and any such file fails the test: also where the test expects
# a run to fail, or throws its stderr away. UBSan beside ASan is a separate
# runtime that ignores log_path: its reports are found in the test's output
# here and in its scratch files by tests/lib.sh.
SAN_PATTERN='ERROR: (Address|Leak|Thread|UndefinedBehavior)Sanitizer|WARNING: ThreadSanitizer|: runtime error: '
base_asan=${ASAN_OPTIONS:-} base_tsan=${TSAN_OPTIONS:-}
san_setup() { # NAME
	sandir="$PWD/$logdir/$1.san"
	rm -rf "$sandir"
	[ -n "${VPIPE_SANITIZER:-}" ] || return 0
	mkdir -p "$sandir"
	export ASAN_OPTIONS="${base_asan:+$base_asan:}log_path=$sandir/report"
	export TSAN_OPTIONS="${base_tsan:+$base_tsan:}log_path=$sandir/report"
}
san_reports() { # LOG: print the sanitizer reports of the last test
	[ -n "${VPIPE_SANITIZER:-}" ] || return 1
	local found=1 f
	for f in "$sandir"/report.*; do
		[ -f "$f" ] || continue
		found=0
		echo "sanitizer report $f:"
		head -n 40 "$f"
	done
	if grep -qE "$SAN_PATTERN" "$1"; then
		found=0
		grep -E -A 20 "$SAN_PATTERN" "$1" | head -n 40
	fi
	return $found
}

pass=0 fail=0 skip=0
failed=()
for want in "${unknown[@]}"; do
	fail=$((fail + 1)); failed+=("$want")
	printf 'FAIL %-40s no such test (no %s/tests/%s, no tests/e2e/%s.sh)\n' "$want" "$BUILD" "$want" "$want"
done
for t in "${selected[@]}"; do
	name=$(basename "$t" .sh)
	log="$logdir/$name.log"
	san_setup "$name"
	start=$(date +%s)
	if [ "${t%.sh}" != "$t" ]; then
		timeout -k 10 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1
	else
		timeout -k 10 "$TEST_TIMEOUT" "$t" >"$log" 2>&1
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	if san_reports "$log" >"$log.san"; then
		rc=99
		cat "$log.san" >>"$log"
	fi
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS %-40s %3ds\n' "$name" "$secs" ;;
	77) skip=$((skip + 1))
	    printf 'SKIP %-40s %s\n' "$name" "$(grep -i 'skip' "$log" | tail -n 1)" ;;
	99) fail=$((fail + 1)); failed+=("$name")
	    printf 'FAIL %-40s %3ds (sanitizer report), from %s:\n' "$name" "$secs" "$log"
	    head -n 30 "$log.san" | sed 's/^/    /' ;;
	*) fail=$((fail + 1)); failed+=("$name")
	   printf 'FAIL %-40s %3ds (exit %d), last lines of %s:\n' "$name" "$secs" "$rc" "$log"
	   tail -n 30 "$log" | sed 's/^/    /' ;;
	esac
	rm -f "$log.san"
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
summary="$pass passed, $fail failed"
[ $skip -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ $fail -eq 0 ]
