#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# safelockd end to end: the real module on a simulated board, the real TPM
# vault on /dev/tpmrm0, administration by raw requests on the admin socket
# (tools/tests/admin_client).  Prints TAP.
#
#   scripts/vault-guest.sh [SERIES]     on the host: build what is needed
#                                       and run this script in the VM
#                                       (default 6.1)
#   VAULT=fake scripts/vault-guest.sh   the same with safelockd's loop on
#                                       the in-memory vault of the tests
#                                       (tools/tests/sandbox_child): the
#                                       kernel side of the admin server
#                                       without the TPM backend
#
# In the guest: an unprovisioned lock; INIT refused with the door closed,
# done with it open; the owner's code opens the bolt; users and policy
# through the socket (the policy reaches the kernel); WIPE refused with the
# door closed, done with it open (the lock is UNPROVISIONED again, the bolt
# never moved); safelockd sandboxed (its user, CAP_NET_ADMIN alone,
# no_new_privs) and stopping cleanly.  Codes are made up at run time.

if [ ! -f /etc/vm/conf ]; then
	# ---- host ----------------------------------------------------------
	set -eu
	TOP=$(cd "$(dirname "$0")/.." && pwd)
	series=${1:-6.1}
	KTREE=$("$TOP/scripts/kernels.sh" path "$series")
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	"$TOP/scripts/build-for.sh" "$KTREE" "$work/mod" >"$work/build.log" 2>&1 ||
		{ cat "$work/build.log"; exit 1; }
	make -s -C "$TOP/tools" all tests/admin_client tests/sandbox_child >"$work/tools.log" 2>&1 ||
		{ cat "$work/tools.log"; exit 1; }
	gcc -Wall -Wextra -Werror -O2 -o "$work/keypad" "$TOP/scripts/demo/keypad.c"
	exec "$TOP/scripts/vm.sh" --kernel "$series" --timeout 600 \
		--add "$work/mod/safelock.ko" --add "$work/mod/safelock_testboard.ko" \
		--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl" \
		--add "$TOP/tools/tests/admin_client" --add "$TOP/tools/tests/sandbox_child" \
		--add "$work/keypad" --add "$TOP/scripts/vault-guest.sh" \
		-- ./vault-guest.sh "${VAULT:-tpm}"
fi

# ---- guest ---------------------------------------------------------------
set -u
cd /safelock
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() {	# check "title" command...: ok if the command succeeds
	t=$1; shift
	if "$@" >/tmp/check.out 2>&1; then ok "$t"; else notok "$t"; sed 's/^/# /' /tmp/check.out; fi
}
bail() { echo "Bail out! $*"; [ -f /tmp/safelockd.log ] && sed 's/^/# /' /tmp/safelockd.log; exit 1; }

random_code() {
	od -An -N8 -tu1 /dev/urandom | tr -s ' ' '\n' | grep . |
		while read -r b; do printf '%d' $((b % 10)); done
}
# admin OP [FIELD=VALUE...] < secrets: the reply in /tmp/reply
admin() { ./admin_client "$@" >/tmp/reply 2>&1; }
field() { sed -n "s/^$1=//p" /tmp/reply | head -1; }
state() { ./safelockctl status --json 2>/dev/null | sed -n 's/.*"state":"\([A-Z_]*\)".*/\1/p'; }
wait_state() {	# tenths of a second, state
	n=$1
	while [ "$n" -gt 0 ]; do
		[ "$(state)" = "$2" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	echo "state $(state), expected $2"
	return 1
}
door() { echo "pull-$1" >"$SIM/sim_gpio1/pull"; }	# up: open, down: closed
bolt() { cat "$SIM/sim_gpio0/value"; }

# The board: bolt on gpio-sim line 0, door on line 1, a uinput keypad.
insmod ./safelock.ko || bail "cannot load safelock.ko"
C=/sys/kernel/config/gpio-sim/vault
mkdir "$C" "$C/bank0"
echo 18 >"$C/bank0/num_lines"
echo vault-board >"$C/bank0/label"
echo 1 >"$C/live"
SIM=/sys/devices/platform/$(cat "$C/dev_name")/$(cat "$C/bank0/chip_name")
mkfifo /tmp/keys
./keypad safelock-vault-keypad </tmp/keys &
exec 5>/tmp/keys
insmod ./safelock_testboard.ko chip=vault-board keypad=safelock-vault-keypad \
	relock_ms=2000 verify_timeout_ms=10000 || bail "cannot load the board"
n=50; while [ ! -e /dev/safelock0 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -e /dev/safelock0 ] || bail "the board did not come up"
door down

mkdir -p /tmp/vault
if [ "${1:-tpm}" = fake ]; then
	echo "# safelockd's loop on the in-memory vault (sandbox_child)"
	./sandbox_child loop safelock /run/safelock/admin.sock /tmp/vault \
		</dev/null 2>/tmp/safelockd.log &
else
	./safelockd --foreground --tcti device:/dev/tpmrm0 --state-dir /tmp/vault 2>/tmp/safelockd.log &
fi
D=$!
n=100; while [ ! -S /run/safelock/admin.sock ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -S /run/safelock/admin.sock ] || bail "no admin socket"
n=100
while [ $n -gt 0 ]; do
	admin status; [ "$(field registered)" = 1 ] && break
	sleep 0.1; n=$((n - 1))
done

OWNER=$(random_code)
MGR=$(random_code)

admin status
check "STATUS: registered, unprovisioned, vault answers" \
	[ "$(field registered)$(field provisioned)$(field vault_ok)" = 101 ]
check "the kernel says UNPROVISIONED" wait_state 50 UNPROVISIONED

# the sandbox, seen from /proc
s=/proc/$D/status
check "safelockd runs as user safelock" grep -q "^Uid:[[:space:]]*101[[:space:]]" $s
check "safelockd: NoNewPrivs 1" grep -q "^NoNewPrivs:[[:space:]]*1" $s
check "safelockd: CapEff is CAP_NET_ADMIN alone" grep -q "^CapEff:[[:space:]]*0000000000001000" $s
if grep -q "^Seccomp:[[:space:]]*2" $s; then ok "safelockd: seccomp filter on"
else echo "ok $((N += 1)) - safelockd: seccomp filter on # SKIP this kernel has no CONFIG_SECCOMP_FILTER"; fi

echo "$OWNER" | admin init new_code=-
check "INIT with the door closed: refused (door closed)" \
	grep -q "^message=.*door is closed" /tmp/reply
admin status
check "still unprovisioned" [ "$(field provisioned)" = 0 ]

door up
echo "$OWNER" | admin init new_code=-
check "INIT with the door open: done" [ "$(field status)" = 0 ]
RECOVERY=$(field recovery)
check "INIT gave a recovery secret of 8 groups" \
	sh -c "echo '$RECOVERY' | grep -qE '^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$'"
check "the kernel leaves UNPROVISIONED" wait_state 50 LOCKED
door down

echo "001${OWNER}E" >&5
check "the owner's code opens the bolt" wait_state 100 UNLOCKED
check "the bolt is open" [ "$(bolt)" = 1 ]
wait_state 60 LOCKED >/dev/null

printf '%s\n%s\n' "$OWNER" "$MGR" | admin user-add auth0=1 target=2 role=manager new_code=-
check "USER_ADD of a manager by the owner" [ "$(field status)" = 0 ]
echo "$MGR" | admin user-list auth0=2
check "USER_LIST by the manager: 2 users" [ "$(field n_users)" = 2 ]
echo "$MGR" | admin policy-set auth0=2 relock_ms=1500 door_limit_s=120
check "POLICY_SET by the manager" [ "$(field status)" = 0 ]
check "the kernel has the policy (relock 1500 ms)" \
	sh -c "./safelockctl status --json | grep -q '\"relock_ms\":1500'"
echo "$MGR" | admin policy-set auth0=2 open_window_s=10
check "POLICY_SET out of range: -EINVAL" grep -q "^error=Invalid argument" /tmp/reply

# the module goes away and comes back: safelockd keeps serving, registers
# again by itself and gives the lock its policy again
rmmod safelock_testboard && rmmod safelock
admin status
check "module unloaded: the admin socket still answers, not registered" \
	[ "$(field status)$(field registered)" = 00 ]
insmod ./safelock.ko && insmod ./safelock_testboard.ko chip=vault-board \
	keypad=safelock-vault-keypad relock_ms=2000 verify_timeout_ms=10000
n=50; while [ ! -e /dev/safelock0 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
n=50
while [ $n -gt 0 ]; do
	admin status; [ "$(field registered)" = 1 ] && break
	sleep 0.1; n=$((n - 1))
done
check "module back: registered again within 5 s" [ "$(field registered)" = 1 ]
check "module back: the lock has the vault's policy again (relock 1500 ms)" \
	sh -c "sleep 1.5; ./safelockctl status --json | grep -q '\"relock_ms\":1500'"

echo "$OWNER" | admin wipe auth0=1
check "WIPE with the door closed: refused" grep -q "^message=.*door is closed" /tmp/reply
door up
echo "$MGR" | admin wipe auth0=2
check "WIPE with a manager's code: refused" grep -q "^error=Operation not permitted" /tmp/reply
echo "$OWNER" | admin wipe auth0=1
check "WIPE with the owner's code, door open: done" [ "$(field status)" = 0 ]
check "the kernel says UNPROVISIONED again" wait_state 50 UNPROVISIONED
check "the wipe did not move the bolt (still thrown)" [ "$(bolt)" = 0 ]
check "after the wipe the lock has the default policy again (not 1500 ms)" \
	sh -c "sleep 0.5; ! ./safelockctl status --json | grep -q '\"relock_ms\":1500'"
door down

kill "$D"
wait "$D"
check "safelockd stops cleanly on SIGTERM (exit 0)" [ $? = 0 ]
exec 5>&-
sed 's/^/# safelockd: /' /tmp/safelockd.log
echo "1..$N"
[ "$FAILED" = 0 ]
