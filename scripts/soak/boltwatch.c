// SPDX-License-Identifier: GPL-2.0
/*
 * boltwatch: the fault soak's witness of the bolt line.  Reads a gpio-sim
 * line's sysfs "value" file every PERIOD ms and prints one line per change,
 * "MS VALUE", MS the CLOCK_BOOTTIME time in milliseconds (the clock of
 * /proc/uptime, which `date -s` never moves), starting with the value it
 * finds.  Line-buffered, so the soak reads a complete log at any time.
 *
 *   boltwatch VALUE-FILE [PERIOD-MS]
 *
 * The soak judges the line, never the driver's word for it: a rise the
 * owner did not authorise is an unauthorised bolt movement whatever the
 * events say.  A file that cannot be read (the bank going away) is retried;
 * exits on SIGTERM.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_value(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, &c, 1);
	close(fd);
	if (n != 1 || (c != '0' && c != '1'))
		return -1;
	return c - '0';
}

int main(int argc, char **argv)
{
	long period = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
	struct timespec ts;
	int last = -2, v;

	if (argc < 2 || argc > 3 || period <= 0 || period > 1000) {
		fprintf(stderr, "usage: boltwatch VALUE-FILE [PERIOD-MS]\n");
		return 2;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = period * 1000000L;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		v = read_value(argv[1]);
		if (v >= 0 && v != last) {
			printf("%lld %d\n", boot_ms(), v);
			last = v;
		}
		nanosleep(&ts, NULL);
	}
}
