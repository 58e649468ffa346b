// SPDX-License-Identifier: GPL-2.0
/* Code handling: validation, constant-time comparison, wiping. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libsafelock.h"

bool safelock_code_valid(const char *code, size_t len)
{
	size_t i;

	if (!code || len < SAFELOCK_CODE_MIN_DIGITS ||
	    len > SAFELOCK_CODE_MAX_DIGITS)
		return false;
	for (i = 0; i < len; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

bool safelock_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a;
	const volatile unsigned char *y = b;
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

void safelock_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

int safelock_read_code(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	ssize_t r;
	char c;

	/* One byte at a time: stop at EOF or at the first newline. */
	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			safelock_wipe(&c, sizeof(c));
			safelock_wipe(buf, SAFELOCK_CODE_BUF);
			return (int)r;
		}
		if (r == 0 || c == '\n')
			break;
		if (n >= SAFELOCK_CODE_MAX_DIGITS) {
			n = 0;		/* too long */
			break;
		}
		buf[n++] = c;
	}
	safelock_wipe(&c, sizeof(c));
	if (!safelock_code_valid(buf, n)) {
		safelock_wipe(buf, SAFELOCK_CODE_BUF);
		return -EINVAL;
	}
	buf[n] = '\0';
	*len = n;
	return 0;
}
