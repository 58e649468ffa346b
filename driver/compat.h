/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels safelock supports (6.1 to 7.x) lives
 * here, and nothing else does.
 */
#ifndef _SAFELOCK_COMPAT_H
#define _SAFELOCK_COMPAT_H

#include <crypto/blake2s.h>
#include <linux/device.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/leds.h>
#include <linux/slab.h>
#include <net/genetlink.h>

/*
 * 6.4: class_create() lost its owner argument and stopped being a macro, so
 * the macro's presence tells which one this kernel has.
 */
static inline struct class *safelock_class_create(const char *name)
{
#ifdef class_create
	return class_create(THIS_MODULE, name);
#else
	return class_create(name);
#endif
}

/*
 * 6.7 (backported to Debian's 6.1.y): capability-gated multicast groups.
 * Without them the event group would be open to every user, so refuse to
 * build rather than leak.
 */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "this kernel lacks GENL_MCAST_CAP_NET_ADMIN (upstream 6.7, Debian 6.1.y)"
#endif

/* 7.0: typed allocation helpers; the newest checkpatch asks for them. */
#ifndef kzalloc_obj
#define kzalloc_obj(P, GFP)	kzalloc(sizeof(P), GFP)
#endif

/* 6.13: secs_to_jiffies(). */
#ifndef secs_to_jiffies
#define secs_to_jiffies(s)	((unsigned long)((s) * HZ))
#endif

/*
 * 6.19: blake2s() takes (key, keylen, in, inlen, out, outlen), no longer
 * (out, in, key, outlen, inlen, keylen), and its context became struct
 * blake2s_ctx.  Both are static inline functions of the same name and the
 * header defines no macro to tell them apart, so Kbuild looks for the new
 * struct name in it and says SAFELOCK_BLAKE2S_CTX.
 */
static inline void safelock_blake2s(u8 *out, size_t outlen, const u8 *in, size_t inlen,
				    const u8 *key, size_t keylen)
{
#ifdef SAFELOCK_BLAKE2S_CTX
	blake2s(key, keylen, in, inlen, out, outlen);
#else
	blake2s(out, in, key, outlen, inlen, keylen);
#endif
}

/*
 * 6.13: hrtimer_setup() sets the callback with the clock; hrtimer_init()
 * went away later.  Kbuild says SAFELOCK_HRTIMER_SETUP when the header
 * declares it.
 */
static inline void safelock_hrtimer_setup(struct hrtimer *timer,
					  enum hrtimer_restart (*fn)(struct hrtimer *),
					  clockid_t clock)
{
#ifdef SAFELOCK_HRTIMER_SETUP
	hrtimer_setup(timer, fn, clock, HRTIMER_MODE_ABS);
#else
	hrtimer_init(timer, clock, HRTIMER_MODE_ABS);
	timer->function = fn;
#endif
}

/*
 * 6.5: led_trigger_blink() and led_trigger_blink_oneshot() take the delays
 * by value, no longer by pointer.  Kbuild says SAFELOCK_LED_BLINK_BY_VALUE
 * when the header's prototype does.
 */
static inline void safelock_led_blink(struct led_trigger *trig, unsigned long on_ms,
				      unsigned long off_ms)
{
#ifdef SAFELOCK_LED_BLINK_BY_VALUE
	led_trigger_blink(trig, on_ms, off_ms);
#else
	led_trigger_blink(trig, &on_ms, &off_ms);
#endif
}

static inline void safelock_led_oneshot(struct led_trigger *trig, unsigned long on_ms,
					unsigned long off_ms)
{
#ifdef SAFELOCK_LED_BLINK_BY_VALUE
	led_trigger_blink_oneshot(trig, on_ms, off_ms, 0);
#else
	led_trigger_blink_oneshot(trig, &on_ms, &off_ms, 0);
#endif
}

#endif /* _SAFELOCK_COMPAT_H */
