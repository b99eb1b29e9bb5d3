# kvs sink refusals: wrong secret, wrong access key, wrong region, unknown
# stream with create-stream off. Each: a clear message, a non-zero exit,
# and the secret never printed.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 2
start_kvs_local refuse
GOOD_AK=$AWS_ACCESS_KEY_ID GOOD_SK=$AWS_SECRET_ACCESS_KEY
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION

refused() { # NAME PATTERN SECRET kvs-lines...
	local name=$1 pattern=$2 secret=$3
	shift 3
	graph "$T/$name.ini" "$T/in.h264" "cam-$name" "$KL_URL" "$@"
	if "$VPIPE" run "$T/$name.ini" >"$T/$name.log" 2>&1; then
		cat "$T/$name.log"
		fail "$name: the run succeeded"
	fi
	no_sanitizer_report "$T/$name.log"
	expect_grep "$pattern" "$T/$name.log"
	if grep -qF -- "$secret" "$T/$name.log"; then
		fail "$name: the secret key appears in the log"
	fi
	echo "ok: $name refused: $(grep -m1 "$pattern" "$T/$name.log")"
}

refused wrong-secret "secret key for access key $GOOD_AK" "Wr0ngSecretValue" \
	"access-key = $GOOD_AK" "secret-key = Wr0ngSecretValue"
refused wrong-key "access key AKIDUNKNOWN.*is not known" "$GOOD_SK" \
	"access-key = AKIDUNKNOWN" "secret-key = $GOOD_SK"
refused wrong-region "wrong region" "$GOOD_SK" \
	"access-key = $GOOD_AK" "secret-key = $GOOD_SK" "aws-region = eu-west-1"
refused no-stream "does not exist in us-west-2 and create-stream is off" \
	"$GOOD_SK" "access-key = $GOOD_AK" "secret-key = $GOOD_SK" \
	"create-stream = false"
# kvs-local saw the refused requests as signature failures too.
expect_grep "signature refused" "$T/refuse.log"
echo "PASS"
