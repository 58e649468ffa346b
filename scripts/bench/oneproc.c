// SPDX-License-Identifier: GPL-2.0
/*
 * oneproc: the single-process baseline of `make bench` (scripts/bench.sh).
 * What the lock would cost with no driver, no netlink and no daemon: one
 * process reads the keypad's evdev device itself, collects the user id and
 * the code, calls the very vault safelockd links (vault_tpm_ops, the same
 * object files) at ENTER and drives a bolt line itself through the GPIO
 * character device (uAPI v2). So the ratio of safelock's own ENTER-to-
 * verdict time to this one is the price of the split design.
 *
 *   oneproc --keypad NAME --chip LABEL --line N --tcti TCTI --state-dir DIR
 *           --count N [--prepare]
 *
 * NAME: the input device's name (a uinput keypad the driver does not
 * grab); LABEL: the gpiochip's label (a gpio-sim bank the driver does not
 * use). Without --prepare, verify() alone at ENTER, like `safelockd
 * --no-prepare`: the baseline the bench divides by. With --prepare, also
 * prepare() at an entry's first key, like safelockd on ENTRY_BEGIN.
 * safelockd must not run meanwhile (the vault is single-user). No policy
 * (time delay, dual control, time lock): the bench's lock has none.
 *
 * One line per ENTER on stdout:
 *   oneproc: entry I user UUU RESULT verdict MS ms line MS ms TPM commands: B before the verdict, A after
 * times from the ENTER key's evdev timestamp (CLOCK_MONOTONIC, set with
 * EVIOCSCLOCKID) to verify()'s return and to the line set for a grant ("-"
 * for a denial). Exits after --count entries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/gpio.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libsafelock.h"
#include "../../tools/safelockd/vault.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The /dev/input/eventN whose device is named @name, opened; -1 if none. */
static int open_keypad(const char *name)
{
	char path[300], buf[256];
	struct dirent *de;
	DIR *d = opendir("/sys/class/input");
	int fd = -1;

	if (!d)
		return -1;
	while (fd < 0 && (de = readdir(d))) {
		FILE *f;

		if (strncmp(de->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "/sys/class/input/%s/device/name", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			if (!strcmp(buf, name)) {
				snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
				fd = open(path, O_RDONLY | O_CLOEXEC);
			}
		}
		fclose(f);
	}
	closedir(d);
	return fd;
}

/* Line @line of the gpiochip labelled @label, requested as an output at 0. */
static int open_line(const char *label, unsigned int line)
{
	struct gpio_v2_line_request req;
	struct gpiochip_info info;
	char path[64];
	int i, fd, ret = -1;

	for (i = 0; i < 64 && ret < 0; i++) {
		snprintf(path, sizeof(path), "/dev/gpiochip%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &info) && !strcmp(info.label, label)) {
			memset(&req, 0, sizeof(req));
			req.offsets[0] = line;
			req.num_lines = 1;
			req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
			snprintf(req.consumer, sizeof(req.consumer), "oneproc");
			if (!ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req))
				ret = req.fd;
			else
				fprintf(stderr, "oneproc: unable to request line %u of %s: %s\n",
					line, label, strerror(errno));
		}
		close(fd);
	}
	return ret;
}

static int set_line(int fd, int value)
{
	struct gpio_v2_line_values vals = { .bits = value ? 1 : 0, .mask = 1 };

	return ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &vals);
}

/* '0'..'9', 'E' (ENTER), 'C' (CLEAR) or 0, as the driver maps keys. */
static char key_of(unsigned int code)
{
	if (code >= KEY_1 && code <= KEY_9)
		return (char)('1' + (code - KEY_1));
	if (code == KEY_0)
		return '0';
	if (code == KEY_ENTER || code == KEY_KPENTER)
		return 'E';
	if (code == KEY_ESC || code == KEY_CLEAR || code == KEY_BACKSPACE)
		return 'C';
	return 0;
}

/*
 * The one call whose signature may follow the vault's preparation
 * (vault.h): kept here alone.
 */
static void prepare_entry(struct vault *v, uint64_t req)
{
	if (v->ops->prepare && v->ops->prepare(v, req))
		fprintf(stderr, "oneproc: unable to prepare: %s\n", v->errmsg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keypad", required_argument, NULL, 'k' },
		{ "chip", required_argument, NULL, 'g' },
		{ "line", required_argument, NULL, 'l' },
		{ "tcti", required_argument, NULL, 't' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "prepare", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keypad = NULL, *chip = NULL;
	struct vault_config cfg = { 0 };
	struct vault v = { .ops = &vault_tpm_ops };
	char buf[SAFELOCK_USER_ID_DIGITS + SAFELOCK_CODE_BUF] = { 0 };
	unsigned int line = 0, count = 0, done = 0;
	uint64_t req = 1ull << 40;	/* apart from the kernel's ids */
	bool prepare = false;
	size_t len = 0;
	int c, kfd, lfd, clk = CLOCK_MONOTONIC;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keypad = optarg; break;
		case 'g': chip = optarg; break;
		case 'l': line = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 't': cfg.tcti = optarg; break;
		case 's': cfg.state_dir = optarg; break;
		case 'n': count = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p': prepare = true; break;
		default: return 2;
		}
	}
	if (!keypad || !chip || !cfg.state_dir || !count) {
		fprintf(stderr, "usage: oneproc --keypad NAME --chip LABEL --line N --tcti TCTI --state-dir DIR --count N [--prepare]\n");
		return 2;
	}
	kfd = open_keypad(keypad);
	if (kfd < 0 || ioctl(kfd, EVIOCSCLOCKID, &clk)) {
		fprintf(stderr, "oneproc: no keypad named %s (or no monotonic clock on it)\n", keypad);
		return 1;
	}
	lfd = open_line(chip, line);
	if (lfd < 0) {
		fprintf(stderr, "oneproc: no line %u on a gpiochip labelled %s\n", line, chip);
		return 1;
	}
	if (v.ops->open(&v, &cfg)) {
		fprintf(stderr, "oneproc: vault: %s\n", v.errmsg);
		return 1;
	}
	if (v.ops->provisioned(&v) != SAFELOCK_VAULT_OWNED) {
		fprintf(stderr, "oneproc: the vault has no owner: %s\n", v.errmsg);
		return 1;
	}
	printf("oneproc: ready\n");
	fflush(stdout);
	while (done < count) {
		struct input_event ev;
		struct vault_result res;
		unsigned int retry = 0, user = 0;
		unsigned long c0, c1;
		double t_enter, t_verdict, t_line = -1;
		char k;
		int ret;

		if (read(kfd, &ev, sizeof(ev)) != sizeof(ev)) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "oneproc: keypad: %s\n", strerror(errno));
			break;
		}
		if (ev.type != EV_KEY || ev.value != 1 || !(k = key_of(ev.code)))
			continue;
		if (k == 'C') {
			len = 0;
			continue;
		}
		if (k != 'E') {
			if (len == 0) {
				req++;
				if (prepare)
					prepare_entry(&v, req);
			}
			if (len < sizeof(buf) - 1)
				buf[len++] = k;
			continue;
		}
		t_enter = ev.input_event_sec * 1e3 + ev.input_event_usec / 1e3;
		if (len < SAFELOCK_USER_ID_DIGITS + SAFELOCK_CODE_MIN_DIGITS) {
			len = 0;
			continue;
		}
		for (c = 0; c < SAFELOCK_USER_ID_DIGITS; c++)
			user = user * 10 + (unsigned int)(buf[c] - '0');
		c0 = v.commands;
		ret = v.ops->verify(&v, req, user, buf + SAFELOCK_USER_ID_DIGITS,
				    len - SAFELOCK_USER_ID_DIGITS, &retry, &res);
		t_verdict = now_ms();
		safelock_wipe(buf, sizeof(buf));
		len = 0;
		c1 = v.commands;
		if (ret == VAULT_GRANTED) {
			if (set_line(lfd, 1))
				fprintf(stderr, "oneproc: unable to set the line: %s\n", strerror(errno));
			t_line = now_ms();
			if (v.ops->opened)
				v.ops->opened(&v);
		}
		if (v.ops->finish && v.ops->finish(&v))
			fprintf(stderr, "oneproc: after the verdict: %s\n", v.errmsg);
		if (ret == VAULT_GRANTED)
			set_line(lfd, 0);
		done++;
		printf("oneproc: entry %u user %03u %s verdict %.1f ms line ",
		       done, user, ret == VAULT_GRANTED ? "granted" : "denied",
		       t_verdict - t_enter);
		if (t_line >= 0)
			printf("%.1f ms", t_line - t_enter);
		else
			printf("- ms");
		printf(" TPM commands: %lu before the verdict, %lu after\n",
		       c1 - c0, v.commands - c1);
		fflush(stdout);
	}
	v.ops->close(&v);
	close(lfd);
	close(kfd);
	return done == count ? 0 : 1;
}
