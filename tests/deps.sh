#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on Debian 12.
# Used by .ci/run, `make deps`, bin/vpipe-demo and the README. Safe to run again.
#
#   tests/deps.sh            plan the whole list with apt, then install what is missing
#   tests/deps.sh --check    only plan: fail with apt's reason if any package of the
#                            list cannot be installed beside what this machine has
#   tests/deps.sh --list     print the package list (one per line) and exit
#
# Every package of the list is planned (`apt-get install --simulate`), installed
# or not, so a list that no longer installs on a fresh machine fails here even
# where every package happens to be installed already.
#
# Node.js and npm: a `node` and `npm` already on PATH are used as they are
# (NodeSource's nodejs conflicts with Debian's npm, and asking apt for it stops
# the whole install); Debian's are installed only when there is none.
set -eu
cd "$(dirname "$0")/.."

# The oldest Node.js the npm packages of tests/package.json run on (s3rver 3).
NODE_MIN_MAJOR=16

PKGS=(
	# build
	build-essential pkg-config clang clang-format libclang-rt-14-dev
	libinih-dev libssl-dev libcurl4-openssl-dev libck-dev
	# media libraries and tools
	libx264-dev x264 ffmpeg libavcodec-dev libavformat-dev libavutil-dev
	libswscale-dev
	libturbojpeg0-dev libpng-dev libomxil-bellagio-dev libcamera-dev v4l-utils
	libfreetype-dev fonts-dejavu-core
	mkvtoolnix gstreamer1.0-tools gstreamer1.0-plugins-base
	gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad
	gstreamer1.0-plugins-base-apps gstreamer1.0-libav gstreamer1.0-x
	# test peers
	python3 python3-gi gir1.2-gst-rtsp-server-1.0 python3-botocore awscli
	valgrind curl openssl strace graphviz
	# operations: man page lint (mandoc -T lint), unit checks (systemd-analyze)
	mandoc systemd
)

mode=install
case "${1:-}" in
--check) mode=check ;;
--list) mode=list ;;
"") ;;
-h | --help)
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "tests/deps.sh: unknown option '$1' (try --help)" >&2
	exit 2
	;;
esac

say() { echo "deps: $*" >&2; }

# Node.js and npm: from PATH when there, from Debian otherwise.
node_ok=1
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if [ "${major:-0}" -lt "$NODE_MIN_MAJOR" ]; then
		say "node $(node --version 2>/dev/null) on PATH ($(command -v node)) is too old:" \
			"the test servers (s3rver, tests/package.json) need Node.js $NODE_MIN_MAJOR or newer." \
			"Install a newer one, or take it off PATH so that Debian's nodejs is installed."
		node_ok=0
	fi
elif command -v node >/dev/null 2>&1; then
	say "node is on PATH ($(command -v node)) but npm is not: install the npm that goes with" \
		"that node (Debian's npm conflicts with a nodejs that did not come from Debian)."
	node_ok=0
else
	PKGS+=(nodejs npm)
fi

# DEPS_EXTRA_PKGS: more packages to plan and install (tests/e2e/deps_check.sh
# uses it to show that a list apt cannot install is refused with apt's reason).
# shellcheck disable=SC2206
PKGS+=(${DEPS_EXTRA_PKGS:-})

if [ "$mode" = list ]; then
	printf '%s\n' "${PKGS[@]}"
	exit 0
fi

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# Plans the whole list; prints apt's full answer on failure.
plan() {
	apt-get install --simulate --no-install-recommends "${PKGS[@]}" >/tmp/vpipe-deps-plan.$$ 2>&1
}
updated=0
if ! plan; then
	# A fresh machine may have no package lists yet, or stale ones.
	if [ "$mode" = install ] || [ -n "${CI:-}" ]; then
		$SUDO apt-get update -qq && updated=1
	fi
	if [ "$updated" = 0 ] || ! plan; then
		cat /tmp/vpipe-deps-plan.$$ >&2
		rm -f /tmp/vpipe-deps-plan.$$
		say "apt cannot install the package list of tests/deps.sh beside what this machine has" \
			"(apt's reason above). Nothing was installed."
		exit 1
	fi
fi
rm -f /tmp/vpipe-deps-plan.$$
[ "$node_ok" = 1 ] || exit 1
if [ "$mode" = check ]; then
	say "the package list plans cleanly (${#PKGS[@]} packages)"
	exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${#missing[@]} packages: ${missing[*]}"
	[ "$updated" = 1 ] || $SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages the tests use (S3 server), kept in the checkout.
if [ -f tests/package.json ] && [ ! -x tests/node_modules/.bin/s3rver ]; then
	say "installing npm packages of tests/package.json"
	(cd tests && { npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund; })
fi
