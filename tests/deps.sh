#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on Debian 12.
# Used by .ci/run, `make deps` and the README. Safe to run again.
set -eu
PKGS=(
	# build
	build-essential pkg-config clang clang-format libclang-rt-14-dev
	libinih-dev libssl-dev libcurl4-openssl-dev libck-dev
	# media libraries and tools
	libx264-dev x264 ffmpeg libavcodec-dev libavutil-dev libswscale-dev
	libturbojpeg0-dev libpng-dev libomxil-bellagio-dev libcamera-dev v4l-utils
	mkvtoolnix gstreamer1.0-tools gstreamer1.0-plugins-base
	gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
	gstreamer1.0-plugins-base-apps gstreamer1.0-libav
	# test peers
	python3 python3-gi gir1.2-gst-rtsp-server-1.0 python3-botocore awscli
	nodejs npm valgrind curl openssl strace
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm packages the tests use (S3 server), kept in the checkout.
if [ -f tests/package.json ] && [ ! -d tests/node_modules ]; then
	(cd tests && npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund)
fi
