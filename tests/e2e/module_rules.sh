#!/usr/bin/env bash
# The kernel owns threads, waiting, retrying and randomness: no module and
# nothing in common/ sleeps (sleep, usleep, nanosleep, ...), draws from the C
# library's generators (random(), rand(), ...), makes a thread or waits on a
# timed condition of its own. They use vpipe_node_wait_fd/sleep_until, struct
# vpipe_backoff, vpipe_random_u64 and vpipe_node_spawn_worker instead
# (docs/writing-modules.md). The test doubles under tests/ are exempt.
# Comments and string literals are stripped first, so only calls count.
source "$VPIPE_TOP/tests/lib.sh"
need gcc
cd "$VPIPE_TOP"

banned='sleep|usleep|nanosleep|clock_nanosleep|thrd_sleep|random|srandom|rand|srand|rand_r|drand48|erand48|lrand48|nrand48|mrand48|jrand48|srand48|pthread_create|pthread_cond_timedwait'
pattern="(^|[^A-Za-z0-9_.>])($banned)[[:space:]]*\\("

# FILE: print "FILE:LINE: code" for each banned call.
scan() {
	gcc -fpreprocessed -dD -E -P -x c "$1" 2>/dev/null |
		sed -E 's/"([^"\\]|\\.)*"/""/g' | grep -nE "$pattern" |
		sed "s|^|$1:|"
}

# The scanner must see a call, and not a name that only contains one, nor a
# comment or a string.
cat >"$T/probe.c" <<'C'
/* usleep(1000) in a comment */
static void f(void) { vpipe_node_sleep_until(n, t); kvs_sleep_ms(k, 1); }
static void g(void) { log("random() in a string"); }
static void h(void) { usleep (20000); }
static long i(void) { return random(); }
C
scan "$T/probe.c" >"$T/probe.out"
expect_eq "calls found in the probe" "$(wc -l <"$T/probe.out")" 2
expect_grep "usleep (20000)" "$T/probe.out"
expect_grep "return random()" "$T/probe.out"

: >"$T/found"
while IFS= read -r f; do
	scan "$f" >>"$T/found"
done < <(find modules common -name '*.c' -o -name '*.cc' -o -name '*.h' | sort)
if [ -s "$T/found" ]; then
	cat "$T/found"
	fail "modules/ or common/ sleep, draw random numbers or make threads of their own (see above)"
fi
echo "ok: $(find modules common -name '*.c' -o -name '*.cc' -o -name '*.h' | wc -l) files of modules/ and common/ leave waiting, retrying and threads to the kernel"
