#!/usr/bin/env bash
# vpipe run speaks systemd's notification protocol itself (issue 15): this
# test binds $NOTIFY_SOCKET as systemd would and reads what arrives. A
# healthy graph sends READY=1 first, STATUS= lines, WATCHDOG=1 pings twice
# per $WATCHDOG_USEC and STOPPING=1 when it stops. When a node hangs in its
# own code (identity's hang-after cue), the pings stop until it moves
# again, and the log and STATUS= name the node; the source blocked behind
# it (waiting for room, a kernel wait) is not blamed.
source "$VPIPE_TOP/tests/lib.sh"

# listen NAME SOCKET: messages arrive in $T/NAME.msgs, one a line.
listen() {
	/usr/bin/python3 "$VPIPE_TOP/tests/e2e/sd_notify_listen.py" "$2" "$T/$1.msgs" &
	local pid=$!
	at_exit "kill $pid 2>/dev/null"
	wait_for grep -q listening "$T/$1.msgs"
}

graph() { # FILE [identity lines...]
	local out=$1
	shift
	{
		printf '[pipeline]\ndrain-timeout = 1s\n\n'
		printf '[cam]\nmodule = testsrc\nwidth = 64\nheight = 48\nframerate = 30\n\n'
		printf '[pass]\nmodule = identity\ninput = cam\nqueue-size = 2\n'
		for l in "$@"; do printf '%s\n' "$l"; done
		printf '\n[sink]\nmodule = null\ninput = pass\n'
	} >"$out"
}

# --- a healthy graph, socket on a path
listen ok "$T/notify.sock"
graph "$T/ok.ini"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 \
	"$VPIPE" run "$T/ok.ini" --duration 3s >"$T/ok.log" 2>&1 ||
	{ cat "$T/ok.log"; fail "the healthy run failed"; }
sleep 0.5 # the listener writes what is still in its socket
cat "$T/ok.msgs"
expect_eq "first message" "$(sed -n 2p "$T/ok.msgs")" "READY=1|STATUS=running: 3 nodes"
pings=$(grep -cx "WATCHDOG=1" "$T/ok.msgs")
[ "$pings" -ge 3 ] || fail "only $pings WATCHDOG=1 pings in a 3 s run at 400 ms"
echo "ok: $pings pings"
expect_grep "^STOPPING=1|STATUS=stopping" "$T/ok.msgs"
expect_grep "^STATUS=running: 0 of 3 nodes (0 failed, 3 finished)" "$T/ok.msgs"
! grep -q stalled "$T/ok.msgs" "$T/ok.log" || fail "a healthy graph was called stalled"
expect_grep "systemd watchdog: 0.4 s" "$T/ok.log"

# --- WATCHDOG_PID names another process: that watchdog is not ours
listen other "$T/other.sock"
NOTIFY_SOCKET=$T/other.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
	"$VPIPE" run "$T/ok.ini" --duration 1s >"$T/other.log" 2>&1 ||
	{ cat "$T/other.log"; fail "the run with another WATCHDOG_PID failed"; }
sleep 0.5
expect_grep "^READY=1" "$T/other.msgs"
! grep -q "WATCHDOG=1" "$T/other.msgs" || fail "pinged a watchdog meant for pid 1"
echo "ok: no pings for a watchdog meant for another process"

# --- a node that hangs in its own code; abstract socket
listen hang "@vpipe-notify-test-$$"
graph "$T/hang.ini" "hang-after = 10"
NOTIFY_SOCKET=@vpipe-notify-test-$$ WATCHDOG_USEC=300000 \
	"$VPIPE" run "$T/hang.ini" --duration 3s >"$T/hang.log" 2>&1 || true
sleep 0.5
cat "$T/hang.msgs"
expect_grep "pass: stalled: in a module callback" "$T/hang.log"
! grep -q "cam: stalled" "$T/hang.log" || fail "the source waiting for room was blamed"
expect_grep "^STATUS=stalled: node pass in a module callback" "$T/hang.msgs"
# Pings before the stall; none from the stall until the node moved again.
awk '
	/^WATCHDOG=1$/ { if (stalled) bad++; else before++ }
	/^STATUS=stalled/ { stalled = 1; stalls++ }
	/making progress again/ { stalled = 0 }
	END {
		printf "pings before the stall: %d, during: %d\n", before, bad
		exit !(before >= 1 && stalls == 1 && bad == 0)
	}' "$T/hang.msgs" || fail "WATCHDOG=1 sent while a node was stalled"
echo "PASS"
