/* SPDX-License-Identifier: GPL-2.0 */
/*
 * safelockd's administration server (admin.c), the policy helpers
 * (policy.c) and the sandbox (sandbox.c).
 *
 * The server speaks the protocol of tools/lib/admin.h. It knows the vault
 * through struct vault_ops and the kernel through struct admin_kernel_ops
 * below, so the host tests run it with a fake vault and a fake kernel.
 */
#ifndef SAFELOCKD_ADMINSRV_H
#define SAFELOCKD_ADMINSRV_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vault.h"

struct nl_msg;

/* Policy (policy.c) -------------------------------------------------- */

/*
 * safelockd's own use of safelock_admin_policy.reserved[] in the vault's
 * policy store; never on the socket (a request must have them zero, a
 * reply has them zero). A pending recovery's start, split in two words;
 * 0: no recovery pending. Kept in the policy store because the vault
 * authenticates it and versions it in TPM NV: a restart, a power cut or
 * an older copy of the state directory neither ends nor restarts the
 * delay.
 *
 * Both u64 values below are on the vault's clock (vault_ops.clock_ms:
 * the TPM's Clock, ms of powered time, never set back; moving the wall
 * clock moves nothing), marked by POLICY_PRIV_TPM_MS (bit 63). A value
 * without the mark was written by an older safelockd, in CLOCK_REALTIME
 * seconds: a recovery delay started so is started again on the TPM clock
 * (never shorter), a time lock end is converted once from the time left.
 * The stored layout (260 bytes, vault_tpm_table.c) is unchanged.
 */
#define POLICY_PRIV_TPM_MS	(1ULL << 63)
#define POLICY_PRIV_RECOVERY_LO	0
#define POLICY_PRIV_RECOVERY_HI	1
/*
 * The end of the immediate time lock (ADMIN_OP_TIME_LOCK_NOW), TPM-clock
 * ms | POLICY_PRIV_TPM_MS, kept the same way: pushed again with the
 * policy (as SAFELOCK_A_TIME_LOCK_FOR_S, the time left) after a reboot, a
 * power cut or a reload of the module, so none of them lifts it.
 */
#define POLICY_PRIV_TLOCK_LO	2
#define POLICY_PRIV_TLOCK_HI	3
uint64_t policy_time_lock_until(const struct safelock_admin_policy *p);
void policy_set_time_lock_until(struct safelock_admin_policy *p, uint64_t t);

/* The safe defaults of a vault that never stored a policy. */
void policy_defaults(struct safelock_admin_policy *p);
/*
 * Check every field against admin.h's ranges, reserved[] zero: 0, or
 * -EINVAL with the reason in @why.
 */
int policy_validate(const struct safelock_admin_policy *p, char *why,
		    size_t len);
uint64_t policy_recovery_start(const struct safelock_admin_policy *p);
void policy_set_recovery_start(struct safelock_admin_policy *p, uint64_t t);
/*
 * The time zone: a name under @zoneinfo (NULL: /usr/share/zoneinfo) that
 * is a TZif file, or "UTC": 0, or -EINVAL with the reason in @why.
 */
int policy_zone_check(const char *zone, const char *zoneinfo, char *why,
		      size_t len);
/*
 * The UTC offset in force at @t: from @p's time zone if it has one (a
 * zone that cannot be read: its stored utc_offset_s), else utc_offset_s.
 */
int32_t policy_offset_at(const struct safelock_admin_policy *p, int64_t t);
/*
 * Put every policy attribute the kernel knows into a POLICY_SET message
 * (after SAFELOCK_A_DEVICE): 0, or -EMSGSIZE. An immediate time lock
 * still running goes as SAFELOCK_A_TIME_LOCK_FOR_S, its time left on
 * @clock's clock_ms(); if that clock cannot be read while one is stored:
 * -EIO and nothing (the push fails and is retried; never a time lock
 * dropped or shortened).
 */
int policy_put_attrs(struct nl_msg *msg, const struct safelock_admin_policy *p,
		     struct vault *clock);
/* The same as at CLOCK_REALTIME second @now (the UTC offset in force). */
int policy_put_attrs_at(struct nl_msg *msg, const struct safelock_admin_policy *p,
			struct vault *clock, int64_t now);

/*
 * The wall clock's lower bound (fault model: a clock set back, or a board
 * whose RTC lost its time, must not open a period the schedule locks).
 * From the vault's anchor (vault_clock_anchor: the wall clock @wall_s at
 * vault clock @clock_ms, written at the commits the owner vouched for):
 *
 *   bound(now) = wall_s + (now - clock_ms) * 85 / 100 / 1000 - 300 s
 *
 * The TPM's clock only runs while powered and may run up to 15 % fast
 * (CLOCK_RATE_PERCENT), and an RTC drifts (CLOCK_SLACK_S): so the true
 * time is never below the bound, and a clock below it was set back.
 */
#define CLOCK_RATE_PERCENT	85
#define CLOCK_SLACK_S		300

enum clock_trust {
	CLOCK_TRUSTED = 0,	/* at or above the bound, or no anchor */
	CLOCK_BEHIND,		/* below the bound: set back */
	CLOCK_UNVERIFIABLE,	/* an anchor, but the vault's clock unreadable
				 * or below the anchor's: no bound known */
};

/* Does @p's time lock lock anything (a quarter of the week, a holiday)? */
bool policy_schedules(const struct safelock_admin_policy *p);
/* The bound at vault clock @now_ms (s, UTC; may be below 0). */
int64_t clock_lower_bound(const struct vault_clock_anchor *a, uint64_t now_ms);
/*
 * Check wall clock @wall_s against the bound from @v's anchor, reading
 * @v's clock (one TPM command) only when there is an anchor. With
 * CLOCK_BEHIND, *behind_s is how far below the bound it is (>= 1).
 */
enum clock_trust policy_clock_check(struct vault *v, uint64_t wall_s,
				    uint64_t *behind_s);

/*
 * The verdict for a right code of a user with @role (the vault said
 * GRANTED): SAFELOCK_RESULT_GRANTED or SAFELOCK_RESULT_DENIED, and in
 * *delay_override what the grant may do for a two-person time-delay
 * override (enum safelock_override, sent as SAFELOCK_A_DELAY_OVERRIDE):
 * with the policy's courier_override, MAY for the owner and managers (an
 * ordinary grant too), ONLY for couriers (half of an override, nothing
 * else); NONE otherwise.
 */
uint32_t policy_verdict(enum safelock_role role,
			const struct safelock_admin_policy *p,
			uint8_t *delay_override);

const char *safelock_role_name(uint32_t role);

/* The kernel, as the admin server sees it ----------------------------- */

struct admin_kernel_ops {
	/*
	 * The doors of the locks the kernel knows: 1 every door open, 0 one
	 * or more closed, -ENODEV no lock or no kernel (door state unknown),
	 * other -errno. A reason in @why for anything but 1.
	 */
	int (*door_open)(void *ctx, char *why, size_t len);
	/* Registered as the verifier right now? */
	bool (*registered)(void *ctx);
	/*
	 * Push @p to every lock, all or nothing: 0; -ENOTCONN when no
	 * verifier is registered (it is pushed at registration); or -errno
	 * and the kernel's reason (extack) in @why.
	 */
	int (*policy_push)(void *ctx, const struct safelock_admin_policy *p,
			   char *why, size_t len);
	/* The vault's provisioning changed: tell the kernel (re-register). */
	void (*provisioned)(void *ctx, bool provisioned);
	/* 0, -EOPNOTSUPP when the kernel has no such command, -errno; @why */
	int (*fault_clear)(void *ctx, char *why, size_t len);
	int (*time_lock_now)(void *ctx, uint32_t duration_s, char *why,
			     size_t len);
	/*
	 * A duress code was used at the admin socket: raise the silent
	 * alarm of every lock (SAFELOCK_CMD_DURESS_ALARM, USER_ID @user_id)
	 * from the registered socket. 0, or -errno and a reason in @why.
	 */
	int (*duress_alarm)(void *ctx, uint32_t user_id, char *why, size_t len);
};

/* The admin server (admin.c) ------------------------------------------ */

#define ADMIN_MAX_CLIENTS	16

/*
 * How long an entry begun at the keypad (ENTRY_BEGIN) holds back admin
 * requests, so that the entry's VERIFY does not wait behind their TPM
 * work; the VERIFY ends the hold at once.
 */
#define ADMIN_HOLD_MS		5000

struct admin_client {
	int fd;			/* -1: free slot */
	struct ucred peer;	/* SO_PEERCRED at accept */
};

/* What the audit log will need of one administrative act. */
struct admin_act {
	uint32_t op;			/* enum safelock_admin_op */
	unsigned int user[2];		/* acting users (auth[]), 0: none */
	unsigned int target;		/* target user, 0: none */
	int result;			/* 0 or -errno */
	bool duress;			/* a duress code was given (alarm) */
	int alarm_err;			/* duress: 0 alarm raised, or -errno */
	bool started;			/* RECOVER: the delay started */
	const struct ucred *peer;	/* who sent it, NULL: unknown */
	const char *reason;		/* one line, never a secret */
};

/*
 * The one place every administrative change and every refusal goes: a
 * line on stderr, and a record in the audit log (auditlog.c, through
 * audit_admin_hook).
 */
void audit_admin(const struct admin_act *act);
/* Called by audit_admin() after it logs, if set: the audit log's writer. */
extern void (*audit_admin_hook)(const struct admin_act *act);
/* "user-add", ... */
const char *admin_op_name(uint32_t op);

struct admin_server {
	struct vault *vault;
	const struct admin_kernel_ops *kops;
	void *kctx;
	const char *tcti;		/* for STATUS */

	/* the policy as the vault stores it (private words included) */
	struct safelock_admin_policy policy;
	bool policy_loaded;
	bool vault_ok;
	char vault_err[192];		/* the last vault error logged */

	int listen_fd;			/* -1: not listening */
	char path[108];
	bool unlink_on_close;
	struct admin_client clients[ADMIN_MAX_CLIENTS];
	unsigned int next_client;	/* round robin */
	uint64_t hold_until_ms;		/* CLOCK_MONOTONIC; 0: no hold */

	/* CLOCK_REALTIME seconds (recovery delay); tests replace it */
	uint64_t (*now_s)(void);
	/* CLOCK_MONOTONIC ms (hold); tests replace it */
	uint64_t (*now_ms)(void);

	/*
	 * The audit log, connected by the caller; NULL: AUDIT_VERIFY says
	 * so, STATUS reports 0 records.
	 */
	int (*audit_verify)(void *ctx, struct safelock_admin_audit *out,
			    char *what, size_t len);
	void (*audit_counts)(void *ctx, uint64_t *records, uint64_t *lost);
	void *audit_ctx;

	/* buffers: one request in, one reply out (the reply is ~20 KiB) */
	unsigned char rx[sizeof(struct safelock_admin_req) + 1];
	struct safelock_admin_reply reply;
	struct vault_user users[SAFELOCK_ADMIN_USERS_MAX];
};

/* Set up @srv (not listening yet) and load the policy from the vault. */
void admin_init(struct admin_server *srv, struct vault *v,
		const struct admin_kernel_ops *kops, void *kctx);
/*
 * Listen on @path (SOCK_SEQPACKET): its directory created 0750 if missing,
 * the socket 0660, both given group @group (NULL: the process's). A stale
 * socket is replaced; a live one (another safelockd) is an error.
 * 0, or -errno with the reason in @err.
 */
int admin_listen(struct admin_server *srv, const char *path,
		 const char *group, char *err, size_t len);
void admin_close(struct admin_server *srv);

/* Fill @pfd with the fds to poll; returns how many (at most @max). */
int admin_pollfds(struct admin_server *srv, struct pollfd *pfd, int max);
/*
 * After poll(): accept new clients, drop gone ones, and serve at most ONE
 * request (the caller goes back to poll() in between, so a VERIFY that
 * came meanwhile is answered before the next request). Returns true if
 * a request was served.
 */
bool admin_service(struct admin_server *srv, const struct pollfd *pfd, int n);

/* An entry has begun (hold admin work for ADMIN_HOLD_MS) / was checked. */
void admin_hold(struct admin_server *srv, bool on);
/* Milliseconds until a hold ends (a poll() timeout), or -1: no hold. */
int admin_poll_timeout(struct admin_server *srv);

/*
 * Serve one request: @buf (@len bytes, as received) is validated,
 * authorised and carried out, @rep filled. Every secret in @buf is wiped
 * before it returns, on every path. Returns rep->status.
 */
int admin_handle(struct admin_server *srv, void *buf, size_t len,
		 const struct ucred *peer, struct safelock_admin_reply *rep);

/*
 * Note the result of a vault call made outside the server (verify):
 * keeps STATUS's vault_ok and logs a vault failure once.
 */
void admin_vault_result(struct admin_server *srv, int ret);
/* Reload the policy from the vault if it could not be loaded yet. */
bool admin_policy_ready(struct admin_server *srv);
/* The policy in force (private words included). */
const struct safelock_admin_policy *admin_policy(const struct admin_server *srv);

/* The sandbox (sandbox.c) --------------------------------------------- */

/*
 * The capabilities safelockd keeps: CAP_NET_ADMIN, because the kernel's
 * verifier commands are GENL_ADMIN_PERM (checked on every VERDICT, and a
 * re-registration opens a new socket). Once the kernel lets the
 * registered socket alone answer, this becomes 0.
 */
#define SANDBOX_KEEP_CAPS	(1ULL << 12)	/* CAP_NET_ADMIN */

struct sandbox_opts {
	const char *user;	/* drop to this user (name or uid) */
	const char *state_dir;	/* made the user's (NULL: none) */
};

/*
 * Enter the sandbox: the state directory given to the user, uid and gid
 * (and the user's groups) switched, every capability but
 * SANDBOX_KEEP_CAPS dropped (bounding, permitted, effective, inheritable,
 * ambient), no_new_privs, and the seccomp allow-list. Already running as
 * the user (systemd's User=): the same, without the switch. 0, or -errno
 * with the reason in @err; on error the caller must exit.
 */
int sandbox_enter(const struct sandbox_opts *o, char *err, size_t len);
/* Only the seccomp allow-list (sandbox_enter does it last). */
int sandbox_seccomp(char *err, size_t len);
/*
 * The allow-list: system call names, every variant of every architecture
 * safelock ships on, each with the architectures it must exist on
 * (SANDBOX_ARCH_*). sandbox_resolve() gives their numbers on @arch
 * (SCMP_ARCH_*): a name is left out only where it does not exist and is
 * not expected to; one expected on @arch that libseccomp cannot resolve
 * there is an error (-ENOENT, the name in @err). Returns the number of
 * entries written to @nrs, or -errno.
 */
#define SANDBOX_ARCH_X86_64	1u
#define SANDBOX_ARCH_AARCH64	2u
#define SANDBOX_ARCH_ARM	4u	/* armhf (EABI), the reference board */

struct sandbox_syscall {
	const char *name;
	unsigned int archs;	/* SANDBOX_ARCH_* where it must exist */
};

const struct sandbox_syscall *sandbox_allow_list(size_t *n);
int sandbox_resolve(uint32_t arch, const struct sandbox_syscall *list, size_t n,
		    int *nrs, size_t max, char *err, size_t len);

#endif /* SAFELOCKD_ADMINSRV_H */
