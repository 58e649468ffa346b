// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault when the TPM misbehaves, against swtpm:
 *
 *  - busy: TPM_RC_RETRY, _YIELDED, _TESTING and _NV_RATE answers (faked
 *    by the slfault TCTI, tcti_fault.c, since swtpm never gives them) are
 *    retried with a bounded backoff; a TPM that stays busy is an error,
 *    in bounded time, and a try it interrupted stays counted;
 *  - memory full: transient objects or sessions left in the TPM by a
 *    second connection are flushed and the command retried;
 *  - lost: swtpm killed (and restarted) between and during operations, a
 *    TCTI error, TPM_RC_INITIALIZE: the vault reconnects; an operation
 *    that had not written anything runs again, a check that had counted
 *    its try reports an error and the try stays counted (never a free try).
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
#include "../safelockd/vault.h"
#include "../safelockd/vault_tpm.h"
#include "swtpm.h"
#include "tcti_fault.h"
#include "tap.h"

#define NTESTS	22

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct vault_result res;
static struct slfault *fault;
static char tcti[PATH_MAX * 3];
static char code[SAFELOCK_CODE_BUF], wrong[SAFELOCK_CODE_BUF];
static size_t len = 8;

static void arm(uint32_t rc, uint32_t tcti_rc, uint32_t cc, unsigned int skip,
		unsigned int count)
{
	memset(fault, 0, sizeof(*fault));
	fault->cc = cc;
	fault->skip = skip;
	fault->count = count;
	fault->tcti_rc = tcti_rc;
	fault->rc = rc;
}

static void disarm(void)
{
	fault->rc = 0;
	fault->tcti_rc = 0;
	fault->count = 0;
}

static bool reopen(void)
{
	if (v.priv)
		v.ops->close(&v);
	if (v.ops->open(&v, &cfg)) {
		tap_diag("open: %s", v.errmsg);
		return false;
	}
	return true;
}

static int verify(uint64_t req, const char *c)
{
	unsigned int ra;
	int ret = v.ops->verify(&v, req, 1, c, len, &ra, &res);

	/* the owner's GRANTED opens: safelockd says so (opened()) */
	if (ret == VAULT_GRANTED)
		v.ops->opened(&v);

	v.ops->finish(&v);
	return ret;
}

static bool counts(unsigned int uf, unsigned int gf)
{
	struct vault_throttle st;

	if (v.ops->throttle(&v, 1, &st)) {
		tap_diag("throttle: %s", v.errmsg);
		return false;
	}
	if (st.user_failures == uf && st.global_failures == gf)
		return true;
	tap_diag("%u failures (want %u), global %u (want %u)",
		 st.user_failures, uf, st.global_failures, gf);
	return false;
}

/* How many loaded transient objects or sessions the TPM lists from @first. */
static int loaded(TPM2_HANDLE first)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(&sw, &t);
	TPMS_CAPABILITY_DATA *cap = NULL;
	int n = -1;

	if (ctx && !Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				       ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
				       TPM2_MAX_CAP_HANDLES, NULL, &cap))
		n = (int)cap->data.handles.count;
	Esys_Free(cap);
	sw_esys_close(&ctx, &t);
	return n;
}

/* Another client fills the TPM's object (or session) memory and leaves. */
static int fill(bool sessions)
{
	static const TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT,
			.parameters.keyedHashDetail.scheme = {
				.scheme = TPM2_ALG_HMAC,
				.details.hmac.hashAlg = TPM2_ALG_SHA256,
			},
		},
	};
	static const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(&sw, &t);
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TSS2_RC rc = 0;
	ESYS_TR h;
	int n = 0;

	while (ctx && !rc && n < 64) {
		if (sessions)
			rc = Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE,
						   ESYS_TR_NONE, ESYS_TR_NONE,
						   ESYS_TR_NONE, NULL,
						   TPM2_SE_HMAC, &none,
						   TPM2_ALG_SHA256, &h);
		else
			rc = Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER,
						ESYS_TR_PASSWORD, ESYS_TR_NONE,
						ESYS_TR_NONE, &sens, &tmpl,
						&outside, &pcrs, &h, NULL, NULL,
						NULL, NULL);
		n += !rc;
	}
	if ((rc & 0xfff) != (sessions ? TPM2_RC_SESSION_MEMORY : TPM2_RC_OBJECT_MEMORY))
		n = -(int)rc;
	sw_esys_close(&ctx, &t);	/* no flush: they stay */
	return n;
}

static const char *cut_at;
static bool cut_restart, cut_done;

static void cut_hook(const char *where)
{
	if (!cut_at || strcmp(where, cut_at))
		return;
	cut_at = NULL;
	cut_done = sw_kill(&sw, cut_restart);
}

static void busy_tests(void)
{
	static const struct { uint32_t rc, cc; unsigned int n; const char *what; } busy[] = {
		{ TPM2_RC_RETRY, TPM2_CC_Unseal, 3, "3 TPM_RC_RETRY on Unseal (ESAPI resubmits)" },
		{ TPM2_RC_RETRY, TPM2_CC_Unseal, 8, "8 TPM_RC_RETRY on Unseal" },
		{ TPM2_RC_YIELDED, TPM2_CC_Load, 8, "8 TPM_RC_YIELDED on Load" },
		{ TPM2_RC_TESTING, TPM2_CC_ReadClock, 8, "8 TPM_RC_TESTING on ReadClock" },
		{ TPM2_RC_NV_RATE, TPM2_CC_NV_Write, 3, "3 TPM_RC_NV_RATE on NV_Write" },
	};
	uint64_t t0, us;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
		/* the TPM clock is read at the first check after a start */
		if (busy[i].cc == TPM2_CC_ReadClock && !reopen())
			return;
		arm(busy[i].rc, 0, busy[i].cc, 0, busy[i].n);
		t0 = sw_now_us();
		ret = verify(0, code);
		us = sw_now_us() - t0;
		disarm();
		if (!tap_ok(ret == VAULT_GRANTED && fault->faked == busy[i].n &&
			    counts(0, 0),
			    "%s: retried, granted in %.0f ms", busy[i].what,
			    us / 1000.0))
			tap_diag("ret %d faked %u: %s", ret, fault->faked, v.errmsg);
	}
	arm(TPM2_RC_RETRY, 0, TPM2_CC_Unseal, 0, UINT_MAX);
	t0 = sw_now_us();
	ret = verify(0, code);
	us = sw_now_us() - t0;
	disarm();
	tap_ok(ret < 0 && us < 2000000 && counts(1, 1),
	       "a TPM that stays busy: an error after %.0f ms (%u tries), and the interrupted try is counted",
	       us / 1000.0, fault->faked);
	tap_ok(verify(0, code) == VAULT_GRANTED && counts(0, 0),
	       "then the right code is granted");
}

static void memory_tests(void)
{
	int n, ret;

	n = fill(false);
	ret = verify(0, code);
	tap_ok(n > 0 && ret == VAULT_GRANTED && loaded(TPM2_TRANSIENT_FIRST) == 0,
	       "object memory filled by another client (%d objects): flushed, then granted", n);
	/* a fresh start: the sessions are armed at the first key */
	n = reopen() ? fill(true) : -1;
	ret = v.ops->prepare(&v, 77);
	ret = ret ? ret : verify(77, code);
	/* what is left is ours: the two armed sessions */
	tap_ok(n > 0 && ret == VAULT_GRANTED &&
	       loaded(TPM2_LOADED_SESSION_FIRST) == 2,
	       "session memory filled by another client (%d sessions): flushed, then prepared and granted", n);
	arm(TPM2_RC_OBJECT_MEMORY, 0, TPM2_CC_Load, 0, UINT_MAX);
	ret = verify(0, code);
	disarm();
	tap_ok(ret < 0 && fault->faked == 2 && counts(1, 1) &&
	       verify(0, code) == VAULT_GRANTED,
	       "object memory that stays full: one flush and retry, then an error; the try counted");
}

static void lost_tests(void)
{
	int ret;

	ret = reopen() ? 0 : -1;
	arm(TPM2_RC_INITIALIZE, 0, TPM2_CC_ReadClock, 0, 1);
	ret = ret ? ret : verify(0, code);
	disarm();
	tap_ok(ret == VAULT_GRANTED && fault->faked == 1 && counts(0, 0),
	       "TPM_RC_INITIALIZE (a TPM reset) before the count: reconnected, run again, granted");
	/* the TPM clock is read at the first check after a start */
	ret = reopen() ? 0 : -1;
	arm(0, TSS2_TCTI_RC_IO_ERROR, TPM2_CC_ReadClock, 0, 1);
	ret = ret ? ret : verify(0, code);
	disarm();
	tap_ok(ret == VAULT_GRANTED && fault->faked == 1 && counts(0, 0),
	       "a TCTI error before the count: reconnected, run again, granted, nothing counted");
	arm(0, TSS2_TCTI_RC_IO_ERROR, TPM2_CC_Unseal, 0, 1);
	ret = verify(0, code);
	disarm();
	tap_ok(ret < 0 && counts(1, 1) && verify(0, code) == VAULT_GRANTED,
	       "a TCTI error during the check: an error, the try counted; then granted");

	/* swtpm killed and restarted between operations, a preparation open */
	ret = v.ops->prepare(&v, 100);
	ret = ret ? ret : v.ops->prepare_user(&v, 100, 1);
	ret = !ret && sw_power_cut(&sw) ? verify(100, code) : 0;
	tap_ok(ret < 0 && counts(1, 1) && verify(0, code) == VAULT_GRANTED,
	       "swtpm restarted between the user id and ENTER: the connection and objects are gone, an error, the try counted; then granted");
	/*
	 * The armed sessions outlive entries: a TPM reset under an open
	 * connection (/dev/tpmrm0 over a resume) leaves them dangling, and
	 * the TPM answers TPM_RC_HANDLE for the session of the next Load.
	 */
	ret = v.ops->prepare(&v, 102);
	arm(TPM2_RC_HANDLE | TPM2_RC_S | TPM2_RC_1, 0, TPM2_CC_Load, 0, 2);
	if (!ret)	/* best effort: both its Loads fail, it is counted */
		v.ops->prepare_user(&v, 102, 1);
	ret = ret ? ret : verify(102, code);
	disarm();
	/* without a retry over fresh sessions the check's Load fails too */
	tap_ok(ret == VAULT_GRANTED && fault->faked == 2 && counts(0, 0),
	       "the armed session gone under an open connection (TPM_RC_HANDLE at the Load): armed afresh, loaded, granted");
	ret = sw_kill(&sw, false) ? verify(0, code) : 0;
	tap_ok(ret < 0 && sw_start(&sw) && counts(0, 0) &&
	       verify(0, code) == VAULT_GRANTED,
	       "swtpm down at the next operation: an error, nothing counted; back up, granted");

	/* during a check */
	cut_at = "verify:counted";
	cut_restart = false;
	ret = verify(0, code);
	tap_ok(cut_done && ret < 0 && sw_start(&sw) && counts(1, 1) &&
	       verify(0, code) == VAULT_GRANTED,
	       "swtpm killed during a check, after the count: an error, the try counted after its restart");
	cut_done = false;
	cut_at = "verify:counted";
	cut_restart = true;
	ret = v.ops->prepare(&v, 101);
	ret = ret ? ret : v.ops->prepare_user(&v, 101, 1);
	ret = ret ? ret : verify(101, wrong);
	tap_ok(cut_done && ret < 0 && counts(1, 1) &&
	       verify(0, code) == VAULT_GRANTED,
	       "swtpm restarted during a prepared check: an error, counted for the user and globally");
	cut_done = false;
	cut_at = "verify:checked";
	cut_restart = false;
	ret = verify(0, wrong);
	v.ops->close(&v);	/* safelockd dies too, before settling */
	tap_ok(cut_done && ret == VAULT_DENIED && sw_start(&sw) && reopen() &&
	       counts(1, 1) && verify(0, code) == VAULT_GRANTED,
	       "swtpm and safelockd both gone after a denial, before its settle: counted at the next start");
	cut_done = false;
}

/* The slfault TCTI beside this program: tools/tests/ */
static bool load_fault(void)
{
	fault = slfault_load(sw.tcti, tcti, sizeof(tcti));
	return fault != NULL;
}

int main(void)
{
	UINT32 da = 0;
	int i;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault faults", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "vault-faults")) {
		perror("mkdtemp");
		return 1;
	}
	if (!load_fault()) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault faults", "the slfault TCTI did not load");
		sw_cleanup(&sw);
		return tap_exit();
	}
	cfg.tcti = tcti;
	cfg.state_dir = sw.statedir;
	vault_tpm_test_point = cut_hook;
	sw_random_code(code, len);
	sw_wrong_of(code, len, wrong, 0);
	if (!tap_ok(sw_start(&sw) && reopen() &&
		    v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code, len) == 0 &&
		    verify(0, code) == VAULT_GRANTED,
		    "the vault opens through the slfault TCTI; the owner's code is granted")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault faults", "no vault");
		goto out;
	}
	busy_tests();
	memory_tests();
	lost_tests();
	v.ops->close(&v);
	tap_ok(sw_props(&sw, TPM2_PT_LOCKOUT_COUNTER, 1, &da) && da < DA_MAX_TRIES,
	       "the TPM's DA counter after all this: %u of %d", da, DA_MAX_TRIES);
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	safelock_wipe(code, sizeof(code));
	safelock_wipe(wrong, sizeof(wrong));
	sw_cleanup(&sw);
	return tap_exit();
}
