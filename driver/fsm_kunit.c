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
	safelock_fsm_verifier(fsm, true, true, &out);
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
	safelock_fsm_verifier(&fsm, true, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	safelock_fsm_verifier(&fsm, true, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
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
	safelock_fsm_verifier(&fsm, false, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);	/* stays provisioned */
	type(&fsm, "001123456E", &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);
	KUNIT_EXPECT_EQ(test, out.result, SAFELOCK_RESULT_NO_VERIFIER);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_VERIFY);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(out.code, 0, sizeof(out.code)));

	/* The verifier leaving mid-request ends the request, locked. */
	ready(&fsm);
	type(&fsm, "001123456E", &out);
	safelock_fsm_verifier(&fsm, false, false, &out);
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
	safelock_fsm_verifier(&fsm, false, false, &out);
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
	safelock_fsm_verifier(&fsm, false, false, &out);
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
	safelock_fsm_verifier(&fsm, false, false, &out);
	safelock_fsm_verifier(&fsm, true, true, &out);
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
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_RELOCK_STOP);

	/* Unprovisioned: only noted; a bolt seen retracted needs a confirmed relock. */
	safelock_fsm_init(&fsm);
	fsm.bolt_sensor = true;
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNPROVISIONED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_verifier(&fsm, true, true, &out);
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

/* Race: the door opens while the bolt is being thrown. */
static void fsm_door_opens_mid_relock(struct kunit *test)
{
	struct safelock_fsm fsm;
	struct safelock_fsm_out out;

	opening(&fsm, &out);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
	KUNIT_EXPECT_EQ(test, fsm.bolt_move, SAFELOCK_BOLT_OPENING);
	/* The throw that was on its way is not news; the retraction is. */
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_bolt_sensed(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_DONE);
	/* Never onto the open door; closing it relocks. */
	safelock_fsm_relock(&fsm, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_EQ(test, out.actions, 0u);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_CLOSE);
	safelock_fsm_bolt_sensed(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_LOCKED);

	/* Without a sensor: the same, the retraction not watched. */
	ready(&fsm);
	accepted(&fsm, "001", &out);
	safelock_fsm_relock(&fsm, &out);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_UNWATCH);
	KUNIT_EXPECT_EQ(test, fsm.bolt_move, SAFELOCK_BOLT_IDLE);
	safelock_fsm_bolt_done(&fsm, false, &out);	/* the old drive time */
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_UNLOCKED);
	safelock_fsm_door(&fsm, false, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_RELOCKING);

	/* A relock clearing a fault goes back to FAULT, the bolt not driven. */
	opening(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	safelock_fsm_bolt_timeout(&fsm, &out);
	KUNIT_EXPECT_EQ(test, safelock_fsm_fault_clear(&fsm, false, &out), 0);
	safelock_fsm_door(&fsm, true, &out);
	KUNIT_EXPECT_EQ(test, fsm.state, SAFELOCK_STATE_FAULT);
	KUNIT_EXPECT_TRUE(test, out.actions & SAFELOCK_ACT_BOLT_STOP);
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_BOLT_OPEN);
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
	KUNIT_EXPECT_FALSE(test, out.actions & SAFELOCK_ACT_RELOCK_TIMER);
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

static void fsm_state_names(struct kunit *test)
{
	unsigned int s;

	for (s = 0; s < SAFELOCK_STATE_MAX; s++)
		KUNIT_EXPECT_NOT_NULL(test, safelock_state_names[s]);
	KUNIT_EXPECT_STREQ(test, safelock_state_name(SAFELOCK_STATE_MAX), "UNKNOWN");
}

static struct kunit_case safelock_fsm_cases[] = {
	KUNIT_CASE(fsm_starts_unprovisioned),
	KUNIT_CASE(fsm_entry_sends_user_and_code),
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
	KUNIT_CASE(fsm_sensor_confirms_open_and_close),
	KUNIT_CASE(fsm_no_sensor_relock_takes_drive_time),
	KUNIT_CASE(fsm_jam_open_retries_then_fault),
	KUNIT_CASE(fsm_retry_then_success),
	KUNIT_CASE(fsm_jam_close_and_fault_clear),
	KUNIT_CASE(fsm_sensor_fault),
	KUNIT_CASE(fsm_fault_waits_for_penalty),
	KUNIT_CASE(fsm_lock_now_during_unlock),
	KUNIT_CASE(fsm_door_opens_mid_relock),
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
