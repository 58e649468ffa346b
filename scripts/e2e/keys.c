// SPDX-License-Identifier: GPL-2.0
/*
 * keys: the end-to-end tests' keypad.  Creates a uinput keypad named
 * argv[1] and obeys the lines read from stdin (a FIFO the tests write to):
 *
 *   KEYS          type KEYS: digits, 'E' ENTER, 'C' CLEAR (ESC); anything
 *                 else is skipped; a pause between keys (default 60 ms)
 *   pause MS      the pause between keys from now on (0: none)
 *   flood N SEED  type N keys at once, no pause: random entries of 1 or 2
 *                 digits each ended by ENTER (short of a user id, so the
 *                 verifier is never asked and nothing is counted: a flood
 *                 of events, not of tries; an entry that reaches its user
 *                 id is a try, throttled like a wrong code); SEED makes it
 *                 repeatable
 *   repeat N KEYS type KEYS N times, with the pause between keys (the
 *                 bench's floods of abandoned entries: "repeat 10000 12C")
 *   done PATH     create PATH once every key before this line is typed
 *
 * Exits at end of input, destroying the device.  Like the demo's keypad
 * (scripts/demo/keypad.c), with what the tests need on top: no pause, a
 * flood, and a way to know when the keys are in.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int emit(int fd, int type, int code, int value)
{
	struct input_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.code = code;
	ev.value = value;
	return write(fd, &ev, sizeof(ev)) == sizeof(ev) ? 0 : -1;
}

static int keycode(char c)
{
	static const int digits[10] = {
		KEY_0, KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9,
	};

	if (c >= '0' && c <= '9')
		return digits[c - '0'];
	if (c == 'E')
		return KEY_ENTER;
	if (c == 'C')
		return KEY_ESC;
	return -1;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static int press(int fd, int code)
{
	if (emit(fd, EV_KEY, code, 1) || emit(fd, EV_SYN, SYN_REPORT, 0) ||
	    emit(fd, EV_KEY, code, 0) || emit(fd, EV_SYN, SYN_REPORT, 0)) {
		fprintf(stderr, "keys: unable to type: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* N keys: entries of 1 to 8 random digits, each ended by ENTER. */
static int flood(int fd, long n, unsigned int seed)
{
	long typed = 0;

	srand(seed);
	while (typed < n) {
		int len = 1 + rand() % 2, i;

		for (i = 0; i < len && typed < n - 1; i++, typed++)
			if (press(fd, keycode((char)('0' + rand() % 10))))
				return -1;
		if (press(fd, KEY_ENTER))
			return -1;
		typed++;
	}
	return 0;
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "keys: unable to create %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Type the keys of @keys, @pause ms after each. */
static int type(int fd, const char *keys, long pause)
{
	int i;

	for (i = 0; keys[i]; i++) {
		int code = keycode(keys[i]);

		if (code < 0)
			continue;
		if (press(fd, code))
			return -1;
		pause_ms(pause);
	}
	return 0;
}

static int obey(int fd, char *line, long *pause)
{
	char path[200];
	unsigned int seed;
	long n;
	int i;

	if (sscanf(line, "pause %ld", &n) == 1) {
		*pause = n;
		return 0;
	}
	if (sscanf(line, "flood %ld %u", &n, &seed) == 2)
		return flood(fd, n, seed);
	if (sscanf(line, "done %199s", path) == 1)
		return touch(path);
	if (sscanf(line, "repeat %ld %n", &n, &i) == 1 && i > 0) {
		while (n-- > 0)
			if (type(fd, line + i, *pause))
				return -1;
		return 0;
	}
	return type(fd, line, *pause);
}

int main(int argc, char **argv)
{
	struct uinput_setup us;
	char line[256];
	long pause = 60;
	int fd, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME < commands\n", argv[0]);
		return 2;
	}
	fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "keys: unable to open /dev/uinput: %s\n", strerror(errno));
		return 1;
	}
	ioctl(fd, UI_SET_EVBIT, EV_KEY);
	for (i = 0; i < 10; i++)
		ioctl(fd, UI_SET_KEYBIT, keycode((char)('0' + i)));
	ioctl(fd, UI_SET_KEYBIT, KEY_ENTER);
	ioctl(fd, UI_SET_KEYBIT, KEY_ESC);
	memset(&us, 0, sizeof(us));
	us.id.bustype = BUS_VIRTUAL;
	snprintf(us.name, sizeof(us.name), "%s", argv[1]);
	if (ioctl(fd, UI_DEV_SETUP, &us) || ioctl(fd, UI_DEV_CREATE)) {
		fprintf(stderr, "keys: unable to create %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		if (obey(fd, line, &pause))
			return 1;
		memset(line, 0, sizeof(line));
	}
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return 0;
}
