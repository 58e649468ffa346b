#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The fault soak, in the test VM (scripts/soak.sh boots it): the real module
# on the simulated board of the end-to-end tests (scripts/e2e/lib.sh), the
# real safelockd on the TPM, safelockctl as the owner.  For a given time,
# random steps: right, wrong and duress codes, and the faults of the fault
# model: wall-clock jumps, safelockd killed (SIGKILL) or frozen (SIGSTOP)
# mid-entry, the module reloaded in whatever state the lock is, door,
# tamper and battery lines flipped, an immediate time lock, and (from the
# host) power cuts.  After each step the rules are checked against a model
# of what the owner did, never against the driver's own word:
#
#   bolt       the bolt line (sampled every 5 ms by boltwatch) rises only
#              within PERMIT_MS of a right or duress code typed while the
#              lock could take it (one rise per code), and falls within
#              the relock time after the opening and the door closing, or
#              within the door limit of the door opening (+ MARGIN_MS)
#   policy     what safelockd reads back (policy get) is what the owner
#              set; the kernel's relock time is the owner's once settled;
#              an immediate time lock holds until its end (TIME_LOCKED)
#   audit      audit verify passes, the record count only grows, and every
#              gap in the kernel's sequence numbers is explained by an
#              events-lost record
#   owner      a right code opens again within SETTLE_MS of any fault; one
#              refused sooner is "refused (settling)", not a failure
#   kernel     no new WARNING/BUG/lockdep line in dmesg
#
#   guest.sh first SEED SECONDS CUT   the first boot: init, users, policy
#   guest.sh next SEED SECONDS CUT    after a power cut: the same TPM and
#                                     the saved state directory
#
# CUT 1: at the end, cut the power at a random point (mid-entry, open,
# verifying) after saving the state directory (vm-save); CUT 0: stop
# cleanly and print the plan.  Codes are made up here at run time and kept
# only in tmpfs and in the tests' notes beside the state directory (which
# vm-save carries to the next boot, as e2e's power cut does).
#
# Output: TAP ("not ok" for each violation, with its step), progress lines
# "# soak: step N (KIND) at S s, L s left", and the counters:
#   # soak-counters: unauthorised=N left_open=N weakened=N lost=N kernel=N lockout=N
#   # soak-steps: right=N wrong=N ...
# wait_until takes code it evaluates anew each time (single quotes on
# purpose); lib.sh's helpers take optional arguments.
# shellcheck disable=SC2016,SC2119
set -u
cd /safelock || exit 1
export NO_COLOR=1
# shellcheck source=scripts/e2e/lib.sh
. ./lib.sh

MODE=${1:-} SEED=${2:-1} SECONDS_ASKED=${3:-120} CUT=${4:-0}
case $MODE in first|next) ;; *) echo "usage: $0 first|next SEED SECONDS CUT" >&2; exit 2 ;; esac
NOTES=/var/lib/safelock-test

# ---- the rules' constants (ms) ------------------------------------------------
RELOCK_MS=1000		# the owner's relock time
DOOR_LIMIT_S=10		# the owner's door limit
MARGIN_MS=3000		# scheduling slack under TCG
PERMIT_MS=12000		# a grant's rise: within this of the ENTER (verify timeout 4 s)
SETTLE_MS=10000		# a right code must open again this long after a fault
VERIFY_TIMEOUT_MS=4000	# testboard_up's verify_timeout_ms
EXPECT_POLICY="time_delay_s=0 open_window_s=60 dual_control=false dual_window_s=60 relock_ms=$RELOCK_MS door_limit_s=$DOOR_LIMIT_S time_lock=false"

# ---- time: CLOCK_BOOTTIME in ms, without a fork -------------------------------
now() { read -r _up _ </proc/uptime; _f=${_up#*.}; NOW=$((${_up%.*} * 1000 + 10 * ${_f#0})); }
now; T0=$NOW
# the true wall clock: what it was at boot, plus the time since
REAL0=$(date +%s)
true_real() { now; TRUE_REAL=$((REAL0 + (NOW - T0) / 1000)); }
SKEW=0			# what the clock jumps added to the wall clock (s)

# ---- randomness: a seeded LCG, so the step sequence can be replayed ----------
RSTATE=$((SEED % 2147483648))
rnd() { RSTATE=$(((RSTATE * 1103515245 + 12345) % 2147483648)); R=$(((RSTATE / 65536) % $1)); }

# ---- counters and TAP ---------------------------------------------------------
C_UNAUTH=0 C_LEFTOPEN=0 C_WEAK=0 C_LOST=0 C_KERNEL=0 C_LOCKOUT=0
C_SETTLING=0 C_GAP_RESTART=0
STEPS_LIST="right wrong duress clock kill stop reload door tamper battery timelock"
for _k in $STEPS_LIST; do eval "S_$_k=0"; done
STEP=0 KIND=setup
violation() {	# violation COUNTER TITLE [DETAIL]
	eval "$1=\$(($1 + 1))"
	notok "step $STEP ($KIND): $2" "${3:-}"
	echo "$STEP $KIND $2" >>/tmp/violations
}

# ---- the model's logs ---------------------------------------------------------
: >/tmp/door.log; : >/tmp/permits; : >/tmp/reported; : >/tmp/violations; : >/tmp/steps.log
DOOR=0 TAMPER=0 BATTERY=0
set_door() { door "$([ "$1" = 1 ] && echo open || echo closed)"; DOOR=$1; now; echo "$NOW $1" >>/tmp/door.log; }
LAST_FAULT=$T0		# the end of the last fault (ms): the settling window starts there
TL_END=0		# an immediate time lock in force until this (ms), 0 none
TL_UNTIL_REAL=0		# the same in true wall-clock seconds (for the next boot)

# check_bolt: the bolt line against the permits and the door, new findings only
check_bolt() {
	now
	awk -v now="$NOW" -v relock="$RELOCK_MS" -v limit=$((DOOR_LIMIT_S * 1000)) \
		-v m="$MARGIN_MS" -v pw="$PERMIT_MS" '
		FILENAME == "/tmp/permits" { np++; p0[np] = $1; p1[np] = $2; pk[np] = $3; next }
		FILENAME == "/tmp/door.log" { ne++; et[ne] = $1; ek[ne] = "d"; ev[ne] = $2; next }
		{ ne++; et[ne] = $1; ek[ne] = "b"; ev[ne] = $2 }
		function deadline() {
			if (door) return (o > r + relock ? o : r + relock) + limit + m
			return (c > r + relock ? c : r + relock) + m
		}
		function overdue(t) {
			if (bolt == 1 && !flagged && t > deadline()) {
				printf "LEFTOPEN %d %d %d %d\n", r, deadline(), t, door; flagged = 1
			}
		}
		END {
			# merge by time (insertion sort: the logs are short and nearly sorted)
			for (i = 2; i <= ne; i++) {
				t = et[i]; k = ek[i]; v = ev[i]
				for (j = i - 1; j >= 1 && et[j] > t; j--) { et[j + 1] = et[j]; ek[j + 1] = ek[j]; ev[j + 1] = ev[j] }
				et[j + 1] = t; ek[j + 1] = k; ev[j + 1] = v
			}
			bolt = 0; door = 0; o = 0; c = 0
			for (i = 1; i <= ne; i++) {
				t = et[i]
				overdue(t)
				if (ek[i] == "d") {
					door = ev[i]; if (door) o = t; else c = t
					continue
				}
				if (ev[i] == 1 && bolt == 0) {
					r = t; flagged = 0; found = 0
					for (p = 1; p <= np; p++)
						if (!used[p] && p0[p] <= t && t <= p1[p] + pw) { used[p] = 1; found = p; break }
					if (!found) printf "UNAUTH %d\n", t
				}
				bolt = ev[i]
			}
			overdue(now)
		}' /tmp/permits /tmp/door.log /tmp/bolt.log >/tmp/bolt.check
	while read -r _what _t _rest; do
		grep -qx "$_what $_t" /tmp/reported && continue
		echo "$_what $_t" >>/tmp/reported
		case $_what in
		UNAUTH) violation C_UNAUTH "unauthorised bolt movement: the line rose at $_t ms with no right code typed just before" \
			"$(tail -n 6 /tmp/steps.log)" ;;
		LEFTOPEN) violation C_LEFTOPEN "bolt left open: up since $_t ms, due down by ${_rest%% *} ms (door $(echo "$_rest" | awk '{ print $3 ? "open" : "closed" }'))" \
			"state $(state); door log: $(tail -n 3 /tmp/door.log | tr '\n' ' '); steps: $(tail -n 6 /tmp/steps.log | tr '\n' '|')" ;;
		esac
	done </tmp/bolt.check
}
# the time of the last rise of the bolt line (0 if none)
last_rise() { awk '$2 == 1 { t = $1 } END { print t + 0 }' /tmp/bolt.log; }
bolt_now() { tail -n 1 /tmp/bolt.log | cut -d' ' -f2; }

# ---- the policy read back -------------------------------------------------------
pfields() {
	for _pf in time_delay_s open_window_s dual_control dual_window_s relock_ms door_limit_s time_lock; do
		printf '%s=%s ' "$_pf" "$(grep -o "\"$_pf\":[^,}]*" "$1" | head -n 1 | sed 's/^[^:]*://')"
	done | sed 's/ $//'
}
settled() { now; [ $((NOW - LAST_FAULT)) -ge "$SETTLE_MS" ]; }
check_policy() {
	if $CTL --json policy get >/tmp/pol 2>&1; then
		_got=$(pfields /tmp/pol)
		[ "$_got" = "$EXPECT_POLICY" ] ||
			violation C_WEAK "the policy read back differs from the owner's" "got:  $_got${NL}want: $EXPECT_POLICY"
	elif [ -n "$D" ]; then
		violation C_WEAK "policy get fails with safelockd running" "$(cat /tmp/pol)"
	fi
	settled || return 0
	kjson >/tmp/kst
	[ "$(jfield verifier "$(cat /tmp/kst)")" = true ] || return 0
	_k=$(jfield relock_ms "$(cat /tmp/kst)")
	[ "$_k" = "$RELOCK_MS" ] || violation C_WEAK "the kernel's relock time is $_k ms, the owner's $RELOCK_MS ms" "$(cat /tmp/kst)"
	now
	if [ "$TL_END" -gt $((NOW + 1000)) ]; then
		_s=$(jfield state "$(cat /tmp/kst)")
		case $_s in TIME_LOCKED|UNLOCKED|RELOCKING) ;; *)
			violation C_WEAK "an immediate time lock with $(((TL_END - NOW) / 1000)) s left is not in force (state $_s)" "$(cat /tmp/kst)" ;;
		esac
	fi
}
NL='
'

# ---- the audit trail --------------------------------------------------------------
LAST_RECS=0 LAST_GAP_IDX=-1 VERIFIES=0
check_audit() {
	[ -n "$D" ] || return 0
	VERIFIES=$((VERIFIES + 1))
	as 4 "$AUD" audit verify >/tmp/verify.out 2>&1
	_rc=$?
	if [ "$_rc" != 0 ]; then
		violation C_LOST "audit verify fails (exit $_rc)" "$(cat /tmp/verify.out)"
		return
	fi
	_n=$(sed -n 's/^records checked: *//p' /tmp/verify.out)
	if [ "${_n:-0}" -lt "$LAST_RECS" ]; then
		violation C_LOST "the audit log shrank: $_n records, $LAST_RECS before" "$(cat /tmp/verify.out)"
	fi
	LAST_RECS=${_n:-0}
	# every gap in the kernel's sequence numbers: what explains it
	$CTL audit export >/tmp/export 2>/dev/null
	awk -F'"' '{
		idx = $0; sub(/^\{"index":/, "", idx); sub(/,.*/, "", idx)
		ks = $0; sub(/.*"kseq":/, "", ks); sub(/,.*/, "", ks)
		src = $0; sub(/.*"source":"/, "", src); sub(/".*/, "", src)
		ev = $0; sub(/.*"event":"/, "", ev); sub(/".*/, "", ev)
		if (src == "kernel" && ks > 0) {
			if (last && ks + 0 > last + 1)
				printf "%d %d %s\n", idx, ks - last - 1, el ? "events-lost" : (st ? "restart" : "none")
			last = ks + 0; el = 0; st = 0
		}
		if (ev == "events-lost") el = 1
		# a new module instance: numbered from the kseq of that record
		if (ev == "events-restart") { last = ks + 0; el = 0; st = 0 }
		if (ev == "start") st = 1
	}' /tmp/export >/tmp/gaps
	while read -r _i _n _why; do
		[ "$_i" -gt "$LAST_GAP_IDX" ] || continue
		LAST_GAP_IDX=$_i
		case $_why in
		events-lost) echo "# soak: $_n kernel events lost before record $_i, with an events-lost record" ;;
		restart)
			C_GAP_RESTART=$((C_GAP_RESTART + _n))
			violation C_LOST "$_n kernel events missing before audit record $_i (across a safelockd restart; no events-lost record)" \
				"$(grep -n . /tmp/export | sed -n "$((_i - 3 > 1 ? _i - 3 : 1)),$((_i + 1))p" | cut -c1-300)" ;;
		*) violation C_LOST "$_n kernel events missing before audit record $_i (no events-lost record, no restart)" \
			"$(grep -n . /tmp/export | sed -n "$((_i - 3 > 1 ? _i - 3 : 1)),$((_i + 1))p" | cut -c1-300)" ;;
		esac
	done </tmp/gaps
}

# ---- the kernel's log -----------------------------------------------------------
PATTERNS='WARNING:|BUG:|Oops|general protection|possible circular locking|possible recursive locking|inconsistent lock state|INFO: task .* blocked|KASAN|UBSAN|Call Trace:|Kernel panic|soft lockup|hard LOCKUP|detected stalls? on CPU|INFO: rcu'
KREPORTS=0
check_kernel() {
	_n=$(dmesg | grep -cE "$PATTERNS")
	if [ "$_n" -gt "$KREPORTS" ]; then
		violation C_KERNEL "the kernel reported a problem ($((_n - KREPORTS)) new lines)" \
			"$(dmesg | grep -E "$PATTERNS" | tail -n $((_n - KREPORTS)) | head -n 10)"
		KREPORTS=$_n
	fi
}

# ---- safelockd and the module ------------------------------------------------------
WATCH=
watch_up() {
	./boltwatch "$SIM/sim_gpio0/value" 5 >>/tmp/bolt.log 2>/dev/null &
	WATCH=$!
}
daemon_restart() {
	daemon_up || { violation C_LOCKOUT "safelockd did not come back" "$(tail -n 20 /tmp/safelockd.log)"; return 1; }
}
module_reload() {
	modules_reload >/tmp/reload.err || bail "module reload: $(cat /tmp/reload.err)"
	# safelockd follows the family and registers again by itself
	wait_for 150 registered || violation C_LOCKOUT "safelockd did not register after the module came back" \
		"$(tail -n 10 /tmp/safelockd.log)"
}

# ---- codes ----------------------------------------------------------------------
# who may open: 1 owner, 2 manager, 3 user (with a duress code); 4 auditor
code_of() { eval "echo \"\$CODE_$1\""; }
# each opener's wrong codes in a row, as far as the soak knows (read through eval)
# shellcheck disable=SC2034
FAILS_1=0 FAILS_2=0 FAILS_3=0
# type USER CODE: the entry's keys; T_TYPED and T_ENTER (ms) are when
type_entry() {
	now; T_TYPED=$NOW
	keys "$(printf '%03d' "$1")$2E"; keys_sync
	now; T_ENTER=$NOW
}
# permit T0 T1 KIND: one rise of the bolt is allowed for this entry
permit() { echo "$1 $2 $3" >>/tmp/permits; }
# quiet: wait until the lock is in a state a person could judge at a
# glance: not between two steps of an opening (RELOCKING, an UNLOCKED bolt
# the closed door does not hold, a verdict on its way, an entry begun). A
# code typed while the last opening's relock is finishing opens once the
# relock is done; judged from the state before it, it looked refused.
quiet() {
	wait_until 200 'case $(state) in
		ENTRY|VERIFYING|RELOCKING) false ;;
		UNLOCKED) [ "$DOOR" = 1 ] ;;
		*) true ;; esac'
}
# may_open: could a right code typed now open, as far as the owner knows?
# (MAY_STATE and MAY_T: the state it judged from, and when it read it)
may_open() {
	quiet
	MAY_STATE=$(state); now; MAY_T=$NOW
	[ "$TL_END" -le "$NOW" ] || return 1
	[ "$MAY_STATE" = LOCKED ]
}
# wait_rise SINCE TENTHS: the bolt line rose after SINCE (ms), within TENTHS
wait_rise() { wait_until "$2" "[ \$(last_rise) -ge $1 ]"; }

# open_with USER CODE KIND: a right (or duress) code; judged by the rules
open_with() {
	_u=$1 _c=$2 _kind=$3
	# a code typed while the bolt is still up counts for nothing: wait
	# for the relock (bounded by the bolt rule) unless the door holds it
	[ "$DOOR" = 1 ] || wait_until 80 '[ "$(bolt_now)" = 0 ]'
	_ok=0; may_open && _ok=1
	_s0=$MAY_STATE
	type_entry "$_u" "$_c"
	[ "$_ok" = 1 ] && permit "$T_TYPED" "$T_ENTER" "$_kind"
	if wait_rise "$T_TYPED" 80; then
		# the open door held the bolt, its limit threw it after the state
		# was read and before the first key (keys are ignored while the
		# bolt is up): the code opened a locked lock, as it should
		if [ "$_ok" = 0 ] && [ "$_s0" = UNLOCKED ] &&
			[ "$(awk -v r="$(last_rise)" '$2 == 0 && $1 < r { t = $1 } END { print t + 0 }' /tmp/bolt.log)" -ge "$MAY_T" ]; then
			permit "$T_TYPED" "$T_ENTER" "$_kind-after-door-limit"
		fi
		eval "FAILS_$_u=0"
		return 0
	fi
	if [ "$_ok" = 1 ]; then
		if settled; then
			violation C_LOCKOUT "the owner is locked out: user $_u's right code did not open (state was $_s0, now $(state))" \
				"$(tail -n 5 /tmp/safelockd.log)"
		else
			C_SETTLING=$((C_SETTLING + 1))
			echo "# soak: refused (settling): user $_u, $(((NOW - LAST_FAULT) / 1000)) s after the fault, state $(state)"
		fi
	fi
	return 1
}

# probe: after a fault, a right code opens again within SETTLE_MS
probe() {
	_end=$((LAST_FAULT + SETTLE_MS))
	while :; do
		now
		[ "$TL_END" -le "$NOW" ] || return 0	# time-locked on purpose
		wait_until 100 '[ "$(bolt_now)" = 0 ]'
		_s=$(state)
		case $_s in PENALTY|TIME_LOCKED|FAULT) echo "# soak: probe: the lock is $_s"; return 0 ;; esac
		if [ "$_s" = LOCKED ]; then
			type_entry 1 "$CODE_1"
			permit "$T_TYPED" "$T_ENTER" probe
			# shellcheck disable=SC2034
			if wait_rise "$T_TYPED" 80; then FAILS_1=0; return 0; fi
		fi
		now
		if [ "$NOW" -gt "$_end" ]; then
			violation C_LOCKOUT "the owner is locked out: no opening within $((SETTLE_MS / 1000)) s of the fault (state $(state))" \
				"$(kjson)${NL}$(tail -n 8 /tmp/safelockd.log)"
			return 1
		fi
		C_SETTLING=$((C_SETTLING + 1))
		sleep 1	# a pause between tries, as a person makes
	done
}

# ---- the steps ---------------------------------------------------------------------
opener() { rnd 3; OU=$((R + 1)); OC=$(code_of $OU); }
step_right() { opener; open_with "$OU" "$OC" right; }
step_duress() { open_with 3 "$CODE_D" duress; }
step_wrong() {
	rnd 3; _u=$((R + 1))
	eval "_f=\$FAILS_$_u"
	_g=$(dfield global_failures)
	if [ "$_f" -ge 3 ] || [ "${_g:-0}" -ge 3 ]; then
		# near the penalty: a right code instead (the soak is not a brute force test)
		KIND=right; open_with "$_u" "$(code_of "$_u")" right; return
	fi
	eval "FAILS_$_u=\$((_f + 1))"
	# keys typed while the bolt is up are ignored: the entry would be cut
	[ "$DOOR" = 1 ] || wait_until 80 '[ "$(bolt_now)" = 0 ]'
	type_entry "$_u" "$(other_code "$CODE_1" "$CODE_2" "$CODE_3" "$CODE_D")"
	wait_until 60 '[ "$(state)" != VERIFYING ]'
}
CLOCK_JUMPS="5 90 3600 86400 2592000 94608000"
step_clock() {
	true_real
	rnd 3
	if [ "$SKEW" != 0 ] && [ "$R" = 0 ]; then
		SKEW=0; DETAIL="put right"
	else
		# shellcheck disable=SC2086 # a list of numbers
		set -- $CLOCK_JUMPS; rnd $#; shift "$R"; _d=$1
		rnd 2; [ "$R" = 0 ] && _d=$((-_d))
		SKEW=$_d; DETAIL="jump to true $_d s"
	fi
	date -s "@$((TRUE_REAL + SKEW))" >/dev/null
}
step_kill() {
	rnd 3
	case $R in
	0) DETAIL=idle ;;
	# an entry abandoned after its user id is a failure of that user
	1) DETAIL="mid-entry"; opener; keys "$(printf '%03d' "$OU")$(echo "$OC" | cut -c1-4)"; keys_sync
	   eval "FAILS_$OU=\$((FAILS_$OU + 1))" ;;
	*) DETAIL="verifying"; opener
	   _ok=0; may_open && _ok=1
	   type_entry "$OU" "$OC"
	   # the verdict may beat the kill: then this entry's rise is allowed
	   [ "$_ok" = 1 ] && permit "$T_TYPED" "$T_ENTER" kill-verifying
	   eval "FAILS_$OU=\$((FAILS_$OU + 1))" ;;
	esac
	daemon_kill
	# the request dies with the verifier
	[ "$DETAIL" != verifying ] || wait_until 30 '[ "$(state)" != VERIFYING ]'
	daemon_restart
	now; LAST_FAULT=$NOW
	probe
}
step_stop() {
	opener
	rnd 6; _hold=$((R * 1000 + 500))	# 0.5 .. 5.5 s: around the 4 s verify timeout
	_ok=0; may_open && _ok=1
	now; _t0=$NOW
	keys "$(printf '%03d' "$OU")$(echo "$OC" | cut -c1-3)"; keys_sync
	kill -STOP "$D"
	keys "$(echo "$OC" | cut -c4-)E"; keys_sync
	now; _t1=$NOW
	DETAIL="frozen $_hold ms"
	# a hold of a given length, not a wait for a state
	sleep "$((_hold / 1000)).$((_hold % 1000 / 100))"
	kill -CONT "$D"
	# a grant that comes after the verify timeout must never open
	if [ "$_ok" = 1 ] && [ "$_hold" -lt $((VERIFY_TIMEOUT_MS - 1500)) ]; then
		permit "$_t0" "$_t1" stop
	elif [ "$_hold" -ge $((VERIFY_TIMEOUT_MS + 500)) ]; then
		eval "FAILS_$OU=\$((FAILS_$OU + 1))"
	elif [ "$_ok" = 1 ]; then
		permit "$_t0" "$_t1" stop-late
	fi
	wait_until 60 '[ "$(state)" != VERIFYING ]'
	now; LAST_FAULT=$NOW
	probe
}
step_reload() {
	rnd 4
	case $R in
	0) DETAIL=idle ;;
	1) DETAIL="mid-entry"; opener; keys "$(printf '%03d' "$OU")$(echo "$OC" | cut -c1-5)"; keys_sync
	   eval "FAILS_$OU=\$((FAILS_$OU + 1))" ;;
	2) DETAIL="verifying"; opener; may_open && { now; _t=$NOW; }
	   keys "$(printf '%03d' "$OU")${OC}E"; keys_sync
	   [ -n "${_t:-}" ] && { now; permit "$_t" "$NOW" reload-verifying; }
	   unset _t ;;
	*) DETAIL="open"; opener; open_with "$OU" "$OC" right ;;
	esac
	module_reload
	now; LAST_FAULT=$NOW
	probe
}
step_door() { set_door $((1 - DOOR)); DETAIL="door $DOOR"; }
step_tamper() { TAMPER=$((1 - TAMPER)); set_line 2 "$([ $TAMPER = 1 ] && echo up || echo down)"; DETAIL="tamper $TAMPER"; }
step_battery() { BATTERY=$((1 - BATTERY)); set_line 16 "$([ $BATTERY = 1 ] && echo up || echo down)"; DETAIL="battery $BATTERY"; }
step_timelock() {
	true_real
	now; _t=$NOW
	if as 1 "$CODE_1" time-lock now 1min >/tmp/out 2>&1; then
		TL_END=$((_t + 60000)) TL_UNTIL_REAL=$((TRUE_REAL + 60))
		DETAIL="1 min"
	else
		DETAIL="refused: $(tail -n 1 /tmp/out)"
	fi
}

# pick: the next step, weighted; some steps are not picked when they would
# only stall the soak (a door left open long, a time lock near the end)
pick() {
	now
	if [ "$DOOR" = 1 ] && [ $((NOW - $(tail -n 1 /tmp/door.log | cut -d' ' -f1))) -gt 15000 ]; then
		KIND=door; return
	fi
	rnd 100
	if [ "$R" -lt 26 ]; then KIND=right
	elif [ "$R" -lt 36 ]; then KIND=wrong
	elif [ "$R" -lt 41 ]; then KIND=duress
	elif [ "$R" -lt 49 ]; then KIND=clock
	elif [ "$R" -lt 55 ]; then KIND='kill'
	elif [ "$R" -lt 61 ]; then KIND=stop
	elif [ "$R" -lt 67 ]; then KIND=reload
	elif [ "$R" -lt 81 ]; then KIND=door
	elif [ "$R" -lt 89 ]; then KIND=tamper
	elif [ "$R" -lt 94 ]; then KIND=battery
	elif [ "$R" -lt 97 ] && [ "$TL_END" -le "$NOW" ] && [ "$SKEW" = 0 ] &&
		[ $((DEADLINE - NOW)) -gt 90000 ]; then KIND=timelock
	else KIND=right
	fi
}

run_step() {
	STEP=$((STEP + 1)) DETAIL=
	now
	echo "# soak: step $STEP ($KIND) at $(((NOW - T0) / 1000)) s, $(((DEADLINE - NOW) / 1000)) s left"
	"step_$KIND"
	eval "S_$KIND=\$((S_$KIND + 1))"
	now
	echo "$STEP $NOW $KIND $DETAIL" >>/tmp/steps.log
	[ -z "$DETAIL" ] || echo "# soak:   $DETAIL"
	check_bolt
	check_policy
	check_kernel
	case $KIND in kill|reload|stop) check_audit ;; *) [ $((STEP % 6)) != 0 ] || check_audit ;; esac
}

# ---- setup -------------------------------------------------------------------------
setup_first() {
	section "setup"
	# the TPM forgives DA failures at the soak's pace, not a lock's (tpmda.c)
	check "the TPM's DA recovery time scaled to the soak's pace (6 s for 600 s)" \
		./tpmda device:/dev/tpmrm0 6
	check "safelockd registers on an unprovisioned lock" daemon_up
	[ -n "$D" ] || bail "safelockd did not start"
	CODE_1=$(random_code)
	CODE_2=$(other_code "$CODE_1")
	CODE_3=$(other_code "$CODE_1" "$CODE_2")
	AUD=$(other_code "$CODE_1" "$CODE_2" "$CODE_3")
	CODE_D=$(other_code "$CODE_1" "$CODE_2" "$CODE_3" "$AUD")
	OWNER=$CODE_1
	set_door 1
	wait_until 20 '[ "$(jfield door_open)" = true ]'
	expect_rc "init with the door open" 0 sh -c "echo $CODE_1 | $CTL init --new-code-fd 0"
	set_door 0
	check "LOCKED" wait_state 30 LOCKED
	expect_rc "user add 2 (manager)" 0 add_user 2 manager "$CODE_2"
	expect_rc "user add 3 (user)" 0 add_user 3 user "$CODE_3"
	expect_rc "user add 4 (auditor)" 0 add_user 4 auditor "$AUD"
	expect_rc "duress set by user 3" 0 \
		sh -c "printf '%s\n%s\n' $CODE_3 $CODE_D | $CTL duress set --as 3 --code-fd 0 --new-code-fd 0"
	expect_rc "the owner's policy: relock 1 s, door limit ${DOOR_LIMIT_S} s, no delay, no dual control" 0 \
		as 1 "$CODE_1" policy set --relock 1s --door-limit ${DOOR_LIMIT_S}s --time-delay 0 --dual-control off
	check "the kernel has the owner's relock time" wait_until 50 "[ \"\$(jfield relock_ms)\" = $RELOCK_MS ]"
	mkdir -p "$NOTES"
	printf 'CODE_1=%s\nCODE_2=%s\nCODE_3=%s\nAUD=%s\nCODE_D=%s\n' \
		"$CODE_1" "$CODE_2" "$CODE_3" "$AUD" "$CODE_D" >"$NOTES/codes"
}
setup_next() {
	section "after the power cut"
	[ -f "$NOTES/codes" ] || bail "no notes from the boot before in $NOTES"
	# shellcheck source=/dev/null
	. "$NOTES/codes"
	# shellcheck source=/dev/null
	. "$NOTES/model"
	OWNER=$CODE_1
	check "safelockd starts on the vault that lost power, registers" daemon_up
	[ -n "$D" ] || bail "safelockd did not start"
	check "provisioned, LOCKED (or time-locked), four users" \
		wait_until 50 '[ "$(dfield provisioned)/$(dfield users)" = "true/4" ] && case $(state) in LOCKED|TIME_LOCKED) true ;; *) false ;; esac'
	# an immediate time lock set before the cut still runs to its end
	true_real
	if [ "$TL_UNTIL_REAL" -gt $((TRUE_REAL + 2)) ]; then
		TL_END=$((NOW + (TL_UNTIL_REAL - TRUE_REAL) * 1000))
		echo "# soak: a time lock set before the cut has $((TL_UNTIL_REAL - TRUE_REAL)) s left"
	fi
	# the log holds at least what audit verify counted before the cut
	LAST_RECS=${RECS_BEFORE:-0}
	# a gap reported before the cut is not reported again
	LAST_GAP_IDX=${GAP_IDX_BEFORE:--1}
	now; LAST_FAULT=$NOW
}

# ---- the end -------------------------------------------------------------------------
counters() {
	echo "# soak-counters: unauthorised=$C_UNAUTH left_open=$C_LEFTOPEN weakened=$C_WEAK lost=$C_LOST kernel=$C_KERNEL lockout=$C_LOCKOUT settling=$C_SETTLING gap_restart=$C_GAP_RESTART verifies=$VERIFIES"
	_l=
	for _k in $STEPS_LIST; do eval "_l=\"\$_l $_k=\$S_$_k\""; done
	echo "# soak-steps:$_l"
}
summary_checks() {
	section "soak rules"
	for _r in "C_UNAUTH:no unauthorised bolt movement" "C_LEFTOPEN:no bolt left open past the relock time" \
		"C_WEAK:no weakened policy" "C_LOST:no lost audit record" "C_KERNEL:no kernel report" \
		"C_LOCKOUT:the owner was never locked out"; do
		_v=0; eval "_v=\$${_r%%:*}"
		if [ "$_v" = 0 ]; then ok "${_r#*:} ($STEP steps)"
		else notok "${_r#*:}" "$_v violations: $(grep -c . /tmp/violations) in all, see above"; fi
	done
}
# cut_now: the state directory and the model to the host, then the power
# goes, at a random point of an entry or an opening
cut_now() {
	rnd 4
	true_real
	printf 'TL_UNTIL_REAL=%s\nRECS_BEFORE=%s\nGAP_IDX_BEFORE=%s\n' "$TL_UNTIL_REAL" "$LAST_RECS" "$LAST_GAP_IDX" >"$NOTES/model"
	summary_checks
	counters
	echo "# guest time: $(elapsed) s"
	echo "1..$N"
	case $R in
	0) echo "# soak: power cut at rest" ;;
	1) echo "# soak: power cut mid-entry"; opener; keys "$(printf '%03d' "$OU")$(echo "$OC" | cut -c1-5)"; keys_sync ;;
	2) echo "# soak: power cut while verifying"; opener; keys "$(printf '%03d' "$OU")${OC}E" ;;
	*) echo "# soak: power cut with the bolt open"; opener; type_entry "$OU" "$OC"; wait_rise "$T_TYPED" 60 ;;
	esac
	vm-save /var/lib
	vm-powercut "$([ "$FAILED" = 0 ] && echo 0 || echo 1)"
}

# ---- main ----------------------------------------------------------------------------
board_up
watch_up
wait_until 20 '[ -s /tmp/bolt.log ]'
set_door 0
if [ "$MODE" = first ]; then setup_first; else setup_next; fi
echo "# soak: seed $SEED, $SECONDS_ASKED s, power cut at the end: $([ "$CUT" = 1 ] && echo yes || echo no)"
check_bolt; check_policy; check_audit; check_kernel
[ "$MODE" = first ] || probe

section "soak"
now; DEADLINE=$((NOW + SECONDS_ASKED * 1000))
while now; [ "$NOW" -lt "$DEADLINE" ]; do
	pick
	run_step
done
# the end: the clock put right, the door closed, every rule once more
KIND=end
[ "$SKEW" = 0 ] || { true_real; date -s "@$TRUE_REAL" >/dev/null; SKEW=0; }
[ "$DOOR" = 0 ] || set_door 0
[ "$TAMPER" = 0 ] || step_tamper
[ "$BATTERY" = 0 ] || step_battery
wait_until $(((RELOCK_MS + MARGIN_MS) / 100)) '[ "$(bolt_now)" = 0 ]'
check_bolt; check_policy; check_audit; check_kernel
if [ "$CUT" = 1 ]; then
	cut_now
fi
summary_checks
check "safelockd stops cleanly on SIGTERM (exit 0)" daemon_stop
kill "$WATCH" 2>/dev/null
counters
echo "# guest time: $(elapsed) s"
plan_end
