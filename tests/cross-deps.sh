#!/usr/bin/env bash
# Installs what `make CROSS=aarch64-linux-gnu` / `make CROSS=arm-linux-gnueabihf`
# and tests/cross.sh need on Debian 12: the cross toolchains, qemu-user, and
# the target's -dev packages through multiarch (dpkg --add-architecture).
#   tests/cross-deps.sh [arm64] [armhf]      (default: both)
# Safe to run again. Prints which -dev packages co-installed and which did not;
# a module whose library is missing is then skipped by the Makefile.
set -eu
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(arm64 armhf)

# -dev packages for the target, one per library a Makefile rule or a
# module.mk (NAME_PKGS) uses. Packages that are not Multi-Arch: same cannot
# sit beside the host's copy (Debian 12: libck-dev, libomxil-bellagio-dev);
# they are left out here and named in the summary.
CROSS_DEV_PKGS=(
	libinih-dev libssl-dev libcurl4-openssl-dev libx264-dev libcamera-dev
	libturbojpeg0-dev libpng-dev libavcodec-dev libswscale-dev libavutil-dev
	libfreetype-dev
)
NOT_COINSTALLABLE=(libck-dev libomxil-bellagio-dev)

for a in "${ARCHES[@]}"; do
	dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done
# A mirror that is mid-sync for one architecture's index must not stop the
# others: apt keeps the indexes it could fetch.
$SUDO apt-get update -qq || echo "cross-deps: apt-get update reported errors (continuing)"

host_pkgs=(qemu-user)
for a in "${ARCHES[@]}"; do host_pkgs+=("crossbuild-essential-$a" "pkgconf:$a"); done
$SUDO apt-get install -y -qq --no-remove --no-install-recommends "${host_pkgs[@]}"

# Multi-Arch: same libraries must have the same version on every
# architecture. When the mirror's index for the target lags the host's (a
# security update whose armhf index failed to download), fetch the target's
# .deb of exactly the host's version from the same pool, so they co-install.
fetch_host_version() { # ARCH PKG DIR -> prints the .deb path, or nothing
	local arch=$1 pkg=$2 dir=$3 ver file base
	ver=$(dpkg-query -W -f='${Version}' "$pkg:$(dpkg --print-architecture)" 2>/dev/null) || return 0
	[ -n "$ver" ] || return 0
	file=$(apt-cache show "$pkg:$(dpkg --print-architecture)=$ver" 2>/dev/null |
		awk '/^Filename:/ {print $2; exit}')
	base=$(apt-cache policy "$pkg:$(dpkg --print-architecture)" |
		awk -v v="$ver" '$1 == v || ($1 == "***" && $2 == v) {getline; print $2; exit}')
	[ -n "$file" ] && [ -n "$base" ] || return 0
	file=${file%_*.deb}_$arch.deb
	[ -f "$dir/${file##*/}" ] || curl -fsS -o "$dir/${file##*/}" "$base/$file" || return 0
	echo "$dir/${file##*/}"
}

install_for_arch() { # ARCH PKG -> 0 when PKG:ARCH is installed
	local arch=$1 pkg=$2 dir debs=() round out names n d p
	dpkg-query -W -f='${Status}' "$pkg:$arch" 2>/dev/null | grep -q 'install ok installed' && return 0
	dir=$(mktemp -d /tmp/vpipe-cross-debs.XXXXXX)
	for round in 1 2 3 4 5 6; do
		out=$(apt-get install -s -q --no-remove "${debs[@]}" "$pkg:$arch" 2>&1) && break
		# "X:arm64 : Depends: Y:arm64 (= 1.2)" -> X and Y
		names=$(echo "$out" | grep -oE "[a-z0-9][a-z0-9.+-]*:$arch" | sed "s/:$arch\$//" | sort -u)
		n=${#debs[@]}
		for p in $names; do
			d=$(fetch_host_version "$arch" "$p" "$dir")
			[ -n "$d" ] && [[ " ${debs[*]} " != *" $d "* ]] && debs+=("$d")
		done
		[ ${#debs[@]} -gt "$n" ] || break
	done
	if $SUDO apt-get install -y -qq --no-remove --no-install-recommends "${debs[@]}" "$pkg:$arch" >/dev/null 2>&1; then
		[ ${#debs[@]} -eq 0 ] || echo "cross-deps: $pkg:$arch with host-version $(printf '%s ' "${debs[@]##*/}")"
		rm -rf "$dir"
		return 0
	fi
	rm -rf "$dir"
	return 1
}

# Last resort, when apt cannot co-install PKG:ARCH without removing host
# packages (the host's version of a dependency is missing from the mirror
# for ARCH): download PKG and those of its dependencies not installed for ARCH
# (at the target index's version) and unpack them into a private prefix,
# $CROSS_EXTRA/TRIPLET, outside dpkg's view. Nothing is installed; the
# Makefile adds that prefix to cross builds and tests/cross.sh to qemu's
# library path when it exists.
CROSS_EXTRA=${CROSS_EXTRA:-/opt/vpipe-cross}
# The C library's development files come with crossbuild-essential-ARCH.
CROSS_TOOLCHAIN_PROVIDES="libc6-dev libc-dev linux-libc-dev libc-dev-bin libcrypt-dev
	libnsl-dev libtirpc-dev rpcsvc-proto libgcc-12-dev libstdc++-12-dev"
unpack_for_arch() { # ARCH PKG -> 0 when unpacked
	local arch=$1 pkg=$2 triplet dir todo=("$2") seen=" " p deps d
	triplet=$(dpkg-architecture -a "$arch" -qDEB_HOST_MULTIARCH 2>/dev/null)
	dir=$(mktemp -d /tmp/vpipe-cross-unpack.XXXXXX)
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		[[ $seen == *" $p "* ]] && continue
		seen+="$p "
		dpkg-query -W -f='${Status}' "$p:$arch" 2>/dev/null | grep -q 'install ok installed' && continue
		[[ " $CROSS_TOOLCHAIN_PROVIDES " == *" $p "* ]] && continue
		(cd "$dir" && apt-get download -q "$p:$arch" >/dev/null 2>&1) || { rm -rf "$dir"; return 1; }
		# "Depends: a (>= 1), b | c" -> a b (first alternative)
		deps=$(apt-cache show --no-all-versions "$p:$arch" | sed -n 's/^\(Pre-\)\?Depends: //p' |
			tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/ //g')
		for d in $deps; do todo+=("$d"); done
	done
	$SUDO mkdir -p "$CROSS_EXTRA/$triplet"
	for d in "$dir"/*.deb; do $SUDO dpkg -x "$d" "$CROSS_EXTRA/$triplet"; done
	# libz.so -> libz.so.1.2.13 whose package is installed: point at the
	# installed library.
	find "$CROSS_EXTRA/$triplet" -xtype l | while read -r d; do
		p=$(readlink "$d")
		for t in "/usr/lib/$triplet/$p" "/lib/$triplet/$p"; do
			[ -e "$t" ] && { $SUDO ln -sf "$t" "$d"; break; }
		done
	done
	echo "cross-deps: $pkg:$arch unpacked into $CROSS_EXTRA/$triplet (apt could not co-install it):" \
		"$(cd "$dir" && ls ./*.deb | sed 's|^./||' | tr '\n' ' ')"
	rm -rf "$dir"
}

summary=()
for a in "${ARCHES[@]}"; do
	ok=() bad=() unpacked=()
	for p in "${CROSS_DEV_PKGS[@]}"; do
		if install_for_arch "$a" "$p"; then
			ok+=("$p")
		elif unpack_for_arch "$a" "$p"; then
			unpacked+=("$p")
		else
			bad+=("$p")
		fi
	done
	summary+=("$a: installed ${ok[*]:-nothing}; unpacked: ${unpacked[*]:-none}; not installable: ${bad[*]:-none}; \
not co-installable in Debian 12: ${NOT_COINSTALLABLE[*]}")
done
printf 'cross-deps: %s\n' "${summary[@]}"
