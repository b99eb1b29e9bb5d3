#!/usr/bin/env bash
# The vpipe command links neither OpenSSL nor libcurl: the local Kinesis
# Video Streams server, which needs OpenSSL, is its own program
# (vpipe-kvs-local), and `vpipe kvs-local` only runs it.
source "$VPIPE_TOP/tests/lib.sh"
[ -x "$VPIPE" ] || skip "no $VPIPE"
need ldd
KL="$(dirname "$VPIPE")/vpipe-kvs-local"
[ -x "$KL" ] || fail "no $KL beside $VPIPE"

ldd "$VPIPE" >"$T/vpipe.ldd"
if grep -E 'libssl|libcrypto|libcurl' "$T/vpipe.ldd"; then
	fail "$VPIPE links the libraries above"
fi
echo "ok: vpipe links no OpenSSL or libcurl ($(wc -l <"$T/vpipe.ldd") libraries)"
ldd "$KL" >"$T/kl.ldd"
expect_grep libssl "$T/kl.ldd"

# the forwarder runs the server's own --help (same text, same status)
"$VPIPE" kvs-local --help >"$T/fwd.out"
"$KL" --help >"$T/direct.out"
cmp "$T/fwd.out" "$T/direct.out" || fail "vpipe kvs-local --help differs"
expect_grep "usage: vpipe-kvs-local" "$T/fwd.out"
rc=0
"$VPIPE" kvs-local --no-such-option 2>"$T/bad.err" || rc=$?
expect_eq "status of a bad option through vpipe" "$rc" 2
echo "PASS"
