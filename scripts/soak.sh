#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fault soak (issue 11): for a given time, random faults of the fault
# model interleaved with right, wrong and duress codes, on the end-to-end
# rig (the real module on the simulated board, the real safelockd on swtpm,
# safelockctl as the owner); after every step the rules are checked
# (scripts/soak/guest.sh says which and how).  Power cuts are boots: the
# guest saves its state directory (vm-save) and pulls the battery
# (vm-powercut) at a random point; the next boot runs on the same TPM
# (--tpm-state) and that state directory.
#
#   scripts/soak.sh [--kernel SERIES] [--minutes N | --seconds N] [--seed S]
#                   [--cuts N] [--modules DIR]
#
#   --kernel SERIES   the test kernel (default 6.1)
#   --minutes N       minutes of soak, the boots' setup not counted (default 30)
#   --seconds N       the same in seconds (the short soak of make check)
#   --seed S          the seed of the step sequence (default: random); printed,
#                     so that a failing run can be replayed
#   --cuts N          power cuts (default: one per 5 minutes of soak, none
#                     under 5 minutes); each costs a boot, about a minute
#   --modules DIR     safelock.ko and safelock_testboard.ko built for the
#                     kernel (default: built here with scripts/build-for.sh)
#
# Prints progress (each step, with the time elapsed and left), TAP (the
# guest's checks per boot, the host's own), and at the end the steps of
# each kind and, on the last line, the five counters:
#   soak: N unauthorised bolt movements, N bolts left open, N weakened
#   policies, N lost audit records, N kernel reports
# Exit status non-zero on any failure.  SAFELOCK_SOAK_KEEP=1 keeps the work
# directory (the boots' console logs).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
series=6.1 moddir='' seconds=1800 seed='' cuts=''
usage() { sed -n '/^#   scripts\/soak.sh/,/^#   --modules/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
num() { case $2 in ''|*[!0-9]*) echo "soak: $1 wants a number" >&2; usage ;; esac; }
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; series=$2; shift 2 ;;
	--minutes) [ $# -ge 2 ] || usage; num "$1" "$2"; seconds=$(($2 * 60)); shift 2 ;;
	--seconds) [ $# -ge 2 ] || usage; num "$1" "$2"; seconds=$2; shift 2 ;;
	--seed) [ $# -ge 2 ] || usage; num "$1" "$2"; seed=$2; shift 2 ;;
	--cuts) [ $# -ge 2 ] || usage; num "$1" "$2"; cuts=$2; shift 2 ;;
	--modules) [ $# -ge 2 ] || usage; moddir=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "soak: unknown argument '$1'" >&2; usage ;;
	esac
done
[ "$seconds" -ge 10 ] || { echo "soak: at least 10 seconds" >&2; usage; }
seed=${seed:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
seed=$((seed % 2147483648))
cuts=${cuts:-$((seconds / 300))}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-soak.XXXXXX")
if [ -n "${SAFELOCK_SOAK_KEEP:-}" ]; then
	trap 'echo "# soak: kept $WORK (console logs: *.console)"' EXIT
else
	trap 'rm -rf "$WORK"' EXIT
fi
PASS=0 FAIL=0 SKIP=0 HOSTN=0 RC=0
T0=$(date +%s)

host_ok() { HOSTN=$((HOSTN + 1)) PASS=$((PASS + 1)); echo "ok $HOSTN - soak host: $*"; }
host_notok() {
	HOSTN=$((HOSTN + 1)) FAIL=$((FAIL + 1))
	echo "not ok $HOSTN - soak host: $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
}
bail() { echo "not ok 1 - soak: $*"; echo "1..1"; echo "soak: 0 passed, 1 failed"; exit 1; }

# ---- build (as scripts/e2e.sh) ------------------------------------------------
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
for c in e2e/keys soak/boltwatch; do
	gcc -Wall -Wextra -Werror -O2 -o "$WORK/$(basename "$c")" "$TOP/scripts/$c.c" 2>"$WORK/cc.log" ||
		{ cat "$WORK/cc.log" >&2; bail "scripts/$c.c build"; }
done
gcc -Wall -Wextra -Werror -O2 -o "$WORK/tpmda" "$TOP/scripts/soak/tpmda.c" \
	-ltss2-esys -ltss2-tctildr 2>"$WORK/cc.log" || { cat "$WORK/cc.log" >&2; bail "scripts/soak/tpmda.c build"; }
ADDS=(--add "$moddir/safelock.ko" --add "$moddir/safelock_testboard.ko"
	--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl"
	--add "$WORK/keys" --add "$WORK/boltwatch" --add "$WORK/tpmda"
	--add "$TOP/scripts/e2e/lib.sh" --add "$TOP/scripts/soak/guest.sh")

# Progress as it happens: vm.sh's console filter is an awk reading a pipe,
# and mawk fills its whole input buffer before it prints a line (the steps
# would show minutes late, all at once); -W interactive reads line by line.
if awk -W version 2>&1 | head -n 1 | grep -q mawk; then
	mkdir -p "$WORK/bin"
	printf '#!/bin/sh\nexec %s -W interactive "$@"\n' "$(command -v mawk)" >"$WORK/bin/awk"
	chmod +x "$WORK/bin/awk"
	export PATH="$WORK/bin:$PATH"
fi

# ---- the plan: boots of equal shares of the soak, a power cut between two ----
boots=$((cuts + 1))
share=$((seconds / boots))
echo "# soak: seed $seed, kernel $series, $seconds s of soak in $boots boot(s), $cuts power cut(s)"
echo "# soak: replay with: scripts/soak.sh --kernel $series --seconds $seconds --seed $seed --cuts $cuts"

declare -A TOTAL=()
KINDS="right wrong duress clock kill stop reload door tamper battery timelock"
for k in $KINDS unauthorised left_open weakened lost kernel lockout settling; do TOTAL[$k]=0; done
DONE_S=0

# progress: the guest's step lines, with the whole soak's time elapsed and left
progress() {
	local line s
	while IFS= read -r line; do
		case $line in
		"# soak: step "*" s left")
			s=${line##*, }; s=$((share - ${s%% s left}))
			printf '%s  [soak %d s of %d, %d s left; wall %d s]\n' "$line" \
				$((DONE_S + s)) "$seconds" $((seconds - DONE_S - s > 0 ? seconds - DONE_S - s : 0)) \
				$(($(date +%s) - T0)) ;;
		*) printf '%s\n' "$line" ;;
		esac
	done
}

# boot I MODE CUT: one boot of the soak; counts its TAP and its counters
boot() {
	local i=$1 mode=$2 cut=$3 name=soak-$1 log=$WORK/soak-$1.out rc seen planned s
	local extra=()
	echo "# ---- boot $((i + 1)) of $boots ($mode, $share s$([ "$cut" = 1 ] && echo ', then a power cut'))"
	mkdir -p "$WORK/flash-$i"
	if [ "$mode" = next ]; then
		extra=(--add "$WORK/flash-$((i - 1))/safelock:/var/lib/safelock"
			--add "$WORK/flash-$((i - 1))/safelock-test:/var/lib/safelock-test")
	fi
	SAFELOCK_VM_LOG=$WORK/$name.console "$TOP/scripts/vm.sh" --kernel "$series" \
		--timeout $((share + 420)) --tpm-state "$WORK/tpm" --save "$WORK/flash-$i" \
		"${ADDS[@]}" "${extra[@]}" -- ./guest.sh "$mode" $((seed + i)) "$share" "$cut" 2>&1 |
		tee "$log" | progress
	rc=${PIPESTATUS[0]}
	PASS=$((PASS + $(grep '^ok ' "$log" | grep -vc '# SKIP')))
	SKIP=$((SKIP + $(grep -c '^ok .*# SKIP' "$log")))
	FAIL=$((FAIL + $(grep -c '^not ok ' "$log")))
	seen=$(grep -cE '^(not )?ok ' "$log")
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | tail -n 1)
	if [ -z "$planned" ] || [ "$planned" != "$seen" ]; then
		host_notok "boot $((i + 1)): every planned result reported" "$seen results, plan ${planned:-missing}; vm.sh exit $rc"
		RC=1
	fi
	# the guest's counters; a kernel report the guest did not see (a
	# crash, a report after its last check) is vm.sh's
	local c kr
	c=$(sed -n 's/^# soak-counters: //p' "$log" | tail -n 1)
	for kv in $c $(sed -n 's/^# soak-steps: //p' "$log" | tail -n 1); do
		[ -n "${TOTAL[${kv%%=*}]+x}" ] && TOTAL[${kv%%=*}]=$((TOTAL[${kv%%=*}] + ${kv#*=}))
	done
	kr=$(grep -c '^vm:   ' "$log")
	if grep -q '^vm: the guest kernel reported problems' "$log"; then
		[ "$(sed -n 's/.* kernel=\([0-9]*\).*/\1/p' <<<"$c")" != 0 ] || TOTAL[kernel]=$((TOTAL[kernel] + kr))
		host_notok "boot $((i + 1)): the guest kernel log is clean" "$(grep '^vm:   ' "$log" | head -n 10)"
	else
		host_ok "boot $((i + 1)): the guest kernel log is clean"
	fi
	if [ "$cut" = 1 ]; then
		if grep -q 'power cut by the guest' "$log" && [ -d "$WORK/flash-$i/safelock" ]; then
			host_ok "boot $((i + 1)): the power was cut, the state directory came out"
		else
			host_notok "boot $((i + 1)): the power was cut, the state directory came out" "vm.sh exit $rc"
			RC=1
			return 1
		fi
	elif [ "$rc" != 0 ] && ! grep -q '^not ok ' "$log"; then
		host_notok "boot $((i + 1)): ran to its end" "vm.sh exited $rc"
		RC=1
	fi
	s=$(sed -n 's/^# guest time: \([0-9.]*\) s$/\1/p' "$log" | tail -n 1)
	echo "# boot $((i + 1)): exit $rc, guest time ${s:-?} s"
	DONE_S=$((DONE_S + share))
	return 0
}

for ((i = 0; i < boots; i++)); do
	if [ "$i" = 0 ]; then mode=first; else mode=next; fi
	cut=0; [ "$i" -lt "$cuts" ] && cut=1
	boot "$i" "$mode" "$cut" || break
done

steps=0 line=
for k in $KINDS; do steps=$((steps + TOTAL[$k])); line="$line $k=${TOTAL[$k]}"; done
echo "1..$HOSTN"
echo "soak: seed $seed, $seconds s of soak, wall $(($(date +%s) - T0)) s; $PASS passed, $FAIL failed, $SKIP skipped"
echo "soak: $steps steps:$line powercut=$cuts"
echo "soak: owner locked out ${TOTAL[lockout]} times; right codes refused while settling after a fault: ${TOTAL[settling]}"
echo "soak: ${TOTAL[unauthorised]} unauthorised bolt movements, ${TOTAL[left_open]} bolts left open, ${TOTAL[weakened]} weakened policies, ${TOTAL[lost]} lost audit records, ${TOTAL[kernel]} kernel reports"
[ "$RC" = 0 ] && [ "$FAIL" = 0 ]
