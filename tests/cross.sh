#!/usr/bin/env bash
# Builds vpipe for the Raspberry Pi's architectures and runs the tests that
# need no hardware under qemu-user, with the target's own libraries.
#   tests/cross.sh [--no-build] [TRIPLET ...] [-- TEST ...]
# TRIPLET: aarch64-linux-gnu (64-bit Raspberry Pi OS), arm-linux-gnueabihf
# (32-bit); default both. TEST: names as for tests/run.sh; default: every unit
# test plus $CROSS_E2E. Needs tests/cross-deps.sh to have run.
# qemu runs each binary explicitly (binfmt_misc is often not registered in a
# container), with QEMU_LD_PREFIX=/ so the multiarch libraries in
# /usr/lib/TRIPLET and the target's ld.so in /lib are used.
# Output and exit status as tests/run.sh; logs in build-TRIPLET/test-logs.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
CROSS_E2E=${CROSS_E2E:-"testsrc_filesink mkv record check_errors two_chains kvs_stream rtsp_tcp_udp"}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
export PATH="/usr/bin:$PATH" # Debian's python3 for the e2e checks

build=1 triplets=() names=()
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) build=0 ;;
	--) shift; names=("$@"); break ;;
	*) triplets+=("$1") ;;
	esac
	shift
done
[ ${#triplets[@]} -gt 0 ] || triplets=(aarch64-linux-gnu arm-linux-gnueabihf)

qemu_for() { # TRIPLET -> qemu-user binary name
	case $1 in
	aarch64-*) echo qemu-aarch64 ;;
	arm-*) echo qemu-arm ;;
	*) echo "tests/cross.sh: no qemu for $1" >&2; return 1 ;;
	esac
}

wanted() { # NAME -> 0 if selected
	local n
	if [ ${#names[@]} -eq 0 ]; then
		[[ $1 == test_* ]] && return 0
		for n in $CROSS_E2E; do [ "$n" = "$1" ] && return 0; done
		return 1
	fi
	for n in "${names[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

total_fail=0
for triplet in "${triplets[@]}"; do
	qemu=$(qemu_for "$triplet") || exit 2
	command -v "$qemu" >/dev/null || { echo "SKIP: $qemu not installed (tests/cross-deps.sh)"; exit 77; }
	command -v "$triplet-gcc" >/dev/null || { echo "SKIP: $triplet-gcc not installed (tests/cross-deps.sh)"; exit 77; }
	BUILD=build-$triplet
	echo "== $triplet (under $qemu)"
	if [ $build = 1 ]; then
		units=$(ls tests/unit/test_*.c | sed "s|tests/unit/\(.*\)\.c|$BUILD/tests/\1|")
		# shellcheck disable=SC2086 # one word per target
		# -k: one broken module must not hide the other results.
		make --no-print-directory -k -j"${JOBS:-2}" CROSS="$triplet" all $units \
			>"/tmp/vpipe-cross-$triplet.log" 2>&1 || {
			grep -E "error:|\*\*\*" "/tmp/vpipe-cross-$triplet.log" | head -20
			echo "FAIL build for $triplet, log: /tmp/vpipe-cross-$triplet.log"
			total_fail=$((total_fail + 1))
		}
		grep "skipping module" "/tmp/vpipe-cross-$triplet.log" || true
	fi
	# The e2e scripts run "$VPIPE": a wrapper that starts it under qemu.
	# vpipe kvs-local would exec vpipe-kvs-local, which the host kernel
	# cannot run without binfmt_misc: the wrapper starts it under qemu.
	mkdir -p "$BUILD/qemu"
	cat >"$BUILD/qemu/vpipe" <<SH
#!/bin/sh
if [ "\$1" = kvs-local ]; then
	shift
	exec $qemu "$TOP/$BUILD/bin/vpipe-kvs-local" "\$@"
fi
exec $qemu "$TOP/$BUILD/bin/vpipe" "\$@"
SH
	chmod +x "$BUILD/qemu/vpipe"
	export QEMU_LD_PREFIX=/ BUILD VPIPE_TOP="$TOP" VPIPE="$TOP/$BUILD/qemu/vpipe"
	export VPIPE_MODULE_PATH="$TOP/$BUILD/modules" VPIPE_CROSS="$triplet" VPIPE_QEMU="$qemu"
	# Libraries tests/cross-deps.sh unpacked outside dpkg: seen by the
	# emulated programs only.
	extra=${CROSS_EXTRA:-/opt/vpipe-cross}/$triplet/usr/lib/$triplet
	if [ -d "$extra" ]; then export QEMU_SET_ENV="LD_LIBRARY_PATH=$extra"; else unset QEMU_SET_ENV; fi
	logdir=$BUILD/test-logs
	mkdir -p "$logdir"
	pass=0 fail=0 skip=0 failed=()
	for t in "$BUILD"/tests/test_* tests/e2e/*.sh; do
		[ -f "$t" ] || continue
		[ "${t%.so}" = "$t" ] || continue
		name=$(basename "$t" .sh)
		wanted "$name" || continue
		log=$logdir/$name.log
		start=$(date +%s)
		if [ "${t%.sh}" != "$t" ]; then
			timeout -k 10 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1
		else
			timeout -k 10 "$TEST_TIMEOUT" "$qemu" "$t" >"$log" 2>&1
		fi
		rc=$?
		secs=$(($(date +%s) - start))
		case $rc in
		0) pass=$((pass + 1)); printf 'PASS %-40s %3ds\n' "$name" "$secs" ;;
		77) skip=$((skip + 1))
		    printf 'SKIP %-40s %s\n' "$name" "$(grep -i 'skip' "$log" | tail -n 1)" ;;
		*) fail=$((fail + 1)); failed+=("$name")
		   printf 'FAIL %-40s %3ds (exit %d), last lines of %s:\n' "$name" "$secs" "$rc" "$log"
		   tail -n 20 "$log" | sed 's/^/    /' ;;
		esac
	done
	[ ${#failed[@]} -gt 0 ] && echo "failed ($triplet): ${failed[*]}"
	summary="$triplet: $pass passed, $fail failed"
	[ $skip -gt 0 ] && summary="$summary, $skip skipped"
	echo "$summary"
	total_fail=$((total_fail + fail))
done
[ $total_fail -eq 0 ]
