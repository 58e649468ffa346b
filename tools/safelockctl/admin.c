// SPDX-License-Identifier: GPL-2.0
/*
 * The client of safelockd's admin socket (tools/lib/admin.h): one
 * fixed-size request, one fixed-size reply, on a SOCK_SEQPACKET socket.
 * Codes go into the request from a file descriptor or the terminal and
 * the request is wiped as soon as it is sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "libsafelock.h"
#include "safelockctl.h"

/* Long enough for a wipe of the vault under an emulated TPM. */
#define ADMIN_TIMEOUT_S 120

struct safelock_admin_req *admin_req_new(uint32_t op)
{
	struct safelock_admin_req *req = calloc(1, sizeof(*req));

	if (req) {
		req->magic = SAFELOCK_ADMIN_MAGIC;
		req->op = op;
	}
	return req;
}

void admin_req_free(struct safelock_admin_req *req)
{
	if (req) {
		safelock_wipe(req, sizeof(*req));
		free(req);
	}
}

struct safelock_admin_reply *admin_reply_new(void)
{
	return calloc(1, sizeof(struct safelock_admin_reply));
}

void admin_reply_free(struct safelock_admin_reply *rep)
{
	if (rep) {
		safelock_wipe(rep->recovery, sizeof(rep->recovery));
		free(rep);
	}
}

/*
 * The connection of this run, once admin_reach() (or the first request)
 * made it: every request goes over it (policy set sends two); safelockd
 * serves a connection until it closes.
 */
static int admin_fd = -1;

/* A connected socket, or -errno. */
static int admin_open(const char *path)
{
	struct timeval tv = { .tv_sec = ADMIN_TIMEOUT_S };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* One request and its reply on @fd: 0 or -errno, @err says more. */
static int admin_exchange(int fd, struct safelock_admin_req *req,
			  struct safelock_admin_reply *rep, char *err, size_t errlen)
{
	ssize_t n;
	int ret;

	err[0] = '\0';
	n = send(fd, req, sizeof(*req), MSG_NOSIGNAL);
	ret = n < 0 ? -errno : 0;
	safelock_wipe(req->auth, sizeof(req->auth));
	safelock_wipe(req->new_code, sizeof(req->new_code));
	safelock_wipe(req->recovery, sizeof(req->recovery));
	if (ret == -EPIPE || ret == -ECONNRESET) {
		snprintf(err, errlen, "safelockd closed the connection before the request");
		return -ECONNRESET;
	}
	if (ret)
		return ret;
	n = recv(fd, rep, sizeof(*rep), MSG_TRUNC);
	ret = n < 0 ? -errno : 0;
	if (ret == -EAGAIN || ret == -EWOULDBLOCK) {
		snprintf(err, errlen, "safelockd did not answer within %d s",
			 ADMIN_TIMEOUT_S);
		return -ETIMEDOUT;
	}
	if (ret)
		return ret;
	if (n == 0) {
		snprintf(err, errlen, "safelockd closed the connection without a reply");
		return -ECONNRESET;
	}
	if ((size_t)n != sizeof(*rep) || rep->magic != SAFELOCK_ADMIN_MAGIC ||
	    rep->op != req->op) {
		snprintf(err, errlen,
			 "malformed reply from safelockd (%zd bytes, magic %#x, op %u; expected %zu bytes, op %u)",
			 n, rep->magic, rep->op, sizeof(*rep), req->op);
		safelock_wipe(rep, sizeof(*rep));
		return -EPROTO;
	}
	rep->message[sizeof(rep->message) - 1] = '\0';
	rep->recovery[sizeof(rep->recovery) - 1] = '\0';
	rep->status_info.tcti[sizeof(rep->status_info.tcti) - 1] = '\0';
	if (rep->n_users > SAFELOCK_ADMIN_USERS_MAX)
		rep->n_users = SAFELOCK_ADMIN_USERS_MAX;
	return 0;
}

int admin_call(const char *path, struct safelock_admin_req *req,
	       struct safelock_admin_reply *rep, char *err, size_t errlen)
{
	int fd = admin_open(path), ret;

	err[0] = '\0';
	if (fd < 0)
		return fd;
	ret = admin_exchange(fd, req, rep, err, errlen);
	close(fd);
	return ret;
}

/* safelockd cannot be reached at all: one message, whatever the command. */
static int reach_error(const struct ctl_config *cfg, int err)
{
	char object[sizeof(((struct sockaddr_un *)NULL)->sun_path) + 16];
	const char *hint = "";
	int code = EXIT_NODAEMON;

	switch (-err) {
	case ENOENT:
	case ECONNREFUSED:
	case ENOTDIR:
		hint = " (is safelockd running?)";
		break;
	case EACCES:
	case EPERM:
		hint = " (is this user in safelockd's admin group?)";
		code = EXIT_PERM;
		break;
	}
	snprintf(object, sizeof(object), "safelockd at %s", cfg->socket);
	return ctl_fail(code, "reach", object, "%s%s", strerror(-err), hint);
}

int admin_reach(const struct ctl_config *cfg)
{
	int fd;

	if (admin_fd >= 0)
		return 0;
	fd = admin_open(cfg->socket);
	if (fd < 0)
		return reach_error(cfg, fd);
	admin_fd = fd;
	return 0;
}

static int fill_one(struct safelock_admin_auth *a, unsigned int user, int fd,
		    const char *verb, const char *object)
{
	char code[SAFELOCK_CODE_BUF], prompt[64], subject[64], why[256];
	int ret;

	snprintf(prompt, sizeof(prompt), "Code of user %03u: ", user);
	snprintf(subject, sizeof(subject), "the code of user %03u", user);
	ret = read_code(fd, prompt, subject, code, why, sizeof(why));
	if (ret == -EINVAL)
		return ctl_fail(EXIT_USAGE, verb, object, "%s", why);
	if (ret == -ENOTTY)
		return ctl_fail(EXIT_USAGE, verb, object,
				"no terminal to ask for the code of user %03u: use --code-fd N",
				user);
	if (ret)
		return ctl_fail(EXIT_USAGE, verb, object,
				"reading the code of user %03u: %s", user, strerror(-ret));
	a->user_id = user;
	memcpy(a->code, code, strlen(code) + 1);
	safelock_wipe(code, sizeof(code));
	return 0;
}

int admin_fill_auth(struct ctl_config *cfg, struct safelock_admin_req *req,
		    const char *verb, const char *object)
{
	int ret = admin_reach(cfg);

	if (!ret && cfg->as_user)
		ret = fill_one(&req->auth[0], cfg->as_user, cfg->code_fd, verb, object);
	if (!ret && cfg->as2_user)
		ret = fill_one(&req->auth[1], cfg->as2_user, cfg->code2_fd, verb, object);
	return ret;
}

int admin_run(struct ctl_config *cfg, struct safelock_admin_req *req,
	      struct safelock_admin_reply *rep, const char *verb,
	      const char *object)
{
	char err[256], wait[64];
	uint32_t op = req->op;
	const char *why;
	int ret, st;

	ret = admin_reach(cfg);
	if (ret) {
		safelock_wipe(req, sizeof(*req));
		return ret;
	}
	ret = admin_exchange(admin_fd, req, rep, err, sizeof(err));
	safelock_wipe(req, sizeof(*req));
	if (ret == -ETIMEDOUT || ret == -ECONNRESET)
		return ctl_fail(EXIT_NODAEMON, verb, object, "%s", err);
	if (ret)
		return ctl_fail(EXIT_FAIL, verb, object, "%s", err[0] ? err : strerror(-ret));
	st = -rep->status;
	if (!st)
		return 0;
	why = rep->message[0] ? rep->message : strerror(st);
	switch (st) {
	case EAGAIN:
		if (rep->retry_after_ms == UINT32_MAX)
			return ctl_fail(EXIT_LOCKEDOUT, verb, object,
					"%s (code entry is disabled until recovery: safelockctl recover)",
					why);
		format_duration_ms(rep->retry_after_ms, wait, sizeof(wait));
		return ctl_fail(EXIT_LOCKEDOUT, verb, object,
				"%s (locked out: try again in %s)", why, wait);
	case EINPROGRESS:
		if (op == ADMIN_OP_RECOVER)
			return EXIT_PENDING;	/* the caller says what started */
		format_duration_ms(rep->retry_after_ms, wait, sizeof(wait));
		return ctl_fail(EXIT_PENDING, verb, object,
				"%s (started: run the same command again in %s)", why, wait);
	case EACCES:
	case EPERM:
	case EKEYREJECTED:
		return ctl_fail(EXIT_REFUSED, verb, object, "%s", why);
	default:
		return ctl_fail(EXIT_FAIL, verb, object, "%s", why);
	}
}

void print_status_vault(struct out *o, const struct safelock_admin_status *s)
{
	out_bool(o, "provisioned", "provisioned:", s->provisioned, "yes",
		 "no (unprovisioned: safelockctl init)");
	if (o->json)
		out_bool(o, "vault_ok", "", s->vault_ok, "", "");
	else
		out_tone(o, "vault_ok", "vault (TPM):", s->vault_ok ? "ok" : "failing",
			 s->vault_ok ? TONE_GOOD : TONE_BAD);
	out_bool(o, "registered", "registered:", s->registered,
		 "with the kernel", "no");
	out_num(o, "users", "users:", s->n_users, "");
	out_num(o, "global_failures", "failures:", s->global_failures, " in a row");
	if (o->json)
		out_num(o, "retry_after_ms", "", s->retry_after_ms, "");
	else if (s->retry_after_ms == UINT32_MAX)
		out_tone(o, "retry_after_ms", "lockout:",
			 "code entry disabled until recovery", TONE_BAD);
	else if (s->retry_after_ms)
		out_ms(o, "retry_after_ms", "lockout left:", s->retry_after_ms);
	out_bool(o, "recovery_pending", "recovery:", s->recovery_pending,
		 "delay running", "none pending");
	if (o->json || s->recovery_pending)
		out_ms(o, "recovery_left_ms", "recovery left:",
		       (unsigned long long)s->recovery_left_s * 1000);
	if (o->json) {
		if (s->clock_behind_s == SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE)
			out_null(o, "clock_behind_s", "", "");
		else
			out_num(o, "clock_behind_s", "", s->clock_behind_s, "");
	} else if (s->clock_behind_s == SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE) {
		out_tone(o, "clock_behind_s", "clock:",
			 "the TPM's clock cannot be read, so the wall clock cannot be checked: openings refused",
			 TONE_BAD);
	} else if (s->clock_behind_s) {
		char line[160];

		snprintf(line, sizeof(line),
			 "behind the TPM's lower bound by %u s: openings refused until the clock is set",
			 s->clock_behind_s);
		out_tone(o, "clock_behind_s", "clock:", line, TONE_BAD);
	}
	out_num(o, "audit_records", "audit records:", s->audit_records, "");
	out_num(o, "audit_lost", "audit lost:", s->audit_lost, "");
	out_str(o, "tcti", "tcti:", s->tcti);
}
