// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: the lines to the world: bolt, door sensor, tamper switch,
 * low-battery input, key feedback and silent alarm outputs.
 *
 * Polarity lives in the firmware description (GPIO_ACTIVE_LOW and friends),
 * never here: "active" means bolt retracted and door open.
 */
#include <linux/gpio/consumer.h>
#include <linux/interrupt.h>

#include "safelock.h"

static void safelock_feedback_end(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, feedback_work);

	gpiod_set_value_cansleep(sl->feedback, 0);
}

/* The door moved: report it.  Threaded, so it may sleep on the lines. */
static irqreturn_t safelock_door_irq(int irq, void *data)
{
	struct safelock *sl = data;

	mutex_lock(&sl->lock);
	if (!sl->gone)
		safelock_door_changed(sl, safelock_door_is_open(sl));
	mutex_unlock(&sl->lock);
	return IRQ_HANDLED;
}

static irqreturn_t safelock_tamper_irq(int irq, void *data)
{
	struct safelock *sl = data;

	mutex_lock(&sl->lock);
	if (!sl->gone)
		safelock_tamper_changed(sl, safelock_tamper_is_active(sl));
	mutex_unlock(&sl->lock);
	return IRQ_HANDLED;
}

static irqreturn_t safelock_battery_irq(int irq, void *data)
{
	struct safelock *sl = data;

	mutex_lock(&sl->lock);
	if (!sl->gone)
		safelock_battery_changed(sl, safelock_battery_is_low(sl));
	mutex_unlock(&sl->lock);
	return IRQ_HANDLED;
}

/* An input line that reports both edges through a threaded handler. */
static int safelock_input_irq(struct safelock *sl, struct gpio_desc *line, const char *what,
			      irq_handler_t handler)
{
	int irq, ret;

	irq = gpiod_to_irq(line);
	if (irq < 0)
		return dev_err_probe(sl->dev, irq, "%s line cannot interrupt\n", what);
	ret = devm_request_threaded_irq(sl->dev, irq, NULL, handler,
					IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING | IRQF_ONESHOT,
					dev_name(sl->dev), sl);
	if (ret)
		return dev_err_probe(sl->dev, ret, "cannot request the %s interrupt\n", what);
	return 0;
}

int safelock_actuator_probe(struct safelock *sl)
{
	int ret;

	INIT_DELAYED_WORK(&sl->feedback_work, safelock_feedback_end);

	/* Fail secure: the bolt is thrown from the moment we own the line. */
	sl->bolt = devm_gpiod_get(sl->dev, "bolt", GPIOD_OUT_LOW);
	if (IS_ERR(sl->bolt))
		return dev_err_probe(sl->dev, PTR_ERR(sl->bolt), "no bolt line\n");

	sl->door = devm_gpiod_get_optional(sl->dev, "door", GPIOD_IN);
	if (IS_ERR(sl->door))
		return dev_err_probe(sl->dev, PTR_ERR(sl->door), "bad door line\n");

	sl->tamper = devm_gpiod_get_optional(sl->dev, "tamper", GPIOD_IN);
	if (IS_ERR(sl->tamper))
		return dev_err_probe(sl->dev, PTR_ERR(sl->tamper), "bad tamper line\n");

	sl->battery = devm_gpiod_get_optional(sl->dev, "battery-low", GPIOD_IN);
	if (IS_ERR(sl->battery))
		return dev_err_probe(sl->dev, PTR_ERR(sl->battery), "bad battery-low line\n");

	/* Key feedback: the same short pulse for every key, never the digit. */
	sl->feedback = devm_gpiod_get_optional(sl->dev, "feedback", GPIOD_OUT_LOW);
	if (IS_ERR(sl->feedback))
		return dev_err_probe(sl->dev, PTR_ERR(sl->feedback), "bad feedback line\n");

	/* The silent alarm: raised only by duress and tampering. */
	sl->alarm = devm_gpiod_get_optional(sl->dev, "alarm", GPIOD_OUT_LOW);
	if (IS_ERR(sl->alarm))
		return dev_err_probe(sl->dev, PTR_ERR(sl->alarm), "bad alarm line\n");

	if (sl->door) {
		ret = safelock_input_irq(sl, sl->door, "door", safelock_door_irq);
		if (ret)
			return ret;
	}
	if (sl->tamper) {
		ret = safelock_input_irq(sl, sl->tamper, "tamper", safelock_tamper_irq);
		if (ret)
			return ret;
	}
	if (sl->battery)
		return safelock_input_irq(sl, sl->battery, "battery-low", safelock_battery_irq);
	return 0;
}

/**
 * safelock_bolt_set() - drive the bolt and report the move
 * @sl: the lock
 * @open: true to retract the bolt, false to throw it
 */
void safelock_bolt_set(struct safelock *sl, bool open)
{
	lockdep_assert_held(&sl->lock);
	if (sl->gone)
		return;
	if (safelock_bolt_is_open(sl) == open)
		return;
	gpiod_set_value_cansleep(sl->bolt, open);
	safelock_bolt_event(sl, open);
}

bool safelock_bolt_is_open(struct safelock *sl)
{
	return gpiod_get_value_cansleep(sl->bolt) > 0;
}

/* A door line that cannot be read counts as open: never lock onto it. */
bool safelock_door_is_open(struct safelock *sl)
{
	if (!sl->door)
		return false;
	return gpiod_get_value_cansleep(sl->door) != 0;
}

bool safelock_tamper_is_active(struct safelock *sl)
{
	return sl->tamper && gpiod_get_value_cansleep(sl->tamper) > 0;
}

bool safelock_battery_is_low(struct safelock *sl)
{
	return sl->battery && gpiod_get_value_cansleep(sl->battery) > 0;
}

/* A short pulse on the feedback line: a key was taken. */
void safelock_feedback_pulse(struct safelock *sl)
{
	if (!sl->feedback || sl->gone)
		return;
	gpiod_set_value_cansleep(sl->feedback, 1);
	mod_delayed_work(system_wq, &sl->feedback_work, msecs_to_jiffies(SAFELOCK_FEEDBACK_MS));
}

void safelock_alarm_set(struct safelock *sl, bool on)
{
	gpiod_set_value_cansleep(sl->alarm, on);
}

/* Fail secure: a lock that goes away leaves its bolt thrown. */
void safelock_bolt_secure(struct safelock *sl)
{
	gpiod_set_value_cansleep(sl->bolt, 0);
}
