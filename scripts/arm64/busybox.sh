#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the path of a static arm64 busybox for the arm64 test guest.
# busybox-static:arm64 cannot be installed next to the amd64 one (same
# files, not Multi-Arch), so the .deb is fetched with `apt-get download`
# (the machine's own apt sources, once arm64 is an added architecture: see
# scripts/deps.sh) and unpacked into the cache, keyed by its version.
set -euo pipefail
CACHE=${SAFELOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/safelock}
die() { printf 'busybox-arm64: error: %s\n' "$*" >&2; exit 1; }

ver=$(apt-cache policy busybox-static:arm64 2>/dev/null | awk '/Candidate:/ { print $2 }')
[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
	die "no busybox-static:arm64 in apt (dpkg --add-architecture arm64 && apt-get update; see scripts/deps.sh)"
d=$CACHE/arm64/busybox-${ver//[:~]/_}
if [ ! -x "$d/bin/busybox" ]; then
	rm -rf "$d.tmp"; mkdir -p "$d.tmp"
	(cd "$d.tmp" && apt-get download -q "busybox-static:arm64=$ver" >download.log 2>&1) ||
		{ cat "$d.tmp/download.log" >&2; die "apt-get download busybox-static:arm64 failed"; }
	dpkg-deb -x "$d.tmp"/busybox-static_*_arm64.deb "$d.tmp/x"
	mkdir -p "$d/bin"
	cp "$d.tmp/x/bin/busybox" "$d/bin/busybox"
	rm -rf "$d.tmp"
fi
echo "$d/bin/busybox"
