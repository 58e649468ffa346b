// SPDX-License-Identifier: GPL-2.0
/*
 * safelock test board: describes a simulated safe board to the safelock
 * driver the way firmware would on a real one, so the driver binds in a VM.
 *
 * The lines are gpio-sim lines of the bank labelled by "chip" (line 0: bolt
 * solenoid, line 1: door, line 2: tamper switch, line 3: silent alarm, line
 * 16: low battery, line 17: key feedback, line 18: bolt sensor, lines 19 and
 * 20: bolt motor, open and close); the keypad is the input device named by
 * "keypad" (a uinput device in the tests).  By default the board is what it
 * was before the bolt sensor and the motor (lines 0-3, 16, 17): bolt=motor
 * and bolt_sensor=1 make the others, and bolt=both or motor_lines=1 make
 * boards the driver must refuse.  With faulty=1 the door and the bolt
 * sensor are instead lines 0 and 1 of the board's own chip, whose values
 * (door_open, sensor_open) and read errors (read_error, a mask of lines)
 * are module parameters a test writes at run time.  With leds=N, a
 * leds-gpio device drives lines 21-26 from safelockN's triggers (ok,
 * denied, penalty, delay, window, battery), as a board's LEDs and buzzer
 * would.  Test-only: never installed.
 */
#include <linux/gpio/driver.h>
#include <linux/gpio/machine.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_sim.h>
#include <linux/irqdomain.h>
#include <linux/leds.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *chip;
module_param(chip, charp, 0444);
MODULE_PARM_DESC(chip, "label of the gpio-sim bank with the lock's lines (required)");

static char *keypad = "safelock-test-keypad";
module_param(keypad, charp, 0444);
MODULE_PARM_DESC(keypad, "name of the keypad input device");

static bool door = true;
module_param(door, bool, 0444);
MODULE_PARM_DESC(door, "line 1 is a door sensor");

static bool alarm = true;
module_param(alarm, bool, 0444);
MODULE_PARM_DESC(alarm, "lines 2, 3, 16, 17: tamper, alarm, battery-low, feedback");

static unsigned int alarm_ms = 1500;
module_param(alarm_ms, uint, 0444);
MODULE_PARM_DESC(alarm_ms, "alarm-ms property");

static unsigned int relock_ms = 1000;
module_param(relock_ms, uint, 0444);
MODULE_PARM_DESC(relock_ms, "relock-ms property");

static unsigned int verify_timeout_ms = 3000;
module_param(verify_timeout_ms, uint, 0444);
MODULE_PARM_DESC(verify_timeout_ms, "verify-timeout-ms property");

static unsigned int entry_timeout_ms = 5000;
module_param(entry_timeout_ms, uint, 0444);
MODULE_PARM_DESC(entry_timeout_ms, "entry-timeout-ms property");

static char *bolt = "solenoid";
module_param(bolt, charp, 0444);
MODULE_PARM_DESC(bolt, "bolt actuator: solenoid (line 0), motor (lines 19, 20), both (bad)");

static unsigned int motor_lines = 2;
module_param(motor_lines, uint, 0444);
MODULE_PARM_DESC(motor_lines, "lines of bolt-motor-gpios, 1 (bad) or 2 (19, 20)");

static bool bolt_sensor;
module_param(bolt_sensor, bool, 0444);
MODULE_PARM_DESC(bolt_sensor, "line 18 is a bolt sensor");

static int bolt_drive_ms = -1;
module_param(bolt_drive_ms, int, 0444);
MODULE_PARM_DESC(bolt_drive_ms, "bolt-drive-ms property (-1: none)");

static int bolt_confirm_ms = -1;
module_param(bolt_confirm_ms, int, 0444);
MODULE_PARM_DESC(bolt_confirm_ms, "bolt-confirm-ms property (-1: none)");

static int bolt_retries = -1;
module_param(bolt_retries, int, 0444);
MODULE_PARM_DESC(bolt_retries, "bolt-retries property (-1: none)");

static bool faulty;
module_param(faulty, bool, 0444);
MODULE_PARM_DESC(faulty, "the door and the bolt sensor on the board's own chip, reads can fail");

static int leds = -1;
module_param(leds, int, 0444);
MODULE_PARM_DESC(leds, "lines 21-26: LEDs following safelockN's triggers (-1: none)");

/* ---- the faulty chip: two input lines whose reads fail on demand ---- */

#define SAFELOCK_TB_FAULTY	"safelock-tb-faulty"

enum { SAFELOCK_TB_DOOR, SAFELOCK_TB_SENSOR, SAFELOCK_TB_FAULTY_LINES };

static struct gpio_chip safelock_tb_chip;
static bool safelock_tb_chip_added;
static struct fwnode_handle *safelock_tb_fwnode;
static struct irq_domain *safelock_tb_irqs;
static unsigned long safelock_tb_values;	/* a bit per line: its level */
static unsigned int read_error;			/* a bit per line: reads fail */

static int safelock_tb_get(struct gpio_chip *gc, unsigned int off)
{
	if (READ_ONCE(read_error) & BIT(off))
		return -EIO;
	return test_bit(off, &safelock_tb_values);
}

static int safelock_tb_get_direction(struct gpio_chip *gc, unsigned int off)
{
	return GPIO_LINE_DIRECTION_IN;
}

static int safelock_tb_direction_input(struct gpio_chip *gc, unsigned int off)
{
	return 0;
}

static int safelock_tb_to_irq(struct gpio_chip *gc, unsigned int off)
{
	return irq_create_mapping(safelock_tb_irqs, off);
}

/* An edge on line @off: its interrupt, if the driver asked for one. */
static void safelock_tb_edge(unsigned int off)
{
	unsigned int irq;

	if (!safelock_tb_irqs)
		return;
	irq = irq_find_mapping(safelock_tb_irqs, off);
	if (irq)
		irq_set_irqchip_state(irq, IRQCHIP_STATE_PENDING, true);
}

static unsigned int safelock_tb_door_off = SAFELOCK_TB_DOOR;
static unsigned int safelock_tb_sensor_off = SAFELOCK_TB_SENSOR;

static int safelock_tb_line_set(const char *val, const struct kernel_param *kp)
{
	unsigned int off = *(unsigned int *)kp->arg;
	bool v;
	int ret;

	ret = kstrtobool(val, &v);
	if (ret)
		return ret;
	assign_bit(off, &safelock_tb_values, v);
	safelock_tb_edge(off);
	return 0;
}

static int safelock_tb_line_get(char *buf, const struct kernel_param *kp)
{
	unsigned int off = *(unsigned int *)kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%d\n", test_bit(off, &safelock_tb_values));
}

static const struct kernel_param_ops safelock_tb_line_ops = {
	.set = safelock_tb_line_set,
	.get = safelock_tb_line_get,
};

module_param_cb(door_open, &safelock_tb_line_ops, &safelock_tb_door_off, 0644);
MODULE_PARM_DESC(door_open, "faulty=1: the door line's level (an edge interrupts)");
module_param_cb(sensor_open, &safelock_tb_line_ops, &safelock_tb_sensor_off, 0644);
MODULE_PARM_DESC(sensor_open, "faulty=1: the bolt sensor line's level (an edge interrupts)");

/* A new read_error: an edge on every line, so that the driver reads now. */
static int safelock_tb_error_set(const char *val, const struct kernel_param *kp)
{
	unsigned int off;
	int ret;

	ret = param_set_uint(val, kp);
	if (ret)
		return ret;
	for (off = 0; off < SAFELOCK_TB_FAULTY_LINES; off++)
		safelock_tb_edge(off);
	return 0;
}

static const struct kernel_param_ops safelock_tb_error_ops = {
	.set = safelock_tb_error_set,
	.get = param_get_uint,
};

module_param_cb(read_error, &safelock_tb_error_ops, &read_error, 0644);
MODULE_PARM_DESC(read_error, "faulty=1: lines whose reads fail (bit 0 door, bit 1 sensor)");

static void safelock_tb_faulty_down(void)
{
	unsigned int off, irq;

	if (safelock_tb_chip_added)
		gpiochip_remove(&safelock_tb_chip);
	safelock_tb_chip_added = false;
	if (safelock_tb_irqs) {
		/* the mappings to_irq() made, as gpio-sim disposes of its own */
		for (off = 0; off < SAFELOCK_TB_FAULTY_LINES; off++) {
			irq = irq_find_mapping(safelock_tb_irqs, off);
			if (irq)
				irq_dispose_mapping(irq);
		}
		irq_domain_remove_sim(safelock_tb_irqs);
	}
	safelock_tb_irqs = NULL;
	if (safelock_tb_fwnode)
		irq_domain_free_fwnode(safelock_tb_fwnode);
	safelock_tb_fwnode = NULL;
}

static int safelock_tb_faulty_up(void)
{
	struct irq_domain *irqs;
	int ret;

	safelock_tb_fwnode = irq_domain_alloc_named_fwnode(SAFELOCK_TB_FAULTY);
	if (!safelock_tb_fwnode)
		return -ENOMEM;
	irqs = irq_domain_create_sim(safelock_tb_fwnode, SAFELOCK_TB_FAULTY_LINES);
	if (IS_ERR(irqs)) {
		safelock_tb_faulty_down();
		return PTR_ERR(irqs);
	}
	safelock_tb_irqs = irqs;
	/*
	 * No .owner: the lock's lines on this chip would pin this module,
	 * whose exit is what unbinds the lock (it goes before the chip).
	 */
	safelock_tb_chip = (struct gpio_chip){
		.label = SAFELOCK_TB_FAULTY,
		.base = -1,
		.ngpio = SAFELOCK_TB_FAULTY_LINES,
		.get = safelock_tb_get,
		.get_direction = safelock_tb_get_direction,
		.direction_input = safelock_tb_direction_input,
		.to_irq = safelock_tb_to_irq,
	};
	ret = gpiochip_add_data(&safelock_tb_chip, NULL);
	if (ret) {
		safelock_tb_faulty_down();
		return ret;
	}
	safelock_tb_chip_added = true;
	return 0;
}

#define SAFELOCK_TB_LINES	11
#define SAFELOCK_TB_PROPS	9

static struct gpiod_lookup_table *safelock_tb_lookup;
static struct platform_device *safelock_tb_pdev;

/* ---- the LEDs: leds-gpio on lines 21-26, one per signal ---- */

#define SAFELOCK_TB_LED_LINE	21
#define SAFELOCK_TB_LEDS_ID	5	/* "leds-gpio.5" */

static const char * const safelock_tb_signals[] = {
	"ok", "denied", "penalty", "delay", "window", "battery",
};

#define SAFELOCK_TB_NLEDS	ARRAY_SIZE(safelock_tb_signals)

static struct gpiod_lookup_table *safelock_tb_led_lookup;
static struct platform_device *safelock_tb_leds;
static char safelock_tb_led_names[SAFELOCK_TB_NLEDS][24];
static char safelock_tb_led_triggers[SAFELOCK_TB_NLEDS][32];
/* static: a deferred probe of leds-gpio reads them after init returns */
static struct gpio_led safelock_tb_led[SAFELOCK_TB_NLEDS];

static void safelock_tb_leds_down(void)
{
	if (!IS_ERR_OR_NULL(safelock_tb_leds))
		platform_device_unregister(safelock_tb_leds);
	safelock_tb_leds = NULL;
	if (safelock_tb_led_lookup)
		gpiod_remove_lookup_table(safelock_tb_led_lookup);
	kfree(safelock_tb_led_lookup);
	safelock_tb_led_lookup = NULL;
}

static int safelock_tb_leds_up(void)
{
	struct gpio_led_platform_data pdata = {
		.num_leds = SAFELOCK_TB_NLEDS,
		.leds = safelock_tb_led,
	};
	struct gpiod_lookup_table *t;
	unsigned int i;

	t = kzalloc(struct_size(t, table, SAFELOCK_TB_NLEDS + 1), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->dev_id = "leds-gpio." __stringify(SAFELOCK_TB_LEDS_ID);
	for (i = 0; i < SAFELOCK_TB_NLEDS; i++) {
		t->table[i].key = chip;
		t->table[i].chip_hwnum = SAFELOCK_TB_LED_LINE + i;
		t->table[i].idx = i;
		t->table[i].flags = GPIO_ACTIVE_HIGH;
		snprintf(safelock_tb_led_names[i], sizeof(safelock_tb_led_names[i]),
			 "safelock-tb:%s", safelock_tb_signals[i]);
		snprintf(safelock_tb_led_triggers[i], sizeof(safelock_tb_led_triggers[i]),
			 "safelock%d-%s", leds, safelock_tb_signals[i]);
		safelock_tb_led[i].name = safelock_tb_led_names[i];
		safelock_tb_led[i].default_trigger = safelock_tb_led_triggers[i];
	}
	gpiod_add_lookup_table(t);
	safelock_tb_led_lookup = t;
	safelock_tb_leds = platform_device_register_data(NULL, "leds-gpio",
							 SAFELOCK_TB_LEDS_ID,
							 &pdata, sizeof(pdata));
	if (IS_ERR(safelock_tb_leds)) {
		int ret = PTR_ERR(safelock_tb_leds);

		safelock_tb_leds_down();
		return ret;
	}
	return 0;
}

static void safelock_tb_line_idx(struct gpiod_lookup *l, u16 hwnum, const char *con_id,
				 unsigned int idx)
{
	l->key = chip;
	if (faulty && !strcmp(con_id, "door")) {
		l->key = SAFELOCK_TB_FAULTY;
		hwnum = SAFELOCK_TB_DOOR;
	} else if (faulty && !strcmp(con_id, "bolt-sensor")) {
		l->key = SAFELOCK_TB_FAULTY;
		hwnum = SAFELOCK_TB_SENSOR;
	}
	l->chip_hwnum = hwnum;
	l->con_id = con_id;
	l->idx = idx;
	l->flags = GPIO_ACTIVE_HIGH;
}

static void safelock_tb_line(struct gpiod_lookup *l, u16 hwnum, const char *con_id)
{
	safelock_tb_line_idx(l, hwnum, con_id, 0);
}

/* The bolt's lines: solenoid, motor or both; the sensor.  Returns how many. */
static unsigned int safelock_tb_bolt(struct gpiod_lookup *l)
{
	bool motor = !strcmp(bolt, "motor") || !strcmp(bolt, "both");
	unsigned int n = 0, i;

	if (strcmp(bolt, "motor"))
		safelock_tb_line(&l[n++], 0, "bolt");
	for (i = 0; motor && i < motor_lines && i < 2; i++)
		safelock_tb_line_idx(&l[n++], 19 + i, "bolt-motor", i);
	if (bolt_sensor)
		safelock_tb_line(&l[n++], 18, "bolt-sensor");
	return n;
}

static int __init safelock_tb_init(void)
{
	struct property_entry props[SAFELOCK_TB_PROPS + 1] = {
		PROPERTY_ENTRY_STRING("keypad-name", keypad),
		PROPERTY_ENTRY_U32("relock-ms", relock_ms),
		PROPERTY_ENTRY_U32("verify-timeout-ms", verify_timeout_ms),
		PROPERTY_ENTRY_U32("entry-timeout-ms", entry_timeout_ms),
		PROPERTY_ENTRY_U32("alarm-ms", alarm_ms),
	};
	struct platform_device_info info = {
		.name = "safelock",
		.id = 0,
		.properties = props,
	};
	struct gpiod_lookup_table *t;
	unsigned int n, p = 5;

	if (!chip || !*chip) {
		pr_err("safelock_testboard: chip= is required\n");
		return -EINVAL;
	}
	if (bolt_drive_ms >= 0)
		props[p++] = PROPERTY_ENTRY_U32("bolt-drive-ms", bolt_drive_ms);
	if (bolt_confirm_ms >= 0)
		props[p++] = PROPERTY_ENTRY_U32("bolt-confirm-ms", bolt_confirm_ms);
	if (bolt_retries >= 0)
		props[p++] = PROPERTY_ENTRY_U32("bolt-retries", bolt_retries);
	if (faulty) {
		int ret = safelock_tb_faulty_up();

		if (ret)
			return ret;
	}
	if (leds >= 0) {
		int ret = safelock_tb_leds_up();

		if (ret) {
			safelock_tb_faulty_down();
			return ret;
		}
	}
	t = kzalloc(struct_size(t, table, SAFELOCK_TB_LINES), GFP_KERNEL);
	if (!t) {
		safelock_tb_leds_down();
		safelock_tb_faulty_down();
		return -ENOMEM;
	}
	t->dev_id = "safelock.0";
	n = safelock_tb_bolt(t->table);
	if (door)
		safelock_tb_line(&t->table[n++], 1, "door");
	if (alarm) {
		safelock_tb_line(&t->table[n++], 2, "tamper");
		safelock_tb_line(&t->table[n++], 3, "alarm");
		safelock_tb_line(&t->table[n++], 16, "battery-low");
		safelock_tb_line(&t->table[n++], 17, "feedback");
	}
	gpiod_add_lookup_table(t);
	safelock_tb_lookup = t;

	safelock_tb_pdev = platform_device_register_full(&info);
	if (IS_ERR(safelock_tb_pdev)) {
		gpiod_remove_lookup_table(t);
		kfree(t);
		safelock_tb_leds_down();
		safelock_tb_faulty_down();
		return PTR_ERR(safelock_tb_pdev);
	}
	return 0;
}
module_init(safelock_tb_init);

static void __exit safelock_tb_exit(void)
{
	platform_device_unregister(safelock_tb_pdev);
	gpiod_remove_lookup_table(safelock_tb_lookup);
	kfree(safelock_tb_lookup);
	safelock_tb_leds_down();
	safelock_tb_faulty_down();
}
module_exit(safelock_tb_exit);

MODULE_DESCRIPTION("safelock test board on gpio-sim lines (tests only)");
MODULE_LICENSE("GPL");
