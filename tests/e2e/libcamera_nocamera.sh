#!/usr/bin/env bash
# libcamera without a camera (no /dev/media* here): the module loads,
# `vpipe modules` prints its table, `vpipe check` validates the section
# (bad values refused with file:line), and `vpipe run` fails with a clear
# "no camera" error instead of crashing or hanging; rpicam-apps-style
# options are checked; `vpipe probe --libcamera` reports no camera.
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

# rpicam-apps' camera options: malformed values, and what this build's
# libcamera cannot express, are refused by `vpipe check` with the key.
check_refused() { # NAME 'key = value' expected-text
	printf '[cam]\nmodule = libcamera\n%s\n[out]\nmodule = null\ninput = cam\n' "$2" >"$T/$1.ini"
	if "$VPIPE" check "$T/$1.ini" >"$T/$1.out" 2>&1; then fail "$2 accepted"; fi
	expect_grep "$3" "$T/$1.out"
}
check_refused roi 'roi = 0.5,0.5,0.6,0.2' "roi = 0.5,0.5,0.6,0.2: .*x+w, y+h at most 1"
check_refused gains 'awbgains = 1.5' "awbgains = 1.5: '1.5' is not red,blue"
check_refused mode 'mode = 2304x1296' "mode = 2304x1296: '2304x1296' is not W:H"
check_refused awb 'awb = sunny' "awb.ini:3: .*invalid value 'sunny' for awb: one of: default, auto"
check_refused lens 'lens-position = -0.5' "lens-position = -0.5: dioptres are 0 or more"
check_refused tuning 'tuning-file = /nonexistent/imx708.json' "tuning-file = /nonexistent/imx708.json: cannot be read"
if pkg-config --exists 'libcamera < 0.2'; then
	check_refused hdr 'hdr = single-exp' "hdr needs libcamera 0.2 or later"
	check_refused flicker 'flicker-period = 10ms' "flicker-period needs libcamera 0.2 or later"
fi

cat >"$T/g.ini" <<'INI'
[cam]
module = libcamera
shutter = 10ms
gain = 2
awb = daylight
autofocus-mode = continuous
roi = 0.25,0.25,0.5,0.5
mode = 2304:1296:10:P
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
# `vpipe probe --libcamera` goes through the module: it names the version
# and says there is no camera, exiting 1.
if "$VPIPE" probe --libcamera >"$T/probe.out" 2>&1; then
	cat "$T/probe.out"; fail "probe --libcamera succeeded without a camera"
fi
expect_grep "^libcamera v\?0\.[0-9.]* (module built with " "$T/probe.out"
expect_grep "no camera found by libcamera" "$T/probe.out"
echo PASS
