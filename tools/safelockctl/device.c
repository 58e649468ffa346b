// SPDX-License-Identifier: GPL-2.0
/*
 * Commands on the character device: status (with safelockd's view when it
 * answers), monitor, lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "libsafelock.h"
#include "safelockctl.h"

static int fail(const char *verb, const char *object, int err)
{
	return ctl_fail(errno_exit(err), verb, object, "%s%s", strerror(err),
			err == ENOENT ? " (is the safelock module loaded and bound to the board?)" : "");
}

static int open_device(const struct ctl_config *cfg, int flags)
{
	int fd = open(cfg->device, flags | O_CLOEXEC);

	if (fd < 0 && (flags & O_ACCMODE) == O_RDWR &&
	    (errno == EACCES || errno == EROFS))
		fd = open(cfg->device, O_RDONLY | O_CLOEXEC);
	return fd;
}

static int state_tone(uint32_t state)
{
	switch (state) {
	case SAFELOCK_STATE_LOCKED:
	case SAFELOCK_STATE_TIME_LOCKED:
		return TONE_GOOD;
	case SAFELOCK_STATE_PENALTY:
	case SAFELOCK_STATE_FAULT:
		return TONE_BAD;
	case SAFELOCK_STATE_RELOCKING:
	case SAFELOCK_STATE_UNPROVISIONED:
	case SAFELOCK_STATE_UNLOCKED:
	case SAFELOCK_STATE_TIME_DELAY:
	case SAFELOCK_STATE_OPEN_WINDOW:
	case SAFELOCK_STATE_DUAL_PENDING:
		return TONE_WARN;
	default:
		return TONE_NONE;
	}
}

static const struct { uint32_t bit; const char *name; } line_names[] = {
	{ SAFELOCK_LINE_BOLT, "bolt" }, { SAFELOCK_LINE_DOOR, "door" },
	{ SAFELOCK_LINE_KEYPAD, "keypad" }, { SAFELOCK_LINE_ALARM, "alarm" },
	{ SAFELOCK_LINE_TAMPER, "tamper" }, { SAFELOCK_LINE_BATTERY, "battery" },
	{ SAFELOCK_LINE_FEEDBACK, "feedback" },
	{ SAFELOCK_LINE_BOLT_SENSOR, "bolt-sensor" },
	{ SAFELOCK_LINE_BOLT_MOTOR, "motor" },
};

/* An input the board may lack: null in JSON, "no such input" for people. */
static void out_input(struct out *o, bool present, const char *key,
		      const char *label, bool value, const char *yes,
		      const char *no, int tone)
{
	if (!present)
		out_null(o, key, label, "no such input");
	else if (o->json)
		out_bool(o, key, label, value, yes, no);
	else
		out_tone(o, key, label, value ? yes : no, value ? tone : TONE_NONE);
}

void print_status(struct out *o, const char *device,
		  const struct safelock_info *info,
		  const struct safelock_status *st,
		  const struct safelock_admin_status *vault, const char *vault_err)
{
	char name[SAFELOCK_NAME_SIZE + 1];
	const char *timer = NULL;
	size_t i;

	snprintf(name, sizeof(name), "%.*s", SAFELOCK_NAME_SIZE, info->name);
	out_begin(o);
	out_str(o, "device", "device:", device);
	out_str(o, "name", "name:", name);
	out_num(o, "index", "index:", info->index, "");
	out_num(o, "abi_version", "abi version:", info->abi_version, "");
	out_tone(o, "state", "state:", safelock_state_name(st->state),
		 state_tone(st->state));
	if (o->json || st->state == SAFELOCK_STATE_PENALTY)
		out_ms(o, "penalty_ms", "lockout left:", st->penalty_ms);
	if (st->state == SAFELOCK_STATE_TIME_DELAY)
		timer = "time delay left:";
	else if (st->state == SAFELOCK_STATE_OPEN_WINDOW)
		timer = "window closes in:";
	else if (st->state == SAFELOCK_STATE_DUAL_PENDING)
		timer = "second code within:";
	else if (st->state == SAFELOCK_STATE_TIME_LOCKED)
		timer = "time lock ends in:";
	if (o->json || timer)
		out_ms(o, "timer_ms", timer ? timer : "", st->timer_ms);
	out_bool(o, "bolt_open", "bolt:", st->flags & SAFELOCK_STATUS_BOLT_OPEN,
		 "retracted", "thrown");
	out_input(o, info->lines & SAFELOCK_LINE_BOLT_SENSOR, "bolt_sensor_open", "bolt sensor:",
		  st->flags & SAFELOCK_STATUS_BOLT_SENSOR_OPEN, "retracted", "thrown", TONE_WARN);
	out_bool(o, "door_open", "door:", st->flags & SAFELOCK_STATUS_DOOR_OPEN,
		 "open", "closed");
	out_input(o, info->lines & SAFELOCK_LINE_TAMPER, "tamper", "tamper:",
		  st->flags & SAFELOCK_STATUS_TAMPER, "TAMPERED", "clear", TONE_BAD);
	out_input(o, info->lines & SAFELOCK_LINE_BATTERY, "battery_low", "battery:",
		  st->flags & SAFELOCK_STATUS_BATTERY_LOW, "low", "good", TONE_WARN);
	out_input(o, info->lines & SAFELOCK_LINE_ALARM, "alarm", "alarm output:",
		  st->flags & SAFELOCK_STATUS_ALARM, "raised", "quiet", TONE_BAD);
	out_bool(o, "keypad", "keypad:", st->flags & SAFELOCK_STATUS_KEYPAD,
		 "present", "absent");
	if (o->json)
		out_bool(o, "verifier", "", st->flags & SAFELOCK_STATUS_VERIFIER, "", "");
	else
		out_tone(o, "verifier", "verifier:",
			 st->flags & SAFELOCK_STATUS_VERIFIER ? "registered" :
			 "absent (nothing can open: is safelockd running?)",
			 st->flags & SAFELOCK_STATUS_VERIFIER ? TONE_GOOD : TONE_BAD);
	if (o->json) {
		out_bool(o, "policy_in_force", "", st->flags & SAFELOCK_STATUS_POLICY, "", "");
		out_bool(o, "vault_damaged", "", st->flags & SAFELOCK_STATUS_VAULT_DAMAGED,
			 "", "");
	} else {
		out_tone(o, "policy_in_force", "policy:",
			 st->flags & SAFELOCK_STATUS_POLICY ? "in force" :
			 "NOT in force (nothing opens until safelockd sets it)",
			 st->flags & SAFELOCK_STATUS_POLICY ? TONE_GOOD : TONE_BAD);
		out_tone(o, "vault_damaged", "vault:",
			 st->flags & SAFELOCK_STATUS_VAULT_DAMAGED ?
			 "damaged (no code can be checked: see safelockctl doctor)" : "ok",
			 st->flags & SAFELOCK_STATUS_VAULT_DAMAGED ? TONE_BAD : TONE_NONE);
	}
	out_list_begin(o, "lines", "lines:");
	for (i = 0; i < sizeof(line_names) / sizeof(line_names[0]); i++)
		if (info->lines & line_names[i].bit)
			out_list_item(o, line_names[i].name);
	out_list_end(o, "none");
	out_ms_exact(o, "relock_ms", "relock:", info->relock_ms);
	out_ms_exact(o, "verify_timeout_ms", "verify timeout:", info->verify_timeout_ms);
	out_ms_exact(o, "entry_timeout_ms", "entry timeout:", info->entry_timeout_ms);
	out_num(o, "last_seq", "last event:", st->last_seq, "");
	if (vault) {
		out_obj_begin(o, "safelockd", "safelockd:");
		if (o->json)
			out_bool(o, "reachable", "", true, "", "");
		print_status_vault(o, vault);
		out_obj_end(o);
	} else if (o->json) {
		out_obj_begin(o, "safelockd", NULL);
		out_bool(o, "reachable", "", false, "", "");
		out_str(o, "error", "", vault_err ? vault_err : "");
		out_obj_end(o);
	} else {
		out_tone(o, NULL, "safelockd:", vault_err ? vault_err : "",
			 TONE_WARN);
	}
	out_end(o);
}

/* The daemon's view, if it answers: NULL and the reason if not. */
static const struct safelock_admin_status *vault_status(
	const struct ctl_config *cfg, struct safelock_admin_reply *rep,
	char *err, size_t errlen)
{
	struct safelock_admin_req *req = admin_req_new(ADMIN_OP_STATUS);
	char why[256];
	int ret;

	if (!req || !rep) {
		admin_req_free(req);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ret = admin_call(cfg->socket, req, rep, why, sizeof(why));
	admin_req_free(req);
	if (ret) {
		snprintf(err, errlen, "not reachable at %s: %s", cfg->socket,
			 why[0] ? why : strerror(-ret));
		return NULL;
	}
	if (rep->status) {
		snprintf(err, errlen, "%s", rep->message[0] ? rep->message :
			 strerror(-rep->status));
		return NULL;
	}
	return &rep->status_info;
}

int cmd_status(struct ctl_config *cfg)
{
	const struct safelock_admin_status *vault;
	struct safelock_admin_reply *rep;
	struct safelock_info info;
	struct safelock_status st;
	char vault_err[320];
	struct out o;
	int fd, err;

	fd = open_device(cfg, O_RDONLY);
	if (fd < 0)
		return fail("open", cfg->device, errno);
	memset(&info, 0, sizeof(info));
	memset(&st, 0, sizeof(st));
	if (ioctl(fd, SAFELOCK_IOC_GET_INFO, &info) < 0 ||
	    ioctl(fd, SAFELOCK_IOC_GET_STATE, &st) < 0) {
		err = errno;
		close(fd);
		return fail("read status of", cfg->device, err);
	}
	close(fd);
	if (info.abi_version != SAFELOCK_ABI_VERSION)
		ctl_warn("driver ABI %u, this tool knows %d", info.abi_version,
			 SAFELOCK_ABI_VERSION);
	rep = admin_reply_new();
	vault = vault_status(cfg, rep, vault_err, sizeof(vault_err));
	out_init(&o, cfg);
	print_status(&o, cfg->device, &info, &st, vault, vault_err);
	admin_reply_free(rep);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_gap(const struct ctl_config *cfg, unsigned long long from,
		      unsigned long long to)
{
	if (cfg->json)
		printf("{\"lost\":%llu,\"from_seq\":%llu,\"to_seq\":%llu}\n",
		       to - from + 1, from, to);
	else
		printf("lost %llu events (#%llu to #%llu)\n", to - from + 1,
		       from, to);
}

static void print_event(const struct ctl_config *cfg,
			const struct safelock_event *ev)
{
	char line[256];
	int n = cfg->json ? format_event_json(ev, line, sizeof(line)) :
			    format_event_human(ev, line, sizeof(line));

	if (n >= 0)
		printf("%s\n", line);
	fflush(stdout);
}

int cmd_monitor(struct ctl_config *cfg)
{
	struct safelock_event evs[64];
	unsigned long long last = 0;
	long long deadline = -1;
	long seen = 0;
	struct pollfd pfd;
	ssize_t n;
	size_t i;
	int fd, err, wait;

	fd = open_device(cfg, O_RDONLY);
	if (fd < 0)
		return fail("open", cfg->device, errno);
	if (cfg->timeout_s >= 0)
		deadline = now_ms() + cfg->timeout_s * 1000LL;
	while (!cfg->count || seen < cfg->count) {
		wait = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				break;
			wait = (int)left;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		n = poll(&pfd, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			return fail("wait for events on", cfg->device, err);
		}
		if (n == 0)
			continue;
		if (!(pfd.revents & POLLIN) && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
			close(fd);
			return fail("read events from", cfg->device, ENODEV);
		}
		n = read(fd, evs, sizeof(evs));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			return fail("read events from", cfg->device, err);
		}
		if (n == 0 || n % (ssize_t)sizeof(evs[0])) {
			close(fd);
			return ctl_fail(n ? EXIT_FAIL : EXIT_NODEV, "read events from",
					cfg->device, "%s", n ? "partial record" : "end of file");
		}
		for (i = 0; i < (size_t)n / sizeof(evs[0]); i++) {
			if (cfg->count && seen >= cfg->count)
				break;
			if (last && evs[i].seq > last + 1)
				print_gap(cfg, last + 1, evs[i].seq - 1);
			last = evs[i].seq;
			print_event(cfg, &evs[i]);
			seen++;
		}
	}
	close(fd);
	return 0;
}

int cmd_lock(struct ctl_config *cfg)
{
	int fd, err;

	fd = open_device(cfg, O_RDWR);
	if (fd < 0)
		return fail("open", cfg->device, errno);
	if (ioctl(fd, SAFELOCK_IOC_LOCK_NOW) < 0) {
		err = errno;
		close(fd);
		return fail("lock", cfg->device, err);
	}
	close(fd);
	if (cfg->json)
		printf("{\"locked\":true}\n");
	return 0;
}
