#!/usr/bin/env bash
# Every subcommand answers --help with its own usage on stdout and exit 0
# (issue 15): `vpipe run --help` used to say "unknown option", `vpipe modules
# --help` looked for a module named --help. `vpipe graph` draws every shipped
# graph in an empty environment (no ${VAR} set, no credentials) and prints no
# credential warning: a picture of the graph needs no secrets.
source "$VPIPE_TOP/tests/lib.sh"

for cmd in run check graph modules version kvs-local probe; do
	rc=0
	"$VPIPE" "$cmd" --help >"$T/$cmd.out" 2>"$T/$cmd.err" || rc=$?
	expect_eq "vpipe $cmd --help exit status" "$rc" 0
	expect_grep "usage: vpipe.$cmd" "$T/$cmd.out"
	if grep -qi "unknown option\|unknown module\|error:" "$T/$cmd.out" "$T/$cmd.err"; then
		cat "$T/$cmd.out" "$T/$cmd.err"
		fail "vpipe $cmd --help complained"
	fi
done
rc=0
"$VPIPE" run --bogus x.ini >"$T/bogus.out" 2>&1 || rc=$?
expect_eq "vpipe run --bogus exit status" "$rc" 2
expect_grep "unknown option '--bogus'" "$T/bogus.out"
expect_grep "usage: vpipe run" "$T/bogus.out"

# The module directory --help names is the one the command searches.
"$VPIPE" --help >"$T/help.out"
dir=$(sed -n 's/.*\$VPIPE_MODULE_PATH, then \(.*\)\.$/\1/p' "$T/help.out")
[ -n "$dir" ] || { cat "$T/help.out"; fail "--help names no module directory"; }
env -u VPIPE_MODULE_PATH "$VPIPE" modules nosuchmodule >"$T/m.out" 2>&1 || true
expect_grep "searched $dir" "$T/m.out"

for f in "$VPIPE_TOP"/conf/*.ini; do
	name=$(basename "$f" .ini)
	env -i PATH="$PATH" HOME=/nonexistent VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH" \
		"$VPIPE" graph "$f" >"$T/$name.dot" 2>"$T/$name.err" ||
		{ cat "$T/$name.err"; fail "vpipe graph $name failed without its variables"; }
	grep -q '^digraph vpipe' "$T/$name.dot" || fail "$name: no DOT output"
	[ ! -s "$T/$name.err" ] || { cat "$T/$name.err"; fail "vpipe graph $name printed warnings"; }
done
echo "ok: every conf/*.ini drawn without its environment, nothing on stderr"
echo "PASS"
