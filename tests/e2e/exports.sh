#!/usr/bin/env bash
# Only the documented API leaves a shared object: libvpipe exports vpipe_*
# symbols and nothing else (every one declared VPIPE_API in the public
# headers), each module exports its descriptor `vpipe_module` alone. The
# command carries the one kernel of the process: it does not load
# libvpipe.so, and no module asks for it, so a module's vpipe_* calls reach
# the command's kernel (one logger, one clock).
source "$VPIPE_TOP/tests/lib.sh"
need nm readelf
defined() { nm -D --defined-only "$1" | awk '{print $3}' | sort; }

lib="$BUILD/lib/libvpipe.so"
defined "$lib" >"$T/lib.txt"
others=$(grep -v '^vpipe_' "$T/lib.txt" || true)
[ -z "$others" ] || fail "libvpipe.so exports non-API symbols: $others"
# The exported list is exactly what the headers declare VPIPE_API.
# (a declaration may wrap after its return type)
perl -0777 -ne 'print "$1\n" while /^VPIPE_API\b[^;(]*?\b(vpipe_\w+)\s*\(/mg' \
	"$VPIPE_TOP"/kernel/include/vpipe/*.h | sort >"$T/api.txt"
[ -s "$T/api.txt" ] || fail "no VPIPE_API declarations found"
diff "$T/api.txt" "$T/lib.txt" >"$T/diff.txt" || { cat "$T/diff.txt"; fail "libvpipe.so exports differ from the VPIPE_API declarations"; }
echo "ok: libvpipe.so exports the $(wc -l <"$T/lib.txt") VPIPE_API functions only"

n=0
for so in "$VPIPE_MODULE_PATH"/*.so; do
	got=$(defined "$so" | tr '\n' ' ')
	[ "$got" = "vpipe_module " ] || fail "$(basename "$so") exports: $got"
	readelf -d "$so" | grep -q 'NEEDED.*libvpipe' && fail "$(basename "$so") links libvpipe.so"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no modules in $VPIPE_MODULE_PATH"
echo "ok: $n modules export vpipe_module only"

readelf -d "$VPIPE" | grep -q 'NEEDED.*libvpipe' && fail "vpipe links libvpipe.so (a second kernel)"
defined "$VPIPE" | grep '^vpipe_' >"$T/cmd.txt"
diff "$T/api.txt" "$T/cmd.txt" >"$T/cdiff.txt" || { cat "$T/cdiff.txt"; fail "vpipe does not export the API its modules call"; }
echo "ok: vpipe holds the kernel and exports the API to modules"
