#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [N]: what a person waits for, and what the lock costs, measured.
# Boots the test VM (6.1 by default, SAFELOCK_KERNELS picks another) with
# the real driver, a simulated board, a uinput keypad and swtpm as the TPM;
# enrols codes made up at run time (safelockctl init with the door open,
# then user add); runs scripts/bench/guest.sh (its top lists the phases)
# and prints, one "bench: RESULT" line each:
#   - ENTER-to-verdict (p50, p95, p99, min, max) and, for the grants,
#     ENTER-to-bolt split into the vault, the rest of safelockd and
#     netlink, and the kernel, for N entries (default 20) prepared while
#     typed (sessions armed at the first key, the try counted and the
#     user's code loaded at the user id), N with `safelockd --no-prepare`, N prepared on /dev/tpm0;
#     the TPM commands left after ENTER, before and after the verdict;
#   - the single-process baseline (scripts/bench/oneproc.c: evdev, the
#     same vault code, a GPIO line; N entries) and the ratios of the
#     prepared and unprepared p50 to its p50;
#   - /dev/tpm0 beside /dev/tpmrm0, and the clean-up after a killed
#     safelockd on /dev/tpm0;
#   - NV writes, counted in the TPM's own command stream (swtpm's log:
#     every NV_Write, NV_Increment, NV_SetBits, NV_Extend that succeeded)
#     between marks the guest puts in it (scripts/bench/tpmmark.c): per
#     completed entry, per abandoned entry that never reached a user id
#     (a flood of 10,000, with a right code typed in its middle, timed
#     against the same code typed alone), for 200 that reached one;
#   - idle wakeups per minute of the kernel and of safelockd;
#   - safelockd's private memory idle and with 120 users.
# About 10 minutes with N=20 on 2 cores under TCG.
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
step "building safelock.ko, the test board, the tools, the keypad and the bench helpers"
"$TOP/scripts/build-for.sh" "$KTREE" "$work/mod" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; exit 1; }
make -s -C "$TOP/tools" all bench >"$work/tools.log" 2>&1 || { cat "$work/tools.log"; exit 1; }
gcc -Wall -Wextra -Werror -O2 -o "$work/keys" "$TOP/scripts/e2e/keys.c"

step "booting the VM ($series): $N entries prepared, unprepared, on /dev/tpm0 and in one process; idle, memory, floods"
t0=$(date +%s)
set +e
SAFELOCK_VM_TPM_LOG="$work/swtpm.log" "$TOP/scripts/vm.sh" --kernel "$series" --timeout $((1200 + N * 40)) \
	--add "$work/mod/safelock.ko" --add "$work/mod/safelock_testboard.ko" \
	--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl" \
	--add "$TOP/tools/bench/oneproc" --add "$TOP/tools/bench/tpmmark" \
	--add "$work/keys" --add "$TOP/scripts/bench/guest.sh" \
	-- ./guest.sh "$N"
rc=$?
set -e
[ "$rc" = 0 ] || exit "$rc"

# NV writes between the guest's marks, from swtpm's log: each command and
# its response as hex lines after "SWTPM_IO_Read:" / "SWTPM_IO_Write:". A
# mark is TPM2_GetRandom (0x17B) of 0x5300 + K bytes; an NV write is
# NV_Write (0x137), NV_Increment (0x134), NV_SetBits (0x135) or NV_Extend
# (0x136) answered with TPM_RC_SUCCESS.
awk '
	function hex(h,   i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return v }
	function hexline(l) { return l ~ /^ *([0-9A-Fa-f][0-9A-Fa-f] +)*[0-9A-Fa-f][0-9A-Fa-f] *$/ }
	function done_block() {
		if (mode == "r") cmd = buf
		else if (mode == "w") pair(cmd, buf)
		mode = ""; buf = ""
	}
	function pair(c, r,   cc, rc, idx) {
		cc = substr(c, 13, 8); rc = substr(r, 13, 8)
		if (cc == "0000017B" && substr(c, 21, 2) == "53") {
			mark = hex(substr(c, 23, 2)); print "mark", mark; return
		}
		if ((cc == "00000137" || cc == "00000134" || cc == "00000135" || cc == "00000136") && rc == "00000000") {
			idx = substr(c, 29, 8); print "nv", mark, idx
		}
	}
	/SWTPM_IO_Read:/ { done_block(); mode = "r"; next }
	/SWTPM_IO_Write:/ { done_block(); mode = "w"; next }
	mode != "" && hexline($0) { l = toupper($0); gsub(/ /, "", l); buf = buf l; next }
	{ done_block() }
	END { done_block() }' "$work/swtpm.log" >"$work/nv.txt" 2>/dev/null || true
nv() { awk -v m="$1" '$1 == "nv" && $2 == m { n++ } END { print n + 0 }' "$work/nv.txt"; }
nvidx() { awk -v m="$1" '$1 == "nv" && $2 == m { c[$3]++ } END { s = ""; for (k in c) s = s sprintf(" 0x%s:%d", tolower(k), c[k]); print s }' "$work/nv.txt"; }
if grep -q '^mark 8$' "$work/nv.txt"; then
	# between mark K and K+1 the writes are counted under K
	prep=$(nv 1) unprep=$(nv 3) flood=$(nv 5) uflood=$(nv 7)
	printf 'bench: RESULT nv writes   per completed entry: prepared %s (%s in %d entries:%s), unprepared %s (%s in %d:%s)\n' \
		"$(awk -v a="$prep" -v n="$N" 'BEGIN { printf "%.2f", a / n }')" "$prep" "$N" "$(nvidx 1)" \
		"$(awk -v a="$unprep" -v n="$N" 'BEGIN { printf "%.2f", a / n }')" "$unprep" "$N" "$(nvidx 3)"
	printf 'bench: RESULT nv writes   per abandoned entry without a user id: %s (%s for 10,000 abandoned entries and 1 completed, less the completed one at the prepared rate;%s)\n' \
		"$(awk -v a="$flood" -v p="$prep" -v n="$N" 'BEGIN { x = (a - p / n) / 10000; if (x < 0) x = 0; printf "%.4f", x }')" "$flood" "$(nvidx 5)"
	printf 'bench: RESULT nv writes   200 abandoned entries that reached a user id: %s in all (%s per entry;%s)\n' \
		"$uflood" "$(awk -v a="$uflood" 'BEGIN { printf "%.2f", a / 200 }')" "$(nvidx 7)"
else
	echo "bench: no NV counts: the marks are not in swtpm's log" >&2
fi
echo "bench: took $(( $(date +%s) - t0 )) s in the VM"
