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

struct tpm_vault {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR primary;
	TPM2B_DIGEST policy;	/* PolicyAuthValue digest */
	int dirfd;
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

/* TPM2_RC_AUTH_FAIL and friends carry a handle/session number: strip it. */
static TSS2_RC rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
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

static int tpm_verify(struct vault *v, unsigned int user_id, const char *code,
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

	v->errmsg[0] = '\0';
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX ||
	    !safelock_code_valid(code, len)) {
		snprintf(v->errmsg, sizeof(v->errmsg), "malformed user or code");
		return VAULT_DENIED;
	}
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
	.provisioned = tpm_provisioned,
};
