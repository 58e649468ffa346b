#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The ENTER-to-verdict benchmark, run inside the VM by scripts/bench.sh:
# the demo's simulated board (gpio-sim, uinput keypad typing a key every
# 60 ms), swtpm behind /dev/tpmrm0, safelockd as the verifier.  Several
# users with codes made up here at run time, enrolled as an owner would
# (safelockctl init with the door open, user add); N entries per mode, right codes
# and wrong ones interleaved (every third entry wrong) so that neither a
# user nor the lock as a whole reaches the 5 free tries (a success resets
# the global count): the schedule never delays.  Each entry's time is read from the kernel's own events: the STATE
# event into VERIFYING (ENTER received) and the ATTEMPT event (verdict).
#
#   guest.sh N
set -u
cd /safelock || exit 1
N=${1:-20}
NU=4

say() { printf 'bench: %s\n' "$*"; }
fail() { printf "bench: FAILED: %s\n" "$*"; for f in /tmp/d-*.log; do [ -e "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done; ./safelockctl status; exit 1; }

wait_state() {
	n=$1
	while [ "$n" -gt 0 ]; do
		./safelockctl status --json 2>/dev/null | grep -q "\"state\":\"$2\"" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	fail "the lock did not reach $2"
}

random_code() {
	od -An -N8 -tu1 /dev/urandom | tr -s ' ' '\n' | grep . |
		while read -r b; do printf '%d' $((b % 10)); done
}

# The code with its last digit changed.
wrong_of() {
	last=${1#"${1%?}"}
	printf '%s%d' "${1%?}" $(((last + 1) % 10))
}

insmod ./safelock.ko || fail "cannot load safelock.ko"
C=/sys/kernel/config/gpio-sim/bench
mkdir "$C" "$C/bank0"
echo 18 >"$C/bank0/num_lines"	# the test board uses lines 0-3 and 16-17
echo bench-board >"$C/bank0/label"
echo 1 >"$C/live"
mkfifo /tmp/keys
./keypad safelock-bench-keypad </tmp/keys &
exec 5>/tmp/keys
insmod ./safelock_testboard.ko chip=bench-board keypad=safelock-bench-keypad \
	relock_ms=500 verify_timeout_ms=10000 || fail "cannot load the board"
n=50; while [ ! -e /dev/safelock0 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -e /dev/safelock0 ] || fail "no /dev/safelock0"
SIM=/sys/devices/platform/$(cat "$C/dev_name")/$(cat "$C/bank0/chip_name")

# door open|closed: move the door sensor line, wait until the kernel sees it.
door() {
	if [ "$1" = open ]; then echo pull-up; else echo pull-down; fi >"$SIM/sim_gpio1/pull"
	want=$([ "$1" = open ] && echo true || echo false)
	n=50
	while ! ./safelockctl status --json | grep -q "\"door_open\":$want"; do
		n=$((n - 1)); [ $n -gt 0 ] || fail "the kernel did not see the door $1"
		sleep 0.1
	done
}

# The users, the way an owner enrols them: safelockd with its admin socket,
# init with the door open (user 001, the owner), the door closed, then
# user add for the others with the owner's code.
mkdir -p /tmp/vault
./safelockd --foreground --tcti device:/dev/tpmrm0 --state-dir /tmp/vault \
	--admin-socket /run/safelock/admin.sock 2>/tmp/d-setup.log &
D=$!
n=100; while ! grep -q 'registered as verifier' /tmp/d-setup.log && [ $n -gt 0 ]; do
	sleep 0.1; n=$((n - 1))
done
[ $n -gt 0 ] || fail "safelockd did not register"
CODE1=$(random_code)
door open
printf '%s\n' "$CODE1" | ./safelockctl init --new-code-fd 0 >/dev/null || fail "init"
door closed
wait_state 200 LOCKED
u=2
while [ $u -le $NU ]; do
	c=$(random_code)
	eval "CODE$u=$c"
	./safelockctl user add $u --role user --as 1 --code-fd 3 --new-code-fd 4 >/dev/null 3<<EOF 4<<EOF2 ||
$CODE1
EOF
$c
EOF2
		fail "user add $u"
	u=$((u + 1))
done
kill "$D"; wait "$D"
say "enrolled the owner 001 (init, door open) and users 002-00$NU (user add) with codes made up just now"

# phase NAME [SAFELOCKD OPTIONS]
phase() {
	name=$1; shift
	./safelockd --foreground --verbose "$@" --tcti device:/dev/tpmrm0 \
		--state-dir /tmp/vault 2>"/tmp/d-$name.log" &
	D=$!
	wait_state 200 LOCKED
	ev=/tmp/ev-$name.json
	./safelockctl monitor --json >"$ev" &
	M=$!
	sleep 0.5
	: >"/tmp/ms-$name"
	i=1
	while [ $i -le "$N" ]; do
		u=$(( (i - 1) % NU + 1 ))
		eval "code=\$CODE$u"
		# every third entry wrong: at most one failure in a row
		if [ $((i % 3)) = 2 ]; then kind=wrong; code=$(wrong_of "$code"); else kind=right; fi
		before=$(grep -c '"event":"attempt"' "$ev")
		bolts=$(grep -c '"event":"bolt".*"value":1' "$ev")
		printf '00%d%sE\n' "$u" "$code" >&5
		n=300
		while [ "$(grep -c '"event":"attempt"' "$ev")" -le "$before" ]; do
			n=$((n - 1)); [ $n -gt 0 ] || fail "no verdict for entry $i"
			sleep 0.05
		done
		# the last ENTER (state -> VERIFYING) before the last attempt
		# a right code: wait for the bolt to be driven as well
		if [ $kind = right ]; then
			n=300
			while [ "$(grep -c '"event":"bolt".*"value":1' "$ev")" -le "$bolts" ]; do
				n=$((n - 1)); [ $n -gt 0 ] || fail "no bolt for entry $i"
				sleep 0.05
			done
		fi
		# the last ENTER (state -> VERIFYING), its attempt (the verdict
		# received) and, for a grant, the bolt driven after it
		r=$(awk 'function ts(l) { sub(/.*"timestamp_ns":/, "", l); sub(/,.*/, "", l); return l }
			/"event":"state"/ && /"state":"VERIFYING"/ { enter = ts($0); bolt = "" }
			/"event":"attempt"/ { verdict = ts($0); bolt = "";
				res = $0; sub(/.*"result":"/, "", res); sub(/".*/, "", res);
				rid = $0; sub(/.*"request_id":/, "", rid); sub(/[,}].*/, "", rid) }
			/"event":"bolt"/ && /"value":1/ && bolt == "" { bolt = ts($0) }
			END { printf "%.1f %s %s %s\n", (verdict - enter) / 1e6,
				bolt == "" ? "-" : sprintf("%.1f", (bolt - enter) / 1e6), res, rid }' "$ev")
		set -- $r
		ms=$1 bms=$2 res=$3 rid=$4
		case "$kind/$res" in
		right/granted|wrong/denied) ;;
		*) fail "entry $i: user 00$u $kind code: $res" ;;
		esac
		# the vault's share, from safelockd's own line for the request
		vms=$(grep "request $rid user" "/tmp/d-$name.log" | sed -n 's/.*vault \([0-9.]*\) ms.*/\1/p' | tail -n1)
		echo "$ms $bms ${vms:--}" >>"/tmp/ms-$name"
		ms="$ms ms, to the bolt $bms ms, in the vault ${vms:-?} ms"
		say "$name entry $i/$N: user 00$u, $kind code: $res, ENTER to verdict $ms"
		wait_state 200 LOCKED
		sleep 0.3
		i=$((i + 1))
	done
	kill "$D"; wait "$D"
	kill "$M" 2>/dev/null; wait "$M" 2>/dev/null
}

# summary NAME: p50, p95, p99, min, max of ENTER to verdict (every entry)
# and ENTER to bolt (grants), the split of a grant's time (medians: the
# vault inside safelockd, the rest of safelockd and netlink, the kernel
# from the verdict to the bolt); TPM commands per request
summary() {
	awk -v name="$1" '
		function pct(a, n, p,   i) { i = int(p * n + 0.999); if (i < 1) i = 1; return a[i] }
		function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
		{ v[++nv] = $1; if ($2 != "-") { b[++nb] = $2; k[nb] = $2 - $1 }
		  if ($2 != "-" && $3 != "-") { vl[++nvl] = $3; vf[nvl] = $1 - $3 } }
		END {
			sortn(v, nv); sortn(b, nb); sortn(k, nb); sortn(vl, nvl); sortn(vf, nvl)
			printf "bench: RESULT %-10s n=%d ENTER-to-verdict ms: p50 %.1f p95 %.1f p99 %.1f min %.1f max %.1f\n",
				name, nv, pct(v, nv, 0.5), pct(v, nv, 0.95), pct(v, nv, 0.99), v[1], v[nv]
			if (nb)
				printf "bench: RESULT %-10s n=%d ENTER-to-bolt ms (grants): p50 %.1f p99 %.1f; split (p50): vault %.1f, safelockd and netlink %.1f, kernel verdict-to-bolt %.1f\n",
					name, nb, pct(b, nb, 0.5), pct(b, nb, 0.99),
					nvl ? pct(vl, nvl, 0.5) : -1, nvl ? pct(vf, nvl, 0.5) : -1, pct(k, nb, 0.5)
		}' "/tmp/ms-$1"
	grep -o 'TPM commands: [0-9]* before the verdict, [0-9]* after' "/tmp/d-$1.log" |
		awk -v name="$1" '{ b[$3]++; a[$7]++; n++ }
		END { s = ""; for (k in b) s = s sprintf(" %s (x%d)", k, b[k])
			t = ""; for (k in a) t = t sprintf(" %s (x%d)", k, a[k])
			printf "bench: RESULT %-10s TPM commands after ENTER, before the verdict:%s; after the verdict:%s\n", name, s, t }'
	grep -o 'prepared ([0-9]* TPM commands)' "/tmp/d-$1.log" | sort | uniq -c |
		awk -v name="$1" '{ n = $1; sub(/^ *[0-9]+ /, ""); printf "bench: RESULT %-10s at ENTRY_BEGIN (while typing): %d entries %s\n", name, n, $0 }'
}

say "mode prepared: safelockd acts on ENTRY_BEGIN"
phase prepared
say "mode unprepared: safelockd --no-prepare"
phase unprepared --no-prepare
summary prepared
summary unprepared
say "safelockd log (prepared), last lines:"
tail -n 6 /tmp/d-prepared.log
say "done"
