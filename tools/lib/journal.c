// SPDX-License-Identifier: GPL-2.0
/* Audit records to journald's native protocol and the Journal Export Format. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit_names.h"
#include "journal.h"
#include "libsafelock.h"

/*
 * The message catalog: one fixed MESSAGE_ID per event, made once with
 * `systemd-id128 new` and never changed (a SIEM filters on them). Kernel
 * events are keyed by name, not number, so the table does not depend on
 * the order of enum safelock_event_type; a few are listed ahead of the
 * kernel events that will carry them. Documented in
 * Documentation/admin-guide/safelock-audit.rst: keep the two in step.
 */
struct catalog_entry {
	uint32_t source;
	const char *event;
	const char *id;
	int priority;		/* the usual one; see journal_priority() */
};

#define K AUDIT_SRC_KERNEL
#define V AUDIT_SRC_VAULT
#define L AUDIT_SRC_LOG

static const struct catalog_entry catalog[] = {
	{ K, "state",		"a2d1167a08b54e858f9a891a706e352f", 6 },
	{ K, "entry-started",	"1aca7cc1cfa94ebe986b01a615bcf2dd", 7 },
	{ K, "attempt",		"686a2abbc5bc47c482b03a2e69c794e6", 5 },
	{ K, "bolt",		"1bcda7aa64b741c78064e821c0209f8a", 5 },
	{ K, "door",		"d094c2bfd99343458b7f072f2d7cbc10", 5 },
	{ K, "verifier",	"6830839faea340639416d4bb2c1af920", 5 },
	{ K, "duress",		"8647b76c8ecd440ebe7e781321a312cd", 1 },
	{ K, "tamper",		"9278f91a5ee34b349aad14fe0923f9eb", 2 },
	{ K, "alarm",		"c8da1f7c05774accbadf194e8b867e41", 1 },
	{ K, "policy",		"99ed78ac3cd9462e83414bd4561cd24d", 5 },
	{ K, "battery",		"e7ac41d57c6e4b4681bcb58518290c4c", 4 },
	{ K, "door-ajar",	"75414b7108ec475ea44d3336e7554bde", 4 },
	{ K, "bolt-confirmed",	"2c6f9df66eff41549c347581750da994", 6 },
	{ K, "fault",		"7a1ca0d0e5694473990f71cdc56d795c", 2 },
	{ K, "time-lock",	"0b2afc4da56e44c9801f9caa46e7da10", 5 },
	{ K, "clock-jump",	"7e056b59193941b394483320c88e50a8", 4 },
	{ K, "override",	"997375fd52554b84a15c481df5bbb195", 4 },
	{ V, "init",		"5e898c5faa0d4b2c9abd2b3307cabd54", 5 },
	{ V, "recover-start",	"5c77aecc147245159b415605e66ec3c8", 4 },
	{ V, "recover-cancel",	"6b8da0153ae448adb74da439af107430", 5 },
	{ V, "recover",		"5ad3c3dacbc9481299ef4cb99cd435ba", 4 },
	{ V, "wipe",		"9fe9f7d263b24dee82cce0a69c2b0fd8", 4 },
	{ V, "user-add",	"cc28b52013054073820aa8ab56e11892", 5 },
	{ V, "user-del",	"f53000819c45416f8f65770251ae3339", 5 },
	{ V, "user-role",	"180de624ee51464f9b440604b422f99c", 5 },
	{ V, "code-change",	"80d680c7b38e413fa1a5b906a38864cc", 5 },
	{ V, "duress-set",	"06b3a646790f4f029a632b82b9d3863d", 5 },
	{ V, "policy-set",	"840853da4f4241ac82f138efa6b720d0", 5 },
	{ V, "fault-clear",	"098ce51257ad4ca38a1567d926f35e27", 5 },
	{ V, "admin-refused",	"25d8002714bc41f5888b42afe7b57230", 4 },
	{ V, "verdict",		"6ac04a60b1cf43bc804cdc80e0e3eb0a", 6 },
	{ V, "vault-error",	"36aaa8af50b24a709d1531bdb443af71", 3 },
	{ V, "start",		"33c21dfc611e4716af2822b01c2229cc", 5 },
	{ V, "events-lost",	"903f64632f5a43d3bc144454726043df", 3 },
	{ V, "duress-alarm",	"dbac3dd1c5f34db5862eedaf5b8de81f", 1 },
	{ V, "forged-message",	"5854656d7c7d405c98a0f323a62160ca", 2 },
	{ V, "no-policy",	"a82870dcf9dd43518363ed22ada71aca", 3 },
	{ V, "events-restart",	"59af47a5e1c047b79a96c79dc8e270da", 5 },
	{ V, "clock-behind",	"7bc9a9c5c6d744f99006a7b4b0b83615", 3 },
	{ V, "recovery-new",	"ad9e8b26a353494091fc02d5ed0bce52", 4 },
	{ L, "file-start",	"adb5e6ab76f34c3ca6d8d922e180baa0", 6 },
	{ L, "file-end",	"2f14daaf15bc417ba7b7c0c94163cd78", 6 },
	{ L, "lost",		"463751dad5cb46b3b246118013de1a24", 3 },
};

#undef K
#undef V
#undef L

/* Any event not in the catalog (a kernel newer than this table). */
static const struct catalog_entry unknown_entry = {
	0, "unknown", "328866e9478f4f8cb02ef5a9405aa2cc", 5
};

static const struct catalog_entry *catalog_find(uint32_t source, uint32_t type)
{
	const char *name = audit_event_name(source, type);
	size_t i;

	for (i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++)
		if (catalog[i].source == source && !strcmp(catalog[i].event, name))
			return &catalog[i];
	return &unknown_entry;
}

const char *journal_message_id(uint32_t source, uint32_t type)
{
	return catalog_find(source, type)->id;
}

int journal_priority(const struct audit_record *r)
{
	int prio = catalog_find(r->source, r->type)->priority;

	if (r->source == AUDIT_SRC_KERNEL) {
		switch (r->type) {
		case SAFELOCK_EVENT_ATTEMPT:
			return r->result == SAFELOCK_RESULT_GRANTED ? 5 :
			       r->result == SAFELOCK_RESULT_CANCELLED ? 6 : 4;
		case SAFELOCK_EVENT_TAMPER:
		case SAFELOCK_EVENT_ALARM:
		case SAFELOCK_EVENT_BATTERY:
			return r->value ? prio : 5;
		case SAFELOCK_EVENT_VERIFIER:
			return r->value ? 5 : 3;
		default:
			return prio;
		}
	}
	if (r->source == AUDIT_SRC_VAULT && r->type == AUDIT_V_VERDICT)
		return r->result == SAFELOCK_RESULT_GRANTED ? 6 : 4;
	return prio;
}

/* Length of the valid UTF-8 sequence at @u (@n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *u, size_t n)
{
	size_t k, len;

	if (u[0] < 0x80)
		return 1;
	len = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc2 ? 2 : 0;
	if (!len || u[0] > 0xf4 || len > n)
		return 0;
	for (k = 1; k < len; k++)
		if ((u[k] & 0xc0) != 0x80)
			return 0;
	/* overlong 3/4-byte forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0) ||
	    (u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90))
		return 0;
	return len;
}

static bool is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Text is sent as NAME=value only if it is printable UTF-8 (TAB allowed),
 * as both formats require; anything else in the binary-safe form.
 */
static bool plain(const char *v, size_t n)
{
	const unsigned char *u = (const unsigned char *)v;
	size_t i = 0, len;

	while (i < n) {
		len = utf8_seq(u + i, n - i);
		if (!len || is_control(u[i]))
			return false;
		i += len;
	}
	return true;
}

/*
 * The record's text as part of a line: control characters become spaces,
 * bytes that are not UTF-8 question marks.
 */
static void line_text(const struct audit_record *r, char *out, size_t len)
{
	unsigned char *u = (unsigned char *)out;
	size_t i = 0, n, l;

	snprintf(out, len, "%.*s", AUDIT_TEXT_SIZE - 1, r->text);
	n = strlen(out);
	while (i < n) {
		l = utf8_seq(u + i, n - i);
		if (!l) {
			u[i] = '?';
			l = 1;
		} else if (is_control(u[i]) || u[i] == '\t') {
			u[i] = ' ';
		}
		i += l;
	}
}

static const char *onoff(uint32_t v, const char *on, const char *off)
{
	return v ? on : off;
}

static int kernel_message(const struct audit_record *r, char *buf, size_t len)
{
	const char *st = safelock_state_name(r->state);

	switch (r->type) {
	case SAFELOCK_EVENT_STATE:
		return snprintf(buf, len, "lock state now %s", st);
	case SAFELOCK_EVENT_ENTRY_STARTED:
		return snprintf(buf, len, "code entry started (state %s)", st);
	case SAFELOCK_EVENT_ATTEMPT:
		return snprintf(buf, len, "attempt by user %u: %s (state %s)",
				r->user_id, safelock_result_name(r->result), st);
	case SAFELOCK_EVENT_BOLT:
		return snprintf(buf, len, "bolt %s",
				onoff(r->value, "retracted", "thrown"));
	case SAFELOCK_EVENT_DOOR:
		return snprintf(buf, len, "door %s",
				onoff(r->value, "opened", "closed"));
	case SAFELOCK_EVENT_VERIFIER:
		return snprintf(buf, len, "verifier %s",
				onoff(r->value, "registered", "went away"));
	case SAFELOCK_EVENT_DURESS:
		return snprintf(buf, len,
				"duress entry by user %u: silent alarm raised",
				r->user_id);
	case SAFELOCK_EVENT_TAMPER:
		return snprintf(buf, len, "tamper switch %s",
				onoff(r->value, "tripped", "cleared"));
	case SAFELOCK_EVENT_ALARM:
		return snprintf(buf, len, "silent alarm %s",
				onoff(r->value, "raised", "dropped"));
	case SAFELOCK_EVENT_POLICY:
		return snprintf(buf, len, "lock policy changed");
	case SAFELOCK_EVENT_BATTERY:
		return snprintf(buf, len, "battery %s", onoff(r->value, "low", "good"));
	case SAFELOCK_EVENT_DOOR_AJAR:
		return snprintf(buf, len, "door open longer than %u s", r->value);
	default:
		return snprintf(buf, len, "kernel event %s, value %u (state %s)",
				safelock_event_name(r->type), r->value, st);
	}
}

int journal_message(const struct audit_record *r, char *buf, size_t len)
{
	char text[AUDIT_TEXT_SIZE];
	const char *ev = audit_event_name(r->source, r->type);

	line_text(r, text, sizeof(text));
	switch (r->source) {
	case AUDIT_SRC_KERNEL: {
		int n = kernel_message(r, buf, len);

		if (n < 0 || (size_t)n >= len || !text[0])
			return n;
		return n + snprintf(buf + n, len - (size_t)n, ": %s", text);
	}
	case AUDIT_SRC_VAULT:
		if (r->type == AUDIT_V_VERDICT)
			return snprintf(buf, len, "verdict for user %u: %s%s%s",
					r->user_id, safelock_result_name(r->result),
					text[0] ? ": " : "", text);
		return snprintf(buf, len, "vault %s, user %u%s%s", ev, r->user_id,
				text[0] ? ": " : "", text);
	case AUDIT_SRC_LOG:
		if (r->type == AUDIT_L_LOST)
			return snprintf(buf, len, "%u audit records lost: %s",
					r->value, text);
		return snprintf(buf, len, "audit log %s: %s", ev, text);
	default:
		return snprintf(buf, len, "audit record of unknown source %u",
				r->source);
	}
}

/* Field serialisation, shared by both formats -------------------------- */

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->full || o->len - o->used < n) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->used, p, n);
	o->used += n;
}

static void field(struct out *o, const char *name, const char *v, size_t n)
{
	put(o, name, strlen(name));
	if (plain(v, n)) {
		put(o, "=", 1);
	} else {
		unsigned char le[8];
		unsigned int i;

		for (i = 0; i < 8; i++)
			le[i] = (unsigned char)((uint64_t)n >> (8 * i));
		put(o, "\n", 1);
		put(o, le, sizeof(le));
	}
	put(o, v, n);
	put(o, "\n", 1);
}

static void fieldf(struct out *o, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fieldf(struct out *o, const char *name, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(v)) {
		o->full = true;
		return;
	}
	field(o, name, v, (size_t)n);
}

static void fields(struct out *o, const struct audit_record *r)
{
	char msg[256];
	size_t tlen = strnlen(r->text, AUDIT_TEXT_SIZE - 1);
	int n = journal_message(r, msg, sizeof(msg));

	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	field(o, "MESSAGE", msg, (size_t)n);
	fieldf(o, "PRIORITY", "%d", journal_priority(r));
	fieldf(o, "SYSLOG_IDENTIFIER", "safelockd");
	fieldf(o, "MESSAGE_ID", "%s", journal_message_id(r->source, r->type));
	fieldf(o, "SAFELOCK_SOURCE", "%s", audit_source_name(r->source));
	fieldf(o, "SAFELOCK_EVENT", "%s", audit_event_name(r->source, r->type));
	fieldf(o, "SAFELOCK_INDEX", "%llu", (unsigned long long)r->index);
	fieldf(o, "SAFELOCK_SEQ", "%llu", (unsigned long long)r->kseq);
	fieldf(o, "SAFELOCK_USER", "%u", r->user_id);
	fieldf(o, "SAFELOCK_STATE", "%s", safelock_state_name(r->state));
	fieldf(o, "SAFELOCK_RESULT", "%s", safelock_result_name(r->result));
	fieldf(o, "SAFELOCK_VALUE", "%u", r->value);
	fieldf(o, "SAFELOCK_TIME_NS", "%lld", (long long)r->real_ns);
	fieldf(o, "SAFELOCK_MONO_NS", "%llu", (unsigned long long)r->mono_ns);
	if (tlen)
		field(o, "SAFELOCK_TEXT", r->text, tlen);
}

ssize_t journal_format_native(const struct audit_record *rec, char *buf,
			      size_t len)
{
	struct out o = { .buf = buf, .len = len };

	fields(&o, rec);
	return o.full ? -ENOSPC : (ssize_t)o.used;
}

ssize_t journal_format_export(const struct audit_record *rec, char *buf,
			      size_t len)
{
	struct out o = { .buf = buf, .len = len };
	/* journal-remote refuses an entry without a valid realtime stamp */
	unsigned long long rt = rec->real_ns > 1000 ? (unsigned long long)rec->real_ns / 1000 : 1;

	fieldf(&o, "__REALTIME_TIMESTAMP", "%llu", rt);
	fieldf(&o, "__MONOTONIC_TIMESTAMP", "%llu",
	       (unsigned long long)(rec->mono_ns / 1000));
	fields(&o, rec);
	put(&o, "\n", 1);
	return o.full ? -ENOSPC : (ssize_t)o.used;
}

int journal_export_cb(void *file, const struct audit_record *rec)
{
	char buf[JOURNAL_ENTRY_MAX];
	ssize_t n = journal_format_export(rec, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (fwrite(buf, 1, (size_t)n, file) != (size_t)n)
		return -EIO;
	return 0;
}

/* The native socket ---------------------------------------------------- */

int journal_open(struct journal_sink *j, const char *path)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	if (!path)
		path = JOURNAL_SOCKET_PATH;
	if (strlen(path) >= sizeof(j->path))
		return -ENAMETOOLONG;
	strcpy(j->path, path);
	j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	return j->fd < 0 ? -errno : 0;
}

int journal_send(struct journal_sink *j, const struct audit_record *rec)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[JOURNAL_ENTRY_MAX];
	ssize_t n = journal_format_native(rec, buf, sizeof(buf));
	int err = 0;

	if (j->fd < 0)
		err = -EBADF;
	else if (n < 0)
		err = (int)n;
	if (!err) {
		memcpy(sun.sun_path, j->path, strlen(j->path));
		ssize_t s = sendto(j->fd, buf, (size_t)n,
				   MSG_DONTWAIT | MSG_NOSIGNAL,
				   (struct sockaddr *)&sun, sizeof(sun));

		if (s < 0)
			err = -errno;
		else if (s != n)
			err = -EMSGSIZE;
	}
	if (err) {
		j->dropped++;
		j->last_err = err;
		return err;
	}
	j->sent++;
	return 0;
}

void journal_close(struct journal_sink *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}
