// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault's users, roles, duress codes, lifecycle, policy and audit
 * operations against swtpm, and what a copy or an edit of its state
 * directory can and cannot do:
 *
 *  - the persisted primary: found again at each start (not recreated),
 *    a foreign key at its handle refused and left alone, the start time;
 *  - 120 users of every role enrolled and checked, right and wrong codes
 *    for every role, auditors never open, role changes, deletion, code
 *    changes, and the TPM commands left after ENTER;
 *  - duress codes: distinct from the code, GRANTED with duress set, a
 *    wrong code counted once by the schedule, the DA cost;
 *  - a flash edit that promotes a user and an older copy of the state
 *    directory are refused; a copy gives no offline check;
 *  - the recovery secret: format, right, wrong, throttled on its own,
 *    lifting the lock-wide disable;
 *  - policy store, load and rejection; audit key and anchor;
 *  - wipe, idempotent, and resumed after a cut.
 *
 * Codes are random digits made at run time. SKIPs if swtpm is absent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "libsafelock.h"
#include "../safelockd/vault.h"
#include "../safelockd/vault_tpm.h"
#include "swtpm.h"
#include "tap.h"

#define NTESTS		56
#define NUSERS		120

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct vault_result res;
static char codes[NUSERS + 1][SAFELOCK_CODE_BUF];
static size_t lens[NUSERS + 1];
static enum safelock_role roles[NUSERS + 1];

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

/* The vault closed, a look at the TPM, the vault open again. */
static bool tpm_look(TPM2_PT prop, UINT32 *val)
{
	bool ok;

	v.ops->close(&v);
	ok = sw_props(&sw, prop, 1, val);
	return reopen() && ok;
}

static bool da_counter(UINT32 *n)
{
	return tpm_look(TPM2_PT_LOCKOUT_COUNTER, n);
}

static int verify_as(unsigned int u, const char *code, size_t len,
		     unsigned int *ra)
{
	int ret = v.ops->verify(&v, 0, u, code, len, ra, &res);

	/* as safelockd with courier_override: every GRANTED opens */
	if (ret == VAULT_GRANTED)
		v.ops->opened(&v);

	v.ops->finish(&v);
	return ret;
}

static bool counts(unsigned int user, unsigned int uf, unsigned int gf)
{
	struct vault_throttle st;

	if (v.ops->throttle(&v, user, &st)) {
		tap_diag("throttle: %s", v.errmsg);
		return false;
	}
	if (st.user_failures == uf && st.global_failures == gf)
		return true;
	tap_diag("user %u: %u failures (want %u), global %u (want %u)", user,
		 st.user_failures, uf, st.global_failures, gf);
	return false;
}

/* The persistent primary's public key, read by the test itself. */
static bool primary_pub(const struct swtpm *s, TPM2B_PUBLIC *out)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(s, &t);
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR h;
	bool ok = false;

	if (ctx && !Esys_TR_FromTPMPublic(ctx, PRIMARY_HANDLE, ESYS_TR_NONE,
					  ESYS_TR_NONE, ESYS_TR_NONE, &h) &&
	    !Esys_ReadPublic(ctx, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			     &pub, NULL, NULL)) {
		*out = *pub;
		ok = true;
	}
	Esys_Free(pub);
	sw_esys_close(&ctx, &t);
	return ok;
}

/* How many of the vault's handles (primary, 4 NV indices) exist now. */
static int handles_present(void)
{
	static const TPM2_HANDLE h[] = { PRIMARY_HANDLE, THROTTLE_NV, FAILS_NV,
					 STATE_NV, ANCHOR_NV };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = sw_esys(&sw, &t);
	int i, n = 0;
	ESYS_TR tr;

	if (!ctx)
		return -1;
	for (i = 0; i < (int)(sizeof(h) / sizeof(h[0])); i++)
		if (!Esys_TR_FromTPMPublic(ctx, h[i], ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &tr)) {
			n++;
			Esys_TR_Close(ctx, &tr);
		}
	sw_esys_close(&ctx, &t);
	return n;
}

static int files_in(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static ssize_t read_all(const char *path, uint8_t *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, max);
	close(fd);
	return n;
}

static bool write_all(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, buf, len) == (ssize_t)len;
	close(fd);
	return ok;
}

static bool copy_dir(const char *from, const char *to)
{
	char a[PATH_MAX + 300], b[PATH_MAX + 300];
	static uint8_t buf[1 << 21];
	struct dirent *de;
	DIR *d = opendir(from);
	ssize_t n;
	bool ok = true;

	if (!d)
		return false;
	mkdir(to, 0700);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		n = read_all(a, buf, sizeof(buf));
		ok &= n >= 0 && write_all(b, buf, (size_t)n);
	}
	closedir(d);
	return ok;
}

/* Replace the state directory's files by those of @from. */
static bool restore_dir(const char *from)
{
	char p[PATH_MAX + 300];
	struct dirent *de;
	DIR *d = opendir(sw.statedir);

	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", sw.statedir, de->d_name);
		unlink(p);
	}
	closedir(d);
	return copy_dir(from, sw.statedir);
}

/* The test hook: cut the TPM's power at @cut_at, left off if !cut_restart */
static const char *cut_at;
static bool cut_restart, cut_done;

static void cut_hook(const char *where)
{
	if (!cut_at || strcmp(where, cut_at))
		return;
	cut_at = NULL;
	cut_done = sw_kill(&sw, cut_restart);
}

/* Persisted primary ---------------------------------------------------- */

static void primary_tests(void)
{
	TPM2B_PUBLIC a, b;
	struct swtpm other = { 0 };
	struct vault_config oc;
	struct vault ov = { .ops = &vault_tpm_ops };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			/* no NODA: not ours */
			.objectAttributes = TPMA_OBJECT_FIXEDTPM |
					    TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_RESTRICTED |
					    TPMA_OBJECT_DECRYPT,
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
	uint64_t opens[20] = { 0 }, t0;
	unsigned long cmds = 0, c;
	ESYS_TR tr, per;
	bool ok;
	int i, ret;

	v.ops->close(&v);
	ok = primary_pub(&sw, &a);
	tap_ok(ok && a.publicArea.type == TPM2_ALG_ECC &&
	       (a.publicArea.objectAttributes & TPMA_OBJECT_NODA),
	       "the storage primary is persistent at 0x%08x (ECC, NODA)",
	       PRIMARY_HANDLE);
	ok = ok && reopen();
	v.ops->close(&v);
	ok = ok && sw_stop(&sw) && sw_start(&sw) && primary_pub(&sw, &b);
	tap_ok(ok && !memcmp(&a, &b, sizeof(a)),
	       "after a restart of the vault and of the TPM it is the same key, not a new one");
	for (i = 0; ok && i < 20; i++) {
		c = v.commands;
		t0 = sw_now_us();
		ok = v.ops->open(&v, &cfg) == 0;
		opens[i] = sw_now_us() - t0;
		cmds = v.commands - c;
		v.ops->close(&v);
	}
	for (i = 1; i < 20; i++) {	/* sort for the median */
		uint64_t k = opens[i];
		int j = i;

		for (; j > 0 && opens[j - 1] > k; j--)
			opens[j] = opens[j - 1];
		opens[j] = k;
	}
	tap_ok(ok && cmds <= 10,
	       "start: open() median %.2f ms, %lu TPM commands (no CreatePrimary, no trial policy session)",
	       opens[10] / 1000.0, cmds);

	/* another TPM with a key of its own at our handle */
	ok = sw_init(&other, "vault-other") && sw_start(&other);
	ctx = ok ? sw_esys(&other, &t) : NULL;
	ok = ctx && !Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
					&outside, &pcrs, &tr, NULL, NULL, NULL,
					NULL) &&
	     !Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, PRIMARY_HANDLE, &per);
	sw_esys_close(&ctx, &t);
	oc = cfg;
	oc.tcti = other.tcti;
	oc.state_dir = other.statedir;
	ret = ok ? ov.ops->open(&ov, &oc) : 0;
	if (!tap_ok(ret == -EEXIST && strstr(ov.errmsg, "not safelock's") &&
		    primary_pub(&other, &b) &&
		    !(b.publicArea.objectAttributes & TPMA_OBJECT_NODA),
		    "a foreign key at 0x%08x is refused with a reason, and left in place",
		    PRIMARY_HANDLE))
		tap_diag("open: %d %s", ret, ov.errmsg);
	if (ov.priv)
		ov.ops->close(&ov);
	sw_cleanup(&other);
	reopen();
}

/* Users and roles ------------------------------------------------------ */

static enum safelock_role role_of(unsigned int u)
{
	static const enum safelock_role cycle[] = {
		SAFELOCK_ROLE_MANAGER, SAFELOCK_ROLE_USER,
		SAFELOCK_ROLE_AUDITOR, SAFELOCK_ROLE_COURIER,
	};

	return u == 1 ? SAFELOCK_ROLE_OWNER : cycle[u % 4];
}

/* One user of each role: its id */
static unsigned int of_role(enum safelock_role r)
{
	unsigned int u;

	for (u = 1; u <= NUSERS; u++)
		if (roles[u] == r)
			return u;
	return 0;
}

static void user_tests(void)
{
	static struct vault_user list[SAFELOCK_ADMIN_USERS_MAX];
	char w[SAFELOCK_CODE_BUF];
	unsigned int u, ra, granted = 0, r;
	uint64_t t0, t_add, t_check;
	unsigned long c, c_right = 0, c_wrong = 0;
	size_t n = 0;
	bool ok = true;
	int ret;

	t0 = sw_now_us();
	for (u = 1; u <= NUSERS && ok; u++) {
		lens[u] = SAFELOCK_CODE_MIN_DIGITS + u % 7;
		sw_random_code(codes[u], lens[u]);
		roles[u] = role_of(u);
		ret = v.ops->user_add(&v, u, roles[u], codes[u], lens[u]);
		if (ret)
			tap_diag("user_add %u: %d %s", u, ret, v.errmsg);
		ok = !ret;
	}
	t_add = sw_now_us() - t0;
	ok = ok && !v.ops->user_list(&v, list, SAFELOCK_ADMIN_USERS_MAX, &n) &&
	     n == NUSERS;
	for (u = 0; ok && u < n; u++)
		ok = list[u].user_id == u + 1 && list[u].role == roles[u + 1] &&
		     !list[u].has_duress;
	tap_ok(ok, "%d users of every role enrolled in %.1f s; user_list sorted with their roles",
	       NUSERS, t_add / 1e6);

	/* every user's right code at the keypad */
	t0 = sw_now_us();
	ok = true;
	for (u = 1; u <= NUSERS; u++) {
		ret = verify_as(u, codes[u], lens[u], &ra);
		if (roles[u] == SAFELOCK_ROLE_AUDITOR)
			ok &= ret == VAULT_DENIED && res.role == SAFELOCK_ROLE_AUDITOR;
		else
			ok &= ret == VAULT_GRANTED && res.role == roles[u];
		ok &= !res.duress;
		granted += ret == VAULT_GRANTED;
	}
	t_check = sw_now_us() - t0;
	tap_ok(ok && counts(1, 0, 0),
	       "each of the %d right codes verified with its role (%u granted, auditors denied) in %.1f s",
	       NUSERS, granted, t_check / 1e6);
	tap_ok(verify_as(of_role(SAFELOCK_ROLE_AUDITOR),
			 codes[of_role(SAFELOCK_ROLE_AUDITOR)],
			 lens[of_role(SAFELOCK_ROLE_AUDITOR)], &ra) == VAULT_DENIED &&
	       counts(of_role(SAFELOCK_ROLE_AUDITOR), 0, 0),
	       "an auditor's right code never opens and is not counted as a failure");

	/* check(): every role, the auditor granted */
	ok = true;
	for (r = SAFELOCK_ROLE_OWNER; r < SAFELOCK_ROLE_MAX; r++) {
		u = of_role((enum safelock_role)r);
		ret = v.ops->check(&v, u, codes[u], lens[u], &ra, &res);
		ok &= ret == VAULT_GRANTED && res.role == r;
	}
	tap_ok(ok, "check(): the right code of each role is granted with its role, the auditor's too");

	/* a wrong code for each role */
	ok = true;
	for (r = SAFELOCK_ROLE_OWNER; r < SAFELOCK_ROLE_MAX; r++) {
		u = of_role((enum safelock_role)r);
		sw_wrong_of(codes[u], lens[u], w, r);
		ok &= verify_as(u, w, lens[u], &ra) == VAULT_DENIED &&
		      res.role == SAFELOCK_ROLE_NONE && counts(u, 1, 1);
		/* an auditor's right code opens nothing: its own count only */
		ok &= verify_as(u, codes[u], lens[u], &ra) ==
		      (r == SAFELOCK_ROLE_AUDITOR ? VAULT_DENIED : VAULT_GRANTED) &&
		      counts(u, 0, r == SAFELOCK_ROLE_AUDITOR ? 1 : 0);
		if (r == SAFELOCK_ROLE_AUDITOR)
			ok &= verify_as(1, codes[1], lens[1], &ra) == VAULT_GRANTED &&
			      counts(u, 0, 0);
	}
	/* check() counts exactly the same way (one role: each costs a DA failure) */
	u = of_role(SAFELOCK_ROLE_AUDITOR);
	sw_wrong_of(codes[u], lens[u], w, 0);
	ok &= v.ops->check(&v, u, w, lens[u], &ra, &res) == VAULT_DENIED &&
	      counts(u, 1, 1);
	/* a right code in check() opens nothing: the lock-wide count stays */
	ok &= v.ops->check(&v, u, codes[u], lens[u], &ra, &res) ==
	      VAULT_GRANTED && counts(u, 0, 1);
	ok &= verify_as(1, codes[1], lens[1], &ra) == VAULT_GRANTED && counts(u, 0, 0);
	tap_ok(ok, "a wrong code of each role is denied and counted, at the keypad and by check(); the right one resets the user's count, and only an opening one the lock-wide count");

	/* TPM commands after ENTER: the role costs none */
	u = of_role(SAFELOCK_ROLE_MANAGER);
	sw_wrong_of(codes[u], lens[u], w, 0);
	ok = !v.ops->prepare(&v, 7001);
	ok &= !v.ops->prepare_user(&v, 7001, u);
	c = v.commands;
	ok &= v.ops->verify(&v, 7001, u, codes[u], lens[u], &ra, &res) ==
	      VAULT_GRANTED && res.role == SAFELOCK_ROLE_MANAGER;
	c_right = v.commands - c;
	v.ops->finish(&v);
	ok &= !v.ops->prepare(&v, 7002);
	ok &= !v.ops->prepare_user(&v, 7002, u);
	c = v.commands;
	ok &= v.ops->verify(&v, 7002, u, w, lens[u], &ra, &res) == VAULT_DENIED;
	c_wrong = v.commands - c;
	v.ops->finish(&v);
	ok &= verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED;
	tap_ok(ok && c_right == 1 && c_wrong == 1,
	       "with roles, prepared: %lu TPM commands after ENTER for a right code, %lu for a wrong one",
	       c_right, c_wrong);

	tap_ok(v.ops->user_add(&v, 5, SAFELOCK_ROLE_USER, codes[5], lens[5]) == -EEXIST &&
	       v.ops->user_add(&v, 500, SAFELOCK_ROLE_OWNER, codes[5], lens[5]) == -EINVAL &&
	       v.ops->user_add(&v, 500, SAFELOCK_ROLE_NONE, codes[5], lens[5]) == -EINVAL &&
	       v.ops->user_add(&v, 500, SAFELOCK_ROLE_MAX, codes[5], lens[5]) == -EINVAL &&
	       v.ops->user_add(&v, 0, SAFELOCK_ROLE_USER, codes[5], lens[5]) == -EINVAL &&
	       v.ops->user_add(&v, 1000, SAFELOCK_ROLE_USER, codes[5], lens[5]) == -EINVAL &&
	       v.ops->user_add(&v, 500, SAFELOCK_ROLE_USER, "12345", 5) == -EINVAL &&
	       v.ops->user_add(&v, 500, SAFELOCK_ROLE_USER, "12345x", 6) == -EINVAL &&
	       v.ops->user_list(&v, list, SAFELOCK_ADMIN_USERS_MAX, &n) == 0 &&
	       n == NUSERS,
	       "user_add refuses an existing user, a second owner, bad roles, ids and codes; nothing changes");

	/* roles change; the owner's never */
	u = of_role(SAFELOCK_ROLE_USER);
	ok = v.ops->user_set_role(&v, u, SAFELOCK_ROLE_MANAGER) == 0 &&
	     v.ops->check(&v, u, codes[u], lens[u], &ra, &res) == VAULT_GRANTED &&
	     res.role == SAFELOCK_ROLE_MANAGER &&
	     reopen() &&
	     verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED &&
	     res.role == SAFELOCK_ROLE_MANAGER &&
	     v.ops->user_set_role(&v, u, SAFELOCK_ROLE_USER) == 0;
	tap_ok(ok && v.ops->user_set_role(&v, 1, SAFELOCK_ROLE_MANAGER) == -EINVAL &&
	       v.ops->user_set_role(&v, u, SAFELOCK_ROLE_OWNER) == -EINVAL &&
	       v.ops->user_set_role(&v, 999, SAFELOCK_ROLE_USER) == -ENOENT,
	       "set_role: user to manager, kept across a restart; never to or from owner; unknown user ENOENT");

	/* delete */
	u = NUSERS;
	ok = v.ops->user_del(&v, u) == 0 &&
	     verify_as(u, codes[u], lens[u], &ra) == VAULT_DENIED &&
	     res.role == SAFELOCK_ROLE_NONE &&
	     v.ops->user_del(&v, u) == -ENOENT && v.ops->user_del(&v, 1) == -EINVAL &&
	     v.ops->user_list(&v, list, SAFELOCK_ADMIN_USERS_MAX, &n) == 0 &&
	     n == NUSERS - 1;
	tap_ok(ok, "user_del: the deleted user's right code is denied; the owner cannot be deleted");
	/* its slot is free again, for a new code; its count starts at 0 */
	ok = verify_as(u, codes[u], lens[u], &ra) == VAULT_DENIED &&
	     counts(u, 2, 2) && verify_as(1, codes[1], lens[1], &ra) == VAULT_GRANTED;
	sw_random_code(codes[u], lens[u]);
	ok &= v.ops->user_add(&v, u, roles[u], codes[u], lens[u]) == 0 &&
	      counts(u, 0, 0) &&
	      verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED;
	tap_ok(ok, "a user added again gets a fresh count and its new code works");

	/* code change */
	u = of_role(SAFELOCK_ROLE_COURIER);
	memcpy(w, codes[u], sizeof(w));
	sw_random_code(codes[u], lens[u]);
	ok = v.ops->code_change(&v, u, codes[u], lens[u]) == 0 &&
	     verify_as(u, w, lens[u], &ra) == VAULT_DENIED &&
	     verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED &&
	     res.role == SAFELOCK_ROLE_COURIER &&
	     v.ops->code_change(&v, 998, codes[u], lens[u]) == -ENOENT &&
	     v.ops->code_change(&v, u, "123", 3) == -EINVAL;
	tap_ok(ok, "code_change: the old code is denied, the new one granted (courier)");
	safelock_wipe(w, sizeof(w));
}

/* Duress ---------------------------------------------------------------- */

static char duress[SAFELOCK_CODE_BUF];

static void duress_tests(void)
{
	static struct vault_user list[SAFELOCK_ADMIN_USERS_MAX];
	unsigned int u = of_role(SAFELOCK_ROLE_MANAGER), plain, ra;
	char w[SAFELOCK_CODE_BUF];
	unsigned long c, cr, cd, cw;
	UINT32 da0 = 0, da1 = 0, da2 = 0;
	size_t n = 0;
	bool ok;

	plain = of_role(SAFELOCK_ROLE_USER);
	tap_ok(v.ops->duress_set(&v, u, codes[u], lens[u]) == -EINVAL &&
	       strstr(v.errmsg, "differ"),
	       "a duress code equal to the code is refused");
	do
		sw_random_code(duress, lens[u]);
	while (!strcmp(duress, codes[u]));
	ok = v.ops->duress_set(&v, u, duress, lens[u]) == 0 &&
	     v.ops->user_list(&v, list, SAFELOCK_ADMIN_USERS_MAX, &n) == 0 &&
	     list[u - 1].user_id == u && list[u - 1].has_duress &&
	     !list[plain - 1].has_duress;
	tap_ok(ok, "duress_set: user %u has a duress code", u);
	ok = verify_as(u, duress, lens[u], &ra) == VAULT_GRANTED && res.duress &&
	     res.role == SAFELOCK_ROLE_MANAGER && counts(u, 0, 0);
	ok &= verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED && !res.duress;
	ok &= v.ops->check(&v, u, duress, lens[u], &ra, &res) == VAULT_GRANTED &&
	      res.duress;
	tap_ok(ok, "the duress code is GRANTED with duress set (keypad and check()); the code without");
	sw_wrong_of(codes[u], lens[u], w, 0);
	if (!strcmp(w, duress))
		sw_wrong_of(codes[u], lens[u], w, 1);
	ok = verify_as(u, w, lens[u], &ra) == VAULT_DENIED && !res.duress &&
	     counts(u, 1, 1) && verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED;
	tap_ok(ok, "a wrong code of a user with a duress code is denied and counted once");

	/* TPM commands after ENTER, prepared */
	ok = !v.ops->prepare(&v, 8001);
	ok &= !v.ops->prepare_user(&v, 8001, u);
	c = v.commands;
	ok &= v.ops->verify(&v, 8001, u, codes[u], lens[u], &ra, &res) == VAULT_GRANTED;
	cr = v.commands - c;
	v.ops->finish(&v);
	ok &= !v.ops->prepare(&v, 8002);
	ok &= !v.ops->prepare_user(&v, 8002, u);
	c = v.commands;
	ok &= v.ops->verify(&v, 8002, u, duress, lens[u], &ra, &res) == VAULT_GRANTED &&
	      res.duress;
	cd = v.commands - c;
	v.ops->finish(&v);
	ok &= !v.ops->prepare(&v, 8003);
	ok &= !v.ops->prepare_user(&v, 8003, u);
	c = v.commands;
	ok &= v.ops->verify(&v, 8003, u, w, lens[u], &ra, &res) == VAULT_DENIED;
	cw = v.commands - c;
	v.ops->finish(&v);
	ok &= verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED;
	tap_ok(ok && cr == 1 && cd == 2 && cw == 2,
	       "prepared, with a duress code: %lu TPM commands after ENTER for the code, %lu for the duress code, %lu for a wrong one",
	       cr, cd, cw);

	/* the DA cost of a wrong code: 2 with a duress code, 1 without */
	ok = da_counter(&da0);
	ok &= verify_as(u, w, lens[u], &ra) == VAULT_DENIED;
	ok &= da_counter(&da1);
	sw_wrong_of(codes[plain], lens[plain], w, 0);
	ok &= verify_as(plain, w, lens[plain], &ra) == VAULT_DENIED;
	ok &= da_counter(&da2);
	tap_ok(ok && da1 - da0 == 2 && da2 - da1 == 1,
	       "TPM DA failures of a wrong code: %u with a duress code, %u without",
	       da1 - da0, da2 - da1);
	ok = verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED &&
	     verify_as(plain, codes[plain], lens[plain], &ra) == VAULT_GRANTED;

	tap_ok(ok && v.ops->code_change(&v, u, duress, lens[u]) == -EINVAL &&
	       verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED,
	       "a code equal to the duress code is refused; the code is unchanged");
	ok = v.ops->duress_set(&v, u, "", 0) == 0 &&
	     verify_as(u, duress, lens[u], &ra) == VAULT_DENIED && !res.duress &&
	     verify_as(u, codes[u], lens[u], &ra) == VAULT_GRANTED;
	/* back, for the tests below */
	ok &= v.ops->duress_set(&v, u, duress, lens[u]) == 0 &&
	      v.ops->duress_set(&v, 999, duress, lens[u]) == -ENOENT;
	tap_ok(ok, "duress_set with no code removes it: the old duress code is denied");
	safelock_wipe(w, sizeof(w));
}

/* Flash edits, older copies, offline checks ----------------------------- */

static uint8_t ta[1 << 21], tb[1 << 21], tc[1 << 21];

static void tamper_tests(void)
{
	char tab[PATH_MAX + 32], snap[PATH_MAX + 32], ra_dir[PATH_MAX + 32];
	unsigned int u = of_role(SAFELOCK_ROLE_USER), ra, k = 0;
	ssize_t na, nb, nc, i, off = -1;
	bool ok;
	int ret;

	snprintf(tab, sizeof(tab), "%s/vault.tab", sw.statedir);
	/* where the role byte is: a role change and nothing else */
	na = read_all(tab, ta, sizeof(ta));
	ok = v.ops->user_set_role(&v, u, SAFELOCK_ROLE_MANAGER) == 0;
	nb = read_all(tab, tb, sizeof(tb));
	ok &= v.ops->user_set_role(&v, u, SAFELOCK_ROLE_USER) == 0;
	nc = read_all(tab, tc, sizeof(tc));
	for (i = 16; ok && na == nb && i < na; i++)
		if (ta[i] != tb[i]) {
			k++;
			off = i;
		}
	ok &= na > 0 && na == nb && na == nc && k == 1 && off > 0 &&
	      ta[off] == SAFELOCK_ROLE_USER && tb[off] == SAFELOCK_ROLE_MANAGER;
	if (ok)
		tc[off] = SAFELOCK_ROLE_MANAGER;	/* the edit */
	v.ops->close(&v);
	ok = ok && write_all(tab, tc, (size_t)nc) && reopen();
	ret = v.ops->check(&v, u, codes[u], lens[u], &ra, &res);
	tap_ok(ok && ret == -ESTALE && res.role != SAFELOCK_ROLE_MANAGER &&
	       v.ops->provisioned(&v) == SAFELOCK_VAULT_DAMAGED && strstr(v.errmsg, "refused"),
	       "a flash edit promoting user %u to manager is refused: %s", u,
	       v.errmsg);
	tap_ok(verify_as(1, codes[1], lens[1], &ra) == -ESTALE &&
	       v.ops->user_add(&v, 900, SAFELOCK_ROLE_USER, codes[1], lens[1]) == -ESTALE,
	       "while refused, nothing verifies and nothing changes");
	tc[off] = SAFELOCK_ROLE_USER;
	v.ops->close(&v);
	ok = write_all(tab, tc, (size_t)nc) && reopen() &&
	     v.ops->check(&v, u, codes[u], lens[u], &ra, &res) == VAULT_GRANTED &&
	     res.role == SAFELOCK_ROLE_USER;
	tap_ok(ok, "the genuine table back: user %u is a user again", u);

	/* an older copy of the state directory */
	snprintf(snap, sizeof(snap), "%s/snapshot", sw.dir);
	snprintf(ra_dir, sizeof(ra_dir), "%s/newest", sw.dir);
	u = of_role(SAFELOCK_ROLE_COURIER);
	ok = copy_dir(sw.statedir, snap) && v.ops->user_del(&v, u) == 0 &&
	     copy_dir(sw.statedir, ra_dir);
	v.ops->close(&v);
	ok = ok && restore_dir(snap) && reopen();
	ret = verify_as(u, codes[u], lens[u], &ra);
	tap_ok(ok && ret == -ESTALE && strstr(v.errmsg, "older"),
	       "an older copy of the state directory (a deleted user still in it) is refused: %s",
	       v.errmsg);
	v.ops->close(&v);
	ok = restore_dir(ra_dir) && reopen() &&
	     verify_as(u, codes[u], lens[u], &ra) == VAULT_DENIED &&
	     verify_as(1, codes[1], lens[1], &ra) == VAULT_GRANTED;
	tap_ok(ok, "the newest copy back: the deleted user stays deleted, the owner opens");
	ok = v.ops->user_add(&v, u, SAFELOCK_ROLE_COURIER, codes[u], lens[u]) == 0;
	/* a commit cut short: the new table written, the NV record not */
	cut_at = "commit:written";
	cut_restart = false;
	ret = v.ops->user_set_role(&v, u, SAFELOCK_ROLE_MANAGER);
	if (!ok || !cut_done || ret >= 0)
		tap_diag("cut commit: ok %d cut %d ret %d %s", ok, cut_done, ret, v.errmsg);
	ok = ok && cut_done && ret < 0 && sw_start(&sw) && reopen();
	ret = v.ops->check(&v, u, codes[u], lens[u], &ra, &res);
	if (ret != VAULT_GRANTED || res.role != SAFELOCK_ROLE_COURIER)
		tap_diag("after the cut commit: %d role %d %s", ret, res.role, v.errmsg);
	ok = ok && ret == VAULT_GRANTED && res.role == SAFELOCK_ROLE_COURIER;
	cut_done = false;
	/* ... and one cut after the NV record, before the rename */
	snprintf(snap, sizeof(snap), "%s/vault.tab.new", sw.statedir);
	na = read_all(tab, ta, sizeof(ta));
	ok = ok && v.ops->user_set_role(&v, u, SAFELOCK_ROLE_MANAGER) == 0;
	v.ops->close(&v);
	ok = ok && na > 0 && rename(tab, snap) == 0 &&
	     write_all(tab, ta, (size_t)na) && reopen() &&
	     v.ops->check(&v, u, codes[u], lens[u], &ra, &res) == VAULT_GRANTED &&
	     res.role == SAFELOCK_ROLE_MANAGER && access(snap, F_OK) < 0 &&
	     v.ops->user_set_role(&v, u, SAFELOCK_ROLE_COURIER) == 0;
	tap_ok(ok, "a commit cut before its NV record is undone, one cut after it is completed");
}

/*
 * The sealed objects in @buf: every marshalled TPM2B_PUBLIC of a
 * KEYEDHASH object followed by a TPM2B_PRIVATE. Loaded on @ctx under
 * @parent: how many load.
 */
static int scan_blobs(const uint8_t *buf, size_t len, ESYS_CONTEXT *ctx,
		      ESYS_TR parent, int *loaded)
{
	size_t i, off;
	int found = 0;
	ESYS_TR obj;

	*loaded = 0;
	for (i = 0; i + 6 < len; i++) {
		TPM2B_PUBLIC pub = { 0 };
		TPM2B_PRIVATE priv = { 0 };

		if (buf[i + 2] != 0x00 || buf[i + 3] != TPM2_ALG_KEYEDHASH ||
		    buf[i + 4] != 0x00 || buf[i + 5] != TPM2_ALG_SHA256)
			continue;
		off = i;
		if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) ||
		    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, &priv) ||
		    !priv.size)
			continue;
		found++;
		if (!Esys_Load(ctx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, &priv, &pub, &obj)) {
			(*loaded)++;
			Esys_FlushContext(ctx, obj);
		}
		i = off - 1;
	}
	return found;
}

static char recovery[SAFELOCK_RECOVERY_TEXT_SIZE];

static void offline_tests(void)
{
	static const TPM2B_PUBLIC tmpl = {
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
	const char *secrets[4];
	size_t slens[4];
	char tab[PATH_MAX + 32];
	uint8_t key[32], id[16] = { 1 }, md[32];
	struct swtpm other = { 0 };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	unsigned int mdlen, u = of_role(SAFELOCK_ROLE_MANAGER);
	int found, loaded = -1, leaks = 0, expect, k;
	ssize_t n, i;
	ESYS_TR prim;
	bool ok;

	/* every kind of object in the table: codes, duress, recovery, audit */
	ok = v.ops->recovery_new(&v, recovery) == 0 &&
	     v.ops->audit_key(&v, id, key) == 0;
	snprintf(tab, sizeof(tab), "%s/vault.tab", sw.statedir);
	n = read_all(tab, ta, sizeof(ta));
	secrets[0] = codes[1];
	slens[0] = lens[1];
	secrets[1] = duress;
	slens[1] = lens[u];
	secrets[2] = codes[u];
	slens[2] = lens[u];
	secrets[3] = recovery;
	slens[3] = strlen(recovery);
	for (k = 0; ok && n > 0 && k < 4; k++) {
		leaks += memmem(ta, (size_t)n, secrets[k], slens[k]) != NULL;
		for (i = 0; i + 32 <= n; i++) {
			EVP_MD_CTX *c = EVP_MD_CTX_new();

			EVP_DigestInit_ex(c, EVP_sha256(), NULL);
			EVP_DigestUpdate(c, ta + i, 32);
			EVP_DigestUpdate(c, secrets[k], slens[k]);
			EVP_DigestFinal_ex(c, md, &mdlen);
			EVP_MD_CTX_free(c);
			leaks += memmem(ta, (size_t)n, md, sizeof(md)) != NULL;
		}
	}
	leaks += memmem(ta, (size_t)n, key, sizeof(key)) != NULL;
	tap_ok(ok && n > 0 && !leaks && files_in(sw.statedir) == 1,
	       "the state directory is one file holding no code, duress code, recovery secret, audit key nor SHA-256(salt || any of them)");

	/* another TPM, with a primary made from the same template */
	ok = sw_init(&other, "vault-thief") && sw_start(&other);
	ctx = ok ? sw_esys(&other, &t) : NULL;
	ok = ctx && !Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
					&outside, &pcrs, &prim, NULL, NULL, NULL,
					NULL);
	found = ok ? scan_blobs(ta, (size_t)n, ctx, prim, &loaded) : 0;
	sw_esys_close(&ctx, &t);
	sw_cleanup(&other);
	/* NUSERS codes, one duress code, the recovery secret, the audit key */
	expect = NUSERS + 3;
	if (!tap_ok(ok && found == expect && loaded == 0,
		    "a copy of the state directory gives no offline check: none of its %d sealed objects loads on another TPM",
		    found))
		tap_diag("found %d (want %d), loaded %d", found, expect, loaded);
}

/* Recovery -------------------------------------------------------------- */

static bool text_ok(const char *s)
{
	static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	int i;

	if (strlen(s) != 39)
		return false;
	for (i = 0; i < 39; i++)
		if ((i % 5 == 4) != (s[i] == '-') ||
		    (s[i] != '-' && !strchr(alpha, s[i])))
			return false;
	return true;
}

static void recovery_tests(void)
{
	char old[SAFELOCK_RECOVERY_TEXT_SIZE], alt[SAFELOCK_RECOVERY_TEXT_SIZE];
	char bad[SAFELOCK_RECOVERY_TEXT_SIZE];
	unsigned int ra = 0, i, j;
	UINT32 da0 = 0, da1 = 0;
	bool ok;
	int ret;

	memcpy(old, recovery, sizeof(old));
	ok = v.ops->recovery_new(&v, recovery) == 0;
	tap_ok(ok && text_ok(recovery) && text_ok(old) && strcmp(old, recovery),
	       "recovery_new: 160 bits as 8 groups of 4 Crockford base32 symbols, a new one each time");
	ret = v.ops->recovery_check(&v, recovery, &ra);
	tap_ok(ret == VAULT_GRANTED && v.ops->recovery_check(&v, old, &ra) == VAULT_DENIED,
	       "the new secret is accepted, the previous one is spent");
	/* lower case, no dashes, Crockford's aliases */
	for (i = 0, j = 0; recovery[i]; i++) {
		char c = recovery[i];

		if (c == '-')
			continue;
		alt[j++] = c == '1' ? 'l' : c == '0' ? 'o' :
			   (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	alt[j] = '\0';
	tap_ok(v.ops->recovery_check(&v, alt, &ra) == VAULT_GRANTED,
	       "accepted without dashes, in lower case, with l for 1 and o for 0");
	memcpy(bad, recovery, sizeof(bad));
	bad[0] = 'U';
	ret = v.ops->recovery_check(&v, bad, &ra);
	bad[0] = recovery[0];
	bad[38] = '\0';
	ok = ret == -EINVAL && v.ops->recovery_check(&v, bad, &ra) == -EINVAL &&
	     v.ops->recovery_check(&v, "", &ra) == -EINVAL;
	tap_ok(ok && v.ops->recovery_check(&v, recovery, &ra) == VAULT_GRANTED,
	       "malformed secrets (a U, 31 symbols, empty) are refused with EINVAL, not counted");

	/* wrong secrets: their own count and delay, no DA, no code count */
	ok = da_counter(&da0);
	memcpy(bad, recovery, sizeof(bad));
	for (i = 0; i < 5 && ok; i++) {
		bad[0] = recovery[0] == 'Z' ? 'Y' : 'Z';
		bad[1] = "ABCDE"[i];
		ret = v.ops->recovery_check(&v, bad, &ra);
		ok = ret == VAULT_DENIED && (i < 4 ? ra == 0 : ra > 0 && ra <= 60000);
	}
	tap_ok(ok && counts(1, 0, 0),
	       "5 wrong secrets: denied, the 5th says retry after %u ms; code counts untouched", ra);
	ret = v.ops->recovery_check(&v, recovery, &ra);
	/* <=: swtpm's self-healing may forgive failures in between */
	tap_ok(ret == VAULT_DENIED && ra > 0 && da_counter(&da1) && da1 <= da0,
	       "the right secret during the delay is denied unchecked; no TPM DA failure was spent (%u, then %u)",
	       da0, da1);
	cfg.test_clock_offset_ms += 61 * 1000;
	ok = reopen();
	tap_ok(ok && v.ops->recovery_check(&v, recovery, &ra) == VAULT_GRANTED && !ra,
	       "61 s later the right secret is accepted");

	/* code entry disabled lock-wide, enabled again by recovery */
	for (i = 0, ok = true; i < VAULT_HARD_LIMIT && ok; i++) {
		cfg.test_clock_offset_ms += 25ULL * 3600 * 1000;
		ok = reopen() && verify_as(950, codes[1], lens[1], &ra) == VAULT_DENIED;
	}
	ok = ok && verify_as(1, codes[1], lens[1], &ra) == VAULT_DENIED &&
	     ra == VAULT_RETRY_DISABLED;
	tap_ok(ok && v.ops->recovery_check(&v, recovery, &ra) == VAULT_GRANTED &&
	       counts(1, 0, 0) && verify_as(1, codes[1], lens[1], &ra) == VAULT_GRANTED,
	       "code entry disabled after %d failures; the recovery secret enables it again",
	       VAULT_HARD_LIMIT);
}

/* Policy ---------------------------------------------------------------- */

static void policy_tests(void)
{
	struct safelock_admin_policy p, q, d;
	char why[sizeof(v.errmsg)] = "";
	int ok, bad = 0, i;

	ok = v.ops->policy_load(&v, &d) == 0;
	tap_ok(ok && d.time_delay_s == 0 && d.open_window_s == 60 &&
	       d.dual_window_s == 60 && d.relock_ms == 0 &&
	       d.door_limit_s == 300 && !d.dual_control && !d.dual_admin &&
	       !d.time_lock && !d.courier_override && !d.recovery_delay_s,
	       "policy_load before any store: the kernel's defaults (no delay, window 60 s, the board's relock)");
	memset(&p, 0, sizeof(p));
	p.time_delay_s = 600;
	p.open_window_s = 120;
	p.dual_window_s = 30;
	p.relock_ms = 3000;
	p.door_limit_s = 0;
	p.recovery_delay_s = 86400;
	p.dual_control = 1;
	p.courier_override = 1;
	p.time_lock = 1;
	p.week[3] = 0xa5;
	p.holidays[0] = 20000;
	p.utc_offset_s = -3600;
	p.reserved[0] = 12345;	/* safelockd's own */
	snprintf(p.time_zone, sizeof(p.time_zone), "Europe/Berlin");
	ok = v.ops->policy_store(&v, &p) == 0 && reopen() &&
	     v.ops->policy_load(&v, &q) == 0;
	tap_ok(ok && !memcmp(&p, &q, sizeof(p)),
	       "policy_store, then load after a restart: the same policy, field for field (time zone too)");
	for (i = 0; i < 11; i++) {
		q = p;
		switch (i) {
		case 0: q.time_delay_s = 7201; break;
		case 1: q.open_window_s = 59; break;
		case 2: q.open_window_s = 1801; break;
		case 3: q.dual_window_s = 9; break;
		case 4: q.relock_ms = 499; break;
		case 5: q.door_limit_s = 4; break;
		case 6: q.recovery_delay_s = 604801; break;
		case 7: q.dual_control = 2; break;
		case 8: q.utc_offset_s = 50401; break;
		case 9: q.holidays[5] = 100001; break;
		case 10: q.relock_ms = 600001; break;
		}
		if (v.ops->policy_store(&v, &q) != -EINVAL || !v.errmsg[0]) {
			tap_diag("case %d accepted (%s)", i, v.errmsg);
			bad++;
		}
		snprintf(why, sizeof(why), "%s", v.errmsg);
	}
	ok = v.ops->policy_load(&v, &q) == 0 && !memcmp(&p, &q, sizeof(p));
	tap_ok(!bad && ok, "11 out-of-range policies refused with EINVAL and a reason (last: %s); the stored one unchanged",
	       why);
}

/* Audit ------------------------------------------------------------------ */

static uint8_t audit_k1[32];

static void audit_tests(void)
{
	uint8_t id1[16], id2[16], k1[32], k1b[32], k2[32], zero[32] = { 0 };
	struct audit_anchor a = { 0 }, b = { 0 };
	bool ok;

	memset(id1, 0x11, sizeof(id1));
	memset(id2, 0x11, sizeof(id2));
	id2[15] = 0x12;
	ok = v.ops->audit_key(&v, id1, k1) == 0 &&
	     v.ops->audit_key(&v, id1, k1b) == 0 &&
	     v.ops->audit_key(&v, id2, k2) == 0;
	tap_ok(ok && !memcmp(k1, k1b, 32) && memcmp(k1, k2, 32) &&
	       memcmp(k1, zero, 32),
	       "audit_key: the same file id gives the same key, another id another key");
	v.ops->close(&v);
	ok = sw_stop(&sw) && sw_start(&sw) && reopen() &&
	     v.ops->audit_key(&v, id1, k1b) == 0;
	tap_ok(ok && !memcmp(k1, k1b, 32),
	       "the same key after a restart of the vault and of the TPM");
	memcpy(audit_k1, k1, 32);

	tap_ok(v.ops->anchor_load(&v, &a) == -ENOENT,
	       "anchor_load before any store: ENOENT");
	a.records = 4242;
	memset(a.hash, 0x5c, sizeof(a.hash));
	ok = v.ops->anchor_store(&v, &a) == 0;
	v.ops->close(&v);
	ok = ok && sw_power_cut(&sw) && reopen() && v.ops->anchor_load(&v, &b) == 0;
	tap_ok(ok && b.records == 4242 && !memcmp(a.hash, b.hash, 32),
	       "anchor_store, then a power cut: anchor_load gives it back");
	a.records = 4300;
	a.hash[0] = 1;
	ok = v.ops->anchor_store(&v, &a) == 0 && v.ops->anchor_load(&v, &b) == 0;
	tap_ok(ok && b.records == 4300 && b.hash[0] == 1,
	       "a newer anchor replaces it");
	safelock_wipe(k1, sizeof(k1));
	safelock_wipe(k1b, sizeof(k1b));
	safelock_wipe(k2, sizeof(k2));
}

/* Wipe -------------------------------------------------------------------- */

static void wipe_tests(void)
{
	char snap[PATH_MAX + 32], code[SAFELOCK_CODE_BUF], d2[SAFELOCK_CODE_BUF];
	uint8_t id1[16], k[32];
	struct audit_anchor a;
	unsigned int ra;
	size_t len = 8;
	bool ok;
	int ret, h;

	memset(id1, 0x11, sizeof(id1));
	snprintf(snap, sizeof(snap), "%s/before-wipe", sw.dir);
	ok = copy_dir(sw.statedir, snap);
	ret = v.ops->wipe(&v);
	tap_ok(ok && ret == 0 && v.ops->provisioned(&v) == 0,
	       "wipe: the vault is unprovisioned after");
	ret = v.ops->wipe(&v);
	v.ops->close(&v);
	h = handles_present();
	tap_ok(ret == 0 && h == 0 && files_in(sw.statedir) == 0,
	       "wipe again (idempotent): no persistent primary, no NV index, no file left (%d handles)",
	       h);
	ok = reopen() && v.ops->provisioned(&v) == 0 &&
	     verify_as(1, codes[1], lens[1], &ra) == VAULT_DENIED &&
	     v.ops->recovery_check(&v, recovery, &ra) == -ENOENT &&
	     v.ops->anchor_load(&v, &a) == -ENOENT &&
	     v.ops->audit_key(&v, id1, k) == 0 && memcmp(k, audit_k1, 32);
	tap_ok(ok, "after a wipe: old codes and recovery secret dead, no anchor, a new audit key");
	v.ops->close(&v);
	ok = restore_dir(snap) && reopen() &&
	     verify_as(1, codes[1], lens[1], &ra) != VAULT_GRANTED &&
	     v.ops->provisioned(&v) == SAFELOCK_VAULT_DAMAGED;
	tap_ok(ok, "the state directory from before the wipe, put back, is refused: its objects died with the primary");

	/* a wipe cut short, twice */
	ok = v.ops->wipe(&v) == 0;
	sw_random_code(code, len);
	sw_random_code(d2, len);
	if (!strcmp(code, d2))
		d2[0] = (char)('0' + (d2[0] - '0' + 1) % 10);
	ok &= v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code, len) == 0 &&
	      v.ops->duress_set(&v, 1, d2, len) == 0 &&
	      v.ops->recovery_new(&v, recovery) == 0;
	cut_at = "wipe:evicted";
	cut_restart = false;
	ret = v.ops->wipe(&v);
	ok = ok && cut_done && ret < 0;
	cut_done = false;
	ok = ok && sw_start(&sw) &&
	     verify_as(1, code, len, &ra) != VAULT_GRANTED &&
	     verify_as(1, d2, len, &ra) != VAULT_GRANTED &&
	     v.ops->provisioned(&v) == 0 && v.ops->wipe(&v) == 0;
	tap_ok(ok, "a wipe cut after the primary's eviction: nothing old verifies, the next operation finishes it, a second wipe is 0");
	ok = v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code, len) == 0 &&
	     v.ops->recovery_new(&v, recovery) == 0;
	cut_at = "wipe:marked";
	cut_restart = false;
	ret = v.ops->wipe(&v);
	ok = ok && cut_done && ret < 0;
	cut_done = false;
	v.ops->close(&v);	/* safelockd dies too */
	ok = ok && sw_start(&sw) && reopen() && v.ops->provisioned(&v) == 0 &&
	     verify_as(1, code, len, &ra) == VAULT_DENIED &&
	     v.ops->recovery_check(&v, recovery, &ra) == -ENOENT &&
	     files_in(sw.statedir) == 0;
	tap_ok(ok, "a wipe cut right after its mark, safelockd restarted: open() finishes it");
	safelock_wipe(code, sizeof(code));
	safelock_wipe(d2, sizeof(d2));
}

int main(void)
{
	UINT32 da = 0;
	int i;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault admin", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "vault-admin")) {
		perror("mkdtemp");
		return 1;
	}
	cfg.tcti = sw.tcti;
	cfg.state_dir = sw.statedir;
	vault_tpm_test_point = cut_hook;
	if (!tap_ok(sw_start(&sw) && reopen(), "swtpm starts, the vault opens")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault admin", "no vault");
		goto out;
	}
	primary_tests();
	user_tests();
	duress_tests();
	tamper_tests();
	offline_tests();
	recovery_tests();
	policy_tests();
	audit_tests();
	wipe_tests();
	v.ops->close(&v);
	tap_ok(sw_props(&sw, TPM2_PT_LOCKOUT_COUNTER, 1, &da) && da < DA_MAX_TRIES,
	       "the TPM's DA counter after all this: %u of %d", da, DA_MAX_TRIES);
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	for (i = 0; i <= NUSERS; i++)
		safelock_wipe(codes[i], sizeof(codes[i]));
	safelock_wipe(duress, sizeof(duress));
	safelock_wipe(recovery, sizeof(recovery));
	sw_cleanup(&sw);
	return tap_exit();
}
