#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo scenario, run inside the VM by scripts/demo.sh: a simulated board
# (gpio-sim lines for the bolt and the door, a uinput keypad), the TPM
# (swtpm), safelockd as the verifier.  It plays a lock's life the way its
# owner meets it: a new lock with no owner that cannot be secured; init
# refused with the door closed, then done with the door open (the recovery
# secret shown once); a second user added by the owner; a wrong code, the
# right code, the relock; status, users and the audit log.  Every code is
# made up here, at run time, and typed or handed over on a file descriptor.
set -u
cd /safelock || exit 1

if [ -t 1 ]; then B='\033[1m' N='\033[0m'; else B='' N=''; fi
say() { printf "${B}demo:${N} %s\n" "$*"; }
fail() {
	printf 'demo: FAILED: %s\n' "$*"
	[ -s /tmp/safelockd.log ] && sed 's/^/demo: | /' /tmp/safelockd.log
	exit 1
}
# Run a command, its output indented under the demo's lines; its status.
show() {
	"$@" >/tmp/show.out 2>&1
	rc=$?
	sed 's/^/    /' /tmp/show.out
	return $rc
}

# The kernel's events (safelockctl monitor) since the last call, indented.
SEEN=0
events() {
	sleep 0.2	# the last event of a step may still be on its way
	total=$(wc -l </tmp/monitor.log)
	[ "$total" -gt "$SEEN" ] && tail -n $((total - SEEN)) /tmp/monitor.log | sed 's/^/    | /'
	SEEN=$total
}

state() { ./safelockctl status --json 2>/dev/null | sed -n 's/.*"state":"\([A-Z_]*\)".*/\1/p'; }

# Wait up to $1 tenths of a second for the lock to reach state $2.
wait_state() {
	n=$1
	while [ "$n" -gt 0 ]; do
		[ "$(state)" = "$2" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	fail "the lock did not reach $2 (it is $(state))"
}

bolt() { cat "$SIM/sim_gpio0/value"; }

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

# A code of 8 random digits, never written anywhere but the TPM.
random_code() {
	od -An -N8 -tu1 /dev/urandom | tr -s ' ' '\n' | grep . |
		while read -r b; do printf '%d' $((b % 10)); done
}

insmod ./safelock.ko || fail "cannot load safelock.ko"
C=/sys/kernel/config/gpio-sim/demo
mkdir "$C" "$C/bank0"
echo 18 >"$C/bank0/num_lines"	# the test board uses lines 0-3 and 16-17
echo demo-board >"$C/bank0/label"
echo 1 >"$C/live"
SIM=/sys/devices/platform/$(cat "$C/dev_name")/$(cat "$C/bank0/chip_name")

mkfifo /tmp/keys
./keypad safelock-demo-keypad </tmp/keys &
exec 5>/tmp/keys
insmod ./safelock_testboard.ko chip=demo-board keypad=safelock-demo-keypad \
	relock_ms=2000 verify_timeout_ms=10000 || fail "cannot load the board"
n=50; while [ ! -e /dev/safelock0 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -e /dev/safelock0 ] || fail "the board did not come up (see dmesg)"

say "a new safe: bolt on gpio-sim line 0, door on line 1, a uinput keypad, swtpm as the TPM"
say "(lines with | are the kernel's events, from safelockctl monitor)"
./safelockctl monitor >/tmp/monitor.log 2>&1 &
MON=$!
say "starting safelockd, the verifier (as root; it drops to user safelock)"
mkdir -p /tmp/vault
./safelockd --foreground --tcti device:/dev/tpmrm0 --state-dir /tmp/vault \
	--admin-socket /run/safelock/admin.sock 2>/tmp/safelockd.log &
D=$!
n=100; while ! grep -q 'registered as verifier' /tmp/safelockd.log && [ $n -gt 0 ]; do
	sleep 0.1; n=$((n - 1))
done
[ $n -gt 0 ] || fail "safelockd did not register"
[ "$(state)" = UNPROVISIONED ] || fail "a new lock is $(state), not UNPROVISIONED"
events
say "the lock is UNPROVISIONED: no owner, no code, and nothing opens it or secures it:"
show ./safelockctl lock && fail "an unprovisioned lock was secured"

OWNER=$(random_code)
say "init with the door closed: refused (only someone at the open safe may take it over)"
printf '%s\n' "$OWNER" | show ./safelockctl init --new-code-fd 0 && fail "init with the door closed"
[ "$(state)" = UNPROVISIONED ] || fail "init with the door closed changed the lock"

say "the door is opened"
door open
events
say "init enrols the owner, user 001, with a code made up just now"
printf '%s\n' "$OWNER" | show ./safelockctl init --new-code-fd 0 || fail "init"
say "(the recovery secret above is shown once and only once: the owner writes it down)"
events
say "the owner closes the door"
door closed
wait_state 100 LOCKED
[ "$(bolt)" = 0 ] || fail "the bolt is not thrown"
events
say "the safe is locked: LOCKED, the bolt thrown"

CODE=$(random_code)
WRONG=$(random_code)
[ "$CODE" != "$WRONG" ] || WRONG=${CODE%?}$(( (${CODE#"${CODE%?}"} + 1) % 10 ))
say "the owner adds user 002, role user, authorising with the owner's code"
show ./safelockctl user add 2 --role user --as 1 --code-fd 3 --new-code-fd 4 3<<EOF 4<<EOF2 || fail "user add"
$OWNER
EOF
$CODE
EOF2
[ "$(state)" = LOCKED ] || fail "the lock is $(state) after user add"
events

say "at the keypad: user 002 and a wrong code, then ENTER"
echo "002${WRONG}E" >&5
n=100; while ! grep -q 'attempt.*denied' /tmp/monitor.log && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ $n -gt 0 ] || fail "no denied attempt"
wait_state 100 LOCKED
[ "$(bolt)" = 0 ] || fail "the bolt moved on a wrong code"
events
say "denied: the bolt did not move"

say "at the keypad: user 002 and the right code, then ENTER"
echo "002${CODE}E" >&5
wait_state 100 UNLOCKED
[ "$(bolt)" = 1 ] || fail "the bolt did not open"
events
relock=$(./safelockctl status --json | sed -n 's/.*"relock_ms":\([0-9]*\).*/\1/p')
say "granted: the bolt is open (left shut, the door would relock it after $((relock / 1000)) s)"
say "user 002 opens the door, takes what they came for, and closes it"
door open
door closed
wait_state 100 LOCKED
[ "$(bolt)" = 0 ] || fail "the bolt did not relock"
events
say "relocked as soon as the door closed"
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null

say "safelockctl status:"
show ./safelockctl status
say "safelockctl user list (the owner's code authorises it):"
show ./safelockctl user list --as 1 --code-fd 3 3<<EOF || fail "user list"
$OWNER
EOF

say "the audit log keeps every kernel event, verdict and administrative act, refused ones too;"
say "safelockctl audit show, without the kernel's events (shown above):"
./safelockctl audit show --audit-dir /tmp/vault/audit >/tmp/audit.out 2>&1 || { cat /tmp/audit.out; fail "audit show"; }
awk 'NR == 1 || $4 != "kernel"' /tmp/audit.out | sed 's/^/    /'
say "safelockctl audit verify: safelockd checks every record's chain with the vault's key"
show ./safelockctl audit verify --as 1 --code-fd 3 3<<EOF || fail "audit verify"
$OWNER
EOF

kill "$D"; wait "$D" || fail "safelockd did not stop cleanly"
exec 5>&-
say "done"
