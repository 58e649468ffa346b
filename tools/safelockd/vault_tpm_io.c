// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault's plumbing: the connection and what to do when a command
 * fails, the persisted storage primary, the dictionary-attack backstop,
 * NV indices, sessions and sealed objects.
 *
 * Errors at run time (TPM_RUN in vault_tpm.h):
 *  - busy (TPM_RC_RETRY, _YIELDED, _TESTING, _NV_RATE, _NV_UNAVAILABLE):
 *    ESAPI already resubmits RETRY/YIELDED/TESTING a few times at once;
 *    when it gives up the vault waits 10, 20, 40, 80, 160 ms between
 *    further tries (about 0.3 s in all), then reports the error.
 *  - object or session memory full (TPM_RC_OBJECT_MEMORY, _SESSION_MEMORY):
 *    the vault holds at most a policy session and two objects, and flushes
 *    them after each check; what fills the TPM is someone else's leftovers
 *    (a TPM without a resource manager) or a leak. The vault lists the
 *    loaded transient objects and sessions, flushes every one it does not
 *    hold (through /dev/tpmrm0 it only ever sees its own), and retries once.
 *  - connection lost or TPM restarted (any TCTI error, a malformed
 *    response, ESAPI out of sequence, TPM_RC_INITIALIZE, a handle that
 *    references nothing loaded): the command fails and the vault marks
 *    itself broken; the next operation reconnects (vault_tpm.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "vault_tpm.h"

#define BUSY_TRIES	5
#define MEMORY_RETRIED	0x100	/* in *tries: the memory recovery was done */

void (*vault_tpm_test_point)(const char *where);

void tpm_point(const char *where)
{
	if (vault_tpm_test_point)
		vault_tpm_test_point(where);
}

int tpm_fail(struct vault *v, const char *what, TSS2_RC rc)
{
	struct tpm_vault *t = v->priv;

	if (t)
		t->last_rc = rc;
	snprintf(v->errmsg, sizeof(v->errmsg), "%s: %s (0x%x)", what,
		 Tss2_RC_Decode(rc), rc);
	return -EIO;
}

int sys_fail(struct vault *v, const char *what, int err)
{
	snprintf(v->errmsg, sizeof(v->errmsg), "%s: %s", what, strerror(err));
	return -err;
}

/* TPM2_RC_AUTH_FAIL and friends carry a handle/session number: strip it. */
TSS2_RC rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
}

/* The connection is gone, or the TPM restarted under us. */
bool tpm_rc_lost(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
	TSS2_RC b = rc_base(rc);

	if (!rc)
		return false;
	if (layer == TSS2_TCTI_RC_LAYER || layer == TSS2_SYS_RC_LAYER)
		return true;
	if (layer == TSS2_ESAPI_RC_LAYER)
		return rc == TSS2_ESYS_RC_BAD_SEQUENCE ||
		       rc == TSS2_ESYS_RC_MALFORMED_RESPONSE ||
		       rc == TSS2_ESYS_RC_INSUFFICIENT_RESPONSE ||
		       rc == TSS2_ESYS_RC_RSP_AUTH_FAILED ||
		       rc == TSS2_ESYS_RC_IO_ERROR;
	if (layer != TSS2_TPM_RC_LAYER)
		return false;
	return b == TPM2_RC_INITIALIZE ||
	       (b >= TPM2_RC_REFERENCE_H0 && b <= TPM2_RC_REFERENCE_S6);
}

static bool rc_busy(TSS2_RC b)
{
	return b == TPM2_RC_RETRY || b == TPM2_RC_YIELDED ||
	       b == TPM2_RC_TESTING || b == TPM2_RC_NV_RATE ||
	       b == TPM2_RC_NV_UNAVAILABLE;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void hold(struct tpm_vault *t, ESYS_TR h)
{
	int i;

	for (i = 0; i < HELD_MAX; i++)
		if (t->held[i] == ESYS_TR_NONE) {
			t->held[i] = h;
			return;
		}
}

static void unhold(struct tpm_vault *t, ESYS_TR h)
{
	int i;

	for (i = 0; i < HELD_MAX; i++)
		if (t->held[i] == h)
			t->held[i] = ESYS_TR_NONE;
}

void flush(struct tpm_vault *t, ESYS_TR *h)
{
	TSS2_RC rc;

	if (*h == ESYS_TR_NONE)
		return;
	unhold(t, *h);
	if (t->ctx && !t->broken) {
		TPM_RUN(t, rc, Esys_FlushContext(t->ctx, *h));
		if (rc)		/* gone with the connection, or not loaded */
			Esys_TR_Close(t->ctx, h);
	}
	*h = ESYS_TR_NONE;
}

static bool is_held(struct tpm_vault *t, TPM2_HANDLE handle)
{
	TPM2_HANDLE h;
	int i;

	for (i = 0; i < HELD_MAX; i++)
		if (t->held[i] != ESYS_TR_NONE &&
		    !Esys_TR_GetTpmHandle(t->ctx, t->held[i], &h) && h == handle)
			return true;
	return false;
}

/*
 * Flush the loaded objects or sessions from @first on that we do not hold:
 * only transient objects (0x80) and sessions (0x02 loaded, 0x03 saved),
 * never a persistent object or an NV index, even if a TPM listed one.
 * The number flushed.
 */
static unsigned int flush_foreign(struct tpm_vault *t, TPM2_HANDLE first)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	unsigned int n = 0;
	ESYS_TR tr;
	TSS2_RC rc;
	UINT32 i;

	t->v->commands++;
	rc = Esys_GetCapability(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES,
				NULL, &cap);
	for (i = 0; !rc && i < cap->data.handles.count; i++) {
		TPM2_HANDLE h = cap->data.handles.handle[i];
		TPM2_HANDLE type = h >> TPM2_HR_SHIFT;

		if ((type != TPM2_HT_TRANSIENT && type != TPM2_HT_HMAC_SESSION &&
		     type != TPM2_HT_POLICY_SESSION) || is_held(t, h))
			continue;
		t->v->commands++;
		if (Esys_TR_FromTPMPublic(t->ctx, h, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, &tr))
			continue;
		t->v->commands++;
		if (Esys_FlushContext(t->ctx, tr))
			Esys_TR_Close(t->ctx, &tr);
		else
			n++;
	}
	Esys_Free(cap);
	return n;
}

/* After a failed command: try it again? See the comment at the top. */
bool tpm_again(struct tpm_vault *t, TSS2_RC rc, unsigned int *tries)
{
	TSS2_RC b = rc_base(rc);

	if (!rc)
		return false;
	if (tpm_rc_lost(rc)) {
		t->broken = true;
		return false;
	}
	if (rc_busy(b)) {
		if ((*tries & 0xff) >= BUSY_TRIES)
			return false;
		sleep_ms(10u << (*tries & 0xff));
		(*tries)++;
		return true;
	}
	if ((b == TPM2_RC_OBJECT_MEMORY || b == TPM2_RC_SESSION_MEMORY) &&
	    !t->in_recovery && !(*tries & MEMORY_RETRIED)) {
		*tries |= MEMORY_RETRIED;
		t->in_recovery = true;
		if (b == TPM2_RC_OBJECT_MEMORY) {
			flush_foreign(t, TPM2_TRANSIENT_FIRST);
		} else {
			flush_foreign(t, TPM2_LOADED_SESSION_FIRST);
			/* the armed sessions too, unless arming needs them */
			if (!t->arming)
				sessions_disarm(t);
		}
		t->in_recovery = false;
		return !t->broken;
	}
	return false;
}

/* Connection ---------------------------------------------------------- */

static void forget_handles(struct tpm_vault *t)
{
	int i;

	t->primary = ESYS_TR_NONE;
	t->throttle_nv = ESYS_TR_NONE;
	t->fails_nv = ESYS_TR_NONE;
	t->state_nv = ESYS_TR_NONE;
	t->anchor_nv = ESYS_TR_NONE;
	t->arm_hmac = ESYS_TR_NONE;
	t->arm_policy = ESYS_TR_NONE;
	t->arm_fresh = false;
	t->prep_obj = ESYS_TR_NONE;
	t->prep_obj2 = ESYS_TR_NONE;
	t->after_obj = ESYS_TR_NONE;
	t->after_obj2 = ESYS_TR_NONE;
	for (i = 0; i < HELD_MAX; i++)
		t->held[i] = ESYS_TR_NONE;
}

void tpm_disconnect(struct tpm_vault *t)
{
	if (t->ctx)
		Esys_Finalize(&t->ctx);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	forget_handles(t);
}

/*
 * At every (re)connection, before the vault holds anything: flush what an
 * earlier safelockd (killed, or this one before the connection was lost)
 * left loaded. Through /dev/tpm0 (no resource manager) its transient
 * objects and sessions outlive it and fill the TPM's few slots, so the
 * next Load or StartAuthSession would fail with OBJECT_MEMORY or
 * SESSION_MEMORY; tpm_again() recovers from that too, but only once a
 * check is already under way, costing the person at the keypad the
 * recovery. Through /dev/tpmrm0 the new connection's space is empty: 3
 * GetCapability commands, nothing flushed. It also flushes another
 * process's objects on /dev/tpm0: there safelockd must be the TPM's only
 * user (Documentation/security/vault.rst, "Which TPM device").
 */
static void flush_leftovers(struct tpm_vault *t)
{
	unsigned int n;

	/* nothing is held yet: forget_handles() ran */
	n = flush_foreign(t, TPM2_TRANSIENT_FIRST);
	n += flush_foreign(t, TPM2_LOADED_SESSION_FIRST);
	n += flush_foreign(t, TPM2_ACTIVE_SESSION_FIRST);
	if (n)
		fprintf(stderr, "safelockd: vault: flushed %u transient objects and sessions left in the TPM\n",
			n);
}

/*
 * A new ESAPI context on a new TCTI; the old one (if any) is finalised
 * after, so the TCTI library stays loaded in between (no dlopen of a new
 * file under safelockd's sandbox). Then what was left loaded is flushed
 * (flush_leftovers()).
 */
int tpm_connect(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TSS2_RC rc;

	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &tcti);
	if (rc)
		return tpm_fail(v, t->tcti_conf ? t->tcti_conf : "default TCTI",
				rc);
	rc = Esys_Initialize(&ctx, tcti, NULL);
	if (rc) {
		Tss2_TctiLdr_Finalize(&tcti);
		return tpm_fail(v, "ESAPI", rc);
	}
	tpm_disconnect(t);
	t->tcti = tcti;
	t->ctx = ctx;
	t->broken = false;
	flush_leftovers(t);
	return 0;
}

/* The storage primary ------------------------------------------------- */

/*
 * ECC P-256, AES-128-CFB, NODA (a DA lockout must not also block Load).
 * Its unique field gets 32 random bytes at creation: the key exists only
 * as the persistent object, and once a wipe evicts it nobody can create
 * it again, so every sealed object made under it is dead for good, even
 * in a copy of the state directory.
 */
static const TPM2B_PUBLIC primary_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN |
				    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
				    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
		.parameters.eccDetail = {
			.symmetric = {
				.algorithm = TPM2_ALG_AES,
				.keyBits.aes = 128,
				.mode.aes = TPM2_ALG_CFB,
			},
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = TPM2_ECC_NIST_P256,
			.kdf.scheme = TPM2_ALG_NULL,
		},
	},
};

static bool primary_matches(const TPMT_PUBLIC *p)
{
	const TPMT_PUBLIC *w = &primary_template.publicArea;
	const TPMS_ECC_PARMS *a = &p->parameters.eccDetail;
	const TPMS_ECC_PARMS *b = &w->parameters.eccDetail;

	return p->type == w->type && p->nameAlg == w->nameAlg &&
	       p->objectAttributes == w->objectAttributes &&
	       p->authPolicy.size == 0 &&
	       a->symmetric.algorithm == b->symmetric.algorithm &&
	       a->symmetric.keyBits.aes == b->symmetric.keyBits.aes &&
	       a->symmetric.mode.aes == b->symmetric.mode.aes &&
	       a->scheme.scheme == b->scheme.scheme &&
	       a->curveID == b->curveID && a->kdf.scheme == b->kdf.scheme;
}

/*
 * The Name of @h as ESAPI holds it, checked against the public area ESAPI
 * holds (the one a session salted with @h encrypts its salt to): ESAPI
 * takes both from the TPM's ReadPublic answer without checking that one
 * is the hash of the other, so an interposer could pair its own public
 * key with the genuine Name. Read from ESAPI's serialised handle
 * (Esys_TR_Serialize: u32 handle, TPM2B_NAME, u32 type, TPM2B_PUBLIC).
 * Also returns that public area in @pub if not NULL. 0 or -EBADMSG.
 */
static int held_public(struct tpm_vault *t, ESYS_TR h, TPM2B_NAME *name,
		       TPM2B_PUBLIC *pub)
{
	uint8_t *buf = NULL, tbuf[sizeof(TPMT_PUBLIC)], md[32];
	TPM2B_NAME held = { 0 };
	TPM2B_PUBLIC p = { 0 };
	size_t size = 0, off = 4, toff = 0;
	unsigned int n = 0;
	UINT32 type;
	int ret = -EBADMSG;

	if (Esys_TR_Serialize(t->ctx, h, &buf, &size))
		return -EBADMSG;
	if (size < 4 ||
	    Tss2_MU_TPM2B_NAME_Unmarshal(buf, size, &off, &held) ||
	    Tss2_MU_UINT32_Unmarshal(buf, size, &off, &type) ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, size, &off, &p))
		goto out;
	if (p.publicArea.nameAlg != TPM2_ALG_SHA256 ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&p.publicArea, tbuf, sizeof(tbuf), &toff) ||
	    !EVP_Digest(tbuf, toff, md, &n, EVP_sha256(), NULL) || n != 32)
		goto out;
	name->size = 2 + 32;
	put_be(name->name, TPM2_ALG_SHA256, 2);
	memcpy(name->name + 2, md, 32);
	if (held.size != name->size || memcmp(held.name, name->name, name->size))
		goto out;
	if (pub)
		*pub = p;
	ret = 0;
out:
	free(buf);
	return ret;
}

int primary_name(struct tpm_vault *t, ESYS_TR h, TPM2B_NAME *name)
{
	return held_public(t, h, name, NULL);
}

/*
 * Find the persisted primary and check its public area against the
 * template; with @create, create and persist it if absent. 0 (found), 1
 * (created), -ENOENT (absent, !create), -EEXIST (something else at the
 * handle), -errno. Its Name in t->primary_name; whether it is the one
 * the table pinned is the caller's check (vault_tpm.c, tpm_start()).
 */
int tpm_primary(struct vault *v, bool create)
{
	struct tpm_vault *t = v->priv;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = primary_template;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC pub;
	ESYS_TR h = ESYS_TR_NONE, tr = ESYS_TR_NONE;
	TSS2_RC rc;

	t->primary_name.size = 0;
	/*
	 * ESAPI reads the public area (ReadPublic) and keeps it with the
	 * Name: check what it keeps, which is what a salted session uses.
	 */
	TPM_RUN(t, rc, Esys_TR_FromTPMPublic(t->ctx, PRIMARY_HANDLE, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE, &h));
	if (!rc) {
		if (held_public(t, h, &t->primary_name, &pub)) {
			Esys_TR_Close(t->ctx, &h);
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "unable to read the persistent primary: its Name is not the hash of its public area");
			return -EBADMSG;
		}
		if (!primary_matches(&pub.publicArea)) {
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "persistent handle 0x%08x holds a key that is not safelock's storage primary; refusing to use or replace it",
				 PRIMARY_HANDLE);
			Esys_TR_Close(t->ctx, &h);
			t->primary_name.size = 0;
			return -EEXIST;
		}
		t->primary = h;
		return 0;
	}
	if (rc_base(rc) != TPM2_RC_HANDLE)
		return tpm_fail(v, "find the persistent primary", rc);
	if (!create)
		return -ENOENT;
	t->wrote = true;
	tmpl.publicArea.unique.ecc.x.size = 32;
	tmpl.publicArea.unique.ecc.y.size = 32;
	rc = get_random(t, tmpl.publicArea.unique.ecc.x.buffer, 32);
	if (rc)
		return tpm_fail(v, "random data", rc);
	TPM_RUN(t, rc, Esys_CreatePrimary(t->ctx, ESYS_TR_RH_OWNER,
					  ESYS_TR_PASSWORD, ESYS_TR_NONE,
					  ESYS_TR_NONE, &sens, &tmpl, &outside,
					  &pcrs, &tr, NULL, NULL, NULL, NULL));
	safelock_wipe(&tmpl, sizeof(tmpl));
	if (rc)
		return tpm_fail(v, "create the storage primary", rc);
	hold(t, tr);
	TPM_RUN(t, rc, Esys_EvictControl(t->ctx, ESYS_TR_RH_OWNER, tr,
					 ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, PRIMARY_HANDLE, &h));
	flush(t, &tr);
	if (rc)
		return tpm_fail(v, "persist the storage primary", rc);
	if (held_public(t, h, &t->primary_name, NULL)) {
		Esys_TR_Close(t->ctx, &h);
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "unable to read the new primary's Name");
		return -EBADMSG;
	}
	t->primary = h;
	return 1;
}

/* Dictionary-attack backstop ------------------------------------------ */

static TSS2_RC get_props(struct tpm_vault *t, TPM2_PT first, UINT32 n,
			 UINT32 *out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TSS2_RC rc;
	UINT32 i;

	TPM_RUN(t, rc, Esys_GetCapability(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
					  first, n, NULL, &cap));
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

/*
 * Set maxTries, recoveryTime and lockoutRecovery (vault_tpm.c says why
 * these), then replace the empty lockout auth by 32 random bytes that are
 * never stored: from then on nobody, root on the controller or a thief
 * holding the chip, can reset the DA counter, change these numbers or
 * clear the TPM through the lockout hierarchy. Only the platform
 * hierarchy (firmware) can still clear the TPM, which destroys every
 * sealed code with it. A TPM whose lockout auth was already set is left
 * as it is (its numbers are whoever set them).
 */
int tpm_set_da(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	TPM2B_AUTH lockout = { .size = 32 };
	UINT32 perm = 0;
	ESYS_TR s = ESYS_TR_NONE;
	TSS2_RC rc;

	rc = get_props(t, TPM2_PT_PERMANENT, 1, &perm);
	if (rc)
		return tpm_fail(v, "read the TPM's permanent attributes", rc);
	if (perm & TPMA_PERMANENT_LOCKOUTAUTHSET)
		return 0;
	t->wrote = true;
	TPM_RUN(t, rc, Esys_DictionaryAttackParameters(t->ctx, ESYS_TR_RH_LOCKOUT,
						       ESYS_TR_PASSWORD,
						       ESYS_TR_NONE, ESYS_TR_NONE,
						       DA_MAX_TRIES, DA_RECOVERY_S,
						       DA_LOCKOUT_RECOVERY_S));
	if (rc)
		return tpm_fail(v, "set dictionary-attack parameters", rc);
	rc = get_random(t, lockout.buffer, lockout.size);
	/* the new auth travels encrypted */
	if (!rc)
		rc = start_session(t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &s);
	if (!rc)
		TPM_RUN(t, rc, Esys_HierarchyChangeAuth(t->ctx, ESYS_TR_RH_LOCKOUT,
							s, ESYS_TR_NONE,
							ESYS_TR_NONE, &lockout));
	safelock_wipe(&lockout, sizeof(lockout));
	flush(t, &s);
	if (rc)
		return tpm_fail(v, "seal the lockout hierarchy", rc);
	return 0;
}

/*
 * The TPM answered TPM_RC_LOCKOUT: nothing DA-protected can be checked
 * until it forgives one failure, recoveryTime after the last (TPM2 part 1,
 * "Dictionary attack protection"). That is the wait, at most: ours
 * (DA_RECOVERY_S) on a TPM the vault set up, its setter's on one whose
 * lockout auth was already set (left as it is, tpm_set_da()); ours if it
 * cannot be read. Said in v->errmsg; returned in ms.
 */
unsigned int da_lockout(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	UINT32 s = 0, min;

	if (get_props(t, TPM2_PT_LOCKOUT_INTERVAL, 1, &s) || !s)
		s = DA_RECOVERY_S;
	if (s > (VAULT_RETRY_DISABLED - 1) / 1000)
		s = (VAULT_RETRY_DISABLED - 1) / 1000;
	min = (s + 59) / 60;
	snprintf(v->errmsg, sizeof(v->errmsg),
		 "TPM dictionary-attack lockout: try again in %u minute%s", min,
		 min == 1 ? "" : "s");
	return s * 1000;
}

/* NV ------------------------------------------------------------------ */

void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

TSS2_RC nv_write(struct tpm_vault *t, ESYS_TR nv, const uint8_t *buf,
		 size_t len, uint16_t off)
{
	TPM2B_MAX_NV_BUFFER data;
	TSS2_RC rc = 0;
	size_t n;

	t->wrote = true;
	while (!rc && len) {
		n = len > NV_CHUNK ? NV_CHUNK : len;
		data.size = (UINT16)n;
		memcpy(data.buffer, buf, n);
		t->v->nv_writes++;
		TPM_RUN(t, rc, Esys_NV_Write(t->ctx, ESYS_TR_RH_OWNER, nv,
					     ESYS_TR_PASSWORD, ESYS_TR_NONE,
					     ESYS_TR_NONE, &data, off));
		buf += n;
		len -= n;
		off = (uint16_t)(off + n);
	}
	return rc;
}

TSS2_RC nv_read(struct tpm_vault *t, ESYS_TR nv, uint8_t *buf, size_t len)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	uint16_t off = 0;
	TSS2_RC rc = 0;
	size_t n;

	while (!rc && off < len) {
		n = len - off > NV_CHUNK ? NV_CHUNK : len - off;
		TPM_RUN(t, rc, Esys_NV_Read(t->ctx, ESYS_TR_RH_OWNER, nv,
					    ESYS_TR_PASSWORD, ESYS_TR_NONE,
					    ESYS_TR_NONE, (UINT16)n, off, &data));
		if (!rc && data->size != n)
			rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		if (!rc)
			memcpy(buf + off, data->buffer, n);
		Esys_Free(data);
		data = NULL;
		off = (uint16_t)(off + n);
	}
	return rc;
}

/*
 * Owner read/write (owner auth, empty as for the primary), NO_DA (an NV
 * access must never count as a code guess), not ORDERLY and not
 * CLEAR_STCLEAR: every write is in NV at once and survives reboot and
 * power loss.
 */
#define NV_ATTRS	(TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA | \
			 (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT))

/* The name ESAPI read for @nv is that of @want, written or not yet. */
static bool nv_name_is(struct tpm_vault *t, ESYS_TR nv, const TPMS_NV_PUBLIC *want)
{
	TPMS_NV_PUBLIC p = *want;
	TPM2B_NAME *name = NULL;
	uint8_t buf[sizeof(TPMS_NV_PUBLIC)], md[2 + 32];
	unsigned int n;
	bool same = false;
	size_t off;
	int i;

	if (Esys_TR_GetName(t->ctx, nv, &name))
		return false;
	for (i = 0; i < 2 && !same; i++) {
		if (i)
			p.attributes |= TPMA_NV_WRITTEN;
		off = 0;
		put_be(md, TPM2_ALG_SHA256, 2);
		if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(&p, buf, sizeof(buf), &off) ||
		    !EVP_Digest(buf, off, md + 2, &n, EVP_sha256(), NULL))
			break;
		same = name->size == sizeof(md) && !memcmp(name->name, md, sizeof(md));
	}
	Esys_Free(name);
	return same;
}

/*
 * Find index @handle, or with @define define it. 1 if it was defined now,
 * 0 if it existed with our attributes and size, -ENOENT if absent and not
 * @define, else -errno (message in v). A pre-existing index with other
 * attributes or size is refused, never replaced.
 */
int nv_index(struct vault *v, TPM2_HANDLE handle, uint16_t size, bool define,
	     ESYS_TR *nv)
{
	struct tpm_vault *t = v->priv;
	TPM2B_AUTH empty = { 0 };
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NV_PUBLIC info = {
		.nvPublic = {
			.nvIndex = handle,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = NV_ATTRS,
			.dataSize = size,
		},
	};
	TSS2_RC rc;
	int ret;

	if (*nv != ESYS_TR_NONE)
		return 0;
	TPM_RUN(t, rc, Esys_TR_FromTPMPublic(t->ctx, handle, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE, nv));
	if (rc == 0) {
		/* its name is a hash of its public area: no second command */
		if (nv_name_is(t, *nv, &info.nvPublic))
			return 0;
		TPM_RUN(t, rc, Esys_NV_ReadPublic(t->ctx, *nv, ESYS_TR_NONE,
						  ESYS_TR_NONE, ESYS_TR_NONE,
						  &pub, NULL));
		if (rc) {
			Esys_TR_Close(t->ctx, nv);
			return tpm_fail(v, "read NV index", rc);
		}
		ret = 0;
		/* WRITTEN and the like are set by the TPM: compare ours */
		if (pub->nvPublic.dataSize != size ||
		    pub->nvPublic.nameAlg != TPM2_ALG_SHA256 ||
		    (pub->nvPublic.attributes &
		     ~(TPMA_NV_WRITTEN | TPMA_NV_READLOCKED |
		       TPMA_NV_WRITELOCKED)) != info.nvPublic.attributes) {
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "NV index 0x%08x exists with other attributes (0x%08x) or size; refusing it",
				 handle, pub->nvPublic.attributes);
			Esys_TR_Close(t->ctx, nv);
			ret = -EEXIST;
		}
		Esys_Free(pub);
		return ret;
	}
	*nv = ESYS_TR_NONE;
	if (rc_base(rc) != TPM2_RC_HANDLE)
		return tpm_fail(v, "find NV index", rc);
	if (!define)
		return -ENOENT;
	t->wrote = true;
	TPM_RUN(t, rc, Esys_NV_DefineSpace(t->ctx, ESYS_TR_RH_OWNER,
					   ESYS_TR_PASSWORD, ESYS_TR_NONE,
					   ESYS_TR_NONE, &empty, &info, nv));
	if (rc) {
		*nv = ESYS_TR_NONE;
		return tpm_fail(v, "define NV index", rc);
	}
	return 1;
}

/* Undefine index @handle if it exists: 0 or -errno. */
int nv_undefine(struct vault *v, TPM2_HANDLE handle, ESYS_TR *nv)
{
	struct tpm_vault *t = v->priv;
	TSS2_RC rc;

	if (*nv == ESYS_TR_NONE) {
		TPM_RUN(t, rc, Esys_TR_FromTPMPublic(t->ctx, handle, ESYS_TR_NONE,
						     ESYS_TR_NONE, ESYS_TR_NONE,
						     nv));
		if (rc) {
			*nv = ESYS_TR_NONE;
			if (rc_base(rc) == TPM2_RC_HANDLE)
				return 0;
			return tpm_fail(v, "find NV index", rc);
		}
	}
	t->wrote = true;
	TPM_RUN(t, rc, Esys_NV_UndefineSpace(t->ctx, ESYS_TR_RH_OWNER, *nv,
					     ESYS_TR_PASSWORD, ESYS_TR_NONE,
					     ESYS_TR_NONE));
	if (rc) {
		Esys_TR_Close(t->ctx, nv);
		*nv = ESYS_TR_NONE;
		return tpm_fail(v, "undefine NV index", rc);
	}
	*nv = ESYS_TR_NONE;
	return 0;
}

/* The clock that delays count on: TPM Clock (ms of powered time). */
TSS2_RC read_clock(struct tpm_vault *t, uint64_t *now)
{
	TPMS_TIME_INFO *ti = NULL;
	TSS2_RC rc;

	TPM_RUN(t, rc, Esys_ReadClock(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				      ESYS_TR_NONE, &ti));
	if (!rc) {
		*now = ti->clockInfo.clock + t->clock_offset;
		/*
		 * After an unclean stop (clockInfo.safe NO) Clock may be a
		 * little behind a reading already seen: never go back within
		 * a run. Delays are counted forward from a stored start, so a
		 * clock behind only makes them longer.
		 */
		if (*now < t->clock_high)
			*now = t->clock_high;
		t->clock_high = *now;
	}
	Esys_Free(ti);
	return rc;
}

TSS2_RC get_random(struct tpm_vault *t, uint8_t *buf, size_t len)
{
	TPM2B_DIGEST *rnd = NULL;
	TSS2_RC rc = 0;
	size_t n;

	while (!rc && len) {
		n = len > 32 ? 32 : len;
		TPM_RUN(t, rc, Esys_GetRandom(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE,
					      ESYS_TR_NONE, (UINT16)n, &rnd));
		if (!rc && rnd->size != n)
			rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		if (!rc)
			memcpy(buf, rnd->buffer, n);
		if (rnd)
			safelock_wipe(rnd, sizeof(*rnd));
		Esys_Free(rnd);
		rnd = NULL;
		buf += n;
		len -= n;
	}
	return rc;
}

/* Sessions and sealed objects ----------------------------------------- */

static const TPMT_SYM_DEF session_sym = {
	.algorithm = TPM2_ALG_AES,
	.keyBits.aes = 128,
	.mode.aes = TPM2_ALG_CFB,
};

/* A session salted with the primary; @attrs adds ENCRYPT and/or DECRYPT. */
TSS2_RC start_session(struct tpm_vault *t, TPM2_SE type, TPMA_SESSION attrs,
		      ESYS_TR *s)
{
	TSS2_RC rc;

	*s = ESYS_TR_NONE;
	/* never salted with a key that is not the pinned primary */
	if (t->primary_bad || t->primary == ESYS_TR_NONE)
		return TSS2_ESYS_RC_BAD_REFERENCE;
	TPM_RUN(t, rc, Esys_StartAuthSession(t->ctx, t->primary, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE,
					     ESYS_TR_NONE, NULL, type,
					     &session_sym, TPM2_ALG_SHA256, s));
	if (rc) {
		*s = ESYS_TR_NONE;
		return rc;
	}
	hold(t, *s);
	rc = Esys_TRSess_SetAttributes(t->ctx, *s,
				       attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc)
		flush(t, s);
	return rc;
}

/*
 * The digest of a policy made of PolicyAuthValue alone, computed here
 * rather than with a trial session (4 TPM commands at each start):
 * SHA-256(32 zero bytes || TPM_CC_PolicyAuthValue).
 */
int policy_digest(struct tpm_vault *t)
{
	uint8_t buf[32 + 4] = { 0 };
	unsigned int n = 0;

	put_be(buf + 32, TPM2_CC_PolicyAuthValue, 4);
	if (!EVP_Digest(buf, sizeof(buf), t->policy.buffer, &n, EVP_sha256(),
			NULL) || n != 32)
		return -EIO;
	t->policy.size = 32;
	return 0;
}

/* auth = SHA-256(salt || secret) */
int derive_auth(const uint8_t *salt, const void *secret, size_t len,
		TPM2B_AUTH *auth)
{
	unsigned int n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, salt, SALT_SIZE) &&
	     EVP_DigestUpdate(md, secret, len) &&
	     EVP_DigestFinal_ex(md, auth->buffer, &n);
	EVP_MD_CTX_free(md);	/* cleanses its state */
	auth->size = (UINT16)n;
	if (!ok || n != 32) {
		safelock_wipe(auth, sizeof(*auth));
		return -EIO;
	}
	return 0;
}

void slot_free(struct vault_slot *s)
{
	if (s->blob) {
		safelock_wipe(s->blob, s->len);
		free(s->blob);
	}
	safelock_wipe(s, sizeof(*s));
}

/*
 * A new KEYEDHASH object under the primary sealing 32 random bytes that
 * nobody uses: userAuth SHA-256(salt || secret), authPolicy
 * PolicyAuthValue, no USERWITHAUTH (only the policy). Codes are not NODA:
 * every wrong one raises the TPM's DA counter; @noda for the 160-bit
 * recovery secret, which no one can guess. The new auth goes to the TPM in
 * an encrypted parameter of a salted session.
 */
int seal(struct vault *v, const void *secret, size_t len, bool noda,
	 struct vault_slot *slot)
{
	struct tpm_vault *t = v->priv;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM |
					    TPMA_OBJECT_FIXEDPARENT |
					    (noda ? TPMA_OBJECT_NODA : 0),
			.authPolicy = t->policy,
			.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
		},
	};
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	uint8_t buf[SLOT_BLOB_MAX];
	ESYS_TR s = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc;
	int ret;

	memset(slot, 0, sizeof(*slot));
	if (getrandom(slot->salt, SALT_SIZE, 0) != SALT_SIZE)
		return sys_fail(v, "salt", errno ? errno : EIO);
	ret = derive_auth(slot->salt, secret, len, &sens.sensitive.userAuth);
	if (ret) {
		snprintf(v->errmsg, sizeof(v->errmsg), "key derivation failed");
		return ret;
	}
	rc = get_random(t, sens.sensitive.data.buffer, SEAL_SIZE);
	sens.sensitive.data.size = SEAL_SIZE;
	if (rc) {
		ret = tpm_fail(v, "random data", rc);
		goto out;
	}
	rc = start_session(t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &s);
	if (rc) {
		ret = tpm_fail(v, "salted session", rc);
		goto out;
	}
	t->wrote = true;
	TPM_RUN(t, rc, Esys_Create(t->ctx, t->primary, s, ESYS_TR_NONE,
				   ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
				   &priv, &pub, NULL, NULL, NULL));
	flush(t, &s);
	if (rc) {
		ret = tpm_fail(v, "sealed object", rc);
		goto out;
	}
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (!rc)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off);
	if (rc) {
		ret = tpm_fail(v, "marshal sealed object", rc);
		goto out;
	}
	slot->blob = malloc(off);
	if (!slot->blob) {
		ret = sys_fail(v, "allocate", ENOMEM);
		goto out;
	}
	memcpy(slot->blob, buf, off);
	slot->len = (uint16_t)off;
	ret = 0;
out:
	Esys_Free(priv);
	Esys_Free(pub);
	safelock_wipe(&sens, sizeof(sens));
	if (ret)
		slot_free(slot);
	return ret;
}

int slot_load(struct vault *v, const struct vault_slot *slot, ESYS_TR s,
	      ESYS_TR *obj)
{
	struct tpm_vault *t = v->priv;
	ESYS_TR own = ESYS_TR_NONE;
	TPM2B_PRIVATE priv;
	TPM2B_PUBLIC pub;
	size_t off = 0;
	TSS2_RC rc;

	*obj = ESYS_TR_NONE;
	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(slot->blob, slot->len, &off, &pub) ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(slot->blob, slot->len, &off, &priv) ||
	    off != slot->len) {
		snprintf(v->errmsg, sizeof(v->errmsg), "damaged sealed object");
		return -EBADMSG;
	}
	/*
	 * The parent's auth through a session salted with the pinned
	 * primary: its response HMAC proves the TPM holds that key.
	 */
	if (s == ESYS_TR_NONE) {
		rc = start_session(t, TPM2_SE_HMAC, 0, &own);
		if (rc)
			return tpm_fail(v, "salted session", rc);
		s = own;
	}
	TPM_RUN(t, rc, Esys_Load(t->ctx, t->primary, s, ESYS_TR_NONE,
				 ESYS_TR_NONE, &priv, &pub, obj));
	flush(t, &own);
	if (rc) {
		*obj = ESYS_TR_NONE;
		return tpm_fail(v, "load sealed object", rc);
	}
	hold(t, *obj);
	return 0;
}

int slot_unseal(struct vault *v, ESYS_TR obj, ESYS_TR s,
		const struct vault_slot *slot, const void *secret, size_t len)
{
	static const TPM2B_AUTH empty_auth = { 0 };
	struct tpm_vault *t = v->priv;
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_AUTH auth = { 0 };
	TSS2_RC rc;
	int ret;

	ret = derive_auth(slot->salt, secret, len, &auth);
	if (ret) {
		snprintf(v->errmsg, sizeof(v->errmsg), "key derivation failed");
		return ret;
	}
	rc = Esys_TR_SetAuth(t->ctx, obj, &auth);
	if (!rc)
		TPM_RUN(t, rc, Esys_Unseal(t->ctx, obj, s, ESYS_TR_NONE,
					   ESYS_TR_NONE, &out));
	if (!rc) {
		ret = VAULT_GRANTED;
	} else if (rc_base(rc) == TPM2_RC_AUTH_FAIL ||
		   rc_base(rc) == TPM2_RC_BAD_AUTH) {
		ret = VAULT_DENIED;
	} else if (rc_base(rc) == TPM2_RC_LOCKOUT) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "TPM dictionary-attack lockout: not checked");
		ret = -EBUSY;
	} else {
		ret = tpm_fail(v, "unseal", rc);
	}
	if (out)
		safelock_wipe(out, sizeof(*out));
	Esys_Free(out);
	Esys_TR_SetAuth(t->ctx, obj, &empty_auth);
	safelock_wipe(&auth, sizeof(auth));
	return ret;
}
