// SPDX-License-Identifier: GPL-2.0
/*
 * A TPM without a resource manager (/dev/tpm0; here swtpm's socket, which
 * has none either): what a killed process left loaded stays in the TPM and
 * fills its few object and session slots. The vault flushes every
 * transient object (0x80xxxxxx) and every loaded or saved session
 * (0x02/0x03xxxxxx) when it connects (vault_tpm_io.c, flush_leftovers()),
 * and never a persistent object or an NV index.
 *
 * A child process fills the TPM as a killed safelockd would leave it:
 * transient objects (as many as fit), an HMAC and a policy session loaded,
 * a session context-saved, then SIGKILL. GetCapability shows them; the
 * vault opens; GetCapability shows none of them left, the vault's
 * persistent primary and NV indices are still there, and the owner's
 * right code still opens. Codes are random digits made at run time.
 * SKIPs if swtpm is absent.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <tss2/tss2_esys.h>

#include "libsafelock.h"
#include "../safelockd/vault.h"
#include "../safelockd/vault_tpm.h"
#include "swtpm.h"
#include "tap.h"

#define NTESTS		11
#define CODE_LEN	8

static struct swtpm sw;

/* How many handles GetCapability(TPM_CAP_HANDLES) lists from @first on. */
static int handles(TPM2_HANDLE first, TPM2_HANDLE want)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(&sw, &t);
	TPMS_CAPABILITY_DATA *cap = NULL;
	int n = -1;
	UINT32 i;

	if (ctx && !Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES,
				       NULL, &cap)) {
		n = 0;
		for (i = 0; i < cap->data.handles.count; i++)
			if (!want || cap->data.handles.handle[i] == want)
				n++;
	}
	Esys_Free(cap);
	sw_esys_close(&ctx, &t);
	return n;
}

/*
 * The child: transient objects until the TPM is full, two sessions
 * loaded, one saved; then killed, flushing nothing.
 */
static void leave_leftovers(void)
{
	TPM2B_PUBLIC tmpl = {
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
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(&sw, &t);
	ESYS_TR obj, s1, s2, s3;
	TPMS_CONTEXT *saved = NULL;
	int i;

	if (!ctx)
		_exit(1);
	for (i = 0; i < 8; i++)
		if (Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &obj,
				       NULL, NULL, NULL, NULL))
			break;	/* the TPM's object slots are full */
	if (i == 0 ||
	    Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, &s1) ||
	    Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &s2) ||
	    Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, &s3) ||
	    Esys_ContextSave(ctx, s3, &saved))
		_exit(1);
	raise(SIGKILL);
	_exit(1);
}

int main(int argc, char **argv)
{
	struct vault v = { .ops = &vault_tpm_ops };
	struct vault_config cfg = { 0 };
	struct vault_result res;
	char code[SAFELOCK_CODE_BUF];
	unsigned int retry = 0;
	int st = 0, objs, loaded, saved;
	pid_t pid;

	(void)argc;
	(void)argv;
	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (st = 0; st < NTESTS; st++)
			tap_skip("leftovers", "swtpm not installed");
		return 0;
	}
	if (!sw_init(&sw, "leftovers") || !tap_ok(sw_start(&sw), "swtpm starts"))
		return 1;
	cfg.tcti = sw.tcti;
	cfg.state_dir = sw.statedir;
	sw_random_code(code, CODE_LEN);
	tap_ok(!v.ops->open(&v, &cfg) && !v.ops->enrol(&v, 1, code, CODE_LEN),
	       "a vault with an owner (%s)", v.errmsg);
	v.ops->close(&v);

	pid = fork();
	if (pid == 0)
		leave_leftovers();
	waitpid(pid, &st, 0);
	objs = handles(TPM2_TRANSIENT_FIRST, 0);
	loaded = handles(TPM2_LOADED_SESSION_FIRST, 0);
	saved = handles(TPM2_ACTIVE_SESSION_FIRST, 0);
	tap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && objs >= 1 && loaded >= 2 &&
	       saved >= 1,
	       "a killed process left %d transient objects, %d loaded sessions, %d saved",
	       objs, loaded, saved);

	tap_ok(!v.ops->open(&v, &cfg), "the vault opens (%s)", v.errmsg);
	objs = handles(TPM2_TRANSIENT_FIRST, 0);
	loaded = handles(TPM2_LOADED_SESSION_FIRST, 0);
	saved = handles(TPM2_ACTIVE_SESSION_FIRST, 0);
	tap_ok(objs == 0, "no transient object left (%d)", objs);
	tap_ok(loaded == 0, "no loaded session left (%d)", loaded);
	tap_ok(saved == 0, "no saved session left (%d)", saved);
	tap_ok(handles(TPM2_PERSISTENT_FIRST, PRIMARY_HANDLE) == 1,
	       "the vault's persistent primary is still there");
	tap_ok(handles(TPM2_NV_INDEX_FIRST, THROTTLE_NV) == 1 &&
	       handles(TPM2_NV_INDEX_FIRST, STATE_NV) == 1,
	       "its NV indices too");
	tap_ok(v.ops->verify(&v, 100, 1, code, CODE_LEN, &retry, &res) == VAULT_GRANTED,
	       "the owner's right code still opens (%s)", v.errmsg);
	if (v.ops->finish)
		v.ops->finish(&v);
	v.ops->close(&v);
	/* the vault holds nothing between operations: nothing to flush now */
	tap_ok(handles(TPM2_TRANSIENT_FIRST, 0) == 0 &&
	       handles(TPM2_LOADED_SESSION_FIRST, 0) == 0,
	       "and leaves nothing loaded itself");
	safelock_wipe(code, sizeof(code));
	sw_cleanup(&sw);
	return tap_failed ? 1 : 0;
}
