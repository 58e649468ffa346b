#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages that building, testing and the demo need.
# Idempotent: installs only what is missing, and says so.  Safe to run often;
# `make check` and `make demo` run it first.
set -eu

PKGS="
build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
pkg-config gzip
linux-source-6.1 linux-source-6.12 linux-headers-amd64
qemu-system-x86 swtpm swtpm-tools
libtss2-dev libnl-3-dev libnl-genl-3-dev libkmod-dev libseccomp-dev
libgfshare-dev
busybox-static sparse cppcheck python3-yaml python3-jsonschema python3-docutils scdoc
dt-schema dkms
systemd-journal-remote
gcc-aarch64-linux-gnu qemu-system-arm device-tree-compiler
libc6-dev:arm64 libnl-3-dev:arm64 libnl-genl-3-dev:arm64 libtss2-dev:arm64 libssl-dev:arm64
libkmod-dev:arm64
libseccomp-dev:arm64
libgfshare2:arm64
"
# libgfshare-dev is not Multi-Arch: same (its :arm64 replaces the amd64
# one), so the arm64 build takes the arm64 runtime library, libgfshare2:arm64,
# with the amd64 package's header: scripts/arm64/check.sh adds the link and
# the pkg-config file the -dev package would have.
# The arm64 suite (scripts/arm64/) cross-builds against Debian's arm64
# libraries and boots an arm64 busybox (busybox-static:arm64 conflicts with
# the amd64 one: scripts/arm64/busybox.sh fetches it with apt-get download).
NEED_ARCH=arm64

missing=
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

add_arch=
dpkg --print-foreign-architectures | grep -qx "$NEED_ARCH" || add_arch=1

if [ -z "$missing" ] && [ -z "$add_arch" ]; then
	echo "deps: all $(echo $PKGS | wc -w) packages present"
	exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$add_arch" ]; then
	echo "deps: adding the $NEED_ARCH architecture (dpkg --add-architecture) and updating the package lists"
	$SUDO dpkg --add-architecture "$NEED_ARCH"
	$SUDO apt-get update -q </dev/null
fi
# Refresh the package lists only if the first try cannot find a package.
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q --no-install-recommends $missing </dev/null; then
	$SUDO apt-get update -q </dev/null
	$SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
fi
