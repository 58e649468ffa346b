// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM 2.0 vault, over tpm2-tss ESAPI.
 *
 * Each user is one sealed KEYEDHASH object under a storage primary of the
 * owner hierarchy. Its userAuth is SHA-256(salt || code), with a random
 * per-user salt kept beside the blob; its authPolicy is PolicyAuthValue, and
 * it is NOT created with NODA, so every wrong code raises the TPM's
 * dictionary-attack counter (persistent, global, written before the check)
 * and a lockout refuses even the right code. The sealed data are random
 * bytes that nobody uses: a successful Unseal is the proof.
 *
 * The primary is created with NODA (a lockout must not also block Load)
 * from a fixed template at every start, so nothing about it is stored.
 *
 * Load, Create and Unseal run in sessions salted with the primary, with
 * parameter encryption, so someone on the TPM bus sees neither the new
 * object's auth at enrolment nor anything they could search codes against.
 *
 * On disk, STATE_DIR/user-UUU.obj: "SLVAULT1", the 32-byte salt, then the
 * marshalled TPM2B_PUBLIC and TPM2B_PRIVATE. Only the TPM can use the blob.
 *
 * Throttling lives in TPM NV, not on flash (a flash image can be rolled
 * back; the TPM's NV cannot, short of TPM2_Clear, which also destroys every
 * sealed code). Two ordinary NV indices, not TPM2_NT_COUNTER: a counter
 * can never be decremented, and a success must bring a user's consecutive
 * failures back to 0 (a counter pair "tries"/"settled" would do it too, but
 * costs an extra NV write per check and a counter per user; NV space for
 * 999 counters does not exist on a discrete TPM).
 *
 *  - THROTTLE_NV (16 bytes): magic, the global consecutive failures (every
 *    user), the user whose try is counted but not yet settled ("pending",
 *    0 for none), and the TPM clock of the last failure.
 *  - FAILS_NV (1000 bytes): byte U is user U's consecutive failures
 *    (saturating at 255).
 *
 * Both: owner read/write (owner auth, empty as for the primary), NO_DA (an
 * NV access must never count as a code guess), not ORDERLY and not
 * CLEAR_STCLEAR, so every write is in NV at once and survives reboot and
 * power loss. A pre-existing index with other attributes or size is
 * refused. They are defined on first use.
 *
 * One verify:
 *   1. ReadClock; if the user or the lock is in a delay (schedule.c,
 *      counted from the last failure on the TPM clock), deny at once with
 *      the time left: no TPM auth, no count.
 *   2. COUNT, before the check, one NV write: global failures + 1, last
 *      failure = now, pending = user. Power cut from here on: the try is
 *      a failure (open() settles a pending try as one).
 *   3. Check (Load, policy session, PolicyAuthValue, Unseal).
 *   4. SETTLE. Failure: FAILS_NV[user] + 1, then pending = 0. Success:
 *      FAILS_NV[user] = 0 (if it was not), then global = 0, pending = 0,
 *      last failure restored. A cut between the two writes of a failure
 *      counts the try twice, never zero times.
 * Per-user delays count from the last failure of ANY user: never shorter
 * than from the user's own last failure, and it keeps NV use at one byte a
 * user. The state is cached in memory (safelockd is the only writer) and
 * read back from NV at open().
 *
 * The TPM's dictionary-attack lockout stays on as a backstop for an
 * attacker who gets past this (root on the controller can redefine the
 * indices with the owner auth). Set when the indices are first defined:
 *   maxTries 32: above the schedule's hard limit of 20, and far above the
 *     ~8 failures the schedule lets through before its delays outlast the
 *     DA decay (one failure forgiven per 10 min), so the remaining 20+ are
 *     headroom for unclean power losses, each of which counts as one DA
 *     failure: the owner is never locked out by the TPM for those.
 *   recoveryTime 600 s: past 32, one guess per 10 powered minutes, 144 a
 *     day: 10^6 codes in about 19 years, even with the schedule bypassed.
 *   lockoutRecovery 86400 s: a wrong lockout auth waits a day.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "libsafelock.h"
#include "vault.h"

#define VAULT_MAGIC		"SLVAULT1"
#define VAULT_MAGIC_LEN		8
#define VAULT_SALT_SIZE		32
#define VAULT_SEAL_SIZE		32
#define VAULT_FILE_MAX		(VAULT_MAGIC_LEN + VAULT_SALT_SIZE + \
				 sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE))

/* NV indices in the owner range, "SL" */
#define THROTTLE_NV		0x01534c00
#define FAILS_NV		0x01534c01
#define THROTTLE_MAGIC		0x534c5431	/* "SLT1" */
#define THROTTLE_SIZE		16
#define FAILS_SIZE		(SAFELOCK_USER_ID_MAX + 1)
#define NV_CHUNK		512		/* <= TPM2_PT_NV_BUFFER_MAX */
#define NV_ATTRS		(TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | \
				 TPMA_NV_NO_DA)

/* DA backstop: see the comment at the top */
#define DA_MAX_TRIES		32
#define DA_RECOVERY_S		600
#define DA_LOCKOUT_RECOVERY_S	86400

struct tpm_vault {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR primary;
	TPM2B_DIGEST policy;	/* PolicyAuthValue digest */
	int dirfd;
	ESYS_TR throttle_nv, fails_nv;
	/* cached copy of the NV state */
	unsigned int global_fails;
	unsigned int pending;
	uint64_t last_fail;
	uint8_t fails[FAILS_SIZE];
	uint64_t clock_offset;
	bool cut_after_count;
};

/* The storage primary: ECC P-256, AES-128-CFB, NODA. */
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

static const TPMT_SYM_DEF session_sym = {
	.algorithm = TPM2_ALG_AES,
	.keyBits.aes = 128,
	.mode.aes = TPM2_ALG_CFB,
};

static int tpm_fail(struct vault *v, const char *what, TSS2_RC rc)
{
	snprintf(v->errmsg, sizeof(v->errmsg), "%s: %s (0x%x)", what,
		 Tss2_RC_Decode(rc), rc);
	return -EIO;
}

static int sys_fail(struct vault *v, const char *what, int err)
{
	snprintf(v->errmsg, sizeof(v->errmsg), "%s: %s", what, strerror(err));
	return -err;
}

static void flush(struct tpm_vault *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		Esys_FlushContext(t->ctx, *h);
	*h = ESYS_TR_NONE;
}

/* A session salted with the primary; @attrs adds ENCRYPT and/or DECRYPT. */
static TSS2_RC start_session(struct tpm_vault *t, TPM2_SE type,
			     TPMA_SESSION attrs, ESYS_TR *s)
{
	TSS2_RC rc;

	*s = ESYS_TR_NONE;
	rc = Esys_StartAuthSession(t->ctx, t->primary, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, type, &session_sym, TPM2_ALG_SHA256, s);
	if (rc)
		return rc;
	rc = Esys_TRSess_SetAttributes(t->ctx, *s,
				       attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc)
		flush(t, s);
	return rc;
}

/* The digest of a policy made of PolicyAuthValue alone. */
static TSS2_RC policy_digest(struct tpm_vault *t)
{
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST *d = NULL;
	ESYS_TR s = ESYS_TR_NONE;
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, &s);
	if (rc)
		return rc;
	rc = Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE);
	if (!rc)
		rc = Esys_PolicyGetDigest(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, &d);
	if (!rc)
		t->policy = *d;
	Esys_Free(d);
	flush(t, &s);
	return rc;
}

/* auth = SHA-256(salt || code) */
static int derive_auth(const uint8_t *salt, const char *code, size_t len,
		       TPM2B_AUTH *auth)
{
	unsigned int n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, salt, VAULT_SALT_SIZE) &&
	     EVP_DigestUpdate(md, code, len) &&
	     EVP_DigestFinal_ex(md, auth->buffer, &n);
	EVP_MD_CTX_free(md);	/* cleanses its state */
	auth->size = (UINT16)n;
	if (!ok || n != 32) {
		safelock_wipe(auth, sizeof(*auth));
		return -EIO;
	}
	return 0;
}

static void user_file(unsigned int user_id, char *name, size_t len, bool tmp)
{
	snprintf(name, len, "user-%03u.obj%s", user_id, tmp ? ".tmp" : "");
}

static int write_blob(struct vault *v, unsigned int user_id,
		      const uint8_t *buf, size_t len)
{
	struct tpm_vault *t = v->priv;
	char name[32], tmp[32];
	size_t off = 0;
	ssize_t n;
	int fd, err;

	user_file(user_id, name, sizeof(name), false);
	user_file(user_id, tmp, sizeof(tmp), true);
	unlinkat(t->dirfd, tmp, 0);
	fd = openat(t->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
	if (fd < 0)
		return sys_fail(v, "create sealed object file", errno);
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		err = errno;
		goto fail;
	}
	close(fd);
	if (renameat(t->dirfd, tmp, t->dirfd, name) < 0) {
		err = errno;
		unlinkat(t->dirfd, tmp, 0);
		return sys_fail(v, "store sealed object", err);
	}
	fsync(t->dirfd);
	return 0;
fail:
	close(fd);
	unlinkat(t->dirfd, tmp, 0);
	return sys_fail(v, "write sealed object", err);
}

/* -ENOENT if the user is not enrolled, -EBADMSG if the file is damaged. */
static int read_blob(struct vault *v, unsigned int user_id, uint8_t *salt,
		     TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv)
{
	struct tpm_vault *t = v->priv;
	uint8_t buf[VAULT_FILE_MAX + 1];
	char name[32];
	size_t len = 0, off;
	ssize_t n;
	int fd;

	user_file(user_id, name, sizeof(name), false);
	fd = openat(t->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT :
		       sys_fail(v, "open sealed object", errno);
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return sys_fail(v, "read sealed object", errno);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > VAULT_FILE_MAX || len < VAULT_MAGIC_LEN + VAULT_SALT_SIZE ||
	    memcmp(buf, VAULT_MAGIC, VAULT_MAGIC_LEN))
		goto bad;
	memcpy(salt, buf + VAULT_MAGIC_LEN, VAULT_SALT_SIZE);
	off = VAULT_MAGIC_LEN + VAULT_SALT_SIZE;
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub) ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, priv) || off != len)
		goto bad;
	return 0;
bad:
	snprintf(v->errmsg, sizeof(v->errmsg), "%s: damaged sealed object", name);
	return -EBADMSG;
}

/* TPM2_RC_AUTH_FAIL and friends carry a handle/session number: strip it. */
static TSS2_RC rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
}

/* Throttling state in TPM NV ----------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static TSS2_RC nv_write(struct tpm_vault *t, ESYS_TR nv, const uint8_t *buf,
			size_t len, uint16_t off)
{
	TPM2B_MAX_NV_BUFFER data;
	TSS2_RC rc = 0;
	size_t n;

	while (!rc && len) {
		n = len > NV_CHUNK ? NV_CHUNK : len;
		data.size = (UINT16)n;
		memcpy(data.buffer, buf, n);
		rc = Esys_NV_Write(t->ctx, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, &data, off);
		buf += n;
		len -= n;
		off = (uint16_t)(off + n);
	}
	return rc;
}

static TSS2_RC nv_read(struct tpm_vault *t, ESYS_TR nv, uint8_t *buf,
		       size_t len)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	uint16_t off = 0;
	TSS2_RC rc = 0;
	size_t n;

	while (!rc && off < len) {
		n = len - off > NV_CHUNK ? NV_CHUNK : len - off;
		rc = Esys_NV_Read(t->ctx, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				  ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)n, off,
				  &data);
		if (!rc && data->size != n)
			rc = TSS2_ESYS_RC_BAD_VALUE;
		if (!rc)
			memcpy(buf + off, data->buffer, n);
		Esys_Free(data);
		data = NULL;
		off = (uint16_t)(off + n);
	}
	return rc;
}

static TSS2_RC write_throttle(struct tpm_vault *t)
{
	uint8_t buf[THROTTLE_SIZE];

	put_be(buf, THROTTLE_MAGIC, 4);
	put_be(buf + 4, t->global_fails, 2);
	put_be(buf + 6, t->pending, 2);
	put_be(buf + 8, t->last_fail, 8);
	return nv_write(t, t->throttle_nv, buf, sizeof(buf), 0);
}

static TSS2_RC write_user_fails(struct tpm_vault *t, unsigned int user)
{
	return nv_write(t, t->fails_nv, &t->fails[user], 1, (uint16_t)user);
}

/* The clock that delays count on: TPM Clock (ms of powered time). */
static TSS2_RC read_clock(struct tpm_vault *t, uint64_t *now)
{
	TPMS_TIME_INFO *ti = NULL;
	TSS2_RC rc;

	rc = Esys_ReadClock(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    &ti);
	if (!rc)
		*now = ti->clockInfo.clock + t->clock_offset;
	Esys_Free(ti);
	return rc;
}

/*
 * Find index @handle, or define it. 1 if it was defined now, 0 if it
 * existed with our attributes and size, else -errno (message in v).
 */
static int nv_index(struct vault *v, TPM2_HANDLE handle, uint16_t size,
		    ESYS_TR *nv)
{
	struct tpm_vault *t = v->priv;
	TPM2B_AUTH empty = { 0 };
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NV_PUBLIC info = {
		.nvPublic = {
			.nvIndex = handle,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = NV_ATTRS |
				      (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT),
			.dataSize = size,
		},
	};
	TSS2_RC rc;
	int ret;

	rc = Esys_TR_FromTPMPublic(t->ctx, handle, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, nv);
	if (rc == 0) {
		rc = Esys_NV_ReadPublic(t->ctx, *nv, ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, &pub, NULL);
		if (rc)
			return tpm_fail(v, "read NV index", rc);
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
			ret = -EEXIST;
		}
		Esys_Free(pub);
		return ret;
	}
	if (rc_base(rc) != TPM2_RC_HANDLE)
		return tpm_fail(v, "find NV index", rc);
	rc = Esys_NV_DefineSpace(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &empty, &info, nv);
	if (rc)
		return tpm_fail(v, "define NV index", rc);
	return 1;
}

/* Define or read back the throttling state; settle a try cut short. */
static int throttle_open(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	uint8_t buf[THROTTLE_SIZE];
	TSS2_RC rc;
	int ret, fresh;

	ret = nv_index(v, FAILS_NV, FAILS_SIZE, &t->fails_nv);
	if (ret < 0)
		return ret;
	fresh = ret;
	ret = nv_index(v, THROTTLE_NV, THROTTLE_SIZE, &t->throttle_nv);
	if (ret < 0)
		return ret;
	fresh |= ret;
	if (!fresh) {
		rc = nv_read(t, t->throttle_nv, buf, sizeof(buf));
		if (rc == 0 && get_be(buf, 4) == THROTTLE_MAGIC) {
			rc = nv_read(t, t->fails_nv, t->fails, sizeof(t->fails));
			if (rc)
				return tpm_fail(v, "read failure counts", rc);
			t->global_fails = (unsigned int)get_be(buf + 4, 2);
			t->pending = (unsigned int)get_be(buf + 6, 2);
			t->last_fail = get_be(buf + 8, 8);
			goto settle;
		}
		/* never completed its first write: a first use cut short */
		if (rc && rc_base(rc) != TPM2_RC_NV_UNINITIALIZED)
			return tpm_fail(v, "read throttling state", rc);
	}
	/* first use: the DA backstop, then zero counts, the header last */
	rc = Esys_DictionaryAttackParameters(t->ctx, ESYS_TR_RH_LOCKOUT,
					     ESYS_TR_PASSWORD, ESYS_TR_NONE,
					     ESYS_TR_NONE, DA_MAX_TRIES,
					     DA_RECOVERY_S,
					     DA_LOCKOUT_RECOVERY_S);
	if (rc)
		return tpm_fail(v, "set dictionary-attack parameters", rc);
	memset(t->fails, 0, sizeof(t->fails));
	t->global_fails = 0;
	t->pending = 0;
	t->last_fail = 0;
	rc = nv_write(t, t->fails_nv, t->fails, sizeof(t->fails), 0);
	if (!rc)
		rc = write_throttle(t);
	if (rc)
		return tpm_fail(v, "initialise throttling state", rc);
	return 0;
settle:
	if (t->pending > SAFELOCK_USER_ID_MAX) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "damaged throttling state");
		return -EBADMSG;
	}
	if (t->pending) {
		/* counted before a check that never finished: a failure */
		if (t->fails[t->pending] < UINT8_MAX)
			t->fails[t->pending]++;
		rc = write_user_fails(t, t->pending);
		t->pending = 0;
		if (!rc)
			rc = write_throttle(t);
		if (rc)
			return tpm_fail(v, "settle an unfinished try", rc);
	}
	return 0;
}

/* Time left before @user may try at @now (ms), VAULT_RETRY_DISABLED. */
static unsigned int retry_after(const struct tpm_vault *t, unsigned int user,
				uint64_t now)
{
	uint64_t du = vault_schedule_delay_ms(t->fails[user]);
	uint64_t dg = vault_schedule_delay_ms(t->global_fails);
	uint64_t d = du > dg ? du : dg;
	/* the clock may go back a little after a power loss: wait longer */
	uint64_t elapsed = now > t->last_fail ? now - t->last_fail : 0;

	if (d >= VAULT_RETRY_DISABLED)
		return VAULT_RETRY_DISABLED;
	if (elapsed >= d)
		return 0;
	/* d < UINT32_MAX */
	return (unsigned int)(d - elapsed);
}

static int tpm_throttle(struct vault *v, unsigned int user_id,
			struct vault_throttle *st)
{
	struct tpm_vault *t = v->priv;
	uint64_t now;
	TSS2_RC rc;

	v->errmsg[0] = '\0';
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "user id must be 1 to %d", SAFELOCK_USER_ID_MAX);
		return -EINVAL;
	}
	rc = read_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	st->user_failures = t->fails[user_id];
	st->global_failures = t->global_fails;
	st->retry_after_ms = retry_after(t, user_id, now);
	return 0;
}

static void tpm_close(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t)
		return;
	if (t->ctx) {
		flush(t, &t->primary);
		Esys_Finalize(&t->ctx);
	}
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	if (t->dirfd >= 0)
		close(t->dirfd);
	safelock_wipe(t, sizeof(*t));
	free(t);
	v->priv = NULL;
}

static int tpm_open(struct vault *v, const struct vault_config *cfg)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	struct tpm_vault *t;
	TSS2_RC rc;
	int ret;

	v->errmsg[0] = '\0';
	t = calloc(1, sizeof(*t));
	if (!t)
		return sys_fail(v, "allocate", ENOMEM);
	t->dirfd = -1;
	t->primary = ESYS_TR_NONE;
	t->throttle_nv = ESYS_TR_NONE;
	t->fails_nv = ESYS_TR_NONE;
	t->clock_offset = cfg->test_clock_offset_ms;
	t->cut_after_count = cfg->test_cut_after_count;
	v->priv = t;

	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		ret = sys_fail(v, cfg->state_dir, errno);
		goto fail;
	}
	t->dirfd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		ret = sys_fail(v, cfg->state_dir, errno);
		goto fail;
	}
	/* our own messages say what failed; TSS2_LOG still wins if set */
	setenv("TSS2_LOG", "all+none", 0);
	rc = Tss2_TctiLdr_Initialize(cfg->tcti, &t->tcti);
	if (rc) {
		ret = tpm_fail(v, cfg->tcti ? cfg->tcti : "default TCTI", rc);
		goto fail;
	}
	rc = Esys_Initialize(&t->ctx, t->tcti, NULL);
	if (rc) {
		ret = tpm_fail(v, "ESAPI", rc);
		goto fail;
	}
	rc = Esys_CreatePrimary(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				&primary_template, &outside, &pcrs, &t->primary,
				NULL, NULL, NULL, NULL);
	if (rc) {
		ret = tpm_fail(v, "storage primary", rc);
		goto fail;
	}
	rc = policy_digest(t);
	if (rc) {
		ret = tpm_fail(v, "policy digest", rc);
		goto fail;
	}
	ret = throttle_open(v);
	if (ret)
		goto fail;
	return 0;
fail:
	tpm_close(v);
	return ret;
}

static int tpm_enrol(struct vault *v, unsigned int user_id, const char *code,
		     size_t len)
{
	struct tpm_vault *t = v->priv;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			/* no USERWITHAUTH: only the policy; no NODA */
			.objectAttributes = TPMA_OBJECT_FIXEDTPM |
					    TPMA_OBJECT_FIXEDPARENT,
			.authPolicy = t->policy,
			.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
		},
	};
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_DIGEST *rnd = NULL;
	uint8_t salt[VAULT_SALT_SIZE];
	uint8_t buf[VAULT_FILE_MAX];
	ESYS_TR s = ESYS_TR_NONE;
	size_t off;
	TSS2_RC rc;
	int ret;

	v->errmsg[0] = '\0';
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "user id must be 1 to %d", SAFELOCK_USER_ID_MAX);
		return -EINVAL;
	}
	if (!safelock_code_valid(code, len)) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "code must be %d to %d digits",
			 SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
		return -EINVAL;
	}
	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		return sys_fail(v, "salt", errno ? errno : EIO);
	ret = derive_auth(salt, code, len, &sens.sensitive.userAuth);
	if (ret) {
		snprintf(v->errmsg, sizeof(v->errmsg), "key derivation failed");
		return ret;
	}
	rc = Esys_GetRandom(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    VAULT_SEAL_SIZE, &rnd);
	if (rc || rnd->size != VAULT_SEAL_SIZE) {
		ret = tpm_fail(v, "random data", rc);
		goto out;
	}
	sens.sensitive.data.size = rnd->size;
	memcpy(sens.sensitive.data.buffer, rnd->buffer, rnd->size);
	/* encrypt inSensitive on its way to the TPM */
	rc = start_session(t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &s);
	if (rc) {
		ret = tpm_fail(v, "salted session", rc);
		goto out;
	}
	rc = Esys_Create(t->ctx, t->primary, s, ESYS_TR_NONE, ESYS_TR_NONE,
			 &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL,
			 NULL);
	flush(t, &s);
	if (rc) {
		ret = tpm_fail(v, "sealed object", rc);
		goto out;
	}
	memcpy(buf, VAULT_MAGIC, VAULT_MAGIC_LEN);
	memcpy(buf + VAULT_MAGIC_LEN, salt, VAULT_SALT_SIZE);
	off = VAULT_MAGIC_LEN + VAULT_SALT_SIZE;
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (!rc)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off);
	if (rc) {
		ret = tpm_fail(v, "marshal sealed object", rc);
		goto out;
	}
	ret = write_blob(v, user_id, buf, off);
out:
	if (rnd)
		safelock_wipe(rnd, sizeof(*rnd));
	Esys_Free(rnd);
	Esys_Free(priv);
	Esys_Free(pub);
	safelock_wipe(&sens, sizeof(sens));
	safelock_wipe(salt, sizeof(salt));
	return ret;
}

/* Stand-in TPM work for an unknown user, so the answer is not instant. */
static void decoy(struct tpm_vault *t)
{
	ESYS_TR s;

	if (start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s))
		return;
	Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
			     ESYS_TR_NONE);
	flush(t, &s);
}

/* The check itself: VAULT_GRANTED, VAULT_DENIED or -errno. */
static int check_code(struct vault *v, unsigned int user_id, const char *code,
		      size_t len)
{
	static const TPM2B_AUTH empty_auth = { 0 };
	struct tpm_vault *t = v->priv;
	uint8_t salt[VAULT_SALT_SIZE];
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_PRIVATE priv;
	TPM2B_PUBLIC pub;
	TPM2B_AUTH auth = { 0 };
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret;

	ret = read_blob(v, user_id, salt, &pub, &priv);
	if (ret == -ENOENT) {
		decoy(t);
		snprintf(v->errmsg, sizeof(v->errmsg), "user not enrolled");
		return VAULT_DENIED;
	}
	if (ret)
		return ret;
	ret = derive_auth(salt, code, len, &auth);
	safelock_wipe(salt, sizeof(salt));
	if (ret) {
		snprintf(v->errmsg, sizeof(v->errmsg), "key derivation failed");
		return ret;
	}
	rc = Esys_Load(t->ctx, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		       ESYS_TR_NONE, &priv, &pub, &obj);
	if (rc) {
		ret = tpm_fail(v, "load sealed object", rc);
		goto out;
	}
	/* ENCRYPT: the unsealed data come back encrypted */
	rc = start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s);
	if (rc) {
		ret = tpm_fail(v, "policy session", rc);
		goto out;
	}
	rc = Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE);
	if (!rc)
		rc = Esys_TR_SetAuth(t->ctx, obj, &auth);
	if (rc) {
		ret = tpm_fail(v, "policy", rc);
		goto out;
	}
	rc = Esys_Unseal(t->ctx, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (!rc) {
		ret = VAULT_GRANTED;
	} else if (rc_base(rc) == TPM2_RC_AUTH_FAIL ||
		   rc_base(rc) == TPM2_RC_BAD_AUTH) {
		ret = VAULT_DENIED;
	} else if (rc_base(rc) == TPM2_RC_LOCKOUT) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "TPM dictionary-attack lockout");
		ret = VAULT_DENIED;
	} else {
		ret = tpm_fail(v, "unseal", rc);
	}
out:
	if (out)
		safelock_wipe(out, sizeof(*out));
	Esys_Free(out);
	if (obj != ESYS_TR_NONE)
		Esys_TR_SetAuth(t->ctx, obj, &empty_auth);
	flush(t, &s);
	flush(t, &obj);
	safelock_wipe(&auth, sizeof(auth));
	return ret;
}

/*
 * Throttle, count, check, settle: see the comment at the top. Costs
 * ReadClock; in a delay nothing more. Otherwise one NV write before the
 * check, Load + StartAuthSession + PolicyAuthValue + Unseal + 2 flushes,
 * and one or two NV writes after it.
 */
static int tpm_verify(struct vault *v, unsigned int user_id, const char *code,
		      size_t len, unsigned int *retry_after_ms)
{
	struct tpm_vault *t = v->priv;
	uint64_t now, prev_fail;
	unsigned int left;
	TSS2_RC rc;
	int ret;

	*retry_after_ms = 0;
	v->errmsg[0] = '\0';
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX ||
	    !safelock_code_valid(code, len)) {
		snprintf(v->errmsg, sizeof(v->errmsg), "malformed user or code");
		return VAULT_DENIED;
	}
	rc = read_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	left = retry_after(t, user_id, now);
	if (left) {
		*retry_after_ms = left;
		snprintf(v->errmsg, sizeof(v->errmsg), "%s",
			 left == VAULT_RETRY_DISABLED ?
			 "code entry disabled: too many failures" :
			 "in a delay: not checked");
		return VAULT_DENIED;
	}

	/* a settle that failed to reach NV earlier: write it now */
	if (t->pending) {
		rc = write_user_fails(t, t->pending);
		if (rc)
			return tpm_fail(v, "settle an earlier try", rc);
		t->pending = 0;
	}
	/* count: a failure until settled otherwise */
	prev_fail = t->last_fail;
	if (t->global_fails < UINT16_MAX)
		t->global_fails++;
	t->last_fail = now;
	t->pending = user_id;
	rc = write_throttle(t);
	if (rc) {
		/* unknown whether it reached NV: keep counting it */
		ret = tpm_fail(v, "count the try", rc);
		*retry_after_ms = retry_after(t, user_id, now);
		return ret;
	}
	if (t->cut_after_count) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "test: power cut after the count");
		return -ECANCELED;
	}

	ret = check_code(v, user_id, code, len);

	/* settle */
	if (ret == VAULT_GRANTED) {
		rc = 0;
		if (t->fails[user_id]) {
			t->fails[user_id] = 0;
			rc = write_user_fails(t, user_id);
		}
		t->global_fails = 0;
		t->pending = 0;
		t->last_fail = prev_fail;
		if (!rc)
			rc = write_throttle(t);
		if (rc) {
			/* open() settles it as a failure; deny, to be safe */
			tpm_fail(v, "settle a success", rc);
			ret = -EIO;
		}
	} else {
		/* a denial, or an error after the count: a failure */
		if (t->fails[user_id] < UINT8_MAX)
			t->fails[user_id]++;
		rc = write_user_fails(t, user_id);
		if (!rc) {
			t->pending = 0;
			rc = write_throttle(t);
		}
		if (rc && ret >= 0) {
			tpm_fail(v, "settle a failure", rc);
			ret = -EIO;
		}
		*retry_after_ms = retry_after(t, user_id, now);
	}
	return ret;
}

/* True for "user-UUU.obj" with UUU in 001..999. */
static bool is_user_file(const char *n)
{
	return strlen(n) == 12 && !strncmp(n, "user-", 5) &&
	       n[5] >= '0' && n[5] <= '9' && n[6] >= '0' && n[6] <= '9' &&
	       n[7] >= '0' && n[7] <= '9' && !strcmp(n + 8, ".obj") &&
	       strncmp(n + 5, "000", 3);
}

static int tpm_provisioned(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	struct dirent *de;
	DIR *d;
	int fd, found = 0;

	fd = openat(t->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys_fail(v, "state directory", errno);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sys_fail(v, "state directory", errno);
	}
	while (!found && (de = readdir(d)))
		found = is_user_file(de->d_name);
	closedir(d);
	return found;
}

const struct vault_ops vault_tpm_ops = {
	.name = "tpm",
	.open = tpm_open,
	.close = tpm_close,
	.enrol = tpm_enrol,
	.verify = tpm_verify,
	.throttle = tpm_throttle,
	.provisioned = tpm_provisioned,
};
