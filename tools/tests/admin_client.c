// SPDX-License-Identifier: GPL-2.0
/*
 * admin_client: a raw client of safelockd's admin socket, for tests (the
 * VM scenario scripts/vault-guest.sh); never installed. One request from
 * the command line, the reply printed as KEY=VALUE lines.
 *
 *   admin_client [-s SOCKET] OP [FIELD=VALUE]...
 *
 * OP: status init recover recover-cancel wipe user-add user-del user-list
 * user-set-role code-change duress-set policy-get policy-set audit-verify
 * fault-clear time-lock-now.
 * FIELD: auth0=ID, auth1=ID, new_code=-, recovery=- (the codes and the
 * secret are never on the command line: each is read from stdin, one line
 * each, in the order auth0, auth1, new_code, recovery, for the fields
 * given), target=N, role=owner|manager|user|auditor|courier, duration=S,
 * and for policy-set any policy field (time_delay_s=600 ...), applied to
 * the policy POLICY_GET returns.
 *
 * Exit status: 0 if the reply's status is 0, 1 if it is an error, 2 on a
 * usage or transport error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "libsafelock.h"
#include "admin.h"

static const char *const ops[ADMIN_OP_MAX] = {
	[ADMIN_OP_STATUS] = "status", [ADMIN_OP_INIT] = "init",
	[ADMIN_OP_RECOVER] = "recover", [ADMIN_OP_RECOVER_CANCEL] = "recover-cancel",
	[ADMIN_OP_WIPE] = "wipe", [ADMIN_OP_USER_ADD] = "user-add",
	[ADMIN_OP_USER_DEL] = "user-del", [ADMIN_OP_USER_LIST] = "user-list",
	[ADMIN_OP_USER_SET_ROLE] = "user-set-role", [ADMIN_OP_CODE_CHANGE] = "code-change",
	[ADMIN_OP_DURESS_SET] = "duress-set", [ADMIN_OP_POLICY_GET] = "policy-get",
	[ADMIN_OP_POLICY_SET] = "policy-set", [ADMIN_OP_AUDIT_VERIFY] = "audit-verify",
	[ADMIN_OP_FAULT_CLEAR] = "fault-clear", [ADMIN_OP_TIME_LOCK_NOW] = "time-lock-now",
	[ADMIN_OP_RECOVERY_NEW] = "recovery-new",
};

static const char *const roles[SAFELOCK_ROLE_MAX] = {
	"none", "owner", "manager", "user", "auditor", "courier",
};

static struct safelock_admin_req rq;
static struct safelock_admin_reply rep;

static int usage(const char *why)
{
	fprintf(stderr, "admin_client: %s\nusage: admin_client [-s SOCKET] OP [FIELD=VALUE]...\n", why);
	return 2;
}

/* One line of stdin into @buf (@size bytes, NUL-terminated): 0 or -1. */
static int read_secret(char *buf, size_t size)
{
	size_t n = 0;
	char c;

	while (read(0, &c, 1) == 1 && c != '\n') {
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return n ? 0 : -1;
}

static long number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end ? -1 : v;
}

struct pfield {
	const char *name;
	size_t off;
	int size;	/* 4: uint32, -4: int32, 1: uint8 */
};

#define PF(f, sz) { #f, offsetof(struct safelock_admin_policy, f), sz }
static const struct pfield pfields[] = {
	PF(time_delay_s, 4), PF(open_window_s, 4), PF(dual_window_s, 4),
	PF(relock_ms, 4), PF(door_limit_s, 4), PF(recovery_delay_s, 4),
	PF(dual_control, 1), PF(dual_admin, 1), PF(courier_override, 1),
	PF(time_lock, 1), PF(utc_offset_s, -4),
};

static int set_policy(const char *name, const char *val)
{
	unsigned char *p = (unsigned char *)&rq.policy;
	long v = number(val);
	size_t i;

	for (i = 0; i < sizeof(pfields) / sizeof(pfields[0]); i++) {
		if (strcmp(pfields[i].name, name))
			continue;
		if (pfields[i].size == 1) {
			p[pfields[i].off] = (unsigned char)v;
		} else {
			uint32_t u = (uint32_t)v;

			memcpy(p + pfields[i].off, &u, sizeof(u));
		}
		return 0;
	}
	return -1;
}

static int transact(int fd)
{
	ssize_t n;

	rq.magic = SAFELOCK_ADMIN_MAGIC;
	n = send(fd, &rq, sizeof(rq), 0);
	safelock_wipe(&rq.auth, sizeof(rq.auth));
	safelock_wipe(rq.new_code, sizeof(rq.new_code));
	safelock_wipe(rq.recovery, sizeof(rq.recovery));
	if (n != (ssize_t)sizeof(rq) || recv(fd, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep)) {
		fprintf(stderr, "admin_client: transport: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void print_reply(void)
{
	const struct safelock_admin_status *s = &rep.status_info;
	uint32_t i;

	printf("status=%d\nerror=%s\nmessage=%s\nretry_after_ms=%u\n", rep.status,
	       rep.status ? strerror(-rep.status) : "", rep.message, rep.retry_after_ms);
	if (rep.recovery[0])
		printf("recovery=%s\n", rep.recovery);
	switch (rep.op) {
	case ADMIN_OP_STATUS:
		printf("provisioned=%u\nvault_ok=%u\nregistered=%u\nrecovery_pending=%u\n"
		       "recovery_left_s=%u\nn_users=%u\nglobal_failures=%u\nglobal_retry_after_ms=%u\n"
		       "tcti=%s\n", s->provisioned, s->vault_ok, s->registered,
		       s->recovery_pending, s->recovery_left_s, s->n_users, s->global_failures,
		       s->retry_after_ms, s->tcti);
		break;
	case ADMIN_OP_USER_LIST:
		printf("n_users=%u\n", rep.n_users);
		for (i = 0; i < rep.n_users && i < SAFELOCK_ADMIN_USERS_MAX; i++)
			printf("user=%03u role=%s failures=%u retry_after_ms=%u duress=%u\n",
			       rep.users[i].user_id,
			       rep.users[i].role < SAFELOCK_ROLE_MAX ? roles[rep.users[i].role] : "?",
			       rep.users[i].failures, rep.users[i].retry_after_ms,
			       rep.users[i].has_duress);
		break;
	case ADMIN_OP_POLICY_GET:
	case ADMIN_OP_POLICY_SET:
		for (i = 0; i < sizeof(pfields) / sizeof(pfields[0]); i++) {
			const unsigned char *p = (const unsigned char *)&rep.policy + pfields[i].off;
			int32_t v32;

			if (pfields[i].size == 1) {
				printf("%s=%u\n", pfields[i].name, *p);
			} else {
				memcpy(&v32, p, sizeof(v32));
				if (pfields[i].size < 0)
					printf("%s=%d\n", pfields[i].name, v32);
				else
					printf("%s=%u\n", pfields[i].name, (uint32_t)v32);
			}
		}
		break;
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = SAFELOCK_ADMIN_SOCKET;
	int i = 1, fd, op = 0, k;
	bool want[4] = { false };	/* auth0, auth1, new_code, recovery from stdin */

	if (argc > 2 && !strcmp(argv[1], "-s")) {
		path = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage("no op");
	for (k = 1; k < ADMIN_OP_MAX; k++)
		if (!strcmp(argv[i], ops[k]))
			op = k;
	if (!op)
		return usage("unknown op");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "admin_client: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (op == ADMIN_OP_POLICY_SET) {
		rq.op = ADMIN_OP_POLICY_GET;
		if (transact(fd) || rep.status)
			return usage("unable to read the policy first");
		rq.policy = rep.policy;
	}
	rq.op = (uint32_t)op;
	for (i++; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *val;

		if (!eq)
			return usage("a field is NAME=VALUE");
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(argv[i], "auth0") || !strcmp(argv[i], "auth1")) {
			int a = argv[i][4] - '0';

			rq.auth[a].user_id = (uint32_t)number(val);
			want[a] = true;
		} else if (!strcmp(argv[i], "target")) {
			rq.target_user = (uint32_t)number(val);
		} else if (!strcmp(argv[i], "role")) {
			for (k = 0; k < SAFELOCK_ROLE_MAX; k++)
				if (!strcmp(val, roles[k]))
					rq.role = (uint32_t)k;
		} else if (!strcmp(argv[i], "new_code")) {
			want[2] = true;
		} else if (!strcmp(argv[i], "recovery")) {
			want[3] = true;
		} else if (!strcmp(argv[i], "duration")) {
			rq.duration_s = (uint32_t)number(val);
		} else if (op != ADMIN_OP_POLICY_SET || set_policy(argv[i], val)) {
			return usage("unknown field");
		}
	}
	if ((want[0] && read_secret(rq.auth[0].code, sizeof(rq.auth[0].code))) ||
	    (want[1] && read_secret(rq.auth[1].code, sizeof(rq.auth[1].code))) ||
	    (want[2] && read_secret(rq.new_code, sizeof(rq.new_code))) ||
	    (want[3] && read_secret(rq.recovery, sizeof(rq.recovery))))
		return usage("a code or secret missing on stdin");
	if (transact(fd))
		return 2;
	print_reply();
	safelock_wipe(rep.recovery, sizeof(rep.recovery));
	close(fd);
	return rep.status ? 1 : 0;
}
