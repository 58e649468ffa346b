// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: the lines to the world: bolt (a solenoid, or a motor on two
 * lines), bolt sensor, door sensor, tamper switch, low-battery input, key
 * feedback and silent alarm outputs.
 *
 * Polarity lives in the firmware description (GPIO_ACTIVE_LOW and friends),
 * never here: "active" means bolt retracted (solenoid line, bolt sensor),
 * driving (each motor line) and door open.
 */
#include <linux/delay.h>
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

static irqreturn_t safelock_bolt_sensor_irq(int irq, void *data)
{
	struct safelock *sl = data;

	mutex_lock(&sl->lock);
	if (!sl->gone)
		safelock_bolt_sensor_changed(sl);
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

/* Both motor lines down: the motor stops where it is. */
static void safelock_motor_halt(struct safelock *sl)
{
	gpiod_set_value_cansleep(sl->motor_open, 0);
	gpiod_set_value_cansleep(sl->motor_close, 0);
	sl->motor_running = false;
	cancel_delayed_work(&sl->motor_work);
}

/* Run the motor towards @open for one drive time; never both lines up. */
static void safelock_motor_run(struct safelock *sl, bool open)
{
	gpiod_set_value_cansleep(open ? sl->motor_close : sl->motor_open, 0);
	gpiod_set_value_cansleep(open ? sl->motor_open : sl->motor_close, 1);
	sl->motor_running = true;
	mod_delayed_work(system_wq, &sl->motor_work, msecs_to_jiffies(sl->bolt_drive_ms));
}

/* The motor's drive time is over: stop it; the bolt is where it got to. */
static void safelock_motor_end(struct work_struct *work)
{
	struct safelock *sl = container_of(to_delayed_work(work), struct safelock, motor_work);

	mutex_lock(&sl->lock);
	if (!sl->gone && sl->motor_running)
		safelock_motor_halt(sl);
	mutex_unlock(&sl->lock);
}

/* The actuator: a solenoid on bolt-gpios, or a motor on bolt-motor-gpios. */
static int safelock_bolt_probe(struct safelock *sl)
{
	struct gpio_descs *motor;

	/* Fail secure: the bolt is thrown from the moment we own the line. */
	sl->bolt = devm_gpiod_get_optional(sl->dev, "bolt", GPIOD_OUT_LOW);
	if (IS_ERR(sl->bolt))
		return dev_err_probe(sl->dev, PTR_ERR(sl->bolt), "bad bolt line\n");
	/* A motor's lines both low: stopped (safelock_bolt_init() throws it). */
	motor = devm_gpiod_get_array_optional(sl->dev, "bolt-motor", GPIOD_OUT_LOW);
	if (IS_ERR(motor))
		return dev_err_probe(sl->dev, PTR_ERR(motor), "bad bolt-motor lines\n");
	if (sl->bolt && motor)
		return dev_err_probe(sl->dev, -EINVAL,
				     "bolt-gpios and bolt-motor-gpios are exclusive: one actuator\n");
	if (!sl->bolt && !motor)
		return dev_err_probe(sl->dev, -ENOENT,
				     "no bolt actuator: bolt-gpios or bolt-motor-gpios is required\n");
	if (motor && motor->ndescs != 2)
		return dev_err_probe(sl->dev, -EINVAL,
				     "bolt-motor-gpios has %u lines, needs 2 (open, close)\n",
				     motor->ndescs);
	if (motor) {
		sl->motor_open = motor->desc[0];
		sl->motor_close = motor->desc[1];
	}
	sl->bolt_cmd = SAFELOCK_BOLT_CMD_CLOSED;

	sl->bolt_sensor = devm_gpiod_get_optional(sl->dev, "bolt-sensor", GPIOD_IN);
	if (IS_ERR(sl->bolt_sensor))
		return dev_err_probe(sl->dev, PTR_ERR(sl->bolt_sensor), "bad bolt-sensor line\n");
	if (sl->bolt_sensor)
		return safelock_input_irq(sl, sl->bolt_sensor, "bolt-sensor",
					  safelock_bolt_sensor_irq);
	return 0;
}

int safelock_actuator_probe(struct safelock *sl)
{
	int ret;

	INIT_DELAYED_WORK(&sl->feedback_work, safelock_feedback_end);
	INIT_DELAYED_WORK(&sl->motor_work, safelock_motor_end);

	ret = safelock_bolt_probe(sl);
	if (ret)
		return ret;

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
 * safelock_bolt_init() - take the bolt over at probe
 * @sl: the lock, with sl->lock held
 *
 * A solenoid's line is already down (thrown).  A motor's position is
 * unknown: it is run towards thrown for one drive time, without an event.
 */
void safelock_bolt_init(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	if (!sl->bolt)
		safelock_motor_run(sl, false);
	if (sl->bolt_sensor)
		sl->bolt_sensed = safelock_bolt_sensor_open(sl);
}

/**
 * safelock_bolt_set() - drive the bolt and report the move
 * @sl: the lock, with sl->lock held
 * @open: true to retract the bolt, false to throw it
 *
 * Nothing happens, and nothing is reported, when the bolt was last driven
 * that way already (a motor that stopped at its drive time included).
 */
void safelock_bolt_set(struct safelock *sl, bool open)
{
	enum safelock_bolt_cmd cmd = open ? SAFELOCK_BOLT_CMD_OPEN : SAFELOCK_BOLT_CMD_CLOSED;

	lockdep_assert_held(&sl->lock);
	if (sl->gone || sl->bolt_cmd == cmd)
		return;
	if (sl->bolt)
		gpiod_set_value_cansleep(sl->bolt, open);
	else
		safelock_motor_run(sl, open);
	sl->bolt_cmd = cmd;
	safelock_bolt_event(sl, open);
}

/**
 * safelock_bolt_stop() - abandon a move: the bolt is no longer driven
 * @sl: the lock, with sl->lock held
 *
 * A motor stops where it is (position unknown); a solenoid is released,
 * and its spring throws the bolt.
 */
void safelock_bolt_stop(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	if (sl->gone)
		return;
	if (sl->bolt) {
		gpiod_set_value_cansleep(sl->bolt, 0);
		sl->bolt_cmd = SAFELOCK_BOLT_CMD_CLOSED;
	} else {
		safelock_motor_halt(sl);
		sl->bolt_cmd = SAFELOCK_BOLT_CMD_STOPPED;
	}
}

/**
 * safelock_bolt_settle() - the move is confirmed: a motor stops there
 * @sl: the lock, with sl->lock held
 */
void safelock_bolt_settle(struct safelock *sl)
{
	lockdep_assert_held(&sl->lock);
	if (!sl->gone && sl->motor_running)
		safelock_motor_halt(sl);
}

/* The bolt was last driven towards retracted. */
bool safelock_bolt_is_open(struct safelock *sl)
{
	return sl->bolt_cmd == SAFELOCK_BOLT_CMD_OPEN;
}

/*
 * The bolt sensor reports the bolt retracted (false without a sensor).  A
 * sensor that cannot be read counts as "retracted": it never confirms a
 * throw, and a locked lock reports it as a sensor fault.
 */
bool safelock_bolt_sensor_open(struct safelock *sl)
{
	return sl->bolt_sensor && gpiod_get_value_cansleep(sl->bolt_sensor) != 0;
}

/*
 * A door line that cannot be read counts as shut: it never stands in for an
 * open door where one is required (a wipe, an owner's first enrolment),
 * and throwing the bolt onto it does no harm.
 */
bool safelock_door_is_open(struct safelock *sl)
{
	return sl->door && gpiod_get_value_cansleep(sl->door) > 0;
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

/*
 * Fail secure: a lock that goes away leaves its bolt thrown.  A motor not
 * known to have thrown it runs towards thrown for one drive time, here,
 * since no work may run after this; then both its lines stay down.
 */
void safelock_bolt_secure(struct safelock *sl)
{
	bool run;

	if (sl->bolt) {
		gpiod_set_value_cansleep(sl->bolt, 0);
		return;
	}
	mutex_lock(&sl->lock);
	run = sl->bolt_cmd != SAFELOCK_BOLT_CMD_CLOSED || sl->motor_running;
	mutex_unlock(&sl->lock);
	if (run) {
		gpiod_set_value_cansleep(sl->motor_open, 0);
		gpiod_set_value_cansleep(sl->motor_close, 1);
		msleep(sl->bolt_drive_ms);
	}
	gpiod_set_value_cansleep(sl->motor_open, 0);
	gpiod_set_value_cansleep(sl->motor_close, 0);
}
