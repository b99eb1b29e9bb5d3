#!/usr/bin/env bash
# vpipe-kvs-local under hostile clients (issue 13): a PutMedia body that is
# not the one its signed hash names is refused and nothing of it stored;
# ambiguous framing and absurd lengths are refused; 1,000 idle connections
# take no threads (figures printed) and are closed after --idle-timeout; a
# head or body trickled a byte per 0.9 s is cut with a 408; Connection:
# close is honoured; connections over the per-client and total caps, and a
# request beyond --max-requests worker threads, get a readable 503; secrets and tokens appear neither in the log nor in ps.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
H="$VPIPE_TOP/tests/e2e/kvs_local_hostile.py"

hostile() { # COMMAND ARGS...: run one case, show what it printed
	$PY "$H" "$@" >"$T/case.out" 2>&1 || {
		cat "$T/case.out"
		tail -n 30 "$KVS_LOG" >&2
		fail "$1"
	}
	sed 's/^/    /' "$T/case.out"
	echo "ok: $1"
}
stored() { find "$T/data" -path '*/f/*.mkv' | wc -l; }

start_kvs_local --max-connections 1500 --max-connections-per-client 1200 \
	--idle-timeout 10000 --header-timeout 3000 --body-timeout 3000
$PY "$CLIENT" call "$EP" createStream \
	'{"StreamName":"cam1","DataRetentionInHours":1}' >/dev/null
$PY "$CLIENT" mkv tagged "$T/two.mkv"

# --- payload hashes
hostile payload "$EP" cam1 "$T/two.mkv" mismatch
expect_eq "fragments stored from a body its hash does not name" "$(stored)" 0
hostile payload "$EP" cam1 "$T/two.mkv" match
expect_eq "fragments stored from a verified body" "$(stored)" 2
hostile json-payload "$EP"

# --- framing, Connection: close, slow clients
hostile framing "$EP"
hostile close "$EP"
hostile trickle-head "$EP"
hostile trickle-body "$EP"

# --- 1,000 idle connections: no thread each, closed after --idle-timeout
hostile idle "$EP" "$KVS_PID" 1000
stop_kvs_local

# --- connection caps; requests beyond the worker threads
start_kvs_local --max-connections 30 --max-connections-per-client 20 \
	--max-requests 2 --body-timeout 2000
hostile caps "$EP" 20 30
expect_grep "connection refused" "$KVS_LOG"
hostile busy "$EP" 2
workers=$(cat /proc/"$KVS_PID"/task/*/comm | grep -c '^kvs-local-req$')
expect_eq "request threads with --max-requests 2" "$workers" 2
stop_kvs_local

# --- secrets: from the environment, a file, or (warned) the command line
SECRET=kvs-local-env-secret-0123456789
TOKEN=IQoJb3JpZ2luX2VjEHsaCXVzLXdlc3QtMiJHMEUCIQDtokenvalue0123456789
KVS_LOCAL_ACCESS_KEY=AKIDENVTEST KVS_LOCAL_SECRET_KEY=$SECRET \
	KVS_LOCAL_SESSION_TOKEN=$TOKEN start_kvs_local -v
got=$(AWS_ACCESS_KEY_ID=AKIDENVTEST AWS_SECRET_ACCESS_KEY=$SECRET \
	AWS_SESSION_TOKEN=$TOKEN $PY "$H" signed-call "$EP" listStreams '{}')
expect_eq "call signed with the keys from the environment" "$got" "200 "
got=$(AWS_ACCESS_KEY_ID=AKIDENVTEST AWS_SECRET_ACCESS_KEY=wrong-secret \
	AWS_SESSION_TOKEN=$TOKEN $PY "$H" signed-call "$EP" listStreams '{}')
expect_eq "call signed with another secret" "$got" "403 InvalidSignatureException"
expect_grep "expected canonical request" "$KVS_LOG"
expect_grep "x-amz-security-token:<hidden, ${#TOKEN} characters>" "$KVS_LOG"
ps -o args= -p "$KVS_PID" >"$T/ps.txt"
stop_kvs_local
for f in "$KVS_LOG" "$T/ps.txt"; do
	! grep -qF -e "$SECRET" -e "$TOKEN" "$f" || fail "a secret is in $f"
done
echo "ok: neither the secret nor the token in the log or in ps"

# the secret on the command line still works, is warned about, leaves ps
CLI_SECRET=kvs-local-cli-secret-9876543210
start_kvs_local --access-key AKIDCLITEST --secret-key "$CLI_SECRET"
got=$(AWS_ACCESS_KEY_ID=AKIDCLITEST AWS_SECRET_ACCESS_KEY=$CLI_SECRET \
	$PY "$H" signed-call "$EP" listStreams '{}')
expect_eq "call signed with the --secret-key secret" "$got" "200 "
expect_grep "warning: --secret-key on the command line" "$KVS_LOG"
ps -o args= -p "$KVS_PID" >"$T/ps-cli.txt"
! grep -qF "$CLI_SECRET" "$T/ps-cli.txt" || fail "--secret-key still in ps: $(cat "$T/ps-cli.txt")"
echo "ok: ps shows $(grep -o -- '--secret-key [^ ]*' "$T/ps-cli.txt")"
stop_kvs_local

# a file
printf '%s\n' "$CLI_SECRET" >"$T/secret"
chmod 600 "$T/secret"
start_kvs_local --access-key AKIDFILETEST --secret-key-file "$T/secret"
got=$(AWS_ACCESS_KEY_ID=AKIDFILETEST AWS_SECRET_ACCESS_KEY=$CLI_SECRET \
	$PY "$H" signed-call "$EP" listStreams '{}')
expect_eq "call signed with the --secret-key-file secret" "$got" "200 "
stop_kvs_local

# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY alone (as --help says): checked
start_kvs_local
expect_grep "access key $AWS_ACCESS_KEY_ID (from AWS_ACCESS_KEY_ID)" "$KVS_LOG"
got=$(AWS_SECRET_ACCESS_KEY=not-it $PY "$H" signed-call "$EP" listStreams '{}')
expect_eq "call signed with another secret (keys from AWS_*)" "$got" "403 InvalidSignatureException"
stop_kvs_local
echo "PASS"
