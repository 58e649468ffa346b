// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM's dictionary-attack (DA) lockout, for real, against swtpm: the
 * "Dictionary-attack lockout" row of Documentation/security/fault-model.rst.
 *
 * The vault sets the DA parameters and throws the lockout auth away only
 * on a TPM whose lockout auth is empty; it leaves one whose lockout auth
 * is set. So before the vault's first use the test sets a lockout auth of
 * its own (random bytes made at run time) and small DA parameters
 * (maxTries 3, recoveryTime 3600 s), which the vault keeps. Wrong codes
 * through the vault then take the TPM's DA counter to maxTries
 * (TPMA_PERMANENT_INLOCKOUT read back: every DA-protected authorization
 * now fails with TPM_RC_LOCKOUT), and while the TPM is locked out:
 *
 *  - every check fails closed: the owner's right code at the keypad,
 *    prepared or not, is DENIED, never GRANTED; the vault says it met the
 *    lockout and gives the TPM's own recoveryTime as the retry-after;
 *  - nothing is made worse for the owner: a check that met the lockout
 *    checked nothing, so it moves no count (the user's, the lock-wide one,
 *    the last failure the delays count from: read back from TPM NV after
 *    a restart of the vault) and spends no DA failure;
 *  - admin operations refuse with "TPM dictionary-attack lockout: try
 *    again in N minutes" and change nothing (the commit record in TPM NV
 *    the same): through the admin server (user-add, the owner's right code
 *    as its authorisation) and the vault's own TPM-checked ones (the code
 *    change of a user with a duress code, duress-set);
 *  - the recovery secret (a NODA object) is still checked: the way back;
 *
 * then the lockout ends (TPM2_DictionaryAttackLockReset with the test's
 * lockout auth) and the right code opens again, the refused operation now
 * works; and once more with recoveryTime 2 s, ended by waiting out the
 * retry-after the vault gave, with no reset.
 *
 * Codes are random digits made at run time. SKIPs if swtpm is absent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <tss2/tss2_esys.h>

#include "libsafelock.h"
#include "../safelockd/adminsrv.h"
#include "../safelockd/gate.h"
#include "../safelockd/vault.h"
#include "../safelockd/vault_tpm.h"
#include "swtpm.h"
#include "tap.h"

#define NTESTS		22
#define MAX_TRIES	3
#define RECOVERY_S	3600	/* no DA failure is forgiven during the test */
#define SHORT_S		2	/* ... but in its last part */
#define LOCKOUT_RECOVERY_S 60
#define LOCKED_MSG	"TPM dictionary-attack lockout: try again in "

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct admin_server srv;
static struct safelock_admin_req rq;
static struct safelock_admin_reply rep;
static TPM2B_AUTH lockout_auth = { .size = 32 };
static char owner[SAFELOCK_CODE_BUF], owner_wrong[SAFELOCK_CODE_BUF];
static char code2[SAFELOCK_CODE_BUF], duress2[SAFELOCK_CODE_BUF];
static char wrong2[SAFELOCK_CODE_BUF], code3[SAFELOCK_CODE_BUF];
static char recovery[SAFELOCK_RECOVERY_TEXT_SIZE];
static char said[sizeof(v.errmsg)];	/* the vault's message of the last verdict */
static const size_t len = 8;
static uint64_t req_id = 1000;

/* What the test reads of the TPM itself, the vault closed meanwhile. */
struct look {
	UINT32 perm;			/* TPM2_PT_PERMANENT */
	UINT32 counter, max, interval, lrecovery;	/* TPM2_PT_LOCKOUT_* */
	uint8_t rec[STATE_SIZE];	/* the vault table's commit record */
};

static bool vault_open(void)
{
	if (v.priv)
		v.ops->close(&v);
	if (v.ops->open(&v, &cfg)) {
		tap_diag("open: %s", v.errmsg);
		return false;
	}
	return true;
}

static TSS2_RC props(ESYS_CONTEXT *ctx, TPM2_PT first, UINT32 n, UINT32 *out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TSS2_RC rc;
	UINT32 i;

	rc = Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, first, n, NULL, &cap);
	if (!rc && cap->data.tpmProperties.count != n)
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
	for (i = 0; !rc && i < n; i++) {
		if (cap->data.tpmProperties.tpmProperty[i].property != first + i)
			rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		out[i] = cap->data.tpmProperties.tpmProperty[i].value;
	}
	Esys_Free(cap);
	return rc;
}

enum lockout_op { DA_TAKE, DA_PARAMS, DA_RESET, DA_LOOK };

/*
 * One use of the TPM by the test itself, on a connection of its own: an
 * open vault is closed first (swtpm serves one client) and opened again
 * after, so it reads its counts back from TPM NV.
 *  DA_TAKE    set the (empty) lockout auth to lockout_auth
 *  DA_PARAMS  maxTries @max, recoveryTime @rec, with lockout_auth
 *  DA_RESET   TPM2_DictionaryAttackLockReset, with lockout_auth
 *  DA_LOOK    read the DA state and the commit record into *@l
 */
static bool tpm_do(enum lockout_op op, UINT32 max, UINT32 rec, struct look *l)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx;
	TPM2B_MAX_NV_BUFFER *data = NULL;
	const char *what = "connect";
	ESYS_TR nv = ESYS_TR_NONE;
	bool was_open = v.priv != NULL;
	TSS2_RC rc = 1;

	if (was_open)
		v.ops->close(&v);
	ctx = sw_esys(&sw, &t);
	if (ctx && op == DA_TAKE) {
		what = "HierarchyChangeAuth(lockout)";
		rc = Esys_HierarchyChangeAuth(ctx, ESYS_TR_RH_LOCKOUT,
					      ESYS_TR_PASSWORD, ESYS_TR_NONE,
					      ESYS_TR_NONE, &lockout_auth);
	} else if (ctx && op == DA_PARAMS) {
		what = "DictionaryAttackParameters";
		rc = Esys_TR_SetAuth(ctx, ESYS_TR_RH_LOCKOUT, &lockout_auth);
		if (!rc)
			rc = Esys_DictionaryAttackParameters(ctx, ESYS_TR_RH_LOCKOUT,
							     ESYS_TR_PASSWORD,
							     ESYS_TR_NONE,
							     ESYS_TR_NONE, max, rec,
							     LOCKOUT_RECOVERY_S);
	} else if (ctx && op == DA_RESET) {
		what = "DictionaryAttackLockReset";
		rc = Esys_TR_SetAuth(ctx, ESYS_TR_RH_LOCKOUT, &lockout_auth);
		if (!rc)
			rc = Esys_DictionaryAttackLockReset(ctx, ESYS_TR_RH_LOCKOUT,
							    ESYS_TR_PASSWORD,
							    ESYS_TR_NONE,
							    ESYS_TR_NONE);
	} else if (ctx && op == DA_LOOK) {
		what = "read the DA state and the commit record";
		memset(l, 0, sizeof(*l));
		rc = props(ctx, TPM2_PT_PERMANENT, 1, &l->perm);
		if (!rc)
			rc = props(ctx, TPM2_PT_LOCKOUT_COUNTER, 4, &l->counter);
		if (!rc)
			rc = Esys_TR_FromTPMPublic(ctx, STATE_NV, ESYS_TR_NONE,
						   ESYS_TR_NONE, ESYS_TR_NONE, &nv);
		if (!rc)
			rc = Esys_NV_Read(ctx, ESYS_TR_RH_OWNER, nv,
					  ESYS_TR_PASSWORD, ESYS_TR_NONE,
					  ESYS_TR_NONE, STATE_SIZE, 0, &data);
		if (!rc && data->size == STATE_SIZE)
			memcpy(l->rec, data->buffer, STATE_SIZE);
		Esys_Free(data);
	}
	sw_esys_close(&ctx, &t);
	if (rc)
		tap_diag("%s: 0x%x", what, rc);
	return (!was_open || vault_open()) && !rc;
}

static bool look(struct look *l)
{
	return tpm_do(DA_LOOK, 0, 0, l);
}

static bool locked_out(const struct look *l)
{
	return (l->perm & TPMA_PERMANENT_INLOCKOUT) && l->counter >= l->max;
}

static uint64_t version_of(const struct look *l)
{
	return get_be(l->rec + 8, 8);
}

/* The vault's last failure on the TPM clock, which delays count from. */
static uint64_t last_fail(void)
{
	return ((struct tpm_vault *)v.priv)->last_fail;
}

/* A VERIFY at the keypad as safelockd decides it, the verdict then sent. */
static struct verify_out keypad(unsigned int user, const char *code,
				bool prepared)
{
	struct verify_in in = { .dev = 0, .req = ++req_id, .user = user,
				.code = code, .len = strlen(code) };
	struct verify_out out;

	if (prepared && v.ops->prepare(&v, in.req))
		tap_diag("prepare: %s", v.errmsg);
	verify_decide(&v, &srv, true, &in, &out);
	snprintf(said, sizeof(said), "%s", v.errmsg);
	v.ops->finish(&v);
	return out;
}

static bool denied(const struct verify_out *o)
{
	return o->result == SAFELOCK_RESULT_DENIED && o->vault_ret == VAULT_DENIED &&
	       o->res.role == SAFELOCK_ROLE_NONE && !o->duress;
}

/* DENIED because the TPM is locked out: said so, retry after @rec_s. */
static bool lockout_denied(const struct verify_out *o, unsigned int rec_s)
{
	if (denied(o) && strstr(said, LOCKED_MSG) &&
	    o->retry_after_ms == rec_s * 1000)
		return true;
	tap_diag("result %u vault %d role %d duress %d retry %u ms: '%s'",
		 o->result, o->vault_ret, o->res.role, o->duress,
		 o->retry_after_ms, said);
	return false;
}

static bool granted(const struct verify_out *o, bool duress)
{
	if (o->result == SAFELOCK_RESULT_GRANTED && o->vault_ret == VAULT_GRANTED &&
	    o->duress == duress)
		return true;
	tap_diag("result %u vault %d duress %d: '%s'", o->result, o->vault_ret,
		 o->duress, said);
	return false;
}

static bool counts(unsigned int user, unsigned int uf, unsigned int gf)
{
	struct vault_throttle st;

	if (v.ops->throttle(&v, user, &st)) {
		tap_diag("throttle: %s", v.errmsg);
		return false;
	}
	if (st.user_failures == uf && st.global_failures == gf &&
	    !st.retry_after_ms)
		return true;
	tap_diag("user %u: %u failures (want %u), global %u (want %u), retry after %u ms",
		 user, st.user_failures, uf, st.global_failures, gf,
		 st.retry_after_ms);
	return false;
}

/* user-add of user 003 through the admin server, the owner authorising. */
static int admin_user_add(void)
{
	unsigned char buf[sizeof(rq)];
	int ret;

	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = ADMIN_OP_USER_ADD;
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", owner);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_USER;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", code3);
	memcpy(buf, &rq, sizeof(rq));
	safelock_wipe(&rq, sizeof(rq));
	ret = admin_handle(&srv, buf, sizeof(buf), NULL, &rep);
	safelock_wipe(buf, sizeof(buf));
	return ret;
}

static int n_users(void)
{
	struct vault_user u[4];
	size_t n = 0;

	if (v.ops->user_list(&v, u, 4, &n))
		return -1;
	return (int)n;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Random codes: the duress code differs from the code, the wrong ones from both. */
static void make_codes(void)
{
	unsigned int k;

	sw_random_code(owner, len);
	sw_wrong_of(owner, len, owner_wrong, 0);
	sw_random_code(code2, len);
	do
		sw_random_code(duress2, len);
	while (!strcmp(duress2, code2));
	for (k = 0; ; k++) {
		sw_wrong_of(code2, len, wrong2, k);
		if (strcmp(wrong2, duress2))
			break;
	}
	do
		sw_random_code(code3, len);
	while (!strcmp(code3, code2) || !strcmp(code3, duress2) ||
	       !strcmp(code3, owner));
	if (getrandom(lockout_auth.buffer, lockout_auth.size, 0) !=
	    lockout_auth.size)
		abort();
}

/* Into the lockout with wrong codes; what the TPM and the vault say. */
static bool into_lockout(struct look *locked)
{
	struct verify_out a, b, c;
	struct look l;
	bool ok;

	a = keypad(1, owner_wrong, false);
	b = keypad(1, owner_wrong, false);
	ok = look(&l);
	tap_ok(ok && denied(&a) && denied(&b) && counts(1, 2, 2) &&
	       l.counter == 2 && !locked_out(&l),
	       "two wrong codes of the owner: DENIED, counted (owner 2, lock-wide 2), one TPM DA failure each (counter %u of %u)",
	       l.counter, l.max);
	c = keypad(2, wrong2, false);
	tap_ok(denied(&c) && counts(2, 1, 3),
	       "a wrong code of user 002, who has a duress code: its code's object takes the DA counter to maxTries, the duress object then answers TPM_RC_LOCKOUT: DENIED, counted once (user 002 1, lock-wide 3) ('%s')",
	       said);
	ok = look(locked);
	return tap_ok(ok && locked_out(locked) && locked->counter == MAX_TRIES &&
		      counts(1, 2, 3) && counts(2, 1, 3),
		      "the TPM is in DA lockout (counter %u of maxTries %u, TPMA_PERMANENT_INLOCKOUT); the vault restarted reads owner 2, user 002 1, lock-wide 3 from NV",
		      locked->counter, locked->max);
}

static void in_lockout(const struct look *locked)
{
	uint64_t lf = last_fail();
	struct verify_out o;
	struct look l;
	bool ok;
	int ret;

	o = keypad(1, owner, false);
	tap_ok(lockout_denied(&o, RECOVERY_S),
	       "the owner's right code at the keypad: DENIED, never GRANTED; the vault says '%s', retry after %u ms (the TPM's recoveryTime)",
	       said, o.retry_after_ms);
	tap_ok(counts(1, 2, 3) && last_fail() == lf,
	       "... and it moved no count: owner 2, lock-wide 3, the last failure (the delays' start) unchanged");
	o = keypad(1, owner, true);
	tap_ok(lockout_denied(&o, RECOVERY_S) && counts(1, 2, 3) && last_fail() == lf,
	       "a prepared entry (ENTRY_BEGIN, then VERIFY) of the owner's right code: DENIED for the lockout, the prepared count rolled back");
	o = keypad(1, owner_wrong, false);
	tap_ok(lockout_denied(&o, RECOVERY_S) && counts(1, 2, 3) && last_fail() == lf,
	       "a wrong code of the owner: DENIED for the lockout as well (nothing checked, so nothing counted: no oracle, no new delay)");
	o = keypad(2, duress2, false);
	tap_ok(lockout_denied(&o, RECOVERY_S) && !o.duress && counts(2, 1, 3),
	       "user 002's duress code: DENIED for the lockout, no duress verdict, nothing counted");

	ret = admin_user_add();
	tap_ok(ret == -EAGAIN && strstr(rep.message, LOCKED_MSG "60 minutes") &&
	       rep.retry_after_ms == RECOVERY_S * 1000 && counts(1, 2, 3) &&
	       last_fail() == lf,
	       "admin user-add with the owner's right code: refused as a lockout (%d, -EAGAIN wanted) '%s', retry after %u ms; no count moved",
	       ret, rep.message, rep.retry_after_ms);

	ret = v.ops->code_change(&v, 2, code3, len);
	snprintf(said, sizeof(said), "%s", v.errmsg);
	ok = ret == -EBUSY && strstr(said, LOCKED_MSG "60 minutes");
	ret = v.ops->duress_set(&v, 1, code3, len);
	ok &= ret == -EBUSY && strstr(v.errmsg, LOCKED_MSG "60 minutes");
	tap_ok(ok, "the vault's TPM-checked admin ops refuse: user 002's code change ('%s'), the owner's duress-set (%d '%s')",
	       said, ret, v.errmsg);

	ok = look(&l);
	if (!tap_ok(ok && !memcmp(l.rec, locked->rec, sizeof(l.rec)) &&
		    n_users() == 2 && counts(1, 2, 3) && counts(2, 1, 3) &&
		    last_fail() == lf && l.counter == locked->counter &&
		    locked_out(&l),
		    "nothing changed: the commit record in TPM NV as before (table version %llu, same hash), 2 users; from NV: owner 2, user 002 1, lock-wide 3, last failure; DA counter still %u (a locked-out try spends none)",
		    (unsigned long long)version_of(&l), l.counter))
		tap_diag("version %llu then %llu", (unsigned long long)version_of(locked),
			 (unsigned long long)version_of(&l));
}

int main(void)
{
	struct look locked = { 0 }, l = { 0 }, before = { 0 };
	struct verify_out o;
	unsigned int ra = 0;
	uint64_t t0, t1, elapsed, wait;
	int i, ret;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault lockout", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "vault-lockout")) {
		perror("mkdtemp");
		return 1;
	}
	t0 = sw_now_us();
	cfg.tcti = sw.tcti;
	cfg.state_dir = sw.statedir;
	make_codes();

	if (!tap_ok(sw_start(&sw) && tpm_do(DA_TAKE, 0, 0, NULL) &&
		    tpm_do(DA_PARAMS, MAX_TRIES, RECOVERY_S, NULL),
		    "a fresh swtpm: the test sets a lockout auth of its own (%u random bytes), maxTries %d, recoveryTime %d s",
		    lockout_auth.size, MAX_TRIES, RECOVERY_S)) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault lockout", "no TPM set up");
		goto out;
	}
	/* the vault's first use: its init finds the lockout auth set */
	if (!vault_open()) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault lockout", "the vault did not open");
		goto out;
	}
	admin_init(&srv, &v, NULL, NULL);
	ret = v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, owner, len);
	ret = ret ? ret : v.ops->user_add(&v, 2, SAFELOCK_ROLE_USER, code2, len);
	ret = ret ? ret : v.ops->duress_set(&v, 2, duress2, len);
	ret = ret ? ret : v.ops->recovery_new(&v, recovery);
	if (ret)
		tap_diag("enrol: %d %s", ret, v.errmsg);
	/* (the message's values are read before tap_ok() is called) */
	ret = ret || !look(&l);
	if (!tap_ok(!ret && (l.perm & TPMA_PERMANENT_LOCKOUTAUTHSET) &&
		    l.max == MAX_TRIES && l.interval == RECOVERY_S &&
		    l.lrecovery == LOCKOUT_RECOVERY_S,
		    "the vault, set up (owner, user 002 with a duress code, a recovery secret), left them: maxTries %u, recoveryTime %u s, lockoutRecovery %u s, DA counter %u",
		    l.max, l.interval, l.lrecovery, l.counter)) {
		for (i = 2; i < NTESTS; i++)
			tap_skip("vault lockout", "the TPM's DA parameters are not the test's");
		goto out;
	}
	o = keypad(1, owner, false);
	tap_ok(tpm_do(DA_RESET, 0, 0, NULL) && look(&l) && l.counter == 0 &&
	       granted(&o, false) && counts(1, 0, 0),
	       "the owner's code is GRANTED, nothing counted; the test's lockout reset works (DA counter 0)");

	if (!into_lockout(&locked)) {
		for (i = 6; i < NTESTS; i++)
			tap_skip("vault lockout", "the TPM is not in lockout");
		goto out;
	}
	in_lockout(&locked);
	ret = v.ops->recovery_check(&v, recovery, &ra);
	if (!tap_ok(ret == VAULT_GRANTED,
		    "the recovery secret, a NODA object, is still checked in the lockout: GRANTED (the way back)"))
		tap_diag("recovery_check: %d %s", ret, v.errmsg);

	/* the lockout ends: reset with the lockout auth */
	ret = tpm_do(DA_RESET, 0, 0, NULL) && look(&before);
	tap_ok(ret && before.counter == 0 && !locked_out(&before),
	       "TPM2_DictionaryAttackLockReset with the test's lockout auth: DA counter %u, out of lockout",
	       before.counter);
	o = keypad(1, owner, false);
	tap_ok(granted(&o, false) && counts(1, 0, 0),
	       "the owner's right code is GRANTED again; owner and lock-wide counts 0");
	o = keypad(2, code2, false);
	ret = granted(&o, false);
	o = keypad(2, duress2, false);
	tap_ok(ret && granted(&o, true),
	       "user 002's code and duress code are as before the refused change (GRANTED, and GRANTED with duress): nothing half-changed");
	ret = admin_user_add();
	ret = ret == 0 && look(&l);
	tap_ok(ret && version_of(&l) == version_of(&before) + 1 &&
	       n_users() == 3,
	       "the refused user-add now works: user 003 added, the table version %llu -> %llu ('%s')",
	       (unsigned long long)version_of(&before),
	       (unsigned long long)version_of(&l), rep.message);

	/* and ended by time: recoveryTime 2 s, maxTries 1 */
	ret = tpm_do(DA_RESET, 0, 0, NULL) &&
	      tpm_do(DA_PARAMS, 1, SHORT_S, NULL);
	o = keypad(1, owner_wrong, false);
	ret = ret && denied(&o) && counts(1, 1, 1);
	t1 = sw_now_us();
	o = keypad(1, owner, false);
	ra = o.retry_after_ms;
	tap_ok(ret && lockout_denied(&o, SHORT_S) && counts(1, 1, 1),
	       "recoveryTime %d s, maxTries 1: a wrong code (counted) locks the TPM out; the owner's right code is then DENIED for the lockout, not counted, retry after %u ms",
	       SHORT_S, ra);
	/* from the last DA failure, as the TPM counts it; never minutes */
	elapsed = (sw_now_us() - t1) / 1000;
	wait = (ra <= SHORT_S * 1000 ? ra : SHORT_S * 1000) + 500;
	if (wait > elapsed)
		sleep_ms((unsigned int)(wait - elapsed));
	o = keypad(1, owner, false);
	tap_ok(granted(&o, false) && counts(1, 0, 0),
	       "once that retry-after is waited out (+0.5 s, no reset): the owner's right code is GRANTED; counts 0");

	v.ops->close(&v);
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop (%.1f s in all)",
	       (sw_now_us() - t0) / 1e6);
out:
	if (v.priv)
		v.ops->close(&v);
	safelock_wipe(owner, sizeof(owner));
	safelock_wipe(owner_wrong, sizeof(owner_wrong));
	safelock_wipe(code2, sizeof(code2));
	safelock_wipe(duress2, sizeof(duress2));
	safelock_wipe(wrong2, sizeof(wrong2));
	safelock_wipe(code3, sizeof(code3));
	safelock_wipe(recovery, sizeof(recovery));
	safelock_wipe(&lockout_auth, sizeof(lockout_auth));
	sw_cleanup(&sw);
	return tap_exit();
}
