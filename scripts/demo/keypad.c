// SPDX-License-Identifier: GPL-2.0
/*
 * keypad: a uinput keypad for the demo.  Creates an input device named
 * argv[1], then types each line read from stdin: digits, 'E' for ENTER,
 * 'C' for CLEAR; a pause between keys like a person typing.  Exits at EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/uinput.h>
#include <stdio.h>
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

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct uinput_setup us;
	char line[256];
	int fd, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME < keys\n", argv[0]);
		return 2;
	}
	fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "keypad: unable to open /dev/uinput: %s\n", strerror(errno));
		return 1;
	}
	ioctl(fd, UI_SET_EVBIT, EV_KEY);
	for (i = 0; i < 10; i++)
		ioctl(fd, UI_SET_KEYBIT, keycode('0' + i));
	ioctl(fd, UI_SET_KEYBIT, KEY_ENTER);
	ioctl(fd, UI_SET_KEYBIT, KEY_ESC);
	memset(&us, 0, sizeof(us));
	us.id.bustype = BUS_VIRTUAL;
	snprintf(us.name, sizeof(us.name), "%s", argv[1]);
	if (ioctl(fd, UI_DEV_SETUP, &us) || ioctl(fd, UI_DEV_CREATE)) {
		fprintf(stderr, "keypad: unable to create %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		for (i = 0; line[i]; i++) {
			int code = keycode(line[i]);

			if (code < 0)
				continue;
			if (emit(fd, EV_KEY, code, 1) || emit(fd, EV_SYN, SYN_REPORT, 0) ||
			    emit(fd, EV_KEY, code, 0) || emit(fd, EV_SYN, SYN_REPORT, 0)) {
				fprintf(stderr, "keypad: unable to type: %s\n", strerror(errno));
				return 1;
			}
			pause_ms(60);
		}
		memset(line, 0, sizeof(line));
	}
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return 0;
}
