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
 * boards the driver must refuse.  Test-only: never installed.
 */
#include <linux/gpio/machine.h>
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

#define SAFELOCK_TB_LINES	11
#define SAFELOCK_TB_PROPS	9

static struct gpiod_lookup_table *safelock_tb_lookup;
static struct platform_device *safelock_tb_pdev;

static void safelock_tb_line_idx(struct gpiod_lookup *l, u16 hwnum, const char *con_id,
				 unsigned int idx)
{
	l->key = chip;
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
	t = kzalloc(struct_size(t, table, SAFELOCK_TB_LINES), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
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
}
module_exit(safelock_tb_exit);

MODULE_DESCRIPTION("safelock test board on gpio-sim lines (tests only)");
MODULE_LICENSE("GPL");
