// SPDX-License-Identifier: GPL-2.0
/*
 * A vault that cannot be opened at start (invariant 7: a provisioned lock
 * never looks new), against swtpm, the admin server and the verifier's
 * decisions (gate.c), as safelockd opens it (vault_config.keep_trying):
 *
 *  - the TPM absent (swtpm not running): open() says VAULT_OPEN_LATER with
 *    the reason; provisioned() is -ENODEV, which the verifier registers
 *    as DAMAGED, never EMPTY; a VERIFY is DENIED with no TPM command;
 *    STATUS says the vault cannot be opened and why, as provisioned; every
 *    other admin op is refused with that reason;
 *  - retries wait a backoff (no TPM command before it is over), then the
 *    TPM that came back opens, OWNED, and a right code is GRANTED;
 *  - a TPM that answers but fails at open (its NV unreadable: a TCTI
 *    error on NV_Read, faked by tcti_fault.c): the same, the backoff
 *    doubling between failed tries, until the fault is gone.
 *
 * SKIPs if swtpm is absent or the slfault TCTI cannot be loaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>

#include "libsafelock.h"
#include "../safelockd/adminsrv.h"
#include "../safelockd/gate.h"
#include "../safelockd/vault.h"
#include "swtpm.h"
#include "tcti_fault.h"
#include "tap.h"

#define NTESTS	22

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct admin_server srv;
static struct safelock_admin_req rq;
static struct safelock_admin_reply rep;
static struct slfault *fault;
static char tcti[PATH_MAX * 3];
static char code[SAFELOCK_CODE_BUF];
static size_t len = 8;
static uint64_t clock_ms = 1000000;

static uint64_t fake_mono_ms(void)
{
	return clock_ms;
}

/* The slfault TCTI beside this program: tools/tests/ */
static bool load_fault(void)
{
	fault = slfault_load(sw.tcti, tcti, sizeof(tcti));
	return fault != NULL;
}

static void req(uint32_t op)
{
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = op;
}

/* Send rq (a copy: the server wipes it) and return the reply's status. */
static int admin(void)
{
	unsigned char buf[sizeof(rq)];

	memcpy(buf, &rq, sizeof(rq));
	return admin_handle(&srv, buf, sizeof(buf), NULL, &rep);
}

/* A VERIFY of the owner's code on a lock with the policy in force. */
static struct verify_out verify(void)
{
	struct verify_in in = { .dev = 0, .req = 42, .user = 1, .code = code, .len = len };
	struct verify_out out;

	verify_decide(&v, &srv, true, &in, &out);
	if (v.ops->finish)
		v.ops->finish(&v);
	return out;
}

static bool cannot_open(void)
{
	return !strncmp(v.errmsg, "the vault cannot be opened: ", 28);
}

/* Everything the lock sees while the vault is not open. */
static void not_open_tests(const char *what)
{
	unsigned long cmds = v.commands;
	unsigned int seen = fault->seen;
	struct verify_out out;
	int ret;

	ret = v.ops->provisioned(&v);
	tap_ok(ret == -ENODEV && vault_state(ret) == SAFELOCK_VAULT_DAMAGED && cannot_open(),
	       "%s: provisioned() -ENODEV, registered as DAMAGED, never EMPTY (%s)",
	       what, v.errmsg);
	out = verify();
	if (!tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.vault_ret == -ENODEV &&
		    v.commands == cmds && fault->seen == seen,
		    "%s: the owner's right code is DENIED, no TPM command", what))
		tap_diag("result %u vault %d, %lu commands, %u seen", out.result,
			 out.vault_ret, v.commands - cmds, fault->seen - seen);
	req(ADMIN_OP_STATUS);
	ret = admin();
	if (!tap_ok(ret == 0 && rep.status_info.provisioned && !rep.status_info.vault_ok &&
		    strstr(rep.message, "the vault cannot be opened: "),
		    "%s: status: provisioned, vault not ok, says why ('%s')", what, rep.message))
		tap_diag("status %d provisioned %u vault_ok %u", ret,
			 rep.status_info.provisioned, rep.status_info.vault_ok);
	req(ADMIN_OP_USER_ADD);
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", code);
	rq.target_user = 2;
	rq.role = SAFELOCK_ROLE_USER;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", code);
	ret = admin();
	tap_ok(ret == -ENODEV && !strncmp(rep.message, "the vault cannot be opened: ", 28) &&
	       fault->seen == seen,
	       "%s: user-add refused before any code is checked ('%s')", what, rep.message);
	req(ADMIN_OP_POLICY_GET);
	ret = admin();
	tap_ok(ret == -ENODEV && strstr(rep.message, "the vault cannot be opened: "),
	       "%s: policy-get refused with the reason", what);
}

static void absent_tests(void)
{
	unsigned int seen;
	struct verify_out out;
	int ret;

	/* a provisioned lock */
	ret = v.ops->open(&v, &cfg);
	ret = ret == 0 ? v.ops->enrol(&v, 1, code, len) : ret;
	tap_ok(ret == 0 && v.ops->provisioned(&v) == SAFELOCK_VAULT_OWNED,
	       "an owner enrolled: OWNED");
	v.ops->close(&v);
	sw_stop(&sw);

	/* the TPM gone: safelockd still opens it, not open yet */
	ret = v.ops->open(&v, &cfg);
	tap_ok(ret == VAULT_OPEN_LATER && v.priv && v.errmsg[0],
	       "no TPM at start: open() says later, with the reason (%s)", v.errmsg);
	if (!v.priv) {
		ret = v.ops->open(&v, &cfg);	/* main's: nothing to go on */
		if (ret < 0)
			return;
	}
	admin_init(&srv, &v, NULL, NULL);
	not_open_tests("TPM absent");

	/* it comes back: not retried before the backoff is over */
	sw_start(&sw);
	seen = fault->seen;
	ret = v.ops->provisioned(&v);
	tap_ok(ret == -ENODEV && fault->seen == seen,
	       "the TPM back, within the backoff: not tried yet, still not open");
	clock_ms += VAULT_REOPEN_FIRST_MS;
	ret = v.ops->provisioned(&v);
	tap_ok(ret == SAFELOCK_VAULT_OWNED, "after it: the vault opens, OWNED (%d %s)",
	       ret, v.errmsg);
	out = verify();
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED,
	       "the owner's code is GRANTED again (vault %d %s)", out.vault_ret, v.errmsg);
	req(ADMIN_OP_STATUS);
	ret = admin();
	tap_ok(ret == 0 && rep.status_info.vault_ok && rep.status_info.n_users == 1 &&
	       !rep.message[0], "status: vault ok, 1 user, no complaint ('%s')", rep.message);
	v.ops->close(&v);
}

static void nv_fault_tests(void)
{
	unsigned int seen;
	struct verify_out out;
	int ret;

	/* the TPM answers, its NV does not */
	memset(fault, 0, sizeof(*fault));
	fault->cc = TPM2_CC_NV_Read;
	fault->tcti_rc = TSS2_TCTI_RC_IO_ERROR;
	fault->count = UINT_MAX;
	ret = v.ops->open(&v, &cfg);
	tap_ok(ret == VAULT_OPEN_LATER && fault->faked,
	       "NV unreadable at start: open() says later (%s)", v.errmsg);
	if (!v.priv)
		return;
	memset(&srv, 0, sizeof(srv));
	admin_init(&srv, &v, NULL, NULL);
	not_open_tests("NV unreadable");

	/* a failed retry doubles the wait */
	clock_ms += VAULT_REOPEN_FIRST_MS;
	seen = fault->seen;
	ret = v.ops->provisioned(&v);
	tap_ok(ret == -ENODEV && fault->seen > seen,
	       "after 1 s: tried again, still failing: not open");
	seen = fault->seen;
	clock_ms += VAULT_REOPEN_FIRST_MS;
	v.ops->provisioned(&v);
	tap_ok(fault->seen == seen, "1 s later: within the doubled backoff, not tried");
	fault->count = 0;
	fault->tcti_rc = 0;
	clock_ms += VAULT_REOPEN_FIRST_MS;
	ret = v.ops->provisioned(&v);
	out = verify();
	tap_ok(ret == SAFELOCK_VAULT_OWNED && out.result == SAFELOCK_RESULT_GRANTED,
	       "the fault gone, 2 s after the last try: OWNED, the owner's code GRANTED (%d)",
	       ret);
	v.ops->close(&v);
}

int main(void)
{
	int i;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault open", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "vault-open")) {
		perror("mkdtemp");
		return 1;
	}
	if (!load_fault()) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault open", "the slfault TCTI did not load");
		sw_cleanup(&sw);
		return tap_exit();
	}
	cfg.tcti = tcti;
	cfg.state_dir = sw.statedir;
	cfg.test_monotonic_ms = fake_mono_ms;
	cfg.keep_trying = true;
	sw_random_code(code, len);
	if (!tap_ok(sw_start(&sw), "swtpm starts")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault open", "no swtpm");
		goto out;
	}
	absent_tests();
	nv_fault_tests();
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	safelock_wipe(code, sizeof(code));
	sw_cleanup(&sw);
	return tap_exit();
}
