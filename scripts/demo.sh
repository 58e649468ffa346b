#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build what is needed, boot a VM with a simulated safe board and
# the TPM, and play a lock's life (scripts/demo/guest.sh): a new lock that
# cannot be secured, init refused with the door closed and done with it
# open (the recovery secret shown once), a second user added by the owner,
# a wrong code (the bolt stays), the right code (the bolt opens, then
# relocks), status and the user list.
#
# SAFELOCK_KERNELS picks the kernel (the first one listed; default 6.1).
set -euo pipefail

if [ -t 1 ]; then BOLD='\033[1m' NORM='\033[0m'; else BOLD= NORM=; fi
TOP=$(cd "$(dirname "$0")/.." && pwd)
series=$(SAFELOCK_KERNELS=${SAFELOCK_KERNELS:-6.1} "$TOP/scripts/kernels.sh" list | awk '{print $1}')
step() { printf '%b==> %s%b\n' "$BOLD" "$*" "$NORM"; }

step "test kernel $series (cached after the first run; the first build takes about 7 minutes)"
"$TOP/scripts/kernels.sh" build "$series"
KTREE=$("$TOP/scripts/kernels.sh" path "$series")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step "building safelock.ko, the test board and the tools"
"$TOP/scripts/build-for.sh" "$KTREE" "$work/mod" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; exit 1; }
make -s -C "$TOP/tools" >"$work/tools.log" 2>&1 || { cat "$work/tools.log"; exit 1; }
gcc -Wall -Wextra -Werror -O2 -o "$work/keypad" "$TOP/scripts/demo/keypad.c"

step "booting the VM ($series) and playing the scenario"
"$TOP/scripts/vm.sh" --kernel "$series" --timeout 240 \
	--add "$work/mod/safelock.ko" --add "$work/mod/safelock_testboard.ko" \
	--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl" \
	--add "$work/keypad" --add "$TOP/scripts/demo/guest.sh" \
	-- ./guest.sh
