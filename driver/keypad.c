// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: the keypad.  An input handler binds to the input device the
 * firmware names: "keypad", a reference to the keypad's own node (a
 * gpio-matrix-keypad or gpio-keys node on a board), or "keypad-name", the
 * input device's name (a uinput device in the test VM).  It grabs it so that no other reader
 * (evdev, a console, a key logger) sees the digits, and turns key presses
 * into state machine keys.  The handler runs in atomic context: it only
 * queues keys; safelock_key_work() feeds them to the state machine.
 */
#include <linux/input.h>
#include <linux/property.h>
#include <linux/slab.h>

#include "compat.h"
#include "safelock.h"

/* Map a key code to '0'..'9', ENTER or CLEAR; 0 for keys we ignore. */
static u8 safelock_key_map(unsigned int code)
{
	static const unsigned short kp_digits[10] = {
		KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
		KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9,
	};
	unsigned int i;

	if (code >= KEY_1 && code <= KEY_9)
		return '1' + (code - KEY_1);
	if (code == KEY_0)
		return '0';
	for (i = 0; i < ARRAY_SIZE(kp_digits); i++)
		if (code == kp_digits[i])
			return '0' + i;
	switch (code) {
	case KEY_ENTER:
	case KEY_KPENTER:
		return SAFELOCK_KEY_ENTER;
	case KEY_CLEAR:
	case KEY_ESC:
	case KEY_BACKSPACE:
	case KEY_DELETE:
		return SAFELOCK_KEY_CLEAR;
	default:
		return 0;
	}
}

static void safelock_key_queue(struct safelock *sl, u8 key)
{
	unsigned long flags;

	spin_lock_irqsave(&sl->key_lock, flags);
	if (sl->keyq_len < SAFELOCK_KEYQ_SIZE)
		sl->keyq[sl->keyq_len++] = key;
	else
		sl->keyq_lost = true;
	spin_unlock_irqrestore(&sl->key_lock, flags);
	schedule_work(&sl->key_work);
}

static void safelock_keypad_event(struct input_handle *handle, unsigned int type,
				  unsigned int code, int value)
{
	struct safelock *sl = handle->handler->private;
	u8 key;

	if (type != EV_KEY || value != 1)	/* presses only, no autorepeat */
		return;
	key = safelock_key_map(code);
	if (key)
		safelock_key_queue(sl, key);
}

/* Take the oldest queued key, wiping its slot; a lost key reads as CLEAR. */
static u8 safelock_key_pop(struct safelock *sl)
{
	u8 key = 0;

	spin_lock_irq(&sl->key_lock);
	if (sl->keyq_lost) {
		/* Keys were dropped: the entry cannot be what was typed. */
		sl->keyq_lost = false;
		memzero_explicit(sl->keyq, sizeof(sl->keyq));
		sl->keyq_len = 0;
		key = SAFELOCK_KEY_CLEAR;
	} else if (sl->keyq_len) {
		key = sl->keyq[0];
		memmove(sl->keyq, sl->keyq + 1, --sl->keyq_len);
		sl->keyq[sl->keyq_len] = 0;
	}
	spin_unlock_irq(&sl->key_lock);
	return key;
}

void safelock_key_work(struct work_struct *work)
{
	struct safelock *sl = container_of(work, struct safelock, key_work);
	enum safelock_state before;
	struct safelock_fsm_out out;
	u8 key;

	while ((key = safelock_key_pop(sl))) {
		mutex_lock(&sl->lock);
		if (!sl->gone) {
			before = sl->fsm.state;
			if (key == SAFELOCK_KEY_GONE) {
				/*
				 * The keypad went away: an entry begun on it
				 * ends now, its digits wiped, not at its
				 * timeout; nothing else changes (a time delay
				 * runs on).
				 */
				safelock_fsm_entry_timeout(&sl->fsm, &out);
			} else {
				/*
				 * No timer reads the clocks between boundaries:
				 * a wall clock set meanwhile that starts a locked
				 * period is seen here, before the key counts.
				 */
				safelock_clock_tick(sl);
				before = sl->fsm.state;
				safelock_fsm_key(&sl->fsm, key, &out);
				/* the key was taken: say so, the same for all */
				if (out.actions)
					safelock_feedback_pulse(sl);
			}
			safelock_fsm_apply(sl, &out, before);
			memzero_explicit(&out, sizeof(out));
		}
		mutex_unlock(&sl->lock);
		key = 0;
	}
}

static bool safelock_keypad_match(struct input_handler *handler, struct input_dev *dev)
{
	struct safelock *sl = handler->private;

	if (sl->keypad_fwnode)
		return dev->dev.parent && dev_fwnode(dev->dev.parent) == sl->keypad_fwnode;
	return dev->name && !strcmp(dev->name, sl->keypad_name);
}

static int safelock_keypad_connect(struct input_handler *handler, struct input_dev *dev,
				   const struct input_device_id *id)
{
	struct safelock *sl = handler->private;
	struct input_handle *handle;
	int ret;

	handle = kzalloc_obj(*handle, GFP_KERNEL);
	if (!handle)
		return -ENOMEM;
	handle->dev = dev;
	handle->handler = handler;
	handle->name = handler->name;

	ret = input_register_handle(handle);
	if (ret)
		goto err_free;
	ret = input_open_device(handle);
	if (ret)
		goto err_unregister;
	/* Nobody else may see the digits: refuse a keypad we cannot grab. */
	ret = input_grab_device(handle);
	if (ret) {
		dev_warn(sl->dev, "keypad %s is grabbed by someone else, not using it\n",
			 dev->name);
		goto err_close;
	}
	WRITE_ONCE(sl->keypad_present, true);
	dev_info(sl->dev, "keypad %s connected\n", dev->name);
	return 0;

err_close:
	input_close_device(handle);
err_unregister:
	input_unregister_handle(handle);
err_free:
	kfree(handle);
	return ret;
}

static void safelock_keypad_disconnect(struct input_handle *handle)
{
	struct safelock *sl = handle->handler->private;

	WRITE_ONCE(sl->keypad_present, false);
	input_release_device(handle);
	input_close_device(handle);
	input_unregister_handle(handle);
	kfree(handle);
	/* after the keys it sent: the entry they began is abandoned */
	safelock_key_queue(sl, SAFELOCK_KEY_GONE);
	dev_info(sl->dev, "keypad disconnected\n");
}

static const struct input_device_id safelock_keypad_ids[] = {
	{ .flags = INPUT_DEVICE_ID_MATCH_EVBIT, .evbit = { BIT_MASK(EV_KEY) } },
	{ }
};

static void safelock_keypad_remove(void *data)
{
	struct safelock *sl = data;

	input_unregister_handler(&sl->handler);
}

static void safelock_keypad_put_fwnode(void *data)
{
	fwnode_handle_put(data);
}

/* Which input device is the keypad: a node reference, or a name. */
static int safelock_keypad_find(struct safelock *sl)
{
	struct fwnode_handle *ref;
	int ret;

	ref = fwnode_find_reference(dev_fwnode(sl->dev), "keypad", 0);
	if (IS_ERR(ref) && PTR_ERR(ref) != -ENOENT)
		return dev_err_probe(sl->dev, PTR_ERR(ref), "bad keypad reference\n");
	ret = device_property_read_string(sl->dev, "keypad-name", &sl->keypad_name);
	if (ret && ret != -EINVAL) {
		if (!IS_ERR(ref))
			fwnode_handle_put(ref);
		return dev_err_probe(sl->dev, ret, "bad keypad-name\n");
	}
	if (!IS_ERR(ref)) {
		if (!ret) {
			fwnode_handle_put(ref);
			return dev_err_probe(sl->dev, -EINVAL,
					     "keypad and keypad-name are exclusive\n");
		}
		sl->keypad_fwnode = ref;
		return devm_add_action_or_reset(sl->dev, safelock_keypad_put_fwnode, ref);
	}
	if (ret)
		return 0;	/* neither: no keypad */
	sl->keypad_name = devm_kstrdup(sl->dev, sl->keypad_name, GFP_KERNEL);
	return sl->keypad_name ? 0 : -ENOMEM;
}

int safelock_keypad_probe(struct safelock *sl)
{
	int ret;

	ret = safelock_keypad_find(sl);
	if (ret)
		return ret;
	if (!sl->keypad_fwnode && !sl->keypad_name) {
		dev_info(sl->dev, "no keypad described: keypad entry disabled\n");
		return 0;
	}

	sl->handler.name = devm_kasprintf(sl->dev, GFP_KERNEL, "safelock%u", sl->index);
	if (!sl->handler.name)
		return -ENOMEM;
	sl->handler.private = sl;
	sl->handler.event = safelock_keypad_event;
	sl->handler.match = safelock_keypad_match;
	sl->handler.connect = safelock_keypad_connect;
	sl->handler.disconnect = safelock_keypad_disconnect;
	sl->handler.id_table = safelock_keypad_ids;

	ret = input_register_handler(&sl->handler);
	if (ret)
		return dev_err_probe(sl->dev, ret, "cannot register keypad handler\n");
	return devm_add_action_or_reset(sl->dev, safelock_keypad_remove, sl);
}
