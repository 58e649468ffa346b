#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The safelock suite on arm64, the board described by a device tree:
#   1. the arm64 kernel (scripts/arm64/kernel.sh: cached after the first build)
#   2. safelock.ko and the test modules against it (W=1, no warnings allowed)
#   3. safelockd, safelockctl and safelock_test cross-built against Debian's
#      arm64 libraries, in a temporary copy (no arm64 object in the tree)
#   4. scripts/vm.sh --arch arm64 --overlay scripts/arm64/safelock-virt.dtso:
#      qemu-system-aarch64 -M virt (TCG) with swtpm behind tpm-tis-device,
#      running scripts/check-guest.sh with SAFELOCK_BOARD=dt.
#
#   scripts/arm64/check.sh [--keep] [--timeout SEC]
#
# stdout: the guest's output, with the kselftest TAP between
# "SECTION-BEGIN kselftest" and "SECTION-END kselftest <rc>" (and the KUnit
# section after it), as scripts/check-guest.sh prints them.  Progress on
# stderr.  Exit status: scripts/vm.sh's (1 on a build failure).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CROSS=aarch64-linux-gnu-
T0=$SECONDS
keep=0 timeout=1200

say() { printf 'arm64: %s (%d s)\n' "$*" $((SECONDS - T0)) >&2; }
die() { printf 'arm64: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=1; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	*) die "usage: $0 [--keep] [--timeout SEC]" ;;
	esac
done

for t in ${CROSS}gcc qemu-system-aarch64 dtc fdtoverlay pkg-config readelf; do
	command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-arm64.XXXXXX") || die "mktemp failed"
cleanup() { if [ "$keep" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

# quiet LOG CMD...: run, keep the output in LOG, show its tail on failure.
quiet() {
	local log=$1; shift
	"$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "failed: $* (log: $log)"; }
}

say "kernel"
"$TOP"/scripts/arm64/kernel.sh build || die "the arm64 kernel did not build"
ktree=$("$TOP"/scripts/arm64/kernel.sh path) || exit 1
ksrc=$(readlink -f "$ktree/source")

say "modules (W=1)"
quiet "$WORK/modules.log" env SAFELOCK_TESTS=y "$TOP"/scripts/build-for.sh "$ktree" "$WORK/mod" \
	ARCH=arm64 CROSS_COMPILE=$CROSS
if grep -E 'warning:' "$WORK/modules.log" >&2; then
	die "warnings in the arm64 module build (log: $WORK/modules.log)"
fi

say "tools (cross, Debian arm64 libraries)"
mkdir -p "$WORK/src"
cp -r "$TOP/tools" "$TOP/uapi" "$WORK/src/"
make -C "$WORK/src/tools" clean >/dev/null 2>&1
# libgfshare-dev:arm64 cannot sit beside the amd64 one (not Multi-Arch:
# same): the arm64 library of libgfshare2:arm64, the header of the amd64
# -dev (the same file), and the .so link and .pc file the -dev would give.
gfs=$WORK/gfshare-arm64
mkdir -p "$gfs/pkgconfig"
ln -sf /usr/lib/aarch64-linux-gnu/libgfshare.so.2 "$gfs/libgfshare.so"
printf 'Name: libgfshare\nDescription: libgfshare2:arm64\nVersion: 2.0.0\nLibs: -L%s -lgfshare\nCflags:\n' \
	"$gfs" >"$gfs/pkgconfig/libgfshare.pc"
quiet "$WORK/tools.log" env PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig:$gfs/pkgconfig \
	PKG_CONFIG_PATH= make -C "$WORK/src/tools" -j"$(nproc)" CC=${CROSS}gcc AR=${CROSS}ar all

say "kselftest (cross)"
quiet "$WORK/ksft.log" make -C "$TOP/selftests/safelock" KDIR="$ksrc" OUTPUT="$WORK/ksft" CC=${CROSS}gcc

say "booting arm64 (TCG; the whole suite takes several minutes)"
SAFELOCK_VM_LOG=${SAFELOCK_VM_LOG:-$WORK/console.log} \
"$TOP"/scripts/vm.sh --arch arm64 --overlay "$TOP/scripts/arm64/safelock-virt.dtso" \
	--timeout "$timeout" \
	--add "$WORK/mod/safelock.ko" --add "$WORK/mod/safelock_fsm_kunit.ko" \
	--add "$WORK/ksft/safelock_test" \
	--add "$WORK/src/tools/safelockd/safelockd" --add "$WORK/src/tools/safelockctl/safelockctl" \
	--add "$TOP/scripts/check-guest.sh" \
	-- env SAFELOCK_BOARD=dt sh ./check-guest.sh
rc=$?
say "done: vm.sh exited $rc"
exit $rc
