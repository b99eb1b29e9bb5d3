#!/usr/bin/env bash
# `vpipe check` reports each kind of graph error with file:line and what
# would be valid, exits non-zero, and starts nothing.
source "$VPIPE_TOP/tests/lib.sh"
n=0
# expect_error NAME EXPECTED-SUBSTRING <<INI
expect_error() {
	local name=$1 want=$2
	cat >"$T/$name.ini"
	if "$VPIPE" check "$T/$name.ini" >"$T/$name.out" 2>&1; then
		cat "$T/$name.out"; fail "$name: check passed, want an error"
	fi
	grep -qF -- "$want" "$T/$name.out" || { cat "$T/$name.out"; fail "$name: want '$want'"; }
	echo "ok: $name: $want"
	n=$((n + 1))
}

expect_error unknown_module "$T/unknown_module.ini:2: error: unknown module 'testsource' (available: filesink, filesrc, identity" <<'INI'
[cam]
module = testsource
INI
expect_error unknown_key "unknown_key.ini:4: error: unknown key 'widht' for node [cam] (module testsrc); did you mean 'width'?" <<'INI'
[cam]
module = testsrc
; a typo
widht = 320
INI
expect_error part_of_key "part_of_key.ini:3: error: unknown key 'live' for node [cam] (module testsrc); did you mean 'is-live'?" <<'INI'
[cam]
module = testsrc
live = false
INI
# every module's retry keys got one name: an old one suggests the new
expect_error renamed_key "renamed_key.ini:4: error: unknown key 'reconnect-max' for node [cam] (module rtsp); did you mean 'retry-max-delay'?" <<'INI'
[cam]
module = rtsp
url = rtsp://127.0.0.1/cam
reconnect-max = 30s
INI
expect_error restart_max_delay "restart_max_delay.ini:1: error: [cam]: restart-max-delay must not be below restart-delay" <<'INI'
[cam]
module = testsrc
restart-delay = 5s
restart-max-delay = 1s
INI
expect_error wrong_type "wrong_type.ini:3: error: [cam] invalid value 'big' for width: an integer" <<'INI'
[cam]
module = testsrc
width = big
INI
expect_error out_of_range "out_of_range.ini:3: error: [cam] out of range: height must be 16 to 4320" <<'INI'
[cam]
module = testsrc
height = 5000
INI
expect_error bad_enum "bad_enum.ini:3: error: [cam] invalid value 'rgb' for format: one of: i420, nv12" <<'INI'
[cam]
module = testsrc
format = rgb
INI
expect_error bad_bool "bad_bool.ini:3: error: [cam] invalid value 'maybe' for is-live: a bool" <<'INI'
[cam]
module = testsrc
is-live = maybe
INI
expect_error missing_required "missing_required.ini:4: error: node [out] (module filesink) needs 'location'" <<'INI'
[cam]
module = testsrc

[out]
module = filesink
input = cam
INI
expect_error duplicate_node "duplicate_node.ini:4: error: duplicate node [cam] (first defined at line 1)" <<'INI'
[cam]
module = testsrc

[cam]
module = testsrc
INI
expect_error duplicate_key "duplicate_key.ini:3: error: duplicate key 'width' in [cam] (first set at line 2)" <<'INI'
[cam]
width = 320
width = 640
module = testsrc
INI
expect_error missing_input_node "missing_input_node.ini:6: error: input of [out] names node 'camm', which does not exist; did you mean 'cam'?" <<'INI'
[cam]
module = testsrc

[out]
module = null
input = camm
INI
expect_error cycle "has a cycle through node" <<'INI'
[a]
module = identity
input = b

[b]
module = identity
input = a
INI
expect_error media_mismatch "media_mismatch.ini:8: error: [file] (module filesrc) outputs h264, but [enc] (module x264) takes raw video" <<'INI'
[file]
module = filesrc
location = /dev/null
format = h264

[enc]
module = x264
input = file
INI
expect_error no_module "no_module.ini:1: error: node [cam] has no 'module' key" <<'INI'
[cam]
width = 3
INI
expect_error bad_module_name "invalid module name '../evil'" <<'INI'
[cam]
module = ../evil
INI
expect_error syntax "syntax.ini:2: error: syntax error" <<'INI'
[cam]
this line has no equals sign
module = testsrc
INI
expect_error unset_env "unset_env.ini:3: error: location: environment variable VPIPE_TEST_UNSET_VAR is not set" <<'INI'
[out]
module = filesink
location = ${VPIPE_TEST_UNSET_VAR}
input = cam
[cam]
module = testsrc
INI
expect_error pipeline_key "pipeline_key.ini:2: error: unknown key 'log-levl' in [pipeline]; did you mean 'log-level'?" <<'INI'
[pipeline]
log-levl = debug
[cam]
module = testsrc
INI
expect_error bad_port "node [cam] has no output port 'video' (ports: src)" <<'INI'
[cam]
module = testsrc
[out]
module = null
input = cam.video
INI
expect_error source_with_input "node [cam] (module testsrc) is a source: it takes no input" <<'INI'
[x]
module = testsrc
[cam]
module = testsrc
input = x
INI
# A duration or a size without a unit is an error with a hint, for module
# parameters and the kernel's own keys alike.
expect_error bare_duration "bare_duration.ini:4: error: [mux] invalid value '2' for fragment-duration: a duration needs a unit: write 2s or 2ms" <<'INI'
[cam]
module = testsrc
[mux]
fragment-duration = 2
module = mkv
input = enc
[enc]
module = x264
input = cam
INI
expect_error bare_size "bare_size.ini:5: error: [out] invalid value '2000000' for buffer-size: a size needs a unit: write 2000000B for bytes" <<'INI'
[out]
module = filesink
input = cam
location = /dev/null
buffer-size = 2000000
[cam]
module = testsrc
INI
expect_error bare_kernel_duration "bare_kernel_duration.ini:2: error: [pipeline] invalid value '5' for drain-timeout: a duration needs a unit: write 5s or 5ms" <<'INI'
[pipeline]
drain-timeout = 5
[cam]
module = testsrc
INI

# The kernel's own keys go through parameter tables like a module's: the
# same value errors, ranges and "did you mean", module names included.
expect_error module_typo "module_typo.ini:4: error: unknown module 'x246'; did you mean 'x264'? (available: " <<'INI'
[cam]
module = testsrc
[enc]
module = x246
input = cam
INI
expect_error kernel_key_typo "kernel_key_typo.ini:3: error: unknown key 'queue-sise' for node [cam] (module testsrc); did you mean 'queue-size'?" <<'INI'
[cam]
module = testsrc
queue-sise = 4
INI
expect_error kernel_enum "kernel_enum.ini:7: error: [out] invalid value 'drop' for queue-policy: one of: block, drop-new, drop-old" <<'INI'
[cam]
module = testsrc

[out]
module = null
input = cam
queue-policy = drop
INI
expect_error kernel_range "kernel_range.ini:3: error: [cam] out of range: pool-size must be 0 to 65536" <<'INI'
[cam]
module = testsrc
pool-size = 100000
INI
expect_error kernel_bare_delay "kernel_bare_delay.ini:4: error: [cam] invalid value '2' for restart-delay: a duration needs a unit: write 2s or 2ms" <<'INI'
[cam]
module = testsrc
restart = on-error
restart-delay = 2
INI
expect_error pipeline_enum "pipeline_enum.ini:2: error: [pipeline] invalid value 'loud' for log-level: one of: error, warn, info, debug" <<'INI'
[pipeline]
log-level = loud
[cam]
module = testsrc
INI

# An error never starts anything: `run` refuses the same file.
"$VPIPE" run "$T/unknown_key.ini" >"$T/run.out" 2>&1 && fail "run started a bad graph"
expect_grep "1 error" "$T/run.out"

# Several errors are all reported in one go.
cat >"$T/many.ini" <<'INI'
[cam]
module = testsrc
width = x
height = y
INI
"$VPIPE" check "$T/many.ini" >"$T/many.out" 2>&1 && fail "many: passed"
expect_grep "2 errors" "$T/many.out"

# ${VAR} expands, --set overrides, and the resolved graph is printed.
cat >"$T/ok.ini" <<'INI'
[cam]
module = testsrc
width = ${VPIPE_TEST_W}
height = ${VPIPE_TEST_H:-240}
[out]
module = null
input = cam
INI
VPIPE_TEST_W=320 "$VPIPE" check "$T/ok.ini" --set cam.framerate=15 >"$T/ok.out"
expect_grep "width = 320" "$T/ok.out"
expect_grep "height = 240" "$T/ok.out"
expect_grep "framerate = 15" "$T/ok.out"
# linked 1:1: out runs in cam's thread, called directly (no queue)
expect_grep "cam.src -> out.sink  raw video, direct call (same thread)" "$T/ok.out"
expect_grep "threads (1): " "$T/ok.out"
expect_grep "^  \[cam\] -> \[out\]$" "$T/ok.out"
expect_grep "this graph holds at most" "$T/ok.out"
VPIPE_TEST_W=320 "$VPIPE" graph "$T/ok.ini" >"$T/ok.dot"
expect_grep '"cam" -> "out" \[label="same thread"\]' "$T/ok.dot"
# thread = own puts a queue back, and says why out has a thread
VPIPE_TEST_W=320 "$VPIPE" check "$T/ok.ini" --set out.thread=own >"$T/own.out"
expect_grep "cam.src -> out.sink  raw video, queue 8, block" "$T/own.out"
expect_grep "^  \[out\]  (own thread: thread = own)$" "$T/own.out"
VPIPE_TEST_W=320 "$VPIPE" check "$T/ok.ini" --set out.queue-size=4 >"$T/q.out"
expect_grep "(own thread: queue-size or queue-policy asks for a queue)" "$T/q.out"
echo "$n error cases reported as expected"
"$VPIPE" run "$T/ok.ini" --duration 2 >"$T/dur.out" 2>&1 && fail "run --duration 2 accepted"
expect_grep "error: invalid value '2' for --duration: a duration needs a unit: write 2s or 2ms" "$T/dur.out"

# Long values (past libinih's 200-byte line buffer) and indented
# continuation lines both reach the module whole.
long=$(printf 'x%.0s' $(seq 300))
cat >"$T/long.ini" <<INI
[out]
module = filesink
input = cam
location = /tmp/$long ; a comment
[cam]
module = testsrc
[out2]
module = filesink
input = cam
location = /tmp/first-part-
    second-part
[out3]
module = filesink
input = cam
location = /tmp/a
    b=$long ; a comment
INI
"$VPIPE" check "$T/long.ini" >"$T/long.out" 2>&1 || { cat "$T/long.out"; fail "long line refused"; }
expect_grep "location = /tmp/$long\$" "$T/long.out"
expect_grep "location = /tmp/first-part-second-part\$" "$T/long.out"
# a long continuation line with '=' in it (found by fuzz_config)
expect_grep "location = /tmp/ab=$long\$" "$T/long.out"
