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
 *    0 for none, 0xffff for a try counted by prepare() whose user is not
 *    known yet), and the TPM clock of the last failure.
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
 *   4. SETTLE, after the verdict is sent (finish()). Failure:
 *      FAILS_NV[user] + 1, then pending = 0. Success: FAILS_NV[user] = 0
 *      (if it was not), then global = 0, pending = 0, last failure
 *      restored. A cut between the two writes of a failure counts the try
 *      twice, never zero times. A cut between the verdict and the settle
 *      leaves the try pending: open() counts it as a failure, even after a
 *      GRANTED (the owner loses a free try, an attacker gains nothing), so
 *      the settle and the flushes wait until the verdict is out.
 *
 * What a person waits for is the TPM work after ENTER (each command tens of
 * ms, a salted session start several times that). The kernel's ENTRY_BEGIN,
 * at the first key of an entry, lets prepare() do steps 1-2 and the session
 * start + PolicyAuthValue of step 3 while the person types: ReadClock, the
 * global delay (the user is unknown), the COUNT with pending = 0xffff, and
 * the salted policy session. At ENTER (verify() with the same request id)
 * only the user's own delay (on the prepared clock plus the monotonic time
 * since: no ReadClock), Load and Unseal remain: 2 TPM commands before the
 * verdict instead of 6, and for a denial a third, FAILS_NV[user] + 1 (NV
 * still says pending = 0xffff, which a power cut would settle on the
 * global count only: the user's count must be in NV before anyone learns
 * the verdict, or cutting power after each denial would keep it from
 * growing toward the hard limit). Then:
 *  - a VERIFY with another id, or none (prepare() is optional): the stale
 *    preparation is rolled back and verify() does all of it as above;
 *  - no VERIFY within VAULT_PREPARE_TTL_MS, an entry cancelled, a VERIFY
 *    refused unchecked (malformed, in the user's delay, past its
 *    deadline): ROLLBACK, one NV write putting global failures and last
 *    failure back as they were. Safe because no code was checked for it;
 *    if the write is lost the try stays counted;
 *  - power cut, crash or close() while prepared: open() finds pending =
 *    0xffff and keeps the global count (a failure, as today). If no user
 *    was typed yet there is no user's count to raise; once a denial is
 *    out, the user's count is already in NV (above).
 * One preparation at a time: a new ENTRY_BEGIN rolls back the old one.
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
#include <time.h>
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
	uint64_t (*test_monotonic_ms)(void);
	struct vault *v;		/* for v->commands */
	/* prepare(): one try counted ahead of its VERIFY */
	uint64_t prep_id;		/* its request id; 0: none */
	uint64_t prep_mono;		/* monotonic ms when prepared */
	uint64_t prep_clock;		/* TPM clock then */
	unsigned int prep_global;	/* global failures before the count */
	uint64_t prep_last_fail;	/* last failure before the count */
	ESYS_TR prep_session;		/* policy session, PolicyAuthValue done */
	/* left by verify() for finish(), after the verdict */
	ESYS_TR after_obj, after_session;	/* to flush */
	bool after_rollback;		/* the prepared count, unchecked */
	bool after_due;			/* settle after_user in NV */
	bool after_granted;
	bool after_user_write;		/* FAILS_NV[after_user] changed */
	unsigned int after_user;
	unsigned int after_global;	/* counted state, before a success */
	uint64_t after_last_fail;
};

/* pending: a try counted by prepare(), whose user is not known yet */
#define PENDING_UNKNOWN		0xffff

/* Count one TPM command: TPM_CMD(t, Esys_Foo(t->ctx, ...)) */
#define TPM_CMD(t, fn)		((t)->v->commands++, fn)

static uint64_t mono_ms(const struct tpm_vault *t)
{
	struct timespec ts;

	if (t->test_monotonic_ms)
		return t->test_monotonic_ms();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
		TPM_CMD(t, Esys_FlushContext(t->ctx, *h));
	*h = ESYS_TR_NONE;
}

/* A session salted with the primary; @attrs adds ENCRYPT and/or DECRYPT. */
static TSS2_RC start_session(struct tpm_vault *t, TPM2_SE type,
			     TPMA_SESSION attrs, ESYS_TR *s)
{
	TSS2_RC rc;

	*s = ESYS_TR_NONE;
	rc = TPM_CMD(t, Esys_StartAuthSession(t->ctx, t->primary, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, type, &session_sym, TPM2_ALG_SHA256, s));
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

	rc = TPM_CMD(t, Esys_StartAuthSession(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, &s));
	if (rc)
		return rc;
	rc = TPM_CMD(t, Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE));
	if (!rc)
		rc = TPM_CMD(t, Esys_PolicyGetDigest(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, &d));
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
		rc = TPM_CMD(t, Esys_NV_Write(t->ctx, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, &data, off));
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
		rc = TPM_CMD(t, Esys_NV_Read(t->ctx, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				  ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)n, off,
				  &data));
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

	rc = TPM_CMD(t, Esys_ReadClock(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    &ti));
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

	rc = TPM_CMD(t, Esys_TR_FromTPMPublic(t->ctx, handle, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, nv));
	if (rc == 0) {
		rc = TPM_CMD(t, Esys_NV_ReadPublic(t->ctx, *nv, ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, &pub, NULL));
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
	rc = TPM_CMD(t, Esys_NV_DefineSpace(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &empty, &info, nv));
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
	rc = TPM_CMD(t, Esys_DictionaryAttackParameters(t->ctx, ESYS_TR_RH_LOCKOUT,
					     ESYS_TR_PASSWORD, ESYS_TR_NONE,
					     ESYS_TR_NONE, DA_MAX_TRIES,
					     DA_RECOVERY_S,
					     DA_LOCKOUT_RECOVERY_S));
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
	if (t->pending > SAFELOCK_USER_ID_MAX && t->pending != PENDING_UNKNOWN) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "damaged throttling state");
		return -EBADMSG;
	}
	if (t->pending) {
		/*
		 * Counted before a check that never finished: a failure.
		 * Counted by prepare() (user unknown): the global count
		 * keeps it; no user's count can.
		 */
		rc = 0;
		if (t->pending != PENDING_UNKNOWN) {
			if (t->fails[t->pending] < UINT8_MAX)
				t->fails[t->pending]++;
			rc = write_user_fails(t, t->pending);
		}
		t->pending = 0;
		if (!rc)
			rc = write_throttle(t);
		if (rc)
			return tpm_fail(v, "settle an unfinished try", rc);
	}
	return 0;
}

static int tpm_finish(struct vault *v);

/* Time left at @now of a delay @d counted from @last (ms), or DISABLED. */
static unsigned int time_left(uint64_t d, uint64_t last, uint64_t now)
{
	/* the clock may go back a little after a power loss: wait longer */
	uint64_t elapsed = now > last ? now - last : 0;

	if (d >= VAULT_RETRY_DISABLED)
		return VAULT_RETRY_DISABLED;
	if (elapsed >= d)
		return 0;
	/* d < UINT32_MAX */
	return (unsigned int)(d - elapsed);
}

/*
 * Time left before a user with @user_fails may try at @now (ms), given
 * @global_fails and the @last_fail of any user; VAULT_RETRY_DISABLED.
 */
static unsigned int retry_after(unsigned int user_fails,
				unsigned int global_fails, uint64_t last_fail,
				uint64_t now)
{
	uint64_t du = vault_schedule_delay_ms(user_fails);
	uint64_t dg = vault_schedule_delay_ms(global_fails);

	return time_left(du > dg ? du : dg, last_fail, now);
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
	tpm_finish(v);
	rc = read_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	st->user_failures = t->fails[user_id];
	st->global_failures = t->global_fails;
	st->retry_after_ms = retry_after(t->fails[user_id], t->global_fails,
					 t->last_fail, now);
	return 0;
}

static void tpm_close(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t)
		return;
	if (t->ctx) {
		/*
		 * No settling here (the verifier runs finish() after each
		 * verdict): a preparation or an unsettled try stays counted,
		 * as after a power cut.
		 */
		flush(t, &t->after_obj);
		flush(t, &t->after_session);
		flush(t, &t->prep_session);
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
	t->test_monotonic_ms = cfg->test_monotonic_ms;
	t->v = v;
	t->prep_session = ESYS_TR_NONE;
	t->after_obj = ESYS_TR_NONE;
	t->after_session = ESYS_TR_NONE;
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
	rc = TPM_CMD(t, Esys_CreatePrimary(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				&primary_template, &outside, &pcrs, &t->primary,
				NULL, NULL, NULL, NULL));
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
	tpm_finish(v);
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
	rc = TPM_CMD(t, Esys_GetRandom(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    VAULT_SEAL_SIZE, &rnd));
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
	rc = TPM_CMD(t, Esys_Create(t->ctx, t->primary, s, ESYS_TR_NONE, ESYS_TR_NONE,
			 &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL,
			 NULL));
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
static void decoy(struct tpm_vault *t, ESYS_TR prepared)
{
	uint64_t now;
	ESYS_TR s;

	if (prepared != ESYS_TR_NONE) {
		/* as many commands as Load + Unseal */
		TPM_CMD(t, Esys_PolicyAuthValue(t->ctx, prepared, ESYS_TR_NONE,
						 ESYS_TR_NONE, ESYS_TR_NONE));
		read_clock(t, &now);
		return;
	}
	if (start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s))
		return;
	TPM_CMD(t, Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE));
	flush(t, &s);
}

/*
 * The check itself: VAULT_GRANTED, VAULT_DENIED or -errno. @s: a policy
 * session with PolicyAuthValue done (prepared), or ESYS_TR_NONE to start
 * one. The loaded object and the session are not flushed here but left
 * in t->after_obj and t->after_session for finish(), after the verdict.
 */
static int check_code(struct vault *v, unsigned int user_id, const char *code,
		      size_t len, ESYS_TR s)
{
	static const TPM2B_AUTH empty_auth = { 0 };
	struct tpm_vault *t = v->priv;
	uint8_t salt[VAULT_SALT_SIZE];
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_PRIVATE priv;
	TPM2B_PUBLIC pub;
	TPM2B_AUTH auth = { 0 };
	ESYS_TR obj = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret;

	t->after_session = s;
	ret = read_blob(v, user_id, salt, &pub, &priv);
	if (ret == -ENOENT) {
		decoy(t, s);
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
	rc = TPM_CMD(t, Esys_Load(t->ctx, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		       ESYS_TR_NONE, &priv, &pub, &obj));
	t->after_obj = obj;
	if (rc) {
		ret = tpm_fail(v, "load sealed object", rc);
		goto out;
	}
	if (s == ESYS_TR_NONE) {
		/* ENCRYPT: the unsealed data come back encrypted */
		rc = start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s);
		t->after_session = s;
		if (rc) {
			ret = tpm_fail(v, "policy session", rc);
			goto out;
		}
		rc = TPM_CMD(t, Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE,
						      ESYS_TR_NONE, ESYS_TR_NONE));
	}
	if (!rc)
		rc = Esys_TR_SetAuth(t->ctx, obj, &auth);
	if (rc) {
		ret = tpm_fail(v, "policy", rc);
		goto out;
	}
	rc = TPM_CMD(t, Esys_Unseal(t->ctx, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, &out));
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
	safelock_wipe(&auth, sizeof(auth));
	return ret;
}

/* A settle that failed to reach NV earlier: write it now. */
static TSS2_RC catch_up(struct tpm_vault *t)
{
	TSS2_RC rc;

	if (!t->pending || t->pending == PENDING_UNKNOWN)
		return 0;
	rc = write_user_fails(t, t->pending);
	if (!rc)
		t->pending = 0;
	return rc;
}

/*
 * Roll back the prepared count: global failures and last failure as they
 * were, nothing pending. Safe because no code was checked for it. If the
 * write fails, whether it reached NV is unknown: keep it counted.
 */
static int rollback(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	unsigned int counted_global = t->global_fails;
	uint64_t counted_fail = t->last_fail;
	TSS2_RC rc;

	if (!t->prep_id)
		return 0;
	t->prep_id = 0;
	t->after_rollback = false;
	flush(t, &t->prep_session);
	t->global_fails = t->prep_global;
	t->last_fail = t->prep_last_fail;
	t->pending = 0;
	rc = write_throttle(t);
	if (rc) {
		t->global_fails = counted_global;
		t->last_fail = counted_fail;
		t->pending = PENDING_UNKNOWN;
		return tpm_fail(v, "roll back a prepared try", rc);
	}
	return 0;
}

/*
 * After the verdict: flush what the check loaded, then settle (NV writes).
 * Only safe-side work waits here: if power is lost before it is done,
 * THROTTLE_NV still says the try is counted and pending, and open()
 * settles it as a failure; a GRANTED that never got its reset costs the
 * owner a try, never the attacker. A rollback waiting here (an entry
 * prepared, then denied unchecked) likewise stays counted if lost.
 */
static int tpm_finish(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	unsigned int u;
	TSS2_RC rc = 0;

	if (!t)
		return 0;
	flush(t, &t->after_obj);
	flush(t, &t->after_session);
	if (t->after_rollback)
		return rollback(v);
	if (!t->after_due)
		return 0;
	t->after_due = false;
	u = t->after_user;
	if (t->after_user_write)
		rc = write_user_fails(t, u);
	if (!rc) {
		t->pending = 0;
		rc = write_throttle(t);
	}
	if (rc) {
		/* NV may still hold the count: be what open() would settle */
		if (t->after_granted) {
			t->global_fails = t->after_global;
			t->last_fail = t->after_last_fail;
			if (t->fails[u] < UINT8_MAX)
				t->fails[u]++;
		}
		t->pending = u;
		return tpm_fail(v, t->after_granted ? "settle a success" :
				"settle a failure", rc);
	}
	return 0;
}

/*
 * prepare(): ReadClock; in a global delay nothing more (the VERIFY is
 * denied unchecked anyway). Else COUNT, one NV write exactly like verify's
 * but with the user unknown (pending = PENDING_UNKNOWN: a power cut from
 * here on is a failure of the global count at the next open(), as today),
 * then start the salted policy session with parameter encryption and run
 * PolicyAuthValue on it (it needs neither the object nor the code).
 * Left for after ENTER: Load and Unseal.
 */
static int tpm_prepare(struct vault *v, uint64_t request_id)
{
	struct tpm_vault *t = v->priv;
	uint64_t now;
	TSS2_RC rc;
	int ret;

	v->errmsg[0] = '\0';
	ret = tpm_finish(v);
	if (ret)
		return ret;
	if (t->prep_id == request_id)
		return 0;
	ret = rollback(v);
	if (ret)
		return ret;
	if (!request_id)
		return -EINVAL;
	rc = read_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	if (time_left(vault_schedule_delay_ms(t->global_fails), t->last_fail, now))
		return 0;
	rc = catch_up(t);
	if (rc)
		return tpm_fail(v, "settle an earlier try", rc);
	t->prep_global = t->global_fails;
	t->prep_last_fail = t->last_fail;
	if (t->global_fails < UINT16_MAX)
		t->global_fails++;
	t->last_fail = now;
	t->pending = PENDING_UNKNOWN;
	rc = write_throttle(t);
	if (rc)	/* unknown whether it reached NV: keep counting it */
		return tpm_fail(v, "count a prepared try", rc);
	t->prep_id = request_id;
	t->prep_mono = mono_ms(t);
	t->prep_clock = now;
	rc = start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT,
			   &t->prep_session);
	if (!rc)
		rc = TPM_CMD(t, Esys_PolicyAuthValue(t->ctx, t->prep_session,
						      ESYS_TR_NONE, ESYS_TR_NONE,
						      ESYS_TR_NONE));
	if (rc) {
		ret = tpm_fail(v, "prepared policy session", rc);
		rollback(v);
		return ret;
	}
	return 0;
}

static int tpm_cancel(struct vault *v, uint64_t request_id)
{
	struct tpm_vault *t = v->priv;
	int ret;

	v->errmsg[0] = '\0';
	ret = tpm_finish(v);
	if (ret || !t->prep_id || (request_id && request_id != t->prep_id))
		return ret;
	return rollback(v);
}

static void tpm_expire(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	tpm_finish(v);
	if (t->prep_id && mono_ms(t) - t->prep_mono >= VAULT_PREPARE_TTL_MS)
		rollback(v);
}

/*
 * Throttle, count, check, settle: see the comment at the top.
 *
 * Unprepared: ReadClock; in a delay nothing more. Otherwise one NV write
 * before the check, Load + StartAuthSession + PolicyAuthValue + Unseal:
 * 6 TPM commands before the verdict; 2 flushes and one or two NV writes
 * after it (finish()).
 *
 * Prepared (prepare() with this request id): the clock is the prepared
 * one plus the monotonic time since (no ReadClock); the count and the
 * session are done: Load + Unseal, 2 TPM commands before a GRANTED, 3
 * before a DENIED (the user's count), then 2 flushes and one NV write.
 * A try the user's own delay refuses was counted for nothing: denied
 * unchecked, its count rolled back after the verdict.
 */
static int tpm_verify(struct vault *v, uint64_t request_id,
		      unsigned int user_id, const char *code, size_t len,
		      unsigned int *retry_after_ms)
{
	struct tpm_vault *t = v->priv;
	ESYS_TR session = ESYS_TR_NONE;
	uint64_t now, prev_fail;
	unsigned int left;
	bool prepared;
	TSS2_RC rc;
	int ret;

	*retry_after_ms = 0;
	/* an error of the last settle is in memory already, conservatively */
	tpm_finish(v);
	v->errmsg[0] = '\0';
	prepared = t->prep_id && t->prep_id == request_id;
	if (t->prep_id && !prepared)
		rollback(v);	/* a stale preparation; kept counted on error */
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX ||
	    !safelock_code_valid(code, len)) {
		snprintf(v->errmsg, sizeof(v->errmsg), "malformed user or code");
		t->after_rollback = prepared;
		return VAULT_DENIED;
	}
	if (prepared) {
		now = t->prep_clock + (mono_ms(t) - t->prep_mono);
		/* the delay as it was before this try was counted */
		left = retry_after(t->fails[user_id], t->prep_global,
				   t->prep_last_fail, now);
	} else {
		rc = read_clock(t, &now);
		if (rc)
			return tpm_fail(v, "read TPM clock", rc);
		left = retry_after(t->fails[user_id], t->global_fails,
				   t->last_fail, now);
	}
	if (left) {
		*retry_after_ms = left;
		snprintf(v->errmsg, sizeof(v->errmsg), "%s",
			 left == VAULT_RETRY_DISABLED ?
			 "code entry disabled: too many failures" :
			 "in a delay: not checked");
		t->after_rollback = prepared;
		return VAULT_DENIED;
	}

	if (prepared) {
		/* counted by prepare(): NV says pending, user unknown */
		prev_fail = t->prep_last_fail;
		session = t->prep_session;
		t->prep_session = ESYS_TR_NONE;
		t->prep_id = 0;
	} else {
		rc = catch_up(t);
		if (rc)
			return tpm_fail(v, "settle an earlier try", rc);
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
			*retry_after_ms = retry_after(t->fails[user_id],
						      t->global_fails,
						      t->last_fail, now);
			return ret;
		}
	}
	if (t->cut_after_count) {
		t->after_session = session;
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "test: power cut after the count");
		return -ECANCELED;
	}

	ret = check_code(v, user_id, code, len, session);

	/* settle in memory now, in NV after the verdict (finish()) */
	t->after_due = true;
	t->after_user = user_id;
	t->after_granted = ret == VAULT_GRANTED;
	t->after_global = t->global_fails;
	t->after_last_fail = t->last_fail;
	t->pending = user_id;
	if (ret == VAULT_GRANTED) {
		t->after_user_write = t->fails[user_id] != 0;
		t->fails[user_id] = 0;
		t->global_fails = 0;
		t->last_fail = prev_fail;
	} else {
		/* a denial, or an error after the count: a failure */
		if (t->fails[user_id] < UINT8_MAX)
			t->fails[user_id]++;
		t->after_user_write = true;
		/*
		 * Prepared, the count carried the time of the first key: the
		 * delay counts from ENTER, as unprepared (same settle write).
		 */
		t->last_fail = now;
		*retry_after_ms = retry_after(t->fails[user_id], t->global_fails,
					      t->last_fail, now);
		/*
		 * Prepared, NV says pending = 0xffff: a cut after the verdict
		 * would keep the global count but lose this user's. The user's
		 * count is written before the verdict, so whoever learns a
		 * DENIED has had it counted (1 NV write; a GRANTED needs none:
		 * its count only matters to an attacker who already won).
		 */
		if (prepared && !write_user_fails(t, user_id))
			t->after_user_write = false;
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
	.prepare = tpm_prepare,
	.cancel = tpm_cancel,
	.expire = tpm_expire,
	.verify = tpm_verify,
	.finish = tpm_finish,
	.throttle = tpm_throttle,
	.provisioned = tpm_provisioned,
};
