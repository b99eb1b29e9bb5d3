#!/usr/bin/env bash
# make install as a packager runs it (issue 15): into a DESTDIR, the exact
# file list (command, library, modules, headers, pkg-config file, man pages,
# systemd unit, example graphs); the installed vpipe runs from there and
# finds its own modules; the man pages are mandoc-lint clean and list every
# parameter `vpipe modules` prints; systemd-analyze verify accepts the
# installed unit; vpipe check compares each shipped graph with its MemoryMax.
source "$VPIPE_TOP/tests/lib.sh"
need mandoc systemd-analyze
cd "$VPIPE_TOP"

root=$T/root
make -s BUILD="$BUILD" install-files DESTDIR="$root" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "make install-files DESTDIR"; }
p=/usr/local
{
	echo "$p/bin/vpipe"
	echo "$p/bin/vpipe-kvs-local"
	for h in kernel/include/vpipe/*.h; do echo "$p/include/vpipe/$(basename "$h")"; done
	echo "$p/lib/libvpipe.so"
	echo "$p/lib/libvpipe.so.1"
	echo "$p/lib/pkgconfig/vpipe.pc"
	echo "$p/lib/pkgconfig/vpipe-harness.pc"
	echo "$p/lib/systemd/system/vpipe@.service"
	for m in "$BUILD"/modules/*.so; do echo "$p/lib/vpipe/modules/$(basename "$m")"; done
	echo "$p/share/man/man1/vpipe.1"
	echo "$p/share/man/man5/vpipe.ini.5"
	for c in conf/*.ini conf/vpipe@.service; do echo "$p/share/vpipe/conf/$(basename "$c")"; done
} | sort >"$T/want"
(cd "$root" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$T/got"
diff -u "$T/want" "$T/got" || fail "the installed files differ from the list above"
echo "ok: $(wc -l <"$T/got") files installed, as listed"

# The installed command, without VPIPE_MODULE_PATH, uses (and names) the
# module directory beside it.
V=$root$p/bin/vpipe
unset VPIPE_MODULE_PATH
"$V" --help >"$T/help.out"
expect_grep "then $root$p/lib/vpipe/modules\.$" "$T/help.out"
"$V" modules >"$T/modules.out"
for m in "$BUILD"/modules/*.so; do
	grep -q "^  $(basename "$m" .so) " "$T/modules.out" ||
		{ cat "$T/modules.out"; fail "installed vpipe does not list $(basename "$m")"; }
done
printf '[cam]\nmodule = testsrc\nwidth = 64\nheight = 48\n\n[out]\nmodule = null\ninput = cam\n' >"$T/g.ini"
"$V" run "$T/g.ini" --duration 1s >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "installed vpipe run"; }
expect_grep "cam: frames in=0 out=[1-9]" "$T/run.log"

# Man pages: lint clean, and every module parameter is in vpipe.ini(5).
for page in "$root$p/share/man/man1/vpipe.1" "$root$p/share/man/man5/vpipe.ini.5"; do
	mandoc -T lint -W style "$page" >"$T/lint.out" 2>&1 || true
	[ ! -s "$T/lint.out" ] || { cat "$T/lint.out"; fail "mandoc -T lint: $(basename "$page")"; }
done
echo "ok: mandoc -T lint finds nothing in vpipe.1 and vpipe.ini.5"
mandoc -T utf8 "$root$p/share/man/man5/vpipe.ini.5" | col -b >"$T/ini5.txt"
params=0
for m in "$BUILD"/modules/*.so; do
	name=$(basename "$m" .so)
	"$V" modules "$name" | sed -n '/^parameters:/,$p' |
		sed -n 's/^  \([a-z0-9][a-z0-9-]*\) .*/\1/p' >"$T/params"
	while read -r k; do
		grep -q -- "^ *$k " "$T/ini5.txt" || fail "vpipe.ini(5) lacks $name's $k"
		params=$((params + 1))
	done <"$T/params"
done
echo "ok: vpipe.ini(5) has all $params module parameters"
mandoc -T utf8 "$root$p/share/man/man1/vpipe.1" | col -b >"$T/vpipe1.txt"
for cmd in run check graph modules kvs-local probe version; do
	grep -q "^ *$cmd" "$T/vpipe1.txt" || fail "vpipe(1) lacks the $cmd command"
done

# systemd-analyze verify on the installed unit, with the system's own units
# beside it under the same root; its Documentation= pages are the installed
# ones.
mkdir -p "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
MANPATH=$root$p/share/man systemd-analyze verify --root="$root" vpipe@cam1.service \
	>"$T/verify.log" 2>&1 ||
	{ cat "$T/verify.log"; fail "systemd-analyze verify vpipe@cam1.service"; }
echo "ok: systemd-analyze verify passes"
expect_grep "^ExecStart=$p/bin/vpipe run" "$root$p/lib/systemd/system/vpipe@.service"
expect_grep "^Type=notify" "$root$p/lib/systemd/system/vpipe@.service"
expect_grep "^WatchdogSec=" "$root$p/lib/systemd/system/vpipe@.service"

# Each shipped single-camera graph fits the unit's MemoryMax; the four-camera
# graph does not, until a drop-in raises it (docs/raspberry-pi.md).
unit=$T/vpipe@.service
cp "$root$p/lib/systemd/system/vpipe@.service" "$unit"
export HOME=$T CAM_PASSWORD=x KVS_STREAM_NAME=x VPIPE_KVS_ENDPOINT=http://127.0.0.1:9 \
	AWS_ACCESS_KEY_ID=AKIDX AWS_SECRET_ACCESS_KEY=x
for f in "$root$p"/share/vpipe/conf/*.ini; do
	name=$(basename "$f" .ini)
	"$V" check "$f" --unit "$unit" >"$T/$name.out" 2>"$T/$name.err" ||
		{ cat "$T/$name.err"; fail "vpipe check $name"; }
	expect_grep "MemoryMax of $unit is 128.0 MB" "$T/$name.out"
	if [ "$name" = rtsp-cameras-kvs ]; then
		expect_grep "warning: the planned memory ceiling (.*) exceeds MemoryMax" "$T/$name.err"
	elif grep -q "warning: the planned memory" "$T/$name.err"; then
		cat "$T/$name.err"
		fail "$name does not fit the unit's MemoryMax"
	fi
done
mkdir "$unit.d"
printf '[Service]\nMemoryMax=224M\n' >"$unit.d/memory.conf"
"$V" check "$root$p/share/vpipe/conf/rtsp-cameras-kvs.ini" --unit "$unit" >"$T/dropin.out" 2>"$T/dropin.err"
expect_grep "MemoryMax of $unit is 224.0 MB" "$T/dropin.out"
! grep -q "warning: the planned memory" "$T/dropin.err" || fail "the drop-in was not read"
echo "PASS"
