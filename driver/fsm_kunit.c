// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the lock state machine (fsm.c): every transition, and the
 * properties the product rests on: only a verdict of GRANTED opens, keys
 * outside an entry change nothing, digits are wiped when an entry ends.
 *
 * Built as its own test-only module (SAFELOCK_TESTS=y) around a private copy
 * of fsm.c, so safelock.ko exports nothing for it.
 */
#include <kunit/test.h>

#include "fsm.c"

static void type(struct safelock_fsm *fsm, const char *keys, struct safelock_fsm_out *out)
{
	for (; *keys; keys++)
		safelock_fsm_key(fsm, *keys, out);
}

/* A lock that a verifier with an owner has brought to LOCKED. */
static void ready(struct safelock_fsm *fsm)
{
	struct safelock_fsm_out out;

	safelock_fsm_init(fsm);
	safelock_fsm_verifier(fsm, true, SAFELOCK_VAULT_OWNED, true, &out);
	fsm->policy_landed = true;	/* core.c: the verifier's POLICY_SET */
}

/* The relock delay passes and the throw's drive time (no bolt sensor). */
static void relocked(struct safelock_fsm *fsm)
{
	struct safelock_fsm_out out;

	safelock_fsm_relock(fsm, &out);
	safelock_fsm_bolt_done(fsm, false, &out);
}

static void fsm_starts_unprovisioned(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	safelock_fsm_init(&fsm);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), -EPERM);
	/* A verifier without an owner does not provision the lock. */
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_EMPTY, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
}

/* A factory wipe: the verifier says its vault has no owner any more. */
static void fsm_unprovisioned_again(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	/* From UNLOCKED (the door is open for a wipe): nothing driven. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_EMPTY, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_BOLT_CLOSE));
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), -EPERM);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	/* Provisioned again by a new owner: secured (the bolt was retracted). */
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* An entry being typed is abandoned; a verifier going away is not a wipe. */
	ready(&fsm);
	type(&fsm, "0011", &out);
	safelock_fsm_verifier(&fsm, false, -1, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_ENTRY);
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_EMPTY, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_STOP);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);

	/* A penalty runs out first, then UNPROVISIONED, not LOCKED. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 5000, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_EMPTY, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	safelock_fsm_penalty_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
}

static void fsm_entry_sends_user_and_code(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	safelock_fsm_key(&fsm, '0', &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_ENTRY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_EV_ENTRY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_TIMER);
	type(&fsm, "42987654", &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_EV_ENTRY);
	safelock_fsm_key(&fsm, SAFELOCK_KEY_ENTER, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_VERIFY);
	KUNIT_EXPECT_EQ(test, out.user_id, 42u);
	KUNIT_EXPECT_EQ(test, out.code_len, 6u);
	KUNIT_EXPECT_EQ(test, memcmp(out.code, "987654", 6), 0);
	/* The machine keeps no digit once the entry is sent. */
	KUNIT_EXPECT_EQ(test, fsm.entry_len, 0u);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(fsm.entry, 0, sizeof(fsm.entry)));
}

/*
 * ENTRY_USER once per entry, at its last user id digit, with the id and
 * nothing of the code; never for user 000 (no user: MALFORMED at ENTER).
 */
static void fsm_entry_user_notice(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "04", &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	safelock_fsm_key(&fsm, '2', &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	KUNIT_EXPECT_EQ(test, out.user_id, 42u);
	KUNIT_EXPECT_EQ(test, out.code_len, 0u);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_VERIFY);
	safelock_fsm_key(&fsm, '9', &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	type(&fsm, "87654", &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	safelock_fsm_key(&fsm, SAFELOCK_KEY_ENTER, &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	KUNIT_EXPECT_EQ(test, out.user_id, 42u);

	/* user 000: no notice, and MALFORMED at ENTER */
	ready(&fsm);
	type(&fsm, "00", &out);
	safelock_fsm_key(&fsm, '0', &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	/* a cleared entry starts again: a new notice at the new id */
	safelock_fsm_key(&fsm, SAFELOCK_KEY_CLEAR, &out);
	type(&fsm, "00", &out);
	safelock_fsm_key(&fsm, '7', &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
	KUNIT_EXPECT_EQ(test, out.user_id, 7u);

	/* keys ignored outside an entry give no notice */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	type(&fsm, "003", &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_ENTRY_USER);
}

static void fsm_only_granted_opens(struct kunit *test)
{
	static const enum safelock_result results[] = {
		SAFELOCK_RESULT_DENIED, SAFELOCK_RESULT_NONE, SAFELOCK_RESULT_TIMEOUT,
		SAFELOCK_RESULT_NO_VERIFIER, SAFELOCK_RESULT_MAX, 0x7fffffff,
	};
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(results); i++) {
		ready(&fsm);
		type(&fsm, "001123456E", &out);
		safelock_fsm_verdict(&fsm, results[i], 0, false, &out);
		KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
		KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
		KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_DENIED);
	}
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

static void fsm_verdict_outside_verifying_ignored(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_key(&fsm, '1', &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_ENTRY);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_malformed_entries(struct kunit *test)
{
	static const char * const entries[] = {
		"E",			/* nothing */
		"00112345E",		/* code of 5 digits */
		"0011234567890123E",	/* code of 13 digits */
		"000123456E",		/* user 0 */
		"00112345678901234567E", /* overflow */
	};
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(entries); i++) {
		ready(&fsm);
		type(&fsm, entries[i], &out);
		KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
		KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_VERIFY);
		if (i)	/* a lone ENTER in LOCKED is no attempt at all */
			KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_MALFORMED);
		KUNIT_EXPECT_EQ(test, fsm.entry_len, 0u);
	}
	/* Longest valid entry: 12 digits. */
	ready(&fsm);
	type(&fsm, "999123456789012E", &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_VERIFY);
	KUNIT_EXPECT_EQ(test, out.user_id, 999u);
	KUNIT_EXPECT_EQ(test, out.code_len, 12u);
}

static void fsm_clear_and_timeout_abandon(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "0011234", &out);
	safelock_fsm_key(&fsm, SAFELOCK_KEY_CLEAR, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_STOP);
	KUNIT_EXPECT_EQ(test, fsm.entry_len, 0u);

	type(&fsm, "0011234", &out);
	safelock_fsm_entry_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.entry_len, 0u);
	/* The rest of the old entry cannot complete a new one. */
	type(&fsm, "56E", &out);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_VERIFY);
}

static void fsm_no_verifier(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	safelock_fsm_verifier(&fsm, false, -1, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);	/* stays provisioned */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_NO_VERIFIER);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_VERIFY);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(out.code, 0, sizeof(out.code)));

	/* The verifier leaving mid-request ends the request, locked. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verifier(&fsm, false, -1, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);
}

static void fsm_keys_ignored_while_busy(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "001123456E", &out);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_lock_now(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, true, &out), -EBUSY);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	/* A verdict for the abandoned request opens nothing. */
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_penalty(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 60000, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_PENALTY_TIMER);
	KUNIT_EXPECT_EQ(test, out.retry_after_ms, 60000u);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_DENIED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);

	/* The keypad is quiet: no entry starts, nothing restarts the timer. */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	/* Locking keeps the penalty; so does the verifier leaving. */
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_PENALTY_TIMER);
	safelock_fsm_verifier(&fsm, false, -1, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	/* A stray verdict opens nothing. */
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);

	safelock_fsm_penalty_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	safelock_fsm_key(&fsm, '0', &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_ENTRY);

	/* A denial without retry-after is no penalty. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_PENALTY_TIMER);
}

static void fsm_door_relock(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	/* Door opened: the relock timer no longer throws the bolt. */
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	/* Door closed: relocked at once. */
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* A door that was never opened: the timer relocks as before. */
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	relocked(&fsm);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* Door movements outside UNLOCKED move nothing. */
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_duress(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DURESS);

	/* Duress on a denial is no grant and raises nothing. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 0, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_DURESS));
}

/* An entry by @user that the verifier accepts. */
static void accepted(struct safelock_fsm *fsm, const char *user, struct safelock_fsm_out *out)
{
	type(fsm, user, out);
	type(fsm, "123456E", out);
	safelock_fsm_verdict(fsm, SAFELOCK_RESULT_GRANTED, 0, false, out);
}

static void fsm_time_delay(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	fsm.policy.time_delay_s = 600;
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DELAY_TIMER);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	/* Digits during the delay do nothing. */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);

	safelock_fsm_delay_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_OPEN_WINDOW);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_WINDOW_TIMER);
	/* A wrong code in the window leaves the window open. */
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_OPEN_WINDOW);
	/* A right one opens. */
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_PHASE_STOP);
	KUNIT_EXPECT_FALSE(test, fsm.window);

	/* A window that closes unused: locked, and a code starts a new delay. */
	relocked(&fsm);
	accepted(&fsm, "001", &out);
	safelock_fsm_delay_over(&fsm, &out);
	safelock_fsm_window_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);

	/* CLEAR cancels a delay. */
	safelock_fsm_key(&fsm, SAFELOCK_KEY_CLEAR, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_PHASE_STOP);
	/* And LOCK_NOW cancels a window. */
	accepted(&fsm, "001", &out);
	safelock_fsm_delay_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, fsm.window);
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
}

static void fsm_dual_control(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	fsm.policy.dual_control = true;
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_TIMER);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	/* The same person twice is still one person. */
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	/* A wrong code from someone else changes nothing. */
	type(&fsm, "002123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_STOP);

	/* Too late for the second user: back to locked. */
	relocked(&fsm);
	accepted(&fsm, "001", &out);
	safelock_fsm_dual_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);

	/* Dual control and a time delay: two users start it, two open. */
	ready(&fsm);
	fsm.policy.dual_control = true;
	fsm.policy.time_delay_s = 60;
	accepted(&fsm, "001", &out);
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	safelock_fsm_delay_over(&fsm, &out);
	accepted(&fsm, "003", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
}

/* A LOCKED lock whose board has a bolt sensor, with two retries. */
static void ready_sensor(struct safelock_fsm *fsm)
{
	ready(fsm);
	fsm->bolt_sensor = true;
	fsm->bolt_retries = 2;
}

/* Granted, on a sensor board: the bolt is on its way, still VERIFYING. */
static void opening(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	ready_sensor(fsm);
	accepted(fsm, "001", out);
}

static void fsm_sensor_confirms_open_and_close(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_GRANTED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	KUNIT_EXPECT_EQ(test, fsm.bolt_move, SAFELOCK_BOLT_OPENING);
	/* Meanwhile keys, verdicts, the verifier leaving change nothing. */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verify_failed(&fsm, SAFELOCK_RESULT_TIMEOUT, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verifier(&fsm, false, -1, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	/* A reading that is not the end of the move is ignored. */
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);

	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_DONE);
	KUNIT_EXPECT_TRUE(test, out.bolt_open);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_UNWATCH);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	KUNIT_EXPECT_EQ(test, fsm.bolt_move, SAFELOCK_BOLT_IDLE);

	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_DONE);
	KUNIT_EXPECT_FALSE(test, out.bolt_open);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_TRUE(test, fsm.bolt_secure);
}

static void fsm_no_sensor_relock_takes_drive_time(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	accepted(&fsm, "001", &out);
	/* Without a sensor: UNLOCKED when driven, as before. */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	/* The end of the drive time is the end of the throw. */
	safelock_fsm_bolt_done(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	/* Locking a locked lock needs no relock. */
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	/* Nor a door that opens and closes without an opening. */
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_jam_open_retries_then_fault(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	unsigned int i;

	opening(&fsm, &out);
	for (i = 0; i < 2; i++) {
		safelock_fsm_bolt_timeout(&fsm, &out);
		KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
		KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_STOP);
		KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
		KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
		KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_FAULT);
	}
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_JAM_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_STOP);
	/* The grant was answered: no request to end, no second attempt. */
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_EV_ATTEMPT);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_BOLT_CLOSE));
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	/* A late confirmation or timeout changes nothing. */
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	/* FAULT: the keypad is quiet, nothing but a relock leaves it. */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verifier(&fsm, false, -1, true, &out);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, false, &out);
	safelock_fsm_relock(&fsm, &out);
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_door(&fsm, false, &out);
	safelock_fsm_penalty_over(&fsm, &out);
	safelock_fsm_window_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, true, &out), -EBUSY);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_NONE);
	KUNIT_EXPECT_EQ(test, fsm.fault, SAFELOCK_FAULT_NONE);
	safelock_fsm_key(&fsm, '0', &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_ENTRY);
}

static void fsm_retry_then_success(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.bolt_tries, 1u);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_FAULT);
	/* The next move starts with every retry again. */
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.bolt_tries, 0u);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* No retries at all: the first timeout is a jam. */
	opening(&fsm, &out);
	fsm.bolt_retries = 0;
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
}

static void fsm_jam_close_and_fault_clear(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), -ENOENT);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	safelock_fsm_relock(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_JAM_CLOSE);
	KUNIT_EXPECT_FALSE(test, fsm.bolt_secure);

	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, true, &out), -EBUSY);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), -EALREADY);
	/* It jams again: FAULT again. */
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), 0);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_NONE);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), -ENOENT);
}

static void fsm_sensor_fault(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	/* LOCKED: the bolt pushed back with nobody driving it. */
	ready_sensor(&fsm);
	safelock_fsm_bolt_sensed(&fsm, false, &out);	/* where it should be */
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_SENSOR);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_STOP);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_BOLT_CLOSE));
	/* In fault the sensor is not news. */
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* During an entry: it is abandoned, digits wiped. */
	ready_sensor(&fsm);
	type(&fsm, "00112", &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_STOP);
	KUNIT_EXPECT_EQ(test, fsm.entry_len, 0u);

	/* With a request pending: it ends, and its verdict opens nothing. */
	ready_sensor(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);

	/* In a time delay: abandoned. */
	ready_sensor(&fsm);
	fsm.policy.time_delay_s = 60;
	accepted(&fsm, "001", &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_PHASE_STOP);
	safelock_fsm_delay_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);

	/* UNLOCKED: the bolt thrown by itself. */
	opening(&fsm, &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);	/* no news */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	/*
	 * The sensor says "thrown" while UNLOCKED: a fault and the alarm,
	 * but the bolt is not stopped and the relock stays as planned.
	 */
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_SENSOR);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_RELOCK_STOP | SAFELOCK_ACT_BOLT_STOP));
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.fault, SAFELOCK_FAULT_NONE);

	/* Unprovisioned: only noted; a bolt seen retracted needs a confirmed relock. */
	safelock_fsm_init(&fsm);
	fsm.bolt_sensor = true;
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	/* No grant retracted this bolt: a door opening does not retract it. */
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	safelock_fsm_door(&fsm, false, &out);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

/* A fault in a penalty never shortens it: FAULT when it ends. */
static void fsm_fault_waits_for_penalty(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready_sensor(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 60000, false, &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_FAULT);
	KUNIT_EXPECT_EQ(test, out.fault, SAFELOCK_FAULT_SENSOR);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), -EAGAIN);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	safelock_fsm_penalty_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
}

/* Race: LOCK_NOW while the bolt is on its way back. */
static void fsm_lock_now_during_unlock(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	/* The request was answered already: nothing is cancelled. */
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_EV_ATTEMPT);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	/* The retraction the sensor reports late is not the end of this move. */
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);

	/* Without a sensor the same from UNLOCKED: a throw of a drive time. */
	ready(&fsm);
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);
	/* LOCK_NOW again restarts the throw; a door open refuses. */
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, true, &out), -EBUSY);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_WATCH);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

/*
 * Race: the door opens while the bolt is being thrown.  Only a fresh grant
 * retracts the bolt: the throw goes on, whatever the door line says.
 */
static void fsm_door_opens_mid_relock(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, fsm.bolt_move, SAFELOCK_BOLT_CLOSING);
	safelock_fsm_door(&fsm, false, &out);
	safelock_fsm_door(&fsm, true, &out);	/* a flapping line: still nothing */
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* Without a sensor: the same. */
	ready(&fsm);
	accepted(&fsm, "001", &out);
	safelock_fsm_relock(&fsm, &out);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* A relock clearing a fault goes on too. */
	opening(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), 0);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_STOP | SAFELOCK_ACT_BOLT_OPEN));
}

/* A door that reads open for ever never keeps the bolt retracted. */
static void fsm_door_held(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	safelock_fsm_door(&fsm, true, &out);	/* the wire is cut: "open" */
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	/* no door edge will come: the relock timer must run all the same */
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	safelock_fsm_relock(&fsm, &out);	/* held back by the open door */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	safelock_fsm_door_held(&fsm, &out);	/* ...until the door limit */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_done(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/*
	 * The door open when the grant comes, the relock time passes, then
	 * the door closes: that closing relocks (found by the fault soak).
	 */
	safelock_fsm_door(&fsm, false, &out);
	safelock_fsm_door(&fsm, true, &out);
	accepted(&fsm, "001", &out);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	/* and so does closing it before the relock time */
	safelock_fsm_bolt_done(&fsm, false, &out);
	safelock_fsm_door(&fsm, true, &out);
	accepted(&fsm, "001", &out);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	safelock_fsm_bolt_done(&fsm, false, &out);
	/* Anywhere else it changes nothing. */
	safelock_fsm_door_held(&fsm, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

/*
 * No entry counts until the registered verifier's policy has landed, and a
 * new verifier starts over: a lock never opens under the defaults.
 */
static void fsm_policy_must_land(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready(&fsm);
	fsm.policy_landed = false;
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_NO_POLICY);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_VERIFY);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(out.code, 0, sizeof(out.code)));

	/* A new registration voids the old one's request and policy. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);
	KUNIT_EXPECT_FALSE(test, fsm.policy_landed);
	/* The same registration saying its vault again keeps both. */
	fsm.policy_landed = true;
	type(&fsm, "001123456E", &out);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	KUNIT_EXPECT_TRUE(test, fsm.policy_landed);
}

/*
 * A damaged vault never makes a lock look new, and an empty one does so
 * only with the door open (a wipe needs it).
 */
static void fsm_vault_damaged(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	safelock_fsm_init(&fsm);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_DAMAGED, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, fsm.vault_damaged);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);

	/* Open, then the vault fails: still provisioned, relocks as planned. */
	ready(&fsm);
	accepted(&fsm, "001", &out);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_DAMAGED, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_EMPTY, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);	/* door shut */
	KUNIT_EXPECT_TRUE(test, fsm.provisioned);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
}

/* The door opens before the sensor confirms the opening. */
static void fsm_door_opens_while_opening(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_VERIFYING);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	/* the relock timer runs: held back by the open door, it hands over */
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);

	/* Opened and shut again before the confirmation: relock at once. */
	opening(&fsm, &out);
	safelock_fsm_door(&fsm, true, &out);
	safelock_fsm_door(&fsm, false, &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
}

/* ------------------------------------------------------------------ */
/* The time lock, with the clocks in the test's hands                  */

#define NS(s)	((u64)(s) * NSEC_PER_SEC)
#define WED	20005u		/* days since 1970-01-01: Wednesday 2024-10-09 */
#define SAT	(WED + 3)
#define SUN	(WED + 4)

/* CLOCK_REALTIME and CLOCK_BOOTTIME as the test makes them go. */
struct clk {
	u64 real;
	u64 boot;
};

static u64 at(unsigned int day, unsigned int h, unsigned int m, unsigned int s)
{
	return NS((u64)day * 86400 + h * 3600 + m * 60 + s);
}

static struct clk clk_at(u64 real)
{
	return (struct clk){ .real = real, .boot = NS(1000) };
}

/* Time passes: both clocks move. */
static void pass(struct safelock_fsm *fsm, struct clk *c, u64 s, struct safelock_fsm_out *out)
{
	c->real += NS(s);
	c->boot += NS(s);
	safelock_fsm_clock(fsm, c->real, c->boot, out);
}

/* Lock the quarter hours [from, to) of day @wday (0 Sunday) in @p's week. */
static void lock_quarters(struct safelock_policy *p, unsigned int wday, unsigned int from,
			  unsigned int to)
{
	unsigned int q, bit;

	p->time_lock = true;
	for (q = from; q < to; q++) {
		bit = wday * 96 + q;
		p->week[bit / 8] |= BIT(bit % 8);
	}
}

static int set_policy(struct safelock_fsm *fsm, const struct safelock_policy *p,
		      const struct clk *c, struct safelock_fsm_out *out)
{
	return safelock_fsm_policy(fsm, p, 0, c->real, c->boot, out);
}

/* An immediate time lock of @s seconds from now. */
static int lock_for(struct safelock_fsm *fsm, const struct clk *c, u64 s,
		    struct safelock_fsm_out *out)
{
	struct safelock_policy p = fsm->policy;

	p.time_lock_until_s = div_u64(c->real, NSEC_PER_SEC) + s;
	return set_policy(fsm, &p, c, out);
}

static void fsm_time_lock_schedule(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 21, 59, 58));

	ready(&fsm);
	p = fsm.policy;
	lock_quarters(&p, 3, 88, 90);		/* Wednesday 22:00-22:30 */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	pass(&fsm, &c, 1, &out);		/* 22:00:00 */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(1800));

	/* The keypad is quiet; nothing opens, nothing ends it early. */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_key(&fsm, SAFELOCK_KEY_CLEAR, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	/* Turning the schedule off does not end a running period. */
	p.time_lock = false;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	p.time_lock = true;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);

	pass(&fsm, &c, 1799, &out);		/* 22:29:59 */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_TLOCK_END);
	pass(&fsm, &c, 1, &out);		/* 22:30:00 */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_TLOCK_END);
	safelock_fsm_key(&fsm, '0', &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_ENTRY);

	/* Other days of the week are not locked at 22:00. */
	ready(&fsm);
	c = clk_at(at(WED + 1, 22, 0, 0));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	/* Nor is anything with the time lock off. */
	p.time_lock = false;
	c = clk_at(at(WED, 22, 0, 0));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, fsm.tl_active);
}

/* Bit 671 is Saturday 23:45, bit 0 Sunday 00:00: one period across the wrap. */
static void fsm_time_lock_week_wrap(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(SAT, 23, 44, 59));

	ready(&fsm);
	p = fsm.policy;
	p.time_lock = true;
	p.week[SAFELOCK_TIME_LOCK_WEEK_SIZE - 1] = 0x80;
	p.week[0] = 0x01;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	pass(&fsm, &c, 1, &out);		/* Saturday 23:45 */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(30 * 60));	/* Sunday 00:15 */
	pass(&fsm, &c, 15 * 60, &out);		/* Sunday 00:00 */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	pass(&fsm, &c, 15 * 60, &out);		/* Sunday 00:15 */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* Sunday 00:00 alone: locked from Sunday's first second. */
	ready(&fsm);
	p.week[SAFELOCK_TIME_LOCK_WEEK_SIZE - 1] = 0;
	c = clk_at(at(SAT, 23, 59, 59));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(15 * 60));
	KUNIT_EXPECT_EQ(test, (SUN + 4) % 7, 0u);
}

/* A holiday is locked all day, in local time (UTC + offset). */
static void fsm_time_lock_holiday(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED - 1, 22, 59, 59));	/* Wednesday 23:59:59 at +1 h */

	ready(&fsm);
	p = fsm.policy;
	p.time_lock = true;
	p.utc_offset_s = 3600;
	p.holidays[0] = 12345;
	p.holidays[1] = WED;
	p.n_holidays = 2;
	lock_quarters(&p, 4, 0, 1);		/* and Thursday 00:00-00:15 */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	pass(&fsm, &c, 1, &out);		/* Wednesday 00:00 local */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	/* The holiday and Thursday's first quarter make one period. */
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(86400 + 15 * 60));

	/* Past the last entry of the list nothing counts. */
	ready(&fsm);
	p.n_holidays = 1;
	c = clk_at(at(WED, 12, 0, 0));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	/* Nor with the time lock off. */
	p.n_holidays = 2;
	p.time_lock = false;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	/* West of UTC: the holiday begins at 01:00 UTC. */
	p.time_lock = true;
	p.utc_offset_s = -3600;
	c = clk_at(at(WED, 0, 59, 59));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
}

static void fsm_time_lock_immediate(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 10, 0, 0));
	u64 now = div_u64(c.real, NSEC_PER_SEC);

	ready(&fsm);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 600, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(600));
	/* Extended: yes. */
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 1200, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(1200));
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
	/* Shortened or lifted: never, and nothing else of that policy applies. */
	p = fsm.policy;
	p.time_delay_s = 99;
	p.time_lock_until_s = now + 900;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), -EPERM);
	p.time_lock_until_s = 0;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), -EPERM);
	KUNIT_EXPECT_EQ(test, fsm.policy.time_lock_until_s, now + 1200);
	KUNIT_EXPECT_EQ(test, fsm.policy.time_delay_s, 0u);
	/* Not more than 7 days ahead. */
	p.time_lock_until_s = now + 7 * 86400 + 1;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), -ERANGE);
	KUNIT_EXPECT_EQ(test, fsm.policy.time_lock_until_s, now + 1200);
	/* The same end again is no change: the rest of a policy applies. */
	p.time_lock_until_s = now + 1200;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.policy.time_delay_s, 99u);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, c.boot + NS(1200));

	pass(&fsm, &c, 1199, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, safelock_fsm_lock_now(&fsm, false, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_TLOCK_END);
	/* Once it has run out, an earlier end means nothing and is taken. */
	p = fsm.policy;
	p.time_lock_until_s = now;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_FALSE(test, fsm.tl_active);
}

static void fsm_time_lock_jump_forward(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 22, 10, 0));
	u64 until;

	ready(&fsm);
	p = fsm.policy;
	lock_quarters(&p, 3, 88, 90);		/* 22:00-22:30 */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	until = fsm.tl_until_ns;
	KUNIT_EXPECT_EQ(test, until, c.boot + NS(20 * 60));

	/* An hour forward: reported, and the period keeps its end. */
	c.real += NS(3600);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_CLOCK_JUMP);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, 3600);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, until);
	pass(&fsm, &c, 20 * 60 - 2, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* The immediate time lock holds its length through a jump too. */
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 300, &out), 0);
	c.real += NS(86400);
	pass(&fsm, &c, 299, &out);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, 86400);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	/* ... and it still cannot be lifted, though the wall clock is past it. */
	p = fsm.policy;
	p.time_lock_until_s = 0;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), -EPERM);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

static void fsm_time_lock_jump_backward(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 22, 50, 0));
	u64 until;

	ready(&fsm);
	p = fsm.policy;
	lock_quarters(&p, 3, 88, 92);		/* 22:00-23:00 */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	until = fsm.tl_until_ns;
	KUNIT_EXPECT_EQ(test, until, c.boot + NS(10 * 60));
	/* Half an hour back, into the same period: it lasts to 23:00 again. */
	c.real -= NS(1800);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_CLOCK_JUMP);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, -1800);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, until + NS(1800));
	/* Back before the period: its end stays. */
	c.real -= NS(3 * 3600);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, -3 * 3600);
	KUNIT_EXPECT_EQ(test, fsm.tl_until_ns, until + NS(1800));
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);

	/* After a period, a jump back into one begins it. */
	ready(&fsm);
	c = clk_at(at(WED, 23, 10, 0));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	c.real -= NS(40 * 60);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_CLOCK_JUMP);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
}

static void fsm_clock_jump(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct clk c = clk_at(at(WED, 12, 0, 0));

	ready(&fsm);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);		/* the first reading */
	c.real += NS(2);				/* two seconds: drift, not a jump */
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	c.real += NS(3);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, out.actions, (u32)SAFELOCK_ACT_CLOCK_JUMP);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, 3);
	c.real -= NS(5);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, -5);
	c.real += NS(100ULL * 365 * 86400);
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, out.clock_jump_s, S32_MAX);
	/* Suspend moves both clocks: no jump. */
	pass(&fsm, &c, 86400, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

/* A locked period that begins ends whatever could have opened. */
static void fsm_time_lock_begins(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct clk c = clk_at(at(WED, 10, 0, 0));

	/* An entry being typed: abandoned, wiped. */
	ready(&fsm);
	type(&fsm, "0011", &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_ENTRY_STOP);
	KUNIT_EXPECT_EQ(test, fsm.entry_len, 0u);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(fsm.entry, 0, sizeof(fsm.entry)));

	/* A pending request: cancelled; its grant opens nothing. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_REQUEST_END);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_CANCELLED);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);

	/* A time delay, and an open window: gone. */
	ready(&fsm);
	fsm.policy.time_delay_s = 60;
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_PHASE_STOP);
	safelock_fsm_delay_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_FALSE(test, fsm.window);
	ready(&fsm);
	fsm.policy.time_delay_s = 60;
	accepted(&fsm, "001", &out);
	safelock_fsm_delay_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_OPEN_WINDOW);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_FALSE(test, fsm.window);
	pass(&fsm, &c, 60, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);	/* not the window */

	/* A half-done dual authorisation: gone. */
	ready(&fsm);
	fsm.policy.dual_control = true;
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_STOP);
	KUNIT_EXPECT_EQ(test, fsm.dual_first, 0u);

	/* An open lock stays open until it relocks, then is time-locked. */
	ready(&fsm);
	accepted(&fsm, "001", &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	relocked(&fsm);		/* the relock time and the throw's drive time */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	safelock_fsm_time_lock_settle(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	/* Settling outside a period, or from another state, changes nothing. */
	pass(&fsm, &c, 60, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	safelock_fsm_time_lock_settle(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* A penalty runs out first, into the time lock. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 60000, false, &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 600, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	safelock_fsm_penalty_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);

	/* An unprovisioned lock stays so; provisioned during a period, time-locked. */
	safelock_fsm_init(&fsm);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 600, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	safelock_fsm_verifier(&fsm, true, SAFELOCK_VAULT_OWNED, false, &out);
	safelock_fsm_time_lock_settle(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);

	/* Even a grant the clock has not caught up with opens nothing. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	fsm.tl_active = true;
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_GRANTED, 0, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
}

/* ------------------------------------------------------------------ */
/* The time-delay override                                             */

static void accepted_ovr(struct safelock_fsm *fsm, const char *user, u8 ovr,
			 struct safelock_fsm_out *out)
{
	type(fsm, user, out);
	type(fsm, "123456E", out);
	safelock_fsm_verdict_override(fsm, SAFELOCK_RESULT_GRANTED, 0, false, ovr, out);
}

static void ready_override(struct safelock_fsm *fsm)
{
	ready(fsm);
	fsm->policy.time_delay_s = 600;
	fsm->policy.override = true;
}

static void fsm_override_pair(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	ready_override(&fsm);
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_TIMER);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_DELAY_TIMER));
	/* The same person twice is one. */
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	/* A second one: open at once, no delay. */
	accepted_ovr(&fsm, "002", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_OVERRIDE);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_STOP);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_DELAY_TIMER);
	KUNIT_EXPECT_EQ(test, out.override_first, 1u);
	KUNIT_EXPECT_EQ(test, fsm.dual_first, 0u);

	/* Two couriers, and under dual control: they are its two users. */
	ready_override(&fsm);
	fsm.policy.dual_control = true;
	accepted_ovr(&fsm, "003", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	accepted_ovr(&fsm, "004", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_OVERRIDE);
}

static void fsm_override_alone(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	/* A courier alone: nothing, once the dual window is over. */
	ready_override(&fsm);
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_ONLY, &out);
	safelock_fsm_dual_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	/* A manager alone: the ordinary grant it also is, a time delay. */
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	safelock_fsm_dual_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DELAY_TIMER);
	/* ... unless dual control wants a second user anyway. */
	ready_override(&fsm);
	fsm.policy.dual_control = true;
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	safelock_fsm_dual_over(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_override_with_ordinary(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	/* An ordinary grant ends a manager's lone wait: the time delay starts. */
	ready_override(&fsm);
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_STOP);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_EQ(test, fsm.dual_first, 0u);

	/* Dual control: a manager and an ordinary user are two users, with a delay. */
	ready_override(&fsm);
	fsm.policy.dual_control = true;
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	/* A courier is no second user for an ordinary one ... */
	ready_override(&fsm);
	fsm.policy.dual_control = true;
	accepted(&fsm, "001", &out);
	accepted_ovr(&fsm, "002", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_EQ(test, fsm.dual_first, 1u);
	accepted(&fsm, "003", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	/* ... nor an ordinary one for a courier: the courier's wait ends. */
	ready_override(&fsm);
	fsm.policy.dual_control = true;
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_ONLY, &out);
	accepted(&fsm, "002", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_EQ(test, fsm.dual_first, 2u);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_STOP);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_DUAL_TIMER);
	accepted(&fsm, "003", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
}

static void fsm_override_not_possible(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	/* Not allowed: a manager's is an ordinary grant, a courier's nothing. */
	ready_override(&fsm);
	fsm.policy.override = false;
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_DELAY);
	ready_override(&fsm);
	fsm.policy.override = false;
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_GRANTED);
	KUNIT_EXPECT_FALSE(test, out.actions & (SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_DELAY_TIMER |
						SAFELOCK_ACT_DUAL_TIMER));
	accepted_ovr(&fsm, "002", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* No time delay to skip: the same. */
	ready_override(&fsm);
	fsm.policy.time_delay_s = 0;
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);

	/* In the open window there is no delay left: a courier opens nothing. */
	ready_override(&fsm);
	accepted(&fsm, "001", &out);
	safelock_fsm_delay_over(&fsm, &out);
	accepted_ovr(&fsm, "002", SAFELOCK_OVERRIDE_ONLY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_OPEN_WINDOW);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	accepted_ovr(&fsm, "003", SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_OVERRIDE);
}

/* Never past a time lock or a penalty. */
static void fsm_override_never_bypasses(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct clk c = clk_at(at(WED, 10, 0, 0));

	ready_override(&fsm);
	accepted_ovr(&fsm, "001", SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 60, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.dual_first, 0u);
	type(&fsm, "002123456E", &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	pass(&fsm, &c, 60, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	/* The first override did not survive the time lock. */
	accepted_ovr(&fsm, "002", SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_DUAL_PENDING);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);

	/* A penalty in between: its keys count for nothing. */
	type(&fsm, "003123456E", &out);
	safelock_fsm_verdict(&fsm, SAFELOCK_RESULT_DENIED, 60000, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	type(&fsm, "003123456E", &out);
	safelock_fsm_verdict_override(&fsm, SAFELOCK_RESULT_GRANTED, 0, false,
				      SAFELOCK_OVERRIDE_MAY, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_PENALTY);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
}

static void fsm_state_names(struct kunit *test)
{
	unsigned int s;

	for (s = 0; s < SAFELOCK_STATE_MAX; s++)
		KUNIT_EXPECT_NOT_NULL(test, safelock_state_names[s]);
	KUNIT_EXPECT_STREQ(test, safelock_state_name(SAFELOCK_STATE_MAX), "UNKNOWN");
}

/* An immediate time lock timed on CLOCK_BOOTTIME alone: no wall-clock jump ends it. */
static void fsm_time_lock_for(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct clk c = clk_at(at(WED, 12, 0, 0));

	ready(&fsm);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_policy(&fsm, &fsm.policy, 600, c.real, c.boot, &out), 0);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	KUNIT_EXPECT_EQ(test, fsm.policy.time_lock_until_s, div_u64(c.real, NSEC_PER_SEC) + 600);
	/* the wall clock is set a year ahead: still locked */
	c.real += NS(365 * 86400);
	c.boot += NS(10);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	/* a shorter one does not shorten it */
	KUNIT_EXPECT_EQ(test, safelock_fsm_policy(&fsm, &fsm.policy, 5, c.real, c.boot, &out), 0);
	pass(&fsm, &c, 100, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	pass(&fsm, &c, 500, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
}

/* ------------------------------------------------------------------ */
/* When the clocks must next be read: the only wakeups of an idle lock */

static struct safelock_clock_next next_of(const struct safelock_fsm *fsm, const struct clk *c)
{
	struct safelock_clock_next n;

	safelock_fsm_next_clock(fsm, c->real, c->boot, &n);
	return n;
}

/* No time lock at all: no timer, whatever the clock says. */
static void fsm_next_clock_none(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 9, 0, 0));
	struct safelock_clock_next n;

	ready(&fsm);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	KUNIT_EXPECT_EQ(test, n.boot_ns, U64_MAX);
	/* the time lock on, but not one quarter and no holiday */
	p = fsm.policy;
	p.time_lock = true;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	KUNIT_EXPECT_EQ(test, n.boot_ns, U64_MAX);
	/* a schedule with the time lock off: nothing either */
	lock_quarters(&p, 3, 0, 96);
	p.time_lock = false;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	/* a holiday that is over */
	p = fsm.policy;
	p.time_lock = true;
	memset(p.week, 0, sizeof(p.week));
	p.holidays[0] = WED - 1;
	p.n_holidays = 1;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	KUNIT_EXPECT_EQ(test, n.boot_ns, U64_MAX);
}

/* A weekly period: its beginning on the wall clock, then its end on CLOCK_BOOTTIME. */
static void fsm_next_clock_weekly(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 21, 10, 7));
	struct safelock_clock_next n;

	ready(&fsm);
	p = fsm.policy;
	lock_quarters(&p, 3, 88, 90);		/* Wednesday 22:00-22:30 */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, at(WED, 22, 0, 0));
	KUNIT_EXPECT_EQ(test, n.boot_ns, U64_MAX);
	/* a second before it, nothing yet; at it, the period */
	pass(&fsm, &c, at(WED, 21, 59, 59) / NSEC_PER_SEC - c.real / NSEC_PER_SEC, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(WED, 22, 0, 0));
	pass(&fsm, &c, 1, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	KUNIT_EXPECT_EQ(test, n.boot_ns, c.boot + NS(1800));
	/* the wall clock set back or ahead changes nothing: a CLOCK_BOOTTIME end */
	c.real -= NS(3600);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_CLOCK_JUMP);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).boot_ns, fsm.tl_until_ns);
	c.real += NS(3600);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	/* at its end: the next Wednesday */
	pass(&fsm, &c, 1800, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, at(WED + 7, 22, 0, 0));
	KUNIT_EXPECT_EQ(test, n.boot_ns, U64_MAX);
	/* the week wraps: from Saturday, Sunday 00:00 */
	lock_quarters(&p, 0, 0, 1);
	c = clk_at(at(SAT, 23, 50, 0));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(SUN, 0, 0, 0));
	/* the wall clock set into a period that did not begin: read at once */
	c.real = at(WED, 22, 7, 0);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.real_ns, c.real);
}

/* Local time: the offset moves the boundaries on the wall clock. */
static void fsm_next_clock_offset(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 12, 0, 0));

	ready(&fsm);
	p = fsm.policy;
	lock_quarters(&p, 3, 88, 89);		/* Wednesday 22:00 local */
	p.utc_offset_s = -5 * 3600;		/* is Thursday 03:00 UTC */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(WED + 1, 3, 0, 0));
	p.utc_offset_s = 2 * 3600;		/* is Wednesday 20:00 UTC */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(WED, 20, 0, 0));
	/* local Wednesday 22:00 has passed at 21:00 UTC: the next week's */
	c = clk_at(at(WED, 21, 0, 0));
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(WED + 7, 20, 0, 0));
}

/* Holidays: near, far beyond a week, in local time. */
static void fsm_next_clock_holiday(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 12, 0, 0));
	struct safelock_clock_next n;

	ready(&fsm);
	p = fsm.policy;
	p.time_lock = true;
	p.utc_offset_s = 3600;
	p.holidays[0] = SAT + 40;
	p.holidays[1] = SAT + 20;
	p.holidays[2] = WED - 3;
	p.n_holidays = 3;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	/* twenty days on: only the holidays can lock, the nearer first */
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, NS((u64)(SAT + 20) * 86400 - 3600));
	/* a week's quarter comes before it */
	lock_quarters(&p, 5, 40, 41);		/* Friday 10:00 local */
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(WED + 2, 9, 0, 0));
	/* a holiday tomorrow comes before that */
	p.holidays[2] = WED + 1;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, at(WED, 23, 0, 0));
	/* which is, at its beginning, a period to its end */
	c.real = at(WED, 23, 0, 0);
	safelock_fsm_clock(&fsm, c.real, c.boot, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_TIME_LOCKED);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.boot_ns, c.boot + NS(86400));
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
}

/* The immediate time lock: at once, ended on CLOCK_BOOTTIME. */
static void fsm_next_clock_immediate(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;
	struct clk c = clk_at(at(WED, 10, 0, 0));
	struct safelock_clock_next n;

	ready(&fsm);
	KUNIT_EXPECT_EQ(test, lock_for(&fsm, &c, 600, &out), 0);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.boot_ns, c.boot + NS(600));
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	pass(&fsm, &c, 600, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	n = next_of(&fsm, &c);
	KUNIT_EXPECT_EQ(test, n.boot_ns, U64_MAX);
	KUNIT_EXPECT_EQ(test, n.real_ns, U64_MAX);
	/* one the state machine has not seen begin yet: read now */
	fsm.policy.time_lock_until_s = div_u64(c.real, NSEC_PER_SEC) + 60;
	KUNIT_EXPECT_EQ(test, next_of(&fsm, &c).real_ns, c.real);
}

/*
 * Read the clocks only when safelock_fsm_next_clock() says, for two weeks
 * of a busy calendar: every period begins and ends exactly when reading
 * them every second would have it.
 */
static void fsm_next_clock_follow(struct kunit *test)
{
	struct safelock_fsm fsm, *tick = kunit_kzalloc(test, sizeof(*tick), GFP_KERNEL);
	struct safelock_fsm_out out;
	struct safelock_policy p;
	struct clk c = clk_at(at(WED, 0, 0, 0)), t;
	struct safelock_clock_next n;
	unsigned int reads = 0, begins = 0, ends = 0;
	u64 to;

	ready(&fsm);
	p = fsm.policy;
	lock_quarters(&p, 3, 88, 90);
	lock_quarters(&p, 4, 0, 4);
	lock_quarters(&p, 6, 95, 96);
	lock_quarters(&p, 0, 0, 2);
	p.utc_offset_s = 1800;
	p.holidays[0] = WED + 9;
	p.n_holidays = 1;
	KUNIT_EXPECT_EQ(test, set_policy(&fsm, &p, &c, &out), 0);
	KUNIT_ASSERT_NOT_NULL(test, tick);
	*tick = fsm;
	t = c;
	while (reads < 100) {
		n = next_of(&fsm, &c);
		if (n.real_ns != U64_MAX)
			to = n.real_ns - c.real;
		else if (n.boot_ns != U64_MAX)
			to = n.boot_ns - c.boot;
		else
			break;
		KUNIT_ASSERT_GT(test, to, 0ULL);
		if (c.real + to > at(WED + 14, 0, 0, 0))
			break;
		/* the second-by-second reference sees no change before it */
		while (t.real + NS(1) < c.real + to) {
			pass(tick, &t, 1, &out);
			KUNIT_ASSERT_EQ(test, out.actions, 0u);
		}
		c.real += to;
		c.boot += to;
		safelock_fsm_clock(&fsm, c.real, c.boot, &out);
		pass(tick, &t, 1, &out);
		KUNIT_ASSERT_EQ(test, t.real, c.real);
		KUNIT_EXPECT_EQ(test, tick->state, fsm.state);
		KUNIT_EXPECT_EQ(test, tick->tl_active, fsm.tl_active);
		begins += !!(out.actions & SAFELOCK_ACT_TLOCK_BEGIN);
		ends += !!(out.actions & SAFELOCK_ACT_TLOCK_END);
		reads++;
	}
	/* Wed, Thu 00:00, Sat-Sun across the wrap, each twice; the holiday */
	KUNIT_EXPECT_EQ(test, begins, 7u);
	KUNIT_EXPECT_EQ(test, ends, 7u);
	KUNIT_EXPECT_EQ(test, reads, 14u);
}

static struct kunit_case safelock_fsm_cases[] = {
	KUNIT_CASE(fsm_starts_unprovisioned),
	KUNIT_CASE(fsm_unprovisioned_again),
	KUNIT_CASE(fsm_entry_sends_user_and_code),
	KUNIT_CASE(fsm_entry_user_notice),
	KUNIT_CASE(fsm_only_granted_opens),
	KUNIT_CASE(fsm_verdict_outside_verifying_ignored),
	KUNIT_CASE(fsm_malformed_entries),
	KUNIT_CASE(fsm_clear_and_timeout_abandon),
	KUNIT_CASE(fsm_no_verifier),
	KUNIT_CASE(fsm_keys_ignored_while_busy),
	KUNIT_CASE(fsm_lock_now),
	KUNIT_CASE(fsm_penalty),
	KUNIT_CASE(fsm_door_relock),
	KUNIT_CASE(fsm_duress),
	KUNIT_CASE(fsm_time_delay),
	KUNIT_CASE(fsm_dual_control),
	KUNIT_CASE(fsm_time_lock_schedule),
	KUNIT_CASE(fsm_time_lock_week_wrap),
	KUNIT_CASE(fsm_time_lock_holiday),
	KUNIT_CASE(fsm_time_lock_immediate),
	KUNIT_CASE(fsm_time_lock_jump_forward),
	KUNIT_CASE(fsm_time_lock_jump_backward),
	KUNIT_CASE(fsm_clock_jump),
	KUNIT_CASE(fsm_time_lock_begins),
	KUNIT_CASE(fsm_override_pair),
	KUNIT_CASE(fsm_override_alone),
	KUNIT_CASE(fsm_override_with_ordinary),
	KUNIT_CASE(fsm_override_not_possible),
	KUNIT_CASE(fsm_override_never_bypasses),
	KUNIT_CASE(fsm_sensor_confirms_open_and_close),
	KUNIT_CASE(fsm_no_sensor_relock_takes_drive_time),
	KUNIT_CASE(fsm_jam_open_retries_then_fault),
	KUNIT_CASE(fsm_retry_then_success),
	KUNIT_CASE(fsm_jam_close_and_fault_clear),
	KUNIT_CASE(fsm_sensor_fault),
	KUNIT_CASE(fsm_fault_waits_for_penalty),
	KUNIT_CASE(fsm_lock_now_during_unlock),
	KUNIT_CASE(fsm_door_opens_mid_relock),
	KUNIT_CASE(fsm_door_held),
	KUNIT_CASE(fsm_policy_must_land),
	KUNIT_CASE(fsm_vault_damaged),
	KUNIT_CASE(fsm_time_lock_for),
	KUNIT_CASE(fsm_next_clock_none),
	KUNIT_CASE(fsm_next_clock_weekly),
	KUNIT_CASE(fsm_next_clock_offset),
	KUNIT_CASE(fsm_next_clock_holiday),
	KUNIT_CASE(fsm_next_clock_immediate),
	KUNIT_CASE(fsm_next_clock_follow),
	KUNIT_CASE(fsm_door_opens_while_opening),
	KUNIT_CASE(fsm_state_names),
	{ }
};

static struct kunit_suite safelock_fsm_suite = {
	.name = "safelock_fsm",
	.test_cases = safelock_fsm_cases,
};

kunit_test_suite(safelock_fsm_suite);

MODULE_DESCRIPTION("KUnit tests of the safelock state machine");
MODULE_LICENSE("GPL");
