// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault's administration, lifecycle, policy and audit operations.
 * safelockd's admin server has authorised each act; these do it, all or
 * nothing: a change is made in memory, committed (vault_tpm_table.c) and
 * undone in memory if the commit fails.
 *
 * Roles are the table's: user 001 is the owner and nobody else is; the
 * owner cannot be deleted or change role (a wipe is the way to start
 * over). A duress code is a second sealed object; it must differ from the
 * code, which the vault checks by trying it on the code's object in the
 * TPM (the vault holds nothing else to compare with): for a user who has a
 * duress code, setting it or changing the code costs one DA failure, forgiven
 * after 10 minutes.
 *
 * Recovery: 160 bits from TPM2_GetRandom, shown once as Crockford base32,
 * sealed in a NODA object (nobody can guess 160 bits, and a wrong secret
 * must not count against the codes' DA budget). Its failures count on
 * their own (THROTTLE_NV), counted before the check like a code, delayed
 * by the same schedule but never disabled (the delay stays at 24 h per try
 * from the 13th failure on: 2^160 secrets at one a day). A right secret
 * also clears the lock-wide failure count: code entry disabled "until
 * recovery" is enabled again.
 *
 * Wipe, all steps idempotent: (1) the commit record in STATE_NV marked
 * "wiping": from here on open() finishes the wipe before anything else, so
 * nothing old ever verifies again; (2) the persisted primary evicted:
 * every object sealed under it, in any copy of the state directory, is
 * dead for good, since its template's random unique field is known to
 * nobody; (3) the NV indices undefined (counts, anchor); (4) every file of
 * the state directory deleted (not subdirectories: the vault makes none);
 * (5) the commit record undefined. The next operation sets up a fresh,
 * unprovisioned vault (a new primary, zero counts).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "vault_tpm.h"

/* Run @call; once more if it lost the TPM before it changed anything. */
#define RETRY_LOST(v, ret, call)					\
	do {								\
		(ret) = (call);						\
		if ((ret) < 0 && op_again(v))				\
			(ret) = (call);					\
	} while (0)

static int begin(struct vault *v)
{
	int ret = op_begin(v);

	return ret ? ret : refused(v);
}

static int check_id(struct vault *v, unsigned int id)
{
	if (id >= 1 && id <= SAFELOCK_USER_ID_MAX)
		return 0;
	snprintf(v->errmsg, sizeof(v->errmsg), "user id must be 1 to %d",
		 SAFELOCK_USER_ID_MAX);
	return -EINVAL;
}

static int check_code(struct vault *v, const char *code, size_t len)
{
	if (safelock_code_valid(code, len))
		return 0;
	snprintf(v->errmsg, sizeof(v->errmsg), "code must be %d to %d digits",
		 SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
	return -EINVAL;
}

static struct vault_urec *user(struct vault *v, unsigned int id)
{
	struct tpm_vault *t = v->priv;

	if (t->tab.users[id].role != SAFELOCK_ROLE_NONE)
		return &t->tab.users[id];
	snprintf(v->errmsg, sizeof(v->errmsg), "no user %03u", id);
	return NULL;
}

/* A new code: the user's consecutive failures start again from 0. */
static void fresh_count(struct tpm_vault *t, unsigned int id)
{
	if (!t->fails[id])
		return;
	t->fails[id] = 0;
	/* if lost, the old count stays: it delays the user, helps no one */
	write_user_fails(t, id);
}

/*
 * Does @code open @slot? Tried in the TPM: VAULT_GRANTED, VAULT_DENIED
 * (one DA failure), -EBUSY (DA lockout) or -errno.
 */
static int opens(struct vault *v, const struct vault_slot *slot,
		 const char *code, size_t len)
{
	struct tpm_vault *t = v->priv;
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret;

	ret = slot_load(v, slot, ESYS_TR_NONE, &obj);
	if (ret)
		return ret;
	rc = start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s);
	if (!rc)
		TPM_RUN(t, rc, Esys_PolicyAuthValue(t->ctx, s, ESYS_TR_NONE,
						    ESYS_TR_NONE, ESYS_TR_NONE));
	if (rc)
		ret = tpm_fail(v, "policy session", rc);
	else
		ret = slot_unseal(v, obj, s, slot, code, len);
	flush(t, &obj);
	flush(t, &s);
	if (ret == -EBUSY)
		da_lockout(v);
	return ret;
}

static bool role_ok(unsigned int id, enum safelock_role role)
{
	if (role <= SAFELOCK_ROLE_NONE || role >= SAFELOCK_ROLE_MAX)
		return false;
	return (id == 1) == (role == SAFELOCK_ROLE_OWNER);
}

/* Users ---------------------------------------------------------------- */

static int do_user_add(struct vault *v, unsigned int id,
		       enum safelock_role role, const char *code, size_t len)
{
	struct tpm_vault *t = v->priv;
	struct vault_urec *u;
	int ret;

	ret = begin(v);
	if (!ret)
		ret = check_id(v, id);
	if (!ret)
		ret = check_code(v, code, len);
	if (ret)
		return ret;
	if (!role_ok(id, role)) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "user 001 is the owner, and only user 001");
		return -EINVAL;
	}
	u = &t->tab.users[id];
	if (u->role != SAFELOCK_ROLE_NONE) {
		snprintf(v->errmsg, sizeof(v->errmsg), "user %03u exists", id);
		return -EEXIST;
	}
	ret = seal(v, code, len, false, &u->code);
	if (ret)
		return ret;
	u->role = (uint8_t)role;
	t->tab.n_users++;
	ret = table_commit(v);
	if (ret) {
		slot_free(&u->code);
		u->role = SAFELOCK_ROLE_NONE;
		t->tab.n_users--;
		return ret;
	}
	fresh_count(t, id);
	return 0;
}

int tpm_user_add(struct vault *v, unsigned int user_id,
		 enum safelock_role role, const char *code, size_t len)
{
	int ret;

	RETRY_LOST(v, ret, do_user_add(v, user_id, role, code, len));
	return ret;
}

static int do_user_del(struct vault *v, unsigned int id)
{
	struct tpm_vault *t = v->priv;
	struct vault_urec old;
	int ret;

	ret = begin(v);
	if (!ret)
		ret = check_id(v, id);
	if (ret)
		return ret;
	if (!user(v, id))
		return -ENOENT;
	if (id == 1) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "the owner (user 001) cannot be deleted; a wipe starts over");
		return -EINVAL;
	}
	old = t->tab.users[id];
	memset(&t->tab.users[id], 0, sizeof(old));
	t->tab.n_users--;
	ret = table_commit(v);
	if (ret) {
		t->tab.users[id] = old;
		t->tab.n_users++;
		return ret;
	}
	slot_free(&old.code);
	slot_free(&old.duress);
	return 0;
}

int tpm_user_del(struct vault *v, unsigned int user_id)
{
	int ret;

	RETRY_LOST(v, ret, do_user_del(v, user_id));
	return ret;
}

static int do_user_set_role(struct vault *v, unsigned int id,
			    enum safelock_role role)
{
	struct vault_urec *u;
	uint8_t old;
	int ret;

	ret = begin(v);
	if (!ret)
		ret = check_id(v, id);
	if (ret)
		return ret;
	u = user(v, id);
	if (!u)
		return -ENOENT;
	if (!role_ok(id, role) || u->role == SAFELOCK_ROLE_OWNER) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "no role changes to or from owner (user 001)");
		return -EINVAL;
	}
	if (u->role == role)
		return 0;
	old = u->role;
	u->role = (uint8_t)role;
	ret = table_commit(v);
	if (ret)
		u->role = old;
	return ret;
}

int tpm_user_set_role(struct vault *v, unsigned int user_id,
		      enum safelock_role role)
{
	int ret;

	RETRY_LOST(v, ret, do_user_set_role(v, user_id, role));
	return ret;
}

static int do_user_list(struct vault *v, struct vault_user *out, size_t max,
			size_t *n)
{
	struct tpm_vault *t = v->priv;
	uint64_t now, du, dg;
	unsigned int id;
	TSS2_RC rc;
	int ret;

	*n = 0;
	ret = begin(v);
	if (ret)
		return ret;
	rc = read_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	dg = vault_schedule_delay_ms(t->global_fails);
	for (id = 1; id <= SAFELOCK_USER_ID_MAX && *n < max; id++) {
		const struct vault_urec *u = &t->tab.users[id];
		struct vault_user *o = &out[*n];

		if (u->role == SAFELOCK_ROLE_NONE)
			continue;
		memset(o, 0, sizeof(*o));
		o->user_id = id;
		o->role = (enum safelock_role)u->role;
		o->has_duress = u->duress.len != 0;
		o->throttle.user_failures = t->fails[id];
		o->throttle.global_failures = t->global_fails;
		du = vault_schedule_delay_ms(t->fails[id]);
		o->throttle.retry_after_ms = time_left(du > dg ? du : dg,
						       t->last_fail, now);
		(*n)++;
	}
	return 0;
}

int tpm_user_list(struct vault *v, struct vault_user *out, size_t max,
		  size_t *n)
{
	int ret;

	RETRY_LOST(v, ret, do_user_list(v, out, max, n));
	return ret;
}

static int do_code_change(struct vault *v, unsigned int id, const char *code,
			  size_t len)
{
	struct tpm_vault *t = v->priv;
	struct vault_slot old;
	struct vault_urec *u;
	int ret;

	ret = begin(v);
	if (!ret)
		ret = check_id(v, id);
	if (!ret)
		ret = check_code(v, code, len);
	if (ret)
		return ret;
	u = user(v, id);
	if (!u)
		return -ENOENT;
	if (u->duress.len) {
		ret = opens(v, &u->duress, code, len);
		if (ret == VAULT_GRANTED) {
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "the code must differ from the duress code");
			return -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
	old = u->code;
	ret = seal(v, code, len, false, &u->code);
	if (ret) {
		u->code = old;
		return ret;
	}
	ret = table_commit(v);
	if (ret) {
		slot_free(&u->code);
		u->code = old;
		return ret;
	}
	slot_free(&old);
	fresh_count(t, id);
	return 0;
}

int tpm_code_change(struct vault *v, unsigned int user_id, const char *code,
		    size_t len)
{
	int ret;

	RETRY_LOST(v, ret, do_code_change(v, user_id, code, len));
	return ret;
}

static int do_duress_set(struct vault *v, unsigned int id, const char *code,
			 size_t len)
{
	struct vault_slot old;
	struct vault_urec *u;
	int ret;

	ret = begin(v);
	if (!ret)
		ret = check_id(v, id);
	if (!ret && len)
		ret = check_code(v, code, len);
	if (ret)
		return ret;
	u = user(v, id);
	if (!u)
		return -ENOENT;
	old = u->duress;
	if (!len) {
		if (!old.len)
			return 0;
		memset(&u->duress, 0, sizeof(u->duress));
	} else {
		ret = opens(v, &u->code, code, len);
		if (ret == VAULT_GRANTED) {
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "the duress code must differ from the code");
			return -EINVAL;
		}
		if (ret < 0)
			return ret;
		ret = seal(v, code, len, false, &u->duress);
		if (ret) {
			u->duress = old;
			return ret;
		}
	}
	ret = table_commit(v);
	if (ret) {
		slot_free(&u->duress);
		u->duress = old;
		return ret;
	}
	slot_free(&old);
	return 0;
}

int tpm_duress_set(struct vault *v, unsigned int user_id, const char *code,
		   size_t len)
{
	int ret;

	RETRY_LOST(v, ret, do_duress_set(v, user_id, code, len));
	return ret;
}

/* Recovery ------------------------------------------------------------- */

static int do_recovery_new(struct vault *v,
			   char text[SAFELOCK_RECOVERY_TEXT_SIZE])
{
	struct tpm_vault *t = v->priv;
	uint8_t raw[RECOVERY_BYTES];
	struct vault_slot old;
	TSS2_RC rc;
	int ret;

	text[0] = '\0';
	ret = begin(v);
	if (ret)
		return ret;
	rc = get_random(t, raw, sizeof(raw));
	if (rc)
		return tpm_fail(v, "random data", rc);
	old = t->tab.recovery;
	ret = seal(v, raw, sizeof(raw), true, &t->tab.recovery);
	if (!ret) {
		ret = table_commit(v);
		if (ret)
			slot_free(&t->tab.recovery);
	}
	if (ret) {
		t->tab.recovery = old;
		safelock_wipe(raw, sizeof(raw));
		return ret;
	}
	slot_free(&old);
	recovery_encode(raw, text);
	safelock_wipe(raw, sizeof(raw));
	if (t->rec_fails) {
		t->rec_fails = 0;
		write_throttle(t);	/* if lost: a stale delay, no way in */
	}
	return 0;
}

int tpm_recovery_new(struct vault *v, char text[SAFELOCK_RECOVERY_TEXT_SIZE])
{
	int ret;

	RETRY_LOST(v, ret, do_recovery_new(v, text));
	return ret;
}

static uint64_t recovery_delay(unsigned int fails)
{
	return vault_schedule_delay_ms(fails < VAULT_HARD_LIMIT ? fails :
				       VAULT_HARD_LIMIT - 1);
}

static int do_recovery_check(struct vault *v, const char *text,
			     unsigned int *retry_after_ms)
{
	struct tpm_vault *t = v->priv;
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	uint8_t raw[RECOVERY_BYTES];
	uint64_t now, prev_fail;
	unsigned int left;
	TSS2_RC rc;
	int ret;

	*retry_after_ms = 0;
	ret = begin(v);
	if (ret)
		return ret;
	/* a keypad entry left under way is over: a failure if counted */
	abandon(v);
	if (!t->tab.recovery.len) {
		snprintf(v->errmsg, sizeof(v->errmsg), "no recovery secret");
		return -ENOENT;
	}
	if (recovery_decode(text, raw)) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "a recovery secret is 32 characters of 0-9 and A-Z but I, L, O, U (dashes optional)");
		return -EINVAL;
	}
	rc = read_clock(t, &now);
	if (rc) {
		ret = tpm_fail(v, "read TPM clock", rc);
		goto out;
	}
	left = time_left(recovery_delay(t->rec_fails), t->rec_last_fail, now);
	if (left) {
		*retry_after_ms = left;
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "recovery in a delay: not checked");
		ret = VAULT_DENIED;
		goto out;
	}
	/* count before the check, as for a code */
	prev_fail = t->rec_last_fail;
	if (t->rec_fails < UINT16_MAX)
		t->rec_fails++;
	t->rec_last_fail = now;
	rc = write_throttle(t);
	if (rc) {
		ret = tpm_fail(v, "count the recovery try", rc);
		goto out;
	}
	tpm_point("recovery:counted");
	ret = slot_load(v, &t->tab.recovery, ESYS_TR_NONE, &obj);
	if (!ret) {
		rc = start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s);
		if (!rc)
			TPM_RUN(t, rc, Esys_PolicyAuthValue(t->ctx, s,
							    ESYS_TR_NONE,
							    ESYS_TR_NONE,
							    ESYS_TR_NONE));
		ret = rc ? tpm_fail(v, "policy session", rc) :
		      slot_unseal(v, obj, s, &t->tab.recovery, raw, sizeof(raw));
	}
	flush(t, &obj);
	flush(t, &s);
	if (ret == VAULT_GRANTED) {
		/* the secret, and code entry enabled again lock-wide */
		t->rec_fails = 0;
		t->rec_last_fail = prev_fail;
		t->global_fails = 0;
		rc = write_throttle(t);
		if (rc)
			fprintf(stderr, "safelockd: vault: after recovery: %s\n",
				Tss2_RC_Decode(rc));
	} else {
		*retry_after_ms = time_left(recovery_delay(t->rec_fails),
					    t->rec_last_fail, now);
	}
out:
	safelock_wipe(raw, sizeof(raw));
	return ret;
}

int tpm_recovery_check(struct vault *v, const char *text,
		       unsigned int *retry_after_ms)
{
	int ret;

	RETRY_LOST(v, ret, do_recovery_check(v, text, retry_after_ms));
	return ret;
}

/* Wipe ---------------------------------------------------------------- */

static int delete_files(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	struct dirent *de;
	struct stat st;
	int fd, err = 0;
	DIR *d;

	fd = openat(t->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys_fail(v, "state directory", errno);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sys_fail(v, "state directory", errno);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(t->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (unlinkat(t->dirfd, de->d_name, 0) < 0 && errno != ENOENT)
			err = errno;
	}
	closedir(d);
	fsync(t->dirfd);
	return err ? sys_fail(v, "delete the vault's files", err) : 0;
}

int tpm_wipe_steps(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	uint8_t rec[STATE_SIZE];
	ESYS_TR out = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret;

	t->prep_id = 0;
	t->prep_user = 0;
	t->prep_counted = false;
	t->after_rollback = false;
	t->after_due = false;
	t->after_arm = false;
	flush(t, &t->prep_obj);
	flush(t, &t->prep_obj2);
	sessions_disarm(t);
	/* 1. the mark: open() finishes what is cut short from here on */
	ret = nv_index(v, STATE_NV, STATE_SIZE, true, &t->state_nv);
	if (ret < 0)
		return ret;
	state_record(rec, STATE_WIPING, t->tab.version, NULL);
	rc = nv_write(t, t->state_nv, rec, sizeof(rec), 0);
	if (rc)
		return tpm_fail(v, "mark the vault as being wiped", rc);
	tpm_point("wipe:marked");
	/* 2. the primary, and with it every object sealed under it */
	if (t->primary == ESYS_TR_NONE) {
		ret = tpm_primary(v, false);
		if (ret < 0 && ret != -ENOENT && ret != -EEXIST)
			return ret;
	}
	if (t->primary != ESYS_TR_NONE) {
		t->wrote = true;
		TPM_RUN(t, rc, Esys_EvictControl(t->ctx, ESYS_TR_RH_OWNER,
						 t->primary, ESYS_TR_PASSWORD,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 PRIMARY_HANDLE, &out));
		if (rc)
			return tpm_fail(v, "evict the storage primary", rc);
		t->primary = ESYS_TR_NONE;
	}
	tpm_point("wipe:evicted");
	/* 3. the counts and the anchor */
	ret = nv_undefine(v, ANCHOR_NV, &t->anchor_nv);
	if (!ret)
		ret = nv_undefine(v, FAILS_NV, &t->fails_nv);
	if (!ret)
		ret = nv_undefine(v, THROTTLE_NV, &t->throttle_nv);
	if (ret)
		return ret;
	tpm_point("wipe:undefined");
	/* 4. the files */
	ret = delete_files(v);
	if (ret)
		return ret;
	tpm_point("wipe:deleted");
	/* 5. the mark, last */
	ret = nv_undefine(v, STATE_NV, &t->state_nv);
	if (ret)
		return ret;
	table_free(&t->tab);
	t->refused = 0;
	t->refused_msg[0] = '\0';
	memset(t->fails, 0, sizeof(t->fails));
	t->global_fails = 0;
	t->pending = 0;
	t->last_fail = 0;
	t->rec_fails = 0;
	t->rec_last_fail = 0;
	t->need_setup = true;
	return 0;
}

/*
 * Steps 1-3 cannot be undone (every code dies with the primary), and step
 * 4 needs to write the state directory: on a read-only one (the SD card
 * remounted read-only after an I/O error) a wipe would destroy the lock's
 * codes, fail, and leave open() unable to finish it. Refused before step 1.
 */
static int read_only_dir(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (faccessat(t->dirfd, ".", W_OK, 0) == 0 || errno != EROFS)
		return 0;
	snprintf(v->errmsg, sizeof(v->errmsg),
		 "the state directory is read-only (%s): nothing was wiped",
		 strerror(EROFS));
	return -EROFS;
}

int tpm_wipe(struct vault *v)
{
	int ret;

	ret = op_begin(v);
	if (ret == -ENODEV)
		return ret;
	if (read_only_dir(v))
		return -EROFS;
	if (!ret)
		ret = tpm_wipe_steps(v);
	if (ret < 0 && op_again(v))
		ret = tpm_wipe_steps(v);
	/* a wipe cut short is finished by the next start: try it now */
	if (ret < 0 && op_begin(v) == 0)
		ret = tpm_wipe_steps(v);
	return ret;
}

/* Policy --------------------------------------------------------------- */

static int do_policy_store(struct vault *v,
			   const struct safelock_admin_policy *p)
{
	struct tpm_vault *t = v->priv;
	struct safelock_admin_policy old = t->tab.policy;
	bool had = t->tab.has_policy;
	int ret;

	ret = begin(v);
	if (ret)
		return ret;
	ret = table_policy_check(p, v->errmsg, sizeof(v->errmsg));
	if (ret)
		return ret;
	/* unchanged: nothing to commit, unless the owner re-anchors the clock */
	if (had && !memcmp(&old, p, sizeof(*p)) && !t->vouch_wall_s)
		return 0;
	t->tab.policy = *p;
	t->tab.has_policy = true;
	ret = table_commit(v);
	if (ret) {
		t->tab.policy = old;
		t->tab.has_policy = had;
	}
	return ret;
}

int tpm_policy_store(struct vault *v, const struct safelock_admin_policy *p)
{
	int ret;

	RETRY_LOST(v, ret, do_policy_store(v, p));
	return ret;
}

int tpm_policy_load(struct vault *v, struct safelock_admin_policy *p)
{
	struct tpm_vault *t = v->priv;
	int ret;

	ret = begin(v);
	if (ret)
		return ret;
	if (t->tab.has_policy)
		*p = t->tab.policy;
	else
		table_policy_defaults(p);
	return 0;
}

/* Audit ---------------------------------------------------------------- */

/*
 * The audit key: a KEYEDHASH HMAC-SHA-256 key made in the TPM (its secret
 * never leaves it), NODA with an empty auth (it is no code: no DA
 * budget spent, and nothing to guess), its blob in the table.
 */
static int audit_key_create(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM |
					    TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_NODA |
					    TPMA_OBJECT_SIGN_ENCRYPT,
			.parameters.keyedHashDetail.scheme = {
				.scheme = TPM2_ALG_HMAC,
				.details.hmac.hashAlg = TPM2_ALG_SHA256,
			},
		},
	};
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	uint8_t buf[SLOT_BLOB_MAX];
	struct vault_slot *s = &t->tab.audit;
	size_t off = 0;
	TSS2_RC rc;
	int ret;

	t->wrote = true;
	TPM_RUN(t, rc, Esys_Create(t->ctx, t->primary, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
				   &outside, &pcrs, &priv, &pub, NULL, NULL,
				   NULL));
	if (!rc)
		rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (!rc)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off);
	Esys_Free(priv);
	Esys_Free(pub);
	if (rc)
		return tpm_fail(v, "create the audit key", rc);
	memset(s, 0, sizeof(*s));
	s->blob = malloc(off);
	if (!s->blob)
		return sys_fail(v, "allocate", ENOMEM);
	memcpy(s->blob, buf, off);
	s->len = (uint16_t)off;
	ret = table_commit(v);
	if (ret)
		slot_free(s);
	return ret;
}

static int do_audit_key(struct vault *v, const uint8_t file_id[16],
			uint8_t key[32])
{
	struct tpm_vault *t = v->priv;
	TPM2B_MAX_BUFFER in = { .size = 16 };
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TPM2B_DIGEST *out = NULL;
	TSS2_RC rc;
	int ret;

	ret = begin(v);
	if (!ret && !t->tab.audit.len)
		ret = audit_key_create(v);
	if (!ret)
		ret = slot_load(v, &t->tab.audit, ESYS_TR_NONE, &obj);
	if (ret)
		return ret;
	memcpy(in.buffer, file_id, 16);
	/* ENCRYPT: the derived key comes back encrypted */
	rc = start_session(t, TPM2_SE_HMAC, TPMA_SESSION_ENCRYPT, &s);
	if (!rc)
		TPM_RUN(t, rc, Esys_HMAC(t->ctx, obj, s, ESYS_TR_NONE,
					 ESYS_TR_NONE, &in, TPM2_ALG_SHA256,
					 &out));
	if (!rc && out->size != 32)
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
	if (rc) {
		ret = tpm_fail(v, "audit key HMAC", rc);
	} else {
		memcpy(key, out->buffer, 32);
		ret = 0;
	}
	if (out)
		safelock_wipe(out, sizeof(*out));
	Esys_Free(out);
	flush(t, &obj);
	flush(t, &s);
	return ret;
}

int tpm_audit_key(struct vault *v, const uint8_t file_id[16], uint8_t key[32])
{
	int ret;

	RETRY_LOST(v, ret, do_audit_key(v, file_id, key));
	return ret;
}

static int do_anchor_store(struct vault *v, const struct audit_anchor *a)
{
	struct tpm_vault *t = v->priv;
	uint8_t buf[ANCHOR_SIZE] = { 0 };
	TSS2_RC rc;
	int ret;

	ret = op_begin(v);
	if (ret)
		return ret;
	ret = nv_index(v, ANCHOR_NV, ANCHOR_SIZE, true, &t->anchor_nv);
	if (ret < 0)
		return ret;
	put_be(buf, ANCHOR_MAGIC, 4);
	put_be(buf + 8, a->records, 8);
	memcpy(buf + 16, a->hash, 32);
	rc = nv_write(t, t->anchor_nv, buf, sizeof(buf), 0);
	if (rc)
		return tpm_fail(v, "store the audit anchor", rc);
	return 0;
}

int tpm_anchor_store(struct vault *v, const struct audit_anchor *a)
{
	int ret;

	RETRY_LOST(v, ret, do_anchor_store(v, a));
	return ret;
}

static int do_anchor_load(struct vault *v, struct audit_anchor *a)
{
	struct tpm_vault *t = v->priv;
	uint8_t buf[ANCHOR_SIZE];
	TSS2_RC rc;
	int ret;

	ret = op_begin(v);
	if (ret)
		return ret;
	ret = nv_index(v, ANCHOR_NV, ANCHOR_SIZE, false, &t->anchor_nv);
	if (ret == -ENOENT) {
		snprintf(v->errmsg, sizeof(v->errmsg), "no audit anchor stored");
		return ret;
	}
	if (ret < 0)
		return ret;
	rc = nv_read(t, t->anchor_nv, buf, sizeof(buf));
	if (rc && rc_base(rc) == TPM2_RC_NV_UNINITIALIZED) {
		snprintf(v->errmsg, sizeof(v->errmsg), "no audit anchor stored");
		return -ENOENT;
	}
	if (rc)
		return tpm_fail(v, "read the audit anchor", rc);
	if (get_be(buf, 4) != ANCHOR_MAGIC) {
		snprintf(v->errmsg, sizeof(v->errmsg), "damaged audit anchor");
		return -EBADMSG;
	}
	a->records = get_be(buf + 8, 8);
	memcpy(a->hash, buf + 16, 32);
	return 0;
}

int tpm_anchor_load(struct vault *v, struct audit_anchor *a)
{
	int ret;

	RETRY_LOST(v, ret, do_anchor_load(v, a));
	return ret;
}
