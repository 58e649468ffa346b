#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The end-to-end scenarios, in the test VM (scripts/e2e.sh boots it): the
# real module on a simulated board, the real safelockd on the TPM
# (/dev/tpmrm0, swtpm), safelockctl as an owner would run it.  One
# "ok"/"not ok" line per check (TAP), with the reason on failure.
#
#   guest.sh main        boot 1: lifecycle, users and roles, opening by role
#                        and duress, time delay, dual control, the courier
#                        override, dual administration, the weekly schedule,
#                        an idle minute (no wakeup of safelockd, no time
#                        lock timer in the kernel), safelockd killed
#                        mid-request,
#                        the audit trail (tampering, a keypad flood), bad
#                        input, the immediate time lock, code change,
#                        recovery and wipe
#   guest.sh cut         boot 2 (a TPM kept in --tpm-state): init, wrong
#                        codes, then the power is cut between the count of a
#                        try and its check; the state directory is saved
#   guest.sh after-cut   boot 3 (the same TPM, the saved state directory):
#                        the count and the penalty survived, the right code
#                        opens after it, nothing was lost
#
# Codes are made up here at run time from /dev/urandom.
set -u
cd /safelock || exit 1
export NO_COLOR=1
# shellcheck source=scripts/e2e/lib.sh
. ./lib.sh

# ---- events ---------------------------------------------------------------
MON=
monitor_up() {	# the lock's events, as JSON lines, into /tmp/ev
	$CTL --json monitor >>/tmp/ev 2>/dev/null &
	MON=$!
}
monitor_down() { [ -z "$MON" ] || { kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null; MON=; }; }
mark() { MARK=$(wc -l </tmp/ev); }
# since_mark: the events after the last mark
since_mark() { tail -n +$((MARK + 1)) /tmp/ev; }
# wait_event TENTHS PATTERN: an event after the mark matches PATTERN (grep -E)
wait_event() { wait_for "$1" sh -c "tail -n +$((MARK + 1)) /tmp/ev | grep -Eq '$2'"; }
# The bolt: sampled every 20 ms for TENTHS; fails if it was ever open.
bolt_stays_thrown() {
	_n=$(($1 * 5))
	while [ "$_n" -gt 0 ]; do
		[ "$(bolt)" = 0 ] || { echo "the bolt line went to 1"; return 1; }
		sleep 0.02; _n=$((_n - 1))
	done
}
# opens USER CODE: the entry retracts the bolt, then it relocks by itself
opens() {
	mark
	enter "$1" "$2"
	wait_state 60 UNLOCKED || return 1
	[ "$(bolt)" = 1 ] || { echo "UNLOCKED but the bolt line is $(bolt)"; return 1; }
	wait_event 10 "\"event\":\"attempt\".*\"result\":\"granted\",\"user_id\":$1," ||
		{ echo "no GRANTED attempt event for user $1"; since_mark; return 1; }
	wait_state 80 LOCKED || return 1
	[ "$(bolt)" = 0 ] || { echo "LOCKED but the bolt line is $(bolt)"; return 1; }
}
# denied USER CODE: the entry is answered DENIED and the bolt never moves
denied() {
	mark
	keys "$(printf '%03d' "$1")$2E"
	wait_event 100 "\"event\":\"attempt\".*\"user_id\":$1," ||
		{ echo "no attempt event for user $1"; since_mark; return 1; }
	since_mark | grep -q "\"event\":\"attempt\".*\"result\":\"denied\",\"user_id\":$1," ||
		{ echo "the attempt was not denied:"; since_mark | grep attempt; return 1; }
	! since_mark | grep -q '"event":"bolt"' || { echo "the bolt was driven"; return 1; }
	[ "$(bolt)" = 0 ] || { echo "the bolt line is 1"; return 1; }
}
# same WHAT A B: A = B, else say WHAT
same() { [ "$2" = "$3" ] || { echo "$1"; return 1; }; }
# users_json: user list --json as the owner
users_json() { as 1 "$OWNER" --json user list; }
# urole USER: the user's role in users_json's output (/tmp/users)
urole() { grep -o "{\"user_id\":$1,[^}]*}" /tmp/users | sed -n 's/.*"role":"\([a-z]*\)".*/\1/p'; }
ufield() { grep -o "{\"user_id\":$1,[^}]*}" /tmp/users | grep -o "\"$2\":[^,}]*" | sed 's/^[^:]*://'; }

start_board() {
	board_up
	: >/tmp/ev
	monitor_up
}
stop_all() {
	monitor_down
	exec 5>&-
	[ -z "$KEYS_PID" ] || wait "$KEYS_PID" 2>/dev/null
}

# ===========================================================================
# boot 1
# ===========================================================================

lifecycle() {
	section "lifecycle"
	check "safelockd registers on an unprovisioned lock" daemon_up
	check "safelockd runs sandboxed: its own user, the seccomp filter, no_new_privs, only CAP_NET_ADMIN" \
		wait_for 50 sandboxed
	[ -n "$D" ] || bail "safelockd did not start"
	check "the kernel says UNPROVISIONED" wait_state 10 UNPROVISIONED
	check "safelockd says not provisioned, no users" \
		test "$(dfield provisioned)/$(dfield users)" = "false/0"

	OWNER=$(random_code)
	echo "$OWNER" >/tmp/owner.code	# tmpfs, this boot only
	expect_rc "init with the door closed: refused (exit 6)" 6 \
		$CTL init --new-code-fd 3 3</tmp/owner.code
	check "init with the door closed: says the door is closed" \
		has '^safelockctl: unable to initialise the vault: the door is closed'
	check "init with the door closed: no recovery secret shown" sh -c '! grep -qi recovery /tmp/out'
	check "init with the door closed: nothing changed (unprovisioned, no users)" \
		test "$(state)/$(dfield provisioned)/$(dfield users)" = "UNPROVISIONED/false/0"

	door open
	wait_until 20 '[ "$(jfield door_open)" = true ]'
	expect_rc "init with the door open: done (exit 0)" 0 \
		$CTL init --new-code-fd 3 3</tmp/owner.code
	rm -f /tmp/owner.code
	cp /tmp/out /tmp/init.out
	RECOVERY=$(grep -oE '[0-9A-Z]{4}(-[0-9A-Z]{4}){7}' /tmp/init.out | head -n 1)
	check "init prints the recovery secret once, 8 groups of 4 Crockford base32 characters (160 bits)" \
		sh -c "[ \$(grep -cE '^ +[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}\$' /tmp/init.out) = 1 ]"
	check "init: user 001 is the owner" has '^Initialised: user 001 is the owner' /tmp/init.out
	expect_rc "init again: refused, already initialised (exit 1)" 1 \
		sh -c "echo $(random_code) | $CTL init --new-code-fd 0"
	check "init again: no new secret" sh -c '! grep -qE "[0-9A-Z]{4}(-[0-9A-Z]{4}){7}" /tmp/out && grep -q "already initialised" /tmp/out'
	flat=$(echo "$RECOVERY" | tr -d -)
	check "neither the recovery secret nor the owner's code is in the state directory" \
		sh -c "[ -n '$flat' ] && ! grep -rqF -e '$flat' -e '$RECOVERY' -e '$OWNER' $STATE"
	door closed
	check "the door closes: LOCKED" wait_state 30 LOCKED
	check "status: provisioned, 1 user" \
		test "$(dfield provisioned)/$(dfield users)" = "true/1"
	$CTL status >/tmp/out 2>&1
	check "status (human): LOCKED, provisioned" sh -c 'grep -q "^state: *LOCKED" /tmp/out && grep -q "provisioned: *yes" /tmp/out'
}

users_roles() {
	section "users and roles"
	MGR=$(other_code "$OWNER")
	USR=$(other_code "$OWNER" "$MGR")
	AUD=$(other_code "$OWNER" "$MGR" "$USR")
	COU=$(other_code "$OWNER" "$MGR" "$USR" "$AUD")
	for u in "2 manager $MGR" "3 user $USR" "4 auditor $AUD" "5 courier $COU"; do
		set -- $u
		expect_rc "user add $1 --role $2, authorised by the owner (codes from fds)" 0 add_user "$1" "$2" "$3"
	done
	# the relock the tests wait for: 1 s (the vault's default is 5 s)
	expect_rc "policy set --relock 1s by the manager" 0 as 2 "$MGR" policy set --relock 1s
	check "the kernel has the new relock (1000 ms)" wait_until 20 '[ "$(jfield relock_ms)" = 1000 ]'

	expect_rc "user list (human) by the owner" 0 as 1 "$OWNER" user list
	check "user list shows the five users and their roles" sh -c '
		grep -Eq "^001 +owner +0 " /tmp/out && grep -Eq "^002 +manager +0 " /tmp/out &&
		grep -Eq "^003 +user +0 " /tmp/out && grep -Eq "^004 +auditor +0 " /tmp/out &&
		grep -Eq "^005 +courier +0 " /tmp/out && [ $(grep -cE "^0[0-9][0-9] " /tmp/out) = 5 ]'
	expect_rc "user list --json by the auditor" 0 as 4 "$AUD" --json user list
	cp /tmp/out /tmp/users
	check "user list --json: five users with roles, failures, retry and duress" sh -c '
		[ $(grep -o "\"user_id\":" /tmp/users | wc -l) = 5 ] &&
		grep -q "{\"user_id\":4,\"role\":\"auditor\",\"failures\":0,\"retry_after_ms\":0,\"duress\":false}" /tmp/users &&
		grep -q "{\"user_id\":5,\"role\":\"courier\"," /tmp/users'

	WRONG=$(other_code "$OWNER")
	expect_rc "a wrong authorising code: refused (exit 6)" 6 as 1 "$WRONG" user list
	check "a wrong authorising code: says so" has 'unable to list the users: wrong code for user 001'
	check "a wrong authorising code lists nothing" sh -c '! grep -q "^00[1-5] " /tmp/out'
	NEW=$(other_code "$OWNER" "$MGR" "$USR" "$AUD" "$COU")
	expect_rc "a user cannot add users (exit 6)" 6 \
		sh -c "printf '%s\n%s\n' $USR $NEW | $CTL user add 9 --as 3 --code-fd 0 --new-code-fd 0"
	check "a user cannot add users: the message says who may" has 'unable to add user 009: .*(owner|manager)'
	expect_rc "an auditor cannot add users (exit 6)" 6 \
		sh -c "printf '%s\n%s\n' $AUD $NEW | $CTL user add 9 --as 4 --code-fd 0 --new-code-fd 0"
	expect_rc "the manager adds user 006" 0 \
		sh -c "printf '%s\n%s\n' $MGR $NEW | $CTL user add 6 --role user --as 2 --code-fd 0 --new-code-fd 0"
	expect_rc "user set-role 6 courier by the manager" 0 as 2 "$MGR" user set-role 6 courier
	users_json >/tmp/users 2>&1
	check "user 006 is a courier now, 009 was never added" \
		sh -c "[ '$(urole 6)' = courier ] && ! grep -q '\"user_id\":9,' /tmp/users"
	expect_rc "a user cannot change roles (exit 6)" 6 as 3 "$USR" user set-role 6 manager
	expect_rc "user del 6 by the manager" 0 as 2 "$MGR" user del 6
	expect_rc "user del of a user that does not exist: fails (exit 1)" 1 as 2 "$MGR" user del 6
	check "user del: says there is no such user" has 'unable to remove user 006: no user 006'
	users_json >/tmp/users 2>&1
	check "user 006 is gone; 001-005 are as they were" sh -c "
		[ \$(grep -o '\"user_id\":' /tmp/users | wc -l) = 5 ] && ! grep -q '\"user_id\":6,' /tmp/users &&
		[ '$(urole 1)$(urole 2)$(urole 3)$(urole 4)$(urole 5)' = ownermanageruserauditorcourier ]"
	expect_rc "the deleted user's code no longer authorises anything (exit 6)" 6 as 6 "$NEW" user list
}

opening() {
	section "opening by role"
	check "the owner's code opens, then the lock relocks" opens 1 "$OWNER"
	check "the manager's code opens" opens 2 "$MGR"
	check "a user's code opens" opens 3 "$USR"
	check "no opening raised the alarm" test "$(alarm)" = 0
	check "the auditor's right code never opens" denied 4 "$AUD"
	check "a courier's right code alone never opens" denied 5 "$COU"
	check "a wrong code never opens" denied 3 "$(other_code "$USR")"
	check "the bolt stayed thrown" bolt_stays_thrown 5

	DUR=$(other_code "$OWNER" "$MGR" "$USR" "$AUD" "$COU")
	expect_rc "duress set by user 003 (own code, then the duress code, from one fd)" 0 \
		sh -c "printf '%s\n%s\n' $USR $DUR | $CTL duress set --as 3 --code-fd 0 --new-code-fd 0"
	users_json >/tmp/users 2>&1
	check "user list shows the duress code of 003 only" \
		test "$(ufield 3 duress)/$(ufield 2 duress)" = "true/false"
	check "the duress code opens" opens 3 "$DUR"
	check "the duress code raised the silent alarm line" test "$(alarm)" = 1
	check "a DURESS event and an ALARM event (raised)" sh -c "
		since_() { tail -n +$((MARK + 1)) /tmp/ev; }
		since_ | grep -q '\"event\":\"duress\".*\"user_id\":3,' &&
		since_ | grep -q '\"event\":\"alarm\".*\"value\":1}'"
	check "status shows the alarm output raised" test "$(jfield alarm)" = true
	check "the alarm falls after alarm-ms (3 s)" wait_until 60 '[ "$(alarm)" = 0 ]'
	check "user 003's own code still opens, without the alarm" opens_quietly 3 "$USR"
}

opens_quietly() { opens "$@" && { [ "$(alarm)" = 0 ] || { echo "the alarm line is 1"; return 1; }; }; }

time_delay() {
	section "policy: time delay"
	expect_rc "policy set --time-delay 5s by the manager" 0 as 2 "$MGR" policy set --time-delay 5s
	$CTL --json policy get >/tmp/policy 2>&1
	check "policy get --json shows the time delay and the open window" \
		sh -c 'grep -q "\"time_delay_s\":5," /tmp/policy && grep -q "\"open_window_s\":60," /tmp/policy && grep -q "\"relock_ms\":1000," /tmp/policy'
	$CTL policy get >/tmp/out 2>&1
	check "policy get (human) shows it" has '^time delay: +5 s'
	mark
	enter 1 "$OWNER"
	check "a right code starts the time delay (TIME_DELAY)" wait_state 30 TIME_DELAY
	t=$(jfield timer_ms)
	check "status shows the delay left (0 < timer_ms <= 5000)" test "${t:-0}" -gt 0 -a "${t:-0}" -le 5000
	check "the bolt stays thrown during the delay" bolt_stays_thrown 10
	check "then the open window (OPEN_WINDOW)" wait_state 80 OPEN_WINDOW
	check "the bolt is still thrown in the window" test "$(bolt)" = 0
	check "a second right code in the window opens" opens 1 "$OWNER"
	expect_rc "policy set --time-delay 0 by the manager" 0 as 2 "$MGR" policy set --time-delay 0
	check "policy get --json: no time delay again" sh -c "$CTL --json policy get | grep -q '\"time_delay_s\":0,'"
}

# ---- the policies through the whole stack ---------------------------------
# attempts USER RESULT: attempt events of USER with RESULT since the mark
attempts() { since_mark | grep -c "\"event\":\"attempt\".*\"result\":\"$2\",\"user_id\":$1,"; }
# as_two USER1 CODE1 USER2 CODE2 safelockctl-ARGS...: dual administration,
# both codes on fd 3 in the order safelockctl asks for them
as_two() {
	_u=$1 _c=$2 _u2=$3 _c2=$4; shift 4
	printf '%s\n%s\n' "$_c" "$_c2" |
		$CTL "$@" --as "$_u" --code-fd 3 --as2 "$_u2" --code2-fd 3 3<&0 </dev/null
}
# lone_code_expires USER CODE: the code waits in DUAL_PENDING, nobody
# joins, and at the end of the 10 s dual window the lock is LOCKED with
# the bolt never moved
lone_code_expires() {
	mark
	enter "$1" "$2"
	wait_state 30 DUAL_PENDING || return 1
	bolt_stays_thrown 110 || return 1
	wait_state 30 LOCKED || return 1
	! since_mark | grep -q '"event":"bolt"' || { echo "the bolt was driven"; return 1; }
}

policies() {
	section "policy: dual control"
	expect_rc "policy set --dual-control on --dual-window 10s by the manager" 0 \
		as 2 "$MGR" policy set --dual-control on --dual-window 10s
	mark
	enter 3 "$USR"
	check "one user's right code waits for a second (DUAL_PENDING)" wait_state 30 DUAL_PENDING
	enter 3 "$USR"
	check "the same user again is granted but is still one user" wait_until 50 '[ "$(attempts 3 granted)" = 2 ]'
	check "still DUAL_PENDING, the bolt thrown" \
		sh -c "[ \$(./safelockctl --socket /none --json status | grep -o '\"state\":\"[A-Z_]*\"') = '\"state\":\"DUAL_PENDING\"' ] && [ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	check "a second user's right code within the window opens" opens 2 "$MGR"
	check "a lone right code counts for nothing once the window ends" lone_code_expires 3 "$USR"
	expect_rc "policy set --dual-control off" 0 as 2 "$MGR" policy set --dual-control off
	check "one code opens again" opens 3 "$USR"

	section "policy: courier override of the time delay"
	expect_rc "policy set --time-delay 1min --courier-override on by the manager" 0 \
		as 2 "$MGR" policy set --time-delay 1min --courier-override on
	mark
	enter 5 "$COU"
	check "the courier's code waits for a second person (DUAL_PENDING)" wait_state 30 DUAL_PENDING
	check "the manager's code within the window opens at once: no time delay" opens 2 "$MGR"
	check "an OVERRIDE event names both (user 002, with 005)" \
		sh -c "tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"override\".*\"user_id\":2,.*\"value\":5}'"
	check "no TIME_DELAY on the way" sh -c "! tail -n +$((MARK + 1)) /tmp/ev | grep -q TIME_DELAY"
	check "a courier alone never opens" lone_code_expires 5 "$COU"
	mark
	enter 1 "$OWNER"
	check "the owner alone: waits for a second person first (DUAL_PENDING)" wait_state 30 DUAL_PENDING
	check "then, nobody joining, the ordinary time delay starts (TIME_DELAY)" wait_state 150 TIME_DELAY
	keys C; keys_sync
	check "CLEAR cancels the time delay: LOCKED, the bolt never moved" sh -c "
		sleep 0.5; [ \$(./safelockctl --socket /none --json status | grep -o '\"state\":\"[A-Z_]*\"') = '\"state\":\"LOCKED\"' ] &&
		! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"bolt\"'"
	expect_rc "policy set --time-delay 0 --courier-override off" 0 \
		as 2 "$MGR" policy set --time-delay 0 --courier-override off
	check "a courier's right code alone is denied again" denied 5 "$COU"

	section "policy: dual administration"
	expect_rc "policy set --dual-admin on by the owner" 0 as 1 "$OWNER" policy set --dual-admin on
	EXTRA=$(other_code "$OWNER" "$MGR" "$USR" "$AUD" "$COU" "$DUR")
	expect_rc "user add 7 with one code under dual administration: refused (exit 6)" 6 \
		sh -c "printf '%s\n%s\n' $OWNER $EXTRA | $CTL user add 7 --as 1 --code-fd 0 --new-code-fd 0"
	check "says a second user's code is needed" has 'second user'
	expect_rc "user add 7 with the owner twice: usage error, nothing sent (exit 2)" 2 \
		sh -c "printf '%s\n%s\n%s\n' $OWNER $OWNER $EXTRA | $CTL user add 7 --as 1 --code-fd 0 --as2 1 --code2-fd 0 --new-code-fd 0"
	check "says the two must be different users" has 'two different users'
	expect_rc "user add 7 with a user (not a manager) as the second: refused" 6 \
		sh -c "printf '%s\n%s\n%s\n' $OWNER $USR $EXTRA | $CTL user add 7 --as 1 --code-fd 0 --as2 3 --code2-fd 0 --new-code-fd 0"
	users_json >/tmp/users 2>&1
	check "nothing was added" test -z "$(ufield 7 role)"
	expect_rc "user add 7 with the owner and the manager: done" 0 \
		sh -c "printf '%s\n%s\n%s\n' $OWNER $MGR $EXTRA | $CTL user add 7 --as 1 --code-fd 0 --as2 2 --code2-fd 0 --new-code-fd 0"
	check "user 7's code opens" opens 7 "$EXTRA"
	expect_rc "policy set --dual-admin off with one code: refused (exit 6)" 6 \
		as 1 "$OWNER" policy set --dual-admin off
	expect_rc "user del 7 by the owner and the manager" 0 as_two 1 "$OWNER" 2 "$MGR" user del 7
	expect_rc "policy set --dual-admin off by the owner and the manager" 0 \
		as_two 1 "$OWNER" 2 "$MGR" policy set --dual-admin off
	check "policy get: dual administration off" sh -c "$CTL --json policy get | grep -q '\"dual_admin\":false'"

	section "policy: weekly time lock schedule"
	# The guest's clock is set to 40 s before the end of a quarter hour,
	# and a locked period ending then is scheduled for today: the period
	# is in force at once and ends by itself 40 s later. The clock is put
	# right afterwards.
	real=$(date +%s) up0=$(uptime_ds)
	date -s "$(date +%Y-%m-%d) 10:14:20" >/dev/null
	day=$(date +%a | tr 'A-Z' 'a-z')
	mark
	expect_rc "policy set --time-lock on --lock '$day 10:00-10:15' by the manager" 0 \
		as 2 "$MGR" policy set --time-lock on --lock "$day 10:00-10:15"
	check "the scheduled period is in force: TIME_LOCKED" wait_state 30 TIME_LOCKED
	t=$(jfield timer_ms)
	check "it ends at 10:15: under 40 s left ($t ms)" test "${t:-0}" -gt 0 -a "${t:-0}" -le 40000
	keys "001${OWNER}E"; keys_sync
	check "the owner's code is ignored during the period, nothing opens" sh -c "
		sleep 1; ! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"attempt\"' && [ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	expect_rc "policy set --time-lock off --clear-schedule during the period" 0 \
		as 2 "$MGR" policy set --time-lock off --clear-schedule
	check "turning the schedule off does not end the running period" test "$(state)" = TIME_LOCKED
	check "the period ends by itself at 10:15: LOCKED" wait_state 500 LOCKED
	check "the owner's code opens again" opens 1 "$OWNER"
	date -s "@$((real + ($(uptime_ds) - up0) / 10))" >/dev/null
	check "the clock set and put right: reported as CLOCK_JUMP events" \
		wait_until 100 '[ $(grep -c "\"event\":\"clock-jump\"" /tmp/ev) -ge 2 ]'
}

# ---- idle: nothing wakes ---------------------------------------------------
# voluntary + involuntary context switches of process $1
ctxt() { awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }' "/proc/$1/status"; }
# the whole system's context switches since boot
sys_ctxt() { awk '/^ctxt / { print $2 }' /proc/stat; }
# safelock's time lock timers the kernel has pending
tl_timers() { _n=$(grep -c 'safelock_tl_.*_fired' /proc/timer_list 2>/dev/null); echo "${_n:-0}"; }

idle() {
	section "idle: no wakeups"
	check "the lock is at rest (LOCKED), safelockd registered, the policy in force" \
		wait_until 50 '[ "$(state)" = LOCKED ] && registered'
	# the audit log anchors what it has within 30 s (AUDIT_ANCHOR_MS):
	# after that nothing is due
	sleep 32
	c0=$(ctxt "$D") s0=$(sys_ctxt) t0=$(uptime_ds)
	sleep 60
	c1=$(ctxt "$D") s1=$(sys_ctxt) t1=$(uptime_ds)
	echo "# idle: safelockd $((c1 - c0)) context switches in $(((t1 - t0) / 10)) s;" \
		"the whole guest $((s1 - s0)); time lock timers pending: $(tl_timers)"
	check "an idle safelockd does not wake: no context switch in 60 s" test "$((c1 - c0))" = 0
	check "no time lock set: the kernel has no time lock timer pending" test "$(tl_timers)" = 0
	# ... and wakes for what is due: an admin request, a clock set
	c0=$(ctxt "$D")
	expect_rc "an admin request to the idle safelockd is answered" 0 $CTL status
	mark
	date -s "@$(($(date +%s) + 30))" >/dev/null
	check "a clock set wakes safelockd, which tells the kernel: a CLOCK_JUMP event at once" \
		wait_event 20 '"event":"clock-jump"'
	date -s "@$(($(date +%s) - 30))" >/dev/null
	check "... and back" wait_until 20 '[ $(since_mark | grep -c "\"event\":\"clock-jump\"") -ge 2 ]'
	check "safelockd woke for them" test "$(ctxt "$D")" -gt "$c0"
}

daemon_dies() {
	section "safelockd killed mid-request"
	# A VERIFY the verifier never answers: safelockd stopped, the kernel's
	# verify timeout (4 s) ends it; the late answer is refused.
	keys "001$OWNER"; keys_sync
	kill -STOP "$D"
	mark
	keys E; keys_sync
	check "safelockd stopped: the entry waits in VERIFYING" wait_state 20 VERIFYING
	check "the kernel times the request out: nothing opens" bolt_stays_thrown 30
	check "the kernel gives up (TIMEOUT) and is LOCKED again" sh -c "
		tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"attempt\".*\"result\":\"timeout\",\"user_id\":1,' && [ \$(./safelockctl --socket /none --json status | grep -o '\"state\":\"[A-Z_]*\"') = '\"state\":\"LOCKED\"' ]"
	kill -CONT "$D"
	check "safelockd's late answer is never taken: nothing opens" bolt_stays_thrown 15
	check "safelockd saw it was too late" wait_for 30 grep -q "user 001: deadline passed, not tried" /tmp/safelockd.log

	# SIGKILL while the VERIFY is pending: the request dies with the verifier.
	keys "001$OWNER"; keys_sync
	kill -STOP "$D"
	mark
	keys E; keys_sync
	check "the next entry waits in VERIFYING" wait_state 20 VERIFYING
	kill -9 "$D"; wait "$D" 2>/dev/null; D=
	check "safelockd killed (SIGKILL): the request is cancelled, LOCKED" wait_state 30 LOCKED
	check "a CANCELLED attempt event, no bolt event" sh -c "
		tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"attempt\".*\"result\":\"cancelled\"' &&
		! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"bolt\"'"
	check "the verifier is gone" test "$(jfield verifier)" = false
	check "nothing opened" test "$(bolt)" = 0
	check "a restarted safelockd registers again" daemon_up
	check "the events emitted while safelockd was down are one events-lost record, FROM..TO exactly" \
		down_gap_recorded
	expect_rc "audit verify after the restart (exit 0)" 0 verify
	check "audit verify: every gap is explained by a record" sh -c '
		grep -q "every gap explained" /tmp/out && ! grep -q "no record explains" /tmp/out'
	check "and the owner's code opens" opens 1 "$OWNER"
}

# ---- the module reloaded in each state ------------------------------------
# reload: the module and the board unloaded and loaded again, the monitor
# following; the bolt line is 0 from probe on (the line reads 0 while no
# driver holds it, so a 1 is the new instance's doing)
reload() {
	monitor_down
	modules_reload || return 1
	monitor_up
	mark
	[ "$(bolt)" = 0 ] || { echo "the bolt line is 1 after probe"; return 1; }
}
# secured: safelockd registered again, the vault's policy in force
# (relock 1000 ms), the lock at rest (LOCKED), the bolt thrown
secured() {
	wait_for 100 registered || { echo "safelockd did not register again"; return 1; }
	wait_until 50 '[ "$(state)/$(jfield relock_ms)" = LOCKED/1000 ]' ||
		{ echo "state $(state), relock $(jfield relock_ms) ms: not LOCKED with the owner's policy"; return 1; }
	[ "$(bolt)" = 0 ] || { echo "the bolt line is 1"; return 1; }
}
# reloaded_in STATE: the lock is in STATE; reload it; secured again
reloaded_in() {
	[ "$(state)" = "$1" ] || { echo "the lock is $(state), not $1, before the reload"; return 1; }
	reload && secured
}

reload_states() {
	section "the module reloaded in each state"
	keys "001$(echo "$OWNER" | cut -c1-3)"; keys_sync
	wait_state 20 ENTRY
	check "ENTRY: reloaded, the bolt thrown, LOCKED again" reloaded_in ENTRY
	check "ENTRY: no digit typed before it is kept: the owner's whole code opens" opens 1 "$OWNER"

	keys "001$OWNER"; keys_sync
	kill -STOP "$D"
	keys E; keys_sync
	wait_state 20 VERIFYING
	check "VERIFYING (safelockd stopped): the entry waits" test "$(state)" = VERIFYING
	reload >/tmp/reload.out 2>&1; _rc=$?
	kill -CONT "$D"
	check "VERIFYING: reloaded, the bolt thrown" same "$(cat /tmp/reload.out)" "$_rc" 0
	check "VERIFYING: safelockd's answer to the old request opens nothing" bolt_stays_thrown 20
	check "VERIFYING: secured again (LOCKED)" secured
	check "VERIFYING: the owner's code opens" opens 1 "$OWNER"

	mark
	enter 1 "$OWNER"
	wait_state 30 UNLOCKED
	door open
	wait_until 20 '[ "$(jfield door_open)" = true ]'
	check "UNLOCKED (the door open holds the bolt): reloaded, probe throws the bolt" reloaded_in UNLOCKED
	door closed
	check "UNLOCKED: the owner's code opens" opens 1 "$OWNER"

	TB_EXTRA="bolt_drive_ms=3000"
	check "a board whose bolt takes 3 s to throw: reloaded, secured" reloaded_in LOCKED
	mark
	enter 1 "$OWNER"
	wait_state 80 RELOCKING
	TB_EXTRA=
	check "RELOCKING: reloaded, the bolt thrown, LOCKED again" reloaded_in RELOCKING
	check "RELOCKING: the owner's code opens" opens 1 "$OWNER"

	expect_rc "policy set --time-delay 5s by the manager" 0 as 2 "$MGR" policy set --time-delay 5s
	mark
	enter 1 "$OWNER"
	wait_state 30 TIME_DELAY
	check "TIME_DELAY: reloaded, LOCKED again" reloaded_in TIME_DELAY
	sleep 6
	check "TIME_DELAY: the delay is not carried on: 6 s on, no open window, the bolt never moved" sh -c "
		[ \$(./safelockctl --socket /none --json status | grep -o '\"state\":\"[A-Z_]*\"') = '\"state\":\"LOCKED\"' ] &&
		! tail -n +$((MARK + 1)) /tmp/ev | grep -q 'OPEN_WINDOW\\|\"event\":\"bolt\"' && [ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	mark
	enter 1 "$OWNER"
	check "TIME_DELAY: a right code starts the whole delay again" wait_state 30 TIME_DELAY
	t=$(jfield timer_ms)
	check "... 4 s < delay left <= 5 s ($t ms)" test "${t:-0}" -gt 4000 -a "${t:-0}" -le 5000
	wait_state 80 OPEN_WINDOW
	check "OPEN_WINDOW: reloaded, LOCKED again" reloaded_in OPEN_WINDOW
	mark
	enter 1 "$OWNER"
	check "OPEN_WINDOW: the window is gone: a right code starts the delay again" wait_state 30 TIME_DELAY
	keys C; keys_sync
	wait_state 20 LOCKED
	expect_rc "policy set --time-delay 0" 0 as 2 "$MGR" policy set --time-delay 0

	expect_rc "policy set --dual-control on --dual-window 10s" 0 \
		as 2 "$MGR" policy set --dual-control on --dual-window 10s
	mark
	enter 3 "$USR"
	wait_state 30 DUAL_PENDING
	check "DUAL_PENDING: reloaded, LOCKED again (the first code forgotten)" reloaded_in DUAL_PENDING
	mark
	enter 2 "$MGR"
	check "DUAL_PENDING: dual control still holds: one code waits for a second" wait_state 30 DUAL_PENDING
	check "DUAL_PENDING: the bolt stays thrown" test "$(bolt)" = 0
	check "DUAL_PENDING: a second user's code opens" opens 3 "$USR"
	expect_rc "policy set --dual-control off" 0 as 2 "$MGR" policy set --dual-control off
}

# After safelockd was killed and started again: the log's last kernel
# record before the restart is K; the first after it is one events-lost
# record for lock 0 saying "events K+1..TO", the next kernel record is
# TO+1, and the kernel did emit K+1..TO (the monitor saw them, the
# cancelled attempt among them).
down_gap_recorded() {
	$CTL audit export >/tmp/export.gap 2>&1 || { cat /tmp/export.gap; return 1; }
	_start=$(grep -n '"event":"start".*"text":"safelockd started"' /tmp/export.gap | tail -n 1 | cut -d: -f1)
	[ -n "$_start" ] || { echo "no start record"; return 1; }
	_k=$(head -n "$_start" /tmp/export.gap | grep '"source":"kernel"' | tail -n 1 |
		sed 's/.*"kseq":\([0-9]*\),.*/\1/')
	tail -n +"$_start" /tmp/export.gap | grep -E '"source":"kernel"|"event":"events-(lost|restart)"' |
		head -n 2 >/tmp/gap.recs
	_lost=$(head -n 1 /tmp/gap.recs) _next=$(sed -n 2p /tmp/gap.recs)
	echo "# before the restart: kernel #$_k; then: $_lost"
	echo "$_lost" | grep -q '"event":"events-lost"' || { echo "no events-lost first: $_lost"; return 1; }
	_to=$(echo "$_lost" | sed 's/.*"kseq":\([0-9]*\),.*/\1/')
	echo "$_lost" | grep -q "\"value\":0,.*events $((_k + 1))\.\.$_to emitted while safelockd was not running" ||
		{ echo "events-lost does not say $((_k + 1))..$_to: $_lost"; return 1; }
	[ "$(echo "$_next" | sed 's/.*"kseq":\([0-9]*\),.*/\1/')" = $((_to + 1)) ] ||
		{ echo "the next kernel record is not #$((_to + 1)): $_next"; return 1; }
	[ "$_to" -gt "$_k" ] || { echo "nothing lost? $_k..$_to"; return 1; }
	_s=$((_k + 1))
	while [ "$_s" -le "$_to" ]; do
		grep -q "^{\"seq\":$_s," /tmp/ev || { echo "the monitor never saw event $_s"; return 1; }
		_s=$((_s + 1))
	done
	awk -F'[:,]' -v a="$_k" -v b="$_to" '$2 > a && $2 <= b' /tmp/ev | grep -q '"result":"cancelled"' ||
		{ echo "the cancelled attempt is not among $((_k + 1))..$_to"; return 1; }
}

bad_input() {
	section "bad input"
	as 1 "$OWNER" --json user list >/tmp/users.before 2>&1
	$CTL --json policy get >/tmp/policy.before 2>&1
	recs=$(dfield audit_records)
	expect_rc "user add 1000: usage error (exit 2)" 2 as 1 "$OWNER" user add 1000
	check "user add 1000: one clear line" has '^safelockctl: unable to .*(1 to 999|2 to 999)'
	expect_rc "user add abc: usage error (exit 2)" 2 as 1 "$OWNER" user add abc
	expect_rc "user add 7 --role king: usage error (exit 2)" 2 as 1 "$OWNER" user add 7 --role king
	expect_rc "user set-role 3 owner: usage error (exit 2)" 2 as 1 "$OWNER" user set-role 3 owner
	check "user set-role 3 owner: says the owner stays the owner" has 'owner'
	expect_rc "user del 1 (the owner): usage error (exit 2)" 2 as 1 "$OWNER" user del 1
	expect_rc "policy set --time-delay 3h (over 2 h): usage error (exit 2)" 2 as 2 "$MGR" policy set --time-delay 3h
	check "policy set --time-delay 3h: says the range, as --help does" has "time-delay '3h' is too long: it is from 0 to 2h"
	expect_rc "policy set --open-window 10s (under 1 min): usage error (exit 2)" 2 as 2 "$MGR" policy set --open-window 10s
	expect_rc "policy set --lock 'mon 25:00-26:00': usage error (exit 2)" 2 as 2 "$MGR" policy set --lock "mon 25:00-26:00"
	expect_rc "time-lock now 30s (under 1 min): usage error (exit 2)" 2 as 2 "$MGR" time-lock now 30s
	expect_rc "a new code of 5 digits: usage error (exit 2)" 2 \
		sh -c "printf '%s\n12345\n' $OWNER | $CTL user add 7 --as 1 --code-fd 0 --new-code-fd 0"
	check "a new code of 5 digits: says 6 to 12 digits" has 'the new code: 5 digits: a code is 6 to 12 digits'
	expect_rc "a new code with letters: usage error (exit 2)" 2 \
		sh -c "printf '%s\n1234abcd\n' $OWNER | $CTL user add 7 --as 1 --code-fd 0 --new-code-fd 0"
	expect_rc "a code of 13 digits: usage error (exit 2)" 2 as 1 1234567890123 user list
	expect_rc "an unknown command: usage error (exit 2)" 2 $CTL frobnicate
	expect_rc "no code and no terminal: usage error (exit 2)" 2 $CTL user list --as 1
	check "no code and no terminal: says use --code-fd" has 'use --code-fd'
	as 1 "$OWNER" --json user list >/tmp/users.after 2>&1
	$CTL --json policy get >/tmp/policy.after 2>&1
	check "after the bad input: the same users" cmp /tmp/users.before /tmp/users.after
	check "after the bad input: the same policy" cmp /tmp/policy.before /tmp/policy.after
	check "after the bad input: nothing reached safelockd (no audit record)" \
		test "$(dfield audit_records)" = "$recs"

	# a stopped safelockd
	check "safelockd stops cleanly on SIGTERM (exit 0)" daemon_stop
	expect_rc "safelockd stopped: user list fails with 'not reachable' (exit 5)" 5 as 1 "$OWNER" user list
	check "safelockd stopped: the message says so" has 'unable to reach safelockd at /run/safelock/admin.sock.*is safelockd running'
	expect_rc "safelockd stopped: status still works (exit 0)" 0 $CTL status
	check "safelockd stopped: status says the verifier is absent, safelockd not reachable" \
		sh -c 'grep -q "^verifier: *absent" /tmp/out && grep -q "^safelockd: *not reachable" /tmp/out'
	expect_rc "safelockd stopped: doctor (exit 5)" 5 $CTL doctor
	check "safelockd stopped: doctor says what to do" has '^verifier +FAIL'
	mark
	enter 1 "$OWNER"
	check "safelockd stopped: a right code gives NO_VERIFIER, nothing opens" sh -c "
		sleep 0.5; tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"result\":\"no-verifier\"' && [ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	check "safelockd started again: registers" daemon_up

	# the module goes away
	monitor_down
	board_down
	expect_rc "module unloaded: status fails with 'no such device' (exit 3)" 3 $CTL status
	check "module unloaded: status says is the module loaded" has 'unable to open /dev/safelock0: .*is the safelock module loaded'
	if [ -f "/lib/modules/$(uname -r)/modules.dep" ]; then
		expect_rc "module unloaded: doctor says available, not loaded (exit 8)" 8 $CTL doctor
		check "doctor: the fix is modprobe safelock" has 'modprobe safelock'
		mkdir -p /tmp/modprobe.d
		echo "blacklist safelock" >/tmp/modprobe.d/blacklist-safelock.conf
		expect_rc "module blacklisted: doctor (exit 9)" 9 $CTL doctor --modprobe-dir /tmp/modprobe.d
	else
		skip "module unloaded: doctor says available, not loaded (exit 8)" "no /lib/modules/$(uname -r) in the guest"
		skip "module blacklisted: doctor (exit 9)" "no /lib/modules/$(uname -r) in the guest"
	fi
	mkdir -p /tmp/no-modules
	expect_rc "module not installed: doctor (exit 10)" 10 $CTL doctor --modules-dir /tmp/no-modules
	$CTL --json doctor --modules-dir /tmp/no-modules >/tmp/out 2>&1
	check "doctor: safelockd keeps serving without the module, its TPM answers" sh -c '
		grep -q "{\"check\":\"safelockd\",\"result\":\"ok\",\"detail\":\"[^\"]*not registered" /tmp/out &&
		grep -q "{\"check\":\"vault\",\"result\":\"ok\"" /tmp/out'
	check "doctor --json: the exit status of each check, the first failing one's overall" \
		sh -c 'grep -q "\"check\":\"module\",\"result\":\"FAIL\".*\"exit\":10}" /tmp/out && grep -q "\"exit\":10}\$" /tmp/out'
	expect_rc "user list without the module: still answered by safelockd (exit 0)" 0 as 1 "$OWNER" user list
	insmod ./safelock.ko && testboard_up
	monitor_up
	check "module back: safelockd registers again by itself" wait_for 100 registered
	check "module back: provisioned (LOCKED), the vault's policy again (relock 1000 ms)" \
		wait_until 50 '[ "$(state)/$(jfield relock_ms)" = "LOCKED/1000" ]'
	check "module back: the owner's code opens" opens 1 "$OWNER"
	sleep 0.5
	lastk=$($CTL audit export | grep '"source":"kernel"' | tail -n 1 | sed 's/.*"kseq":\([0-9]*\),.*/\1/')
	check "module back: safelockd records the kernel's events again (the log's last kernel record is the kernel's last event)" \
		same "the log's last kernel record #$lastk, the kernel's last event #$(jfield last_seq)" "$lastk" "$(jfield last_seq)"
	check "module back: the log says lock 0's numbering restarted (an events-restart record), not a loss" sh -c "
		$CTL audit export | grep -q '\"event\":\"events-restart\".*\"value\":0,.*new instance, numbering restarted'"
	verify
	check "module back: audit verify leaves no gap unexplained" sh -c '! grep -q "no record explains" /tmp/out'
}

# The Nth record's index (0-based position P) of an audit file
rec_index() { od -An -tu8 -j $(($2 * 224 + 8)) -N8 "$1" | tr -d ' '; }
# verify: audit verify by the auditor, output in /tmp/out, exit status
verify() { as 4 "$AUD" audit verify >/tmp/out 2>&1; }
# missing: the kernel events verify reported missing (0 if none)
missing() { sed -n 's/.* \([0-9][0-9]*\) kernel events.* missing.*/\1/p' /tmp/out | head -n 1 | grep . || echo 0; }
# tampered TITLE EXPECTED-REGEX: audit verify exits 11 and names the record
tampered() {
	verify
	_rc=$?
	if [ "$_rc" = 11 ] && grep -Eq -- "$2" /tmp/out; then ok "$1"
	else notok "$1" "exit $_rc (expected 11), wanted /$2/ in: $(cat /tmp/out)"; fi
}
# restore: the log as it was, written into the same files (safelockd keeps
# the head file open)
restore() {
	for f in "$A0"/audit-*.log; do cat "$f" >"$A/$(basename "$f")"; done
	for f in "$A"/audit-*.log; do [ -e "$A0/$(basename "$f")" ] || rm -f "$f"; done
}

audit_trail() {
	section "audit"
	A=$STATE/audit A0=/tmp/audit.orig
	check "the audit log is in $A" sh -c "ls $A/audit-*.log"
	expect_rc "audit show" 0 $CTL audit show
	check "audit show: a table with the init, the users, the policy, the verdicts" sh -c '
		head -n 1 /tmp/out | grep -q "^INDEX *TIME *SOURCE *EVENT" &&
		grep -Eq " vault +init " /tmp/out && grep -Eq " vault +user-add " /tmp/out &&
		grep -Eq " vault +policy-set " /tmp/out && grep -Eq " vault +verdict .* granted" /tmp/out &&
		grep -Eq " vault +admin-refused " /tmp/out'
	check "audit show: the kernel's events with their sequence numbers (attempt, bolt, door, duress, alarm)" sh -c '
		for e in attempt bolt door duress alarm; do
			grep -Eq " kernel +$e +#[0-9]+ " /tmp/out || { echo "no $e"; exit 1; }
		done'
	expect_rc "audit show -n 5: the last 5 records" 0 $CTL audit show -n 5
	check "audit show -n 5: 5 rows" test "$(grep -cE '^ *[0-9]+ ' /tmp/out)" = 5
	expect_rc "audit show --user 3" 0 $CTL audit show --user 3
	check "audit show --user 3: only user 003's records" sh -c '
		[ $(grep -cE "^ *[0-9]+ " /tmp/out) -gt 0 ] && ! grep -E "^ *[0-9]+ " /tmp/out | grep -vq " 003 "'
	$CTL audit export >/tmp/export 2>/tmp/export.err
	check "audit export: exit 0, one JSON object per line" sh -c '
		[ -s /tmp/export ] && ! grep -vE "^\{\"index\":[0-9]+,\"kseq\":[0-9]+,\"mono_ns\":[0-9]+,\"real_ns\":-?[0-9]+,\"time\":\"[^\"]+\",\"source\":\"(kernel|vault|log)\",\"event\":\"[a-z_-]+\",\"state\":\"[A-Za-z_-]+\",\"result\":\"[a-z_-]+\",\"user\":[0-9]+,\"value\":[0-9]+,\"text\":\".*\"\}$" /tmp/export'
	check "audit export: the indices run 0, 1, 2, ... without a hole" sh -c "
		sed 's/^{\"index\":\([0-9]*\),.*/\1/' /tmp/export | awk 'NR == 1 && \$1 != 0 { exit 1 } NR > 1 && \$1 != p + 1 { exit 1 } { p = \$1 }'"
	check "audit export: the duress opening is there (kernel duress event, duress verdict)" sh -c '
		grep -q "\"source\":\"kernel\",\"event\":\"duress\".*\"user\":3," /tmp/export &&
		grep -q "\"event\":\"verdict\".*\"user\":3,.*\"text\":\"request [0-9]* duress\"" /tmp/export'
	# (the files byte for byte, and the exported text: the exported numbers,
	# timestamps among them, could hold 8 digits that match by chance)
	check "no code appears in the log: not in its files, not in the exported text" sh -c "
		! grep -rqF -e '$OWNER' -e '$MGR' -e '$USR' -e '$AUD' -e '$COU' -e '$DUR' $A &&
		! sed -n 's/.*\"text\":\"\\(.*\\)\"}\$/\\1/p' /tmp/export |
			grep -qF -e '$OWNER' -e '$MGR' -e '$USR' -e '$AUD' -e '$COU' -e '$DUR'"
	expect_rc "audit verify by the auditor: the log verifies (exit 0)" 0 verify
	check "audit verify: says verified, with the record count" sh -c '
		grep -q "^audit log: *verified" /tmp/out && grep -Eq "^records checked: *[0-9]+" /tmp/out'
	expect_rc "audit verify with a wrong code: refused (exit 6)" 6 as 4 "$(other_code "$AUD")" audit verify
	expect_rc "audit verify by a user: refused (exit 6)" 6 as 3 "$USR" audit verify
	check "audit status counts records, none lost" sh -c "
		[ \$(./safelockctl --json status | sed 's/.*\"audit_records\":\([0-9]*\).*/\1/') -gt 0 ] &&
		./safelockctl --json status | grep -q '\"audit_lost\":0'"

	# A keypad flood: 10,000 presses (digits and ENTER) as fast as uinput
	# takes them.  The kernel's key queue and event queue may overflow;
	# the log must still verify, and every kernel event of the flood is
	# either in it or counted as missing: a gap reported, never hidden.
	verify >/dev/null 2>&1
	gaps0=$(missing) recs0=$(sed -n 's/^records checked: *//p' /tmp/out) seq0=$(jfield last_seq)
	mark
	prep0=$(grep -c "entry begun, prepared" /tmp/safelockd.log)
	t0=$(uptime_ds)
	keys "flood 10000 $(od -An -N2 -tu2 /dev/urandom | tr -d ' ')"
	keys_sync 600
	t1=$(uptime_ds)
	check "a keypad flood of 10000 presses is typed" test -e /tmp/keys.done
	# A notice of an entry that is already over is never prepared: a
	# flood leaves no backlog of TPM work for the next person to wait
	# behind (it took 25 s when each stale notice was prepared). At most
	# the 5 s hold of an entry left half typed remains.
	check "within 10 s of the flood safelockd answers an administrative request" \
		wait_for 100 sh -c "./safelockctl --json status | grep -q '\"reachable\":true'"
	echo "# flood: $(($(jfield last_seq) - seq0)) kernel events, $(since_mark | wc -l) seen by monitor, typed in $(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 10 }') s, safelockd answering $(awk -v a="$t1" -v b="$(uptime_ds)" 'BEGIN { print (b - a) / 10 }') s later"
	echo "# flood: $(since_mark | grep -c '"event":"entry-started"') entries seen begun by monitor, $(($(grep -c "entry begun, prepared" /tmp/safelockd.log) - prep0)) prepared by safelockd at their first key"
	check "after the flood the lock is at rest (LOCKED), nothing opened" sh -c "
		[ \$(cat $SIM/sim_gpio0/value) = 0 ] && ! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"result\":\"granted\"'"
	wait_state 100 LOCKED >/dev/null
	# one more event after the flood, so that a loss at its end shows too
	door open; sleep 0.3; door closed
	wait_for 50 sh -c "tail -n 3 /tmp/ev | grep -q '\"event\":\"door\".*\"value\":0}'"
	sleep 1
	seq1=$(jfield last_seq)
	expect_rc "after the flood: audit verify passes (exit 0): no broken chain" 0 verify
	sed -n 's/^what: */# verify: /p' /tmp/out
	gaps1=$(missing)
	$CTL audit export >/tmp/export 2>&1
	kin=$(awk -F'"index":' -v r="$recs0" '{ split($2, a, ","); if (a[1] + 0 >= r + 0) print }' /tmp/export |
		grep -c '"source":"kernel"')
	lastk=$(grep '"source":"kernel"' /tmp/export | tail -n 1 | sed 's/.*"kseq":\([0-9]*\),.*/\1/')
	echo "# flood accounting: kernel seq $seq0 -> $seq1, $kin kernel records logged, missing reported $gaps0 -> $gaps1"
	check "after the flood and one more event: the log's last kernel record is the kernel's last event" \
		test "$lastk" = "$seq1"
	check "after the flood: every kernel event is in the log or counted missing by audit verify" \
		test $((kin + gaps1 - gaps0)) = $((seq1 - seq0))
	nlost=$(awk -F'"index":' -v r="$recs0" '{ split($2, a, ","); if (a[1] + 0 >= r + 0) print }' /tmp/export |
		grep -c '"event":"events-lost"')
	echo "# flood: $nlost events-lost records"
	check "after the flood: an overflow of the event socket is recorded (events-lost) exactly when kernel events are missing" \
		test $((nlost > 0)) = $((gaps1 - gaps0 > 0))
	check "audit status: records lost are counted, or none" sh -c "
		./safelockctl --json status | grep -q '\"audit_lost\":0' || [ $((gaps1 - gaps0)) -gt 0 ]"

	# Tampering, each on the log as it is now, restored between.
	wait_state 50 LOCKED >/dev/null
	sleep 1
	verify >/dev/null 2>&1	# anchors what is written
	rm -rf "$A0"; mkdir -p "$A0"; cp -a "$A"/audit-*.log "$A0"/
	OLD=$(ls "$A0"/audit-*.log | head -n 1)
	HEAD=$(ls "$A0"/audit-*.log | tail -n 1)
	old=$A/$(basename "$OLD") head=$A/$(basename "$HEAD")
	nold=$(($(wc -c <"$OLD") / 224)) nhead=$(($(wc -c <"$HEAD") / 224))
	echo "# tampering: $(ls "$A0" | wc -l) files, $nold records in $(basename "$OLD"), $nhead in $(basename "$HEAD")"
	p=$((nold / 2)); i=$(rec_index "$OLD" "$p")

	# edit one byte of a record's text, in the oldest file
	printf 'X' | dd of="$old" bs=1 seek=$((p * 224 + 70)) conv=notrunc 2>/dev/null
	echo "# tampering with record $i (position $p of $(basename "$OLD"))"
	tampered "an edited byte in a record: audit verify fails (exit 11), names that record, edited" \
		"record $i \\(file $(basename "$OLD").*edited"
	restore
	expect_rc "restored: verifies again" 0 verify

	# delete a record
	{ head -c $((p * 224)) "$OLD"; tail -c +$(((p + 1) * 224 + 1)) "$OLD"; } >"$old"
	tampered "a record deleted: audit verify fails (exit 11), names that record, deleted" \
		"record $i \\(file .*deleted"
	restore

	# swap two records
	{ head -c $((p * 224)) "$OLD"; dd if="$OLD" bs=224 skip=$((p + 1)) count=1 2>/dev/null
	  dd if="$OLD" bs=224 skip="$p" count=1 2>/dev/null; tail -c +$(((p + 2) * 224 + 1)) "$OLD"; } >"$old"
	tampered "two records swapped: audit verify fails (exit 11), names the first, reordered" \
		"record $i \\(file .*reordered"
	restore

	# insert a copy of a record after itself
	{ head -c $(((p + 1) * 224)) "$OLD"; dd if="$OLD" bs=224 skip="$p" count=1 2>/dev/null
	  tail -c +$(((p + 1) * 224 + 1)) "$OLD"; } >"$old"
	tampered "a copy of a record inserted after it: audit verify fails (exit 11), names the copy's place" \
		"record $((i + 1)) \\(file .*copy of record $i was inserted"
	restore

	# truncate the head file by its last three records
	if [ "$nhead" -gt 3 ]; then
		last=$(rec_index "$HEAD" $((nhead - 3)))
		head -c $(((nhead - 3) * 224)) "$HEAD" >"$head"
		tampered "the newest 3 records cut off: audit verify fails (exit 11), names the first missing, truncated" \
			"record $last \\(file .*truncated"
		restore
	else
		skip "the newest 3 records cut off: audit verify fails (exit 11)" "the head file has $nhead records"
	fi

	# delete a file: the oldest if the log has rotated, else the only one
	# (moved out of the log's names, not unlinked: safelockd keeps the head
	# file open, and it comes back as the same file)
	mv "$old" "$A/deleted.tmp"
	if [ "$OLD" != "$HEAD" ]; then
		tampered "the oldest file deleted: audit verify fails (exit 11), says deleted" "deleted"
	else
		tampered "the log's only file deleted: audit verify fails (exit 11), truncated" \
			"record 0 .*the vault's anchor says $nhead records: truncated"
	fi
	mv "$A/deleted.tmp" "$old"
	expect_rc "restored at the end: the log verifies (exit 0)" 0 verify
}

time_lock() {
	section "time lock"
	expect_rc "time-lock now 1min by the manager" 0 as 2 "$MGR" time-lock now 1min
	check "TIME_LOCKED, about a minute left" sh -c "
		t=\$(./safelockctl --socket /none --json status | sed 's/.*\"timer_ms\":\([0-9]*\).*/\1/')
		./safelockctl --socket /none --json status | grep -q '\"state\":\"TIME_LOCKED\"' && [ \$t -gt 50000 ] && [ \$t -le 60000 ]"
	mark
	keys "001${OWNER}E"; keys_sync
	check "keys are ignored while time-locked: the state stays, no event, nothing opens" sh -c "
		sleep 1; ./safelockctl --socket /none --json status | grep -q '\"state\":\"TIME_LOCKED\"' &&
		! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"entry\\|\"event\":\"attempt\"' &&
		[ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	expect_rc "time-lock now 2min: extending works" 0 as 2 "$MGR" time-lock now 2min
	check "the time lock now ends in about 2 minutes" test "$(jfield timer_ms)" -gt 100000
	expect_rc "time-lock now 1min: shortening is refused (exit 6)" 6 as 2 "$MGR" time-lock now 1min
	check "shortening: says it can only be extended" has 'can only be extended'
	check "still about 2 minutes left" test "$(jfield timer_ms)" -gt 100000
	expect_rc "a user cannot start a time lock (exit 6)" 6 as 3 "$USR" time-lock now 5min
	# the immediate time lock must not be lifted by reloading the module
	monitor_down
	board_down
	insmod ./safelock.ko && testboard_up
	wait_for 100 registered
	wait_until 30 '[ "$(state)" = TIME_LOCKED ]'
	check "after a module reload the time lock holds (TIME_LOCKED, about 2 minutes left)" \
		same "state $(state), time lock left $(jfield timer_ms) ms" "$(state)" TIME_LOCKED
}

codes_recovery_wipe() {
	section "codes, recovery, wipe"
	expect_rc "lock --json: throws the bolt, never opens (exit 0)" 0 $CTL --json lock
	check "lock --json: says locked" has '^\{"locked":true\}$'
	check "the bolt is thrown" test "$(bolt)" = 0
	NEWUSR=$(other_code "$OWNER" "$MGR" "$USR" "$AUD" "$COU" "$DUR")
	expect_rc "code change by user 003 (own code, then the new one, from one fd)" 0 \
		sh -c "printf '%s\n%s\n' $USR $NEWUSR | $CTL code change --as 3 --code-fd 0 --new-code-fd 0"
	expect_rc "the old code of 003 no longer authorises (exit 6)" 6 as 3 "$USR" duress clear
	expect_rc "duress clear by 003 with the new code" 0 as 3 "$NEWUSR" duress clear
	users_json >/tmp/users 2>&1
	check "user list: 003 has no duress code any more" test "$(ufield 3 duress)" = false
	expect_rc "code change takes no user id: no way to change another's code (exit 2)" 2 \
		sh -c "printf '%s\n%s\n' $MGR $NEWUSR | $CTL code change 3 --as 2 --code-fd 0 --new-code-fd 0"

	NEWOWN=$(other_code "$OWNER" "$MGR" "$NEWUSR" "$AUD" "$COU" "$DUR")
	# with a recovery delay: the first run starts it, any user's code
	# cancels it, a run after it completes the recovery
	expect_rc "policy set --recovery-delay 20s by the owner" 0 as 1 "$OWNER" policy set --recovery-delay 20s
	expect_rc "recover with a recovery delay: the delay starts (exit 12)" 12 \
		sh -c "printf '%s\n%s\n' '$RECOVERY' $NEWOWN | $CTL recover --recovery-fd 0 --new-code-fd 0"
	check "says when to run it again and that any user's code cancels it" \
		sh -c "grep -Eq 'run the same command again in (19|20) s' /tmp/out && grep -q 'Any user.s code cancels it' /tmp/out"
	expect_rc "recover again at once: still in the delay (exit 12)" 12 \
		sh -c "printf '%s\n%s\n' '$RECOVERY' $NEWOWN | $CTL recover --recovery-fd 0 --new-code-fd 0"
	check "says how long is left (20 s at most)" has 'run the same command again in ([1-9]|1[0-9]|20) s$'
	expect_rc "the owner's code still authorises during the delay" 0 as 1 "$OWNER" user list
	expect_rc "recover --cancel by user 003" 0 as 3 "$NEWUSR" recover --cancel
	expect_rc "recover after the cancel: the delay starts anew (exit 12)" 12 \
		sh -c "printf '%s\n%s\n' '$RECOVERY' $NEWOWN | $CTL recover --recovery-fd 0 --new-code-fd 0"
	expect_rc "recover --cancel with a wrong code: refused (exit 6)" 6 \
		as 3 "$(other_code "$NEWUSR" "$OWNER" "$MGR" "$AUD" "$COU" "$DUR")" recover --cancel
	echo "# waiting out the recovery delay (20 s)"
	sleep 21
	expect_rc "recover with the recovery secret after the delay: a new owner code (exit 0)" 0 \
		sh -c "printf '%s\n%s\n' '$RECOVERY' $NEWOWN | $CTL recover --recovery-fd 0 --new-code-fd 0"
	NEWREC=$(grep -oE '[0-9A-Z]{4}(-[0-9A-Z]{4}){7}' /tmp/out | head -n 1)
	check "recover prints a new recovery secret (the old one is spent)" \
		sh -c "[ -n '$NEWREC' ] && [ '$NEWREC' != '$RECOVERY' ]"
	expect_rc "the owner's old code no longer authorises (exit 6)" 6 as 1 "$OWNER" user list
	expect_rc "the owner's new code does" 0 as 1 "$NEWOWN" user list
	expect_rc "the spent recovery secret is refused (exit 6)" 6 \
		sh -c "printf '%s\n%s\n' '$RECOVERY' $OWNER | $CTL recover --recovery-fd 0 --new-code-fd 0"
	OWNER=$NEWOWN RECOVERY=$NEWREC
	expect_rc "policy set --recovery-delay 0 by the new owner code" 0 as 1 "$OWNER" policy set --recovery-delay 0

	expect_rc "wipe with the door closed: refused (exit 6)" 6 as 1 "$OWNER" wipe --yes
	check "wipe with the door closed: says the door is closed; still provisioned" \
		sh -c "grep -q 'door is closed' /tmp/out && [ \$(./safelockctl --json status | grep -o '\"provisioned\":[a-z]*') = '\"provisioned\":true' ]"
	door open
	wait_until 20 '[ "$(jfield door_open)" = true ]'
	expect_rc "wipe by a manager, door open: refused (exit 6)" 6 as 2 "$MGR" wipe --yes
	mark
	expect_rc "wipe by the owner, door open (exit 0)" 0 as 1 "$OWNER" wipe --yes
	check "after the wipe: UNPROVISIONED, no users" \
		wait_until 50 '[ "$(state)/$(dfield provisioned)/$(dfield users)" = "UNPROVISIONED/false/0" ]'
	check "the wipe never moved the bolt" sh -c "
		[ \$(cat $SIM/sim_gpio0/value) = 0 ] && ! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"bolt\"'"
	expect_rc "after the wipe no old code authorises anything (exit 6)" 6 as 1 "$OWNER" user list
	check "after the wipe the log starts anew and says why" sh -c "
		./safelockctl audit export | grep -q '\"event\":\"wipe\".*factory wipe'"
	door closed
}

main_boot() {
	start_board
	lifecycle
	users_roles
	opening
	time_delay
	policies
	idle
	daemon_dies
	reload_states
	audit_trail
	bad_input
	time_lock
	section "audit of the whole run"
	expect_rc "the audit log of everything so far verifies (exit 0)" 0 verify
	sed -n 's/^what: */# verify: /p' /tmp/out
	codes_recovery_wipe
	section "end"
	check "safelockd stops cleanly on SIGTERM (exit 0)" daemon_stop
	stop_all
	echo "# guest time: $(elapsed) s"
	plan_end
}

# ===========================================================================
# boots 2 and 3: a power cut in the middle of a check
# ===========================================================================

# Codes that must be the same in both boots: made up on the first and kept
# beside the state directory (the tests' own notes, not the vault's), in
# what vm-save carries to the host and the host back to the second boot.
NOTES=/var/lib/safelock-test

cut_boot() {
	start_board
	section "power cut (boot 1 of 2)"
	check "safelockd registers" daemon_up --verbose
	[ -n "$D" ] || bail "safelockd did not start"
	OWNER=$(random_code) USR=$(other_code "$OWNER")
	WRONG=$(other_code "$OWNER" "$USR")
	door open; wait_until 20 '[ "$(jfield door_open)" = true ]'
	expect_rc "init" 0 sh -c "echo $OWNER | $CTL init --new-code-fd 0"
	door closed
	check "LOCKED" wait_state 30 LOCKED
	expect_rc "user add 2" 0 add_user 2 user "$USR"
	expect_rc "policy set --relock 1s --door-limit 2min" 0 as 1 "$OWNER" policy set --relock 1s --door-limit 2min
	for n in 1 2 3 4; do
		check "wrong code $n of user 002: denied" denied 2 "$(other_code "$USR")"
	done
	check "4 wrong codes in a row: counted (status: 4 failures), no lockout yet" \
		test "$(dfield global_failures)/$(dfield retry_after_ms)/$(state)" = "4/0/LOCKED"
	# The fifth try: counted in TPM NV at its user id, before the check
	# (safelockd --verbose says "user id typed, prepared"); then safelockd
	# is frozen so that the check never runs, ENTER, and the power goes.
	prepared=$(grep -c "user id typed, prepared" /tmp/safelockd.log)
	keys "002$WRONG"; keys_sync
	check "the fifth try is counted before its check (safelockd: user id typed, prepared)" \
		wait_until 50 '[ "$(grep -c "user id typed, prepared" /tmp/safelockd.log)" -gt "$prepared" ]'
	kill -STOP "$D"
	keys E; keys_sync
	check "ENTER: the kernel waits for the verdict (VERIFYING)" wait_state 20 VERIFYING
	mkdir -p "$NOTES"
	printf 'OWNER=%s\nUSR=%s\n' "$OWNER" "$USR" >"$NOTES/codes"
	echo "# guest time: $(elapsed) s"
	echo "1..$N"
	vm-save /var/lib
	vm-powercut "$([ "$FAILED" = 0 ] && echo 0 || echo 1)"
}

after_cut_boot() {
	section "power cut (boot 2 of 2)"
	[ -f "$NOTES/codes" ] || bail "no notes from the first boot in $NOTES"
	. "$NOTES/codes"
	[ -d "$STATE" ] || bail "no state directory from the first boot in $STATE"
	start_board
	check "safelockd starts on the vault that lost power mid-check, registers" daemon_up
	[ -n "$D" ] || bail "safelockd did not start"
	check "provisioned, both users still there: the lock is LOCKED" \
		wait_until 30 '[ "$(state)/$(dfield provisioned)/$(dfield users)" = "LOCKED/true/2" ]'
	check "the policy survived (relock 1000 ms, door limit 120 s)" \
		sh -c "$CTL --json policy get | grep -q '\"relock_ms\":1000,.*\"door_limit_s\":120,'"
	g=$(dfield global_failures) r=$(dfield retry_after_ms)
	check "the try cut short counts as a failure: 5 in a row (was 4)" test "$g" = 5
	check "the penalty is in force after the power cut (retry after 0 < t <= 60 s)" \
		test "${r:-0}" -gt 0 -a "${r:-0}" -le 60000
	$CTL status >/tmp/out 2>&1
	check "status (human) shows the lockout" sh -c 'grep -Eq "^ *failures: *5 in a row" /tmp/out && grep -Eq "^ *lockout left: " /tmp/out'
	expect_rc "an admin request during the penalty: locked out (exit 7)" 7 as 1 "$OWNER" user list
	check "locked out: the message says how long" has 'locked out: try again in'

	# throttling through the real stack: the right code, during the penalty
	mark
	enter 2 "$USR"
	check "a right code during the penalty: the kernel goes to PENALTY, nothing opens" wait_state 50 PENALTY
	p=$(jfield penalty_ms)
	check "the kernel mirrors the lockout (penalty_ms 0 < t <= 60000)" test "${p:-0}" -gt 0 -a "${p:-0}" -le 60000
	check "the vault answered without trying the code: still 5 failures" test "$(dfield global_failures)" = 5
	check "denied with a retry-after, never granted" sh -c "
		tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"result\":\"denied\"' && ! tail -n +$((MARK + 1)) /tmp/ev | grep -q granted &&
		grep -q 'user 002: denied, retry after' /tmp/safelockd.log"
	reqs=$(grep -c "user 002:" /tmp/safelockd.log)
	mark
	enter 2 "$USR"
	check "a right code in the kernel's PENALTY is not even sent to safelockd" sh -c "
		sleep 1; [ \$(grep -c 'user 002:' /tmp/safelockd.log) = $reqs ] &&
		! tail -n +$((MARK + 1)) /tmp/ev | grep -q '\"event\":\"attempt\"' && [ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	check "still PENALTY" test "$(state)" = PENALTY

	echo "# waiting for the penalty to run out ($(dfield retry_after_ms) ms)"
	check "the penalty runs out (kernel LOCKED, vault retry 0) within its time" \
		wait_for 700 sh -c "./safelockctl --json status | grep -q '\"state\":\"LOCKED\".*\"retry_after_ms\":0,'"
	users_json >/tmp/users 2>&1
	# the try cut short was counted at its user id: a failure of user 002 too
	check "user 002's own count survived, with the try cut short: 5 failures" test "$(ufield 2 failures)" = 5
	check "the right code of user 002 opens after the penalty" opens 2 "$USR"
	users_json >/tmp/users 2>&1
	check "the success clears user 002's count" test "$(ufield 2 failures)" = 0
	check "the owner's code opens" opens 1 "$OWNER"
	expect_rc "the audit log of both boots verifies" 0 as 1 "$OWNER" audit verify
	sed -n 's/^what: */# verify: /p' /tmp/out
	$CTL audit export >/tmp/export 2>&1
	check "the log has the first boot's four denials and this boot's opening" sh -c '
		[ $(grep -c "\"event\":\"verdict\".*\"result\":\"denied\",\"user\":2," /tmp/export) -ge 5 ] &&
		grep -q "\"event\":\"verdict\".*\"result\":\"granted\",\"user\":2," /tmp/export'

	section "throttling"
	# five wrong codes in a row, all typed at the keypad: the fifth earns
	# the first delay of the schedule (1 min), which the kernel mirrors
	for n in 1 2 3 4; do
		check "wrong code $n: denied, no lockout yet" denied 2 "$(other_code "$USR")"
	done
	check "after 4 wrong codes the lock is at rest (LOCKED)" test "$(state)" = LOCKED
	mark
	keys "002$(other_code "$USR")E"
	check "the fifth wrong code: the kernel goes to PENALTY" wait_state 100 PENALTY
	p=$(jfield penalty_ms)
	check "the kernel's lockout is the schedule's first delay (55 s < penalty_ms <= 60 s)" \
		test "${p:-0}" -gt 55000 -a "${p:-0}" -le 60000
	check "the verdict carried the retry-after (safelockd: retry after 60000 ms)" \
		wait_for 30 grep -q "user 002: denied, retry after 60000 ms" /tmp/safelockd.log
	$CTL status >/tmp/out 2>&1
	check "status shows PENALTY and the lockout left" \
		sh -c 'grep -q "^state: *PENALTY" /tmp/out && grep -Eq "^lockout left: +[0-9]+ (s|min)" /tmp/out'
	reqs=$(grep -c "user 00[12]:" /tmp/safelockd.log)
	keys "001${OWNER}E"; keys_sync
	check "the owner's right code during the penalty is not even sent to safelockd" sh -c "
		sleep 1; [ \$(grep -c 'user 00[12]:' /tmp/safelockd.log) = $reqs ] && [ \$(cat $SIM/sim_gpio0/value) = 0 ]"
	expect_rc "the owner's code at the admin socket during the penalty: locked out (exit 7)" 7 \
		as 1 "$OWNER" policy set --relock 2s
	check "nothing changed: the policy is as it was" \
		sh -c "$CTL --json policy get | grep -q '\"relock_ms\":1000,'"
	# the kernel forgets its PENALTY with the module; the vault does not
	check "PENALTY: the module reloaded, the bolt thrown" reload
	check "PENALTY: safelockd registers again" wait_for 100 registered
	reqs=$(wc -l </tmp/safelockd.log)
	keys "001${OWNER}E"; keys_sync
	check "PENALTY: the owner's right code after the reload does not open" bolt_stays_thrown 20
	check "PENALTY: safelockd answers it from the vault's lockout, unchecked" \
		wait_for 30 sh -c "tail -n +$((reqs + 1)) /tmp/safelockd.log | grep -q 'user 001: denied, retry after'"
	check "PENALTY: the kernel is in PENALTY again" wait_state 30 PENALTY
	p=$(jfield penalty_ms)
	check "PENALTY: what is left of the first delay (0 < penalty_ms <= 60 s)" \
		test "${p:-0}" -gt 0 -a "${p:-0}" -le 60000
	check "safelockd stops cleanly (exit 0)" daemon_stop
	stop_all
	echo "# guest time: $(elapsed) s"
	plan_end
}

case ${1:-} in
main) main_boot ;;
cut) cut_boot ;;
after-cut) after_cut_boot ;;
*) echo "usage: $0 main|cut|after-cut" >&2; exit 2 ;;
esac
