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
 *
 * The bolt: with a bolt sensor, every move is watched until the sensor
 * confirms it (UNLOCKED only then; LOCKED only then), retried
 * bolt_retries times, and a jam after that is FAULT.  Without a sensor an
 * opening counts when the bolt is driven and a relock lasts the drive time.
 */
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/minmax.h>
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
	[SAFELOCK_STATE_TIME_LOCKED]	= "TIME_LOCKED",
	[SAFELOCK_STATE_RELOCKING]	= "RELOCKING",
	[SAFELOCK_STATE_FAULT]		= "FAULT",
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
 * Where the lock rests when an entry ends without opening: in FAULT if one
 * waits (a penalty ended), waiting for a second user under dual control, in
 * the open window, or locked.
 */
static enum safelock_state safelock_fsm_idle(const struct safelock_fsm *fsm)
{
	if (!fsm->provisioned)
		return SAFELOCK_STATE_UNPROVISIONED;
	if (fsm->fault)
		return SAFELOCK_STATE_FAULT;
	if (fsm->tl_active)
		return SAFELOCK_STATE_TIME_LOCKED;
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
	/* The bolt is thrown from probe on; a bolt sensor may say otherwise. */
	fsm->bolt_secure = true;
}

/*
 * Drive the bolt towards @open and wait for the move: the sensor confirms
 * it, or, without one, a throw lasts the drive time and an opening counts
 * at once.
 */
static void safelock_fsm_bolt_start(struct safelock_fsm *fsm, bool open,
				    struct safelock_fsm_out *out)
{
	fsm->bolt_tries = 0;
	if (open) {
		fsm->bolt_secure = false;
		out->actions |= SAFELOCK_ACT_BOLT_OPEN;
	} else {
		out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
	}
	if (open && !fsm->bolt_sensor) {
		fsm->bolt_move = SAFELOCK_BOLT_IDLE;
		out->actions |= SAFELOCK_ACT_BOLT_UNWATCH;
		return;
	}
	fsm->bolt_move = open ? SAFELOCK_BOLT_OPENING : SAFELOCK_BOLT_CLOSING;
	out->actions |= SAFELOCK_ACT_BOLT_WATCH;
}

/* Throw the bolt and wait for it: RELOCKING, then LOCKED. */
static void safelock_fsm_relock_start(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	fsm->state = SAFELOCK_STATE_RELOCKING;
	fsm->door_opened = false;
	out->actions |= SAFELOCK_ACT_RELOCK_STOP;
	safelock_fsm_bolt_start(fsm, false, out);
}

/*
 * Lock: LOCKED at once if the bolt is known thrown, else RELOCKING until the
 * throw is confirmed.
 */
static void safelock_fsm_secure(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	if (fsm->bolt_secure && fsm->bolt_move == SAFELOCK_BOLT_IDLE) {
		fsm->state = SAFELOCK_STATE_LOCKED;
		out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
		return;
	}
	safelock_fsm_relock_start(fsm, out);
}

/*
 * The bolt is retracted: UNLOCKED, relocking after the delay or the door.
 * The relock timer runs even with the door open: held back by the door, it
 * hands over to the door limit, so a door that reads open for ever (one
 * that was open before this opening, and never moved since) never keeps
 * the bolt retracted.
 */
static void safelock_fsm_opened(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	fsm->state = SAFELOCK_STATE_UNLOCKED;
	if (fsm->door_opened && !fsm->door_open)	/* opened and shut meanwhile */
		safelock_fsm_relock_start(fsm, out);
	else
		out->actions |= SAFELOCK_ACT_RELOCK_TIMER;
}

/* Is a verification request pending (not a grant waiting for the bolt)? */
static bool safelock_fsm_verifying(const struct safelock_fsm *fsm)
{
	return fsm->state == SAFELOCK_STATE_VERIFYING && fsm->bolt_move == SAFELOCK_BOLT_IDLE;
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

/*
 * The entry's user id is complete (its digits come first): the verifier
 * may count the try and load the user's sealed code before ENTER.  Only
 * the id, never a digit of the code; an id of 0 is no user (MALFORMED at
 * ENTER), so nothing is said.
 */
static void safelock_fsm_entry_user(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	unsigned int i;
	u32 user = 0;

	for (i = 0; i < SAFELOCK_USER_ID_DIGITS; i++)
		user = user * 10 + (fsm->entry[i] - '0');
	if (!user)
		return;
	out->user_id = user;
	out->actions |= SAFELOCK_ACT_ENTRY_USER;
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
	if (!fsm->verifier || !fsm->policy_landed) {
		/* No grant could count: the digits go nowhere. */
		memzero_explicit(out->code, sizeof(out->code));
		out->code_len = 0;
		out->user_id = 0;
		fsm->state = safelock_fsm_idle(fsm);
		safelock_fsm_attempt(out, fsm->verifier ? SAFELOCK_RESULT_NO_POLICY :
					  SAFELOCK_RESULT_NO_VERIFIER);
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
 * cannot change its outcome, except CLEAR, which cancels a time delay.  In
 * TIME_LOCKED, as in PENALTY, every key is ignored: no entry, no event, no
 * feedback, and nothing is extended.
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
			if (fsm->entry_len == SAFELOCK_USER_ID_DIGITS)
				safelock_fsm_entry_user(fsm, out);
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
 * @vault: what the verifier says of its vault (&enum safelock_vault), or -1
 *	if it did not say
 * @new_verifier: the verifier is not the one this lock last knew (it
 *	registered, or went away): whatever that one was asked or set is void
 * @out: filled with what to do
 *
 * An unprovisioned lock is secured once a verifier says its vault has an
 * owner, readable or damaged: a damaged vault never makes a lock look new.
 * "Provisioned" is not withdrawn by a verifier going away or failing: a
 * lock does not become unsecurable because its verifier crashed.  It is
 * withdrawn only when the registered verifier says its vault is empty (a
 * factory wipe) and the door is open, as a wipe requires: the lock is
 * UNPROVISIONED again, with its bolt where it is (nothing is driven), its
 * timers and authorisations dropped; a penalty runs out first, a bolt on
 * its way arrives first.  With the door shut it stays provisioned.
 *
 * A new verifier (or none) ends a pending request, and the lock takes no
 * entry until the new verifier has set the policy (safelock_fsm_policy()).
 */
void safelock_fsm_verifier(struct safelock_fsm *fsm, bool present, int vault,
			   bool new_verifier, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	fsm->verifier = present;
	if (new_verifier || !present)
		fsm->policy_landed = false;
	if (vault >= 0)
		fsm->vault_damaged = vault == SAFELOCK_VAULT_DAMAGED;
	if (safelock_fsm_verifying(fsm) && (!present || new_verifier)) {
		fsm->state = safelock_fsm_idle(fsm);
		out->actions |= SAFELOCK_ACT_REQUEST_END;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
	}
	if (!present)
		return;
	if (vault == SAFELOCK_VAULT_OWNED || vault == SAFELOCK_VAULT_DAMAGED) {
		fsm->provisioned = true;
	} else if (vault == SAFELOCK_VAULT_EMPTY && fsm->provisioned && fsm->door_open) {
		fsm->provisioned = false;
		if (fsm->state == SAFELOCK_STATE_ENTRY) {
			safelock_fsm_abandon(fsm, out);
		} else if (safelock_fsm_verifying(fsm)) {
			out->actions |= SAFELOCK_ACT_REQUEST_END;
			safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
		}
		fsm->window = false;
		fsm->dual_first = 0;
		out->actions |= SAFELOCK_ACT_PHASE_STOP | SAFELOCK_ACT_DUAL_STOP |
				SAFELOCK_ACT_RELOCK_STOP;
		if (fsm->state != SAFELOCK_STATE_PENALTY && fsm->bolt_move == SAFELOCK_BOLT_IDLE)
			fsm->state = SAFELOCK_STATE_UNPROVISIONED;
		return;
	}
	if (fsm->state == SAFELOCK_STATE_UNPROVISIONED && fsm->provisioned)
		safelock_fsm_secure(fsm, out);
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
	if (!safelock_fsm_verifying(fsm))
		return;
	fsm->state = safelock_fsm_idle(fsm);
	out->actions |= SAFELOCK_ACT_REQUEST_END;
	safelock_fsm_attempt(out, result);
}

/*
 * The time-delay override.  Two different users whose grants may take part
 * in one (SAFELOCK_OVERRIDE_MAY or _ONLY), within the dual window, skip the
 * time delay: *@skip is set, and they count as dual control's two users.
 * The first waits in DUAL_PENDING.  A grant that is only an override
 * (a courier's) counts for nothing else: not with an ordinary user, not in
 * the open window, not when the policy allows no override.  A grant that
 * may override but also counts as an ordinary one (a manager's) is an
 * ordinary grant where no override is possible.
 *
 * Return: true if the grant has been dealt with here.
 */
static bool safelock_fsm_override(struct safelock_fsm *fsm, u32 user, u8 ovr, bool *skip,
				  struct safelock_fsm_out *out)
{
	bool possible = fsm->policy.override && fsm->policy.time_delay_s && !fsm->window;
	u32 first = fsm->dual_first;

	if (!possible) {
		if (ovr != SAFELOCK_OVERRIDE_ONLY)
			return false;
		fsm->state = safelock_fsm_idle(fsm);
		return true;
	}
	if (first == user) {			/* the same person twice is one */
		fsm->state = SAFELOCK_STATE_DUAL_PENDING;
		return true;
	}
	if (first && fsm->dual_ovr && ovr) {	/* two of them: no delay */
		fsm->dual_first = 0;
		out->actions |= SAFELOCK_ACT_DUAL_STOP | SAFELOCK_ACT_OVERRIDE;
		out->override_first = first;
		*skip = true;
		return false;
	}
	if (!first && ovr) {			/* the first waits for a second */
		fsm->dual_first = user;
		fsm->dual_ovr = ovr;
		fsm->state = SAFELOCK_STATE_DUAL_PENDING;
		out->actions |= SAFELOCK_ACT_DUAL_TIMER;
		return true;
	}
	if (ovr == SAFELOCK_OVERRIDE_ONLY) {	/* no pair with an ordinary user */
		fsm->state = SAFELOCK_STATE_DUAL_PENDING;
		return true;
	}
	if (first && (!fsm->policy.dual_control || fsm->dual_ovr == SAFELOCK_OVERRIDE_ONLY)) {
		/* an ordinary grant ends a wait it cannot pair with */
		fsm->dual_first = 0;
		out->actions |= SAFELOCK_ACT_DUAL_STOP;
	}
	return false;
}

/*
 * A code was accepted: under dual control it counts only with a different
 * user's; the whole authorisation then starts the time delay, or opens in
 * the open window (or at once without a delay, or with an override).
 * Nothing opens during a time lock.
 */
static void safelock_fsm_authorised(struct safelock_fsm *fsm, u32 user, u8 override,
				    struct safelock_fsm_out *out)
{
	bool skip = false;

	if (fsm->tl_active) {
		fsm->state = SAFELOCK_STATE_TIME_LOCKED;
		return;
	}
	if (safelock_fsm_override(fsm, user, override, &skip, out))
		return;
	if (fsm->policy.dual_control && !skip) {
		if (!fsm->dual_first) {
			fsm->dual_first = user;
			fsm->dual_ovr = SAFELOCK_OVERRIDE_NONE;
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
	if (fsm->policy.time_delay_s && !fsm->window && !skip) {
		fsm->state = SAFELOCK_STATE_TIME_DELAY;
		out->actions |= SAFELOCK_ACT_DELAY_TIMER;
		return;
	}
	if (fsm->window) {
		fsm->window = false;
		out->actions |= SAFELOCK_ACT_PHASE_STOP;
	}
	/* A door already open counts as opened: its closing relocks. */
	fsm->door_opened = fsm->door_open;
	safelock_fsm_bolt_start(fsm, true, out);
	/* With a sensor the lock stays VERIFYING until it confirms the bolt. */
	if (fsm->bolt_move == SAFELOCK_BOLT_IDLE)
		safelock_fsm_opened(fsm, out);
}

/**
 * safelock_fsm_verdict_override() - the verifier answered the pending request
 * @fsm: the state machine
 * @result: %SAFELOCK_RESULT_GRANTED or %SAFELOCK_RESULT_DENIED
 * @retry_after_ms: with a denial, how long the keypad must stay quiet
 * @duress: with a grant, the entry was a duress entry
 * @override: with a grant, &enum safelock_override
 * @out: filled with what to do
 *
 * The caller has already checked that the verdict is for the pending
 * request, from the registered verifier, in time, with the right nonce.
 * Only GRANTED can open, and only as the policy allows (dual control, time
 * delay, time lock, override); anything else is a denial.  A denial with a
 * retry-after mirrors the verifier's lockout: PENALTY, where keys count
 * for nothing and cannot extend it.  A duress grant opens like any other,
 * and raises the silent alarm.  On a board with a bolt sensor, a grant
 * that opens leaves the lock in VERIFYING until the sensor confirms the
 * bolt retracted.
 */
void safelock_fsm_verdict_override(struct safelock_fsm *fsm, enum safelock_result result,
				   u32 retry_after_ms, bool duress, u8 override,
				   struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (!safelock_fsm_verifying(fsm))
		return;
	out->actions |= SAFELOCK_ACT_REQUEST_END;
	if (result == SAFELOCK_RESULT_GRANTED) {
		safelock_fsm_authorised(fsm, fsm->pending_user, override, out);
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
 * safelock_fsm_verdict() - the verifier answered, without an override
 * @fsm: the state machine
 * @result: %SAFELOCK_RESULT_GRANTED or %SAFELOCK_RESULT_DENIED
 * @retry_after_ms: with a denial, how long the keypad must stay quiet
 * @duress: with a grant, the entry was a duress entry
 * @out: filled with what to do
 */
void safelock_fsm_verdict(struct safelock_fsm *fsm, enum safelock_result result,
			  u32 retry_after_ms, bool duress, struct safelock_fsm_out *out)
{
	safelock_fsm_verdict_override(fsm, result, retry_after_ms, duress,
				      SAFELOCK_OVERRIDE_NONE, out);
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

/*
 * A lone grant that could have overridden but also counts as an ordinary
 * one, with no dual control to wait for: its override partner did not come,
 * so it starts the time delay as any grant would.
 */
static void safelock_fsm_lone_override(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	if (fsm->state != SAFELOCK_STATE_LOCKED || !fsm->policy.time_delay_s)
		return;
	fsm->state = SAFELOCK_STATE_TIME_DELAY;
	out->actions |= SAFELOCK_ACT_DELAY_TIMER;
}

/**
 * safelock_fsm_dual_over() - no second user came in time
 * @fsm: the state machine
 * @out: filled with what to do
 *
 * A lone override grant that also counts as an ordinary one starts the
 * time delay then, unless dual control wants a second user anyway.
 */
void safelock_fsm_dual_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	bool lone = fsm->dual_first && fsm->dual_ovr == SAFELOCK_OVERRIDE_MAY &&
		    !fsm->policy.dual_control && fsm->state == SAFELOCK_STATE_DUAL_PENDING;

	safelock_out_reset(out);
	fsm->dual_first = 0;
	if (fsm->state == SAFELOCK_STATE_DUAL_PENDING)
		fsm->state = safelock_fsm_idle(fsm);
	if (lone)
		safelock_fsm_lone_override(fsm, out);
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
	if (fsm->state != SAFELOCK_STATE_UNLOCKED)
		return;
	if (fsm->door_open) {
		fsm->door_opened = true;	/* its closing relocks */
		return;
	}
	safelock_fsm_relock_start(fsm, out);
}

/**
 * safelock_fsm_door() - the door sensor changed
 * @fsm: the state machine
 * @open: the door is now open
 * @out: filled with what to do
 *
 * Once the door has been opened after an unlock, the relock timer no
 * longer applies: closing the door relocks at once.  A door that opens
 * while the bolt is being thrown changes nothing: the throw goes on, since
 * only a fresh grant ever retracts the bolt (a door line that flaps, or is
 * forced to read "open", must not undo a relock).  The bolt then stands out
 * of the open door, and its owner opens again to close the door.
 */
void safelock_fsm_door(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	fsm->door_open = open;
	if (open && fsm->state == SAFELOCK_STATE_VERIFYING && fsm->bolt_move != SAFELOCK_BOLT_IDLE)
		fsm->door_opened = true;	/* it opened before the sensor said so */
	if (fsm->state != SAFELOCK_STATE_UNLOCKED)
		return;
	if (open) {
		fsm->door_opened = true;
		out->actions |= SAFELOCK_ACT_RELOCK_STOP;
	} else if (fsm->door_opened) {
		safelock_fsm_relock_start(fsm, out);
	}
}

/**
 * safelock_fsm_door_held() - the door has read "open" for the longest allowed
 * @fsm: the state machine
 * @out: filled with what to do
 *
 * A door left open, or a door line that reads "open" for ever because its
 * wire is cut, never keeps the bolt retracted: an unlocked lock throws it
 * now, whatever the door line says.
 */
void safelock_fsm_door_held(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state == SAFELOCK_STATE_UNLOCKED)
		safelock_fsm_relock_start(fsm, out);
}

/**
 * safelock_fsm_lock_now() - someone asked to lock at once
 * @fsm: the state machine
 * @door_open: the door sensor says the door is open
 * @out: filled with what to do
 *
 * A lock in PENALTY or TIME_LOCKED stays there: locking never shortens a
 * penalty or a time lock.  Any time delay, open window or half-done dual
 * authorisation is abandoned, and so is an opening the bolt sensor has not
 * confirmed yet.  A lock whose bolt may be retracted (UNLOCKED, opening,
 * FAULT) goes to RELOCKING and is LOCKED when the throw is confirmed; that
 * clears a fault.
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
	if (fsm->state == SAFELOCK_STATE_PENALTY || fsm->state == SAFELOCK_STATE_TIME_LOCKED) {
		out->actions |= SAFELOCK_ACT_BOLT_CLOSE;
		return 0;
	}

	switch (fsm->state) {
	case SAFELOCK_STATE_ENTRY:
		safelock_fsm_abandon(fsm, out);
		break;
	case SAFELOCK_STATE_VERIFYING:
		if (!safelock_fsm_verifying(fsm))
			break;	/* a grant whose bolt is on its way: thrown back below */
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
	safelock_fsm_secure(fsm, out);
	return 0;
}

/*
 * A fault: stop what was under way and wait in FAULT, the bolt not driven.
 * A penalty runs to its end first (a fault never shortens it): the lock is
 * in FAULT when it is over.
 */
static void safelock_fsm_fault(struct safelock_fsm *fsm, enum safelock_fault fault,
			       struct safelock_fsm_out *out)
{
	fsm->fault = fault;
	fsm->bolt_secure = false;
	out->fault = fault;
	out->actions |= SAFELOCK_ACT_FAULT | SAFELOCK_ACT_BOLT_STOP;
	if (fsm->state == SAFELOCK_STATE_PENALTY)
		return;
	if (fsm->state == SAFELOCK_STATE_ENTRY) {
		safelock_fsm_abandon(fsm, out);
	} else if (safelock_fsm_verifying(fsm)) {
		out->actions |= SAFELOCK_ACT_REQUEST_END;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
	}
	fsm->window = false;
	fsm->dual_first = 0;
	out->actions |= SAFELOCK_ACT_PHASE_STOP | SAFELOCK_ACT_DUAL_STOP |
			SAFELOCK_ACT_RELOCK_STOP;
	fsm->state = SAFELOCK_STATE_FAULT;
}

/**
 * safelock_fsm_bolt_done() - the move being waited for has ended
 * @fsm: the state machine
 * @open: where the bolt now is: true retracted, false thrown
 * @out: filled with what to do
 *
 * The bolt sensor confirmed the move, or, without a sensor, the throw's
 * drive time has passed.  An opening confirmed is UNLOCKED; a throw
 * confirmed is LOCKED, which clears a fault.  Anything but the end of the
 * move being waited for is ignored.
 */
void safelock_fsm_bolt_done(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out)
{
	bool opening = fsm->bolt_move == SAFELOCK_BOLT_OPENING;

	safelock_out_reset(out);
	if (fsm->bolt_move == SAFELOCK_BOLT_IDLE || open != opening)
		return;
	fsm->bolt_move = SAFELOCK_BOLT_IDLE;
	out->actions |= SAFELOCK_ACT_BOLT_UNWATCH | SAFELOCK_ACT_BOLT_DONE;
	out->bolt_open = open;
	if (open) {
		/* In UNLOCKED it was retracted again for an open door. */
		if (fsm->state == SAFELOCK_STATE_VERIFYING)
			safelock_fsm_opened(fsm, out);
		return;
	}
	fsm->bolt_secure = true;
	fsm->state = SAFELOCK_STATE_LOCKED;
	if (fsm->fault) {
		fsm->fault = SAFELOCK_FAULT_NONE;
		out->fault = SAFELOCK_FAULT_NONE;
		out->actions |= SAFELOCK_ACT_FAULT;
	}
}

/**
 * safelock_fsm_bolt_sensed() - the bolt sensor changed
 * @fsm: the state machine
 * @open: it now reports the bolt retracted
 * @out: filled with what to do
 *
 * The end of a move being waited for completes it; a change on the way is
 * ignored.  With no move under way, the bolt must be where the state says
 * (retracted in UNLOCKED, thrown elsewhere): a change that disagrees is a
 * forced bolt or a failing sensor, %SAFELOCK_FAULT_SENSOR.  In UNLOCKED the
 * fault is reported but the lock stays UNLOCKED and relocks as planned; it
 * stops everything elsewhere.  An unprovisioned lock only takes note; a
 * lock already in fault ignores the sensor until a relock.
 */
void safelock_fsm_bolt_sensed(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out)
{
	bool unlocked = fsm->state == SAFELOCK_STATE_UNLOCKED;

	safelock_out_reset(out);
	if (fsm->bolt_move != SAFELOCK_BOLT_IDLE) {
		safelock_fsm_bolt_done(fsm, open, out);
		return;
	}
	if (fsm->state == SAFELOCK_STATE_UNPROVISIONED) {
		fsm->bolt_secure = !open;
		return;
	}
	if (fsm->fault || open == unlocked)
		return;
	if (unlocked) {
		/*
		 * A fault is never a reason not to relock: report it and raise
		 * the alarm, but keep the bolt as it is driven and the relock
		 * as planned.  The confirmed throw clears it; a jam is FAULT.
		 */
		fsm->fault = SAFELOCK_FAULT_SENSOR;
		out->fault = SAFELOCK_FAULT_SENSOR;
		out->actions |= SAFELOCK_ACT_FAULT;
		return;
	}
	safelock_fsm_fault(fsm, SAFELOCK_FAULT_SENSOR, out);
}

/**
 * safelock_fsm_bolt_timeout() - the sensor did not confirm the move in time
 * @fsm: the state machine
 * @out: filled with what to do
 *
 * Stop, and drive again while retries are left; then it is a jam: the bolt
 * is no longer driven and the lock is in FAULT.  An opening that jams never
 * reports UNLOCKED; a throw that jams never reports LOCKED.
 */
void safelock_fsm_bolt_timeout(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	bool open = fsm->bolt_move == SAFELOCK_BOLT_OPENING;

	safelock_out_reset(out);
	if (fsm->bolt_move == SAFELOCK_BOLT_IDLE)
		return;
	out->actions |= SAFELOCK_ACT_BOLT_STOP;
	if (fsm->bolt_tries < fsm->bolt_retries) {
		fsm->bolt_tries++;
		out->actions |= SAFELOCK_ACT_BOLT_WATCH |
				(open ? SAFELOCK_ACT_BOLT_OPEN : SAFELOCK_ACT_BOLT_CLOSE);
		return;
	}
	/*
	 * The fault first: with the move still under way, an opening's
	 * VERIFYING is a grant already answered, not a request to cancel.
	 */
	out->actions |= SAFELOCK_ACT_BOLT_UNWATCH;
	safelock_fsm_fault(fsm, open ? SAFELOCK_FAULT_JAM_OPEN : SAFELOCK_FAULT_JAM_CLOSE, out);
	fsm->bolt_move = SAFELOCK_BOLT_IDLE;
}

/**
 * safelock_fsm_fault_clear() - the verifier asks to clear a fault
 * @fsm: the state machine
 * @door_open: the door sensor says the door is open
 * @out: filled with what to do
 *
 * The same relock as safelock_fsm_lock_now(), for a lock in FAULT only: the
 * fault is cleared when the sensor confirms the bolt thrown.
 *
 * Return: 0; -ENOENT if there is no fault; -EAGAIN if a penalty runs (the
 * fault waits for its end); -EALREADY if that relock is under way; -EBUSY if
 * the door is open.
 */
int safelock_fsm_fault_clear(struct safelock_fsm *fsm, bool door_open,
			     struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (!fsm->fault)
		return -ENOENT;
	if (fsm->state == SAFELOCK_STATE_PENALTY)
		return -EAGAIN;
	if (fsm->state != SAFELOCK_STATE_FAULT)
		return -EALREADY;
	if (door_open)
		return -EBUSY;
	safelock_fsm_relock_start(fsm, out);
	return 0;
}

/*
 * The time lock.  Time comes from the caller, never read here: the
 * wall clock (CLOCK_REALTIME, from the RTC or NTP) says whether the weekly
 * schedule, a holiday or the immediate time lock locks the lock now; a
 * running locked period ends at a CLOCK_BOOTTIME deadline fixed when it
 * begins, so that no change of the wall clock shortens it.  Re-evaluated
 * when the clock jumps or the policy changes, a period can only get longer.
 */
#define SAFELOCK_DAY_S		86400
#define SAFELOCK_QUARTER_S	900
#define SAFELOCK_QUARTERS	96		/* per day */
#define SAFELOCK_TL_STEPS	(8 * SAFELOCK_QUARTERS)	/* horizon: 8 days or more */

/* Floor division of a time in seconds by a day or a quarter hour. */
static s64 safelock_div_floor(s64 t, s32 unit, s32 *rem)
{
	s64 q = div_s64_rem(t, unit, rem);

	if (*rem < 0) {
		*rem += unit;
		q--;
	}
	return q;
}

static bool safelock_tl_holiday(const struct safelock_policy *p, s64 day)
{
	unsigned int i;

	for (i = 0; i < p->n_holidays && i < SAFELOCK_HOLIDAYS_MAX; i++)
		if (p->holidays[i] == day)
			return true;
	return false;
}

/*
 * Do the schedule and the holidays lock the lock at CLOCK_REALTIME second
 * @t?  *@next is the second at which the answer may next change.
 */
static bool safelock_tl_scheduled(const struct safelock_policy *p, s64 t, s64 *next)
{
	s32 sod, wday;
	s64 day;
	u32 bit;

	if (!p->time_lock) {
		*next = S64_MAX;
		return false;
	}
	day = safelock_div_floor(t + p->utc_offset_s, SAFELOCK_DAY_S, &sod);
	if (safelock_tl_holiday(p, day)) {
		*next = t + SAFELOCK_DAY_S - sod;
		return true;
	}
	safelock_div_floor(day + 4, 7, &wday);		/* 1970-01-01 was a Thursday */
	bit = wday * SAFELOCK_QUARTERS + sod / SAFELOCK_QUARTER_S;
	*next = t + SAFELOCK_QUARTER_S - sod % SAFELOCK_QUARTER_S;
	return p->week[bit / 8] & BIT(bit % 8);
}

/* The first second from @now on that neither @imm_until nor the schedule locks. */
static s64 safelock_tl_end(const struct safelock_policy *p, s64 now, s64 imm_until)
{
	unsigned int i;
	s64 t = now, next;

	for (i = 0; i < SAFELOCK_TL_STEPS; i++) {
		if (t < imm_until)
			t = imm_until;
		else if (safelock_tl_scheduled(p, t, &next))
			t = next;
		else
			break;
	}
	return t;
}

/*
 * The first second from @now on that the schedule or a holiday locks, or
 * S64_MAX if none ever does.  A week with any locked quarter has one within
 * the next 8 days; past them only a holiday can be left.
 */
static s64 safelock_tl_next_begin(const struct safelock_policy *p, s64 now)
{
	s64 day, start, best = S64_MAX;
	unsigned int i, q, bit;
	s32 sod, wday;

	if (!p->time_lock)
		return S64_MAX;
	day = safelock_div_floor(now + p->utc_offset_s, SAFELOCK_DAY_S, &sod);
	for (i = 0; i <= 7; i++, day++) {
		start = day * SAFELOCK_DAY_S - p->utc_offset_s;
		if (safelock_tl_holiday(p, day))
			return max(start, now);
		safelock_div_floor(day + 4, 7, &wday);	/* 1970-01-01 was a Thursday */
		for (q = i ? 0 : sod / SAFELOCK_QUARTER_S; q < SAFELOCK_QUARTERS; q++) {
			bit = wday * SAFELOCK_QUARTERS + q;
			if (p->week[bit / 8] & BIT(bit % 8))
				return max(start + (s64)q * SAFELOCK_QUARTER_S, now);
		}
	}
	for (i = 0; i < p->n_holidays && i < SAFELOCK_HOLIDAYS_MAX; i++)
		if (p->holidays[i] >= day)
			best = min(best, (s64)p->holidays[i] * SAFELOCK_DAY_S - p->utc_offset_s);
	return best;
}

/* The immediate time lock, in CLOCK_REALTIME seconds as the clock now reads. */
static s64 safelock_tl_imm_until(const struct safelock_fsm *fsm, s64 now, u64 boot_ns)
{
	s64 until = min_t(u64, fsm->policy.time_lock_until_s, S64_MAX);
	u64 left;

	if (fsm->imm_until_ns > boot_ns) {
		left = DIV_ROUND_UP_ULL(fsm->imm_until_ns - boot_ns, NSEC_PER_SEC);
		until = max(until, now + (s64)left);
	}
	return until;
}

/* A locked period begins: nothing that could open survives it. */
static void safelock_tl_begin(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	fsm->tl_active = true;
	out->actions |= SAFELOCK_ACT_TLOCK_BEGIN;
	fsm->window = false;
	fsm->dual_first = 0;
	out->actions |= SAFELOCK_ACT_PHASE_STOP | SAFELOCK_ACT_DUAL_STOP;
	switch (fsm->state) {
	case SAFELOCK_STATE_ENTRY:
		safelock_fsm_abandon(fsm, out);		/* to TIME_LOCKED */
		break;
	case SAFELOCK_STATE_VERIFYING:
		/* A granted opening under way ends UNLOCKED, then relocks. */
		if (fsm->bolt_move != SAFELOCK_BOLT_IDLE)
			break;
		out->actions |= SAFELOCK_ACT_REQUEST_END;
		safelock_fsm_attempt(out, SAFELOCK_RESULT_CANCELLED);
		fsm->pending_user = 0;
		fallthrough;
	case SAFELOCK_STATE_LOCKED:
	case SAFELOCK_STATE_TIME_DELAY:
	case SAFELOCK_STATE_OPEN_WINDOW:
	case SAFELOCK_STATE_DUAL_PENDING:
		fsm->state = SAFELOCK_STATE_TIME_LOCKED;
		break;
	default:	/* UNLOCKED relocks first; PENALTY runs out first */
		break;
	}
}

/*
 * Evaluate the time lock at this moment.  @again: the clock jumped or the
 * policy changed, so a running period is measured again (never shorter).
 */
static void safelock_tl_eval(struct safelock_fsm *fsm, u64 real_ns, u64 boot_ns, bool again,
			     struct safelock_fsm_out *out)
{
	s64 now = div_u64(real_ns, NSEC_PER_SEC), imm, next, left;
	bool locked;
	u64 until;

	if (fsm->tl_active && boot_ns < fsm->tl_until_ns && !again)
		return;
	imm = safelock_tl_imm_until(fsm, now, boot_ns);
	locked = now < imm || safelock_tl_scheduled(&fsm->policy, now, &next);
	if (!locked) {
		if (fsm->tl_active && boot_ns >= fsm->tl_until_ns) {
			fsm->tl_active = false;
			out->actions |= SAFELOCK_ACT_TLOCK_END;
			if (fsm->state == SAFELOCK_STATE_TIME_LOCKED)
				fsm->state = SAFELOCK_STATE_LOCKED;
		}
		return;
	}
	left = safelock_tl_end(&fsm->policy, now, imm) * NSEC_PER_SEC - (s64)real_ns;
	until = boot_ns + max_t(s64, left, 0);
	if (!fsm->tl_active) {
		fsm->tl_until_ns = until;
		safelock_tl_begin(fsm, out);
	} else {
		fsm->tl_until_ns = max(fsm->tl_until_ns, until);
	}
}

/* Has CLOCK_REALTIME moved against CLOCK_BOOTTIME since the last reading? */
static bool safelock_fsm_clock_read(struct safelock_fsm *fsm, u64 real_ns, u64 boot_ns,
				    struct safelock_fsm_out *out)
{
	s64 offset = (s64)(real_ns - boot_ns), jump = offset - fsm->clock_offset_ns;
	bool known = fsm->clock_known;

	fsm->clock_known = true;
	fsm->clock_offset_ns = offset;
	if (!known || abs(jump) <= SAFELOCK_CLOCK_JUMP_NS)
		return false;
	out->actions |= SAFELOCK_ACT_CLOCK_JUMP;
	out->clock_jump_s = clamp_t(s64, div_s64(jump, NSEC_PER_SEC), S32_MIN, S32_MAX);
	return true;
}

/**
 * safelock_fsm_clock() - the clocks were read: time lock periods, clock jumps
 * @fsm: the state machine
 * @real_ns: CLOCK_REALTIME now
 * @boot_ns: CLOCK_BOOTTIME now (counts suspend)
 * @out: filled with what to do
 *
 * Called at each boundary safelock_fsm_next_clock() gives, when the wall
 * clock was set (the verifier says so), and before every step that could
 * open.  A change of the wall clock against CLOCK_BOOTTIME of more than
 * %SAFELOCK_CLOCK_JUMP_NS since the last reading is a jump: reported (at
 * that reading, so possibly well after the clock was set), and never a way
 * in.  Nothing but a set moves one clock against the other, so readings
 * far apart find no jump that is not one.  A locked period that begins moves
 * the lock to TIME_LOCKED from LOCKED, from an entry (cancelled), a pending
 * request (cancelled), a time delay, an open window or a dual wait; an
 * open lock and a penalty get there when they end.  The period ends at its
 * CLOCK_BOOTTIME deadline, and only when the wall clock agrees.
 */
void safelock_fsm_clock(struct safelock_fsm *fsm, u64 real_ns, u64 boot_ns,
			struct safelock_fsm_out *out)
{
	bool jumped;

	safelock_out_reset(out);
	jumped = safelock_fsm_clock_read(fsm, real_ns, boot_ns, out);
	safelock_tl_eval(fsm, real_ns, boot_ns, jumped, out);
}

/**
 * safelock_fsm_next_clock() - when the clocks must next be read
 * @fsm: the state machine
 * @real_ns: CLOCK_REALTIME now
 * @boot_ns: CLOCK_BOOTTIME now
 * @next: filled with the next time lock boundary
 *
 * A running locked period is measured again at its CLOCK_BOOTTIME end
 * (@next->boot_ns); otherwise the clocks matter next when the wall clock
 * reaches the beginning of a locked period of the schedule, a holiday or the
 * immediate time lock (@next->real_ns; now if one should already run).
 * U64_MAX: never.  Between these moments only a change of the wall clock
 * can make a reading differ: whoever sets the clock says so (CLOCK_SET), and
 * every step that could open reads the clocks anyway.
 */
void safelock_fsm_next_clock(const struct safelock_fsm *fsm, u64 real_ns, u64 boot_ns,
			     struct safelock_clock_next *next)
{
	s64 now = div_u64(real_ns, NSEC_PER_SEC), t;

	next->boot_ns = U64_MAX;
	next->real_ns = U64_MAX;
	if (fsm->tl_active) {
		next->boot_ns = fsm->tl_until_ns;
		return;
	}
	if (now < safelock_tl_imm_until(fsm, now, boot_ns)) {
		next->real_ns = real_ns;
		return;
	}
	t = safelock_tl_next_begin(&fsm->policy, now);
	if (t == now)
		next->real_ns = real_ns;
	else if (t != S64_MAX && t > 0)
		next->real_ns = (u64)t * NSEC_PER_SEC;
}

/**
 * safelock_fsm_time_lock_settle() - a lock at rest during a locked period
 * @fsm: the state machine
 * @out: filled with what to do
 *
 * The caller calls this whenever a step leaves the lock LOCKED: a lock that
 * was open when the period began, or that a relock, the door or LOCK_NOW
 * brought to LOCKED, is TIME_LOCKED while the period runs.
 */
void safelock_fsm_time_lock_settle(struct safelock_fsm *fsm, struct safelock_fsm_out *out)
{
	safelock_out_reset(out);
	if (fsm->state == SAFELOCK_STATE_LOCKED && fsm->tl_active)
		fsm->state = SAFELOCK_STATE_TIME_LOCKED;
}

/**
 * safelock_fsm_policy() - the verifier sets the whole policy
 * @fsm: the state machine
 * @policy: the new policy, its attributes already range-checked
 * @lock_for_s: 0, or an immediate time lock from now for this many seconds
 *	(then @policy->time_lock_until_s is ignored)
 * @real_ns: CLOCK_REALTIME now
 * @boot_ns: CLOCK_BOOTTIME now
 * @out: filled with what to do
 *
 * The time lock takes effect at once; the rest of the policy from the next
 * accepted code.  While an immediate time lock is in force a new end may
 * extend it, never shorten or lift it; a new end lies at most
 * %SAFELOCK_TIME_LOCK_MAX_S ahead.  @lock_for_s is timed on CLOCK_BOOTTIME
 * alone and extends what is in force, never shortens it.  No policy change
 * ends a running locked period early.
 *
 * Return: 0; -EPERM for an end that would shorten an immediate time lock in
 * force, -ERANGE for one too far ahead: then nothing changed.
 */
int safelock_fsm_policy(struct safelock_fsm *fsm, const struct safelock_policy *policy,
			u32 lock_for_s, u64 real_ns, u64 boot_ns, struct safelock_fsm_out *out)
{
	u64 now = div_u64(real_ns, NSEC_PER_SEC), cur = fsm->policy.time_lock_until_s;
	u64 until = policy->time_lock_until_s;

	safelock_out_reset(out);
	if (lock_for_s)
		until = max(cur, now + lock_for_s);
	if (until < cur && (cur > now || fsm->imm_until_ns > boot_ns))
		return -EPERM;
	if (until != cur && until > now + SAFELOCK_TIME_LOCK_MAX_S)
		return -ERANGE;
	safelock_fsm_clock_read(fsm, real_ns, boot_ns, out);	/* measured again below */
	fsm->policy = *policy;
	fsm->policy.time_lock_until_s = until;
	if (lock_for_s)
		fsm->imm_until_ns = max(fsm->imm_until_ns,
					boot_ns + (u64)lock_for_s * NSEC_PER_SEC);
	else if (until > cur && until > now)
		fsm->imm_until_ns = max(fsm->imm_until_ns,
					boot_ns + (until * NSEC_PER_SEC - real_ns));
	safelock_tl_eval(fsm, real_ns, boot_ns, true, out);
	return 0;
}
