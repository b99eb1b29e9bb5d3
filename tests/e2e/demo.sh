#!/usr/bin/env bash
# The README's first command works: bin/vpipe-demo streams a test camera to
# kvs-local and reads every frame back.
source "$VPIPE_TOP/tests/lib.sh"
need aws ffprobe
cd "$VPIPE_TOP"
VPIPE_DEMO_SKIP_DEPS=1 VPIPE_DEMO_SKIP_BUILD=1 VPIPE_DEMO_DIR="$T/demo" bin/vpipe-demo 5s >"$T/out" 2>&1 || { cat "$T/out"; fail "demo failed"; }
cat "$T/out"
line=$(grep "read back" "$T/out")
frames=$(echo "$line" | sed -n 's/.*= 640,480,\([0-9]*\);.*/\1/p')
sent=$(sed -n 's/.*cloud: capture-to-wire latency .*; \([0-9]*\) frames.*/\1/p' "$T/out")
[ -n "$frames" ] && [ "$frames" -gt 100 ] || fail "read back '$frames' frames"
expect_eq "frames read back = frames sent" "$frames" "$sent"
expect_grep "every fragment acknowledged" "$T/out"
