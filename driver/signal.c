// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: what the person at the safe sees and hears, as LED triggers.
 *
 * Each lock registers one trigger per signal, named "safelockN-<signal>";
 * a board's LEDs and buzzers (gpio-leds, leds-pwm, a buzzer behind an LED
 * driver) follow them with linux,default-trigger as they follow any other
 * trigger, so no new driver is needed.  The patterns are in
 * Documentation/userspace-api/safelock.rst:
 *
 *	ok	one 1000 ms pulse at a GRANTED verdict, duress or not
 *	denied	one 250 ms pulse when a request ends without GRANTED
 *	penalty	250 ms on, 750 ms off while the lockout runs
 *	delay	500 ms on, 500 ms off while the time delay runs
 *	window	on while the open window is open
 *	battery	100 ms on, 1900 ms off while the battery is low
 *
 * Nothing is signalled between the first key and the verdict beyond the
 * key pulse every key gets, so a right code and a wrong one look the same
 * until the verifier has answered, and a duress code opens exactly as a
 * normal one does.  The silent alarm has no trigger: it stays silent.
 */
#include <linux/leds.h>
#include <linux/slab.h>

#include "compat.h"
#include "safelock.h"

enum safelock_signal_id {
	SAFELOCK_SIG_OK,
	SAFELOCK_SIG_DENIED,
	SAFELOCK_SIG_PENALTY,
	SAFELOCK_SIG_DELAY,
	SAFELOCK_SIG_WINDOW,
	SAFELOCK_SIG_BATTERY,
	SAFELOCK_SIG_MAX,
};

/**
 * struct safelock_pattern - how a signal shows
 * @name: the trigger's name after "safelockN-"
 * @on_ms: time on per period
 * @off_ms: time off per period; 0 with a level signal: steadily on
 * @oneshot: one period per event, else repeated while the condition holds
 */
struct safelock_pattern {
	const char *name;
	unsigned long on_ms;
	unsigned long off_ms;
	bool oneshot;
};

static const struct safelock_pattern safelock_patterns[SAFELOCK_SIG_MAX] = {
	[SAFELOCK_SIG_OK]	= { "ok",	1000,  200, true },
	[SAFELOCK_SIG_DENIED]	= { "denied",	 250,  200, true },
	[SAFELOCK_SIG_PENALTY]	= { "penalty",	 250,  750, false },
	[SAFELOCK_SIG_DELAY]	= { "delay",	 500,  500, false },
	[SAFELOCK_SIG_WINDOW]	= { "window",	   0,    0, false },
	[SAFELOCK_SIG_BATTERY]	= { "battery",	 100, 1900, false },
};

/**
 * struct safelock_trigger - one signal's trigger
 * @trig: the LED trigger
 * @pat: its pattern
 * @active: a level signal's condition holds (written under the lock's
 *	mutex, read when an LED attaches)
 * @name: "safelockN-<signal>"
 */
struct safelock_trigger {
	struct led_trigger trig;
	const struct safelock_pattern *pat;
	bool active;
	char name[32];
};

struct safelock_signals {
	struct safelock_trigger t[SAFELOCK_SIG_MAX];
};

/* A level signal's steady or repeated form, on one LED or on them all. */
static void safelock_signal_show(struct safelock_trigger *t, struct led_classdev *led)
{
	unsigned long on = t->pat->on_ms, off = t->pat->off_ms;

	if (!off) {
		if (led)
			led_set_brightness(led, led->max_brightness);
		else
			led_trigger_event(&t->trig, LED_FULL);
	} else if (led) {
		led_blink_set(led, &on, &off);
	} else {
		safelock_led_blink(&t->trig, on, off);
	}
}

/* An LED that starts to follow a level signal shows it at once. */
static int safelock_signal_activate(struct led_classdev *led)
{
	struct safelock_trigger *t = container_of(led->trigger, struct safelock_trigger, trig);

	if (READ_ONCE(t->active))
		safelock_signal_show(t, led);
	return 0;
}

/*
 * Dark now, blinking or not.  LED_OFF alone can leave a software blink
 * lit: since 6.6 the LED core's delayed work replays the blink timer's
 * last "on" after the "off" it was asked for.  A blink that is never on
 * stops the timer first (del_timer_sync) and leaves "off" as the value
 * the work sets.
 */
static void safelock_signal_dark(struct safelock_trigger *t)
{
	if (t->pat->off_ms)
		safelock_led_blink(&t->trig, 0, 1);
	led_trigger_event(&t->trig, LED_OFF);
}

static void safelock_signal_level(struct safelock *sl, enum safelock_signal_id id, bool on)
{
	struct safelock_trigger *t;

	lockdep_assert_held(&sl->lock);
	if (!sl->signals || sl->gone)
		return;
	t = &sl->signals->t[id];
	if (t->active == on)
		return;
	WRITE_ONCE(t->active, on);
	if (on)
		safelock_signal_show(t, NULL);
	else
		safelock_signal_dark(t);
}

/**
 * safelock_signal_verdict() - a request ended: ok or denied
 * @sl: the lock, with sl->lock held
 * @result: how it ended (&enum safelock_result)
 *
 * An entry cleared at the keypad is no verdict and shows nothing.
 */
void safelock_signal_verdict(struct safelock *sl, u32 result)
{
	const struct safelock_pattern *p;
	enum safelock_signal_id id;

	lockdep_assert_held(&sl->lock);
	if (!sl->signals || sl->gone || result == SAFELOCK_RESULT_NONE ||
	    result == SAFELOCK_RESULT_CANCELLED)
		return;
	id = result == SAFELOCK_RESULT_GRANTED ? SAFELOCK_SIG_OK : SAFELOCK_SIG_DENIED;
	p = &safelock_patterns[id];
	safelock_led_oneshot(&sl->signals->t[id].trig, p->on_ms, p->off_ms);
}

/**
 * safelock_signal_sync() - make the level signals follow the lock
 * @sl: the lock, with sl->lock held
 *
 * Called after every step of the state machine; cheap when nothing changed.
 */
void safelock_signal_sync(struct safelock *sl)
{
	enum safelock_state s = sl->fsm.state;

	lockdep_assert_held(&sl->lock);
	safelock_signal_level(sl, SAFELOCK_SIG_PENALTY, s == SAFELOCK_STATE_PENALTY);
	safelock_signal_level(sl, SAFELOCK_SIG_DELAY, s == SAFELOCK_STATE_TIME_DELAY);
	safelock_signal_level(sl, SAFELOCK_SIG_WINDOW, s == SAFELOCK_STATE_OPEN_WINDOW);
}

/**
 * safelock_signal_battery() - the low-battery input moved
 * @sl: the lock, with sl->lock held
 * @low: the battery is low
 */
void safelock_signal_battery(struct safelock *sl, bool low)
{
	safelock_signal_level(sl, SAFELOCK_SIG_BATTERY, low);
}

/**
 * safelock_signal_probe() - register the lock's triggers
 * @sl: the lock, its index known
 *
 * The triggers go when the device does; their memory goes with the lock
 * (safelock_release()), so a step taken while the device goes finds them
 * unregistered, not freed.
 *
 * Return: 0 or a negative errno.
 */
int safelock_signal_probe(struct safelock *sl)
{
	struct safelock_signals *s;
	int i, ret;

	s = kzalloc_obj(*s, GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	sl->signals = s;
	for (i = 0; i < SAFELOCK_SIG_MAX; i++) {
		struct safelock_trigger *t = &s->t[i];

		t->pat = &safelock_patterns[i];
		snprintf(t->name, sizeof(t->name), "safelock%u-%s", sl->index, t->pat->name);
		t->trig.name = t->name;
		if (!t->pat->oneshot)
			t->trig.activate = safelock_signal_activate;
		ret = devm_led_trigger_register(sl->dev, &t->trig);
		if (ret)
			return dev_err_probe(sl->dev, ret, "cannot register LED trigger %s\n",
					     t->name);
	}
	mutex_lock(&sl->lock);
	safelock_signal_sync(sl);
	safelock_signal_battery(sl, safelock_battery_is_low(sl));
	mutex_unlock(&sl->lock);
	return 0;
}
