/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Audit records to systemd's journal, without libsystemd.
 *
 *  - journal_send(): one datagram per record to journald's native socket
 *    (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), non-blocking: with no
 *    journald (no socket, a full queue) the record is counted in dropped
 *    and nothing waits. The audit log on disk is the record of authority;
 *    the journal is a copy for the fleet.
 *  - journal_format_export(): the same entry in the Journal Export Format
 *    (https://systemd.io/JOURNAL_EXPORT_FORMATS/), what
 *    systemd-journal-remote and systemd-journal-upload read and what
 *    `safelockctl audit export --format=journal` writes.
 *
 * Fields of every entry: MESSAGE (one human line; the record's text with
 * control characters replaced), PRIORITY, SYSLOG_IDENTIFIER=safelockd,
 * MESSAGE_ID (fixed per event type, see the catalog in
 * Documentation/admin-guide/safelock-audit.rst), SAFELOCK_SOURCE,
 * SAFELOCK_EVENT, SAFELOCK_INDEX, SAFELOCK_SEQ (kernel sequence number),
 * SAFELOCK_USER, SAFELOCK_STATE, SAFELOCK_RESULT, SAFELOCK_VALUE,
 * SAFELOCK_TIME_NS (the record's CLOCK_REALTIME), SAFELOCK_MONO_NS, and
 * SAFELOCK_TEXT (exactly the record's text) when the text is not empty.
 * A value that is not printable UTF-8 (a newline in the text) is sent in
 * the protocols' binary-safe form: name, newline, 64-bit little-endian
 * length, bytes, newline.
 */
#ifndef SAFELOCK_JOURNAL_H
#define SAFELOCK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"

#define JOURNAL_SOCKET_PATH	"/run/systemd/journal/socket"
/* Every record's entry fits in this many bytes, in either format. */
#define JOURNAL_ENTRY_MAX	2048

struct journal_sink {
	int fd;			/* unbound AF_UNIX datagram socket */
	char path[108];		/* journald's socket */
	uint64_t sent;
	uint64_t dropped;	/* not sent: no journald, queue full, ... */
	int last_err;		/* -errno of the last drop */
};

/*
 * Prepare to send to the socket at @path (NULL: JOURNAL_SOCKET_PATH). The
 * socket need not exist yet. 0, or -errno if no socket could be made or
 * the path is too long.
 */
int journal_open(struct journal_sink *j, const char *path);
/* Send one record: 0, or -errno (counted in dropped). Never blocks. */
int journal_send(struct journal_sink *j, const struct audit_record *rec);
void journal_close(struct journal_sink *j);

/* The native datagram of @rec: its length, or -ENOSPC if @len is short. */
ssize_t journal_format_native(const struct audit_record *rec, char *buf,
			      size_t len);
/*
 * One entry of the Journal Export Format, ending with its empty line, with
 * __REALTIME_TIMESTAMP and __MONOTONIC_TIMESTAMP from the record: its
 * length, or -ENOSPC.
 */
ssize_t journal_format_export(const struct audit_record *rec, char *buf,
			      size_t len);
/* An audit_each_fn for audit_read(): writes the export entry to a FILE *. */
int journal_export_cb(void *file, const struct audit_record *rec);

/* The MESSAGE_ID of an event: 32 lowercase hex digits; never NULL. */
const char *journal_message_id(uint32_t source, uint32_t type);
/* syslog priority of a record, 0 (emerg) to 7 (debug). */
int journal_priority(const struct audit_record *rec);
/* The MESSAGE line; snprintf's return convention. */
int journal_message(const struct audit_record *rec, char *buf, size_t len);

#endif /* SAFELOCK_JOURNAL_H */
