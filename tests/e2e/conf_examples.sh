#!/usr/bin/env bash
# Every example graph in conf/ passes `vpipe check` (the files users start
# from must not rot). Environment variables they use get placeholder values;
# a graph whose module was not built on this machine is reported and skipped.
source "$VPIPE_TOP/tests/lib.sh"
export KVS_STREAM_NAME=example AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=example
export VPIPE_KVS_ENDPOINT=http://127.0.0.1:4567
export CAM_PASSWORD=password
checked=0
for f in "$VPIPE_TOP"/conf/*.ini; do
	out="$T/$(basename "$f").out"
	if "$VPIPE" check "$f" >"$out" 2>&1; then
		checked=$((checked + 1))
		echo "ok: $(basename "$f")"
	elif grep -q "unknown module" "$out" && ! grep -q "error:.*error:" "$out"; then
		echo "note: $(basename "$f") needs a module not built here: $(grep -o "unknown module '[^']*'" "$out")"
	else
		cat "$out"
		fail "$(basename "$f") does not pass vpipe check"
	fi
done
[ "$checked" -gt 5 ] || fail "only $checked example graphs checked"
echo "$checked example graphs pass vpipe check"
