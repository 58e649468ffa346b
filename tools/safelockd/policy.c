// SPDX-License-Identifier: GPL-2.0
/*
 * The lock's policy as safelockd keeps it: defaults, validation, the
 * attributes it becomes in the kernel's POLICY_SET, and the verdict a
 * right code earns by its user's role.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>

#include "adminsrv.h"

#define PRIV_WORDS	4	/* reserved[] words of POLICY_PRIV_* */

void policy_defaults(struct safelock_admin_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->time_delay_s = 0;
	p->open_window_s = 60;
	p->dual_window_s = 60;
	p->relock_ms = 0;	/* the board's relock-ms */
	p->door_limit_s = 300;
	p->recovery_delay_s = 0;
}

/*
 * The policy fields the kernel enforces, and their attribute in
 * SAFELOCK_CMD_POLICY_SET. attr 0: the kernel has no attribute for it yet;
 * the field is then not pushed, and (with refuse_unsupported) a policy
 * that turns it on is refused, since the lock could not enforce it.
 *
 * Holidays go as the used day numbers only (the kernel counts every
 * entry it gets as a holiday).
 */
/* PA_DAYS: u32 day numbers, 0 unused: only the used ones are sent. */
enum policy_attr_type { PA_U8, PA_U32, PA_S32, PA_BIN, PA_DAYS };

struct policy_attr {
	int attr;
	enum policy_attr_type type;
	size_t off, size;
	const char *name;
	bool refuse_unsupported;
};

#define PA(a, t, f, r) { (a), (t), offsetof(struct safelock_admin_policy, f), \
		       sizeof(((struct safelock_admin_policy *)NULL)->f), #f, (r) }

static const struct policy_attr policy_attrs[] = {
	PA(SAFELOCK_A_TIME_DELAY_S,	PA_U32, time_delay_s, false),
	PA(SAFELOCK_A_OPEN_WINDOW_S,	PA_U32, open_window_s, false),
	PA(SAFELOCK_A_DUAL_CONTROL,	PA_U8,  dual_control, false),
	PA(SAFELOCK_A_DUAL_WINDOW_S,	PA_U32, dual_window_s, false),
	PA(SAFELOCK_A_RELOCK_MS,	PA_U32, relock_ms, false),
	PA(SAFELOCK_A_DOOR_LIMIT_S,	PA_U32, door_limit_s, false),
	PA(SAFELOCK_A_TIME_LOCK,	PA_U8,  time_lock, true),
	PA(SAFELOCK_A_TIME_LOCK_WEEK,	PA_BIN, week, false),
	PA(SAFELOCK_A_HOLIDAYS,		PA_DAYS, holidays, false),
	/* with a time zone: its offset now (policy_put_attrs()) */
	PA(SAFELOCK_A_UTC_OFFSET_S,	PA_S32, utc_offset_s, false),
	PA(SAFELOCK_A_OVERRIDE,		PA_U8,  courier_override, false),
};

static bool field_set(const struct safelock_admin_policy *p,
		      const struct policy_attr *a)
{
	const unsigned char *b = (const unsigned char *)p + a->off;
	size_t i;

	for (i = 0; i < a->size; i++)
		if (b[i])
			return true;
	return false;
}

/*
 * The time left (s, rounded up, at most SAFELOCK_TIME_LOCK_MAX_S) of the
 * immediate time lock stored in @p: 0 none; -EIO the clock cannot be read.
 */
static int64_t time_lock_left_s(const struct safelock_admin_policy *p,
				struct vault *clock)
{
	uint64_t until = policy_time_lock_until(p), now, left;
	int64_t real;

	if (!until)
		return 0;
	if (!(until & POLICY_PRIV_TPM_MS)) {
		/* an older safelockd's CLOCK_REALTIME second */
		real = (int64_t)until - (int64_t)time(NULL);
		left = real > 0 ? (uint64_t)real : 0;
	} else {
		if (!clock || !clock->ops->clock_ms ||
		    clock->ops->clock_ms(clock, &now))
			return -EIO;
		until &= ~POLICY_PRIV_TPM_MS;
		left = until > now ? (until - now + 999) / 1000 : 0;
	}
	return left > SAFELOCK_TIME_LOCK_MAX_S ? SAFELOCK_TIME_LOCK_MAX_S :
	       (int64_t)left;
}

int policy_put_attrs(struct nl_msg *msg, const struct safelock_admin_policy *p,
		     struct vault *clock)
{
	return policy_put_attrs_at(msg, p, clock, (int64_t)time(NULL));
}

int policy_put_attrs_at(struct nl_msg *msg, const struct safelock_admin_policy *p,
			struct vault *clock, int64_t now)
{
	const unsigned char *base = (const unsigned char *)p;
	int64_t left = time_lock_left_s(p, clock);
	size_t i;
	int ret = 0;

	if (left < 0)
		return (int)left;

	for (i = 0; i < sizeof(policy_attrs) / sizeof(policy_attrs[0]); i++) {
		const struct policy_attr *a = &policy_attrs[i];
		const void *f = base + a->off;
		uint32_t u32;
		int32_t s32;

		if (!a->attr)
			continue;
		/* 0: the board's own relock time (its relock-ms property) */
		if (a->attr == SAFELOCK_A_RELOCK_MS && !field_set(p, a))
			continue;
		switch (a->type) {
		case PA_U8:
			ret = nla_put_u8(msg, a->attr, *(const uint8_t *)f);
			break;
		case PA_U32:
			memcpy(&u32, f, sizeof(u32));
			ret = nla_put_u32(msg, a->attr, u32);
			break;
		case PA_S32:
			memcpy(&s32, f, sizeof(s32));
			if (a->attr == SAFELOCK_A_UTC_OFFSET_S)
				s32 = policy_offset_at(p, now);
			ret = nla_put_s32(msg, a->attr, s32);
			break;
		case PA_BIN:
			ret = nla_put(msg, a->attr, (int)a->size, f);
			break;
		case PA_DAYS: {
			uint32_t days[SAFELOCK_ADMIN_HOLIDAYS];
			size_t j, n = 0;

			for (j = 0; j < a->size / sizeof(uint32_t); j++) {
				memcpy(&u32, (const uint8_t *)f + j * sizeof(u32), sizeof(u32));
				if (u32 && n < SAFELOCK_ADMIN_HOLIDAYS)
					days[n++] = u32;
			}
			ret = nla_put(msg, a->attr, (int)(n * sizeof(uint32_t)), days);
			break;
		}
		}
		if (ret)
			return -EMSGSIZE;
	}
	/*
	 * An immediate time lock still running: the kernel gets it again, as
	 * the time left on the TPM clock, which it times on its own
	 * CLOCK_BOOTTIME (extending one in force, never shortening it): no
	 * wall clock anywhere, so setting it forward lifts nothing.
	 */
	if (left > 0 &&
	    nla_put_u32(msg, SAFELOCK_A_TIME_LOCK_FOR_S, (uint32_t)left))
		return -EMSGSIZE;
	return 0;
}

static bool range(uint32_t v, uint32_t min, uint32_t max)
{
	return v >= min && v <= max;
}

#define HOLIDAY_MAX	100000U	/* days since 1970: the year 2243 */
#define UTC_OFFSET_MAX	(14 * 3600)

int policy_validate(const struct safelock_admin_policy *p, char *why,
		    size_t len)
{
	const char *bad = NULL;
	size_t i;

	if (!range(p->time_delay_s, 0, 7200))
		bad = "time delay must be 0 to 7200 s";
	else if (!range(p->open_window_s, 60, 1800))
		bad = "open window must be 60 to 1800 s";
	else if (!range(p->dual_window_s, 10, 300))
		bad = "dual window must be 10 to 300 s";
	else if (p->relock_ms && !range(p->relock_ms, 500, 600000))
		bad = "relock time must be 0 (the board's) or 500 to 600000 ms";
	else if (p->door_limit_s && !range(p->door_limit_s, 5, 3600))
		bad = "door limit must be 0 (never) or 5 to 3600 s";
	else if (!range(p->recovery_delay_s, 0, 604800))
		bad = "recovery delay must be 0 to 604800 s";
	else if (p->dual_control > 1 || p->dual_admin > 1 ||
		 p->courier_override > 1 || p->time_lock > 1)
		bad = "dual_control, dual_admin, courier_override and time_lock are 0 or 1";
	else if (p->utc_offset_s < -UTC_OFFSET_MAX || p->utc_offset_s > UTC_OFFSET_MAX)
		bad = "UTC offset must be -50400 to 50400 s";
	if (!bad && !memchr(p->time_zone, '\0', sizeof(p->time_zone)))
		bad = "time zone is not NUL-terminated";
	if (!bad && p->time_zone[0] && policy_zone_check(p->time_zone, NULL, why, len))
		return -EINVAL;
	for (i = 0; !bad && i < SAFELOCK_ADMIN_HOLIDAYS; i++)
		if (p->holidays[i] > HOLIDAY_MAX)
			bad = "a holiday is a day since 1970-01-01, at most 100000";
	for (i = 0; !bad && i < sizeof(p->reserved) / sizeof(p->reserved[0]); i++)
		if (p->reserved[i])
			bad = "reserved fields must be zero";
	for (i = 0; !bad && i < sizeof(policy_attrs) / sizeof(policy_attrs[0]); i++)
		if (!policy_attrs[i].attr && policy_attrs[i].refuse_unsupported &&
		    field_set(p, &policy_attrs[i])) {
			snprintf(why, len, "%s: the kernel cannot enforce it yet",
				 policy_attrs[i].name);
			return -EOPNOTSUPP;
		}
	if (bad) {
		snprintf(why, len, "%s", bad);
		return -EINVAL;
	}
	return 0;
}

#define ZONEINFO	"/usr/share/zoneinfo"

int policy_zone_check(const char *zone, const char *zoneinfo, char *why,
		      size_t len)
{
	char path[4096], magic[4];
	const char *c;
	int fd;
	ssize_t n;

	if (!strcmp(zone, "UTC"))
		return 0;
	for (c = zone; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || strchr("/_+-", *c)))
			break;
	if (!zone[0] || *c || zone[0] == '/' || strstr(zone, "..") ||
	    strlen(zone) >= SAFELOCK_ADMIN_ZONE_SIZE) {
		snprintf(why, len, "time zone '%.48s' is not a zone name (like Europe/Berlin, or UTC)",
			 zone);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", zoneinfo ? zoneinfo : ZONEINFO, zone);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(magic) || memcmp(magic, "TZif", 4)) {
		snprintf(why, len, "time zone %s: no such zone in %s", zone,
			 zoneinfo ? zoneinfo : ZONEINFO);
		return -EINVAL;
	}
	return 0;
}

/*
 * The offset of zone @zone at @t, through the C library's zone code:
 * safelockd's TZ is the zone of the policy (it shows no local time
 * otherwise), set again only when the zone changes. 0, or -ENOENT.
 */
static int zone_offset(const char *zone, int64_t t, int32_t *off)
{
	static char current[SAFELOCK_ADMIN_ZONE_SIZE + 2];
	char want[sizeof(current)];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!strcmp(zone, "UTC")) {
		*off = 0;
		return 0;
	}
	snprintf(want, sizeof(want), ":%s", zone);
	if (strcmp(want, current)) {
		if (setenv("TZ", want, 1))
			return -ENOMEM;
		tzset();
		snprintf(current, sizeof(current), "%s", want);
	}
	if (!localtime_r(&tt, &tm))
		return -ENOENT;
	/* glibc falls back to UTC, named as the zone, for a zone it cannot read */
	if (!tm.tm_gmtoff && tm.tm_zone && !strcmp(tm.tm_zone, zone))
		return -ENOENT;
	*off = (int32_t)tm.tm_gmtoff;
	return 0;
}

int32_t policy_offset_at(const struct safelock_admin_policy *p, int64_t t)
{
	int32_t off;

	if (p->time_zone[0] && memchr(p->time_zone, '\0', sizeof(p->time_zone)) &&
	    !zone_offset(p->time_zone, t, &off))
		return off;
	return p->utc_offset_s;
}

uint64_t policy_recovery_start(const struct safelock_admin_policy *p)
{
	return (uint64_t)p->reserved[POLICY_PRIV_RECOVERY_LO] |
	       (uint64_t)p->reserved[POLICY_PRIV_RECOVERY_HI] << 32;
}

void policy_set_recovery_start(struct safelock_admin_policy *p, uint64_t t)
{
	p->reserved[POLICY_PRIV_RECOVERY_LO] = (uint32_t)t;
	p->reserved[POLICY_PRIV_RECOVERY_HI] = (uint32_t)(t >> 32);
}

uint64_t policy_time_lock_until(const struct safelock_admin_policy *p)
{
	return (uint64_t)p->reserved[POLICY_PRIV_TLOCK_LO] |
	       (uint64_t)p->reserved[POLICY_PRIV_TLOCK_HI] << 32;
}

void policy_set_time_lock_until(struct safelock_admin_policy *p, uint64_t t)
{
	p->reserved[POLICY_PRIV_TLOCK_LO] = (uint32_t)t;
	p->reserved[POLICY_PRIV_TLOCK_HI] = (uint32_t)(t >> 32);
}

_Static_assert(POLICY_PRIV_TLOCK_HI < PRIV_WORDS &&
	       POLICY_PRIV_RECOVERY_LO < PRIV_WORDS &&
	       POLICY_PRIV_RECOVERY_HI < PRIV_WORDS &&
	       PRIV_WORDS <= sizeof(((struct safelock_admin_policy *)NULL)->reserved) /
	       sizeof(uint32_t), "policy private words fit in reserved[]");

uint32_t policy_verdict(enum safelock_role role,
			const struct safelock_admin_policy *p,
			uint8_t *delay_override)
{
	*delay_override = SAFELOCK_OVERRIDE_NONE;
	switch (role) {
	case SAFELOCK_ROLE_OWNER:
	case SAFELOCK_ROLE_MANAGER:
		if (p->courier_override)
			*delay_override = SAFELOCK_OVERRIDE_MAY;
		return SAFELOCK_RESULT_GRANTED;
	case SAFELOCK_ROLE_USER:
		return SAFELOCK_RESULT_GRANTED;
	case SAFELOCK_ROLE_COURIER:
		/*
		 * A courier opens only as half of a two-person override of
		 * the time delay (ONLY: the kernel counts the grant for
		 * nothing else), and only if the policy allows overrides.
		 */
		if (p->courier_override) {
			*delay_override = SAFELOCK_OVERRIDE_ONLY;
			return SAFELOCK_RESULT_GRANTED;
		}
		return SAFELOCK_RESULT_DENIED;
	default:
		/* auditors never open; no role: not a user */
		return SAFELOCK_RESULT_DENIED;
	}
}

const char *safelock_role_name(uint32_t role)
{
	static const char *const names[SAFELOCK_ROLE_MAX] = {
		[SAFELOCK_ROLE_NONE] = "none",
		[SAFELOCK_ROLE_OWNER] = "owner",
		[SAFELOCK_ROLE_MANAGER] = "manager",
		[SAFELOCK_ROLE_USER] = "user",
		[SAFELOCK_ROLE_AUDITOR] = "auditor",
		[SAFELOCK_ROLE_COURIER] = "courier",
	};

	return role < SAFELOCK_ROLE_MAX ? names[role] : "unknown";
}

/* The wall clock's lower bound ------------------------------------------ */

bool policy_schedules(const struct safelock_admin_policy *p)
{
	size_t i;

	if (!p->time_lock)
		return false;
	for (i = 0; i < sizeof(p->week); i++)
		if (p->week[i])
			return true;
	for (i = 0; i < SAFELOCK_ADMIN_HOLIDAYS; i++)
		if (p->holidays[i])
			return true;
	return false;
}

/* No more than a century of powered time counts (no overflow below). */
#define CLOCK_SPAN_MAX_MS	(100ULL * 366 * 86400 * 1000)

int64_t clock_lower_bound(const struct vault_clock_anchor *a, uint64_t now_ms)
{
	uint64_t passed = now_ms > a->clock_ms ? now_ms - a->clock_ms : 0;

	if (passed > CLOCK_SPAN_MAX_MS)
		passed = CLOCK_SPAN_MAX_MS;
	/* the TPM's clock may run fast: count only CLOCK_RATE_PERCENT of it */
	return (int64_t)a->wall_s +
	       (int64_t)(passed * CLOCK_RATE_PERCENT / 100 / 1000) -
	       CLOCK_SLACK_S;
}

enum clock_trust policy_clock_check(struct vault *v, uint64_t wall_s,
				    uint64_t *behind_s)
{
	struct vault_clock_anchor a;
	uint64_t now;
	int64_t bound;

	*behind_s = 0;
	/* no anchor (or a vault that cannot be read, which checks nothing) */
	if (!v->ops->clock_anchor || v->ops->clock_anchor(v, &a))
		return CLOCK_TRUSTED;
	/*
	 * A clock that cannot be read, or one behind the anchor's (the TPM
	 * was cleared or swapped, which damages the vault anyway): no bound
	 * can be known, so the wall clock cannot be trusted.
	 */
	if (!v->ops->clock_ms || v->ops->clock_ms(v, &now) || now < a.clock_ms)
		return CLOCK_UNVERIFIABLE;
	bound = clock_lower_bound(&a, now);
	if ((int64_t)wall_s >= bound)
		return CLOCK_TRUSTED;
	*behind_s = (uint64_t)(bound - (int64_t)wall_s);
	return CLOCK_BEHIND;
}
