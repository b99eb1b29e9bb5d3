# Helpers for tests/e2e/*.sh (sourced). Each script runs with `set -eu`.
set -eu
: "${VPIPE:?run through tests/run.sh or make test}"
T=$(mktemp -d /tmp/vpipe-test.XXXXXX)
_cleanup_fns=()
at_exit() { _cleanup_fns+=("$*"); }
_run_cleanup() {
	local rc=$?
	for f in "${_cleanup_fns[@]}"; do eval "$f" || true; done
	_sanitizer_reports_in_scratch || rc=1
	rm -rf "$T"
	exit $rc
}
# Under make check: a sanitizer report in any captured output fails the
# test, also a run that was expected to fail (UBSan beside ASan prints to
# stderr only; tests/run.sh collects the ASan, LSan and TSan ones).
_sanitizer_reports_in_scratch() {
	[ -n "${VPIPE_SANITIZER:-}" ] || return 0
	local pat='ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|: runtime error: '
	local hits
	hits=$(grep -rIlE "$pat" "$T" 2>/dev/null) || return 0
	for f in $hits; do
		echo "FAIL: sanitizer report in $f:" >&2
		grep -E -A 20 "$pat" "$f" | head -n 40 >&2
	done
	return 1
}
trap _run_cleanup EXIT
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }
# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; echo "ok: $1 = $3"; }
# expect_grep PATTERN FILE
expect_grep() { grep -q -- "$1" "$2" || { cat "$2" >&2; fail "'$1' not in $2"; }; echo "ok: $2 has '$1'"; }
# A free TCP port on loopback.
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# wait_for CMD... : retry for up to 20 s
wait_for() { for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; fail "timed out waiting for: $*"; }
