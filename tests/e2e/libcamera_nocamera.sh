#!/usr/bin/env bash
# libcamera without a camera (no /dev/media* here): the module loads,
# `vpipe modules` prints its table, `vpipe check` validates the section
# (bad values refused with file:line), and `vpipe run` fails with a clear
# "no camera" error instead of crashing or hanging.
source "$VPIPE_TOP/tests/lib.sh"
[ -f "$VPIPE_MODULE_PATH/libcamera.so" ] || skip "libcamera module not built (pkg-config libcamera missing)"
if ls /dev/media* >/dev/null 2>&1; then skip "a media device exists here: this test wants none"; fi

"$VPIPE" modules libcamera >"$T/mod.out"
expect_grep "camera-index" "$T/mod.out"
expect_grep "one of: nv12, i420" "$T/mod.out"
expect_grep "rotation .*one of: 0, 180" "$T/mod.out"
expect_grep "hflip" "$T/mod.out"

cat >"$T/rot.ini" <<'INI'
[cam]
module = libcamera
rotation = 90
INI
if "$VPIPE" check "$T/rot.ini" >"$T/rot.out" 2>&1; then fail "rotation 90 accepted"; fi
expect_grep "rot.ini:3" "$T/rot.out"

cat >"$T/bad.ini" <<'INI'
[cam]
module = libcamera
format = yuyv
INI
if "$VPIPE" check "$T/bad.ini" >"$T/bad.out" 2>&1; then fail "format yuyv accepted"; fi
expect_grep "bad.ini:3" "$T/bad.out"

cat >"$T/odd.ini" <<'INI'
[cam]
module = libcamera
width = 321
[out]
module = null
input = cam
INI
if "$VPIPE" check "$T/odd.ini" >"$T/odd.out" 2>&1; then fail "odd width accepted"; fi
expect_grep "must be even" "$T/odd.out"

cat >"$T/g.ini" <<'INI'
[cam]
module = libcamera
width = 320
height = 240
rotation = 180
hflip = true
[out]
module = null
input = cam
INI
"$VPIPE" check "$T/g.ini" >"$T/check.out" 2>&1 || { cat "$T/check.out"; fail "check failed"; }
if timeout 20 "$VPIPE" run "$T/g.ini" --duration 3s >"$T/run.out" 2>&1; then
	cat "$T/run.out"; fail "run succeeded without a camera"
fi
rc=$?
[ "$rc" -ne 124 ] || fail "vpipe run hung"
expect_grep "no camera found by libcamera" "$T/run.out"
if grep -q "Sanitizer" "$T/run.out"; then cat "$T/run.out"; fail "sanitizer report on the failure path"; fi
echo PASS
