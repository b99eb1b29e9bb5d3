#!/usr/bin/env bash
# make install honours PREFIX and DESTDIR and installs headers and vpipe.pc;
# a module built outside the tree with pkg-config loads and runs, and its
# own test, written with the installed harness (vpipe/harness.h), passes and
# fails when the module is broken; a module
# built for another ABI, and module names that are paths, are refused.
source "$VPIPE_TOP/tests/lib.sh"
cd "$VPIPE_TOP"
make -s BUILD="$BUILD" install-files PREFIX="$T/prefix" >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install"; }
for f in bin/vpipe lib/libvpipe.so.1 include/vpipe/module.h include/vpipe/frame.h \
	include/vpipe/harness.h \
	lib/pkgconfig/vpipe.pc lib/vpipe/modules/testsrc.so; do
	[ -e "$T/prefix/$f" ] || fail "make install did not install $f"
done
make -s BUILD="$BUILD" install-files PREFIX=/usr DESTDIR="$T/stage" >"$T/stage.log" 2>&1 || { cat "$T/stage.log"; fail "make install DESTDIR"; }
[ -e "$T/stage/usr/include/vpipe/module.h" ] || fail "DESTDIR not honoured"
grep -q "^prefix=/usr$" "$T/stage/usr/lib/pkgconfig/vpipe.pc" || fail "vpipe.pc prefix with DESTDIR"
echo "ok: install with PREFIX and with DESTDIR"

# Build the example module as a user would, from the installed files only.
export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
mkdir -p "$T/mods"
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$T/mods/grayscale.so" \
	docs/examples/grayscale/grayscale.c $(pkg-config --cflags vpipe) $(pkg-config --libs vpipe)
echo "ok: example module built with pkg-config --cflags vpipe"

# The example's test, on the harness, from the installed files only. A
# program linked with a sanitized libvpipe (make check) needs the same
# sanitizer's runtime first.
san=()
case "${VPIPE_SANITIZER:-}" in
asan) san=(-fsanitize=address,undefined) ;;
tsan) san=(-fsanitize=thread) ;;
esac
cc -std=c11 -Wall -Wextra -Werror "${san[@]}" -o "$T/test_grayscale" \
	docs/examples/grayscale/test_grayscale.c docs/examples/grayscale/grayscale.c \
	$(pkg-config --cflags --libs vpipe-harness)
LD_LIBRARY_PATH="$T/prefix/lib" "$T/test_grayscale" >"$T/harness.log" 2>&1 ||
	{ cat "$T/harness.log"; fail "the example's harness test failed"; }
expect_grep "test_grayscale: ok" "$T/harness.log"
# A module that no longer removes colour fails its test.
sed 's/return (uint8_t)(c + (128 - c) \* strength \/ 100);/return c;/' \
	docs/examples/grayscale/grayscale.c >"$T/broken.c"
! cmp -s "$T/broken.c" docs/examples/grayscale/grayscale.c || fail "sed did not break the module"
cc -std=c11 "${san[@]}" -o "$T/test_broken" docs/examples/grayscale/test_grayscale.c "$T/broken.c" \
	$(pkg-config --cflags --libs vpipe-harness)
if LD_LIBRARY_PATH="$T/prefix/lib" "$T/test_broken" >"$T/broken.log" 2>&1; then
	cat "$T/broken.log"
	fail "the harness test passed a module that keeps the colour"
fi
expect_grep "test_grayscale: FAILED" "$T/broken.log"

cat >"$T/g.ini" <<INI
[pipeline]
module-path = $T/mods

[cam]
module = testsrc
width = 32
height = 16
format = nv12
num-frames = 5
is-live = false

[gray]
module = grayscale
input = cam
strength = 100

[out]
module = filesink
input = gray
location = $T/out.nv12
INI
# the installed vpipe, with its installed module directory
env -u VPIPE_MODULE_PATH "$T/prefix/bin/vpipe" modules grayscale >"$T/mod.txt" 2>&1 || true
VPIPE_MODULE_PATH="$T/mods" "$T/prefix/bin/vpipe" modules grayscale >"$T/mod.txt"
expect_grep "strength                 int      default 100; 0 to 100" "$T/mod.txt"
env -u VPIPE_MODULE_PATH "$T/prefix/bin/vpipe" run "$T/g.ini" 2>"$T/log" || { cat "$T/log"; fail "run with the out-of-tree module"; }
expect_grep "gray: frames in=5 out=5" "$T/log"
expect_grep "gray: frames in=5 out=5 .* grayscale_frames_total=5" "$T/log"
# every chroma byte of every frame is neutral
/usr/bin/python3 - "$T/out.nv12" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
fs = 32 * 16 * 3 // 2
assert len(d) == 5 * fs, len(d)
for i in range(5):
    uv = d[i * fs + 32 * 16:(i + 1) * fs]
    assert set(uv) == {128}, set(uv)
print("ok: 5 frames, chroma neutral")
PY

# A counter name that breaks the naming rule is refused at first use, once,
# and never published; the pipeline itself runs on.
sed 's/"grayscale_frames_total"/"GrayscaleFrames"/' docs/examples/grayscale/grayscale.c >"$T/badname.c"
mkdir -p "$T/badmods"
cc -shared -fPIC -o "$T/badmods/grayscale.so" "$T/badname.c" $(pkg-config --cflags vpipe)
sed "s|^module-path = .*|module-path = $T/badmods|" "$T/g.ini" >"$T/bad.ini"
"$T/prefix/bin/vpipe" run "$T/bad.ini" 2>"$T/bad.log" || { cat "$T/bad.log"; fail "run with a bad counter name"; }
expect_grep "gray: counter name 'GrayscaleFrames' refused: use lower-case letters" "$T/bad.log"
[ "$(grep -c "'GrayscaleFrames' refused" "$T/bad.log")" = 1 ] || fail "the refusal was logged more than once"
grep -q "GrayscaleFrames=" "$T/bad.log" && fail "a refused counter was published"
echo "ok: a bad counter name is refused once and not published"

# ABI mismatch: the same module claiming another ABI version.
sed 's/\.abi_version = VPIPE_ABI_VERSION/.abi_version = VPIPE_ABI_VERSION + 1/' \
	docs/examples/grayscale/grayscale.c >"$T/future.c"
cc -shared -fPIC -o "$T/mods/grayscale.so" "$T/future.c" $(pkg-config --cflags vpipe)
if "$T/prefix/bin/vpipe" check "$T/g.ini" >"$T/abi.out" 2>&1; then fail "ABI mismatch accepted"; fi
expect_grep "was built for vpipe ABI version 2, but this vpipe has ABI version 1" "$T/abi.out"

# A module may not declare a parameter under a name vpipe handles itself.
sed 's/"strength", struct grayscale_config/"queue-size", struct grayscale_config/' \
	docs/examples/grayscale/grayscale.c >"$T/clash.c"
cc -shared -fPIC -o "$T/mods/grayscale.so" "$T/clash.c" $(pkg-config --cflags vpipe)
if "$T/prefix/bin/vpipe" check "$T/g.ini" >"$T/clash.out" 2>&1; then fail "kernel key as a module parameter accepted"; fi
expect_grep "declares a parameter 'queue-size', a key vpipe itself handles" "$T/clash.out"

# Only NAME.so files in the search path load; a name that is a path is refused.
printf '[x]\nmodule = %s\n' "$T/mods/grayscale" >"$T/path.ini"
if "$VPIPE" check "$T/path.ini" >"$T/path.out" 2>&1; then fail "path accepted as module"; fi
expect_grep "invalid module name" "$T/path.out"
printf '[x]\nmodule = ..\n' >"$T/dots.ini"
if "$VPIPE" check "$T/dots.ini" >"$T/dots.out" 2>&1; then fail "'..' accepted as module"; fi
expect_grep "invalid module name '..'" "$T/dots.out"
# A shared object that is not a vpipe module.
cp "$BUILD/lib/libvpipe.so" "$T/mods/notamodule.so"
printf '[pipeline]\nmodule-path = %s\n[x]\nmodule = notamodule\n' "$T/mods" >"$T/nm.ini"
if "$VPIPE" check "$T/nm.ini" >"$T/nm.out" 2>&1; then fail "non-module accepted"; fi
expect_grep "is not a vpipe module: no 'vpipe_module' symbol" "$T/nm.out"
