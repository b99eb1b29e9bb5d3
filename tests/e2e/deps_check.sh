#!/usr/bin/env bash
# tests/deps.sh plans its whole package list with apt, installed or not, and
# refuses a list apt cannot install beside what this machine has, with apt's
# reason; a node/npm already on PATH is used instead of Debian's packages
# (issue: Debian's npm conflicts with NodeSource's nodejs and stopped the
# whole install on a fresh machine); bin/vpipe-demo says which step failed.
source "$VPIPE_TOP/tests/lib.sh"
need apt-get dpkg-query
cd "$VPIPE_TOP"

tests/deps.sh --check >"$T/check" 2>&1 || { cat "$T/check"; fail "the package list does not plan"; }
expect_grep "plans cleanly" "$T/check"

tests/deps.sh --list >"$T/list"
if command -v node >/dev/null && command -v npm >/dev/null; then
	if grep -qx -e nodejs -e npm "$T/list"; then
		fail "node and npm are on PATH, yet the list asks apt for nodejs/npm"
	fi
	echo "ok: node/npm on PATH are used, not asked of apt"
fi

# A package that cannot be installed: --check fails, names it, shows apt's words.
if DEPS_EXTRA_PKGS=vpipe-no-such-package tests/deps.sh --check >"$T/bad" 2>&1; then
	cat "$T/bad"; fail "--check passed a list with a package apt does not know"
fi
expect_grep "vpipe-no-such-package" "$T/bad"
expect_grep "Nothing was installed" "$T/bad"

# The conflict itself, where this machine has a nodejs that is not Debian's:
# asking for Debian's npm beside it must be refused before anything installs.
if dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q nodesource; then
	if DEPS_EXTRA_PKGS=npm tests/deps.sh --check >"$T/conflict" 2>&1; then
		cat "$T/conflict"; fail "--check passed Debian's npm beside NodeSource's nodejs"
	fi
	expect_grep "npm" "$T/conflict"
	expect_grep "Nothing was installed" "$T/conflict"
else
	echo "note: no NodeSource nodejs here; the npm conflict case is not tried"
fi

# The demo: --help names the switches; a failing step is named with a hint.
bin/vpipe-demo --help >"$T/help"
expect_grep VPIPE_DEMO_SKIP_DEPS "$T/help"
expect_grep VPIPE_DEMO_SKIP_BUILD "$T/help"
if VPIPE_DEMO_SKIP_DEPS=1 VPIPE_DEMO_SKIP_BUILD=1 BUILD=no-such-build-dir \
	VPIPE_DEMO_DIR="$T/demo" bin/vpipe-demo 1s >"$T/demo.out" 2>&1; then
	fail "the demo passed without a build"
fi
expect_grep "step 'starting kvs-local' failed" "$T/demo.out"
