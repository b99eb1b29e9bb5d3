#!/usr/bin/env bash
# kvs-local --drop-after cuts a PutMedia without losing the ACKs it sent
# before the cut: every fragment stored is acknowledged on its connection,
# so a producer never sends a stored fragment again (kvs_faults saw such
# fragments twice). The client reads its ACKs only after writing its whole
# body, through a small receive window, so they wait in kvs-local's socket
# where a reset would discard them: once written at once (the parser's
# buffer full at the cut), once paced over 3 s (a producer that goes on
# uploading for longer than the drain's first second).
source "$VPIPE_TOP/tests/lib.sh"
PY=/usr/bin/python3
[ -x "$VPIPE" ] || skip "no $VPIPE"
"$VPIPE" kvs-local --help >/dev/null 2>&1 || skip "vpipe has no kvs-local"
$PY -c 'import botocore' 2>/dev/null || skip "needs python3-botocore"

# no keys: the test client does not sign
"$VPIPE" kvs-local --listen 127.0.0.1:0 --data "$T/data" --no-auth --drop-after 75000 \
	>"$T/kvs-local.out" 2>"$T/kvs-local.log" &
pid=$!
at_exit "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
wait_for grep -q listening "$T/kvs-local.out"
ep=$(awk '{print $NF}' "$T/kvs-local.out")
port=${ep##*:}

cut() { # NAME [PACE]
	$PY "$VPIPE_TOP/tests/e2e/kvs_local_drop_acks.py" 127.0.0.1 "$port" \
		"$@" >"$T/$1.out" 2>&1 || {
		cat "$T/$1.out" "$T/kvs-local.log" >&2
		fail "$1: stored fragments without their ACK"
	}
	echo "ok: $1: $(tail -n 1 "$T/$1.out")"
}
for i in 1 2 3 4 5; do
	cut "burst$i" 300
done
cut paced 300 3
n=$(grep -c 'dropping the connection' "$T/kvs-local.log")
expect_eq "connections cut" "$n" 6
if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$T/kvs-local.log"; then
	cat "$T/kvs-local.log" >&2
	fail "sanitizer report in kvs-local's log"
fi
echo "PASS"
