#!/usr/bin/env bash
# Files the kvs sink reads whole (credential-path; the client certificate,
# key and CA of iot-certificate) must be regular files of bounded size: a
# FIFO without a writer, a device or a huge file named by mistake is a
# clear error naming the parameter and the file, never a read that blocks
# or never ends (OpenSSL's PEM reader spins for ever on /dev/zero).
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
need ffmpeg
make_h264 "$T/in.h264" 1
mkfifo "$T/fifo"
# expect_run_error NAME WANT KVS-LINE...: vpipe run fails saying WANT.
expect_run_error() {
	local name=$1 want=$2
	shift 2
	graph "$T/$name.ini" "$T/in.h264" cam "http://127.0.0.1:9" "$@"
	rc=0
	timeout 120 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		"$VPIPE" run "$T/$name.ini" >"$T/$name.log" 2>&1 || rc=$?
	[ "$rc" != 124 ] || { cat "$T/$name.log"; fail "$name: vpipe run did not end"; }
	[ "$rc" != 0 ] || { cat "$T/$name.log"; fail "$name: run passed"; }
	grep -qF -- "$want" "$T/$name.log" || { cat "$T/$name.log"; fail "$name: want '$want'"; }
	echo "ok: $name: $want"
}
expect_run_error cred_fifo "credentials file $T/fifo: not a regular file (a FIFO)" \
	"credential-path = $T/fifo"
head -c 100000 /dev/zero >"$T/big"
expect_run_error cred_big "credentials file $T/big: 100000 bytes, more than the 64 KiB" \
	"credential-path = $T/big"
printf 'x' >"$T/key.pem"
printf 'x' >"$T/ca.pem"
iot="iot-certificate = iot-certificate,endpoint=127.0.0.1:9,role-aliases=r,key-path=$T/key.pem,ca-path=$T/ca.pem"
expect_run_error iot_dev_zero "iot-certificate cert-path /dev/zero: not a regular file (a character device)" \
	"$iot,cert-path=/dev/zero"
