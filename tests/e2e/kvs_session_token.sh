#!/usr/bin/env bash
# A session token given in the INI or the environment is never renewed: when
# the service refuses it (expired, or not the one issued with the key), the
# kvs sink fails at start with a message that names the token, like a wrong
# secret, instead of retrying forever as "expired" (issue 13, item 7). The
# same keys with the right token stream, and no token is ever logged.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 2
start_kvs_local token --session-token GOODTOKEN1
AK=$AWS_ACCESS_KEY_ID SK=$AWS_SECRET_ACCESS_KEY
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_DEFAULT_REGION

# NAME PATTERN, then env assignments and kvs lines: the run must fail at
# start, saying PATTERN.
refused() {
	local name=$1 pattern=$2 envs=() lines=()
	shift 2
	for a in "$@"; do
		case $a in *=*' '*|*' = '*) lines+=("$a") ;; *) envs+=("$a") ;; esac
	done
	graph "$T/$name.ini" "$T/in.h264" "cam-$name" "$KL_URL" "${lines[@]}"
	local rc=0
	env "${envs[@]}" timeout 60 "$VPIPE" run "$T/$name.ini" >"$T/$name.log" 2>&1 || rc=$?
	[ "$rc" != 124 ] || { cat "$T/$name.log"; fail "$name: still retrying after 60 s"; }
	[ "$rc" != 0 ] || { cat "$T/$name.log"; fail "$name: the run succeeded"; }
	no_sanitizer_report "$T/$name.log"
	expect_grep "$pattern" "$T/$name.log"
	expect_grep "start failed" "$T/$name.log"
	if grep -q "retrying\|buffering" "$T/$name.log"; then
		cat "$T/$name.log"
		fail "$name: a refused static token was retried"
	fi
	if grep -qF -e STALETOKEN9 -e GOODTOKEN1 -e "$SK" "$T/$name.log"; then
		fail "$name: a secret appears in the log"
	fi
	echo "ok: $name fails at start: $(grep -m1 -o "$pattern[^:]*" "$T/$name.log")"
}

stale="refused the session token given with access key $AK"
refused ini "$stale" "access-key = $AK" "secret-key = $SK" "session-token = STALETOKEN9"
refused env "$stale" AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" \
	AWS_SESSION_TOKEN=STALETOKEN9
refused no-token "wants the session token that belongs to access key $AK" \
	"access-key = $AK" "secret-key = $SK"

# The same keys with the token kvs-local issued: streamed and acknowledged.
graph "$T/good.ini" "$T/in.h264" cam-good "$KL_URL" \
	"access-key = $AK" "secret-key = $SK" "session-token = GOODTOKEN1"
timeout 60 "$VPIPE" run "$T/good.ini" >"$T/good.log" 2>&1 ||
	{ cat "$T/good.log"; fail "the right token was refused"; }
expect_grep "every fragment acknowledged" "$T/good.log"
! grep -qF -e GOODTOKEN1 -e "$SK" "$T/good.log" || fail "a secret was logged"
echo "PASS"
