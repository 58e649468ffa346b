/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names of the audit log's sources and events, shared by the JSON export,
 * the journald export and safelockctl's audit show. Kept apart from
 * audit.h, the log's contract, so that header does not change.
 */
#ifndef SAFELOCK_AUDIT_NAMES_H
#define SAFELOCK_AUDIT_NAMES_H

#include <stdint.h>

/* "kernel", "vault", "log", or "unknown"; never NULL. */
const char *audit_source_name(uint32_t source);
/*
 * The event's name: safelock_event_name() for kernel records, "user-add",
 * "file-start", ... for the others, "unknown" outside the enums; never NULL.
 */
const char *audit_event_name(uint32_t source, uint32_t type);

#endif /* SAFELOCK_AUDIT_NAMES_H */
