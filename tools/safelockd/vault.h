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
};

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

struct vault;

struct vault_ops {
	const char *name;
	/* 0 or -errno; a reason in vault->errmsg */
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
	 * code unknown yet): do ahead what does not need them, so that less
	 * is left after ENTER. A backend counts the try here, before any
	 * check, exactly as verify() would; at most one entry is prepared
	 * (a new one cancels the old). Optional (NULL), best effort: 0 or
	 * -errno, and verify() works the same with or without it.
	 */
	int (*prepare)(struct vault *v, uint64_t request_id);
	/*
	 * Undo the preparation of @request_id (0: whichever), for an entry
	 * that will not be checked: its count is rolled back, which is safe
	 * because no code was checked for it. A preparation that is never
	 * cancelled nor verified (power cut, crash, close()) stays counted
	 * as a failure. 0 or -errno.
	 */
	int (*cancel)(struct vault *v, uint64_t request_id);
	/* Cancel a preparation older than VAULT_PREPARE_TTL_MS; call often. */
	void (*expire)(struct vault *v);
	/*
	 * Check entry @request_id: VAULT_GRANTED, VAULT_DENIED, or -errno
	 * (the caller then denies). With the prepared request id it uses the
	 * preparation; with any other, it cancels a stale one and does the
	 * whole work itself. *retry_after_ms: how long the keypad must stay
	 * quiet before the next try (0: none; VAULT_RETRY_DISABLED: entry
	 * disabled), set on every return. A try during a delay is denied
	 * without a check.
	 *
	 * The verdict is final when verify() returns; work that can safely
	 * wait (see finish()) may be left for after it is delivered.
	 */
	int (*verify)(struct vault *v, uint64_t request_id,
		      unsigned int user_id, const char *code, size_t len,
		      unsigned int *retry_after_ms);
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
	/* 1 if at least one user is enrolled, 0 if none, -errno */
	int (*provisioned)(struct vault *v);
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
};

extern const struct vault_ops vault_tpm_ops;

#endif /* SAFELOCKD_VAULT_H */
