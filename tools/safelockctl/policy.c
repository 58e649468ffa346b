// SPDX-License-Identifier: GPL-2.0
/*
 * The policy (policy get|set: opening, administration, time lock), the
 * immediate time lock and clearing a bolt fault. policy set reads the
 * policy, changes only what was given, and sends it whole: safelockd
 * applies it all or nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "libsafelock.h"
#include "safelockctl.h"

static void out_secs(struct out *o, const char *key, const char *label,
		     uint32_t s, const char *zero)
{
	if (!o->json && !s && zero)
		out_str(o, key, label, zero);
	else if (o->json)
		out_num(o, key, label, s, "");
	else
		out_ms(o, key, label, (unsigned long long)s * 1000);
}

void print_policy(struct out *o, const struct safelock_admin_policy *p)
{
	char ranges[7 * 96 / 2 * 12 + 1], date[16], off[16], *r, *save = NULL;
	int day, i;
	long a;

	out_begin(o);
	out_secs(o, "time_delay_s", "time delay:", p->time_delay_s, "none");
	out_secs(o, "open_window_s", "open window:", p->open_window_s, NULL);
	out_bool(o, "dual_control", "dual control:", p->dual_control, "on", "off");
	out_secs(o, "dual_window_s", "dual window:", p->dual_window_s, NULL);
	out_bool(o, "dual_admin", "dual admin:", p->dual_admin, "on", "off");
	out_bool(o, "courier_override", "courier override:", p->courier_override, "on", "off");
	if (p->relock_ms || o->json)
		out_ms_exact(o, "relock_ms", "relock:", p->relock_ms);
	else
		out_str(o, "relock_ms", "relock:", "the board's (relock-ms)");
	out_secs(o, "door_limit_s", "door limit:", p->door_limit_s, "off");
	out_secs(o, "recovery_delay_s", "recovery delay:", p->recovery_delay_s, "none");
	out_bool(o, "time_lock", "time lock:", p->time_lock, "on", "off");
	out_obj_begin(o, "schedule", "locked (weekly):");
	for (i = 0; i < 7; i++) {
		day = (i + 1) % 7;	/* monday first */
		out_list_begin(o, schedule_day_name(day), schedule_day_name(day));
		if (schedule_describe(p->week, day, ranges, sizeof(ranges)))
			for (r = strtok_r(ranges, ",", &save); r; r = strtok_r(NULL, ",", &save))
				out_list_item(o, r);
		out_list_end(o, "-");
	}
	out_obj_end(o);
	out_list_begin(o, "holidays", "holidays:");
	for (i = 0; i < SAFELOCK_ADMIN_HOLIDAYS; i++) {
		if (!p->holidays[i])
			continue;
		format_date(p->holidays[i], date, sizeof(date));
		out_list_item(o, date);
	}
	out_list_end(o, "none");
	out_str(o, "time_zone", "time zone:", p->time_zone[0] ? p->time_zone :
		o->json ? "" : "none (the UTC offset below)");
	if (o->json) {
		out_snum(o, "utc_offset_s", "", p->utc_offset_s, "");
	} else {
		a = labs((long)p->utc_offset_s);
		snprintf(off, sizeof(off), "%c%02ld:%02ld", p->utc_offset_s < 0 ? '-' : '+',
			 a / 3600 % 100, a / 60 % 60);
		out_str(o, "utc_offset_s", "utc offset:", off);
	}
	out_end(o);
}

static int get_policy(struct ctl_config *cfg, struct safelock_admin_policy *p)
{
	struct safelock_admin_req *req = admin_req_new(ADMIN_OP_POLICY_GET);
	struct safelock_admin_reply *rep = admin_reply_new();
	int ret;

	if (!req || !rep)
		ret = ctl_fail(EXIT_FAIL, "read", "the policy", "out of memory");
	else
		ret = admin_run(cfg, req, rep, "read", "the policy");
	if (!ret)
		*p = rep->policy;
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_policy_get(struct ctl_config *cfg)
{
	struct safelock_admin_policy p;
	struct out o;
	int ret;

	ret = get_policy(cfg, &p);
	if (ret)
		return ret;
	out_init(&o, cfg);
	print_policy(&o, &p);
	return 0;
}

static int cmp_days(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (!x || !y)
		return x ? -1 : y ? 1 : 0;	/* unused slots last */
	return x < y ? -1 : x > y;
}

static bool changes_something(const struct ctl_config *c)
{
	return c->time_delay_s >= 0 || c->open_window_s >= 0 ||
	       c->dual_window_s >= 0 || c->relock_ms >= 0 ||
	       c->door_limit_s >= 0 || c->recovery_delay_s >= 0 ||
	       c->dual_control >= 0 || c->dual_admin >= 0 ||
	       c->courier_override >= 0 || c->time_lock >= 0 || c->n_lock ||
	       c->n_unlock || c->clear_schedule || c->n_holidays ||
	       c->n_no_holidays || c->clear_holidays || c->zone;
}

/*
 * This machine's time zone, by name: TZ (":Europe/Berlin" or
 * "Europe/Berlin"), else the target of /etc/localtime under a zoneinfo
 * directory, else /etc/timezone. 0, or an exit status.
 */
static int local_zone(char *out, size_t len)
{
	const char *tz = getenv("TZ"), *z;
	char link[4096];
	ssize_t n;
	FILE *f;

	if (tz && *tz) {
		tz += *tz == ':';
		z = strstr(tz, "zoneinfo/");
		snprintf(out, len, "%s", z ? z + 9 : tz);
		return 0;
	}
	n = readlink("/etc/localtime", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		z = strstr(link, "zoneinfo/");
		if (z) {
			snprintf(out, len, "%s", z + 9);
			return 0;
		}
	}
	f = fopen("/etc/timezone", "re");
	if (f) {
		if (fgets(out, (int)len, f)) {
			out[strcspn(out, " \n")] = '\0';
			fclose(f);
			if (*out)
				return 0;
		} else {
			fclose(f);
		}
	}
	return ctl_fail(EXIT_FAIL, "find", "this machine's time zone",
			"TZ is not set and /etc/localtime names no zone: give --zone NAME");
}

/* Apply the options to @p: 0 or an exit status. */
static int apply(const struct ctl_config *cfg, struct safelock_admin_policy *p)
{
	char err[160];
	uint32_t day;
	int i, j;

#define SET(field, v) do { if ((v) >= 0) p->field = (uint32_t)(v); } while (0)
	SET(time_delay_s, cfg->time_delay_s);
	SET(open_window_s, cfg->open_window_s);
	SET(dual_window_s, cfg->dual_window_s);
	SET(relock_ms, cfg->relock_ms);
	SET(door_limit_s, cfg->door_limit_s);
	SET(recovery_delay_s, cfg->recovery_delay_s);
#undef SET
#define SETB(field, v) do { if ((v) >= 0) p->field = (uint8_t)(v); } while (0)
	SETB(dual_control, cfg->dual_control);
	SETB(dual_admin, cfg->dual_admin);
	SETB(courier_override, cfg->courier_override);
	SETB(time_lock, cfg->time_lock);
#undef SETB
	if (cfg->clear_schedule)
		memset(p->week, 0, sizeof(p->week));
	for (i = 0; i < cfg->n_lock; i++)
		if (schedule_apply(p->week, cfg->lock_specs[i], true, err, sizeof(err)))
			return usage_error("--lock: %s", err);
	for (i = 0; i < cfg->n_unlock; i++)
		if (schedule_apply(p->week, cfg->unlock_specs[i], false, err, sizeof(err)))
			return usage_error("--unlock: %s", err);
	if (cfg->clear_holidays)
		memset(p->holidays, 0, sizeof(p->holidays));
	for (i = 0; i < cfg->n_no_holidays; i++) {
		day = (uint32_t)parse_date(cfg->no_holidays[i]);
		for (j = 0; j < SAFELOCK_ADMIN_HOLIDAYS && p->holidays[j] != day; j++)
			;
		if (j == SAFELOCK_ADMIN_HOLIDAYS)
			return ctl_fail(EXIT_USAGE, "set", "the policy",
					"%s is not a holiday of the policy", cfg->no_holidays[i]);
		p->holidays[j] = 0;
	}
	for (i = 0; i < cfg->n_holidays; i++) {
		day = (uint32_t)parse_date(cfg->holidays[i]);
		for (j = 0; j < SAFELOCK_ADMIN_HOLIDAYS && p->holidays[j] != day; j++)
			;
		if (j < SAFELOCK_ADMIN_HOLIDAYS)
			continue;	/* already there */
		for (j = 0; j < SAFELOCK_ADMIN_HOLIDAYS && p->holidays[j]; j++)
			;
		if (j == SAFELOCK_ADMIN_HOLIDAYS)
			return ctl_fail(EXIT_USAGE, "set", "the policy",
					"no room for %s: at most %d holidays (remove some with --no-holiday)",
					cfg->holidays[i], SAFELOCK_ADMIN_HOLIDAYS);
		p->holidays[j] = day;
	}
	qsort(p->holidays, SAFELOCK_ADMIN_HOLIDAYS, sizeof(p->holidays[0]), cmp_days);
	/* the zone only when asked: a policy set about anything else keeps it */
	if (cfg->zone) {
		char zone[SAFELOCK_ADMIN_ZONE_SIZE + 64];

		if (!strcmp(cfg->zone, "local")) {
			i = local_zone(zone, sizeof(zone));
			if (i)
				return i;
		} else {
			snprintf(zone, sizeof(zone), "%s", cfg->zone);
		}
		if (strlen(zone) >= SAFELOCK_ADMIN_ZONE_SIZE)
			return ctl_fail(EXIT_USAGE, "set", "the policy",
					"time zone name '%s' is too long", zone);
		memset(p->time_zone, 0, sizeof(p->time_zone));
		memcpy(p->time_zone, zone, strlen(zone));
	}
	memset(p->reserved, 0, sizeof(p->reserved));
	return 0;
}

static int need_as(const struct ctl_config *cfg, const char *name)
{
	return cfg->as_user ? 0 : usage_error("'%s' needs --as USER", name);
}

int cmd_policy_set(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	struct safelock_admin_policy p;
	struct out o;
	int ret;

	if (!changes_something(cfg))
		return usage_error("'policy set' needs at least one setting to change");
	ret = need_as(cfg, "policy set");
	if (ret)
		return ret;
	ret = get_policy(cfg, &p);
	if (ret)
		return ret;
	ret = apply(cfg, &p);
	if (ret)
		return ret;
	req = admin_req_new(ADMIN_OP_POLICY_SET);
	rep = admin_reply_new();
	if (!req || !rep)
		ret = ctl_fail(EXIT_FAIL, "set", "the policy", "out of memory");
	if (!ret)
		ret = admin_fill_auth(cfg, req, "set", "the policy");
	if (!ret) {
		req->policy = p;
		ret = admin_run(cfg, req, rep, "set", "the policy");
	}
	if (!ret) {
		out_init(&o, cfg);
		print_policy(&o, &p);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_time_lock_now(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	char until[64], dur[64];
	struct out o;
	struct tm tm;
	long long ms;
	time_t end;
	int ret;

	ret = parse_duration_arg("time-lock now", "DURATION", cfg->args[0], &ms);
	if (!ret)
		ret = need_as(cfg, "time-lock now");
	if (ret)
		return ret;
	req = admin_req_new(ADMIN_OP_TIME_LOCK_NOW);
	rep = admin_reply_new();
	if (!req || !rep)
		ret = ctl_fail(EXIT_FAIL, "start", "the time lock", "out of memory");
	if (!ret)
		ret = admin_fill_auth(cfg, req, "start", "the time lock");
	if (!ret) {
		req->duration_s = (uint32_t)(ms / 1000);
		ret = admin_run(cfg, req, rep, "start", "the time lock");
	}
	if (!ret) {
		end = time(NULL) + (time_t)(ms / 1000);
		out_init(&o, cfg);
		out_begin(&o);
		if (o.json) {
			out_num(&o, "duration_s", "", (unsigned long long)(ms / 1000), "");
			out_snum(&o, "until", "", (long long)end, "");
		} else {
			localtime_r(&end, &tm);
			strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S %z", &tm);
			format_duration_ms((unsigned long long)ms, dur, sizeof(dur));
			printf("Time lock on for %s, until %s: no code opens the lock until then.\n",
			       dur, until);
		}
		out_end(&o);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_fault_clear(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	struct out o;
	int ret;

	ret = need_as(cfg, "fault clear");
	if (ret)
		return ret;
	req = admin_req_new(ADMIN_OP_FAULT_CLEAR);
	rep = admin_reply_new();
	if (!req || !rep)
		ret = ctl_fail(EXIT_FAIL, "clear", "the fault", "out of memory");
	if (!ret)
		ret = admin_fill_auth(cfg, req, "clear", "the fault");
	if (!ret)
		ret = admin_run(cfg, req, rep, "clear", "the fault");
	if (!ret) {
		out_init(&o, cfg);
		out_begin(&o);
		if (o.json)
			out_bool(&o, "fault_cleared", "", true, "", "");
		else
			printf("Fault cleared.\n");
		out_end(&o);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}
