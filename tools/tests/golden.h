/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Golden files for the tools' output (tests/golden/NAME), and a strict
 * JSON checker for the JSON forms.
 *
 * SAFELOCK_UPDATE_GOLDEN=1 make -C tools test rewrites the golden files
 * from the current output: review the diff before committing it.
 */
#ifndef SAFELOCK_GOLDEN_H
#define SAFELOCK_GOLDEN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static char golden_dir[4096];

static inline void golden_init(const char *tools_dir)
{
	snprintf(golden_dir, sizeof(golden_dir), "%s/tests/golden", tools_dir);
}

/* True if @text is the content of golden file @name. */
static inline bool golden_check(const char *name, const char *text)
{
	char path[4200], *want = NULL;
	size_t n = 0, cap = 0, line = 1, i;
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
	if (getenv("SAFELOCK_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		if (!f || fputs(text, f) < 0 || fclose(f)) {
			tap_diag("cannot write %s", path);
			return false;
		}
		tap_diag("updated %s", path);
		return true;
	}
	f = fopen(path, "r");
	if (!f) {
		tap_diag("no golden file %s (SAFELOCK_UPDATE_GOLDEN=1 writes it)", path);
		return false;
	}
	while ((c = fgetc(f)) != EOF) {
		if (n + 2 > cap) {
			char *bigger;

			cap = cap ? cap * 2 : 4096;
			bigger = realloc(want, cap);
			if (!bigger) {
				free(want);
				fclose(f);
				return false;
			}
			want = bigger;
		}
		want[n++] = (char)c;
	}
	fclose(f);
	if (!want)
		want = calloc(1, 1);
	want[n] = '\0';
	if (!strcmp(want, text)) {
		free(want);
		return true;
	}
	for (i = 0; want[i] && want[i] == text[i]; i++)
		if (want[i] == '\n')
			line++;
	while (i && want[i - 1] != '\n')
		i--;		/* the start of the differing line */
	tap_diag("%s differs from line %zu:", path, line);
	tap_diag("want: %.*s", (int)strcspn(want + i, "\n"), want + i);
	tap_diag("got:  %.*s", (int)strcspn(text + i, "\n"), text + i);
	tap_diag("whole output:\n%s", text);
	free(want);
	return false;
}

/* A strict RFC 8259 checker: one value, or one value per line (@lines). */
static inline const char *json_ws(const char *p, bool nl)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || (nl && *p == '\n'))
		p++;
	return p;
}

static inline const char *json_value(const char *p, int depth);

static inline const char *json_str(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20)
			return NULL;
		if (c >= 0x80) {	/* UTF-8, as RFC 8259 requires */
			int k = c >= 0xf5 ? -1 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;

			if (k < 0)
				return NULL;
			while (k--)
				if (((unsigned char)*++p & 0xc0) != 0x80)
					return NULL;
		}
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static inline const char *json_num(const char *p)
{
	const char *s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		s = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		s = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == s)
			return NULL;
	}
	return p;
}

static inline const char *json_value(const char *p, int depth)
{
	char close;

	if (depth > 32)
		return NULL;
	p = json_ws(p, true);
	if (*p == '{' || *p == '[') {
		close = *p == '{' ? '}' : ']';
		p = json_ws(p + 1, true);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = json_str(json_ws(p, true));
				if (!p)
					return NULL;
				p = json_ws(p, true);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p, true);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_str(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return json_num(p);
}

/* Every line of @text is one JSON value (JSON lines); at least one. */
static inline bool json_lines_valid(const char *text)
{
	const char *p = text;
	int n = 0;

	while (*p) {
		p = json_value(p, 0);
		if (!p) {
			tap_diag("not JSON: %s", text);
			return false;
		}
		p = json_ws(p, false);
		if (*p && *p != '\n') {
			tap_diag("more than one value on a line: %s", text);
			return false;
		}
		if (*p)
			p++;
		n++;
	}
	return n > 0;
}

#endif /* SAFELOCK_GOLDEN_H */
