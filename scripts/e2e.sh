#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end in the VM: the real module on a simulated board, the real
# safelockd on the TPM (swtpm behind /dev/tpmrm0), safelockctl as an owner
# runs it (scripts/e2e/guest.sh has the scenarios).  Three boots:
#
#   1. main       lifecycle (safelockd sandboxed), users and roles, opening
#                 by role and duress, time delay, dual control, the courier
#                 override, dual administration, the weekly schedule,
#                 safelockd killed mid-request, bad input, the audit trail
#                 (tampering, a keypad flood), the time lock, recovery (with
#                 its delay) and wipe
#   2. cut        a TPM kept across boots (vm.sh --tpm-state): wrong codes,
#                 then the power is cut between a try's count and its check
#                 (vm-powercut); the state directory is saved (vm-save)
#   3. after-cut  the same TPM and the saved state directory: the count and
#                 the penalty survived, the right code opens after it
#
#   scripts/e2e.sh [--kernel SERIES] [--modules DIR] [--only main|cut]
#
#   --kernel SERIES   the test kernel (default 6.1)
#   --modules DIR     safelock.ko and safelock_testboard.ko built for it
#                     (default: built here with scripts/build-for.sh)
#   --only main|cut   boot 1 only, or boots 2 and 3 only
#
# Prints TAP (one plan per boot, and the host's own checks: each boot's
# swtpm stopped cleanly after TPM2_Shutdown, but for the power cut) and a
# last line "e2e: N passed, N failed, N skipped; guest time S s".  Exit
# status non-zero on any failure, a kernel report in the guest included.
# SAFELOCK_E2E_KEEP=1 keeps the work directory (the boots' console logs).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
series=6.1 moddir='' only=''
usage() { sed -n '/^#   scripts\/e2e.sh/,/^#   --only/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; series=$2; shift 2 ;;
	--modules) [ $# -ge 2 ] || usage; moddir=$2; shift 2 ;;
	--only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "e2e: unknown argument '$1'" >&2; usage ;;
	esac
done
case $only in ''|main|cut) ;; *) usage ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-e2e.XXXXXX")
if [ -n "${SAFELOCK_E2E_KEEP:-}" ]; then
	trap 'echo "# e2e: kept $WORK (console logs: *.console)"' EXIT
else
	trap 'rm -rf "$WORK"' EXIT
fi
PASS=0 FAIL=0 SKIP=0 HOSTN=0 GUEST_S=0 RC=0 BOOT_RC=0 BOOT_TPM=no

host_ok() { HOSTN=$((HOSTN + 1)) PASS=$((PASS + 1)); echo "ok $HOSTN - host: $*"; }
host_notok() {
	HOSTN=$((HOSTN + 1)) FAIL=$((FAIL + 1))
	echo "not ok $HOSTN - host: $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
}
bail() { echo "not ok 1 - e2e: $*"; echo "1..1"; echo "e2e: 0 passed, 1 failed, 0 skipped"; exit 1; }

# ---- build -----------------------------------------------------------------
ktree=$("$TOP"/scripts/kernels.sh path "$series" 2>"$WORK/path.err") ||
	bail "kernel $series is not built (scripts/kernels.sh build $series): $(cat "$WORK/path.err")"
if [ -z "$moddir" ]; then
	moddir=$WORK/mod
	"$TOP"/scripts/build-for.sh "$ktree" "$moddir" >"$WORK/build.log" 2>&1 ||
		{ cat "$WORK/build.log" >&2; bail "modules build for $series"; }
fi
for m in safelock.ko safelock_testboard.ko; do
	[ -f "$moddir/$m" ] || bail "no $moddir/$m"
done
make -s -C "$TOP/tools" >"$WORK/tools.log" 2>&1 || { cat "$WORK/tools.log" >&2; bail "tools build"; }
gcc -Wall -Wextra -Werror -O2 -o "$WORK/keys" "$TOP/scripts/e2e/keys.c" 2>"$WORK/keys.log" ||
	{ cat "$WORK/keys.log" >&2; bail "scripts/e2e/keys.c build"; }

# What doctor looks up through libkmod: the module installed for the guest's
# kernel, with depmod's indexes, as a distribution installs it.
release=$(cat "$ktree/include/config/kernel.release" 2>/dev/null)
MODTREE=()
if [ -n "$release" ] && command -v depmod >/dev/null; then
	mkdir -p "$WORK/modroot/lib/modules/$release/extra"
	cp "$moddir/safelock.ko" "$WORK/modroot/lib/modules/$release/extra/"
	if depmod -b "$WORK/modroot" "$release" 2>"$WORK/depmod.log"; then
		MODTREE=(--add "$WORK/modroot/lib/modules/$release:/lib/modules/$release")
	fi
fi

ADDS=(--add "$moddir/safelock.ko" --add "$moddir/safelock_testboard.ko"
	--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl"
	--add "$WORK/keys" --add "$TOP/scripts/e2e/lib.sh" --add "$TOP/scripts/e2e/guest.sh")

# ---- boots -------------------------------------------------------------------
# boot NAME [vm.sh options] -- guest args: prints the guest's TAP, counts it
boot() {
	local name=$1 log=$WORK/$1.out vmlog=$WORK/$1.console rc t0 t1 s
	shift
	echo "# ---- boot: $name"
	t0=$(date +%s.%N)
	SAFELOCK_VM_LOG=$vmlog "$TOP/scripts/vm.sh" --kernel "$series" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	t1=$(date +%s.%N)
	s=$(sed -n 's/^# guest time: \([0-9.]*\) s$/\1/p' "$log" | tail -n 1)
	GUEST_S=$(awk -v a="$GUEST_S" -v b="${s:-0}" 'BEGIN { print a + b }')
	echo "# boot $name: exit $rc, guest time ${s:-?} s, wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	PASS=$((PASS + $(grep '^ok ' "$log" | grep -vc '# SKIP')))
	SKIP=$((SKIP + $(grep -c '^ok .*# SKIP' "$log")))
	FAIL=$((FAIL + $(grep -c '^not ok ' "$log")))
	# a guest that stopped early: its plan is missing or promised more
	local seen planned
	seen=$(grep -cE '^(not )?ok ' "$log")
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | tail -n 1)
	if [ -z "$planned" ] || [ "$planned" != "$seen" ]; then
		host_notok "boot $name: every planned result reported" \
			"${seen} results, plan ${planned:-missing}"
	fi
	BOOT_RC=$rc
	[ "$rc" = 0 ] || RC=1
	if grep -q '^=== vm.sh: TPM2_Shutdown received by swtpm: yes' "$vmlog" 2>/dev/null; then
		BOOT_TPM=yes
	else
		BOOT_TPM=no
	fi
}
# tpm_clean NAME: the host's check that the swtpm stopped after TPM2_Shutdown
tpm_clean() {
	if [ "$BOOT_TPM" = yes ]; then host_ok "boot $1: the guest sent TPM2_Shutdown before the swtpm stopped"
	else host_notok "boot $1: the guest sent TPM2_Shutdown before the swtpm stopped" \
		"swtpm saw no TPM2_Shutdown: it counts a dictionary-attack failure"; fi
}
# boot_ok NAME: the guest kernel log stayed clean, and the boot ran to its
# end (a failed check alone is the guest's own "not ok" line)
boot_ok() {
	local log=$WORK/$1.out
	if grep -q '^vm: the guest kernel reported problems' "$log"; then
		host_notok "boot $1: the guest kernel log is clean (no WARNING, BUG, lockdep report)" \
			"$(grep '^vm:   ' "$log" | head -n 10)"
	else
		host_ok "boot $1: the guest kernel log is clean (no WARNING, BUG, lockdep report)"
	fi
	if [ "$BOOT_RC" = 0 ] || { [ "$BOOT_RC" = 1 ] &&
		grep -Eq '^not ok |^vm: the guest kernel reported problems' "$log"; }; then
		host_ok "boot $1: ran to its end"
	else
		host_notok "boot $1: ran to its end" \
			"vm.sh exited $BOOT_RC ($( case $BOOT_RC in 124) echo timeout ;; 125) echo 'no exit status: a crash' ;; *) echo 'no failed check to explain it' ;; esac))"
	fi
}

if [ "$only" != cut ]; then
	boot main --timeout 600 "${ADDS[@]}" "${MODTREE[@]}" -- ./guest.sh main
	boot_ok main
	tpm_clean main
fi

if [ "$only" != main ]; then
	mkdir -p "$WORK/tpm" "$WORK/flash"
	boot cut --timeout 300 --tpm-state "$WORK/tpm" --save "$WORK/flash" "${ADDS[@]}" -- ./guest.sh cut
	boot_ok cut
	if grep -q 'power cut by the guest' "$WORK/cut.out" && [ "$BOOT_TPM" = no ]; then
		host_ok "boot cut: the power was cut (no TPM2_Shutdown, qemu killed)"
	else
		host_notok "boot cut: the power was cut (no TPM2_Shutdown, qemu killed)" \
			"TPM2_Shutdown seen: $BOOT_TPM; $(grep -c 'power cut' "$WORK/cut.out") power cut lines"
	fi
	if [ -d "$WORK/flash/safelock" ] && [ -f "$WORK/flash/safelock-test/codes" ]; then
		host_ok "boot cut: the state directory came out of the guest"
		boot after-cut --timeout 300 --tpm-state "$WORK/tpm" "${ADDS[@]}" \
			--add "$WORK/flash/safelock:/var/lib/safelock" \
			--add "$WORK/flash/safelock-test:/var/lib/safelock-test" -- ./guest.sh after-cut
		boot_ok after-cut
		tpm_clean after-cut
	else
		host_notok "boot cut: the state directory came out of the guest" "$(ls -R "$WORK/flash" 2>&1 | head)"
	fi
fi

echo "1..$HOSTN"
echo "e2e: $PASS passed, $FAIL failed, $SKIP skipped; guest time $GUEST_S s"
[ "$RC" = 0 ] && [ "$FAIL" = 0 ]
