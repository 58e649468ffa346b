# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# What the end-to-end scenarios share, in the guest (sourced by guest.sh):
# TAP output, the simulated board (gpio-sim lines, the test board module,
# a uinput keypad fed through a FIFO), safelockd, codes made up at run time.
#
# The board (selftests/safelock/testboard.c): line 0 bolt (an output: 1
# retracted), 1 door (an input: pull-up open), 2 tamper, 3 silent alarm
# (an output), 16 battery low, 17 key feedback.

CTL=./safelockctl
STATE=/var/lib/safelock
SOCK=/run/safelock/admin.sock
BOARD=e2e-board
KEYPAD=safelock-e2e-keypad
N=0 FAILED=0 SECTION=

# ---- TAP ------------------------------------------------------------------
ok() { N=$((N + 1)); echo "ok $N - $SECTION$*"; }
notok() {	# notok TITLE [REASON]
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $SECTION$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
}
skip() { N=$((N + 1)); echo "ok $N - $SECTION$1 # SKIP $2"; }
# check TITLE COMMAND...: ok when COMMAND succeeds; on failure its output,
# or (when it said nothing) the command with its values
check() {
	_t=$1; shift
	if "$@" >/tmp/check.out 2>&1; then ok "$_t"
	elif [ -s /tmp/check.out ]; then notok "$_t" "$(tail -n 15 /tmp/check.out)"
	else notok "$_t" "failed: $(printf '%s ' "$@" | tr -s '\t\n' '  ' | cut -c1-400)"; fi
}
# expect_rc TITLE RC COMMAND...: ok when COMMAND exits with RC; its output
# (stdout and stderr) stays in /tmp/out for further checks
expect_rc() {
	_t=$1 _want=$2; shift 2
	"$@" >/tmp/out 2>&1
	_rc=$?
	if [ "$_rc" = "$_want" ]; then ok "$_t"
	else notok "$_t" "exit $_rc, expected $_want: $(tail -n 5 /tmp/out)"; fi
}
# has PATTERN [FILE]: grep -E on /tmp/out by default, quietly
has() { grep -Eq -- "$1" "${2:-/tmp/out}"; }
section() { SECTION="$1: "; echo "# ---- $1 (at $(elapsed) s)"; }
bail() {
	echo "Bail out! $*"
	[ -f /tmp/safelockd.log ] && tail -n 30 /tmp/safelockd.log | sed 's/^/# safelockd: /'
	exit 1
}
plan_end() {	# print the plan, the daemon's log tail on failure; exit status
	echo "1..$N"
	if [ "$FAILED" != 0 ] && [ -f /tmp/safelockd.log ]; then
		tail -n 40 /tmp/safelockd.log | sed 's/^/# safelockd: /'
	fi
	[ "$FAILED" = 0 ]
}

# ---- time -----------------------------------------------------------------
uptime_ds() { awk '{ printf "%d", $1 * 10 }' /proc/uptime; }	# tenths of a second
T_START=$(uptime_ds)
elapsed() { awk -v a="$T_START" -v b="$(uptime_ds)" 'BEGIN { printf "%.1f", (b - a) / 10 }'; }

# ---- codes ----------------------------------------------------------------
# A code of $1 (default 8) random digits, made up now and never written
# anywhere but a pipe to safelockctl and the keypad's FIFO.
random_code() {
	od -An -N"${1:-8}" -tu1 /dev/urandom | tr -s ' ' '\n' | grep . |
		while read -r b; do printf '%d' $((b % 10)); done
}
# A code that differs from every argument.
other_code() {
	while :; do
		_c=$(random_code)
		for _o in "$@"; do [ "$_c" != "$_o" ] || continue 2; done
		echo "$_c"; return
	done
}

# ---- the lock through safelockctl ------------------------------------------
# The kernel's side of status, without asking safelockd (which may be
# stopped on purpose: a stopped safelockd would hold the question).
kjson() { $CTL --socket /nonexistent/admin.sock --json status 2>/dev/null; }
# The whole status, safelockd's view included.
sjson() { $CTL --json status 2>/dev/null; }
# jfield NAME [JSON]: a number, string or boolean field of a one-line JSON object
jfield() {
	printf '%s\n' "${2:-$(kjson)}" | grep -o "\"$1\":[^,}]*" | head -n 1 |
		sed 's/^[^:]*://; s/^"//; s/"$//'
}
state() { jfield state; }
# dfield NAME: a field of safelockd's view in status
dfield() { sjson | sed 's/.*"safelockd"://' | grep -o "\"$1\":[^,}]*" | head -n 1 | sed 's/^[^:]*://; s/^"//; s/"$//'; }
# wait_state TENTHS STATE...: until the lock is in one of STATEs
wait_state() {
	_n=$1; shift
	while :; do
		_s=$(state)
		for _w in "$@"; do [ "$_s" = "$_w" ] && return 0; done
		[ "$_n" -gt 0 ] || break
		sleep 0.1; _n=$((_n - 1))
	done
	echo "state $_s, expected $*"
	return 1
}
# wait_until TENTHS 'SHELL CODE': until the code (evaluated anew each
# time, so "$(state)" in single quotes is read again) succeeds
wait_until() {
	_n=$1; shift
	while ! eval "$*" >/dev/null 2>&1; do
		[ "$_n" -gt 0 ] || return 1
		sleep 0.1; _n=$((_n - 1))
	done
}
# wait_for TENTHS COMMAND...: until COMMAND (its arguments as given) succeeds
wait_for() {
	_n=$1; shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$_n" -gt 0 ] || return 1
		sleep 0.1; _n=$((_n - 1))
	done
}

# ---- the board ------------------------------------------------------------
line() { cat "$SIM/sim_gpio$1/value"; }
set_line() { echo "pull-$2" >"$SIM/sim_gpio$1/pull"; }	# up: active, down: not
bolt() { line 0; }
alarm() { line 3; }
door() { case $1 in open) set_line 1 up ;; closed) set_line 1 down ;; esac; }

KEYS_PID=
# keys LINE...: to the keypad's FIFO (see keys.c)
keys() { for _k in "$@"; do printf '%s\n' "$_k" >&5; done; }
# keys_sync: wait until every key sent so far is typed
keys_sync() {
	rm -f /tmp/keys.done
	keys "done /tmp/keys.done"
	wait_for "${1:-300}" test -e /tmp/keys.done
}
# enter USER CODE: type an entry (user id in 3 digits), wait until it is in
enter() { keys "$(printf '%03d' "$1")$2E"; keys_sync; }

board_up() {
	[ -d /sys/kernel/config/gpio-sim ] || bail "no gpio-sim in configfs"
	insmod ./safelock.ko || bail "cannot load safelock.ko"
	C=/sys/kernel/config/gpio-sim/e2e
	[ -d "$C" ] || { mkdir "$C" "$C/bank0" && echo 18 >"$C/bank0/num_lines" &&
		echo "$BOARD" >"$C/bank0/label" && echo 1 >"$C/live"; } ||
		bail "cannot make the gpio-sim bank"
	SIM=/sys/devices/platform/$(cat "$C/dev_name")/$(cat "$C/bank0/chip_name")
	door closed
	[ -p /tmp/keys ] || mkfifo /tmp/keys
	./keys "$KEYPAD" </tmp/keys 2>/tmp/keys.err &
	KEYS_PID=$!
	exec 5>/tmp/keys
	testboard_up
}
# TB_EXTRA: more test board parameters (bolt_drive_ms=3000), unquoted
TB_EXTRA=
testboard_up() {
	# shellcheck disable=SC2086 # TB_EXTRA is a list of parameters
	insmod ./safelock_testboard.ko chip="$BOARD" keypad="$KEYPAD" \
		relock_ms=1500 verify_timeout_ms=4000 entry_timeout_ms=5000 alarm_ms=3000 $TB_EXTRA ||
		bail "cannot load the test board"
	wait_for 50 test -e /dev/safelock0 || bail "the board did not come up (see dmesg)"
	# what udev/60-safelock.rules does on a real system: the sandboxed
	# safelockd gives its code key through the node after re-registering
	chgrp safelock /dev/safelock0 && chmod 0660 /dev/safelock0
}
board_down() {
	rmmod safelock_testboard 2>/dev/null
	rmmod safelock 2>/dev/null
}
# modules_reload: unload the test board and the module (waiting for the
# last holder of /dev/safelock0 to let go of it), load both again: 0, or
# 1 with the reason on stdout
modules_reload() {
	_i=0
	while ! rmmod safelock_testboard 2>/dev/null; do
		_i=$((_i + 1)); [ $_i -lt 50 ] || { echo "rmmod safelock_testboard fails"; return 1; }
		sleep 0.1
	done
	_i=0
	while ! rmmod safelock 2>/tmp/rmmod.err; do
		_i=$((_i + 1)); [ $_i -lt 50 ] || { echo "rmmod safelock fails: $(cat /tmp/rmmod.err)"; return 1; }
		sleep 0.1
	done
	insmod ./safelock.ko || { echo "cannot load safelock.ko again"; return 1; }
	testboard_up
}

# ---- safelockd ------------------------------------------------------------
D=
daemon_up() {	# as a board runs it: its own user, the TPM, the default paths
	mkdir -p "$STATE"
	./safelockd --foreground --tcti device:/dev/tpmrm0 --state-dir "$STATE" \
		"$@" 2>>/tmp/safelockd.log &
	D=$!
	wait_for 150 test -S "$SOCK" || { echo "no admin socket"; return 1; }
	wait_for 150 registered || { echo "safelockd did not register"; return 1; }
}
registered() { [ "$(jfield verifier)" = true ]; }
# sandboxed: safelockd ($D) runs as it does on a board: not root, the
# seccomp filter loaded, no_new_privs, CAP_NET_ADMIN (bit 12) and nothing else
sandboxed() {
	_st=/proc/$D/status
	awk '/^Uid:/ { exit ($2 == 0 || $3 == 0) }' "$_st" &&
		grep -Eq '^Seccomp:[[:space:]]+2$' "$_st" &&
		grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$_st" &&
		grep -Eq '^CapEff:[[:space:]]+0*1000$' "$_st"
}
daemon_stop() {	# SIGTERM, and its exit status
	[ -n "$D" ] || return 0
	kill "$D" 2>/dev/null
	wait "$D"
	_rc=$?
	D=
	return $_rc
}
daemon_kill() {	# SIGKILL
	[ -n "$D" ] || return 0
	kill -9 "$D" 2>/dev/null
	wait "$D" 2>/dev/null
	D=
}

# ---- administration ---------------------------------------------------------
# as USER CODE safelockctl-ARGS...: authorised by USER, the code from fd 3
as() {
	_u=$1 _c=$2; shift 2
	printf '%s\n' "$_c" | $CTL "$@" --as "$_u" --code-fd 3 3<&0 </dev/null
}
# add USER ROLE CODE: the owner adds a user
add_user() { printf '%s\n%s\n' "$OWNER" "$3" | $CTL user add "$1" --role "$2" --as 1 --code-fd 0 --new-code-fd 0; }
