// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: /dev/safelockN.
 *
 * Information, state, "lock now", and events through read()/poll().  Each
 * open file has its own bounded queue; when it is full, new events for that
 * reader are dropped and the reader sees the hole in the sequence numbers.
 * Nothing here opens the bolt, and no event carries a digit.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/kfifo.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "safelock.h"

/* The records' sizes are the ABI: they grow only into their padding. */
static_assert(sizeof(struct safelock_info) == 88);
static_assert(sizeof(struct safelock_status) == 40);
static_assert(sizeof(struct safelock_event) == 64);
static_assert(sizeof(struct safelock_code_key) == 64);

static struct class *safelock_class;
static dev_t safelock_devt;

/**
 * struct safelock_reader - one open file
 * @node: entry in &safelock.readers
 * @sl: the lock; a reference is held while the file is open
 * @wait: readers sleep here
 * @events: queued events, protected by &safelock.ev_lock
 */
struct safelock_reader {
	struct list_head node;
	struct safelock *sl;
	wait_queue_head_t wait;
	DECLARE_KFIFO(events, struct safelock_event, SAFELOCK_EVQ_SIZE);
};

/* Queue an event for every reader; called with sl->ev_lock held. */
void safelock_cdev_event(struct safelock *sl, const struct safelock_event *ev)
{
	struct safelock_reader *r;

	lockdep_assert_held(&sl->ev_lock);
	list_for_each_entry(r, &sl->readers, node) {
		kfifo_put(&r->events, *ev);	/* full: dropped, seq shows it */
		wake_up_poll(&r->wait, EPOLLIN | EPOLLRDNORM);
	}
}

static bool safelock_gone(struct safelock *sl)
{
	bool gone;

	mutex_lock(&sl->lock);
	gone = sl->gone;
	mutex_unlock(&sl->lock);
	return gone;
}

static int safelock_get_info(struct safelock *sl, void __user *arg)
{
	struct safelock_info info = {
		.abi_version = SAFELOCK_ABI_VERSION,
		.index = sl->index,
		.lines = SAFELOCK_LINE_BOLT,
		.relock_ms = sl->fsm.policy.relock_ms,
		.verify_timeout_ms = sl->verify_timeout_ms,
		.entry_timeout_ms = sl->entry_timeout_ms,
		.caps = SAFELOCK_CAP_PENALTY | SAFELOCK_CAP_TIME_DELAY |
			SAFELOCK_CAP_DUAL_CONTROL | SAFELOCK_CAP_DURESS |
			SAFELOCK_CAP_FAULT_CLEAR | SAFELOCK_CAP_TIME_LOCK |
			SAFELOCK_CAP_OVERRIDE,
	};

	if (sl->door)
		info.lines |= SAFELOCK_LINE_DOOR;
	if (sl->keypad_name || sl->keypad_fwnode)
		info.lines |= SAFELOCK_LINE_KEYPAD;
	if (sl->alarm)
		info.lines |= SAFELOCK_LINE_ALARM;
	if (sl->tamper)
		info.lines |= SAFELOCK_LINE_TAMPER;
	if (sl->battery)
		info.lines |= SAFELOCK_LINE_BATTERY;
	if (sl->feedback)
		info.lines |= SAFELOCK_LINE_FEEDBACK;
	if (sl->bolt_sensor) {
		info.lines |= SAFELOCK_LINE_BOLT_SENSOR;
		info.caps |= SAFELOCK_CAP_BOLT_SENSOR;
	}
	if (!sl->bolt) {
		info.lines |= SAFELOCK_LINE_BOLT_MOTOR;
		info.caps |= SAFELOCK_CAP_BOLT_MOTOR;
	}
	info.alarm_ms = sl->alarm_ms;
	strscpy(info.name, dev_name(sl->dev), sizeof(info.name));
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static int safelock_get_state(struct safelock *sl, void __user *arg)
{
	struct safelock_status st = { };

	mutex_lock(&sl->lock);
	st.state = sl->fsm.state;
	st.flags = safelock_status_flags(sl);
	st.penalty_ms = safelock_penalty_left_ms(sl);
	st.timer_ms = safelock_timer_left_ms(sl);
	spin_lock(&sl->ev_lock);
	st.last_seq = sl->seq;
	spin_unlock(&sl->ev_lock);
	mutex_unlock(&sl->lock);
	return copy_to_user(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

/*
 * The verifier's code key: through here, where no netlink tap sees it.  The
 * netlink side checks it against the hash the verifier registered with.
 */
static int safelock_set_code_key(void __user *arg)
{
	struct safelock_code_key ck;
	int ret;

	if (copy_from_user(&ck, arg, sizeof(ck)))
		ret = -EFAULT;
	else if (memchr_inv(ck.padding, 0, sizeof(ck.padding)))
		ret = -EINVAL;
	else
		ret = safelock_netlink_set_code_key(ck.key);
	memzero_explicit(&ck, sizeof(ck));
	return ret;
}

static long safelock_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct safelock_reader *r = file->private_data;
	struct safelock *sl = r->sl;
	void __user *uarg = (void __user *)arg;

	if (safelock_gone(sl))
		return -ENODEV;

	switch (cmd) {
	case SAFELOCK_IOC_GET_INFO:
		return safelock_get_info(sl, uarg);
	case SAFELOCK_IOC_GET_STATE:
		return safelock_get_state(sl, uarg);
	case SAFELOCK_IOC_LOCK_NOW:
		return safelock_lock_now(sl);
	case SAFELOCK_IOC_SET_CODE_KEY:
		return safelock_set_code_key(uarg);
	default:
		return -ENOTTY;
	}
}

static bool safelock_reader_ready(struct safelock_reader *r)
{
	bool ready;

	spin_lock(&r->sl->ev_lock);
	ready = !kfifo_is_empty(&r->events);
	spin_unlock(&r->sl->ev_lock);
	return ready;
}

static __poll_t safelock_poll(struct file *file, struct poll_table_struct *wait)
{
	struct safelock_reader *r = file->private_data;

	poll_wait(file, &r->wait, wait);
	if (READ_ONCE(r->sl->gone))
		return EPOLLHUP | EPOLLERR;
	return safelock_reader_ready(r) ? EPOLLIN | EPOLLRDNORM : 0;
}

static ssize_t safelock_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct safelock_reader *r = file->private_data;
	struct safelock *sl = r->sl;
	struct safelock_event ev;
	ssize_t done = 0;
	int ret;

	if (count < sizeof(ev))
		return -EINVAL;

	while (done + sizeof(ev) <= count) {
		spin_lock(&sl->ev_lock);
		ret = kfifo_get(&r->events, &ev);
		spin_unlock(&sl->ev_lock);
		if (!ret) {
			if (done)
				break;
			if (READ_ONCE(sl->gone))
				return -ENODEV;
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = wait_event_interruptible(r->wait, safelock_reader_ready(r) ||
						       READ_ONCE(sl->gone));
			if (ret)
				return ret;
			continue;
		}
		if (copy_to_user(buf + done, &ev, sizeof(ev)))
			return done ? done : -EFAULT;
		done += sizeof(ev);
	}
	return done;
}

static int safelock_open(struct inode *inode, struct file *file)
{
	struct safelock_reader *r;
	struct safelock *sl;

	sl = safelock_get_by_index(iminor(inode));
	if (!sl)
		return -ENODEV;
	r = kzalloc_obj(*r, GFP_KERNEL);
	if (!r) {
		safelock_put(sl);
		return -ENOMEM;
	}
	r->sl = sl;
	init_waitqueue_head(&r->wait);
	INIT_KFIFO(r->events);
	spin_lock(&sl->ev_lock);
	list_add_tail(&r->node, &sl->readers);
	spin_unlock(&sl->ev_lock);
	file->private_data = r;
	return stream_open(inode, file);
}

static int safelock_release(struct inode *inode, struct file *file)
{
	struct safelock_reader *r = file->private_data;
	struct safelock *sl = r->sl;

	spin_lock(&sl->ev_lock);
	list_del(&r->node);
	spin_unlock(&sl->ev_lock);
	kfree(r);
	safelock_put(sl);
	return 0;
}

static const struct file_operations safelock_fops = {
	.owner = THIS_MODULE,
	.open = safelock_open,
	.release = safelock_release,
	.read = safelock_read,
	.poll = safelock_poll,
	.unlocked_ioctl = safelock_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* Unbind: wake every reader so it sees the device go, then remove the node. */
static void safelock_cdev_remove(void *data)
{
	struct safelock *sl = data;
	struct safelock_reader *r;

	mutex_lock(&sl->lock);
	sl->gone = true;
	mutex_unlock(&sl->lock);
	spin_lock(&sl->ev_lock);
	list_for_each_entry(r, &sl->readers, node)
		wake_up_poll(&r->wait, EPOLLHUP | EPOLLERR);
	spin_unlock(&sl->ev_lock);
	device_destroy(safelock_class, MKDEV(MAJOR(safelock_devt), sl->index));
	cdev_del(sl->cdev);
}

int safelock_cdev_probe(struct safelock *sl)
{
	dev_t devt = MKDEV(MAJOR(safelock_devt), sl->index);
	int ret;

	sl->cdev = cdev_alloc();
	if (!sl->cdev)
		return -ENOMEM;
	sl->cdev->owner = THIS_MODULE;
	sl->cdev->ops = &safelock_fops;
	ret = cdev_add(sl->cdev, devt, 1);
	if (ret) {
		kobject_put(&sl->cdev->kobj);
		return dev_err_probe(sl->dev, ret, "cannot add cdev\n");
	}
	sl->chrdev = device_create(safelock_class, sl->dev, devt, sl, "safelock%u", sl->index);
	if (IS_ERR(sl->chrdev)) {
		cdev_del(sl->cdev);
		return dev_err_probe(sl->dev, PTR_ERR(sl->chrdev), "cannot create device node\n");
	}
	return devm_add_action_or_reset(sl->dev, safelock_cdev_remove, sl);
}

int safelock_cdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&safelock_devt, 0, SAFELOCK_MAX_DEVICES, "safelock");
	if (ret)
		return ret;
	safelock_class = safelock_class_create("safelock");
	if (IS_ERR(safelock_class)) {
		unregister_chrdev_region(safelock_devt, SAFELOCK_MAX_DEVICES);
		return PTR_ERR(safelock_class);
	}
	return 0;
}

void safelock_cdev_exit(void)
{
	class_destroy(safelock_class);
	unregister_chrdev_region(safelock_devt, SAFELOCK_MAX_DEVICES);
}
