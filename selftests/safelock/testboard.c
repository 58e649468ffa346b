// SPDX-License-Identifier: GPL-2.0
/*
 * safelock test board: describes a simulated safe board to the safelock
 * driver the way firmware would on a real one, so the driver binds in a VM.
 *
 * The lines are gpio-sim lines of the bank labelled by "chip" (line 0: bolt,
 * line 1: door, line 2: tamper switch, line 3: silent alarm, line 16: low
 * battery, line 17: key feedback); the keypad is
 * the input device named by "keypad" (a uinput device in the tests).
 * Test-only: never installed.
 */
#include <linux/gpio/machine.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/slab.h>

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

static struct gpiod_lookup_table *safelock_tb_lookup;
static struct platform_device *safelock_tb_pdev;

static void safelock_tb_line(struct gpiod_lookup *l, u16 hwnum, const char *con_id)
{
	l->key = chip;
	l->chip_hwnum = hwnum;
	l->con_id = con_id;
	l->idx = 0;
	l->flags = GPIO_ACTIVE_HIGH;
}

static int __init safelock_tb_init(void)
{
	const struct property_entry props[] = {
		PROPERTY_ENTRY_STRING("keypad-name", keypad),
		PROPERTY_ENTRY_U32("relock-ms", relock_ms),
		PROPERTY_ENTRY_U32("verify-timeout-ms", verify_timeout_ms),
		PROPERTY_ENTRY_U32("entry-timeout-ms", entry_timeout_ms),
		PROPERTY_ENTRY_U32("alarm-ms", alarm_ms),
		{ }
	};
	struct platform_device_info info = {
		.name = "safelock",
		.id = 0,
		.properties = props,
	};
	struct gpiod_lookup_table *t;
	unsigned int n;

	if (!chip || !*chip) {
		pr_err("safelock_testboard: chip= is required\n");
		return -EINVAL;
	}
	t = kzalloc(struct_size(t, table, 7), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->dev_id = "safelock.0";
	safelock_tb_line(&t->table[0], 0, "bolt");
	n = 1;
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
