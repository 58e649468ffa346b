/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The administration protocol between safelockctl and safelockd.
 *
 * A Unix SOCK_SEQPACKET socket (default SAFELOCK_ADMIN_SOCKET, mode 0660,
 * owner root, group of safelockd's choosing). One request per message, one
 * reply per request, in order; a client may send several requests on one
 * connection. Both messages are the fixed-size structs below, in host byte
 * order (the socket never leaves the machine). safelockd refuses a message
 * of any other size, a wrong magic, an unknown op, a non-zero reserved or
 * padding byte, or a string that is not NUL-terminated within its field,
 * with -EINVAL and a reason, and changes nothing.
 *
 * Codes and the recovery secret travel in requests only, as ASCII, and are
 * wiped by both sides after use. A reply never carries a code; the only
 * secret ever sent back is the recovery secret, once, in the reply to
 * ADMIN_OP_INIT, ADMIN_OP_RECOVER and ADMIN_OP_RECOVERY_NEW.
 *
 * Authorisation: each op lists who may do it. "auth" means the request's
 * auth[0] (and auth[1] when the policy's dual_admin is on: two different
 * users, both holding a role that may do the op) must carry a right code;
 * safelockd checks them through the vault, so wrong codes are throttled
 * exactly as at the keypad, and a request during a penalty is refused with
 * -EAGAIN and retry_after_ms, as is one during the TPM's dictionary-attack
 * lockout (no code checked, none counted; the message says which). Every
 * op that changes something is audited, refused ones as well.
 */
#ifndef SAFELOCK_ADMIN_H
#define SAFELOCK_ADMIN_H

#include <stdint.h>
#include <linux/safelock.h>

#define SAFELOCK_ADMIN_SOCKET	"/run/safelock/admin.sock"
#define SAFELOCK_ADMIN_MAGIC	0x534c4131u	/* "SLA1" */

/* Roles, stored with each user in the vault. */
enum safelock_role {
	SAFELOCK_ROLE_NONE = 0,		/* no such user */
	SAFELOCK_ROLE_OWNER,		/* one, user 001; everything */
	SAFELOCK_ROLE_MANAGER,		/* opens; manages users and policy */
	SAFELOCK_ROLE_USER,		/* opens; changes own code and duress code */
	SAFELOCK_ROLE_AUDITOR,		/* never opens; reads and verifies the audit log */
	SAFELOCK_ROLE_COURIER,		/* opens only by time-delay override with a second courier/manager, when the policy allows it */
	SAFELOCK_ROLE_MAX,
};

/*
 * The recovery secret: 160 random bits from the TPM's RNG, shown as 32
 * characters of Crockford base32 in 8 groups of 4 joined by '-' (39 chars).
 * safelockd accepts it with or without dashes, in either case.
 */
#define SAFELOCK_RECOVERY_BITS		160
#define SAFELOCK_RECOVERY_TEXT_SIZE	48

enum safelock_admin_op {
	ADMIN_OP_UNSPEC = 0,
	/* anyone who can open the socket: reply.status */
	ADMIN_OP_STATUS,
	/*
	 * Unprovisioned vault and the door open (as the kernel reports it):
	 * enrol user 001 as owner with new_code; the reply carries the new
	 * recovery secret (reply.recovery), never stored in the clear.
	 */
	ADMIN_OP_INIT,
	/*
	 * recovery: the secret; new_code: the owner's new code. Throttled
	 * like a code, audited. With policy.recovery_delay_s > 0 the first
	 * request only starts the delay (-EINPROGRESS, retry_after_ms) and any
	 * valid user's code cancels it (ADMIN_OP_RECOVER_CANCEL); a request
	 * after the delay completes it. The reply carries a NEW recovery
	 * secret: the old one is spent.
	 */
	ADMIN_OP_RECOVER,
	ADMIN_OP_RECOVER_CANCEL,	/* auth: any valid user */
	/*
	 * Door open, and auth[0] the owner, or recovery the secret: clear
	 * every user, counter and key of the vault; the lock is then
	 * UNPROVISIONED. Never moves the bolt.
	 */
	ADMIN_OP_WIPE,
	/* auth: owner or manager. target_user, role, new_code. */
	ADMIN_OP_USER_ADD,
	/* auth: owner or manager. target_user (never 001). */
	ADMIN_OP_USER_DEL,
	/* auth: owner, manager or auditor. reply.users, reply.n_users. */
	ADMIN_OP_USER_LIST,
	/* auth: owner or manager. target_user, role (never to or from owner). */
	ADMIN_OP_USER_SET_ROLE,
	/* auth[0]: the user themselves (auth[0].user_id == target_user); new_code. */
	ADMIN_OP_CODE_CHANGE,
	/*
	 * auth[0]: the user themselves; new_code: their duress code (must
	 * differ from their code), or an empty new_code to remove it.
	 */
	ADMIN_OP_DURESS_SET,
	/* anyone: reply.policy */
	ADMIN_OP_POLICY_GET,
	/*
	 * auth: owner or manager (two under dual_admin). policy: the whole
	 * new policy (get, change, set). Checked, stored in the vault's
	 * state, pushed to the kernel; all or nothing.
	 */
	ADMIN_OP_POLICY_SET,
	/*
	 * auth: owner, manager or auditor. Verify the audit log with the
	 * vault's key; reply.audit, and reply.message says what is wrong.
	 */
	ADMIN_OP_AUDIT_VERIFY,
	/*
	 * auth: owner or manager. Clear the kernel's FAULT state (a jammed
	 * bolt that the owner has inspected).
	 */
	ADMIN_OP_FAULT_CLEAR,
	/*
	 * auth: owner or manager. Immediate time lock for duration_s (60 to
	 * 604800) from now; it can be extended, never shortened or lifted.
	 */
	ADMIN_OP_TIME_LOCK_NOW,
	/*
	 * auth[0]: the owner (never dual: there is one owner). A new
	 * recovery secret in reply.recovery; the old one stops working at
	 * once (its shares with it: safelockctl splits the secret among
	 * trustees, safelockd never sees a share). Changes nothing if the
	 * vault cannot make and store the new one. Audited.
	 */
	ADMIN_OP_RECOVERY_NEW,
	ADMIN_OP_MAX,
};

struct safelock_admin_auth {
	uint32_t user_id;			/* 0: absent */
	char code[SAFELOCK_CODE_MAX_DIGITS + 4];	/* digits, NUL-terminated */
};

/* Time lock: a weekly schedule and holidays, in the controller's local time. */
#define SAFELOCK_ADMIN_HOLIDAYS		32
#define SAFELOCK_ADMIN_ZONE_SIZE	48

struct safelock_admin_policy {
	uint32_t time_delay_s;		/* 0..7200 */
	uint32_t open_window_s;		/* 60..1800 */
	uint32_t dual_window_s;		/* 10..300 */
	uint32_t relock_ms;		/* 500..600000; 0: the board's relock-ms */
	uint32_t door_limit_s;		/* 0, 5..3600 */
	uint32_t recovery_delay_s;	/* 0..604800 */
	uint8_t dual_control;		/* opening needs two users */
	uint8_t dual_admin;		/* administration needs two users */
	uint8_t courier_override;	/* two couriers/managers may skip the time delay */
	uint8_t time_lock;		/* the weekly schedule and holidays apply */
	/*
	 * Bit (day * 96 + quarter) set: locked during that quarter hour;
	 * day 0 is Sunday (as tm_wday), quarter 0 is 00:00-00:15.
	 */
	uint8_t week[7 * 96 / 8];
	/* Days locked all day, as days since 1970-01-01 local; 0: unused. */
	uint32_t holidays[SAFELOCK_ADMIN_HOLIDAYS];
	int32_t utc_offset_s;		/* local time = UTC + this (no time_zone) */
	uint32_t reserved[4];		/* zero */
	/*
	 * The lock's time zone ("Europe/Berlin", a name under
	 * /usr/share/zoneinfo, or "UTC"), NUL-terminated; "" : none, then
	 * utc_offset_s is used as it is. With a zone safelockd computes the
	 * offset itself, for now, and pushes it again at every transition
	 * (DST), so the schedule stays on the wall clock.
	 */
	char time_zone[SAFELOCK_ADMIN_ZONE_SIZE];
};

struct safelock_admin_req {
	uint32_t magic;			/* SAFELOCK_ADMIN_MAGIC */
	uint32_t op;			/* enum safelock_admin_op */
	struct safelock_admin_auth auth[2];
	uint32_t target_user;
	uint32_t role;			/* enum safelock_role */
	char new_code[SAFELOCK_CODE_MAX_DIGITS + 4];
	char recovery[SAFELOCK_RECOVERY_TEXT_SIZE];
	struct safelock_admin_policy policy;
	uint32_t duration_s;		/* ADMIN_OP_TIME_LOCK_NOW */
	uint32_t reserved[7];		/* zero */
};

struct safelock_admin_user {
	uint32_t user_id;
	uint32_t role;			/* enum safelock_role */
	uint32_t failures;		/* consecutive wrong codes */
	uint32_t retry_after_ms;	/* 0: may try now */
	uint8_t has_duress;
	uint8_t padding[3];
};

#define SAFELOCK_ADMIN_USERS_MAX	999
#define SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE	UINT32_MAX

struct safelock_admin_status {
	uint8_t provisioned;
	uint8_t vault_ok;		/* the TPM answered the last command */
	uint8_t registered;		/* registered with the kernel as verifier */
	uint8_t recovery_pending;	/* a recovery delay is running */
	uint32_t n_users;
	uint32_t global_failures;
	uint32_t retry_after_ms;	/* global */
	uint32_t recovery_left_s;
	/*
	 * The schedule applies and the wall clock is this many seconds below
	 * the lower bound safelockd derives from the TPM's clock: openings
	 * are refused until the clock is set right. 0: not behind (or no
	 * schedule, or no anchor yet); SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE: the
	 * TPM's clock cannot be read, so no bound is known (refused too).
	 * In what was padding before: an older safelockd sends 0.
	 */
	uint32_t clock_behind_s;
	uint64_t audit_records;		/* records in the log */
	uint64_t audit_lost;		/* events not recorded (disk full, gaps) */
	char tcti[64];
};

struct safelock_admin_audit {
	uint64_t records;		/* records checked */
	uint64_t first_bad;		/* index of the first bad record; UINT64_MAX: none */
	uint32_t files;
	uint32_t ok;			/* 1: the whole log verifies */
};

struct safelock_admin_reply {
	uint32_t magic;			/* SAFELOCK_ADMIN_MAGIC */
	uint32_t op;			/* the request's op */
	int32_t status;			/* 0 or -errno */
	uint32_t retry_after_ms;	/* with -EAGAIN or -EINPROGRESS */
	char message[256];		/* with an error: the reason, one line */
	char recovery[SAFELOCK_RECOVERY_TEXT_SIZE];	/* INIT, RECOVER, RECOVERY_NEW */
	struct safelock_admin_status status_info;
	struct safelock_admin_policy policy;
	struct safelock_admin_audit audit;
	uint32_t n_users;
	uint32_t reserved;
	struct safelock_admin_user users[SAFELOCK_ADMIN_USERS_MAX];
};

#endif /* SAFELOCK_ADMIN_H */
