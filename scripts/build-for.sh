#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-for.sh KTREE OUTDIR [make args...]: build safelock.ko (and, unless
# SAFELOCK_TESTS=n, the test-only modules) against the kernel build tree
# KTREE, in a copy of the sources in OUTDIR, so builds for several kernels
# never share objects.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
ktree=$1 out=$2; shift 2
rm -rf "$out"; mkdir -p "$out/selftests"
cp -r "$TOP/Kbuild" "$TOP/driver" "$TOP/uapi" "$out/"
mkdir -p "$out/selftests/safelock"
cp "$TOP/selftests/safelock/testboard.c" "$out/selftests/safelock/"
make -C "$ktree" M="$out" SAFELOCK_TESTS="${SAFELOCK_TESTS:-y}" W=1 "$@" modules
