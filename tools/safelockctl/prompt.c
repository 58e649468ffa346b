// SPDX-License-Identifier: GPL-2.0
/*
 * Secrets come from a file descriptor (--code-fd N and friends, for
 * provisioning scripts) or from the terminal without echo: never from the
 * command line or the environment. Every buffer that held one is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "libsafelock.h"
#include "safelockctl.h"

#define LINE_MAX_LEN 128

/* The terminal whose echo is off, so a signal can turn it back on. */
static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_echo_off;

static void restore_tty(int sig)
{
	if (tty_echo_off) {
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
		tty_echo_off = 0;
		/* nothing more to do about a failed write in a signal handler */
		(void)!write(tty_fd, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_puts(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/*
 * Read one line into @buf (@len bytes), the newline dropped; a line that
 * does not fit is an error. 0 or -errno; @buf wiped on error.
 */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	bool too_long = false;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			safelock_wipe(buf, len);
			return (int)r;
		}
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= len)
			too_long = true;
		else
			buf[n++] = c;
	}
	safelock_wipe(&c, sizeof(c));
	buf[n] = '\0';
	if (too_long) {
		safelock_wipe(buf, len);
		return -EINVAL;
	}
	return r == 0 && n == 0 ? -ENODATA : 0;
}

/* Ask on the controlling terminal; @echo false for secrets. */
static int ask_tty(const char *prompt, bool echo, char *buf, size_t len)
{
	struct sigaction sa, old[4];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios t;
	int fd, ret, i;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENOTTY;
	tty_puts(fd, prompt);
	if (!echo) {
		if (tcgetattr(fd, &tty_saved) < 0) {
			close(fd);
			return -ENOTTY;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = restore_tty;
		sigemptyset(&sa.sa_mask);
		tty_fd = fd;
		for (i = 0; i < 4; i++)
			sigaction(sigs[i], &sa, &old[i]);
		t = tty_saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		tty_echo_off = 1;
		tcsetattr(fd, TCSAFLUSH, &t);
	}
	ret = read_line(fd, buf, len);
	if (!echo) {
		tcsetattr(fd, TCSAFLUSH, &tty_saved);
		tty_echo_off = 0;
		for (i = 0; i < 4; i++)
			sigaction(sigs[i], &old[i], NULL);
		tty_puts(fd, "\n");
		safelock_wipe(&t, sizeof(t));
	}
	close(fd);
	tty_fd = -1;
	return ret;
}

/*
 * The code on @line, checked: 0 with the digits moved to the start of
 * @line, or -EINVAL with what is wrong in @why, after @subject ("the new
 * code: ..."). Blanks (spaces, tabs) around the digits and the CR of a
 * CRLF line end are dropped. Anything else is refused, blanks between
 * digits too: "123456 654321" is two codes on one line, not a code, and a
 * wrong code costs a try against the lockout. A non-digit is named: it
 * cannot be part of any code.
 */
static int check_code(char *line, const char *subject, char *why, size_t whylen)
{
	size_t start = strspn(line, " \t"), n = strlen(line), i;

	while (n > start && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			     line[n - 1] == '\r'))
		n--;
	if (n == start) {
		snprintf(why, whylen, "%s: no code given (%s)", subject,
			 strpbrk(line, " \t") ? "only blanks" : "an empty line");
		return -EINVAL;
	}
	for (i = start; i < n; i++) {
		size_t l;

		if (line[i] >= '0' && line[i] <= '9')
			continue;
		if (line[i] == ' ' || line[i] == '\t') {
			snprintf(why, whylen, "%s: a %s at character %zu: a code is %d to %d digits, without spaces",
				 subject, line[i] == ' ' ? "space" : "tab", i + 1,
				 SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
			return -EINVAL;
		}
		/* as it is: the message is escaped as a whole when printed */
		l = safelock_utf8_len((const unsigned char *)line + i, n - i, NULL);
		snprintf(why, whylen, "%s: '%.*s' at character %zu is not a digit: a code is %d to %d digits",
			 subject, (int)(l ? l : 1), line + i, i + 1,
			 SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
		return -EINVAL;
	}
	if (!safelock_code_valid(line + start, n - start)) {
		snprintf(why, whylen, "%s: %zu digit%s: a code is %d to %d digits",
			 subject, n - start, n - start == 1 ? "" : "s",
			 SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
		return -EINVAL;
	}
	memmove(line, line + start, n - start);
	line[n - start] = '\0';
	return 0;
}

int read_code(int fd, const char *prompt, const char *subject, char *buf,
	      char *why, size_t whylen)
{
	char line[LINE_MAX_LEN];
	int ret;

	why[0] = '\0';
	if (fd >= 0)
		ret = read_line(fd, line, sizeof(line));
	else
		ret = ask_tty(prompt, false, line, sizeof(line));
	if (ret == -ENODATA) {
		snprintf(why, whylen, "%s: no code given (end of input)", subject);
		ret = -EINVAL;
	} else if (ret == -EINVAL) {
		snprintf(why, whylen, "%s: a line longer than %d characters: a code is %d to %d digits",
			 subject, LINE_MAX_LEN - 1, SAFELOCK_CODE_MIN_DIGITS,
			 SAFELOCK_CODE_MAX_DIGITS);
	} else if (!ret) {
		ret = check_code(line, subject, why, whylen);
		if (!ret)
			memcpy(buf, line, strlen(line) + 1);
	}
	safelock_wipe(line, sizeof(line));
	if (ret)
		safelock_wipe(buf, SAFELOCK_CODE_BUF);
	return ret;
}

/* A new code, typed twice on a terminal: -EBADMSG if the two differ. */
int read_new_code(int fd, const char *what, char *buf, char *why, size_t whylen)
{
	char again[SAFELOCK_CODE_BUF], prompt[128];
	int ret;

	snprintf(prompt, sizeof(prompt), "%s (%d to %d digits): ", what,
		 SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
	ret = read_code(fd, prompt, "the new code", buf, why, whylen);
	if (ret || fd >= 0)
		return ret;
	ret = read_code(-1, "Repeat it: ", "the repeated new code", again, why, whylen);
	if (!ret && (strlen(again) != strlen(buf) ||
		     !safelock_ct_equal(again, buf, strlen(buf))))
		ret = -EBADMSG;
	safelock_wipe(again, sizeof(again));
	if (ret)
		safelock_wipe(buf, SAFELOCK_CODE_BUF);
	return ret;
}

/* The form is checked by the caller (recovery.c): every error there says what. */
int read_recovery(int fd, const char *prompt, char *buf, size_t len)
{
	int ret;

	if (fd >= 0)
		ret = read_line(fd, buf, len);
	else
		ret = ask_tty(prompt, false, buf, len);
	if (ret)
		safelock_wipe(buf, len);
	return ret;
}

/* 1 confirmed, 0 not, -ENOTTY: no terminal to ask (use --yes) */
int confirm(const struct ctl_config *cfg, const char *what, const char *word)
{
	char prompt[512], line[64];
	int ret;

	if (cfg->yes)
		return 1;
	snprintf(prompt, sizeof(prompt), "%s\nType '%s' to go on: ", what, word);
	ret = ask_tty(prompt, true, line, sizeof(line));
	if (ret == -ENOTTY)
		return ret;
	return !ret && !strcmp(line, word);
}
