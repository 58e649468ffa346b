/* SPDX-License-Identifier: GPL-2.0 */
/*
 * safelockd's audit trail (auditlog.c): the kernel's events, the verdicts
 * and the administrative acts, in lib/audit.c's log with the vault's keys,
 * copied to journald.
 */
#ifndef SAFELOCKD_AUDITLOG_H
#define SAFELOCKD_AUDITLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "adminsrv.h"
#include "audit.h"
#include "libsafelock.h"
#include "vault.h"

struct auditlog;

/*
 * Open (or continue) the log in @dir; 0 or -errno with a reason in @err.
 * A read-only @dir is no error: every record is counted lost (STATUS)
 * until auditlog_tick() opens the log, which then says so in a LOST record.
 */
int auditlog_open(struct auditlog **al, struct vault *v, const char *dir,
		  bool journal, char *err, size_t len);
/* Anchor, close; NULL is fine. */
void auditlog_close(struct auditlog *al);
/* Make audit_admin() write to the log that is open. */
void auditlog_hook_admin(void);

/* A record of safelockd or the vault (enum audit_vault_event). */
void auditlog_vault(struct auditlog *al, uint32_t type, uint32_t user,
		    uint32_t result, uint32_t value, const char *text);
void auditlog_verdict(struct auditlog *al, uint64_t request_id, uint32_t user,
		      uint32_t result, uint32_t retry_after_ms, bool duress,
		      uint8_t override);

/*
 * The socket of the kernel's events group, opened (and subscribed) on
 * first use and again after the module came back; -1 if the family is
 * not there. Poll it, and call auditlog_events_receive() when readable.
 */
int auditlog_events_fd(struct auditlog *al);
void auditlog_events_receive(struct auditlog *al);
/*
 * Following the kernel's numbering (auditlog_events_fd() does it at each
 * (re)subscription, from a STATUS_GET dump): lock @device of the family
 * with id @family has emitted events up to @seq; auditlog_follow_end()
 * then writes, for each lock whose first event did not come meanwhile,
 * the record that says what the log lacks (events-lost, events-restart).
 */
void auditlog_follow(struct auditlog *al, uint32_t family, uint32_t device,
		     uint64_t seq);
void auditlog_follow_end(struct auditlog *al);
/* A kernel event of lock @device (rec: source KERNEL, kseq, ...) to log. */
void auditlog_event(struct auditlog *al, uint32_t device, struct audit_record *rec);
/* The family went away: follow the events again once it is back. */
void auditlog_events_close(struct auditlog *al);
/*
 * Open a log that could not be opened; anchor what waits. Due in
 * auditlog_due_ms() ms (0: now), -1: nothing to do until a record comes.
 */
void auditlog_tick(struct auditlog *al);
int64_t auditlog_due_ms(const struct auditlog *al);
/*
 * @fn sees every kernel event after it is logged (the verifier follows
 * new locks with it instead of polling their status); type 0: events were
 * lost, any of them.
 */
void auditlog_on_event(struct auditlog *al,
		       void (*fn)(void *ctx, uint32_t device, uint32_t type, uint32_t value),
		       void *ctx);

/* struct admin_server's audit_verify and audit_counts. */
int auditlog_verify(void *ctx, struct safelock_admin_audit *out, char *what,
		    size_t len);
void auditlog_counts(void *ctx, uint64_t *records, uint64_t *lost);

#endif /* SAFELOCKD_AUDITLOG_H */
