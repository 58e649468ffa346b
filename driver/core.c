// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: probe, the per-device structure, its lifetime, and the glue that
 * carries out what the state machine (fsm.c) decides.
 *
 * The driver never sees a stored code and never decides whether a code is
 * right: it sends the entry to the registered verifier and acts on a verdict
 * bound to its own pending request.
 */
#include <linux/crypto.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <crypto/algapi.h>

#include "compat.h"
#include "safelock.h"

/* Protects safelock_devices[]. */
static DEFINE_MUTEX(safelock_devices_lock);
static struct safelock *safelock_devices[SAFELOCK_MAX_DEVICES];

/* Request ids are unique per boot, across devices. */
static atomic64_t safelock_request_ids = ATOMIC64_INIT(0);

static void safelock_release(struct kref *ref)
{
	struct safelock *sl = container_of(ref, struct safelock, ref);

	mutex_destroy(&sl->lock);
	kfree(sl->signals);
	kfree(sl);
}

void safelock_put(struct safelock *sl)
{
	kref_put(&sl->ref, safelock_release);
}

/**
 * safelock_get_by_index() - find a lock by its index and take a reference
 * @index: N of /dev/safelockN
 *
 * Return: the lock, to be released with safelock_put(), or NULL.
 */
struct safelock *safelock_get_by_index(unsigned int index)
{
	struct safelock *sl;

	if (index >= SAFELOCK_MAX_DEVICES)
		return NULL;
	mutex_lock(&safelock_devices_lock);
	sl = safelock_devices[index];
	if (sl)
		kref_get(&sl->ref);
	mutex_unlock(&safelock_devices_lock);
	return sl;
}

static void safelock_emit(struct safelock *sl, u32 type, u32 result, u32 user_id,
			  u64 request_id, u32 value)
{
	struct safelock_event ev = {
		.timestamp_ns = ktime_get_ns(),
		.type = type,
		.state = sl->fsm.state,
		.result = result,
		.user_id = user_id,
		.request_id = request_id,
		.value = value,
	};

	lockdep_assert_held(&sl->lock);
	spin_lock(&sl->ev_lock);
	ev.seq = ++sl->seq;
	safelock_cdev_event(sl, &ev);
	spin_unlock(&sl->ev_lock);
	safelock_netlink_event(sl, &ev);
}

static void safelock_request_end(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	cancel_delayed_work(&sl->verify_work);
	memzero_explicit(sl->req.nonce, sizeof(sl->req.nonce));
	sl->req.id = 0;
	sl->req.user_id = 0;
}

static void safelock_request_start(struct safelock *sl, const struct safelock_fsm_out *out)
{
	struct safelock_fsm_out failed;
	int ret;

	lockdep_assert_held(&sl->lock);
	/* The request keeps the id the verifier was told at the first key. */
	sl->req.id = sl->entry_id ? sl->entry_id : atomic64_inc_return(&safelock_request_ids);
	sl->entry_id = 0;
	sl->req.user_id = out->user_id;
	get_random_bytes(sl->req.nonce, sizeof(sl->req.nonce));
	sl->req.deadline_ns = ktime_get_ns() + (u64)sl->verify_timeout_ms * NSEC_PER_MSEC;
	mod_delayed_work(system_wq, &sl->verify_work,
			 msecs_to_jiffies(sl->verify_timeout_ms) + 1);

	ret = safelock_netlink_verify(sl, out);
	if (ret) {
		dev_dbg(sl->dev, "request %llu not delivered: %d\n", sl->req.id, ret);
		safelock_fsm_verify_failed(&sl->fsm, SAFELOCK_RESULT_NO_VERIFIER, &failed);
		safelock_fsm_apply(sl, &failed, SAFELOCK_STATE_VERIFYING);
	}
}

/* Raise the silent alarm, or keep it up for another alarm_ms. */
static void safelock_alarm_raise(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	if (!sl->alarm || sl->gone)
		return;
	if (!sl->alarm_on) {
		sl->alarm_on = true;
		safelock_alarm_set(sl, true);
		safelock_emit(sl, SAFELOCK_EVENT_ALARM, 0, 0, 0, 1);
	}
	mod_delayed_work(system_wq, &sl->alarm_work, msecs_to_jiffies(sl->alarm_ms));
}

static void safelock_alarm_drop(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, alarm_work);

	mutex_lock(&sl->lock);
	if (sl->alarm_on && !sl->gone) {
		sl->alarm_on = false;
		safelock_alarm_set(sl, false);
		safelock_emit(sl, SAFELOCK_EVENT_ALARM, 0, 0, 0, 0);
	}
	mutex_unlock(&sl->lock);
}

/**
 * safelock_tamper_changed() - the tamper switch moved; report it
 * @sl: the lock, with sl->lock held
 * @active: the enclosure is being tampered with
 *
 * Tampering raises the silent alarm; it never opens anything.
 */
void safelock_tamper_changed(struct safelock *sl, bool active)
{
	lockdep_assert_held(&sl->lock);
	safelock_emit(sl, SAFELOCK_EVENT_TAMPER, 0, 0, 0, active);
	if (active)
		safelock_alarm_raise(sl);
}

static void safelock_timer_start(struct delayed_work *work, u64 *until_ns, u32 seconds)
{
	*until_ns = ktime_get_ns() + (u64)seconds * NSEC_PER_SEC;
	mod_delayed_work(system_wq, work, secs_to_jiffies(seconds) + 1);
}

static u32 safelock_ms_left(u64 until_ns)
{
	u64 now = ktime_get_ns();

	if (now >= until_ns)
		return 0;
	return div_u64(until_ns - now + NSEC_PER_MSEC - 1, NSEC_PER_MSEC);
}

/* Milliseconds until a CLOCK_BOOTTIME deadline, 0 if past. */
static u32 safelock_boot_ms_left(u64 until_ns)
{
	u64 now = ktime_get_boottime_ns();

	if (now >= until_ns)
		return 0;
	return min_t(u64, div_u64(until_ns - now + NSEC_PER_MSEC - 1, NSEC_PER_MSEC), U32_MAX);
}

/* Report the time lock's, the clock's and the override's events of one step. */
static void safelock_time_lock_events(struct safelock *sl, const struct safelock_fsm_out *out,
				      u32 user_id, u64 req_id)
{
	u32 a = out->actions;

	lockdep_assert_held(&sl->lock);
	if (a & SAFELOCK_ACT_CLOCK_JUMP)
		safelock_emit(sl, SAFELOCK_EVENT_CLOCK_JUMP, 0, 0, 0, (u32)out->clock_jump_s);
	if (a & SAFELOCK_ACT_TLOCK_END)
		safelock_emit(sl, SAFELOCK_EVENT_TIME_LOCK, 0, 0, 0, 0);
	if (a & SAFELOCK_ACT_TLOCK_BEGIN)
		safelock_emit(sl, SAFELOCK_EVENT_TIME_LOCK, 0, 0, 0, 1);
	if (a & SAFELOCK_ACT_OVERRIDE)
		safelock_emit(sl, SAFELOCK_EVENT_OVERRIDE, 0, user_id, req_id,
			      out->override_first);
}

static void safelock_time_lock_settle(struct safelock *sl);

/*
 * How long the door may read "open" with the bolt retracted: the policy's
 * door limit, or with none set the longest one allowed.
 */
static unsigned long safelock_door_hold(struct safelock *sl)
{
	u32 s = sl->fsm.policy.door_limit_s ? : SAFELOCK_DOOR_HOLD_MAX_S;

	return secs_to_jiffies(s);
}

/*
 * Wait for the move just driven: with a sensor, up to bolt-confirm-ms for
 * it to confirm (checked at once: the bolt may be there already); without
 * one, a throw takes bolt-drive-ms.
 */
static void safelock_bolt_watch_start(struct safelock *sl)
{
	u32 ms = sl->bolt_sensor ? sl->bolt_confirm_ms : sl->bolt_drive_ms;

	lockdep_assert_held(&sl->lock);
	if (sl->gone)
		return;
	sl->bolt_deadline_ns = ktime_get_ns() + (u64)ms * NSEC_PER_MSEC;
	mod_delayed_work(system_wq, &sl->bolt_work,
			 sl->bolt_sensor ? 0 : msecs_to_jiffies(ms) + 1);
}

/**
 * safelock_fsm_apply() - carry out one step of the state machine
 * @sl: the lock
 * @out: what the step asked for; out->code is wiped by the caller
 * @before: the state before the step, to report a change
 */
void safelock_fsm_apply(struct safelock *sl, const struct safelock_fsm_out *out,
			enum safelock_state before)
{
	u32 user_id = out->user_id ? out->user_id : sl->req.user_id;
	u64 req_id = sl->req.id ? sl->req.id : sl->entry_id;
	u32 a = out->actions;

	lockdep_assert_held(&sl->lock);
	if (a & SAFELOCK_ACT_ENTRY_STOP)
		cancel_delayed_work(&sl->entry_work);
	if (a & SAFELOCK_ACT_ENTRY_TIMER)
		mod_delayed_work(system_wq, &sl->entry_work,
				 msecs_to_jiffies(sl->entry_timeout_ms));
	if (a & SAFELOCK_ACT_REQUEST_END)
		safelock_request_end(sl);
	if (a & SAFELOCK_ACT_RELOCK_STOP)
		cancel_delayed_work(&sl->relock_work);
	if (a & SAFELOCK_ACT_PHASE_STOP)
		cancel_delayed_work(&sl->phase_work);
	if (a & SAFELOCK_ACT_DUAL_STOP)
		cancel_delayed_work(&sl->dual_work);
	if (a & SAFELOCK_ACT_BOLT_UNWATCH)
		cancel_delayed_work(&sl->bolt_work);
	if (a & SAFELOCK_ACT_BOLT_STOP)
		safelock_bolt_stop(sl);
	if (a & SAFELOCK_ACT_BOLT_DONE)
		safelock_bolt_settle(sl);
	if (a & SAFELOCK_ACT_BOLT_CLOSE)
		safelock_bolt_set(sl, false);

	if (a & SAFELOCK_ACT_EV_ENTRY) {
		sl->entry_id = atomic64_inc_return(&safelock_request_ids);
		safelock_emit(sl, SAFELOCK_EVENT_ENTRY_STARTED, 0, 0, sl->entry_id, 0);
		safelock_netlink_entry_begin(sl, sl->entry_id);
	}
	if (a & SAFELOCK_ACT_ENTRY_USER)
		safelock_netlink_entry_user(sl, sl->entry_id, out->user_id);
	if (a & SAFELOCK_ACT_EV_ATTEMPT) {
		safelock_emit(sl, SAFELOCK_EVENT_ATTEMPT, out->result, user_id, req_id,
			      out->retry_after_ms);
		safelock_signal_verdict(sl, out->result);
	}
	if (a & SAFELOCK_ACT_DURESS) {
		safelock_emit(sl, SAFELOCK_EVENT_DURESS, 0, user_id, req_id, 0);
		safelock_alarm_raise(sl);
	}
	safelock_time_lock_events(sl, out, user_id, req_id);
	if ((a & SAFELOCK_ACT_BOLT_DONE) && sl->bolt_sensor)
		safelock_emit(sl, SAFELOCK_EVENT_BOLT_CONFIRMED, 0, 0, 0, out->bolt_open);
	if (a & SAFELOCK_ACT_FAULT) {
		safelock_emit(sl, SAFELOCK_EVENT_FAULT, 0, 0, 0, out->fault);
		if (out->fault == SAFELOCK_FAULT_SENSOR)
			safelock_alarm_raise(sl);
	}
	if (sl->fsm.state != before)
		safelock_emit(sl, SAFELOCK_EVENT_STATE, 0, 0, 0, before);
	safelock_signal_sync(sl);
	/* An entry that ends without a request leaves no id behind. */
	if ((a & SAFELOCK_ACT_ENTRY_STOP) && !(a & SAFELOCK_ACT_VERIFY))
		sl->entry_id = 0;

	if (a & SAFELOCK_ACT_BOLT_OPEN)
		safelock_bolt_set(sl, true);
	if (a & SAFELOCK_ACT_RELOCK_TIMER)
		mod_delayed_work(system_wq, &sl->relock_work,
				 msecs_to_jiffies(sl->fsm.policy.relock_ms));
	if (a & SAFELOCK_ACT_DELAY_TIMER)
		safelock_timer_start(&sl->phase_work, &sl->phase_until_ns,
				     sl->fsm.policy.time_delay_s);
	if (a & SAFELOCK_ACT_WINDOW_TIMER)
		safelock_timer_start(&sl->phase_work, &sl->phase_until_ns,
				     sl->fsm.policy.open_window_s);
	if (a & SAFELOCK_ACT_DUAL_TIMER)
		safelock_timer_start(&sl->dual_work, &sl->dual_until_ns,
				     sl->fsm.policy.dual_window_s);
	if (a & SAFELOCK_ACT_PENALTY_TIMER) {
		sl->penalty_until_ns = ktime_get_ns() +
				       (u64)out->retry_after_ms * NSEC_PER_MSEC;
		mod_delayed_work(system_wq, &sl->penalty_work,
				 msecs_to_jiffies(out->retry_after_ms) + 1);
	}
	if (a & SAFELOCK_ACT_BOLT_WATCH)
		safelock_bolt_watch_start(sl);
	if (a & SAFELOCK_ACT_VERIFY)
		safelock_request_start(sl, out);
	if (sl->fsm.state == SAFELOCK_STATE_LOCKED && sl->fsm.tl_active)
		safelock_time_lock_settle(sl);
}

/* Whatever brought the lock to LOCKED, a running locked period holds it. */
static void safelock_time_lock_settle(struct safelock *sl)
{
	struct safelock_fsm_out out;

	safelock_fsm_time_lock_settle(&sl->fsm, &out);
	safelock_fsm_apply(sl, &out, SAFELOCK_STATE_LOCKED);
}

static void safelock_timer_at(struct hrtimer *timer, u64 at_ns)
{
	if (at_ns == U64_MAX)
		hrtimer_cancel(timer);
	else
		hrtimer_start(timer, ns_to_ktime(min_t(u64, at_ns, KTIME_MAX)), HRTIMER_MODE_ABS);
}

/*
 * No reading of the clocks is due before the next time lock boundary: arm
 * for it and nothing else, so an idle lock never wakes.  The beginning of a
 * period is timed on CLOCK_REALTIME, so that a wall clock set forward past
 * it fires the timer at once even if nobody says the clock was set; the
 * end of a running period on CLOCK_BOOTTIME, which no set moves.
 */
static void safelock_clock_arm(struct safelock *sl)
{
	struct safelock_clock_next next;

	lockdep_assert_held(&sl->lock);
	if (sl->gone)
		return;
	safelock_fsm_next_clock(&sl->fsm, ktime_get_real_ns(), ktime_get_boottime_ns(), &next);
	safelock_timer_at(&sl->tl_real_timer, next.real_ns);
	safelock_timer_at(&sl->tl_boot_timer, next.boot_ns);
}

/*
 * Read the clocks: time lock periods begin and end, jumps are reported.
 * Done at each boundary, when the verifier says the wall clock was set, and
 * before every step that could open or let an entry count (a key, a
 * verdict, the end of a delay, window, dual wait, penalty or relock), so
 * that a wall clock set while nobody says so never opens during a locked
 * period: at worst a jump is reported late, at the next reading.
 */
void safelock_clock_tick(struct safelock *sl)
{
	enum safelock_state before = sl->fsm.state;
	struct safelock_fsm_out out;

	lockdep_assert_held(&sl->lock);
	if (sl->gone)
		return;
	safelock_fsm_clock(&sl->fsm, ktime_get_real_ns(), ktime_get_boottime_ns(), &out);
	safelock_fsm_apply(sl, &out, before);
	safelock_clock_arm(sl);
}

/* A time lock boundary, or the verifier says the wall clock was set. */
static void safelock_clock_work(struct work_struct *work)
{
	struct safelock *sl = container_of(work, struct safelock, clock_work);

	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);
	mutex_unlock(&sl->lock);
}

/* Timer context: the reading itself needs sl->lock. */
static enum hrtimer_restart safelock_tl_real_fired(struct hrtimer *timer)
{
	struct safelock *sl = container_of(timer, struct safelock, tl_real_timer);

	queue_work(system_wq, &sl->clock_work);
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart safelock_tl_boot_fired(struct hrtimer *timer)
{
	struct safelock *sl = container_of(timer, struct safelock, tl_boot_timer);

	queue_work(system_wq, &sl->clock_work);
	return HRTIMER_NORESTART;
}

/**
 * safelock_clock_set() - the wall clock was set: read the clocks now
 * @sl: the lock
 *
 * The kernel tells modules nothing when CLOCK_REALTIME is set; the verifier
 * does (%SAFELOCK_CMD_CLOCK_SET), so that the jump is reported at once and
 * the next boundary is timed on the clock as it now reads.
 */
void safelock_clock_set(struct safelock *sl)
{
	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);
	mutex_unlock(&sl->lock);
}

/* Milliseconds of penalty left, 0 outside PENALTY. */
u32 safelock_penalty_left_ms(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	if (sl->fsm.state != SAFELOCK_STATE_PENALTY)
		return 0;
	return safelock_ms_left(sl->penalty_until_ns);
}

/* Milliseconds left of a time delay, open window or dual window. */
u32 safelock_timer_left_ms(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	switch (sl->fsm.state) {
	case SAFELOCK_STATE_TIME_DELAY:
	case SAFELOCK_STATE_OPEN_WINDOW:
		return safelock_ms_left(sl->phase_until_ns);
	case SAFELOCK_STATE_DUAL_PENDING:
		return safelock_ms_left(sl->dual_until_ns);
	case SAFELOCK_STATE_TIME_LOCKED:
		return safelock_boot_ms_left(sl->fsm.tl_until_ns);
	default:
		return 0;
	}
}

/* The time delay ended (the window opens) or the open window closed. */
static void safelock_phase_over(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, phase_work);
	enum safelock_state before;
	struct safelock_fsm_out out;

	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);	/* a period that began ends the wait */
	before = sl->fsm.state;
	if (ktime_get_ns() < sl->phase_until_ns) {
		mod_delayed_work(system_wq, &sl->phase_work, 1);	/* woken early */
	} else if (before == SAFELOCK_STATE_TIME_DELAY) {
		safelock_fsm_delay_over(&sl->fsm, &out);
		safelock_fsm_apply(sl, &out, before);
	} else if (sl->fsm.window) {
		safelock_fsm_window_over(&sl->fsm, &out);
		safelock_fsm_apply(sl, &out, before);
	}
	mutex_unlock(&sl->lock);
}

/* The second user of dual control did not come in time. */
static void safelock_dual_over(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, dual_work);
	enum safelock_state before;
	struct safelock_fsm_out out;

	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);
	before = sl->fsm.state;
	if (ktime_get_ns() < sl->dual_until_ns) {
		mod_delayed_work(system_wq, &sl->dual_work, 1);
	} else if (sl->fsm.dual_first) {
		safelock_fsm_dual_over(&sl->fsm, &out);
		safelock_fsm_apply(sl, &out, before);
	}
	mutex_unlock(&sl->lock);
}

/**
 * safelock_policy_get() - the lock's policy now
 * @sl: the lock
 * @policy: filled in
 */
void safelock_policy_get(struct safelock *sl, struct safelock_policy *policy)
{
	mutex_lock(&sl->lock);
	*policy = sl->fsm.policy;
	mutex_unlock(&sl->lock);
}

/**
 * safelock_policy_set() - the verifier sets the lock's policy
 * @sl: the lock
 * @from: the registration that sets it: the one the lock took in
 * @policy: the whole new policy, its attributes already range-checked
 * @lock_for_s: 0, or an immediate time lock from now for this many seconds
 * @extack: for the reason of a refusal
 *
 * The opening policy applies from the next accepted code; a time delay,
 * open window or dual authorisation under way runs to its end as it began.
 * The time lock applies at once, and never shortens a running period or an
 * immediate time lock (safelock_fsm_policy()).
 *
 * The first policy a registration sets lets the lock take entries again
 * (&safelock_fsm.policy_landed).
 *
 * Return: 0, -ENODEV, or -EAGAIN/-EPERM/-ERANGE with an extack message.
 */
int safelock_policy_set(struct safelock *sl, const struct safelock_verifier_id *from,
			const struct safelock_policy *policy, u32 lock_for_s,
			struct netlink_ext_ack *extack)
{
	enum safelock_state before;
	struct safelock_fsm_out out;
	int ret;

	mutex_lock(&sl->lock);
	if (sl->gone) {
		NL_SET_ERR_MSG(extack, "device is gone");
		ret = -ENODEV;
	} else if (from->gen != sl->verifier_gen) {
		NL_SET_ERR_MSG(extack, "the lock has not taken in this verifier yet: try again");
		ret = -EAGAIN;
	} else {
		before = sl->fsm.state;
		ret = safelock_fsm_policy(&sl->fsm, policy, lock_for_s, ktime_get_real_ns(),
					  ktime_get_boottime_ns(), &out);
		if (ret == -EPERM) {
			NL_SET_ERR_MSG(extack, "the immediate time lock can only be extended");
		} else if (ret) {
			NL_SET_ERR_MSG(extack, "the immediate time lock ends at most 7 days ahead");
		} else {
			/* the owner's whole policy is in force: entries may count */
			sl->fsm.policy_landed = true;
			safelock_emit(sl, SAFELOCK_EVENT_POLICY, 0, 0, 0, 0);
			safelock_fsm_apply(sl, &out, before);
			safelock_clock_arm(sl);	/* the calendar may have changed */
		}
	}
	mutex_unlock(&sl->lock);
	return ret;
}

/**
 * safelock_duress_alarm() - a duress code was used where nothing opens
 * @sl: the lock
 * @user_id: whose duress code it was
 *
 * Reported and alarmed exactly as a duress opening is; the bolt is not
 * touched.
 */
void safelock_duress_alarm(struct safelock *sl, u32 user_id)
{
	mutex_lock(&sl->lock);
	if (!sl->gone) {
		safelock_emit(sl, SAFELOCK_EVENT_DURESS, 0, user_id, 0, 0);
		safelock_alarm_raise(sl);
	}
	mutex_unlock(&sl->lock);
}

/**
 * safelock_may_unprovision() - may an empty vault make this lock new?
 * @sl: the lock
 *
 * Return: true unless the lock has an owner and its door reads shut (or
 * cannot be read): a wipe needs the door open.
 */
bool safelock_may_unprovision(struct safelock *sl)
{
	bool ok;

	mutex_lock(&sl->lock);
	if (!sl->gone)
		safelock_door_read(sl);
	ok = sl->gone || !sl->fsm.provisioned || sl->fsm.door_open;
	mutex_unlock(&sl->lock);
	return ok;
}

/**
 * safelock_battery_changed() - the low-battery input moved; report it
 * @sl: the lock, with sl->lock held
 * @low: the battery is low
 *
 * Only reported: a low battery never stops a valid code from opening.
 */
void safelock_battery_changed(struct safelock *sl, bool low)
{
	lockdep_assert_held(&sl->lock);
	safelock_emit(sl, SAFELOCK_EVENT_BATTERY, 0, 0, 0, low);
	safelock_signal_battery(sl, low);
}

/* Bolt events come from the actuator, which knows when the line moved. */
void safelock_bolt_event(struct safelock *sl, bool open)
{
	safelock_emit(sl, SAFELOCK_EVENT_BOLT, 0, 0, 0, open);
}

/**
 * safelock_bolt_sensor_changed() - read the bolt sensor and react
 * @sl: the lock, with sl->lock held
 *
 * Called on each edge of the sensor and while a move is watched; a reading
 * that did not change is news only to a move that waits for it.
 */
void safelock_bolt_sensor_changed(struct safelock *sl)
{
	enum safelock_state before = sl->fsm.state;
	struct safelock_fsm_out out;
	bool open;

	lockdep_assert_held(&sl->lock);
	open = safelock_bolt_sensor_open(sl);
	if (open == sl->bolt_sensed && sl->fsm.bolt_move == SAFELOCK_BOLT_IDLE)
		return;
	sl->bolt_sensed = open;
	safelock_fsm_bolt_sensed(&sl->fsm, open, &out);
	safelock_fsm_apply(sl, &out, before);
}

/*
 * The watched move: confirmed by the sensor meanwhile, not yet, or out of
 * time (a jam, or without a sensor the end of the drive time).
 */
static void safelock_bolt_check(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, bolt_work);
	enum safelock_state before;
	struct safelock_fsm_out out;
	u64 now;

	mutex_lock(&sl->lock);
	if (sl->gone)
		goto out;
	if (sl->bolt_sensor)
		safelock_bolt_sensor_changed(sl);
	if (sl->fsm.bolt_move == SAFELOCK_BOLT_IDLE)
		goto out;
	now = ktime_get_ns();
	if (now < sl->bolt_deadline_ns) {
		mod_delayed_work(system_wq, &sl->bolt_work,
				 nsecs_to_jiffies(sl->bolt_deadline_ns - now) + 1);
		goto out;
	}
	before = sl->fsm.state;
	if (sl->bolt_sensor)
		safelock_fsm_bolt_timeout(&sl->fsm, &out);
	else
		safelock_fsm_bolt_done(&sl->fsm, sl->fsm.bolt_move == SAFELOCK_BOLT_OPENING, &out);
	safelock_fsm_apply(sl, &out, before);
out:
	mutex_unlock(&sl->lock);
}

/**
 * safelock_fault_clear() - the verifier asks to clear the lock's fault
 * @sl: the lock
 * @extack: for the reason of a refusal
 *
 * Starts a relock; the fault is cleared when the sensor confirms it.
 *
 * Return: 0 or a negative errno with an extack message.
 */
int safelock_fault_clear(struct safelock *sl, struct netlink_ext_ack *extack)
{
	enum safelock_state before;
	struct safelock_fsm_out out;
	int ret;

	mutex_lock(&sl->lock);
	if (sl->gone) {
		NL_SET_ERR_MSG(extack, "device is gone");
		ret = -ENODEV;
		goto out;
	}
	before = sl->fsm.state;
	ret = safelock_fsm_fault_clear(&sl->fsm, safelock_door_is_open(sl), &out);
	switch (ret) {
	case 0:
		safelock_fsm_apply(sl, &out, before);
		break;
	case -ENOENT:
		NL_SET_ERR_MSG(extack, "no fault to clear");
		break;
	case -EAGAIN:
		NL_SET_ERR_MSG(extack, "a penalty runs: clear the fault when it ends");
		break;
	case -EALREADY:
		NL_SET_ERR_MSG(extack, "the relock that clears the fault is under way");
		break;
	case -EBUSY:
		NL_SET_ERR_MSG(extack, "the door is open");
		break;
	}
out:
	mutex_unlock(&sl->lock);
	return ret;
}

/**
 * safelock_door_changed() - the door sensor moved; report it and react
 * @sl: the lock, with sl->lock held
 * @open: the door is now open
 */
void safelock_door_changed(struct safelock *sl, bool open)
{
	enum safelock_state before = sl->fsm.state;
	struct safelock_fsm_out out;

	lockdep_assert_held(&sl->lock);
	if (open == sl->fsm.door_open)
		return;
	safelock_fsm_door(&sl->fsm, open, &out);
	safelock_emit(sl, SAFELOCK_EVENT_DOOR, 0, 0, 0, open);
	safelock_fsm_apply(sl, &out, before);
	if (open)
		mod_delayed_work(system_wq, &sl->door_work, safelock_door_hold(sl));
	else
		cancel_delayed_work(&sl->door_work);
}

/*
 * Read the door line now, not when its interrupt is handled, where a
 * decision depends on it: a change is reported as its interrupt would.
 */
void safelock_door_read(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	if (sl->door)
		safelock_door_changed(sl, safelock_door_is_open(sl));
}

/*
 * The door has read "open" past the limit (or, with no limit set, past the
 * longest one): say so, and throw a bolt that is still retracted.  A cut
 * door wire reads "open" for ever; it never keeps the bolt retracted.
 */
static void safelock_door_ajar(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, door_work);
	enum safelock_state before;
	struct safelock_fsm_out out;

	mutex_lock(&sl->lock);
	if (!sl->gone && sl->fsm.door_open) {
		if (sl->fsm.policy.door_limit_s)
			safelock_emit(sl, SAFELOCK_EVENT_DOOR_AJAR, 0, 0, 0,
				      sl->fsm.policy.door_limit_s);
		before = sl->fsm.state;
		safelock_fsm_door_held(&sl->fsm, &out);
		safelock_fsm_apply(sl, &out, before);
	}
	mutex_unlock(&sl->lock);
}

static void safelock_entry_timeout(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, entry_work);
	enum safelock_state before;
	struct safelock_fsm_out out;

	mutex_lock(&sl->lock);
	before = sl->fsm.state;
	safelock_fsm_entry_timeout(&sl->fsm, &out);
	safelock_fsm_apply(sl, &out, before);
	mutex_unlock(&sl->lock);
}

static void safelock_verify_timeout(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, verify_work);
	struct safelock_fsm_out out;
	u64 id;

	mutex_lock(&sl->lock);
	id = sl->req.id;
	if (id && ktime_get_ns() >= sl->req.deadline_ns) {
		safelock_fsm_verify_failed(&sl->fsm, SAFELOCK_RESULT_TIMEOUT, &out);
		safelock_fsm_apply(sl, &out, SAFELOCK_STATE_VERIFYING);
		sl->req.expired_id = id;
	} else if (id) {
		/* Woken early: wait for the rest of the deadline. */
		mod_delayed_work(system_wq, &sl->verify_work, 1);
	}
	mutex_unlock(&sl->lock);
}

static void safelock_penalty_over(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, penalty_work);
	struct safelock_fsm_out out;

	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);
	if (sl->fsm.state == SAFELOCK_STATE_PENALTY && ktime_get_ns() < sl->penalty_until_ns) {
		/* Woken early: wait for the rest. */
		mod_delayed_work(system_wq, &sl->penalty_work, 1);
	} else {
		safelock_fsm_penalty_over(&sl->fsm, &out);
		safelock_fsm_apply(sl, &out, SAFELOCK_STATE_PENALTY);
	}
	mutex_unlock(&sl->lock);
}

static void safelock_relock(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, relock_work);
	enum safelock_state before;
	struct safelock_fsm_out out;

	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);
	before = sl->fsm.state;
	safelock_fsm_relock(&sl->fsm, &out);
	safelock_fsm_apply(sl, &out, before);
	/* Held back by a door that reads open: not for longer than its limit. */
	if (!sl->gone && sl->fsm.state == SAFELOCK_STATE_UNLOCKED && sl->fsm.door_open)
		queue_delayed_work(system_wq, &sl->door_work, safelock_door_hold(sl));
	mutex_unlock(&sl->lock);
}

/**
 * safelock_verdict() - apply a verdict from the registered verifier
 * @sl: the lock
 * @from: the registration the verdict came from
 * @id: the request id the verdict answers
 * @nonce: the nonce it echoes, %SAFELOCK_NONCE_SIZE bytes
 * @result: %SAFELOCK_RESULT_GRANTED or %SAFELOCK_RESULT_DENIED
 * @retry_after_ms: with a denial, the penalty the verifier asks for
 * @duress: with a grant, the entry was a duress entry
 * @override: with a grant, &enum safelock_override
 * @extack: for the reason of a refusal
 *
 * A verdict counts once, for the pending request, before its deadline, with
 * its nonce, from the registration the request was sent to (a socket that
 * binds a dead verifier's port id is not it), while the policy that
 * registration set is in force.  The clocks are
 * read first: a locked period that has just begun cancels the request.
 *
 * Return: 0 or a negative errno with an extack message.
 */
int safelock_verdict(struct safelock *sl, const struct safelock_verifier_id *from, u64 id,
		     const u8 *nonce, enum safelock_result result, u32 retry_after_ms,
		     bool duress, u8 override, struct netlink_ext_ack *extack)
{
	struct safelock_fsm_out out;
	int ret = 0;

	mutex_lock(&sl->lock);
	safelock_clock_tick(sl);
	if (sl->gone) {
		NL_SET_ERR_MSG(extack, "device is gone");
		ret = -ENODEV;
	} else if (id && id == sl->req.answered_id) {
		NL_SET_ERR_MSG(extack, "request already answered");
		ret = -EALREADY;
	} else if (id && id == sl->req.expired_id) {
		NL_SET_ERR_MSG(extack, "request expired");
		ret = -ETIMEDOUT;
	} else if (!sl->req.id || id != sl->req.id) {
		NL_SET_ERR_MSG(extack, "no such request");
		ret = -ENOENT;
	} else if (from->portid != sl->req.portid || from->gen != sl->req.gen) {
		NL_SET_ERR_MSG(extack, "request was sent to another verifier");
		ret = -EPERM;
	} else if (result == SAFELOCK_RESULT_GRANTED && !sl->fsm.policy_landed) {
		NL_SET_ERR_MSG(extack, "no policy from this verifier: no grant is accepted");
		ret = -EPERM;
	} else if (ktime_get_ns() >= sl->req.deadline_ns) {
		NL_SET_ERR_MSG(extack, "request expired");
		safelock_fsm_verify_failed(&sl->fsm, SAFELOCK_RESULT_TIMEOUT, &out);
		safelock_fsm_apply(sl, &out, SAFELOCK_STATE_VERIFYING);
		sl->req.expired_id = id;
		ret = -ETIMEDOUT;
	} else if (crypto_memneq(nonce, sl->req.nonce, SAFELOCK_NONCE_SIZE)) {
		NL_SET_ERR_MSG(extack, "nonce mismatch");
		ret = -EINVAL;
	} else {
		sl->req.answered_id = id;
		safelock_fsm_verdict_override(&sl->fsm, result, retry_after_ms, duress,
					      override, &out);
		safelock_fsm_apply(sl, &out, SAFELOCK_STATE_VERIFYING);
	}
	mutex_unlock(&sl->lock);
	return ret;
}

/* Tell one lock what the verifier's presence now is. */
static void safelock_sync_verifier(struct safelock *sl, bool present, int vault,
				   const struct safelock_verifier_id *id)
{
	enum safelock_state before;
	struct safelock_fsm_out out;
	bool was, new_verifier;

	mutex_lock(&sl->lock);
	if (!sl->gone) {
		was = sl->fsm.verifier;
		new_verifier = id->gen != sl->verifier_gen;
		sl->verifier_gen = id->gen;
		/* a wipe is judged by the door as the line reads now */
		safelock_door_read(sl);
		before = sl->fsm.state;
		safelock_fsm_verifier(&sl->fsm, present, vault, new_verifier, &out);
		safelock_fsm_apply(sl, &out, before);
		if (was != present)
			safelock_emit(sl, SAFELOCK_EVENT_VERIFIER, 0, 0, 0, present);
	}
	mutex_unlock(&sl->lock);
}

/**
 * safelock_verifier_changed() - the verifier registered, left or updated
 *
 * Brings every lock in line with the verifier's present state; idempotent,
 * so a late call after several changes does the right thing.
 */
void safelock_verifier_changed(void)
{
	struct safelock_verifier_id id;
	struct safelock *sl;
	int vault;
	bool present;
	unsigned int i;

	for (i = 0; i < SAFELOCK_MAX_DEVICES; i++) {
		sl = safelock_get_by_index(i);
		if (!sl)
			continue;
		present = safelock_verifier_present(&vault, &id);
		safelock_sync_verifier(sl, present, vault, &id);
		safelock_put(sl);
	}
}

u32 safelock_status_flags(struct safelock *sl)
{
	u32 flags = 0;

	lockdep_assert_held(&sl->lock);
	if (sl->fsm.verifier)
		flags |= SAFELOCK_STATUS_VERIFIER;
	if (sl->fsm.verifier && sl->fsm.policy_landed)
		flags |= SAFELOCK_STATUS_POLICY;
	if (sl->fsm.vault_damaged)
		flags |= SAFELOCK_STATUS_VAULT_DAMAGED;
	if (!sl->gone && safelock_bolt_is_open(sl))
		flags |= SAFELOCK_STATUS_BOLT_OPEN;
	if (!sl->gone && safelock_door_is_open(sl))
		flags |= SAFELOCK_STATUS_DOOR_OPEN;
	if (READ_ONCE(sl->keypad_present))
		flags |= SAFELOCK_STATUS_KEYPAD;
	if (sl->alarm_on)
		flags |= SAFELOCK_STATUS_ALARM;
	if (!sl->gone && safelock_tamper_is_active(sl))
		flags |= SAFELOCK_STATUS_TAMPER;
	if (!sl->gone && safelock_battery_is_low(sl))
		flags |= SAFELOCK_STATUS_BATTERY_LOW;
	if (!sl->gone && safelock_bolt_sensor_open(sl))
		flags |= SAFELOCK_STATUS_BOLT_SENSOR_OPEN;
	return flags;
}

/**
 * safelock_lock_now() - throw the bolt now; never opens
 * @sl: the lock
 *
 * The lock is LOCKED on return, or RELOCKING until the throw is confirmed.
 *
 * Return: 0, -ENODEV if the device is gone, -EPERM if unprovisioned,
 * -EBUSY if the door is open.
 */
int safelock_lock_now(struct safelock *sl)
{
	enum safelock_state before;
	struct safelock_fsm_out out;
	int ret;

	mutex_lock(&sl->lock);
	if (sl->gone) {
		ret = -ENODEV;
	} else {
		safelock_clock_tick(sl);
		before = sl->fsm.state;
		ret = safelock_fsm_lock_now(&sl->fsm, safelock_door_is_open(sl), &out);
		if (!ret)
			safelock_fsm_apply(sl, &out, before);
	}
	mutex_unlock(&sl->lock);
	return ret;
}

static int safelock_read_ms(struct safelock *sl, const char *prop, u32 def,
			    u32 min, u32 max, u32 *val)
{
	int ret = device_property_read_u32(sl->dev, prop, val);

	if (ret == -EINVAL) {	/* absent */
		*val = def;
		return 0;
	}
	if (ret)
		return dev_err_probe(sl->dev, ret, "cannot read %s\n", prop);
	if (*val < min || *val > max)
		return dev_err_probe(sl->dev, -EINVAL, "%s = %u out of range %u..%u\n",
				     prop, *val, min, max);
	return 0;
}

/* The bolt's timing: drive time, confirm time (not shorter), retries. */
static int safelock_parse_bolt(struct safelock *sl)
{
	int ret;

	ret = safelock_read_ms(sl, "bolt-drive-ms", 300, 20, 5000, &sl->bolt_drive_ms);
	if (!ret)
		ret = safelock_read_ms(sl, "bolt-confirm-ms", max(1000u, sl->bolt_drive_ms),
				       50, 10000, &sl->bolt_confirm_ms);
	if (!ret)
		ret = safelock_read_ms(sl, "bolt-retries", 2, 0, 5, &sl->fsm.bolt_retries);
	if (!ret && sl->bolt_confirm_ms < sl->bolt_drive_ms)
		ret = dev_err_probe(sl->dev, -EINVAL,
				    "bolt-confirm-ms = %u is shorter than bolt-drive-ms = %u\n",
				    sl->bolt_confirm_ms, sl->bolt_drive_ms);
	return ret;
}

static int safelock_parse_properties(struct safelock *sl)
{
	int ret;

	/* The board's relock time; the verifier's policy may change it. */
	ret = safelock_read_ms(sl, "relock-ms", 5000, 500, 600000, &sl->fsm.policy.relock_ms);
	if (!ret)
		ret = safelock_read_ms(sl, "verify-timeout-ms", 10000, 1000, 60000,
				       &sl->verify_timeout_ms);
	if (!ret)
		ret = safelock_read_ms(sl, "entry-timeout-ms", 15000, 2000, 120000,
				       &sl->entry_timeout_ms);
	if (!ret)
		ret = safelock_read_ms(sl, "alarm-ms", 60000, 1000, 3600000, &sl->alarm_ms);
	if (!ret)
		ret = safelock_parse_bolt(sl);
	return ret;
}

static void safelock_put_action(void *data)
{
	safelock_put(data);
}

/* Stop every timer; nothing re-arms them once @gone is set. */
static void safelock_stop(void *data)
{
	struct safelock *sl = data;

	mutex_lock(&sl->lock);
	sl->gone = true;
	safelock_request_end(sl);
	safelock_fsm_wipe(&sl->fsm);
	mutex_unlock(&sl->lock);

	cancel_work_sync(&sl->key_work);
	cancel_delayed_work_sync(&sl->entry_work);
	cancel_delayed_work_sync(&sl->verify_work);
	cancel_delayed_work_sync(&sl->relock_work);
	cancel_delayed_work_sync(&sl->penalty_work);
	cancel_delayed_work_sync(&sl->alarm_work);
	cancel_delayed_work_sync(&sl->feedback_work);
	cancel_delayed_work_sync(&sl->phase_work);
	cancel_delayed_work_sync(&sl->dual_work);
	cancel_delayed_work_sync(&sl->door_work);
	/* @gone keeps the clock work from arming them again */
	hrtimer_cancel(&sl->tl_real_timer);
	hrtimer_cancel(&sl->tl_boot_timer);
	cancel_work_sync(&sl->clock_work);
	cancel_delayed_work_sync(&sl->bolt_work);
	cancel_delayed_work_sync(&sl->motor_work);
	safelock_bolt_secure(sl);
}

static void safelock_unpublish(void *data)
{
	struct safelock *sl = data;

	mutex_lock(&safelock_devices_lock);
	safelock_devices[sl->index] = NULL;
	mutex_unlock(&safelock_devices_lock);
	safelock_put(sl);
}

/* Make the lock reachable by index, at the lowest free one. */
static int safelock_publish(struct safelock *sl)
{
	unsigned int i;

	mutex_lock(&safelock_devices_lock);
	for (i = 0; i < SAFELOCK_MAX_DEVICES; i++)
		if (!safelock_devices[i])
			break;
	if (i < SAFELOCK_MAX_DEVICES) {
		kref_get(&sl->ref);
		sl->index = i;
		safelock_devices[i] = sl;
	}
	mutex_unlock(&safelock_devices_lock);
	if (i == SAFELOCK_MAX_DEVICES)
		return dev_err_probe(sl->dev, -ENOSPC, "too many locks\n");
	return devm_add_action_or_reset(sl->dev, safelock_unpublish, sl);
}

static int safelock_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct safelock_verifier_id id;
	struct safelock *sl;
	int vault;
	bool present;
	int ret;

	sl = kzalloc_obj(*sl, GFP_KERNEL);
	if (!sl)
		return -ENOMEM;
	kref_init(&sl->ref);
	mutex_init(&sl->lock);
	spin_lock_init(&sl->key_lock);
	spin_lock_init(&sl->ev_lock);
	INIT_LIST_HEAD(&sl->readers);
	INIT_DELAYED_WORK(&sl->entry_work, safelock_entry_timeout);
	INIT_DELAYED_WORK(&sl->verify_work, safelock_verify_timeout);
	INIT_DELAYED_WORK(&sl->relock_work, safelock_relock);
	INIT_DELAYED_WORK(&sl->penalty_work, safelock_penalty_over);
	INIT_DELAYED_WORK(&sl->alarm_work, safelock_alarm_drop);
	INIT_DELAYED_WORK(&sl->phase_work, safelock_phase_over);
	INIT_DELAYED_WORK(&sl->dual_work, safelock_dual_over);
	INIT_DELAYED_WORK(&sl->door_work, safelock_door_ajar);
	INIT_WORK(&sl->clock_work, safelock_clock_work);
	safelock_hrtimer_setup(&sl->tl_real_timer, safelock_tl_real_fired, CLOCK_REALTIME);
	safelock_hrtimer_setup(&sl->tl_boot_timer, safelock_tl_boot_fired, CLOCK_BOOTTIME);
	INIT_DELAYED_WORK(&sl->bolt_work, safelock_bolt_check);
	INIT_WORK(&sl->key_work, safelock_key_work);
	safelock_fsm_init(&sl->fsm);
	sl->dev = dev;
	ret = devm_add_action_or_reset(dev, safelock_put_action, sl);
	if (ret)
		return ret;

	ret = safelock_parse_properties(sl);
	if (ret)
		return ret;
	ret = safelock_actuator_probe(sl);
	if (ret)
		return ret;
	ret = devm_add_action_or_reset(dev, safelock_stop, sl);
	if (ret)
		return ret;
	mutex_lock(&sl->lock);
	sl->fsm.door_open = safelock_door_is_open(sl);
	sl->fsm.bolt_sensor = !!sl->bolt_sensor;
	safelock_bolt_init(sl);
	/* A sensor that says "retracted": LOCKED only after a confirmed throw. */
	sl->fsm.bolt_secure = !sl->bolt_sensed;
	/*
	 * The clocks' first reading, before anyone can open the device: a
	 * jump from here on is reported.  No policy yet: no timer is armed
	 * until one brings a time lock.
	 */
	safelock_clock_tick(sl);
	mutex_unlock(&sl->lock);
	ret = safelock_publish(sl);
	if (ret)
		return ret;
	ret = safelock_signal_probe(sl);
	if (ret)
		return ret;
	ret = safelock_cdev_probe(sl);
	if (ret)
		return ret;
	ret = safelock_keypad_probe(sl);
	if (ret)
		return ret;

	/* two statements: the order of a call's arguments is unspecified */
	present = safelock_verifier_present(&vault, &id);
	safelock_sync_verifier(sl, present, vault, &id);
	dev_info(dev, "safelock%u: ready, %s\n", sl->index, safelock_state_name(sl->fsm.state));
	return 0;
}

static const struct of_device_id safelock_of_match[] = {
	{ .compatible = "safelock,lock-controller" },
	{ }
};
MODULE_DEVICE_TABLE(of, safelock_of_match);

static const struct platform_device_id safelock_id_table[] = {
	{ .name = "safelock" },
	{ }
};
MODULE_DEVICE_TABLE(platform, safelock_id_table);

static struct platform_driver safelock_driver = {
	.probe = safelock_probe,
	.id_table = safelock_id_table,
	.driver = {
		.name = "safelock",
		.of_match_table = safelock_of_match,
	},
};

static int __init safelock_init(void)
{
	int ret;

	ret = safelock_cdev_init();
	if (ret)
		return ret;
	ret = safelock_netlink_init();
	if (ret)
		goto err_cdev;
	ret = platform_driver_register(&safelock_driver);
	if (ret)
		goto err_netlink;
	return 0;

err_netlink:
	safelock_netlink_exit();
err_cdev:
	safelock_cdev_exit();
	return ret;
}
module_init(safelock_init);

static void __exit safelock_exit(void)
{
	platform_driver_unregister(&safelock_driver);
	safelock_netlink_exit();
	safelock_cdev_exit();
}
module_exit(safelock_exit);

MODULE_DESCRIPTION("Safe-lock controller: keypad, bolt and the verifier protocol");
MODULE_AUTHOR("The safelock developers");
MODULE_LICENSE("GPL");
