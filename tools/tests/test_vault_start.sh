#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# safelockd started while its vault cannot be opened (the TPM absent: a
# swtpm socket nobody listens on yet), as the real daemon, sandbox and all
# (invariant 7: a provisioned lock never looks new because its TPM is
# missing). It must keep running, so that it registers the lock with the
# kernel as DAMAGED instead of leaving it UNPROVISIONED; STATUS on its admin
# socket says the vault cannot be opened and why (shown as provisioned);
# every other op is refused with that reason; the reason is logged once,
# not every second; and once the TPM appears the vault opens, after the
# sandbox was entered, with no restart. No kernel module is needed (the
# registration is retried meanwhile). TAP; SKIP without swtpm.
#
#   tests/test_vault_start.sh [TOOLS_DIR]     (make -C tools test)
set -u

tools=${1:-$(cd "$(dirname "$0")/.." && pwd)}
daemon=$tools/safelockd/safelockd
client=$tools/tests/admin_client

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

command -v swtpm >/dev/null || skip "swtpm not installed"
[ -x "$daemon" ] || skip "no $daemon: run make -C tools"
[ -x "$client" ] || skip "no $client: run make -C tools test"

echo "1..8"
t=0
fail=0
ok() {
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; fail=1; fi
}

dir=$(mktemp -d /tmp/safelock-vstart-XXXXXX)
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -f "$dir/swtpm.pid" ] && kill "$(cat "$dir/swtpm.pid")" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

sock=$dir/run/admin.sock
"$daemon" --foreground --tcti "swtpm:path=$dir/tpm.sock" --state-dir "$dir/state" \
	--admin-socket "$sock" --user "$(id -un)" 2>"$dir/log" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
sleep 1.5
kill -0 "$pid" 2>/dev/null
ok $? "no TPM at start: safelockd keeps running (to register the lock as DAMAGED)"
grep -q "^safelockd: unable to open vault: swtpm:path=$dir/tpm.sock: " "$dir/log"
ok $? "it says why: $(head -1 "$dir/log")"

"$client" -s "$sock" status >"$dir/status" 2>&1
st=$?
grep -qx "provisioned=1" "$dir/status" && grep -qx "vault_ok=0" "$dir/status" &&
	grep -q "^message=.*the vault cannot be opened: swtpm:path=" "$dir/status"
ok $(( st || $? )) "status: shown as provisioned, vault not ok, and why ($(grep ^message= "$dir/status"))"

"$client" -s "$sock" policy-get >"$dir/policy" 2>&1
st=$?
grep -q "^message=the vault cannot be opened: " "$dir/policy"
ok $(( !st || $? )) "policy-get refused: $(grep ^message= "$dir/policy")"

sleep 2
[ "$(grep -c "^safelockd: vault error:" "$dir/log")" = 1 ]
ok $? "the failing retries are logged once, not every second"

# the TPM appears: swtpm as the tests' swtpm.h starts it
mkdir -p "$dir/tpm"
swtpm socket --tpm2 --tpmstate "dir=$dir/tpm" --server "type=unixio,path=$dir/tpm.sock" \
	--ctrl "type=unixio,path=$dir/tpm.sock.ctrl" --flags not-need-init,startup-clear \
	--daemon --pid "file=$dir/swtpm.pid"
opened=1
for _ in $(seq 40); do
	"$client" -s "$sock" status >"$dir/status" 2>&1
	if grep -qx "vault_ok=1" "$dir/status"; then opened=0; break; fi
	sleep 0.5
done
ok $opened "the TPM appears: the vault opens in the sandbox, no restart"
grep -qx "provisioned=0" "$dir/status" && grep -qx "message=" "$dir/status"
ok $? "status: a new vault (swtpm is empty), no complaint"

kill -TERM "$pid"
wait "$pid"
st=$?
pid=
ok $st "stops cleanly on SIGTERM"
[ $fail = 0 ] || sed 's/^/# /' "$dir/log"
exit $fail
