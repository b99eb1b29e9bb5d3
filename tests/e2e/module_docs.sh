#!/usr/bin/env bash
# Documentation matches the code: every module has docs/modules/NAME.md and
# every parameter `vpipe modules NAME` prints is named on that page.
source "$VPIPE_TOP/tests/lib.sh"
missing=0
for so in "$VPIPE_MODULE_PATH"/*.so; do
	m=$(basename "$so" .so)
	doc="$VPIPE_TOP/docs/modules/$m.md"
	[ -f "$doc" ] || { echo "missing: docs/modules/$m.md"; missing=$((missing + 1)); continue; }
	"$VPIPE" modules "$m" >"$T/$m.txt"
	for p in $(sed -n 's/^  \([a-z][a-z0-9-]*\)  *\(string\|int\|bool\|enum\|duration\|size\|path\|secret\|number\) .*/\1/p' "$T/$m.txt"); do
		grep -q -- "\`$p\`\|\b$p\b" "$doc" || { echo "docs/modules/$m.md does not mention parameter '$p'"; missing=$((missing + 1)); }
	done
	echo "ok: $m"
done
[ "$missing" -eq 0 ] || fail "$missing documentation gaps"

# The kernel's own keys (`vpipe modules` lists them from their tables) are
# all described in docs/config.md.
"$VPIPE" modules >"$T/list.txt"
expect_grep "^common node keys" "$T/list.txt"
expect_grep "^\[pipeline\] keys" "$T/list.txt"
keys=$(sed -n 's/^  \([a-z][a-z0-9-]*\)  *\(string\|int\|bool\|enum\|duration\|size\|path\) .*/\1/p' "$T/list.txt")
[ "$(echo "$keys" | wc -l)" -ge 10 ] || fail "too few kernel keys listed: $keys"
for k in $keys; do
	grep -q -- "\`$k\`" "$VPIPE_TOP/docs/config.md" || { echo "docs/config.md does not mention key '$k'"; missing=$((missing + 1)); }
done
[ "$missing" -eq 0 ] || fail "$missing documentation gaps"
echo "ok: every kernel key is in docs/config.md"
