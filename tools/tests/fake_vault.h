/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-memory vault for the admin server's tests: users with roles, codes
 * and duress codes, the escalating schedule of schedule.c on a fake clock,
 * a recovery secret, a policy store, and counters of what was asked of it,
 * so a test can see that a refused request changed nothing. Test code
 * only: it keeps codes in the clear, which no real backend does.
 */
#ifndef SAFELOCK_FAKE_VAULT_H
#define SAFELOCK_FAKE_VAULT_H

#include "../safelockd/vault.h"

struct fake_user {
	bool used;
	enum safelock_role role;
	char code[SAFELOCK_CODE_MAX_DIGITS + 1];
	char duress[SAFELOCK_CODE_MAX_DIGITS + 1];
	unsigned int failures;
	uint64_t last_fail_ms;
};

struct fake_vault {
	struct fake_user users[SAFELOCK_ADMIN_USERS_MAX + 1];
	char recovery[SAFELOCK_RECOVERY_TEXT_SIZE];	/* "" : none */
	unsigned int recovery_failures;
	uint64_t recovery_last_fail_ms;
	unsigned int global_failures;
	bool has_policy;
	struct safelock_admin_policy policy;
	uint64_t now_ms;		/* the fake vault clock */
	unsigned int recovery_seq;

	/* what was asked */
	unsigned int checks;		/* check(), verify(), recovery_check() that compared */
	unsigned int changes;		/* every op that changes something */
	unsigned int calls;		/* every op */

	/* failure injection: the op named (e.g. "policy_store") fails with @fail_err */
	const char *fail_op;
	int fail_err;
	bool down;			/* every op fails with -EIO */
	bool damaged;			/* provisioned() says DAMAGED */
	bool clock_fail;		/* clock_ms() fails with -EIO */
	/* the wall clock's anchor; a change while vouched writes it */
	bool has_anchor;
	struct vault_clock_anchor anchor;
	uint64_t vouch_wall_s;
	unsigned int anchors;		/* anchors written */
	unsigned int audit_anchors;	/* audit anchors stored (anchor_store) */
};

extern const struct vault_ops fake_vault_ops;
/* A fresh, unprovisioned fake vault in @v. */
void fake_vault_init(struct vault *v, struct fake_vault *fv);

#endif /* SAFELOCK_FAKE_VAULT_H */
