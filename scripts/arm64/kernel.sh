#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cross-build (or find in the cache) the arm64 test kernel for qemu's virt
# machine: tinyconfig + selftests/safelock/config (the common fragment) +
# selftests/safelock/config.arm64, from Debian's linux-source-6.12, with
# ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-.
#
#   scripts/arm64/kernel.sh build    build if missing (prints nothing on stdout)
#   scripts/arm64/kernel.sh path     print the build tree (Image in arch/arm64/boot)
#
# kvm_guest.config is not used: on arm64 it only adds virtio, INET, 9p and
# virtio-gpu (DRM), none of which the DT-described test board or the serial
# console needs, and DRM alone would double the build time.
#
# It reuses the source tree scripts/kernels.sh unpacked
# (${XDG_CACHE_HOME:-~/.cache}/safelock/linux-6.12-VERSION/src; unpacked here
# the same way when missing) and caches the build next to it in
# build-arm64-HASH, HASH covering this recipe and both fragments.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SAFELOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/safelock}
SERIES=6.12
FRAGMENTS=("$TOP/selftests/safelock/config" "$TOP/selftests/safelock/config.arm64")
EXPECT_MIN=4	# measured 3.3 min cold on 2 cores; only for the "left" estimate
RECIPE=1	# bump when the way the kernel is configured or built changes
MK=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)

say() { printf 'arm64-kernel: %s\n' "$*" >&2; }
die() { printf 'arm64-kernel: error: %s\n' "$*" >&2; exit 1; }

command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc missing (run scripts/deps.sh)"
ver=$(dpkg-query -W -f='${Version}' "linux-source-$SERIES" 2>/dev/null) ||
	die "linux-source-$SERIES is not installed (run scripts/deps.sh)"
src=$CACHE/linux-$SERIES-$ver/src
hash=$({ echo "recipe $RECIPE"; cat "${FRAGMENTS[@]}"; } | sha256sum | cut -c1-12)
b=$CACHE/linux-$SERIES-$ver/build-arm64-$hash

unpack() {
	local tmp
	[ -f "$src/.safelock-unpacked" ] && return 0
	say "unpacking linux-source-$SERIES $ver (about 1 minute)"
	rm -rf "$src.tmp"; mkdir -p "$src.tmp"
	tar -xJf "/usr/src/linux-source-$SERIES.tar.xz" -C "$src.tmp"
	tmp=$(ls -d "$src.tmp"/linux-source-*) || die "unexpected layout"
	rm -rf "$src"; mv "$tmp" "$src"; rmdir "$src.tmp"
	touch "$src/.safelock-unpacked"
}

# Every option of config.arm64 must come out as asked.  Options of the
# common fragment that arm64 does not have, or whose dependencies it lacks
# (RTC_DRV_CMOS, TCG_CRB on ACPI, ...), or that config.arm64 overrides, are
# listed and tolerated.
check_config() {
	local f line opt missing= notes=
	for f in "${FRAGMENTS[@]}"; do
		while read -r line; do
			case $line in
			CONFIG_*=*) opt=${line%%=*} ;;
			"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
			*) continue ;;
			esac
			# a later fragment overrides
			[ "$f" = "${FRAGMENTS[0]}" ] && grep -qE "^(# )?$opt[= ]" "${FRAGMENTS[1]}" && continue
			case $line in
			CONFIG_*=*) grep -qx -- "$line" "$b/.config" && continue ;;
			*) grep -q "^$opt=" "$b/.config" || continue ;;
			esac
			if [ "$f" = "${FRAGMENTS[1]}" ]; then missing="$missing $line"; else notes="$notes ${opt#CONFIG_}"; fi
		done <"$f"
	done
	[ -z "$notes" ] || say "note: common options not available on arm64 (tolerated):$notes"
	[ -z "$missing" ] || die "options of config.arm64 not in the final .config:$missing"
}

progress_make() {
	local log=$1; shift
	local start=$SECONDS pid el left eta next=30
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		el=$((SECONDS - start))
		if [ "$el" -ge "$next" ]; then
			next=$((el + 30))
			left=$((EXPECT_MIN * 60 - el))
			if [ $left -gt 0 ]; then eta="about $(((left + 59) / 60)) min left"
			else eta="longer than the usual $EXPECT_MIN min (a busy machine?)"; fi
			printf 'arm64-kernel: building, %d:%02d elapsed, %s (log: %s)\n' \
				$((el / 60)) $((el % 60)) "$eta" "$log" >&2
		fi
	done
	wait "$pid" || { tail -n 30 "$log" >&2; die "build failed; full log in $log"; }
}

build() {
	if [ -f "$b/.safelock-built" ]; then say "cached ($ver, $b)"; return 0; fi
	unpack
	rm -rf "$b"; mkdir -p "$b"
	say "configuring $SERIES ($ver) for arm64 in $b"
	{
		make -C "$src" O="$b" "${MK[@]}" tinyconfig
		"$src"/scripts/kconfig/merge_config.sh -m -O "$b" "$b/.config" "${FRAGMENTS[@]}"
		make -C "$src" O="$b" "${MK[@]}" olddefconfig
	} >"$b/config.log" 2>&1 || { tail -n 20 "$b/config.log" >&2; die "configuration failed"; }
	check_config
	local t0=$SECONDS
	progress_make "$b/build.log" make -C "$src" O="$b" "${MK[@]}" -j"$(nproc)" Image modules
	echo "$ver" >"$b/.safelock-version"
	touch "$b/.safelock-built"
	say "built in $(((SECONDS - t0) / 60)) min $(((SECONDS - t0) % 60)) s"
}

case ${1:-build} in
build) build ;;
path) [ -f "$b/.safelock-built" ] || die "not built yet (run: $0 build)"; echo "$b" ;;
*) die "usage: $0 build|path" ;;
esac
