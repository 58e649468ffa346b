// SPDX-License-Identifier: GPL-2.0
/*
 * Text from outside (the lock, the audit log, safelockd, the command
 * line) on its way out: UTF-8 decoding, and the one JSON string escaper
 * that every JSON field of the tools goes through. Pure functions
 * (tests/test_lib.c).
 */
#include <stdio.h>
#include <string.h>

#include "libsafelock.h"

size_t safelock_utf8_len(const unsigned char *s, size_t n, uint32_t *cp_out)
{
	size_t len, i;
	uint32_t cp;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		cp = s[0];
		len = 1;
		goto out;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
out:
	if (cp_out)
		*cp_out = cp;
	return len;
}

bool safelock_unsafe_char(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int safelock_json_escape(const char *s, char *out, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0;

	while (i < n) {
		char esc[8];
		const char *add = esc;
		uint32_t cp = 0;
		size_t alen, l = safelock_utf8_len(u + i, n - i, &cp);

		if (!l) {
			add = "\\ufffd";
			alen = 6;
			l = 1;
		} else if (cp == '"' || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			alen = 2;
		} else if (cp == '\n' || cp == '\t' || cp == '\r') {
			esc[0] = '\\';
			esc[1] = cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r';
			alen = 2;
		} else if (safelock_unsafe_char(cp)) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned int)cp);
			alen = 6;
		} else {
			add = s + i;
			alen = l;
		}
		if (o + alen >= len)
			return -1;
		memcpy(out + o, add, alen);
		o += alen;
		i += l;
	}
	if (o >= len)
		return -1;
	out[o] = '\0';
	return (int)o;
}
