// SPDX-License-Identifier: GPL-2.0
/* The in-memory vault of the admin tests (fake_vault.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libsafelock.h"
#include "../safelockd/adminsrv.h"
#include "fake_vault.h"

static struct fake_vault *fv_of(struct vault *v)
{
	return v->priv;
}

/* Common entry: count, inject failures. 0 or -errno. */
static int enter(struct vault *v, const char *op, bool changes)
{
	struct fake_vault *fv = fv_of(v);

	fv->calls++;
	v->errmsg[0] = '\0';
	if (fv->down) {
		snprintf(v->errmsg, sizeof(v->errmsg), "fake TPM not answering");
		return -EIO;
	}
	if (fv->fail_op && !strcmp(fv->fail_op, op)) {
		snprintf(v->errmsg, sizeof(v->errmsg), "injected failure of %s", op);
		return fv->fail_err;
	}
	if (changes)
		fv->changes++;
	/* a change is a commit: it carries the anchor the owner vouched for */
	if (changes && fv->vouch_wall_s) {
		fv->has_anchor = true;
		fv->anchor.wall_s = fv->vouch_wall_s;
		fv->anchor.clock_ms = fv->now_ms;
		fv->anchors++;
	}
	return 0;
}

static bool id_ok(unsigned int id)
{
	return id >= 1 && id <= SAFELOCK_ADMIN_USERS_MAX;
}

static int f_open(struct vault *v, const struct vault_config *cfg)
{
	(void)v;
	(void)cfg;
	return 0;
}

static void f_close(struct vault *v)
{
	(void)v;
}

static unsigned int delay_left(const struct fake_vault *fv, unsigned int failures,
			       uint64_t last)
{
	uint64_t d = vault_schedule_delay_ms(failures);

	if (d == VAULT_RETRY_DISABLED)
		return VAULT_RETRY_DISABLED;
	if (fv->now_ms >= last + d)
		return 0;
	return (unsigned int)(last + d - fv->now_ms);
}

static unsigned int user_retry(const struct fake_vault *fv, const struct fake_user *u)
{
	return delay_left(fv, u->failures, u->last_fail_ms);
}

static int f_throttle(struct vault *v, unsigned int id, struct vault_throttle *st)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "throttle", false);

	if (ret)
		return ret;
	if (!id_ok(id) || !fv->users[id].used)
		return -ENOENT;
	st->user_failures = fv->users[id].failures;
	st->global_failures = fv->global_failures;
	st->retry_after_ms = user_retry(fv, &fv->users[id]);
	return 0;
}

static int compare(struct vault *v, unsigned int id, const char *code, size_t len,
		   unsigned int *retry, struct vault_result *res, bool keypad)
{
	struct fake_vault *fv = fv_of(v);
	struct fake_user *u = id_ok(id) ? &fv->users[id] : NULL;
	bool right = false, duress = false;

	*retry = 0;
	res->role = SAFELOCK_ROLE_NONE;
	res->duress = false;
	if (u && u->used) {
		*retry = user_retry(fv, u);
		if (*retry)
			return VAULT_DENIED;	/* during a delay: no check */
		right = strlen(u->code) == len && !memcmp(u->code, code, len);
		duress = !right && u->duress[0] && strlen(u->duress) == len &&
			 !memcmp(u->duress, code, len);
	}
	fv->checks++;
	if (right || duress) {
		u->failures = 0;
		fv->global_failures = 0;
		res->role = u->role;
		res->duress = duress;
		if (keypad && u->role == SAFELOCK_ROLE_AUDITOR)
			return VAULT_DENIED;
		return VAULT_GRANTED;
	}
	fv->global_failures++;
	if (u && u->used) {
		u->failures++;
		u->last_fail_ms = fv->now_ms;
		*retry = user_retry(fv, u);
	}
	return VAULT_DENIED;
}

static int f_check(struct vault *v, unsigned int id, const char *code, size_t len,
		   unsigned int *retry, struct vault_result *res)
{
	int ret = enter(v, "check", false);

	if (ret)
		return ret;
	return compare(v, id, code, len, retry, res, false);
}

static int f_verify(struct vault *v, uint64_t req, unsigned int id,
		    const char *code, size_t len, unsigned int *retry,
		    struct vault_result *res)
{
	int ret = enter(v, "verify", false);

	(void)req;
	*retry = 0;
	if (ret)
		return ret;
	return compare(v, id, code, len, retry, res, true);
}

static int f_provisioned(struct vault *v)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "provisioned", false);

	if (ret)
		return ret;
	if (fv->damaged)
		return SAFELOCK_VAULT_DAMAGED;
	return fv->users[1].used ? SAFELOCK_VAULT_OWNED : SAFELOCK_VAULT_EMPTY;
}

/* The vault's clock is the fake one tests move (now_ms), not the wall's. */
static int f_clock_ms(struct vault *v, uint64_t *ms)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "clock_ms", false);

	if (ret)
		return ret;
	if (fv->clock_fail) {
		snprintf(v->errmsg, sizeof(v->errmsg), "fake TPM clock unreadable");
		return -EIO;
	}
	*ms = fv->now_ms;
	return 0;
}

static int f_clock_anchor(struct vault *v, struct vault_clock_anchor *a)
{
	struct fake_vault *fv = fv_of(v);

	if (!fv->has_anchor)
		return -ENOENT;
	*a = fv->anchor;
	return 0;
}

static void f_clock_vouch(struct vault *v, uint64_t wall_s)
{
	fv_of(v)->vouch_wall_s = wall_s;
}

static int f_user_add(struct vault *v, unsigned int id, enum safelock_role role,
		      const char *code, size_t len)
{
	struct fake_vault *fv = fv_of(v);
	int ret;

	if (!id_ok(id) || role <= SAFELOCK_ROLE_NONE || role >= SAFELOCK_ROLE_MAX ||
	    !safelock_code_valid(code, len))
		return -EINVAL;
	if (fv->users[id].used)
		return -EEXIST;
	ret = enter(v, "user_add", true);
	if (ret)
		return ret;
	memset(&fv->users[id], 0, sizeof(fv->users[id]));
	fv->users[id].used = true;
	fv->users[id].role = role;
	memcpy(fv->users[id].code, code, len);
	return 0;
}

static int f_enrol(struct vault *v, unsigned int id, const char *code, size_t len)
{
	return f_user_add(v, id, id == 1 ? SAFELOCK_ROLE_OWNER : SAFELOCK_ROLE_USER,
			  code, len);
}

static int f_user_del(struct vault *v, unsigned int id)
{
	struct fake_vault *fv = fv_of(v);
	int ret;

	if (!id_ok(id) || !fv->users[id].used)
		return -ENOENT;
	ret = enter(v, "user_del", true);
	if (ret)
		return ret;
	memset(&fv->users[id], 0, sizeof(fv->users[id]));
	return 0;
}

static int f_user_set_role(struct vault *v, unsigned int id, enum safelock_role role)
{
	struct fake_vault *fv = fv_of(v);
	int ret;

	if (!id_ok(id) || !fv->users[id].used)
		return -ENOENT;
	ret = enter(v, "user_set_role", true);
	if (ret)
		return ret;
	fv->users[id].role = role;
	return 0;
}

static int f_user_list(struct vault *v, struct vault_user *out, size_t max, size_t *n)
{
	struct fake_vault *fv = fv_of(v);
	unsigned int id;
	int ret = enter(v, "user_list", false);

	*n = 0;
	if (ret)
		return ret;
	for (id = 1; id <= SAFELOCK_ADMIN_USERS_MAX && *n < max; id++) {
		struct fake_user *u = &fv->users[id];

		if (!u->used)
			continue;
		out[*n] = (struct vault_user){
			.user_id = id, .role = u->role, .has_duress = u->duress[0] != 0,
			.throttle = {
				.user_failures = u->failures,
				.global_failures = fv->global_failures,
				.retry_after_ms = user_retry(fv, u),
			},
		};
		(*n)++;
	}
	return 0;
}

static int f_code_change(struct vault *v, unsigned int id, const char *code, size_t len)
{
	struct fake_vault *fv = fv_of(v);
	int ret;

	if (!id_ok(id) || !fv->users[id].used)
		return -ENOENT;
	if (!safelock_code_valid(code, len) ||
	    (strlen(fv->users[id].duress) == len && !memcmp(fv->users[id].duress, code, len)))
		return -EINVAL;
	ret = enter(v, "code_change", true);
	if (ret)
		return ret;
	memset(fv->users[id].code, 0, sizeof(fv->users[id].code));
	memcpy(fv->users[id].code, code, len);
	fv->users[id].failures = 0;
	return 0;
}

static int f_duress_set(struct vault *v, unsigned int id, const char *code, size_t len)
{
	struct fake_vault *fv = fv_of(v);
	int ret;

	if (!id_ok(id) || !fv->users[id].used)
		return -ENOENT;
	if (len && (!safelock_code_valid(code, len) ||
		    (strlen(fv->users[id].code) == len && !memcmp(fv->users[id].code, code, len))))
		return -EINVAL;
	ret = enter(v, "duress_set", true);
	if (ret)
		return ret;
	memset(fv->users[id].duress, 0, sizeof(fv->users[id].duress));
	memcpy(fv->users[id].duress, code, len);
	return 0;
}

static int f_recovery_new(struct vault *v, char text[SAFELOCK_RECOVERY_TEXT_SIZE])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct fake_vault *fv = fv_of(v);
	unsigned int x, i, o = 0;
	int ret = enter(v, "recovery_new", true);

	if (ret)
		return ret;
	x = 2654435761u * ++fv->recovery_seq + (unsigned int)fv->now_ms;
	for (i = 0; i < 32; i++) {
		if (i && i % 4 == 0)
			text[o++] = '-';
		x = x * 1103515245u + 12345u;
		text[o++] = alphabet[(x >> 16) & 31];
	}
	text[o] = '\0';
	memcpy(fv->recovery, text, o + 1);
	fv->recovery_failures = 0;
	return 0;
}

static int f_recovery_check(struct vault *v, const char *text, unsigned int *retry)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "recovery_check", false);

	*retry = 0;
	if (ret)
		return ret;
	*retry = delay_left(fv, fv->recovery_failures, fv->recovery_last_fail_ms);
	if (*retry)
		return VAULT_DENIED;
	fv->checks++;
	/* the server hands the canonical form; compare it as is */
	if (fv->recovery[0] && !strcmp(fv->recovery, text)) {
		fv->recovery_failures = 0;
		return VAULT_GRANTED;
	}
	fv->recovery_failures++;
	fv->recovery_last_fail_ms = fv->now_ms;
	*retry = delay_left(fv, fv->recovery_failures, fv->recovery_last_fail_ms);
	return VAULT_DENIED;
}

static int f_wipe(struct vault *v)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "wipe", true);

	if (ret)
		return ret;
	memset(fv->users, 0, sizeof(fv->users));
	memset(fv->recovery, 0, sizeof(fv->recovery));
	fv->has_policy = false;
	fv->global_failures = 0;
	fv->recovery_failures = 0;
	return 0;
}

static int f_policy_store(struct vault *v, const struct safelock_admin_policy *p)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "policy_store", true);

	if (ret)
		return ret;
	fv->policy = *p;		/* reserved[] verbatim */
	fv->has_policy = true;
	return 0;
}

static int f_policy_load(struct vault *v, struct safelock_admin_policy *p)
{
	struct fake_vault *fv = fv_of(v);
	int ret = enter(v, "policy_load", false);

	if (ret)
		return ret;
	if (fv->has_policy)
		*p = fv->policy;
	else
		policy_defaults(p);
	return 0;
}

/* Test keys only: the real ones are HMACs in the TPM. */
static int f_audit_key(struct vault *v, const uint8_t file_id[16], uint8_t key[32])
{
	(void)v;
	memcpy(key, file_id, 16);
	memcpy(key + 16, file_id, 16);
	return 0;
}

static struct audit_anchor fake_anchor;
static bool fake_anchor_set;

static int f_anchor_store(struct vault *v, const struct audit_anchor *a)
{
	struct fake_vault *fv = v->priv;

	fv->audit_anchors++;
	fake_anchor = *a;
	fake_anchor_set = true;
	return 0;
}

static int f_anchor_load(struct vault *v, struct audit_anchor *a)
{
	(void)v;
	if (!fake_anchor_set)
		return -ENOENT;
	*a = fake_anchor;
	return 0;
}

const struct vault_ops fake_vault_ops = {
	.name = "fake",
	.open = f_open,
	.close = f_close,
	.enrol = f_enrol,
	.verify = f_verify,
	.throttle = f_throttle,
	.provisioned = f_provisioned,
	.clock_ms = f_clock_ms,
	.clock_anchor = f_clock_anchor,
	.clock_vouch = f_clock_vouch,
	.check = f_check,
	.user_add = f_user_add,
	.user_del = f_user_del,
	.user_set_role = f_user_set_role,
	.user_list = f_user_list,
	.code_change = f_code_change,
	.duress_set = f_duress_set,
	.recovery_new = f_recovery_new,
	.recovery_check = f_recovery_check,
	.wipe = f_wipe,
	.policy_store = f_policy_store,
	.policy_load = f_policy_load,
	.audit_key = f_audit_key,
	.anchor_store = f_anchor_store,
	.anchor_load = f_anchor_load,
};

void fake_vault_init(struct vault *v, struct fake_vault *fv)
{
	memset(fv, 0, sizeof(*fv));
	memset(v, 0, sizeof(*v));
	fv->now_ms = 1000000;
	v->ops = &fake_vault_ops;
	v->priv = fv;
}
