#!/usr/bin/env bash
# Builds (and optionally runs) the libFuzzer targets; `make fuzz` calls it.
#   tests/fuzz/build.sh SECONDS [NAME ...]
# Each tests/fuzz/fuzz_NAME.c is compiled with clang under libFuzzer, ASan and
# UBSan into build-fuzz/fuzz_NAME, together with the sources listed in
# tests/fuzz/fuzz_NAME.mk:
#   fuzz_NAME_SRCS := common/ebml.c common/bytes.c
#   fuzz_NAME_LIBS := -lz          (optional, extra link flags)
# (make-style assignments; `+=` and backslash continuations are understood,
# nothing else of make is.) Every target links -lssl -lcrypto -lm.
# With SECONDS > 0 each target then runs for that long. The seeds in
# tests/fuzz/corpus/NAME/ (created if missing; commit small interesting
# inputs there) are read, new inputs go to build-fuzz/corpus/NAME/ so the
# checkout stays clean, crash inputs to build-fuzz/crashes/. Any crash,
# leak, sanitizer report or timeout fails the run; the exit status is
# non-zero if any target failed to build or run.
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-0}
shift || true
case $seconds in
'' | *[!0-9]*) echo "usage: $0 SECONDS [NAME ...]" >&2; exit 2 ;;
esac
CLANG=${CLANG:-clang}
OUT=build-fuzz
FLAGS=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-fno-omit-frame-pointer -g -O1 -std=c11 -D_GNU_SOURCE
	-D_FILE_OFFSET_BITS=64 -DVPIPE_VERSION='"0.1.0"'
	-DVPIPE_MODULEDIR='"/usr/local/lib/vpipe/modules"'
	-Ikernel/include -Icommon -I.)
LIBS=(-lssl -lcrypto -lm -lpthread)

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

# mk_var FILE VAR: the words assigned to VAR in FILE (:=, =, += ; \ continues).
mk_var() {
	[ -f "$1" ] || return 0
	awk -v var="$2" '
		function add(s) { sub(/\\[ \t]*$/, "", s); out = out " " s }
		cont { cont = /\\[ \t]*$/; add($0); next }
		{
			line = $0
			if (match(line, "^[ \t]*" var "[ \t]*(:=|\\+=|=)")) {
				if (line !~ /\+=/ || index(line, "+=") > RLENGTH) out = ""
				rest = substr(line, RLENGTH + 1)
				cont = rest ~ /\\[ \t]*$/
				add(rest)
			}
		}
		END { print out }' "$1"
}

targets=()
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	if [ $# -gt 0 ]; then
		keep=
		for want in "$@"; do [ "$want" = "$name" ] || [ "$want" = "fuzz_$name" ] && keep=1; done
		[ -n "$keep" ] || continue
	fi
	targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets (tests/fuzz/fuzz_*.c${*:+ matching $*})"
	[ $# -eq 0 ]
	exit
fi

mkdir -p "$OUT/crashes"
failed=()
built=()
for name in "${targets[@]}"; do
	mk=tests/fuzz/fuzz_$name.mk
	# Word splitting of the make variable is intended: it lists files and flags.
	# shellcheck disable=SC2207
	srcs=($(mk_var "$mk" "fuzz_${name}_SRCS"))
	# shellcheck disable=SC2207
	extra=($(mk_var "$mk" "fuzz_${name}_LIBS"))
	bin=$OUT/fuzz_$name
	echo "fuzz: building $bin from tests/fuzz/fuzz_$name.c ${srcs[*]:-}"
	if "$CLANG" "${FLAGS[@]}" -o "$bin" "tests/fuzz/fuzz_$name.c" "${srcs[@]}" \
		"${extra[@]}" "${LIBS[@]}"; then
		built+=("$name")
	else
		failed+=("$name (build)")
	fi
done

if [ "$seconds" -gt 0 ]; then
	for name in "${built[@]}"; do
		seeds=tests/fuzz/corpus/$name
		work=$OUT/corpus/$name
		mkdir -p "$seeds" "$work"
		echo "fuzz: running fuzz_$name for ${seconds}s (seeds $seeds, corpus $work)"
		log=$OUT/fuzz_$name.log
		if "$OUT/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$OUT/crashes/${name}-" \
			"$work" "$seeds" >"$log" 2>&1; then
			grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" |
				sed "s/^/fuzz: $name: /"
		else
			echo "fuzz: fuzz_$name FAILED, last lines of $log:"
			tail -n 40 "$log" | sed 's/^/    /'
			ls -1 "$OUT/crashes/${name}-"* 2>/dev/null | sed 's/^/    input: /'
			failed+=("$name")
		fi
	done
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
if [ "$seconds" -gt 0 ]; then
	echo "fuzz: ${#built[@]} targets built, each ran ${seconds}s without a crash"
else
	echo "fuzz: ${#built[@]} targets built (FUZZ_SECONDS=N runs each for N seconds)"
fi
