/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vault: where enrolled codes live and are checked. safelockd only
 * talks to it through struct vault_ops, so a backend other than the TPM
 * (an OP-TEE trusted application, say) fits behind the same interface.
 *
 * A backend never stores a code or anything an attacker could test codes
 * against offline, and it throttles wrong codes itself: failure counters
 * kept in the vault (written before each check), the escalating schedule
 * of schedule.c, and the TPM's dictionary-attack counter as a backstop.
 */
#ifndef SAFELOCKD_VAULT_H
#define SAFELOCKD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.h"
#include "audit.h"

enum vault_verdict {
	VAULT_DENIED = 0,
	VAULT_GRANTED = 1,
};

/*
 * The retry-after of a verdict when code entry is disabled (the hard limit
 * of consecutive failures was reached): until recovery, not a real delay.
 * safelockd sends it as is in SAFELOCK_A_RETRY_AFTER_MS.
 */
#define VAULT_RETRY_DISABLED	UINT32_MAX

/*
 * The escalating schedule (schedule.c): after @failures consecutive
 * failures, how long from the last failure until the next try, in ms;
 * VAULT_RETRY_DISABLED at and above VAULT_HARD_LIMIT.
 */
#define VAULT_HARD_LIMIT	20
uint64_t vault_schedule_delay_ms(unsigned int failures);

struct vault_config {
	const char *tcti;	/* TPM: TCTI configuration string */
	const char *state_dir;	/* where sealed objects are kept */
	/*
	 * For tests only; safelockd has no option and reads no environment
	 * variable that sets them, so they stay 0/false in production.
	 * test_clock_offset_ms: added to the vault's clock (delays pass
	 * without waiting). test_cut_after_count: verify() counts the try,
	 * then returns -ECANCELED without checking or settling, as if power
	 * had been cut at that point.
	 */
	uint64_t test_clock_offset_ms;
	bool test_cut_after_count;
	/*
	 * Tests only: the monotonic clock (ms) a preparation's age is
	 * measured on; NULL: CLOCK_MONOTONIC.
	 */
	uint64_t (*test_monotonic_ms)(void);
	/*
	 * safelockd sets it: a vault that cannot be opened now (no TPM
	 * device, a TPM that does not answer, its NV or the state directory
	 * unreadable) is opened anyway, "not open yet": open() returns
	 * VAULT_OPEN_LATER with the reason in v->errmsg, every op then fails
	 * -ENODEV with "the vault cannot be opened: <reason>" and sends
	 * nothing to the TPM, and provisioned() tries the real open again,
	 * at most once per backoff (VAULT_REOPEN_FIRST_MS, doubling up to
	 * VAULT_REOPEN_MAX_MS), until it opens; from then on the vault is
	 * as if open() had succeeded. So safelockd can register the lock as
	 * DAMAGED meanwhile: a provisioned lock never looks new because its
	 * TPM is missing. false: open() fails instead (tests, tools).
	 */
	bool keep_trying;
};

/* open() with keep_trying: not open yet, retried by provisioned() */
#define VAULT_OPEN_LATER	1
#define VAULT_REOPEN_FIRST_MS	1000
#define VAULT_REOPEN_MAX_MS	30000

/*
 * How long a preparation waits for its VERIFY before expire() rolls it
 * back: longer than the kernel's entry and verify timeouts together for
 * any sensible entry. A VERIFY that comes later still works (unprepared).
 */
#define VAULT_PREPARE_TTL_MS	(120 * 1000)

/* The throttling state of a user, as the vault sees it now. */
struct vault_throttle {
	unsigned int user_failures;	/* consecutive, this user */
	unsigned int global_failures;	/* consecutive, every user */
	unsigned int retry_after_ms;	/* 0: may try now */
};

/*
 * What a right code says about its user (verify() and check()): the role
 * is authenticated by the vault (a flash edit cannot promote a user), and
 * duress is set when the code typed was the user's duress code.
 */
struct vault_result {
	enum safelock_role role;
	bool duress;
};

/* One user, as user_list() reports it; no secret. */
struct vault_user {
	unsigned int user_id;
	enum safelock_role role;
	bool has_duress;
	struct vault_throttle throttle;
};

/*
 * The wall clock's anchor on the vault's clock: at a commit the owner
 * vouched for (vault_ops.clock_vouch), the wall clock read @wall_s
 * (CLOCK_REALTIME seconds, UTC) when the vault's clock (clock_ms()) read
 * @clock_ms. Kept with the users, so authenticated and versioned like
 * them. safelockd derives a lower bound of the wall clock from it
 * (policy_clock_check(), adminsrv.h).
 */
struct vault_clock_anchor {
	uint64_t wall_s;
	uint64_t clock_ms;
};

struct vault;

struct vault_ops {
	const char *name;
	/*
	 * 0 or -errno; a reason in vault->errmsg. With cfg->keep_trying,
	 * VAULT_OPEN_LATER instead of a failure of the TPM or the state
	 * directory (see struct vault_config); close() it as if open.
	 */
	int (*open)(struct vault *v, const struct vault_config *cfg);
	/*
	 * Settles nothing: an unfinished try or a preparation left open
	 * stays counted as a failure, as after a power cut.
	 */
	void (*close)(struct vault *v);
	/* 0, -EINVAL for a bad user or code, other -errno */
	int (*enrol)(struct vault *v, unsigned int user_id, const char *code,
		     size_t len);
	/*
	 * An entry with id @request_id has begun (its first key; user and
	 * code unknown yet): arm what a check needs that does not depend on
	 * them (the TPM's sessions), so that less is left after ENTER.
	 * Nothing is counted: an entry abandoned before its user id costs no
	 * write. At most one entry is prepared (a new one ends the old, see
	 * prepare_user()). Optional (NULL), best effort: 0 or -errno, and
	 * verify() works the same with or without it.
	 */
	int (*prepare)(struct vault *v, uint64_t request_id);
	/*
	 * The entry @request_id has its user id @user_id (ENTRY_USER): from
	 * here it is a try. Unless the user or the lock is in a delay, the
	 * backend counts it, exactly as verify() would before its check, and
	 * loads what the check of @user_id needs, so that only the check
	 * itself is left after ENTER. A counted try is never rolled back by
	 * the entry's abandonment (no VERIFY within VAULT_PREPARE_TTL_MS, a
	 * newer entry, a VERIFY for another user or id): it stays a failure
	 * of @user_id, so the writes a stranger causes are throttled like
	 * wrong codes. Optional (NULL), best effort, 0 or -errno.
	 */
	int (*prepare_user)(struct vault *v, uint64_t request_id,
			    unsigned int user_id);
	/*
	 * The verifier refuses entry @request_id (0: whichever) unchecked
	 * for a reason of its own (deadline passed, no policy, the clock
	 * behind, a clean stop): its count is rolled back, which is safe
	 * because no code was checked for it. A preparation that is never
	 * cancelled nor verified (power cut, crash, close()) stays counted
	 * as a failure. 0 or -errno.
	 */
	int (*cancel)(struct vault *v, uint64_t request_id);
	/* End a preparation older than VAULT_PREPARE_TTL_MS; call often. */
	void (*expire)(struct vault *v);
	/*
	 * Check entry @request_id: VAULT_GRANTED, VAULT_DENIED, or -errno
	 * (the caller then denies). With the prepared request id and user it
	 * uses the preparation; with any other, it ends a stale one (see
	 * prepare_user()) and does the whole work itself. *retry_after_ms: how long the keypad must stay
	 * quiet before the next try (0: none; VAULT_RETRY_DISABLED: entry
	 * disabled), set on every return. A try during a delay is denied
	 * without a check.
	 *
	 * The verdict is final when verify() returns; work that can safely
	 * wait (see finish()) may be left for after it is delivered.
	 * A right code resets its user's failure count, and the lock-wide
	 * count only if opened() is called next.
	 */
	int (*verify)(struct vault *v, uint64_t request_id,
		      unsigned int user_id, const char *code, size_t len,
		      unsigned int *retry_after_ms, struct vault_result *res);
	/*
	 * Do the work verify() left for after its verdict (settling writes,
	 * cleanup). Call it once the verdict is sent; every other op but
	 * close() also runs it first if it was not. Only work whose loss by
	 * a power cut counts the try as a failure is left for it. 0 or
	 * -errno.
	 */
	int (*finish)(struct vault *v);
	/* 0 and *st, or -errno */
	int (*throttle)(struct vault *v, unsigned int user_id,
			struct vault_throttle *st);
	/*
	 * What safelockd tells the kernel at registration (enum
	 * safelock_vault, uapi/linux/safelock.h):
	 *   SAFELOCK_VAULT_EMPTY    no owner: nothing of the vault in the TPM
	 *                           and no table, or a table of no user that
	 *                           the TPM's record says is one (a new lock,
	 *                           or a completed wipe);
	 *   SAFELOCK_VAULT_OWNED    an owner is enrolled and the vault reads;
	 *   SAFELOCK_VAULT_DAMAGED  the TPM's record says an owner's table
	 *                           exists but it is missing, edited, older,
	 *                           or from another TPM; or the TPM's primary
	 *                           is not the one recorded. The reason is in
	 *                           v->errmsg. Never new: init refuses it.
	 * or -errno for a failure that may pass (TPM not answering): the
	 * caller must treat it as SAFELOCK_VAULT_DAMAGED, never as EMPTY.
	 * -ENODEV: not open (open() said VAULT_OPEN_LATER and no retry has
	 * succeeded yet; each call may retry, see struct vault_config).
	 */
	int (*provisioned)(struct vault *v);
	/*
	 * The vault's clock for delays that must survive reboots and wall
	 * clock changes (the recovery delay, the immediate time lock): ms,
	 * monotonic across reboots and never set back by the backend (the
	 * TPM's Clock; the highest reading seen is kept). 0 and *ms, or
	 * -errno: the caller then must not count any time as passed.
	 */
	int (*clock_ms)(struct vault *v, uint64_t *ms);
	/*
	 * The GRANTED of the last verify() became an opening verdict
	 * (policy_verdict() said SAFELOCK_RESULT_GRANTED): only then is the
	 * lock-wide failure count reset. Call it before finish(). Without
	 * it, a right code resets its own user's count only (an auditor's
	 * code, a courier without override, an admin check()). Optional
	 * (NULL). 0 or -errno.
	 */
	int (*opened)(struct vault *v);
	/*
	 * The clock anchor of the table in force: 0 and *a, or -ENOENT (none
	 * was ever written: a new vault, a table written by an older
	 * safelockd) or another -errno (the vault cannot be read: every check
	 * fails then anyway). From memory: no TPM command. Optional (NULL:
	 * no anchor).
	 */
	int (*clock_anchor)(struct vault *v, struct vault_clock_anchor *a);
	/*
	 * The owner (or init, or the recovery secret) vouches that the wall
	 * clock reads @wall_s now: every commit from here until
	 * clock_vouch(v, 0) writes the anchor (@wall_s, clock_ms() at the
	 * commit) with it, replacing the one before, even with a lower
	 * @wall_s (the owner's way back from a clock that was set too far
	 * forward). It writes nothing by itself. A commit whose clock cannot
	 * be read then fails. Optional (NULL).
	 */
	void (*clock_vouch)(struct vault *v, uint64_t wall_s);

	/*
	 * Administration. The caller (safelockd's admin server) has already
	 * authorised the act; these only do it, all or nothing, and keep the
	 * user table authenticated by the vault and versioned in TPM NV (an
	 * older copy of the state directory is refused, not used).
	 *
	 * check(): a right code for an administrative act, throttled and
	 * counted exactly as verify() (same counters, same schedule): a
	 * wrong code is a failure like one typed at the keypad; a right one
	 * resets its user's count, never the lock-wide one (it opens
	 * nothing).
	 * VAULT_GRANTED, VAULT_DENIED or -errno; *retry_after_ms and *res as
	 * for verify(). -EBUSY: no code can be checked now (the TPM's
	 * dictionary-attack lockout), nothing was counted; the reason and
	 * the wait in errmsg, the wait in *retry_after_ms. (verify() says
	 * DENIED then, with the same retry-after.)
	 */
	int (*check)(struct vault *v, unsigned int user_id, const char *code,
		     size_t len, unsigned int *retry_after_ms,
		     struct vault_result *res);
	/* 0, -EEXIST, -EINVAL (bad id, role or code), -ENOSPC, -errno */
	int (*user_add)(struct vault *v, unsigned int user_id,
			enum safelock_role role, const char *code, size_t len);
	/* 0, -ENOENT, -errno. Removes the user's duress code too. */
	int (*user_del)(struct vault *v, unsigned int user_id);
	int (*user_set_role)(struct vault *v, unsigned int user_id,
			     enum safelock_role role);
	/* Fills up to @max users, sorted by id; *n is the number written. */
	int (*user_list)(struct vault *v, struct vault_user *out, size_t max,
			 size_t *n);
	int (*code_change)(struct vault *v, unsigned int user_id,
			   const char *code, size_t len);
	/* @len 0 removes it; -EINVAL if it equals the user's code */
	int (*duress_set)(struct vault *v, unsigned int user_id,
			  const char *code, size_t len);

	/*
	 * Lifecycle. recovery_new(): generate SAFELOCK_RECOVERY_BITS from
	 * the TPM's RNG, seal them like a code (only the secret itself
	 * unlocks them), and write the grouped text to @text (wiped by the
	 * caller after showing it once); the previous secret is spent.
	 * recovery_check(): like check() for the secret, throttled on its
	 * own slot; a right secret also resets the lock-wide count. wipe():
	 * every user, duress code, recovery secret, key, NV index and file of
	 * the vault; the vault is SAFELOCK_VAULT_EMPTY after.
	 */
	int (*recovery_new)(struct vault *v,
			    char text[SAFELOCK_RECOVERY_TEXT_SIZE]);
	int (*recovery_check)(struct vault *v, const char *text,
			      unsigned int *retry_after_ms);
	int (*wipe)(struct vault *v);

	/*
	 * Policy, stored by the vault with the users (authenticated the same
	 * way). policy_load() of a vault that never stored one fills the
	 * safe defaults: no delay, no dual control, no time lock.
	 */
	int (*policy_store)(struct vault *v,
			    const struct safelock_admin_policy *p);
	int (*policy_load)(struct vault *v, struct safelock_admin_policy *p);

	/*
	 * Audit: the key of audit file @file_id (an HMAC in the TPM with a
	 * key object that never leaves it), and the anchor kept in TPM NV
	 * against truncation of the log (see audit.h).
	 */
	int (*audit_key)(struct vault *v, const uint8_t file_id[16],
			 uint8_t key[32]);
	int (*anchor_store)(struct vault *v, const struct audit_anchor *a);
	/* -ENOENT if none was ever stored */
	int (*anchor_load)(struct vault *v, struct audit_anchor *a);
};

struct vault {
	const struct vault_ops *ops;
	void *priv;
	char errmsg[192];
	/*
	 * Commands sent to the secure element (TPM commands), counted by the
	 * backend: for measurements of what is left after ENTER; no secret.
	 */
	unsigned long commands;
	/* of which TPM2_NV_Write: what wears the TPM's NV */
	unsigned long nv_writes;
};

extern const struct vault_ops vault_tpm_ops;

#endif /* SAFELOCKD_VAULT_H */
