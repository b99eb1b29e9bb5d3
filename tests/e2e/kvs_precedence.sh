#!/usr/bin/env bash
# What the user wrote explicitly wins (issue 15), as in the AWS SDKs and
# kvssink: --set over the graph file, the file over the environment, the
# environment over ~/.aws/credentials. kvs-local serves region eu-west-1 and
# knows one key pair: each run streams only if the sink picked the right
# region and keys, and the log says where each came from.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"

make_h264 "$T/in.h264" 1
start_kvs_local prec --region eu-west-1
AK=$AWS_ACCESS_KEY_ID SK=$AWS_SECRET_ACCESS_KEY
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_REGION \
	AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
mkdir -p "$T/home/.aws"
export HOME=$T/home

# streams NAME LOG-PATTERN [env assignments] -- [--set args] -- [kvs lines]
streams() {
	local name=$1 pattern=$2 envs=() sets=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sets+=(--set "$1"); shift; done
	shift
	graph "$T/$name.ini" "$T/in.h264" "cam-$name" "$KL_URL" "$@"
	env "${envs[@]}" timeout 60 "$VPIPE" run "$T/$name.ini" "${sets[@]}" \
		>"$T/$name.log" 2>&1 || { cat "$T/$name.log"; fail "$name: the run failed"; }
	no_sanitizer_report "$T/$name.log"
	expect_grep "every fragment acknowledged" "$T/$name.log"
	expect_grep "$pattern" "$T/$name.log"
	! grep -qF -e "$SK" -e WrongSecret "$T/$name.log" || fail "$name: a secret was logged"
}

KEYS=("access-key = $AK" "secret-key = $SK")
ENVKEYS=(AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK")

# Region: the file over the environment, --set over the file.
streams region-file "region eu-west-1 (from aws-region)" \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 -- -- \
	"${KEYS[@]}" "aws-region = eu-west-1"
streams region-set "region eu-west-1 (from aws-region)" \
	AWS_DEFAULT_REGION=us-east-1 -- cloud.aws-region=eu-west-1 -- \
	"${KEYS[@]}" "aws-region = ap-south-1"
streams region-env "region eu-west-1 (from AWS_DEFAULT_REGION)" \
	AWS_DEFAULT_REGION=eu-west-1 AWS_REGION=us-east-1 -- -- "${KEYS[@]}"

# Keys: the file over the environment, --set over the file.
streams keys-file "credentials: access-key/secret-key parameters" \
	AWS_ACCESS_KEY_ID=AKIDWRONG AWS_SECRET_ACCESS_KEY=WrongSecret \
	AWS_SESSION_TOKEN=WRONGTOKEN -- -- \
	"${KEYS[@]}" "aws-region = eu-west-1"
streams keys-set "credentials: access-key/secret-key parameters" -- \
	"cloud.access-key=$AK" "cloud.secret-key=$SK" -- \
	"access-key = AKIDWRONG" "secret-key = WrongSecret" "aws-region = eu-west-1"

# The environment over ~/.aws/credentials, which comes last.
printf '[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = WrongSecret\n' \
	>"$HOME/.aws/credentials"
streams env-over-shared "credentials: environment AWS_ACCESS_KEY_ID" \
	"${ENVKEYS[@]}" -- -- "aws-region = eu-west-1"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AK" "$SK" \
	>"$HOME/.aws/credentials"
streams shared-last "credentials: shared credentials file $HOME/.aws/credentials, profile default" \
	AWS_DEFAULT_REGION=eu-west-1 -- -- ""
echo "PASS"
