#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [N]: what a person waits for, measured. Boots the test VM (6.1 by
# default, SAFELOCK_KERNELS picks another) with the real driver, a simulated
# board, a uinput keypad and swtpm as the TPM; enrols codes made up at run
# time (safelockctl init with the door open, then user add); types N
# entries (default 20) with safelockd preparing each entry at its first
# key (ENTRY_BEGIN), then N with `safelockd --no-prepare`; prints,
# for each mode, from the kernel's own events, the ENTER-to-verdict time
# (p50, p95, p99, min, max) and, for the grants, ENTER-to-bolt (p50, p99)
# split into the vault (safelockd's own measure), the rest of safelockd and
# netlink, and the kernel from the verdict to the bolt; and the TPM
# commands left after ENTER.
set -euo pipefail

N=${1:-20}
case $N in ''|*[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
if [ -t 1 ]; then BOLD='\033[1m' NORM='\033[0m'; else BOLD='' NORM=''; fi
TOP=$(cd "$(dirname "$0")/.." && pwd)
series=$(SAFELOCK_KERNELS=${SAFELOCK_KERNELS:-6.1} "$TOP/scripts/kernels.sh" list | awk '{print $1}')
step() { printf '%b==> %s%b\n' "$BOLD" "$*" "$NORM"; }

step "test kernel $series (cached after the first run)"
"$TOP/scripts/kernels.sh" build "$series"
KTREE=$("$TOP/scripts/kernels.sh" path "$series")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step "building safelock.ko, the test board, the tools and the keypad"
"$TOP/scripts/build-for.sh" "$KTREE" "$work/mod" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; exit 1; }
make -s -C "$TOP/tools" >"$work/tools.log" 2>&1 || { cat "$work/tools.log"; exit 1; }
gcc -Wall -Wextra -Werror -O2 -o "$work/keypad" "$TOP/scripts/demo/keypad.c"

step "booting the VM ($series): $N entries prepared, $N unprepared"
"$TOP/scripts/vm.sh" --kernel "$series" --timeout $((120 + N * 12)) \
	--add "$work/mod/safelock.ko" --add "$work/mod/safelock_testboard.ko" \
	--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl" \
	--add "$work/keypad" --add "$TOP/scripts/bench/guest.sh" \
	-- ./guest.sh "$N"
