// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's administration server: the protocol of tools/lib/admin.h on
 * a SOCK_SEQPACKET socket, served from the verifier's poll() loop.
 *
 * Every request is validated before anything else (size, magic, op,
 * reserved words, strings NUL-terminated in their fields, code and secret
 * formats, the op's own fields): a bad one gets -EINVAL and a reason, and
 * nothing is checked or changed. Then it is authorised, with codes checked
 * by the vault (vault_ops.check(): the same counters and schedule as the
 * keypad), then carried out. Every change and every refusal goes through
 * audit_admin(), once per request. The request buffer, with its codes and
 * secret, is wiped before admin_handle() returns, on every path; a
 * recovery secret in a reply is wiped once sent.
 *
 * Who may do what (admin.h); "dual" ops need a second, different user of
 * an allowed role when the policy's dual_admin is on:
 *
 *   STATUS, POLICY_GET        anyone who can open the socket
 *   INIT                      nobody's code: unprovisioned vault, door open
 *   RECOVER                   the recovery secret (+ the recovery delay)
 *   RECOVER_CANCEL            any user's code
 *   WIPE                      door open, and the owner's code or the secret
 *   USER_ADD/DEL/SET_ROLE     owner or manager, dual
 *   USER_LIST, AUDIT_VERIFY   owner, manager or auditor
 *   CODE_CHANGE, DURESS_SET   the user themselves
 *   POLICY_SET                owner or manager, dual
 *   FAULT_CLEAR, TIME_LOCK_NOW owner or manager, dual
 *   RECOVERY_NEW              the owner (never dual: there is one owner)
 *
 * Wrong codes answer -EACCES (with the retry-after the vault set), a code
 * tried during a penalty -EAGAIN with the time left (nothing is checked
 * then), a right code of a role that may not do the op -EPERM.
 *
 * Latency. safelockd is single-threaded: a VERIFY that arrives while an
 * admin op runs waits for it. So the loop serves at most one request per
 * poll() round and reads the kernel's socket first; an entry begun at the
 * keypad (ENTRY_BEGIN) holds admin requests back until its VERIFY is
 * answered (ADMIN_HOLD_MS at most). The worst case left is a request
 * started just before the first key: the VERIFY then waits for that one
 * request, the typing time of the entry (7 keys or more) hiding most of
 * it. The longest requests are a dual-admin POLICY_SET or USER_* (two
 * checks, a store; with a push to the kernel), about 2 x 400 ms + 100 ms
 * of TPM work in the TCG test VM and a few hundred ms on a board's TPM,
 * and a WIPE (every object and NV index of the vault; the door is open
 * then). The kernel's verify timeout is 10 s by default.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "libsafelock.h"
#include "adminsrv.h"

#define R(x)		(1u << SAFELOCK_ROLE_##x)
#define MANAGERS	(R(OWNER) | R(MANAGER))
#define READERS		(R(OWNER) | R(MANAGER) | R(AUDITOR))
#define OPENERS		(R(OWNER) | R(MANAGER) | R(USER))
#define ANY_ROLE	(R(OWNER) | R(MANAGER) | R(USER) | R(AUDITOR) | R(COURIER))

#define RECOVERY_CHARS	32	/* SAFELOCK_RECOVERY_BITS / 5 */
#define TIME_LOCK_MIN_S	60
#define TIME_LOCK_MAX_S	604800

/* The request being served. */
struct req_ctx {
	struct safelock_admin_req *req;
	struct safelock_admin_reply *rep;
	struct admin_act act;
	enum safelock_role role[2];	/* of auth[i], once checked */
	bool alarmed;			/* a duress code raised the alarm */
	int alarm_err;			/* and how that went: 0 or -errno */
};

enum auth_kind {
	AUTH_NONE,	/* no code (STATUS, POLICY_GET, INIT) */
	AUTH_ROLES,	/* auth[0] (and auth[1] if dual) of one of .roles */
	AUTH_SELF,	/* auth[0] is target_user */
	AUTH_OWN,	/* the op authorises itself (RECOVER, WIPE) */
};

struct op_desc {
	const char *name;	/* for the log */
	const char *what;	/* "add users": "may not <what>" */
	enum auth_kind auth;
	uint32_t roles;
	bool dual;
	bool changes;		/* audited when done, not only when refused */
	int (*fn)(struct admin_server *srv, struct req_ctx *c);
};

static const struct op_desc op_descs[ADMIN_OP_MAX];

/* clock_behind_s took what was padding: the status layout is unchanged */
_Static_assert(offsetof(struct safelock_admin_status, clock_behind_s) == 20 &&
	       offsetof(struct safelock_admin_status, audit_records) == 24 &&
	       sizeof(struct safelock_admin_status) == 104,
	       "the status reply's layout");

/* ----------------------------------------------------------------- */
/* Clocks, replies, the log                                          */

static uint64_t realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 0;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void (*audit_admin_hook)(const struct admin_act *act);

const char *admin_op_name(uint32_t op)
{
	if (op > ADMIN_OP_UNSPEC && op < ADMIN_OP_MAX)
		return op_descs[op].name;
	return "unknown";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct req_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	c->rep->status = err;
	va_start(ap, fmt);
	vsnprintf(c->rep->message, sizeof(c->rep->message), fmt, ap);
	va_end(ap);
	return err;
}

static uint32_t ms_of_s(uint64_t s)
{
	return s >= UINT32_MAX / 1000 ? UINT32_MAX - 1 : (uint32_t)(s * 1000);
}

void audit_admin(const struct admin_act *a)
{
	char users[24] = "-", target[12] = "-", peer[64] = "";

	if (a->user[0] && a->user[1])
		snprintf(users, sizeof(users), "%03u+%03u", a->user[0], a->user[1]);
	else if (a->user[0])
		snprintf(users, sizeof(users), "%03u", a->user[0]);
	if (a->target)
		snprintf(target, sizeof(target), "%03u", a->target);
	if (a->peer)
		snprintf(peer, sizeof(peer), " from pid %d uid %u gid %u",
			 (int)a->peer->pid, (unsigned int)a->peer->uid,
			 (unsigned int)a->peer->gid);
	fprintf(stderr, "safelockd: audit: admin %s by %s target %s%s: %s%s%s%s%s\n",
		admin_op_name(a->op), users, target, peer,
		a->result == 0 ? "done" :
		a->started ? "started" : "refused",
		a->result && !a->started ? " (" : "",
		a->result && !a->started ? strerror(-a->result) : "",
		a->result && !a->started ? ")" : "",
		a->duress ? " [DURESS code]" : "");
	if (a->reason && a->reason[0])
		fprintf(stderr, "safelockd: audit:   %s\n", a->reason);
	if (audit_admin_hook)
		audit_admin_hook(a);
}

/* ----------------------------------------------------------------- */
/* The vault                                                         */

/*
 * Errors that say something about the request, not about the vault;
 * -EBUSY: the TPM's dictionary-attack lockout, which it answered.
 */
static bool logical_error(int ret)
{
	return ret == -EINVAL || ret == -ENOENT || ret == -EEXIST ||
	       ret == -ENOSPC || ret == -EPERM || ret == -EACCES ||
	       ret == -EAGAIN || ret == -EOPNOTSUPP || ret == -EBUSY;
}

void admin_vault_result(struct admin_server *srv, int ret)
{
	if (ret >= 0 || logical_error(ret)) {
		if (!srv->vault_ok)
			fprintf(stderr, "safelockd: vault answers again\n");
		srv->vault_ok = true;
		srv->vault_err[0] = '\0';
		return;
	}
	srv->vault_ok = false;
	if (strcmp(srv->vault_err, srv->vault->errmsg)) {
		snprintf(srv->vault_err, sizeof(srv->vault_err), "%s",
			 srv->vault->errmsg);
		fprintf(stderr, "safelockd: vault error: %s (%s)\n",
			srv->vault->errmsg[0] ? srv->vault->errmsg : "no reason given",
			strerror(-ret));
	}
}

/* A vault op's result, noted; -EIO-style failures get the vault's reason. */
static int vault_fail(struct admin_server *srv, struct req_ctx *c, int ret,
		      const char *doing)
{
	admin_vault_result(srv, ret);
	if (ret == -EOPNOTSUPP)
		return fail(c, ret, "the %s vault cannot %s", srv->vault->ops->name, doing);
	return fail(c, ret < 0 ? ret : -EIO, "unable to %s: %s", doing,
		    srv->vault->errmsg[0] ? srv->vault->errmsg : strerror(ret < 0 ? -ret : EIO));
}

#define VAULT_HAS(srv, op)	((srv)->vault->ops->op != NULL)
#define NEED_VAULT_OP(srv, c, op, doing) do {				\
		if (!VAULT_HAS(srv, op))				\
			return vault_fail(srv, c, -EOPNOTSUPP, doing);	\
	} while (0)

static bool load_policy(struct admin_server *srv)
{
	struct safelock_admin_policy p;
	int ret;

	if (!VAULT_HAS(srv, policy_load))
		return false;
	memset(&p, 0, sizeof(p));
	ret = srv->vault->ops->policy_load(srv->vault, &p);
	admin_vault_result(srv, ret);
	if (ret < 0)
		return false;
	srv->policy = p;
	srv->policy_loaded = true;
	return true;
}

bool admin_policy_ready(struct admin_server *srv)
{
	return srv->policy_loaded || load_policy(srv);
}

const struct safelock_admin_policy *admin_policy(const struct admin_server *srv)
{
	return &srv->policy;
}

static int provisioned(struct admin_server *srv)
{
	int ret = srv->vault->ops->provisioned(srv->vault);

	admin_vault_result(srv, ret);
	return ret;
}

/* Now on the vault's clock (TPM Clock, ms): 0, or -errno (not read). */
static int vault_now_ms(struct admin_server *srv, uint64_t *ms)
{
	if (!VAULT_HAS(srv, clock_ms)) {
		snprintf(srv->vault->errmsg, sizeof(srv->vault->errmsg),
			 "the vault has no clock");
		return -EOPNOTSUPP;
	}
	return srv->vault->ops->clock_ms(srv->vault, ms);
}

/*
 * The time left (ms) of a recovery delay of @delay_ms that started at
 * @start (as stored: TPM-clock ms | POLICY_PRIV_TPM_MS). Fails closed:
 * a clock that cannot be read (*clock_ok false) or a start on the wall
 * clock (an older safelockd's, to be started again) leave the whole delay.
 */
static uint64_t recovery_left_ms(struct admin_server *srv, uint64_t start,
				 uint64_t delay_ms, bool *clock_ok)
{
	uint64_t now = 0, elapsed;

	*clock_ok = vault_now_ms(srv, &now) == 0;
	if (!*clock_ok || !(start & POLICY_PRIV_TPM_MS))
		return delay_ms;
	start &= ~POLICY_PRIV_TPM_MS;
	/* a clock behind the start (after an unclean stop): nothing passed */
	elapsed = now > start ? now - start : 0;
	return elapsed >= delay_ms ? 0 : delay_ms - elapsed;
}

/* The policy loaded (0), or a failure: the vault has no store, or failed. */
static int need_policy(struct admin_server *srv, struct req_ctx *c)
{
	if (!VAULT_HAS(srv, policy_load))
		return vault_fail(srv, c, -EOPNOTSUPP, "keep a policy");
	if (!admin_policy_ready(srv))	/* load_policy() noted the vault's error */
		return fail(c, -EIO, "unable to read the policy: %s",
			    srv->vault_err[0] ? srv->vault_err : "vault error");
	return 0;
}

/* ----------------------------------------------------------------- */
/* Validation                                                        */

/* The length of @s if NUL-terminated within @size, else -1. */
static long field_len(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);

	return nul ? nul - s : -1;
}

static bool code_ok(const char *s)
{
	return safelock_code_valid(s, strlen(s));
}

static int crockford(int ch)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	const char *p;

	ch = toupper((unsigned char)ch);
	p = ch ? strchr(alphabet, ch) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/*
 * The recovery secret in its canonical form (as recovery_new() writes it:
 * upper case, groups of 4 joined by '-'), from text with or without
 * dashes, in either case. 0, or -EINVAL.
 */
static int recovery_canonical(const char *in, char out[SAFELOCK_RECOVERY_TEXT_SIZE])
{
	size_t n = 0, o = 0;

	for (; *in; in++) {
		if (*in == '-')
			continue;
		if (crockford(*in) < 0 || n >= RECOVERY_CHARS)
			goto bad;
		if (n && n % 4 == 0)
			out[o++] = '-';
		out[o++] = (char)toupper((unsigned char)*in);
		n++;
	}
	if (n != RECOVERY_CHARS)
		goto bad;
	out[o] = '\0';
	return 0;
bad:
	safelock_wipe(out, SAFELOCK_RECOVERY_TEXT_SIZE);
	return -EINVAL;
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static bool user_ok(uint32_t id)
{
	return id >= 1 && id <= SAFELOCK_USER_ID_MAX;
}

/* A role that USER_ADD and USER_SET_ROLE may give: not owner, not none. */
static bool assignable_role(uint32_t role)
{
	return role > SAFELOCK_ROLE_OWNER && role < SAFELOCK_ROLE_MAX;
}

/* Everything that does not depend on the vault or the policy. */
static int validate(struct req_ctx *c, size_t len)
{
	const struct safelock_admin_req *r = c->req;
	char tmp[SAFELOCK_RECOVERY_TEXT_SIZE];
	int i, ret;

	if (len != sizeof(*r))
		return fail(c, -EINVAL, "request is %zu bytes, expected %zu",
			    len, sizeof(*r));
	if (r->magic != SAFELOCK_ADMIN_MAGIC)
		return fail(c, -EINVAL, "bad magic %#x", r->magic);
	if (r->op == ADMIN_OP_UNSPEC || r->op >= ADMIN_OP_MAX)
		return fail(c, -EINVAL, "unknown op %u", r->op);
	if (!all_zero(r->reserved, sizeof(r->reserved)) ||
	    !all_zero(r->policy.reserved, sizeof(r->policy.reserved)))
		return fail(c, -EINVAL, "reserved fields must be zero");
	for (i = 0; i < 2; i++) {
		const struct safelock_admin_auth *a = &r->auth[i];

		if (field_len(a->code, sizeof(a->code)) < 0)
			return fail(c, -EINVAL, "auth[%d] code is not NUL-terminated", i);
		if (a->user_id > SAFELOCK_USER_ID_MAX)
			return fail(c, -EINVAL, "auth[%d] user id must be 1 to %d",
				    i, SAFELOCK_USER_ID_MAX);
		if (!a->user_id && a->code[0])
			return fail(c, -EINVAL, "auth[%d] has a code but no user id", i);
		if (a->user_id && !code_ok(a->code))
			return fail(c, -EINVAL, "auth[%d] code must be %d to %d digits",
				    i, SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
	}
	if (field_len(r->new_code, sizeof(r->new_code)) < 0)
		return fail(c, -EINVAL, "new code is not NUL-terminated");
	if (r->new_code[0] && !code_ok(r->new_code))
		return fail(c, -EINVAL, "new code must be %d to %d digits",
			    SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
	if (field_len(r->recovery, sizeof(r->recovery)) < 0)
		return fail(c, -EINVAL, "recovery secret is not NUL-terminated");
	if (r->recovery[0]) {
		ret = recovery_canonical(r->recovery, tmp);
		safelock_wipe(tmp, sizeof(tmp));
		if (ret)
			return fail(c, -EINVAL, "recovery secret must be %d characters of Crockford base32 (dashes allowed)",
				    RECOVERY_CHARS);
	}
	if (r->target_user > SAFELOCK_USER_ID_MAX)
		return fail(c, -EINVAL, "target user must be 1 to %d", SAFELOCK_USER_ID_MAX);
	if (r->role >= SAFELOCK_ROLE_MAX)
		return fail(c, -EINVAL, "unknown role %u", r->role);

	switch (r->op) {
	case ADMIN_OP_INIT:
		if (!r->new_code[0])
			return fail(c, -EINVAL, "the owner's new code is missing");
		break;
	case ADMIN_OP_RECOVER:
		if (!r->recovery[0] || !r->new_code[0])
			return fail(c, -EINVAL, "recover needs the recovery secret and the owner's new code");
		break;
	case ADMIN_OP_WIPE:
		if (r->auth[0].user_id && r->recovery[0])
			return fail(c, -EINVAL, "give the owner's code or the recovery secret, not both");
		break;
	case ADMIN_OP_USER_ADD:
		if (!assignable_role(r->role))
			return fail(c, -EINVAL, "a new user's role is manager, user, auditor or courier");
		if (!r->new_code[0])
			return fail(c, -EINVAL, "the new user's code is missing");
		/* fall through */
	case ADMIN_OP_USER_DEL:
		if (r->target_user < 2)
			return fail(c, -EINVAL, "target user must be 2 to %d (001 is the owner)",
				    SAFELOCK_USER_ID_MAX);
		break;
	case ADMIN_OP_USER_SET_ROLE:
		if (r->target_user < 2)
			return fail(c, -EINVAL, "the owner's role cannot change");
		if (!assignable_role(r->role))
			return fail(c, -EINVAL, "a role given is manager, user, auditor or courier");
		break;
	case ADMIN_OP_CODE_CHANGE:
		if (!r->new_code[0])
			return fail(c, -EINVAL, "the new code is missing");
		/* fall through */
	case ADMIN_OP_DURESS_SET:
		if (!user_ok(r->target_user) || r->target_user != r->auth[0].user_id)
			return fail(c, -EINVAL, "users change only their own codes: target user must be auth[0]'s");
		break;
	case ADMIN_OP_POLICY_SET: {
		char why[160];

		ret = policy_validate(&r->policy, why, sizeof(why));
		if (ret)
			return fail(c, ret, "%s", why);
		break;
	}
	case ADMIN_OP_TIME_LOCK_NOW:
		if (r->duration_s < TIME_LOCK_MIN_S || r->duration_s > TIME_LOCK_MAX_S)
			return fail(c, -EINVAL, "time lock duration must be %d to %d s",
				    TIME_LOCK_MIN_S, TIME_LOCK_MAX_S);
		break;
	default:
		break;
	}
	return 0;
}

/* ----------------------------------------------------------------- */
/* Authorisation                                                     */

static const char *who_may(uint32_t roles)
{
	if (roles == MANAGERS)
		return "the owner or a manager";
	if (roles == READERS)
		return "the owner, a manager or an auditor";
	return "a user";
}

/*
 * auth[i] was a duress code: somebody is being forced. The silent alarm
 * goes off (once per request), and the audit log says so (audit_admin(),
 * act.duress). A read may go on; anything that changes state is refused
 * with the very reply a wrong code gets (status, message, retry-after), so
 * the coercer learns nothing and the owner loses nothing: no code, duress
 * code, user, role, policy, time lock, fault or vault changes. The vault
 * is not asked anything more: DURESS_SET's "must differ from the code"
 * comparison, which would test a guess of the real code, is never made.
 */
static int duress_used(struct admin_server *srv, struct req_ctx *c, int i,
		       unsigned int retry)
{
	char why[256] = "";
	int ret = -EOPNOTSUPP;

	if (!c->alarmed) {
		c->alarmed = true;
		if (srv->kops && srv->kops->duress_alarm)
			ret = srv->kops->duress_alarm(srv->kctx, c->req->auth[i].user_id,
						      why, sizeof(why));
		c->alarm_err = ret;
		if (ret)
			fprintf(stderr, "safelockd: DURESS code of user %03u at the admin socket: unable to raise the alarm: %s\n",
				c->req->auth[i].user_id,
				why[0] ? why : strerror(-ret));
		else
			fprintf(stderr, "safelockd: DURESS code of user %03u at the admin socket: silent alarm raised\n",
				c->req->auth[i].user_id);
	}
	if (!op_descs[c->req->op].changes)
		return 0;
	c->rep->retry_after_ms = retry;
	return fail(c, -EACCES, "wrong code for user %03u", c->req->auth[i].user_id);
}

/* Check auth[i]'s code with the vault; its role in c->role[i]. */
static int check_code(struct admin_server *srv, struct req_ctx *c, int i)
{
	struct safelock_admin_auth *a = &c->req->auth[i];
	struct vault_throttle st = { 0 };
	struct vault_result res = { 0 };
	unsigned int retry = 0;
	int ret;

	NEED_VAULT_OP(srv, c, check, "check codes");
	/* a try during a penalty is refused here, without a check */
	ret = srv->vault->ops->throttle(srv->vault, a->user_id, &st);
	if (ret < 0 && !logical_error(ret))
		return vault_fail(srv, c, ret, "read the throttle");
	if (ret >= 0 && st.retry_after_ms) {
		c->rep->retry_after_ms = st.retry_after_ms;
		if (st.retry_after_ms == VAULT_RETRY_DISABLED)
			return fail(c, -EAGAIN, "code entry for user %03u is disabled until recovery",
				    a->user_id);
		return fail(c, -EAGAIN, "user %03u must wait %u s after wrong codes",
			    a->user_id, (st.retry_after_ms + 999) / 1000);
	}
	ret = srv->vault->ops->check(srv->vault, a->user_id, a->code,
				     strlen(a->code), &retry, &res);
	safelock_wipe(a->code, sizeof(a->code));
	if (ret == -EBUSY) {
		/*
		 * The TPM's dictionary-attack lockout: no code was checked
		 * nor counted. A lockout, with its wait; not a wrong code.
		 */
		admin_vault_result(srv, ret);
		c->rep->retry_after_ms = retry;
		return fail(c, -EAGAIN, "%s", srv->vault->errmsg);
	}
	if (ret < 0)
		return vault_fail(srv, c, ret, "check the code");
	admin_vault_result(srv, ret);
	if (ret != VAULT_GRANTED) {
		c->rep->retry_after_ms = retry;
		return fail(c, -EACCES, "wrong code for user %03u", a->user_id);
	}
	c->act.user[i] = a->user_id;
	c->act.duress |= res.duress;
	c->role[i] = res.role;
	if (res.duress)
		return duress_used(srv, c, i, retry);
	return 0;
}

static int authorise(struct admin_server *srv, struct req_ctx *c,
		     const struct op_desc *d)
{
	const struct safelock_admin_req *r = c->req;
	int i, n, ret;

	if (d->auth == AUTH_NONE || d->auth == AUTH_OWN)
		return 0;
	n = d->auth == AUTH_ROLES && d->dual && srv->policy.dual_admin ? 2 : 1;
	if (!r->auth[0].user_id)
		return fail(c, -EACCES, "a code is needed: %s may %s",
			    d->auth == AUTH_SELF ? "only the user themselves" : who_may(d->roles),
			    d->what);
	if (n == 1 && r->auth[1].user_id)
		return fail(c, -EINVAL, "a second code is only asked for under dual administration");
	if (n == 2 && !r->auth[1].user_id)
		return fail(c, -EACCES, "dual administration: a second user's code is needed");
	if (n == 2 && r->auth[0].user_id == r->auth[1].user_id)
		return fail(c, -EACCES, "dual administration needs two different users");
	for (i = 0; i < n; i++) {
		ret = check_code(srv, c, i);
		if (ret)
			return ret;
		if (!(d->roles & (1u << c->role[i])))
			return fail(c, -EPERM, "user %03u is %s %s: only %s may %s",
				    r->auth[i].user_id,
				    c->role[i] == SAFELOCK_ROLE_AUDITOR ? "an" : "a",
				    safelock_role_name(c->role[i]), who_may(d->roles), d->what);
	}
	return 0;
}

/* ----------------------------------------------------------------- */
/* Operations                                                        */

static int push_policy(struct admin_server *srv, const struct safelock_admin_policy *p,
		       char *why, size_t len)
{
	why[0] = '\0';
	if (!srv->kops || !srv->kops->policy_push)
		return -ENOTCONN;
	return srv->kops->policy_push(srv->kctx, p, why, len);
}

static void tell_kernel(struct admin_server *srv, bool prov)
{
	char why[256];
	int ret;

	if (srv->kops && srv->kops->provisioned)
		srv->kops->provisioned(srv->kctx, prov);
	if (!admin_policy_ready(srv))
		return;
	ret = push_policy(srv, &srv->policy, why, sizeof(why));
	if (ret && ret != -ENOTCONN)
		fprintf(stderr, "safelockd: unable to push the policy: %s\n",
			why[0] ? why : strerror(-ret));
}

static int door_must_be_open(struct admin_server *srv, struct req_ctx *c)
{
	char why[200] = "";
	int ret = -ENODEV;

	if (srv->kops && srv->kops->door_open)
		ret = srv->kops->door_open(srv->kctx, why, sizeof(why));
	if (ret == 1)
		return 0;
	if (ret == 0)
		return fail(c, -EPERM, "the door is closed%s%s: open it first",
			    why[0] ? ": " : "", why);
	return fail(c, ret < 0 ? ret : -ENODEV, "door state unknown%s%s",
		    why[0] ? ": " : "", why);
}

static int op_status(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_status *st = &c->rep->status_info;
	uint64_t start = policy_recovery_start(&srv->policy), left;
	uint32_t min_retry = 0;
	bool clock_ok = true;
	size_t i, n = 0;
	int prov, ret;

	prov = provisioned(srv);
	/* damaged, or not answering: secured, never shown as a new lock */
	st->provisioned = prov != SAFELOCK_VAULT_EMPTY;
	if (VAULT_HAS(srv, user_list) && prov == SAFELOCK_VAULT_OWNED) {
		ret = srv->vault->ops->user_list(srv->vault, srv->users,
						 SAFELOCK_ADMIN_USERS_MAX, &n);
		admin_vault_result(srv, ret);
		if (ret < 0)
			n = 0;
	}
	for (i = 0; i < n; i++) {
		if (!i || srv->users[i].throttle.retry_after_ms < min_retry)
			min_retry = srv->users[i].throttle.retry_after_ms;
	}
	st->n_users = (uint32_t)n;
	st->global_failures = n ? srv->users[0].throttle.global_failures : 0;
	st->retry_after_ms = min_retry;
	st->vault_ok = srv->vault_ok;
	st->registered = srv->kops && srv->kops->registered &&
			 srv->kops->registered(srv->kctx);
	if (start) {
		st->recovery_pending = 1;
		left = recovery_left_ms(srv, start,
					ms_of_s(srv->policy.recovery_delay_s),
					&clock_ok);
		st->recovery_left_s = (uint32_t)((left + 999) / 1000);
	}
	/* what a VERIFY would meet now (verify_decide()) */
	if (policy_schedules(&srv->policy)) {
		uint64_t behind = 0;

		switch (policy_clock_check(srv->vault, srv->now_s(), &behind)) {
		case CLOCK_TRUSTED:
			break;
		case CLOCK_BEHIND:
			st->clock_behind_s = behind >= SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE ?
					     SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE - 1 :
					     (uint32_t)behind;
			break;
		case CLOCK_UNVERIFIABLE:
			st->clock_behind_s = SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE;
			break;
		}
	}
	if (srv->audit_counts)
		srv->audit_counts(srv->audit_ctx, &st->audit_records, &st->audit_lost);
	snprintf(st->tcti, sizeof(st->tcti), "%s", srv->tcti ? srv->tcti : "");
	if (!srv->vault_ok)
		snprintf(c->rep->message, sizeof(c->rep->message), "vault: %s",
			 srv->vault_err[0] ? srv->vault_err : "not answering");
	else if (prov == SAFELOCK_VAULT_DAMAGED)
		snprintf(c->rep->message, sizeof(c->rep->message),
			 "vault damaged: %s", srv->vault->errmsg);
	else if (!clock_ok)
		snprintf(c->rep->message, sizeof(c->rep->message),
			 "unable to read the TPM clock: the whole recovery delay is shown as left");
	return 0;
}

static int op_init(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_req *r = c->req;
	char text[SAFELOCK_RECOVERY_TEXT_SIZE];
	int ret;

	c->act.target = 1;
	ret = door_must_be_open(srv, c);
	if (ret)
		return ret;
	NEED_VAULT_OP(srv, c, user_add, "enrol the owner");
	NEED_VAULT_OP(srv, c, recovery_new, "make a recovery secret");
	ret = provisioned(srv);
	if (ret < 0)
		return vault_fail(srv, c, ret, "read the vault");
	if (ret == SAFELOCK_VAULT_DAMAGED)
		return fail(c, -EEXIST, "the vault is damaged: restore vault.tab or recover; init would destroy the owner's lock%s%s",
			    srv->vault->errmsg[0] ? ": " : "", srv->vault->errmsg);
	if (ret != SAFELOCK_VAULT_EMPTY)
		return fail(c, -EEXIST, "already initialised: only a wipe (door open, the owner's code or the recovery secret) starts again");
	ret = srv->vault->ops->user_add(srv->vault, 1, SAFELOCK_ROLE_OWNER,
					r->new_code, strlen(r->new_code));
	if (ret)
		return vault_fail(srv, c, ret, "enrol the owner");
	ret = srv->vault->ops->recovery_new(srv->vault, text);
	if (ret) {
		vault_fail(srv, c, ret, "make a recovery secret");
		/* all or nothing: back to unprovisioned */
		if ((!VAULT_HAS(srv, user_del) || srv->vault->ops->user_del(srv->vault, 1)) &&
		    (!VAULT_HAS(srv, wipe) || srv->vault->ops->wipe(srv->vault)))
			fprintf(stderr, "safelockd: unable to undo the owner's enrolment: %s\n",
				srv->vault->errmsg);
		safelock_wipe(text, sizeof(text));
		return c->rep->status;
	}
	memcpy(c->rep->recovery, text, sizeof(c->rep->recovery));
	safelock_wipe(text, sizeof(text));
	srv->policy_loaded = false;
	if (!load_policy(srv))
		policy_defaults(&srv->policy);
	tell_kernel(srv, true);
	return 0;
}

/* The recovery secret of the request, checked: 0 or a failure. */
static int check_recovery(struct admin_server *srv, struct req_ctx *c)
{
	char text[SAFELOCK_RECOVERY_TEXT_SIZE];
	unsigned int retry = 0;
	int ret;

	NEED_VAULT_OP(srv, c, recovery_check, "check the recovery secret");
	ret = recovery_canonical(c->req->recovery, text);
	safelock_wipe(c->req->recovery, sizeof(c->req->recovery));
	if (ret)
		return fail(c, -EINVAL, "malformed recovery secret");
	ret = srv->vault->ops->recovery_check(srv->vault, text, &retry);
	safelock_wipe(text, sizeof(text));
	if (ret < 0)
		return vault_fail(srv, c, ret, "check the recovery secret");
	admin_vault_result(srv, ret);
	if (ret != VAULT_GRANTED) {
		c->rep->retry_after_ms = retry;
		return fail(c, -EACCES, "recovery secret refused%s",
			    retry ? " (wait before the next try)" : "");
	}
	return 0;
}

static int store_recovery_start(struct admin_server *srv, struct req_ctx *c,
				uint64_t start)
{
	struct safelock_admin_policy p = srv->policy;
	int ret;

	NEED_VAULT_OP(srv, c, policy_store, "store the recovery delay");
	policy_set_recovery_start(&p, start);
	ret = srv->vault->ops->policy_store(srv->vault, &p);
	if (ret)
		return vault_fail(srv, c, ret, "store the recovery delay");
	srv->policy = p;
	return 0;
}

/*
 * A new recovery secret into the reply (RECOVER, RECOVERY_NEW); the
 * vault keeps the old one on failure, and the message says so after
 * @what (what is done, and what is not).
 */
static int new_secret(struct admin_server *srv, struct req_ctx *c, const char *what)
{
	char text[SAFELOCK_RECOVERY_TEXT_SIZE];
	int ret;

	ret = srv->vault->ops->recovery_new(srv->vault, text);
	if (ret) {
		safelock_wipe(text, sizeof(text));
		vault_fail(srv, c, ret, "make a new recovery secret");
		return fail(c, c->rep->status, "%s (the old one still works): %s", what,
			    srv->vault->errmsg);
	}
	memcpy(c->rep->recovery, text, sizeof(c->rep->recovery));
	safelock_wipe(text, sizeof(text));
	return 0;
}

static int op_recover(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_req *r = c->req;
	uint64_t start, now, delay, left;
	bool clock_ok;
	int ret;

	c->act.target = 1;
	NEED_VAULT_OP(srv, c, code_change, "change the owner's code");
	NEED_VAULT_OP(srv, c, recovery_new, "make a recovery secret");
	ret = provisioned(srv);
	if (ret < 0)
		return vault_fail(srv, c, ret, "read the vault");
	if (ret == 0)
		return fail(c, -ENOENT, "not initialised: nothing to recover");
	ret = need_policy(srv, c);
	if (ret)
		return ret;
	ret = check_recovery(srv, c);
	if (ret)
		return ret;
	delay = srv->policy.recovery_delay_s;
	start = policy_recovery_start(&srv->policy);
	if (delay) {
		/*
		 * Measured on the TPM's clock, not the wall clock: setting
		 * the time forward skips nothing. A start on the wall clock
		 * (older safelockd) starts again.
		 */
		if (!(start & POLICY_PRIV_TPM_MS)) {
			ret = vault_now_ms(srv, &now);
			if (ret)
				return vault_fail(srv, c, ret,
						  "read the TPM clock to start the recovery delay");
			ret = store_recovery_start(srv, c, now | POLICY_PRIV_TPM_MS);
			if (ret)
				return ret;
			c->act.started = true;
			c->rep->retry_after_ms = ms_of_s(delay);
			return fail(c, -EINPROGRESS, "recovery delay started: ask again in %llu s; any user's code cancels it",
				    (unsigned long long)delay);
		}
		left = recovery_left_ms(srv, start, ms_of_s(delay), &clock_ok);
		if (!clock_ok) {
			c->rep->retry_after_ms = ms_of_s(delay);
			return fail(c, -EINPROGRESS, "recovery delay: unable to read the TPM clock (%s): counted as not over",
				    srv->vault->errmsg);
		}
		if (left) {
			c->rep->retry_after_ms = (uint32_t)left;
			return fail(c, -EINPROGRESS, "recovery delay: %llu s left",
				    (unsigned long long)((left + 999) / 1000));
		}
	}
	ret = srv->vault->ops->code_change(srv->vault, 1, r->new_code,
					   strlen(r->new_code));
	if (ret)
		return vault_fail(srv, c, ret, "change the owner's code");
	if (start)
		store_recovery_start(srv, c, 0);
	c->rep->status = 0;
	c->rep->message[0] = '\0';
	return new_secret(srv, c,
			  "the owner's code is changed, but no new recovery secret was made");
}

static int op_recover_cancel(struct admin_server *srv, struct req_ctx *c)
{
	if (!policy_recovery_start(&srv->policy))
		return fail(c, -ENOENT, "no recovery is pending");
	return store_recovery_start(srv, c, 0);
}

static int op_wipe(struct admin_server *srv, struct req_ctx *c)
{
	int ret;

	ret = door_must_be_open(srv, c);
	if (ret)
		return ret;
	NEED_VAULT_OP(srv, c, wipe, "wipe");
	ret = provisioned(srv);
	if (ret < 0)
		return vault_fail(srv, c, ret, "read the vault");
	if (ret == 0)
		return fail(c, -ENOENT, "not initialised: nothing to wipe");
	if (c->req->recovery[0]) {
		ret = check_recovery(srv, c);
	} else if (!c->req->auth[0].user_id) {
		ret = fail(c, -EACCES, "the owner's code or the recovery secret is needed");
	} else {
		ret = check_code(srv, c, 0);
		if (!ret && c->role[0] != SAFELOCK_ROLE_OWNER)
			ret = fail(c, -EPERM, "only the owner (or the recovery secret) may wipe");
	}
	if (ret)
		return ret;
	ret = srv->vault->ops->wipe(srv->vault);
	if (ret)
		return vault_fail(srv, c, ret, "wipe the vault");
	srv->policy_loaded = false;
	if (!load_policy(srv))
		policy_defaults(&srv->policy);
	tell_kernel(srv, false);
	return 0;
}

/*
 * Would the users left after replacing @target's role by @role (NONE:
 * deleted) still satisfy the policy? dual_admin needs two owners or
 * managers, dual_control two users who open: otherwise administration, or
 * opening, would be impossible.
 */
static int policy_still_possible(struct admin_server *srv, struct req_ctx *c,
				 const struct safelock_admin_policy *p,
				 unsigned int target, enum safelock_role role)
{
	unsigned int managers = 0, openers = 0;
	size_t i, n = 0;
	int ret;

	if (!p->dual_admin && !p->dual_control)
		return 0;
	NEED_VAULT_OP(srv, c, user_list, "list users");
	ret = srv->vault->ops->user_list(srv->vault, srv->users,
					 SAFELOCK_ADMIN_USERS_MAX, &n);
	if (ret)
		return vault_fail(srv, c, ret, "list users");
	for (i = 0; i < n; i++) {
		enum safelock_role r = srv->users[i].user_id == target ?
				       role : srv->users[i].role;

		managers += !!(MANAGERS & (1u << r));
		openers += !!(OPENERS & (1u << r));
	}
	if (p->dual_admin && managers < 2)
		return fail(c, -EPERM, "dual administration needs two owners or managers%s",
			    target ? ": this would leave fewer" : "");
	if (p->dual_control && openers < 2)
		return fail(c, -EPERM, "dual control needs two users who can open%s",
			    target ? ": this would leave fewer" : "");
	return 0;
}

static int op_user_add(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_req *r = c->req;
	int ret;

	c->act.target = r->target_user;
	NEED_VAULT_OP(srv, c, user_add, "add users");
	ret = srv->vault->ops->user_add(srv->vault, r->target_user, r->role,
					r->new_code, strlen(r->new_code));
	if (ret == -EEXIST)
		return fail(c, ret, "user %03u exists", r->target_user);
	if (ret == -ENOSPC)
		return fail(c, ret, "the vault has no room for another user");
	if (ret)
		return vault_fail(srv, c, ret, "add the user");
	return 0;
}

static int op_user_del(struct admin_server *srv, struct req_ctx *c)
{
	unsigned int t = c->req->target_user;
	int ret;

	c->act.target = t;
	NEED_VAULT_OP(srv, c, user_del, "delete users");
	ret = policy_still_possible(srv, c, &srv->policy, t, SAFELOCK_ROLE_NONE);
	if (ret)
		return ret;
	ret = srv->vault->ops->user_del(srv->vault, t);
	if (ret == -ENOENT)
		return fail(c, ret, "no user %03u", t);
	if (ret)
		return vault_fail(srv, c, ret, "delete the user");
	return 0;
}

static int op_user_set_role(struct admin_server *srv, struct req_ctx *c)
{
	unsigned int t = c->req->target_user;
	int ret;

	c->act.target = t;
	NEED_VAULT_OP(srv, c, user_set_role, "change roles");
	ret = policy_still_possible(srv, c, &srv->policy, t, c->req->role);
	if (ret)
		return ret;
	ret = srv->vault->ops->user_set_role(srv->vault, t, c->req->role);
	if (ret == -ENOENT)
		return fail(c, ret, "no user %03u", t);
	if (ret)
		return vault_fail(srv, c, ret, "change the role");
	return 0;
}

static int op_user_list(struct admin_server *srv, struct req_ctx *c)
{
	size_t i, n = 0;
	int ret;

	NEED_VAULT_OP(srv, c, user_list, "list users");
	ret = srv->vault->ops->user_list(srv->vault, srv->users,
					 SAFELOCK_ADMIN_USERS_MAX, &n);
	if (ret)
		return vault_fail(srv, c, ret, "list users");
	for (i = 0; i < n && i < SAFELOCK_ADMIN_USERS_MAX; i++) {
		struct safelock_admin_user *u = &c->rep->users[i];

		u->user_id = srv->users[i].user_id;
		u->role = srv->users[i].role;
		u->failures = srv->users[i].throttle.user_failures;
		u->retry_after_ms = srv->users[i].throttle.retry_after_ms;
		u->has_duress = srv->users[i].has_duress;
	}
	c->rep->n_users = (uint32_t)i;
	return 0;
}

static int op_code_change(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_req *r = c->req;
	int ret;

	c->act.target = r->target_user;
	NEED_VAULT_OP(srv, c, code_change, "change codes");
	ret = srv->vault->ops->code_change(srv->vault, r->target_user,
					   r->new_code, strlen(r->new_code));
	if (ret == -EINVAL)
		return fail(c, ret, "the vault refused the new code: %s",
			    srv->vault->errmsg);
	if (ret)
		return vault_fail(srv, c, ret, "change the code");
	return 0;
}

static int op_duress_set(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_req *r = c->req;
	size_t len = strlen(r->new_code);
	int ret;

	c->act.target = r->target_user;
	NEED_VAULT_OP(srv, c, duress_set, "set duress codes");
	ret = srv->vault->ops->duress_set(srv->vault, r->target_user,
					  r->new_code, len);
	if (ret == -EINVAL)
		return fail(c, ret, "the duress code must be %d to %d digits and differ from the user's code",
			    SAFELOCK_CODE_MIN_DIGITS, SAFELOCK_CODE_MAX_DIGITS);
	if (ret)
		return vault_fail(srv, c, ret, "set the duress code");
	return 0;
}

static int op_policy_get(struct admin_server *srv, struct req_ctx *c)
{
	int ret = need_policy(srv, c);

	if (ret)
		return ret;
	c->rep->policy = srv->policy;
	memset(c->rep->policy.reserved, 0, sizeof(c->rep->policy.reserved));
	return 0;
}

static int op_policy_set(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_policy old, p = c->req->policy;
	char why[256];
	int ret, rb;

	NEED_VAULT_OP(srv, c, policy_store, "store a policy");
	ret = need_policy(srv, c);
	if (ret)
		return ret;
	old = srv->policy;
	ret = policy_still_possible(srv, c, &p, 0, SAFELOCK_ROLE_NONE);
	if (ret)
		return ret;
	/* safelockd's own words (a pending recovery) stay as they are */
	memcpy(p.reserved, old.reserved, sizeof(p.reserved));
	/* with a zone, the offset stored is its offset now: the fallback */
	if (p.time_zone[0])
		p.utc_offset_s = policy_offset_at(&p, (int64_t)srv->now_s());
	ret = srv->vault->ops->policy_store(srv->vault, &p);
	if (ret)
		return vault_fail(srv, c, ret, "store the policy");
	ret = push_policy(srv, &p, why, sizeof(why));
	if (ret && ret != -ENOTCONN) {
		rb = srv->vault->ops->policy_store(srv->vault, &old);
		admin_vault_result(srv, rb);
		if (rb) {
			/* the vault keeps the new one: push it when we can */
			srv->policy = p;
			fprintf(stderr, "safelockd: unable to restore the policy after the kernel refused it: %s\n",
				srv->vault->errmsg);
		}
		return fail(c, ret, "the kernel refused the policy: %s%s",
			    why[0] ? why : strerror(-ret),
			    rb ? " (and the vault could not restore the old one)" : "");
	}
	srv->policy = p;
	c->rep->policy = p;
	memset(c->rep->policy.reserved, 0, sizeof(c->rep->policy.reserved));
	if (ret == -ENOTCONN)
		snprintf(c->rep->message, sizeof(c->rep->message),
			 "stored; the lock gets it when safelockd registers with the kernel");
	return 0;
}

static int op_audit_verify(struct admin_server *srv, struct req_ctx *c)
{
	char what[256] = "";
	int ret;

	if (!srv->audit_verify)
		return fail(c, -EOPNOTSUPP, "this safelockd keeps no audit log");
	ret = srv->audit_verify(srv->audit_ctx, &c->rep->audit, what, sizeof(what));
	snprintf(c->rep->message, sizeof(c->rep->message), "%s", what);
	if (ret)
		return fail(c, ret, "unable to verify the audit log: %s",
			    what[0] ? what : strerror(-ret));
	return 0;
}

static int op_fault_clear(struct admin_server *srv, struct req_ctx *c)
{
	char why[256] = "";
	int ret = -EOPNOTSUPP;

	if (srv->kops && srv->kops->fault_clear)
		ret = srv->kops->fault_clear(srv->kctx, why, sizeof(why));
	if (ret)
		return fail(c, ret, "%s", why[0] ? why : "the kernel did not clear the fault");
	return 0;
}

/*
 * The end is stored with the policy first (the vault authenticates it), so
 * that a reboot, a power cut or a module reload cannot lift the time lock:
 * safelockd pushes it again with the policy. Only extended, never
 * shortened; the store is undone if the kernel refuses.
 */
static int op_time_lock_now(struct admin_server *srv, struct req_ctx *c)
{
	struct safelock_admin_policy old, p;
	uint64_t until, now, cur;
	char why[256] = "";
	int ret = -EOPNOTSUPP, rb;

	NEED_VAULT_OP(srv, c, policy_store, "store the time lock");
	ret = need_policy(srv, c);
	if (ret)
		return ret;
	/* on the TPM's clock: a wall clock set forward shortens nothing */
	ret = vault_now_ms(srv, &now);
	if (ret)
		return vault_fail(srv, c, ret, "read the TPM clock for the time lock");
	old = p = srv->policy;
	until = now + ms_of_s(c->req->duration_s);
	cur = policy_time_lock_until(&p);
	if (cur && !(cur & POLICY_PRIV_TPM_MS))	/* older safelockd's: s */
		cur = cur > srv->now_s() ?
		      now + ms_of_s((uint32_t)(cur - srv->now_s() > SAFELOCK_TIME_LOCK_MAX_S ?
					       SAFELOCK_TIME_LOCK_MAX_S : cur - srv->now_s())) : 0;
	else
		cur &= ~POLICY_PRIV_TPM_MS;
	/* bad input changes nothing and says so: never a silent no-op */
	if (cur > now && until < cur)
		return fail(c, -EPERM,
			    "the immediate time lock can only be extended: %llu s are left",
			    (unsigned long long)((cur - now + 999) / 1000));
	policy_set_time_lock_until(&p, (until > cur ? until : cur) | POLICY_PRIV_TPM_MS);
	ret = srv->vault->ops->policy_store(srv->vault, &p);
	if (ret)
		return vault_fail(srv, c, ret, "store the time lock");
	ret = -EOPNOTSUPP;
	if (srv->kops && srv->kops->time_lock_now)
		ret = srv->kops->time_lock_now(srv->kctx, c->req->duration_s,
					       why, sizeof(why));
	if (ret) {
		rb = srv->vault->ops->policy_store(srv->vault, &old);
		admin_vault_result(srv, rb);
		return fail(c, ret, "%s", why[0] ? why : "the kernel did not take the time lock");
	}
	srv->policy = p;
	return 0;
}

/*
 * A new recovery secret by the owner's code (re-split among trustees: the
 * shares are made by safelockctl from the secret in the reply). The
 * vault's recovery_new() keeps the old secret unless the new one is
 * sealed and stored, so a failure changes nothing. A recovery delay
 * running is cancelled first (as any user's code may): started with the
 * old secret, it must not shorten the delay of the new one.
 */
static int op_recovery_new(struct admin_server *srv, struct req_ctx *c)
{
	int ret;

	c->act.target = 1;
	NEED_VAULT_OP(srv, c, recovery_new, "make a recovery secret");
	ret = need_policy(srv, c);
	if (!ret && policy_recovery_start(&srv->policy))
		ret = store_recovery_start(srv, c, 0);
	if (ret)
		return ret;
	return new_secret(srv, c, "no new recovery secret was made");
}

static const struct op_desc op_descs[ADMIN_OP_MAX] = {
	[ADMIN_OP_STATUS] = { "status", "read the status", AUTH_NONE, 0, false, false, op_status },
	[ADMIN_OP_INIT] = { "init", "initialise", AUTH_NONE, 0, false, true, op_init },
	[ADMIN_OP_RECOVER] = { "recover", "recover", AUTH_OWN, 0, false, true, op_recover },
	[ADMIN_OP_RECOVER_CANCEL] = { "recover-cancel", "cancel a recovery",
				      AUTH_ROLES, ANY_ROLE, false, true, op_recover_cancel },
	[ADMIN_OP_WIPE] = { "wipe", "wipe", AUTH_OWN, 0, false, true, op_wipe },
	[ADMIN_OP_USER_ADD] = { "user-add", "add users", AUTH_ROLES, MANAGERS, true, true,
				op_user_add },
	[ADMIN_OP_USER_DEL] = { "user-del", "delete users", AUTH_ROLES, MANAGERS, true, true,
				op_user_del },
	[ADMIN_OP_USER_LIST] = { "user-list", "list users", AUTH_ROLES, READERS, false, false,
				 op_user_list },
	[ADMIN_OP_USER_SET_ROLE] = { "user-set-role", "change roles", AUTH_ROLES, MANAGERS,
				     true, true, op_user_set_role },
	[ADMIN_OP_CODE_CHANGE] = { "code-change", "change a code", AUTH_SELF, ANY_ROLE,
				   false, true, op_code_change },
	[ADMIN_OP_DURESS_SET] = { "duress-set", "set a duress code", AUTH_SELF, ANY_ROLE,
				  false, true, op_duress_set },
	[ADMIN_OP_POLICY_GET] = { "policy-get", "read the policy", AUTH_NONE, 0, false, false,
				  op_policy_get },
	[ADMIN_OP_POLICY_SET] = { "policy-set", "set the policy", AUTH_ROLES, MANAGERS, true,
				  true, op_policy_set },
	[ADMIN_OP_AUDIT_VERIFY] = { "audit-verify", "verify the audit log", AUTH_ROLES,
				    READERS, false, false, op_audit_verify },
	[ADMIN_OP_FAULT_CLEAR] = { "fault-clear", "clear a fault", AUTH_ROLES, MANAGERS, true,
				   true, op_fault_clear },
	[ADMIN_OP_TIME_LOCK_NOW] = { "time-lock-now", "start a time lock", AUTH_ROLES, MANAGERS,
				     true, true, op_time_lock_now },
	[ADMIN_OP_RECOVERY_NEW] = { "recovery-new", "make a new recovery secret", AUTH_ROLES,
				    R(OWNER), false, true, op_recovery_new },
};

/* ----------------------------------------------------------------- */
/* One request                                                       */

/*
 * A vault that could not be opened (vault_config.keep_trying) answers
 * nothing: every op but STATUS is refused with why, before any code is
 * looked at. Asked only once the vault has failed (vault_ok false), and
 * provisioned() may find it open now.
 */
static int vault_open(struct admin_server *srv, struct req_ctx *c)
{
	if (c->req->op == ADMIN_OP_STATUS || srv->vault_ok ||
	    provisioned(srv) != -ENODEV)
		return 0;
	return fail(c, -ENODEV, "%s", srv->vault->errmsg[0] ? srv->vault->errmsg :
		    "the vault cannot be opened");
}

/*
 * Does the authorised request @c vouch for the wall clock, so that the
 * commits it makes anchor it to the vault's clock (vault_ops.clock_vouch)?
 * INIT (the door is open, a new owner), RECOVER (the owner's recovery
 * secret), and any request with the owner's own code (not a duress code,
 * which is refused anyway). Only these: the anchor sets the lower bound
 * the schedule is guarded by, and the owner's word alone may lower it
 * (the way back from a clock that was set too far forward).
 */
static bool vouches(const struct admin_server *srv, const struct req_ctx *c)
{
	int i;

	if (!VAULT_HAS(srv, clock_vouch) || c->act.duress)
		return false;
	if (c->req->op == ADMIN_OP_INIT || c->req->op == ADMIN_OP_RECOVER)
		return true;
	for (i = 0; i < 2; i++)
		if (c->act.user[i] && c->role[i] == SAFELOCK_ROLE_OWNER)
			return true;
	return false;
}

/* @buf holds @buflen bytes of a message of @msglen bytes (more if cut). */
static int handle(struct admin_server *srv, void *buf, size_t buflen,
		  size_t msglen, const struct ucred *peer,
		  struct safelock_admin_reply *rep)
{
	struct req_ctx c = {
		.req = buf, .rep = rep,
		.act = { .peer = peer },
	};
	const struct op_desc *d = NULL;
	int ret;

	memset(rep, 0, sizeof(*rep));
	rep->magic = SAFELOCK_ADMIN_MAGIC;
	if (buflen >= 2 * sizeof(uint32_t))
		rep->op = c.req->op;
	c.act.op = rep->op;
	ret = validate(&c, msglen);
	if (!ret) {
		d = &op_descs[c.req->op];
		c.act.target = c.req->target_user;	/* refusals name it too */
		ret = vault_open(srv, &c);
	}
	if (!ret)
		ret = authorise(srv, &c, d);
	if (!ret) {
		bool vouch = vouches(srv, &c);

		if (vouch)
			srv->vault->ops->clock_vouch(srv->vault, srv->now_s());
		ret = d->fn(srv, &c);
		if (vouch)
			srv->vault->ops->clock_vouch(srv->vault, 0);
		/* an op may leave a note in message with success */
		rep->status = ret;
	}
	safelock_wipe(buf, buflen);
	c.act.result = rep->status;
	c.act.alarm_err = c.alarm_err;
	/* a duress code is recorded even when it only read */
	if (rep->status || (d && d->changes) || c.act.duress) {
		c.act.reason = rep->message;
		audit_admin(&c.act);
	}
	return rep->status;
}

int admin_handle(struct admin_server *srv, void *buf, size_t len,
		 const struct ucred *peer, struct safelock_admin_reply *rep)
{
	return handle(srv, buf, len, len, peer, rep);
}

/* ----------------------------------------------------------------- */
/* The socket                                                        */

void admin_init(struct admin_server *srv, struct vault *v,
		const struct admin_kernel_ops *kops, void *kctx)
{
	unsigned int i;

	memset(srv, 0, sizeof(*srv));
	srv->vault = v;
	srv->kops = kops;
	srv->kctx = kctx;
	srv->listen_fd = -1;
	srv->vault_ok = true;
	srv->now_s = realtime_s;
	srv->now_ms = monotonic_ms;
	for (i = 0; i < ADMIN_MAX_CLIENTS; i++)
		srv->clients[i].fd = -1;
	policy_defaults(&srv->policy);
	load_policy(srv);
}

static int lookup_group(const char *name, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long n;

	g = getgrnam(name);
	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	n = strtoul(name, &end, 10);
	if (*name >= '0' && *name <= '9' && !*end && !errno && n < UINT_MAX) {
		*gid = (gid_t)n;
		return 0;
	}
	return -ENOENT;
}

__attribute__((format(printf, 4, 5)))
static int listen_err(int ret, char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

/* The socket's directory: created 0750 if missing; ours: given the group. */
static int admin_dir(const char *path, gid_t gid, char *err, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) && errno != EEXIST)
		return listen_err(-errno, err, len, "unable to create %s: %s", dir,
				  strerror(errno));
	if (stat(dir, &st))
		return listen_err(-errno, err, len, "unable to stat %s: %s", dir,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return listen_err(-ENOTDIR, err, len, "%s is not a directory", dir);
	if (st.st_uid != geteuid())
		return 0;
	if (chmod(dir, 0750) ||
	    (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid)))
		return listen_err(-errno, err, len, "unable to give %s mode 0750 and its group: %s",
				  dir, strerror(errno));
	return 0;
}

int admin_listen(struct admin_server *srv, const char *path,
		 const char *group, char *err, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gid_t gid = (gid_t)-1;
	struct stat st;
	mode_t old;
	int fd, probe, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return listen_err(-ENAMETOOLONG, err, len, "%s: path too long", path);
	if (group && lookup_group(group, &gid))
		return listen_err(-ENOENT, err, len, "no group %s", group);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ret = admin_dir(path, gid, err, len);
	if (ret)
		return ret;

	/* a live socket is another safelockd's; a dead one is replaced */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return listen_err(-EEXIST, err, len, "%s exists and is not a socket", path);
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			return listen_err(-EADDRINUSE, err, len,
					  "%s: another safelockd is serving it", path);
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path))
			return listen_err(-errno, err, len, "unable to remove the stale %s: %s",
					  path, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return listen_err(-errno, err, len, "socket: %s", strerror(errno));
	old = umask(0117);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || chmod(path, 0660) ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid)) || listen(fd, 8)) {
		ret = -errno;
		close(fd);
		return listen_err(ret, err, len, "unable to listen on %s: %s", path,
				  strerror(-ret));
	}
	srv->listen_fd = fd;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->unlink_on_close = true;
	return 0;
}

static void drop_client(struct admin_client *cl)
{
	close(cl->fd);
	cl->fd = -1;
}

void admin_close(struct admin_server *srv)
{
	unsigned int i;

	for (i = 0; i < ADMIN_MAX_CLIENTS; i++)
		if (srv->clients[i].fd >= 0)
			drop_client(&srv->clients[i]);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
	/* after the sandbox this may fail (root's directory): the next start replaces it */
	if (srv->unlink_on_close)
		unlink(srv->path);
	srv->unlink_on_close = false;
	safelock_wipe(srv->rx, sizeof(srv->rx));
	safelock_wipe(&srv->reply, sizeof(srv->reply));
}

static bool held(struct admin_server *srv)
{
	return srv->hold_until_ms && srv->now_ms() < srv->hold_until_ms;
}

void admin_hold(struct admin_server *srv, bool on)
{
	srv->hold_until_ms = on ? srv->now_ms() + ADMIN_HOLD_MS : 0;
}

int admin_poll_timeout(struct admin_server *srv)
{
	uint64_t now;

	if (!held(srv))
		return -1;
	now = srv->now_ms();
	return (int)(srv->hold_until_ms - now) + 1;
}

int admin_pollfds(struct admin_server *srv, struct pollfd *pfd, int max)
{
	unsigned int i, free_slots = 0;
	int n = 0;
	bool hold = held(srv);

	for (i = 0; i < ADMIN_MAX_CLIENTS; i++) {
		if (srv->clients[i].fd < 0) {
			free_slots++;
			continue;
		}
		if (n < max)
			pfd[n++] = (struct pollfd){
				.fd = srv->clients[i].fd,
				/* held: only notice a client going away */
				.events = hold ? 0 : POLLIN,
			};
	}
	if (srv->listen_fd >= 0 && free_slots && n < max)
		pfd[n++] = (struct pollfd){ .fd = srv->listen_fd, .events = POLLIN };
	return n;
}

static void accept_clients(struct admin_server *srv)
{
	socklen_t sl;
	unsigned int i;
	int fd;

	for (i = 0; i < ADMIN_MAX_CLIENTS; i++) {
		if (srv->clients[i].fd >= 0)
			continue;
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fprintf(stderr, "safelockd: unable to accept an admin connection: %s\n",
					strerror(errno));
			return;
		}
		srv->clients[i].fd = fd;
		memset(&srv->clients[i].peer, 0, sizeof(srv->clients[i].peer));
		srv->clients[i].peer.pid = -1;
		sl = sizeof(srv->clients[i].peer);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &srv->clients[i].peer, &sl))
			fprintf(stderr, "safelockd: admin connection without SO_PEERCRED: %s\n",
				strerror(errno));
	}
}

/* Receive, serve and answer one request of @cl. */
static void serve(struct admin_server *srv, struct admin_client *cl)
{
	ssize_t n;

	n = recv(cl->fd, srv->rx, sizeof(srv->rx), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		safelock_wipe(srv->rx, sizeof(srv->rx));
		drop_client(cl);
		return;
	}
	handle(srv, srv->rx, (size_t)n < sizeof(srv->rx) ? (size_t)n : sizeof(srv->rx),
	       (size_t)n, &cl->peer, &srv->reply);
	if (send(cl->fd, &srv->reply, sizeof(srv->reply),
		 MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(srv->reply)) {
		fprintf(stderr, "safelockd: unable to answer admin pid %d: %s\n",
			(int)cl->peer.pid, strerror(errno));
		drop_client(cl);
	}
	safelock_wipe(srv->reply.recovery, sizeof(srv->reply.recovery));
}

bool admin_service(struct admin_server *srv, const struct pollfd *pfd, int n)
{
	struct admin_client *ready[ADMIN_MAX_CLIENTS] = { NULL };
	unsigned int i, k;
	int j;

	for (j = 0; j < n; j++) {
		if (!pfd[j].revents)
			continue;
		if (pfd[j].fd == srv->listen_fd) {
			accept_clients(srv);
			continue;
		}
		for (i = 0; i < ADMIN_MAX_CLIENTS; i++) {
			if (srv->clients[i].fd != pfd[j].fd)
				continue;
			if (pfd[j].revents & POLLIN)
				ready[i] = &srv->clients[i];
			else if (pfd[j].revents & (POLLHUP | POLLERR | POLLNVAL))
				drop_client(&srv->clients[i]);
		}
	}
	if (held(srv))
		return false;
	/* one request, round robin over the clients */
	for (k = 0; k < ADMIN_MAX_CLIENTS; k++) {
		i = (srv->next_client + k) % ADMIN_MAX_CLIENTS;
		if (ready[i] && ready[i]->fd >= 0) {
			srv->next_client = i + 1;
			serve(srv, ready[i]);
			return true;
		}
	}
	return false;
}
