#!/usr/bin/env bash
# A fast file source outrunning an uplink that is down: the kvs sink drops
# the oldest fragment again and again. The log gets the first warning and
# then one line per 10 s with the count held back, not a line per fragment;
# every dropped fragment is still counted (dropped_fragments_total), and
# the recovery is one line with the outage's length.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

# 120 s of pictures, one fragment per second, read as fast as it goes.
make_h264 "$T/in.h264" 120
start_kvs_local storm --refuse-for 4000
graph "$T/g.ini" "$T/in.h264" cam-storm "$KL_URL" "buffer-duration = 3s"
sed -i 's/^framerate = 30$/framerate = 30\nis-live = false/' "$T/g.ini"
t0=$(date +%s)
"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "run failed"; }
secs=$(($(date +%s) - t0 + 1))
lines=$(grep -c "dropped the" "$T/run.log" || true)
dropped=$(grep -o 'dropped_fragments_total=[0-9]*' "$T/run.log" | tail -1 | cut -d= -f2)
echo "figure: $dropped fragments dropped in $secs s, $lines log lines about it"
[ "${dropped:-0}" -gt 20 ] || { cat "$T/run.log"; fail "only ${dropped:-0} fragments dropped: no storm"; }
# the first line, one per 10 s of the run, the last count at exit
[ "$lines" -le $((2 + secs / 10)) ] || { grep "dropped the" "$T/run.log"; fail "$lines lines for $dropped drops in $secs s"; }
grep "dropped the" "$T/run.log"
expect_grep "like this in the last" "$T/run.log"
expect_grep "reconnected after an outage of [0-9.]* s" "$T/run.log"
