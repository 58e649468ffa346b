#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo scenario, run inside the VM by scripts/demo.sh: a simulated board
# (gpio-sim lines for the bolt and the door, a uinput keypad), the TPM
# (swtpm), safelockd as the verifier.  The code is made up here, at run time.
set -u
cd /safelock

say() { printf 'demo: %s\n' "$*"; }
fail() { printf 'demo: FAILED: %s\n' "$*"; exit 1; }

# Wait up to $1 tenths of a second for the lock to reach state $2.
wait_state() {
	n=$1
	while [ "$n" -gt 0 ]; do
		./safelockctl status --json 2>/dev/null | grep -q "\"state\":\"$2\"" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	fail "the lock did not reach $2"
}

bolt() { cat "$SIM/sim_gpio0/value"; }

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
	relock_ms=3000 verify_timeout_ms=10000 || fail "cannot load the board"
n=50; while [ ! -e /dev/safelock0 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -e /dev/safelock0 ] || fail "the board did not come up (see dmesg)"

say "a simulated safe: bolt on gpio-sim line 0, door on line 1, a uinput keypad, swtpm as the TPM"
./safelockctl status
./safelockctl monitor &
MON=$!

CODE=$(random_code)
WRONG=$(random_code)
[ "$CODE" != "$WRONG" ] || WRONG=${CODE%?}$(( (${CODE#"${CODE%?}"} + 1) % 10 ))
mkdir -p /tmp/vault
say "enrolling user 001 with a code made up just now; the TPM seals it, nothing on disk can check a guess"
printf '%s\n' "$CODE" | ./safelockd --enrol 1 --code-fd 0 \
	--tcti device:/dev/tpmrm0 --state-dir /tmp/vault || fail "enrol"

say "starting safelockd, the verifier; the lock becomes LOCKED once it registers"
./safelockd --foreground --tcti device:/dev/tpmrm0 --state-dir /tmp/vault 2>/tmp/safelockd.log &
D=$!
wait_state 100 LOCKED

say "typing user 001 and a wrong code, then ENTER"
echo "001${WRONG}E" >&5
sleep 0.5; wait_state 100 LOCKED
[ "$(bolt)" = 0 ] || fail "the bolt moved on a wrong code"
say "denied: the bolt did not move"

say "typing user 001 and the right code, then ENTER"
echo "001${CODE}E" >&5
wait_state 100 UNLOCKED
[ "$(bolt)" = 1 ] || fail "the bolt did not open"
say "granted: the bolt is open; it relocks by itself after 3 s"
wait_state 60 LOCKED
[ "$(bolt)" = 0 ] || fail "the bolt did not relock"
say "relocked"

kill "$D"; wait "$D"
sleep 0.3
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null
exec 5>&-
say "the verifier said:"
cat /tmp/safelockd.log
say "done"
