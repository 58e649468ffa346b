// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: the lock state machine.
 *
 * Pure logic: no locking, no hardware, no time.  Each input is a function
 * that moves the machine and fills a struct safelock_fsm_out with what the
 * caller must do (start a timer, send a request, drive the bolt, report).
 * The caller serialises the calls.  KUnit tests it in fsm_kunit.c.
 *
 * Entry format: SAFELOCK_USER_ID_DIGITS digits of user id (1 and up), then a
 * code of SAFELOCK_CODE_MIN_DIGITS to SAFELOCK_CODE_MAX_DIGITS digits, then
 * ENTER.  CLEAR abandons the entry.
 */
#include <linux/errno.h>
#include <linux/string.h>

#include "safelock.h"

static const char * const safelock_state_names[SAFELOCK_STATE_MAX] = {
	[SAFELOCK_STATE_UNPROVISIONED]	= "UNPROVISIONED",
	[SAFELOCK_STATE_LOCKED]		= "LOCKED",
	[SAFELOCK_STATE_ENTRY]		= "ENTRY",
	[SAFELOCK_STATE_VERIFYING]	= "VERIFYING",
	[SAFELOCK_STATE_UNLOCKED]	= "UNLOCKED",
	[SAFELOCK_STATE_PENALTY]	= "PENALTY",
	[SAFELOCK_STATE_TIME_DELAY]	= "TIME_DELAY",
	[SAFELOCK_STATE_OPEN_WINDOW]	= "OPEN_WINDOW",
	[SAFELOCK_STATE_DUAL_PENDING]	= "DUAL_PENDING",
};

const char *safelock_state_name(enum safelock_state state)
{
	if (state >= SAFELOCK_STATE_MAX)
		return "UNKNOWN";
	return safelock_state_names[state];
}

static void safelock_fsm_wipe_entry(struct safelock_fsm *fsm)
{
	memzero_explicit(fsm->entry, sizeof(fsm->entry));
	fsm->entry_len = 0;
	fsm->entry_overflow = false;
}

/**
 * safelock_fsm_wipe() - forget any digits typed so far
 * @fsm: the state machine
 */
void safelock_fsm_wipe(struct safelock_fsm *fsm)
{
	safelock_fsm_wipe_entry(fsm);
}

static void safelock_out_reset(struct safelock_fsm_out *out)
{
	memset(out, 0, sizeof(*out));
}

static void safelock_fsm_attempt(struct safelock_fsm_out *out, enum safelock_result result)
{
	out->actions |= SAFELOCK_ACT_EV_ATTEMPT;
	out->result = result;
}

/*
 * Where the lock rests when an entry ends without opening: waiting for a
 * second user under dual control, in the open window, or locked.
 */
static enum safelock_state safelock_fsm_idle(const struct safelock_fsm *fsm)
{
	if (fsm->dual_first)
		return SAFELOCK_STATE_DUAL_PENDING;
	if (fsm->window)
		return SAFELOCK_STATE_OPEN_WINDOW;
	return SAFELOCK_STATE_LOCKED;
}

/* Abandon the entry: back to rest, nothing sent. */
static void safelock_fsm_abandon(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_fsm_wipe_entry(fsm);
	fsm->state = safelock_fsm_idle(fsm);
	out->actions |= SAFELOCK_ACT_ENTRY_STOP;
	safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
}

void safelock_fsm_init(struct safelock_fsm *fsm)
{
	memset(fsm, 0, sizeof(*fsm));
	fsm->state = SAFELOCK_STATE_UNPROVISIONED;
	/* No delay and single control until the verifier says otherwise. */
	fsm->policy.open_window_s = 60;
	fsm->policy.dual_window_s = 60;
	fsm->policy.door_limit_s = 300;
}

/* Split a complete entry into user id and code; false if malformed. */
static bool safelock_fsm_parse(const struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	unsigned int i, code_len;
	u32 user = 0;

	if (fsm->entry_overflow || fsm->entry_len < SAFELOCK_USER_ID_DIGITS)
		return false;
	code_len = fsm->entry_len - SAFELOCK_USER_ID_DIGITS;
	if (code_len < SAFELOCK_CODE_MIN_DIGITS || code_len > SAFELOCK_CODE_MAX_DIGITS)
		return false;
	for (i = 0; i < SAFELOCK_USER_ID_DIGITS; i++)
		user = user * 10 + (fsm->entry[i] - '0');
	if (!user)
		return false;
	out->user_id = user;
	memcpy(out->code, fsm->entry + SAFELOCK_USER_ID_DIGITS, code_len);
	out->code_len = code_len;
	return true;
}

static void safelock_fsm_enter(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	bool ok = safelock_fsm_parse(fsm, out);

	safelock_fsm_wipe_entry(fsm);
	out->actions |= SAFELOCK_ACT_ENTRY_STOP;
	if (!ok) {
		fsm->state = safelock_fsm_idle(fsm);
		safelock_fsm_attempt(out, SAFELOCK_RESULT_MALFORMED);
		return;
	}
	if (!fsm->verifier) {
		memzero_explicit(out->code, sizeof(out->code));
		out->code_len = 0;
		fsm->state = safelock_fsm_idle(fsm);
		safelock_fsm_attempt(out, SAFELOCK_RESULT_NO_VERIFIER);
		return;
	}
	fsm->pending_user = out->user_id;
	fsm->state = SAFELOCK_STATE_VERIFYING;
	out->actions |= SAFELOCK_ACT_VERIFY;
}

/**
 * safelock_fsm_key() - a key was pressed
 * @fsm: the state machine
 * @key: '0'..'9', %SAFELOCK_KEY_ENTER or %SAFELOCK_KEY_CLEAR
 * @out: filled with what to do
 *
 * Keys count only at rest (LOCKED, OPEN_WINDOW, DUAL_PENDING) and in ENTRY;
 * elsewhere they are ignored, so a key pressed while a request is pending
 * cannot change its outcome, except CLEAR, which cancels a time delay.
 */
void safelock_fsm_key(struct safelock_fsm *fsm, u8 key, struct safelock_fsm_out *out)
{
	bool digit = key >= '0' && key <= '9';

	safelock_out_reset(out);
	switch (fsm->state) {
	case SAFELOCK_STATE_TIME_DELAY:
		if (key == SAFELOCK_KEY_CLEAR) {
			fsm->state = SAFELOCK_STATE_LOCKED;
			out->actions |= SAFELOCK_ACT_PHASE_STOP;
		}
		return;
	case SAFELOCK_STATE_LOCKED:
	case SAFELOCK_STATE_OPEN_WINDOW:
	case SAFELOCK_STATE_DUAL_PENDING:
		if (!digit)
			return;
		fsm->state = SAFELOCK_STATE_ENTRY;
		out->actions |= SAFELOCK_ACT_EV_ENTRY;
		fallthrough;
	case SAFELOCK_STATE_ENTRY:
		if (key == SAFELOCK_KEY_CLEAR) {
			safelock_fsm_abandon(fsm, out);
		} else if (key == SAFELOCK_KEY_ENTER) {
			safelock_fsm_enter(fsm, out);
		} else if (digit) {
			if (fsm->entry_len < sizeof(fsm->entry))
				fsm->entry[fsm->entry_len++] = key;
			else
				fsm->entry_overflow = true;
			out->actions |= SAFELOCK_ACT_ENTRY_TIMER;
		}
		return;
	default:
		return;
	}
}

/**
 * safelock_fsm_entry_timeout() - too long a pause between two keys
 * @fsm: the state machine
 * @out: filled with what to do
 */
void safelock_fsm_entry_timeout(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state == SAFELOCK_STATE_ENTRY)
		safelock_fsm_abandon(fsm, out);
}

/**
 * safelock_fsm_verifier() - the verifier came, went or changed its vault state
 * @fsm: the state machine
 * @present: a verifier is registered
 * @provisioned: the verifier says its vault has an owner
 * @out: filled with what to do
 *
 * An unprovisioned lock becomes LOCKED once a verifier says it has an owner.
 * "Provisioned" is not withdrawn by a verifier going away: a lock does not
 * become unsecurable because its verifier crashed.  A pending request dies
 * with its verifier.
 */
void safelock_fsm_verifier(struct safelock_fsm *fsm, bool present, bool provisioned,
			   struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	fsm->verifier = present;
	if (present && provisioned)
		fsm->provisioned = true;

	if (fsm->state == SAFELOCK_STATE_UNPROVISIONED && fsm->provisioned) {
		fsm->state = SAFELOCK_STATE_LOCKED;
		out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
	} else if (fsm->state == SAFELOCK_STATE_VERIFYING && !present) {
		fsm->state = safelock_fsm_idle(fsm);
		out->actions |= SAFELOCK_ACT_REQUEST_END;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
	}
}

/**
 * safelock_fsm_verify_failed() - the request could not complete
 * @fsm: the state machine
 * @result: %SAFELOCK_RESULT_TIMEOUT, %SAFELOCK_RESULT_NO_VERIFIER, ...
 * @out: filled with what to do
 */
void safelock_fsm_verify_failed(struct safelock_fsm *fsm, enum safelock_result result,
				struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state != SAFELOCK_STATE_VERIFYING)
		return;
	fsm->state = safelock_fsm_idle(fsm);
	out->actions |= SAFELOCK_ACT_REQUEST_END;
	safelock_fsm_attempt(out, result);
}

/*
 * A code was accepted: under dual control it counts only with a different
 * user's; the whole authorisation then starts the time delay, or opens in
 * the open window (or at once without a delay).
 */
static void safelock_fsm_authorised(struct safelock_fsm *fsm, u32 user,
				    struct safelock_fsm_out *out)
{
	if (fsm->policy.dual_control) {
		if (!fsm->dual_first) {
			fsm->dual_first = user;
			fsm->state = SAFELOCK_STATE_DUAL_PENDING;
			out->actions |= SAFELOCK_ACT_DUAL_TIMER;
			return;
		}
		if (user == fsm->dual_first) {	/* the same person twice is one */
			fsm->state = SAFELOCK_STATE_DUAL_PENDING;
			return;
		}
		fsm->dual_first = 0;
		out->actions |= SAFELOCK_ACT_DUAL_STOP;
	}
	if (fsm->policy.time_delay_s && !fsm->window) {
		fsm->state = SAFELOCK_STATE_TIME_DELAY;
		out->actions |= SAFELOCK_ACT_DELAY_TIMER;
		return;
	}
	if (fsm->window) {
		fsm->window = false;
		out->actions |= SAFELOCK_ACT_PHASE_STOP;
	}
	fsm->state = SAFELOCK_STATE_UNLOCKED;
	fsm->door_opened = false;
	out->actions |= SAFELOCK_ACT_BOLT_OPEN | SAFELOCK_ACT_RELOCK_TIMER;
}

/**
 * safelock_fsm_verdict() - the verifier answered the pending request
 * @fsm: the state machine
 * @result: %SAFELOCK_RESULT_GRANTED or %SAFELOCK_RESULT_DENIED
 * @retry_after_ms: with a denial, how long the keypad must stay quiet
 * @duress: with a grant, the entry was a duress entry
 * @out: filled with what to do
 *
 * The caller has already checked that the verdict is for the pending
 * request, from the registered verifier, in time, with the right nonce.
 * Only GRANTED can open, and only as the policy allows (dual control, time
 * delay); anything else is a denial.  A denial with a
 * retry-after mirrors the verifier's lockout: PENALTY, where keys count
 * for nothing and cannot extend it.  A duress grant opens like any other,
 * and raises the silent alarm.
 */
void safelock_fsm_verdict(struct safelock_fsm *fsm, enum safelock_result result,
			  u32 retry_after_ms, bool duress, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state != SAFELOCK_STATE_VERIFYING)
		return;
	out->actions |= SAFELOCK_ACT_REQUEST_END;
	if (result == SAFELOCK_RESULT_GRANTED) {
		safelock_fsm_authorised(fsm, fsm->pending_user, out);
		if (duress)
			out->actions |= SAFELOCK_ACT_DURESS;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_GRANTED);
	} else if (retry_after_ms) {
		fsm->state = SAFELOCK_STATE_PENALTY;
		out->actions |= SAFELOCK_ACT_PENALTY_TIMER;
		out->retry_after_ms = retry_after_ms;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_DENIED);
	} else {
		fsm->state = safelock_fsm_idle(fsm);
		safelock_fsm_attempt(out, SAFELOCK_RESULT_DENIED);
	}
	fsm->pending_user = 0;
}

/**
 * safelock_fsm_penalty_over() - the verifier's retry-after has passed
 * @fsm: the state machine
 * @out: filled with what to do
 */
void safelock_fsm_penalty_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state == SAFELOCK_STATE_PENALTY)
		fsm->state = safelock_fsm_idle(fsm);
}

/**
 * safelock_fsm_delay_over() - the time delay has passed: the window opens
 * @fsm: the state machine
 * @out: filled with what to do
 */
void safelock_fsm_delay_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state != SAFELOCK_STATE_TIME_DELAY)
		return;
	fsm->window = true;
	fsm->state = SAFELOCK_STATE_OPEN_WINDOW;
	out->actions |= SAFELOCK_ACT_WINDOW_TIMER;
}

/**
 * safelock_fsm_window_over() - the open window has closed unused
 * @fsm: the state machine
 * @out: filled with what to do
 *
 * An entry under way finishes; if its code is accepted it starts a new
 * time delay.
 */
void safelock_fsm_window_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	fsm->window = false;
	if (fsm->state == SAFELOCK_STATE_OPEN_WINDOW)
		fsm->state = safelock_fsm_idle(fsm);
}

/**
 * safelock_fsm_dual_over() - no second user came in time
 * @fsm: the state machine
 * @out: filled with what to do
 */
void safelock_fsm_dual_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	fsm->dual_first = 0;
	if (fsm->state == SAFELOCK_STATE_DUAL_PENDING)
		fsm->state = safelock_fsm_idle(fsm);
}

/**
 * safelock_fsm_relock() - the relock delay has passed
 * @fsm: the state machine
 * @out: filled with what to do
 *
 * With the door open the bolt would only hit the frame: the lock then
 * relocks when the door closes.
 */
void safelock_fsm_relock(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state != SAFELOCK_STATE_UNLOCKED || fsm->door_open)
		return;
	fsm->state = SAFELOCK_STATE_LOCKED;
	out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
}

/**
 * safelock_fsm_door() - the door sensor changed
 * @fsm: the state machine
 * @open: the door is now open
 * @out: filled with what to do
 *
 * Once the door has been opened after an unlock, the relock timer no
 * longer applies: closing the door relocks at once.
 */
void safelock_fsm_door(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	fsm->door_open = open;
	if (fsm->state != SAFELOCK_STATE_UNLOCKED)
		return;
	if (open) {
		fsm->door_opened = true;
		out->actions |= SAFELOCK_ACT_RELOCK_STOP;
	} else if (fsm->door_opened) {
		fsm->door_opened = false;
		fsm->state = SAFELOCK_STATE_LOCKED;
		out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
	}
}

/**
 * safelock_fsm_lock_now() - someone asked to lock at once
 * @fsm: the state machine
 * @door_open: the door sensor says the door is open
 * @out: filled with what to do
 *
 * A lock in PENALTY stays there: locking never shortens a penalty.  Any
 * time delay, open window or half-done dual authorisation is abandoned.
 *
 * Return: 0, -EPERM if the lock has no owner yet (it cannot be secured), or
 * -EBUSY if the door is open (the bolt would stop it from closing).
 */
int safelock_fsm_lock_now(struct safelock_fsm *fsm, bool door_open,
			  struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state == SAFELOCK_STATE_UNPROVISIONED)
		return -EPERM;
	if (door_open)
		return -EBUSY;
	if (fsm->state == SAFELOCK_STATE_PENALTY) {
		out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
		return 0;
	}

	switch (fsm->state) {
	case SAFELOCK_STATE_ENTRY:
		safelock_fsm_abandon(fsm, out);
		break;
	case SAFELOCK_STATE_VERIFYING:
		out->actions |= SAFELOCK_ACT_REQUEST_END;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
		break;
	case SAFELOCK_STATE_UNLOCKED:
		out->actions |= SAFELOCK_ACT_RELOCK_STOP;
		break;
	default:
		break;
	}
	fsm->window = false;
	fsm->dual_first = 0;
	out->actions |= SAFELOCK_ACT_PHASE_STOP | SAFELOCK_ACT_DUAL_STOP;
	fsm->state = SAFELOCK_STATE_LOCKED;
	out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
	return 0;
}
