// SPDX-License-Identifier: GPL-2.0
/*
 * One output path for both forms: each field is a "label  value" line for
 * people, or a "key":value member of a JSON object. Commands call the same
 * functions either way, so the two forms never drift apart. Colour only on
 * a terminal, and never with NO_COLOR set (https://no-color.org).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libsafelock.h"
#include "safelockctl.h"

#define LABEL_WIDTH 18

void out_init(struct out *o, const struct ctl_config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->f = stdout;
	o->json = cfg->json;
	o->color = cfg->use_color && !cfg->json;
}

size_t text_escape(const char *s, char *out, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0;

	if (!len)
		return 0;
	while (i < n) {
		char esc[12];
		const char *add = esc;
		uint32_t cp = 0;
		size_t alen, l = safelock_utf8_len(u + i, n - i, &cp);

		if (!l) {
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			l = 1;
		} else if (cp == '\\') {
			snprintf(esc, sizeof(esc), "\\\\");
		} else if (cp == '\n' || cp == '\t' || cp == '\r') {
			snprintf(esc, sizeof(esc), "\\%c", cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
		} else if (safelock_unsafe_char(cp)) {
			snprintf(esc, sizeof(esc), cp < 0x80 ? "\\x%02x" : "\\u%04x",
				 (unsigned int)cp);
		} else {
			add = s + i;
		}
		alen = add == esc ? strlen(esc) : l;
		if (o + alen >= len)
			break;		/* cut at a whole character */
		memcpy(out + o, add, alen);
		o += alen;
		i += l;
	}
	out[o] = '\0';
	return o;
}

void out_text(FILE *f, const char *s)
{
	size_t cap = strlen(s) * 6 + 1;
	char small[512], *buf = cap <= sizeof(small) ? small : malloc(cap);

	if (!buf) {		/* out of memory: the visible part only */
		buf = small;
		cap = sizeof(small);
	}
	text_escape(s, buf, cap);
	fputs(buf, f);
	if (buf != small)
		free(buf);
}

void json_string(FILE *f, const char *s)
{
	size_t cap = strlen(s) * 6 + 1;
	char small[512], *buf = cap <= sizeof(small) ? small : malloc(cap);

	/* out of memory: an empty string, still JSON */
	if (!buf || safelock_json_escape(s, buf, cap) < 0)
		fputs("\"\"", f);
	else
		fprintf(f, "\"%s\"", buf);
	if (buf != small)
		free(buf);
}

const char *tone_on(const struct out *o, int tone)
{
	if (!o->color)
		return "";
	switch (tone) {
	case TONE_GOOD:	return "\033[32m";
	case TONE_WARN:	return "\033[33m";
	case TONE_BAD:	return "\033[1;31m";
	default:	return "";
	}
}

const char *tone_off(const struct out *o, int tone)
{
	return o->color && tone != TONE_NONE ? "\033[0m" : "";
}

void out_begin(struct out *o)
{
	o->depth = 0;
	o->first[0] = true;
	if (o->json)
		fputc('{', o->f);
}

void out_end(struct out *o)
{
	if (o->json)
		fputs("}\n", o->f);
	fflush(o->f);
}

static void json_key(struct out *o, const char *key)
{
	if (!o->first[o->depth])
		fputc(',', o->f);
	o->first[o->depth] = false;
	if (key)
		fprintf(o->f, "\"%s\":", key);
}

static void out_key(struct out *o, const char *key, const char *label)
{
	if (o->json)
		json_key(o, key);
	else
		fprintf(o->f, "%*s%-*s", o->indent, "", LABEL_WIDTH - o->indent, label);
}

void out_str(struct out *o, const char *key, const char *label, const char *value)
{
	out_tone(o, key, label, value, TONE_NONE);
}

void out_tone(struct out *o, const char *key, const char *label,
	      const char *value, int tone)
{
	out_key(o, key, label);
	if (o->json) {
		json_string(o->f, value);
		return;
	}
	fputs(tone_on(o, tone), o->f);
	out_text(o->f, value);
	fprintf(o->f, "%s\n", tone_off(o, tone));
}

void out_num(struct out *o, const char *key, const char *label,
	     unsigned long long value, const char *unit)
{
	out_key(o, key, label);
	if (o->json)
		fprintf(o->f, "%llu", value);
	else
		fprintf(o->f, "%llu%s\n", value, unit);
}

void out_snum(struct out *o, const char *key, const char *label, long long value,
	      const char *unit)
{
	out_key(o, key, label);
	if (o->json)
		fprintf(o->f, "%lld", value);
	else
		fprintf(o->f, "%lld%s\n", value, unit);
}

void out_ms(struct out *o, const char *key, const char *label,
	    unsigned long long ms)
{
	char text[64];

	out_key(o, key, label);
	if (o->json) {
		fprintf(o->f, "%llu", ms);
		return;
	}
	format_duration_ms(ms, text, sizeof(text));
	fprintf(o->f, "%s\n", text);
}

void out_ms_exact(struct out *o, const char *key, const char *label,
		  unsigned long long ms)
{
	if (ms % 1000 && !o->json)
		out_num(o, key, label, ms, " ms");
	else
		out_ms(o, key, label, ms);
}

void out_bool(struct out *o, const char *key, const char *label, bool value,
	      const char *yes, const char *no)
{
	out_key(o, key, label);
	if (o->json)
		fputs(value ? "true" : "false", o->f);
	else
		fprintf(o->f, "%s\n", value ? yes : no);
}

void out_null(struct out *o, const char *key, const char *label, const char *text)
{
	out_key(o, key, label);
	if (o->json)
		fputs("null", o->f);
	else
		fprintf(o->f, "%s\n", text);
}

void out_obj_begin(struct out *o, const char *key, const char *label)
{
	if (o->json) {
		json_key(o, key);
		fputc('{', o->f);
		o->first[++o->depth] = true;
		return;
	}
	if (label)
		fprintf(o->f, "%*s%s\n", o->indent, "", label);
	o->indent += 2;
}

void out_obj_end(struct out *o)
{
	if (o->json) {
		fputc('}', o->f);
		o->depth--;
		return;
	}
	o->indent -= 2;
}

void out_list_begin(struct out *o, const char *key, const char *label)
{
	if (o->json) {
		json_key(o, key);
		fputc('[', o->f);
		o->first[++o->depth] = true;
		return;
	}
	fprintf(o->f, "%*s%-*s", o->indent, "", LABEL_WIDTH - o->indent, label);
	o->list_first = true;
}

void out_list_item(struct out *o, const char *value)
{
	if (o->json) {
		json_key(o, NULL);
		json_string(o->f, value);
		return;
	}
	fputs(o->list_first ? "" : ", ", o->f);
	out_text(o->f, value);
	o->list_first = false;
}

void out_list_end(struct out *o, const char *empty)
{
	if (o->json) {
		fputc(']', o->f);
		o->depth--;
		return;
	}
	fprintf(o->f, "%s\n", o->list_first ? empty : "");
}

void out_table_begin(struct out *o, const char *key, const char *header)
{
	if (o->json) {
		json_key(o, key);
		fputc('[', o->f);
		o->first[++o->depth] = true;
		return;
	}
	if (header)
		fprintf(o->f, "%s%s%s\n", o->color ? "\033[1m" : "", header,
			o->color ? "\033[0m" : "");
}

void out_table_end(struct out *o)
{
	if (o->json) {
		fputc(']', o->f);
		o->depth--;
	}
}

void out_row_begin(struct out *o)
{
	if (o->json) {
		json_key(o, NULL);
		fputc('{', o->f);
		o->first[++o->depth] = true;
		return;
	}
	o->rowlen = 0;
	o->row[0] = '\0';
}

void out_row_end(struct out *o)
{
	if (o->json) {
		fputc('}', o->f);
		o->depth--;
		return;
	}
	while (o->rowlen && o->row[o->rowlen - 1] == ' ')
		o->row[--o->rowlen] = '\0';
	fprintf(o->f, "%s\n", o->row);
}

void out_cell(struct out *o, const char *key, int width, const char *value)
{
	out_cell_tone(o, key, width, value, TONE_NONE);
}

void out_cell_tone(struct out *o, const char *key, int width, const char *value,
		   int tone)
{
	char text[sizeof(o->row)];
	int n;

	if (o->json) {
		json_key(o, key);
		json_string(o->f, value);
		return;
	}
	if (o->rowlen >= sizeof(o->row) - 1)
		return;
	text_escape(value, text, sizeof(text));
	n = snprintf(o->row + o->rowlen, sizeof(o->row) - o->rowlen, "%s%-*s%s ",
		     tone_on(o, tone), width, text, tone_off(o, tone));
	if (n > 0)
		o->rowlen += (size_t)n < sizeof(o->row) - o->rowlen ?
			     (size_t)n : sizeof(o->row) - o->rowlen - 1;
}

void out_cell_num(struct out *o, const char *key, int width, unsigned long long v)
{
	char text[32];

	if (o->json) {
		json_key(o, key);
		fprintf(o->f, "%llu", v);
		return;
	}
	snprintf(text, sizeof(text), "%llu", v);
	out_cell(o, key, width, text);
}

void out_cell_bool(struct out *o, const char *key, int width, bool v,
		   const char *yes, const char *no)
{
	if (o->json) {
		json_key(o, key);
		fputs(v ? "true" : "false", o->f);
		return;
	}
	out_cell(o, key, width, v ? yes : no);
}
