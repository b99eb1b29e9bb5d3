#!/usr/bin/env bash
# `vpipe check` on input that is not a graph file, or a graph file with
# binary bytes in it: bounded (no endless read, no growing memory), a clear
# error with file:line, and no raw control byte echoed to the terminal.
# `vpipe graph` writes valid DOT whatever the node names hold.
source "$VPIPE_TOP/tests/lib.sh"
# no_raw_controls FILE: the output holds no control byte but tab and LF.
no_raw_controls() {
	if [ "$(LC_ALL=C tr -d '\t\n\040-\176\200-\377' <"$1" | wc -c)" != 0 ]; then
		od -c "$1" | head >&2
		fail "raw control bytes in $1"
	fi
	echo "ok: no raw control bytes in $1"
}
# check_fails NAME WANT [ARGS...]: vpipe check fails and says WANT.
check_fails() {
	local name=$1 want=$2
	shift 2
	rc=0
	timeout 60 "$VPIPE" check "$@" >"$T/$name.out" 2>&1 || rc=$?
	[ "$rc" != 124 ] || fail "$name: vpipe check did not end"
	[ "$rc" != 0 ] || { cat "$T/$name.out"; fail "$name: check passed"; }
	grep -qF -- "$want" "$T/$name.out" || { cat "$T/$name.out"; fail "$name: want '$want'"; }
	no_raw_controls "$T/$name.out"
	echo "ok: $name: $want"
}

# An endless device: read up to the limit only (memory stays small).
check_fails dev_zero "/dev/zero:1: error: the file goes on past 1 MiB: not a graph file" /dev/zero
rss=$(/usr/bin/time -f %M "$VPIPE" check /dev/zero 2>&1 >/dev/null | tail -n 1)
[ "$rss" -lt 65536 ] || fail "vpipe check /dev/zero peaked at $rss KB"
echo "ok: vpipe check /dev/zero peaks at $rss KB"
# A large regular file.
head -c 3000000 /dev/zero | tr '\0' '\n' >"$T/big.ini"
check_fails big "big.ini:1048577: error: the file goes on past 1 MiB" "$T/big.ini"
# A directory.
check_fails directory "$T: error: is a directory, not a graph file" "$T"

# NUL inside a value is not cut short (was read as "32").
printf '[cam]\nmodule = testsrc\nwidth = 32\0 0\n' >"$T/nul.ini"
check_fails nul 'nul.ini:3: error: control character \x00 at column 11: not allowed in a graph file (only tab is)' "$T/nul.ini"
# A terminal escape sequence in a value, a key and a section name.
printf '[cam]\nmodule = testsrc\nwidth = 3\033[2J2\n' >"$T/esc.ini"
check_fails esc 'esc.ini:3: error: control character \x1b at column 10' "$T/esc.ini"
printf '[c\001am]\nmodule = testsrc\n' >"$T/esc_section.ini"
check_fails esc_section 'esc_section.ini:1: error: control character \x01 at column 3' "$T/esc_section.ini"
# --set likewise.
printf '[cam]\nmodule = testsrc\n' >"$T/ok.ini"
check_fails set_control "error: --set 'cam.width=3\\x072': control character \\x07" \
	"$T/ok.ini" --set "$(printf 'cam.width=3\a2')"
# A file name with control bytes is escaped in the error.
check_fails name_control 'error: cannot open' "$(printf '%s/no\033]0;x\a.ini' "$T")"

# Tab and CRLF line ends are fine.
printf '[cam]\r\nmodule\t= testsrc\r\nwidth = 64\r\n' >"$T/crlf.ini"
"$VPIPE" check "$T/crlf.ini" >"$T/crlf.out" 2>&1 || { cat "$T/crlf.out"; fail "CRLF file refused"; }
expect_grep "width = 64" "$T/crlf.out"

# DOT: node names with quotes and backslashes stay valid.
cat >"$T/names.ini" <<'INI'
[c"a\m]
module = testsrc
[o\]
module = null
input = c"a\m
INI
"$VPIPE" graph "$T/names.ini" >"$T/names.dot"
cat "$T/names.dot"
expect_grep '"c\\"a\\\\m" -> "o\\\\"' "$T/names.dot"
if command -v dot >/dev/null; then
	dot -Tplain "$T/names.dot" >"$T/names.plain" || fail "dot refused the graph"
	# dot read exactly two nodes and the one edge between them
	expect_eq "nodes dot read" "$(grep -c '^node ' "$T/names.plain")" 2
	expect_grep '^edge "c\\"a\\\\m" "o\\\\" ' "$T/names.plain"
else
	echo "note: graphviz (dot) not installed: DOT checked by pattern only"
fi
