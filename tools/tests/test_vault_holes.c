// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault fails closed (issue 11), against swtpm through the slfault
 * TCTI (tcti_fault.c):
 *
 *  - hole 4: a deleted, truncated, edited or older vault.tab of a vault
 *    the TPM recorded as owned is DAMAGED, never EMPTY, and nothing can be
 *    enrolled over it; only a vault whose record says "no table" (new, or
 *    wiped) or "no user" is EMPTY;
 *  - hole 3: a TPM without the vault's record while vault.tab is there
 *    (swtpm state removed: a cleared TPM, a board swap), a faked "no
 *    record", a primary gone, errors at open and at a reconnection: never
 *    EMPTY;
 *  - hole 10: another key at the primary's handle (same template, other
 *    unique field) is refused: the table pins the primary's Name;
 *  - hole 7: only an opening verdict (opened()) resets the lock-wide
 *    failure count; an auditor's right code and an admin check() do not.
 *
 * Codes are random digits made at run time. SKIPs if swtpm is absent or
 * the slfault TCTI cannot be loaded.
 */
#include <dirent.h>
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

#define NTESTS	26

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct vault_result res;
static struct slfault *fault;
static char tcti[PATH_MAX * 3];
static char code[4][SAFELOCK_CODE_BUF];
static size_t len = 8;
static char tab[PATH_MAX + 32];
static uint8_t buf[1 << 20], buf2[1 << 20];

static void arm(uint32_t rc, uint32_t tcti_rc, uint32_t cc, unsigned int count)
{
	memset(fault, 0, sizeof(*fault));
	fault->cc = cc;
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

static int reopen(void)
{
	int ret;

	if (v.priv)
		v.ops->close(&v);
	ret = v.ops->open(&v, &cfg);
	if (ret)
		tap_diag("open: %d %s", ret, v.errmsg);
	return ret;
}

static const char *prov_name(int p)
{
	switch (p) {
	case SAFELOCK_VAULT_EMPTY: return "EMPTY";
	case SAFELOCK_VAULT_OWNED: return "OWNED";
	case SAFELOCK_VAULT_DAMAGED: return "DAMAGED";
	default: return p < 0 ? "-errno" : "?";
	}
}

/* provisioned() is @want (and the reason holds @needle, if given) */
static bool prov_is(int want, const char *needle)
{
	int p = v.priv ? v.ops->provisioned(&v) : -ENODEV;

	if (p == want && (!needle || strstr(v.errmsg, needle)))
		return true;
	tap_diag("provisioned: %d %s (want %s with '%s'): %s", p, prov_name(p),
		 prov_name(want), needle ? needle : "", v.errmsg);
	return false;
}

static int verify(unsigned int u, const char *c, bool opens)
{
	unsigned int ra;
	int ret = v.ops->verify(&v, 0, u, c, len, &ra, &res);

	/* as safelockd: opened() when policy_verdict() grants */
	if (ret == VAULT_GRANTED && opens && v.ops->opened)
		v.ops->opened(&v);
	v.ops->finish(&v);
	return ret;
}

static int global_count(void)
{
	struct vault_throttle st;

	if (v.ops->throttle(&v, 1, &st)) {
		tap_diag("throttle: %s", v.errmsg);
		return -1;
	}
	return (int)st.global_failures;
}

static ssize_t read_all(const char *path, uint8_t *b, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, b, max);
	close(fd);
	return n;
}

static bool write_all(const char *path, const uint8_t *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, b, n) == (ssize_t)n;
	close(fd);
	return ok;
}

/* Hole 4 ---------------------------------------------------------------- */

static void table_tests(void)
{
	ssize_t n, n2;
	bool ok;
	int ret;

	tap_ok(prov_is(SAFELOCK_VAULT_EMPTY, NULL),
	       "a new vault (no record in the TPM, no table) is EMPTY");
	ok = v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code[1], len) == 0 &&
	     v.ops->user_add(&v, 2, SAFELOCK_ROLE_USER, code[2], len) == 0 &&
	     v.ops->user_add(&v, 3, SAFELOCK_ROLE_AUDITOR, code[3], len) == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_OWNED, NULL), "an owner enrolled: OWNED");

	/* deleted */
	n = read_all(tab, buf, sizeof(buf));
	v.ops->close(&v);
	ok = n > 0 && unlink(tab) == 0 && reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_DAMAGED, "missing but the TPM recorded version"),
	       "vault.tab deleted: DAMAGED (%s), not a new lock", v.errmsg);
	ret = v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code[0], len);
	tap_ok(ret < 0 && verify(1, code[0], true) != VAULT_GRANTED,
	       "and nothing can be enrolled over it (init's user_add refused: %d)", ret);
	v.ops->close(&v);
	ok = write_all(tab, buf, (size_t)n) && reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_OWNED, NULL) &&
	       verify(1, code[1], true) == VAULT_GRANTED,
	       "vault.tab restored from a backup: OWNED, the owner opens");

	/* truncated, one byte changed, older */
	v.ops->close(&v);
	ok = write_all(tab, buf, (size_t)n - 1) && reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_DAMAGED, NULL), "vault.tab truncated by a byte: DAMAGED");
	v.ops->close(&v);
	buf[n / 2] ^= 0x01;
	ok = write_all(tab, buf, (size_t)n) && reopen() == 0;
	buf[n / 2] ^= 0x01;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_DAMAGED, NULL), "vault.tab with one bit changed: DAMAGED");
	v.ops->close(&v);
	ok = write_all(tab, buf, (size_t)n) && reopen() == 0 &&
	     v.ops->user_del(&v, 3) == 0;
	n2 = read_all(tab, buf2, sizeof(buf2));
	v.ops->close(&v);
	ok = ok && n2 > 0 && write_all(tab, buf, (size_t)n) && reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_DAMAGED, "older"),
	       "an older vault.tab (a deleted user still in it): DAMAGED");
	v.ops->close(&v);
	ok = write_all(tab, buf2, (size_t)n2) && reopen() == 0 &&
	     v.ops->user_add(&v, 3, SAFELOCK_ROLE_AUDITOR, code[3], len) == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_OWNED, NULL), "the newest table back: OWNED");
}

/* Hole 7 ---------------------------------------------------------------- */

static void count_tests(void)
{
	char w[SAFELOCK_CODE_BUF];
	unsigned int ra;
	int i, g1, g2, g3;
	bool ok = true;

	sw_wrong_of(code[2], len, w, 0);
	for (i = 0; i < 3; i++)
		ok &= verify(2, w, true) == VAULT_DENIED;
	ok &= verify(3, code[3], false) == VAULT_DENIED && res.role == SAFELOCK_ROLE_AUDITOR;
	g1 = global_count();
	tap_ok(ok && g1 == 3,
	       "3 wrong codes, then an auditor's right code: the lock-wide count is still 3 (%d)", g1);
	ok = v.ops->check(&v, 1, code[1], len, &ra, &res) == VAULT_GRANTED;
	g2 = global_count();
	tap_ok(ok && g2 == 3, "the owner's right code in an admin check(): still 3 (%d)", g2);
	ok = verify(2, code[2], true) == VAULT_GRANTED;
	g3 = global_count();
	tap_ok(ok && g3 == 0, "a right code whose verdict opens (opened()): 0 (%d)", g3);
	safelock_wipe(w, sizeof(w));
}

/* Hole 3 ---------------------------------------------------------------- */

static bool copy_file(const char *from, const char *to)
{
	ssize_t n = read_all(from, buf2, sizeof(buf2));

	return n >= 0 && write_all(to, buf2, (size_t)n);
}

/* Move every file of swtpm's state to @to (mkdir'ed) and back. */
static bool move_state(const char *from, const char *to)
{
	char a[PATH_MAX + 300], b[PATH_MAX + 300];
	struct dirent *de;
	DIR *d = opendir(from);
	bool ok = true;

	if (!d)
		return false;
	mkdir(to, 0700);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		ok &= copy_file(a, b) && unlink(a) == 0;
	}
	closedir(d);
	return ok;
}

static void start_tests(void)
{
	char saved[PATH_MAX + 32];
	bool ok;
	int ret;

	/* swtpm's state removed, the table kept: another TPM, or cleared */
	snprintf(saved, sizeof(saved), "%s/tpm-saved", sw.dir);
	v.ops->close(&v);
	ok = sw_stop(&sw) && move_state(sw.tpmdir, saved) && sw_start(&sw) &&
	     reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_DAMAGED, "no record"),
	       "swtpm's state removed, vault.tab kept: DAMAGED (%s)", v.errmsg);
	ret = v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code[0], len);
	tap_ok(ret < 0, "and no owner can be enrolled over it (%d)", ret);
	v.ops->close(&v);
	ok = sw_stop(&sw) && move_state(saved, sw.tpmdir) && sw_start(&sw) &&
	     reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_OWNED, NULL) &&
	       verify(1, code[1], true) == VAULT_GRANTED,
	       "the TPM's state back: OWNED, the owner opens");

	/* a record read that says "never written" */
	v.ops->close(&v);
	arm(TPM2_RC_NV_UNINITIALIZED, 0, TPM2_CC_NV_Read, 1);
	ret = reopen();
	disarm();
	tap_ok(ret == 0 && prov_is(SAFELOCK_VAULT_DAMAGED, NULL),
	       "the record's read answered NV_UNINITIALIZED (faked), vault.tab there: DAMAGED");

	/* errors at open: no vault, never an empty one */
	v.ops->close(&v);
	arm(TPM2_RC_RETRY, 0, TPM2_CC_NV_Read, UINT_MAX);
	ret = v.ops->open(&v, &cfg);
	disarm();
	tap_ok(ret < 0 && !v.priv && v.errmsg[0],
	       "TPM_RC_RETRY that persists at open: open fails with a reason (%s)", v.errmsg);
	arm(0, TSS2_TCTI_RC_IO_ERROR, 0, UINT_MAX);
	ret = v.ops->open(&v, &cfg);
	disarm();
	tap_ok(ret < 0 && !v.priv, "the TPM gone at open: open fails (%d)", ret);
	/* errors at a reconnection, once open */
	ok = reopen() == 0;
	arm(0, TSS2_TCTI_RC_IO_ERROR, TPM2_CC_Unseal, 1);
	ok &= verify(1, code[1], true) < 0;	/* the connection is lost */
	arm(TPM2_RC_RETRY, 0, TPM2_CC_NV_Read, UINT_MAX);
	ret = v.ops->provisioned(&v);
	disarm();
	tap_ok(ok && ret < 0 && ret != SAFELOCK_VAULT_EMPTY,
	       "a reconnection that fails: provisioned() is -errno, for the caller DAMAGED, never EMPTY (%d: %s)",
	       ret, v.errmsg);
	tap_ok(prov_is(SAFELOCK_VAULT_OWNED, NULL), "the TPM answers again: OWNED");
}

/* Hole 10 --------------------------------------------------------------- */

/* Another key at the primary's handle: same template, another unique. */
static bool swap_primary(void)
{
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
					    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
			.parameters.eccDetail = {
				.symmetric = { .algorithm = TPM2_ALG_AES,
					       .keyBits.aes = 128,
					       .mode.aes = TPM2_ALG_CFB },
				.scheme.scheme = TPM2_ALG_NULL,
				.curveID = TPM2_ECC_NIST_P256,
				.kdf.scheme = TPM2_ALG_NULL,
			},
		},
	};
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(&sw, &t);
	ESYS_TR h, tr, out;
	bool ok;

	tmpl.publicArea.unique.ecc.x.size = 32;
	tmpl.publicArea.unique.ecc.y.size = 32;
	ok = ctx && getrandom(tmpl.publicArea.unique.ecc.x.buffer, 32, 0) == 32 &&
	     !Esys_TR_FromTPMPublic(ctx, PRIMARY_HANDLE, ESYS_TR_NONE,
				    ESYS_TR_NONE, ESYS_TR_NONE, &h) &&
	     !Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, PRIMARY_HANDLE, &out) &&
	     !Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
				 &outside, &pcrs, &tr, NULL, NULL, NULL, NULL) &&
	     !Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, PRIMARY_HANDLE, &out);
	if (ctx && ok)
		Esys_FlushContext(ctx, tr);
	sw_esys_close(&ctx, &t);
	return ok;
}

static void primary_tests(void)
{
	bool ok;
	int ret;

	v.ops->close(&v);
	ok = swap_primary();
	ret = ok ? v.ops->open(&v, &cfg) : -1;
	tap_ok(ok && ret == 0 &&
	       prov_is(SAFELOCK_VAULT_DAMAGED, "not the one recorded at init"),
	       "another key at 0x%08x (same template, another unique): refused, DAMAGED (%s)",
	       PRIMARY_HANDLE, v.errmsg);
	ret = v.priv ? verify(1, code[1], true) : VAULT_GRANTED;
	tap_ok(ret < 0 && v.ops->user_add(&v, 4, SAFELOCK_ROLE_USER, code[0], len) < 0,
	       "nothing verifies (%d) and nothing is sealed under it", ret);
	ok = v.priv && v.ops->wipe(&v) == 0 && prov_is(SAFELOCK_VAULT_EMPTY, NULL) &&
	     v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code[1], len) == 0 &&
	     reopen() == 0 && prov_is(SAFELOCK_VAULT_OWNED, NULL) &&
	     verify(1, code[1], true) == VAULT_GRANTED;
	tap_ok(ok, "a wipe makes it EMPTY; a new owner's vault pins the new primary and opens after a restart");
}

/* After a wipe the record means empty; a table of no user is not an owner's. */
static void empty_tests(void)
{
	uint8_t id[16] = { 7 }, key[32];
	bool ok;

	ok = v.ops->wipe(&v) == 0 && reopen() == 0 &&
	     v.ops->audit_key(&v, id, key) == 0 && access(tab, F_OK) == 0;
	v.ops->close(&v);
	ok = ok && unlink(tab) == 0 && reopen() == 0;
	tap_ok(ok && prov_is(SAFELOCK_VAULT_EMPTY, NULL) &&
	       v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code[1], len) == 0,
	       "wiped, then a table of no user (the audit key) deleted: EMPTY, an owner can be enrolled");
	safelock_wipe(key, sizeof(key));
}

/* The slfault TCTI beside this program: tools/tests/ */
static bool load_fault(void)
{
	fault = slfault_load(sw.tcti, tcti, sizeof(tcti));
	return fault != NULL;
}

int main(void)
{
	int i;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault holes", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "vault-holes")) {
		perror("mkdtemp");
		return 1;
	}
	if (!load_fault()) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault holes", "the slfault TCTI did not load");
		sw_cleanup(&sw);
		return tap_exit();
	}
	cfg.tcti = tcti;
	cfg.state_dir = sw.statedir;
	snprintf(tab, sizeof(tab), "%s/vault.tab", sw.statedir);
	for (i = 0; i < 4; i++) {
		do
			sw_random_code(code[i], len);
		while (i && !strcmp(code[i], code[i - 1]));
	}
	if (!tap_ok(sw_start(&sw) && reopen() == 0, "swtpm starts, the vault opens")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault holes", "no vault");
		goto out;
	}
	table_tests();
	count_tests();
	start_tests();
	primary_tests();
	empty_tests();
	v.ops->close(&v);
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	for (i = 0; i < 4; i++)
		safelock_wipe(code[i], sizeof(code[i]));
	sw_cleanup(&sw);
	return tap_exit();
}
