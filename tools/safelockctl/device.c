// SPDX-License-Identifier: GPL-2.0
/* Commands on the character device: status, monitor, lock. */
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

static int errno_exit(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return EXIT_NODEV;
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	default:
		return EXIT_FAIL;
	}
}

static int fail(const char *verb, const char *object, int err)
{
	fprintf(stderr, "safelockctl: unable to %s %s: %s%s\n", verb, object,
		strerror(err),
		err == ENOENT ? " (is the safelock module loaded?)" : "");
	return errno_exit(err);
}

static int open_device(const struct ctl_config *cfg, int flags)
{
	int fd = open(cfg->device, flags | O_CLOEXEC);

	if (fd < 0 && (flags & O_ACCMODE) == O_RDWR &&
	    (errno == EACCES || errno == EROFS))
		fd = open(cfg->device, O_RDONLY | O_CLOEXEC);
	return fd;
}

/*
 * One output path for both modes: each field is a "label: value" line, or
 * a "key":value member of one JSON object.
 */
struct out {
	bool json;
	int n;
};

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void out_key(struct out *o, const char *key, const char *label)
{
	if (o->json) {
		printf("%s\"%s\":", o->n++ ? "," : "{", key);
	} else {
		printf("%-16s", label);
	}
}

static void out_str(struct out *o, const char *key, const char *label,
		    const char *value)
{
	out_key(o, key, label);
	if (o->json)
		json_string(value);
	else
		printf("%s\n", value);
}

static void out_num(struct out *o, const char *key, const char *label,
		    unsigned long long value, const char *unit)
{
	out_key(o, key, label);
	if (o->json)
		printf("%llu", value);
	else
		printf("%llu%s\n", value, unit);
}

static void out_bool(struct out *o, const char *key, const char *label,
		     bool value, const char *yes, const char *no)
{
	out_key(o, key, label);
	if (o->json)
		printf("%s", value ? "true" : "false");
	else
		printf("%s\n", value ? yes : no);
}

static void out_end(struct out *o)
{
	if (o->json)
		printf("%s}\n", o->n ? "" : "{");
	fflush(stdout);
}

int cmd_status(const struct ctl_config *cfg)
{
	struct safelock_info info;
	struct safelock_status st;
	struct out o = { .json = cfg->json };
	char name[SAFELOCK_NAME_SIZE + 1], lines[64];
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
		fprintf(stderr, "safelockctl: warning: driver ABI %u, this tool knows %d\n",
			info.abi_version, SAFELOCK_ABI_VERSION);
	snprintf(name, sizeof(name), "%.*s", SAFELOCK_NAME_SIZE, info.name);
	snprintf(lines, sizeof(lines), "%s%s%s%s%s",
		 info.lines & SAFELOCK_LINE_BOLT ? "bolt " : "",
		 info.lines & SAFELOCK_LINE_BOLT_MOTOR ? "motor " : "",
		 info.lines & SAFELOCK_LINE_BOLT_SENSOR ? "bolt-sensor " : "",
		 info.lines & SAFELOCK_LINE_DOOR ? "door " : "",
		 info.lines & SAFELOCK_LINE_KEYPAD ? "keypad " : "");
	if (lines[0])
		lines[strlen(lines) - 1] = '\0';

	out_str(&o, "device", "device:", cfg->device);
	out_str(&o, "name", "name:", name);
	out_num(&o, "index", "index:", info.index, "");
	out_num(&o, "abi_version", "abi version:", info.abi_version, "");
	out_str(&o, "state", "state:", safelock_state_name(st.state));
	if (st.state == SAFELOCK_STATE_PENALTY)
		out_num(&o, "penalty_ms", "penalty left:", st.penalty_ms, " ms");
	out_bool(&o, "bolt_open", "bolt:", st.flags & SAFELOCK_STATUS_BOLT_OPEN,
		 "retracted", "thrown");
	if (info.lines & SAFELOCK_LINE_BOLT_SENSOR)
		out_bool(&o, "bolt_sensor_open", "bolt sensor:",
			 st.flags & SAFELOCK_STATUS_BOLT_SENSOR_OPEN, "retracted", "thrown");
	out_bool(&o, "door_open", "door:", st.flags & SAFELOCK_STATUS_DOOR_OPEN,
		 "open", "closed");
	out_bool(&o, "keypad", "keypad:", st.flags & SAFELOCK_STATUS_KEYPAD,
		 "present", "absent");
	out_bool(&o, "verifier", "verifier:", st.flags & SAFELOCK_STATUS_VERIFIER,
		 "registered", "absent");
	out_str(&o, "lines", "lines:", lines[0] ? lines : "none");
	out_num(&o, "relock_ms", "relock:", info.relock_ms, " ms");
	out_num(&o, "verify_timeout_ms", "verify timeout:", info.verify_timeout_ms, " ms");
	out_num(&o, "entry_timeout_ms", "entry timeout:", info.entry_timeout_ms, " ms");
	out_num(&o, "last_seq", "last event:", st.last_seq, "");
	out_end(&o);
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

int cmd_monitor(const struct ctl_config *cfg)
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
			fprintf(stderr, "safelockctl: unable to read events from %s: %s\n",
				cfg->device, n ? "partial record" : "end of file");
			return n ? EXIT_FAIL : EXIT_NODEV;
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

int cmd_lock(const struct ctl_config *cfg)
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
