// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: the lines to the world: bolt, door sensor, tamper switch and
 * silent alarm output.
 *
 * Polarity lives in the firmware description (GPIO_ACTIVE_LOW and friends),
 * never here: "active" means bolt retracted and door open.
 */
#include <linux/gpio/consumer.h>
#include <linux/interrupt.h>

#include "safelock.h"

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

	/* The silent alarm: raised only by duress and tampering. */
	sl->alarm = devm_gpiod_get_optional(sl->dev, "alarm", GPIOD_OUT_LOW);
	if (IS_ERR(sl->alarm))
		return dev_err_probe(sl->dev, PTR_ERR(sl->alarm), "bad alarm line\n");

	if (sl->door) {
		ret = safelock_input_irq(sl, sl->door, "door", safelock_door_irq);
		if (ret)
			return ret;
	}
	if (sl->tamper)
		return safelock_input_irq(sl, sl->tamper, "tamper", safelock_tamper_irq);
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

void safelock_alarm_set(struct safelock *sl, bool on)
{
	gpiod_set_value_cansleep(sl->alarm, on);
}

/* Fail secure: a lock that goes away leaves its bolt thrown. */
void safelock_bolt_secure(struct safelock *sl)
{
	gpiod_set_value_cansleep(sl->bolt, 0);
}
