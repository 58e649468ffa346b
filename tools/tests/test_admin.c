// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's admin server (admin.c, policy.c) against an in-memory vault
 * (fake_vault.c) and a fake kernel: every op, who may and may not do it,
 * dual administration, malformed requests (answered -EINVAL, nothing
 * checked, nothing changed), the lifecycle (init, recovery and its delay,
 * wipe, with the door open and closed), the policy pushed all or nothing,
 * the throttle, secrets wiped from the buffers, the socket itself, and the
 * verdict each role earns. Codes are made up at run time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "libsafelock.h"
#include "../safelockd/adminsrv.h"
#include "fake_vault.h"
#include "tap.h"

#define NTESTS 188

/* ----------------------------------------------------------------- */
/* The fake kernel                                                   */

struct fake_kernel {
	int door;			/* 1 open, 0 closed, -ENODEV unknown */
	bool registered;
	int push_err;
	struct safelock_admin_policy pushed;
	unsigned int pushes;
	unsigned int prov_calls;
	bool prov;
	int fault_err;
	unsigned int faults;
	uint32_t time_lock_s;
	unsigned int time_locks;
	unsigned int duress_alarms;
	uint32_t alarm_user;
};

static struct fake_kernel fk;

static int fk_door(void *ctx, char *why, size_t len)
{
	(void)ctx;
	if (fk.door < 0)
		snprintf(why, len, "no lock present");
	return fk.door;
}

static bool fk_registered(void *ctx)
{
	(void)ctx;
	return fk.registered;
}

static int fk_push(void *ctx, const struct safelock_admin_policy *p, char *why, size_t len)
{
	(void)ctx;
	if (!fk.registered)
		return -ENOTCONN;
	if (fk.push_err) {
		snprintf(why, len, "lock 0: open window out of range (fake)");
		return fk.push_err;
	}
	fk.pushed = *p;
	fk.pushes++;
	return 0;
}

static void fk_prov(void *ctx, bool prov)
{
	(void)ctx;
	fk.prov = prov;
	fk.prov_calls++;
}

static int fk_fault(void *ctx, char *why, size_t len)
{
	(void)ctx;
	if (fk.fault_err) {
		snprintf(why, len, "kernel has no FAULT_CLEAR");
		return fk.fault_err;
	}
	fk.faults++;
	return 0;
}

static int fk_time_lock(void *ctx, uint32_t s, char *why, size_t len)
{
	(void)ctx;
	(void)why;
	(void)len;
	fk.time_lock_s = s;
	fk.time_locks++;
	return 0;
}

static int fk_duress_alarm(void *ctx, uint32_t user, char *why, size_t len)
{
	(void)ctx;
	(void)why;
	(void)len;
	fk.duress_alarms++;
	fk.alarm_user = user;
	return 0;
}

static const struct admin_kernel_ops fk_ops = {
	.door_open = fk_door,
	.registered = fk_registered,
	.policy_push = fk_push,
	.provisioned = fk_prov,
	.fault_clear = fk_fault,
	.time_lock_now = fk_time_lock,
	.duress_alarm = fk_duress_alarm,
};

/* ----------------------------------------------------------------- */
/* Harness                                                           */

static struct fake_vault fv;
static struct vault vault;
static struct admin_server *srv;
static struct safelock_admin_req rq;
static struct safelock_admin_reply rep;
static uint64_t clock_s = 1700000000;
static unsigned int unwiped;		/* requests left with a byte in the buffer */
static FILE *errlog;			/* stderr, where audit_admin() writes */
static char codes[SAFELOCK_ADMIN_USERS_MAX + 1][16];

static uint64_t fake_now_s(void)
{
	return clock_s;
}

static uint64_t fake_now_ms(void)
{
	return fv.now_ms;
}

static void advance_s(uint64_t s)
{
	clock_s += s;
	fv.now_ms += s * 1000;
}

static void server_start(void)
{
	if (!srv)
		srv = calloc(1, sizeof(*srv));
	admin_init(srv, &vault, &fk_ops, NULL);
	srv->now_s = fake_now_s;
	srv->now_ms = fake_now_ms;
	srv->tcti = "fake:";
}

/* A code no user has: 8 random digits. */
static void random_code(char *out)
{
	unsigned char b[8];
	char c[9];
	int fd = open("/dev/urandom", O_RDONLY), i, u;
	bool dup;

	do {
		if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
			for (i = 0; i < 8; i++)
				b[i] = (unsigned char)rand();
		for (i = 0; i < 8; i++)
			c[i] = (char)('0' + b[i] % 10);
		c[8] = '\0';
		dup = false;
		for (u = 0; u <= SAFELOCK_ADMIN_USERS_MAX; u++)
			dup |= !strcmp(codes[u], c);
	} while (dup);
	memcpy(out, c, sizeof(c));
	if (fd >= 0)
		close(fd);
}

static void req(uint32_t op)
{
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = op;
}

static void auth(int i, unsigned int id)
{
	rq.auth[i].user_id = id;
	snprintf(rq.auth[i].code, sizeof(rq.auth[i].code), "%s", codes[id]);
}

static void auth_code(int i, unsigned int id, const char *code)
{
	rq.auth[i].user_id = id;
	snprintf(rq.auth[i].code, sizeof(rq.auth[i].code), "%s", code);
}

static void new_code(const char *c)
{
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", c);
}

static long audit_lines(void)
{
	char line[512];
	long n = 0;

	fflush(stderr);
	rewind(errlog);
	while (fgets(line, sizeof(line), errlog))
		n += !strncmp(line, "safelockd: audit: admin ", 24);
	fseek(errlog, 0, SEEK_END);
	return n;
}

static long audited;	/* audit lines added by the last call */

/* Send @len bytes of rq (a copy, which the server must wipe). */
static int call_len(size_t len)
{
	unsigned char buf[sizeof(rq) + 64];
	long before = audit_lines();
	size_t i;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &rq, len < sizeof(rq) ? len : sizeof(rq));
	admin_handle(srv, buf, len, NULL, &rep);
	for (i = 0; i < len; i++)
		if (buf[i]) {
			unwiped++;
			break;
		}
	audited = audit_lines() - before;
	return rep.status;
}

static int call(void)
{
	return call_len(sizeof(rq));
}

static bool expect(int status, const char *what)
{
	bool ok = rep.status == status && rep.magic == SAFELOCK_ADMIN_MAGIC;

	if (!tap_ok(ok, "%s", what))
		tap_diag("status %d (%s), expected %d; message '%s'", rep.status,
			 strerror(-rep.status), status, rep.message);
	return ok;
}

static bool expect_msg(int status, const char *needle, const char *what)
{
	bool ok = rep.status == status && strstr(rep.message, needle);

	if (!tap_ok(ok, "%s", what))
		tap_diag("status %d, expected %d; message '%s', expected '%s' in it",
			 rep.status, status, rep.message, needle);
	return ok;
}

static void enrol_code(unsigned int id)
{
	random_code(codes[id]);
}

/* ----------------------------------------------------------------- */

/* Malformed requests: -EINVAL, a reason, nothing asked of the vault. */
static void test_malformed(void)
{
	struct {
		const char *what, *needle;
		void (*mangle)(void);
		size_t len;
	} cases[] = {
		{ "a short request", "bytes", NULL, 16 },
		{ "a long request", "bytes", NULL, sizeof(rq) + 4 },
	};
	unsigned int checks = fv.checks, changes = fv.changes, calls = fv.calls;
	long lines = audit_lines();
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(ADMIN_OP_USER_ADD);
		auth_code(0, 1, "12345678");
		call_len(cases[i].len);
		expect_msg(-EINVAL, cases[i].needle, cases[i].what);
	}

	req(ADMIN_OP_STATUS);
	rq.magic ^= 1;
	call();
	expect_msg(-EINVAL, "magic", "wrong magic");

	req(ADMIN_OP_UNSPEC);
	call();
	expect_msg(-EINVAL, "unknown op", "op 0 (UNSPEC)");
	req(ADMIN_OP_MAX);
	call();
	expect_msg(-EINVAL, "unknown op", "op ADMIN_OP_MAX");

	req(ADMIN_OP_STATUS);
	rq.reserved[6] = 1;
	call();
	expect_msg(-EINVAL, "reserved", "non-zero reserved word");
	req(ADMIN_OP_POLICY_GET);
	rq.policy.reserved[0] = 1;
	call();
	expect_msg(-EINVAL, "reserved", "non-zero policy reserved word");

	req(ADMIN_OP_USER_LIST);
	rq.auth[0].user_id = 1;
	memset(rq.auth[0].code, '1', sizeof(rq.auth[0].code));
	call();
	expect_msg(-EINVAL, "NUL", "auth code not NUL-terminated");
	req(ADMIN_OP_INIT);
	memset(rq.new_code, '1', sizeof(rq.new_code));
	call();
	expect_msg(-EINVAL, "NUL", "new code not NUL-terminated");
	req(ADMIN_OP_RECOVER);
	memset(rq.recovery, 'A', sizeof(rq.recovery));
	new_code("12345678");
	call();
	expect_msg(-EINVAL, "NUL", "recovery secret not NUL-terminated");

	req(ADMIN_OP_USER_LIST);
	auth_code(0, 1, "12345");
	call();
	expect_msg(-EINVAL, "digits", "a 5-digit code");
	req(ADMIN_OP_USER_LIST);
	auth_code(0, 1, "1234567a");
	call();
	expect_msg(-EINVAL, "digits", "a code with a letter");
	req(ADMIN_OP_USER_LIST);
	auth_code(0, 1000, "12345678");
	call();
	expect_msg(-EINVAL, "user id", "user id 1000");
	req(ADMIN_OP_USER_LIST);
	auth_code(0, 0, "12345678");
	call();
	expect_msg(-EINVAL, "no user id", "a code without a user id");
	req(ADMIN_OP_INIT);
	new_code("1234567890123");
	call();
	expect_msg(-EINVAL, "digits", "a 13-digit new code");
	req(ADMIN_OP_RECOVER);
	new_code("12345678");
	snprintf(rq.recovery, sizeof(rq.recovery), "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-678U");
	call();
	expect_msg(-EINVAL, "Crockford", "a recovery secret with a U");
	req(ADMIN_OP_USER_ADD);
	auth_code(0, 1, "12345678");
	rq.target_user = 5;
	rq.role = SAFELOCK_ROLE_MAX;
	new_code("12345678");
	call();
	expect_msg(-EINVAL, "role", "an unknown role");
	req(ADMIN_OP_USER_ADD);
	auth_code(0, 1, "12345678");
	rq.target_user = 1000;
	rq.role = SAFELOCK_ROLE_USER;
	new_code("12345678");
	call();
	expect_msg(-EINVAL, "target", "target user 1000");

	tap_ok(fv.checks == checks && fv.changes == changes && fv.calls == calls,
	       "malformed requests: the vault was not asked anything (%u calls)",
	       fv.calls - calls);
	tap_ok(audit_lines() - lines == 18, "malformed requests: each of the 18 refusals audited once (%ld)",
	       audit_lines() - lines);
}

static void test_init(void)
{
	unsigned int changes;

	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status == 0 && !rep.status_info.provisioned &&
	       !rep.status_info.registered && !strcmp(rep.status_info.tcti, "fake:"),
	       "STATUS of a new lock: unprovisioned, not registered");
	tap_ok(audited == 0, "STATUS: nothing audited (nothing changed)");

	enrol_code(1);
	fk.door = 0;
	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	call();
	expect_msg(-EPERM, "door is closed", "INIT with the door closed: refused");
	tap_ok(!fv.users[1].used && audited == 1, "door closed: nothing enrolled, refusal audited");

	fk.door = -ENODEV;
	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	call();
	expect_msg(-ENODEV, "door state unknown", "INIT without a kernel lock: door state unknown");

	fk.door = 1;
	fk.registered = true;
	req(ADMIN_OP_INIT);
	call();
	expect_msg(-EINVAL, "new code", "INIT without a code: -EINVAL");

	fv.fail_op = "recovery_new";
	fv.fail_err = -EIO;
	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	call();
	fv.fail_op = NULL;
	tap_ok(rep.status == -EIO && !fv.users[1].used && !rep.recovery[0],
	       "INIT whose recovery secret fails: owner removed again (all or nothing)");

	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	call();
	expect(0, "INIT with the door open: done");
	tap_ok(fv.users[1].used && fv.users[1].role == SAFELOCK_ROLE_OWNER &&
	       !strcmp(fv.users[1].code, codes[1]), "INIT enrolled user 001 as owner");
	tap_ok(strlen(rep.recovery) == 39 && rep.recovery[4] == '-' &&
	       !strcmp(rep.recovery, fv.recovery), "INIT replied with the recovery secret, grouped");
	tap_ok(fk.prov_calls == 1 && fk.prov && fk.pushes == 1,
	       "INIT told the kernel PROVISIONED=1 and pushed the policy");
	tap_ok(audited == 1, "INIT audited");

	changes = fv.changes;
	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	call();
	expect_msg(-EEXIST, "already", "INIT of a provisioned lock: -EEXIST");
	tap_ok(fv.changes == changes, "second INIT changed nothing");
}

/* Ask @by to add user @id; the test remembers its code if it is added. */
static void add_user(unsigned int id, enum safelock_role role, unsigned int by)
{
	char c[16];

	random_code(c);
	req(ADMIN_OP_USER_ADD);
	auth(0, by);
	rq.target_user = id;
	rq.role = role;
	new_code(c);
	call();
	if (rep.status == 0)
		memcpy(codes[id], c, sizeof(c));
}

/* add_user() under dual administration: call it again with auth[1] set. */
static void add_user_again(void)
{
	char c[16];

	snprintf(c, sizeof(c), "%s", rq.new_code);
	call();
	if (rep.status == 0)
		memcpy(codes[rq.target_user], c, sizeof(c));
}

static void last_audit(char *out, size_t len);

static void test_users(void)
{
	struct vault_result res;
	unsigned int retry;
	char c[16], line[512];

	add_user(2, SAFELOCK_ROLE_MANAGER, 1);
	expect(0, "owner adds a manager (002)");
	add_user(3, SAFELOCK_ROLE_USER, 2);
	expect(0, "manager adds a user (003)");
	add_user(4, SAFELOCK_ROLE_AUDITOR, 2);
	expect(0, "manager adds an auditor (004)");
	add_user(5, SAFELOCK_ROLE_COURIER, 1);
	expect(0, "owner adds a courier (005)");
	tap_ok(fv.users[5].used && fv.users[5].role == SAFELOCK_ROLE_COURIER &&
	       !strcmp(fv.users[5].code, codes[5]) && audited == 1,
	       "the vault has the courier with its code; audited");

	add_user(6, SAFELOCK_ROLE_USER, 3);
	expect_msg(-EPERM, "only the owner or a manager", "a user may not add users");
	tap_ok(!fv.users[6].used && audited == 1, "refused add: no user 006; refusal audited");
	add_user(6, SAFELOCK_ROLE_USER, 4);
	expect(-EPERM, "an auditor may not add users");
	add_user(6, SAFELOCK_ROLE_USER, 5);
	expect(-EPERM, "a courier may not add users");

	enrol_code(6);
	req(ADMIN_OP_USER_ADD);
	random_code(c);
	auth_code(0, 2, c);
	rq.target_user = 6;
	rq.role = SAFELOCK_ROLE_USER;
	new_code(codes[6]);
	call();
	expect_msg(-EACCES, "wrong code", "a wrong manager code: -EACCES");
	tap_ok(!fv.users[6].used && fv.users[2].failures == 1,
	       "wrong code: nothing added, counted as a failure by the vault");

	req(ADMIN_OP_USER_ADD);
	rq.target_user = 6;
	rq.role = SAFELOCK_ROLE_USER;
	new_code(codes[6]);
	call();
	expect_msg(-EACCES, "code is needed", "no code at all: -EACCES");

	add_user(1, SAFELOCK_ROLE_USER, 2);
	expect_msg(-EINVAL, "owner", "USER_ADD of 001: -EINVAL");
	add_user(7, SAFELOCK_ROLE_OWNER, 1);
	expect(-EINVAL, "USER_ADD with role owner: -EINVAL");
	add_user(3, SAFELOCK_ROLE_USER, 1);
	expect_msg(-EEXIST, "exists", "USER_ADD of an existing user: -EEXIST");

	req(ADMIN_OP_USER_LIST);
	auth(0, 4);
	call();
	tap_ok(rep.status == 0 && rep.n_users == 5 && rep.users[0].user_id == 1 &&
	       rep.users[4].role == SAFELOCK_ROLE_COURIER, "an auditor lists the users");
	req(ADMIN_OP_USER_LIST);
	auth(0, 3);
	call();
	expect(-EPERM, "a user may not list users");
	req(ADMIN_OP_USER_LIST);
	auth(0, 5);
	call();
	expect(-EPERM, "a courier may not list users");

	req(ADMIN_OP_USER_SET_ROLE);
	auth(0, 2);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_AUDITOR;
	call();
	tap_ok(rep.status == 0 && fv.users[3].role == SAFELOCK_ROLE_AUDITOR,
	       "a manager changes user 003's role");
	rq.role = SAFELOCK_ROLE_USER;
	auth(0, 2);
	call();
	req(ADMIN_OP_USER_SET_ROLE);
	auth(0, 2);
	rq.target_user = 1;
	rq.role = SAFELOCK_ROLE_USER;
	call();
	expect(-EINVAL, "the owner's role never changes");
	req(ADMIN_OP_USER_SET_ROLE);
	auth(0, 2);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_OWNER;
	call();
	expect(-EINVAL, "nobody becomes owner");
	req(ADMIN_OP_USER_SET_ROLE);
	auth(0, 3);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_MANAGER;
	call();
	tap_ok(rep.status == -EPERM && fv.users[3].role == SAFELOCK_ROLE_USER,
	       "a user may not promote themselves");

	add_user(9, SAFELOCK_ROLE_USER, 1);
	req(ADMIN_OP_USER_DEL);
	auth(0, 2);
	rq.target_user = 9;
	call();
	tap_ok(rep.status == 0 && !fv.users[9].used && audited == 1,
	       "a manager deletes user 009; audited");
	req(ADMIN_OP_USER_DEL);
	auth(0, 2);
	rq.target_user = 9;
	call();
	expect(-ENOENT, "deleting a user that is not there: -ENOENT");
	req(ADMIN_OP_USER_DEL);
	auth(0, 2);
	rq.target_user = 1;
	call();
	expect(-EINVAL, "user 001 is never deleted");
	req(ADMIN_OP_USER_DEL);
	auth(0, 4);
	rq.target_user = 3;
	call();
	tap_ok(rep.status == -EPERM && fv.users[3].used, "an auditor may not delete users");

	/* codes: only one's own */
	random_code(c);
	req(ADMIN_OP_CODE_CHANGE);
	auth(0, 3);
	rq.target_user = 3;
	new_code(c);
	call();
	expect(0, "user 003 changes their own code");
	tap_ok(fake_vault_ops.check(&vault, 3, c, strlen(c), &retry, &res) == VAULT_GRANTED &&
	       fake_vault_ops.check(&vault, 3, codes[3], strlen(codes[3]), &retry, &res) == VAULT_DENIED,
	       "the new code works, the old one does not");
	fv.users[3].failures = 0;
	snprintf(codes[3], sizeof(codes[3]), "%s", c);
	random_code(c);
	req(ADMIN_OP_CODE_CHANGE);
	auth(0, 2);
	rq.target_user = 3;
	new_code(c);
	call();
	expect_msg(-EINVAL, "own", "a manager may not change another user's code");

	random_code(c);
	req(ADMIN_OP_DURESS_SET);
	auth(0, 3);
	rq.target_user = 3;
	new_code(c);
	call();
	tap_ok(rep.status == 0 && !strcmp(fv.users[3].duress, c), "user 003 sets a duress code");
	req(ADMIN_OP_DURESS_SET);
	auth(0, 3);
	rq.target_user = 3;
	new_code(codes[3]);
	call();
	expect(-EINVAL, "a duress code equal to the code: -EINVAL");
	req(ADMIN_OP_USER_LIST);
	auth(0, 1);
	call();
	tap_ok(rep.users[2].user_id == 3 && rep.users[2].has_duress, "USER_LIST shows has_duress");
	/* a duress code changes nothing (hole 2): refused, alarm, audited */
	req(ADMIN_OP_DURESS_SET);
	auth_code(0, 3, c);
	rq.target_user = 3;
	call();
	tap_ok(rep.status == -EACCES && !strcmp(fv.users[3].duress, c),
	       "removing the duress code with the duress code: refused, it stays");
	last_audit(line, sizeof(line));
	if (!tap_ok(strstr(line, "duress-set by 003 target 003") && strstr(line, "[DURESS code]"),
		    "an act tried with a duress code is audited as such"))
		tap_diag("%s", line);
	req(ADMIN_OP_DURESS_SET);
	auth(0, 3);
	rq.target_user = 3;
	call();
	tap_ok(rep.status == 0 && !fv.users[3].duress[0],
	       "an empty duress code, with the user's code, removes it");
}

/*
 * Hole 2: a coerced owner types the duress code at safelockctl. The
 * request is refused exactly as a wrong code is (status, message,
 * retry-after), nothing changes, the silent alarm goes off, the audit log
 * says so; reads still answer.
 */
static void test_duress(void)
{
	struct safelock_admin_reply wrong;
	unsigned int changes, alarms, pushes, faults, tlocks, bad = 0, i;
	char d[16], c[16], line[512];
	static const uint32_t ops[] = {
		ADMIN_OP_USER_ADD, ADMIN_OP_USER_DEL, ADMIN_OP_USER_SET_ROLE,
		ADMIN_OP_CODE_CHANGE, ADMIN_OP_DURESS_SET, ADMIN_OP_POLICY_SET,
		ADMIN_OP_FAULT_CLEAR, ADMIN_OP_TIME_LOCK_NOW, ADMIN_OP_WIPE,
		ADMIN_OP_RECOVER_CANCEL,
	};

	random_code(d);
	req(ADMIN_OP_DURESS_SET);
	auth(0, 1);
	rq.target_user = 1;
	new_code(d);
	call();
	expect(0, "the owner sets a duress code");

	/* the reply a wrong code gets */
	random_code(c);
	enrol_code(7);
	req(ADMIN_OP_USER_ADD);
	auth_code(0, 1, c);
	rq.target_user = 7;
	rq.role = SAFELOCK_ROLE_USER;
	new_code(codes[7]);
	call();
	wrong = rep;

	changes = fv.changes;
	alarms = fk.duress_alarms;
	pushes = fk.pushes;
	faults = fk.faults;
	tlocks = fk.time_locks;
	fk.door = 1;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		req(ops[i]);
		auth_code(0, 1, d);
		rq.target_user = ops[i] == ADMIN_OP_CODE_CHANGE || ops[i] == ADMIN_OP_DURESS_SET ? 1 :
				 ops[i] == ADMIN_OP_USER_ADD ? 7 :
				 ops[i] == ADMIN_OP_WIPE || ops[i] == ADMIN_OP_RECOVER_CANCEL ? 0 : 3;
		rq.role = SAFELOCK_ROLE_MANAGER;
		if (ops[i] == ADMIN_OP_USER_ADD)
			new_code(codes[7]);
		if (ops[i] == ADMIN_OP_CODE_CHANGE) {
			random_code(c);
			new_code(c);
		}
		if (ops[i] == ADMIN_OP_POLICY_SET) {
			rq.policy = srv->policy;
			memset(rq.policy.reserved, 0, sizeof(rq.policy.reserved));
			rq.policy.time_delay_s = 0;
			rq.policy.dual_admin = 0;
		}
		if (ops[i] == ADMIN_OP_TIME_LOCK_NOW)
			rq.duration_s = 3600;
		call();
		if (rep.status != wrong.status || strcmp(rep.message, wrong.message) ||
		    rep.retry_after_ms != wrong.retry_after_ms) {
			bad++;
			tap_diag("%s: status %d '%s' retry %u; a wrong code: %d '%s' %u",
				 admin_op_name(ops[i]), rep.status, rep.message,
				 rep.retry_after_ms, wrong.status, wrong.message,
				 wrong.retry_after_ms);
		}
	}
	fk.door = 0;
	tap_ok(bad == 0, "the owner's duress code: every state-changing op answered as a wrong code");
	tap_ok(fv.changes == changes && fv.users[1].used && !strcmp(fv.users[1].duress, d) &&
	       !fv.users[7].used && fv.users[3].role == SAFELOCK_ROLE_USER &&
	       fk.pushes == pushes && fk.faults == faults && fk.time_locks == tlocks,
	       "... and nothing changed: users, codes, duress code, policy, kernel");
	if (!tap_ok(fk.duress_alarms == alarms + sizeof(ops) / sizeof(ops[0]) &&
		    fk.alarm_user == 1,
		    "... and each raised the silent alarm for user 001 (%u of %zu)",
		    fk.duress_alarms - alarms, sizeof(ops) / sizeof(ops[0])))
		tap_diag("alarms %u", fk.duress_alarms - alarms);
	last_audit(line, sizeof(line));
	tap_ok(strstr(line, "by 001") && strstr(line, "[DURESS code]"),
	       "... and the audit log names the duress code");

	/* the duress code cannot test guesses of the real code */
	req(ADMIN_OP_DURESS_SET);
	auth_code(0, 1, d);
	rq.target_user = 1;
	new_code(codes[1]);
	call();
	tap_ok(rep.status == wrong.status && !strcmp(rep.message, wrong.message) &&
	       !strcmp(fv.users[1].duress, d),
	       "DURESS_SET with the duress code and the real code as the new one: no 'must differ' answer");

	/* reads still answer, with the alarm */
	alarms = fk.duress_alarms;
	req(ADMIN_OP_USER_LIST);
	auth_code(0, 1, d);
	call();
	tap_ok(rep.status == 0 && rep.n_users >= 5 && fk.duress_alarms == alarms + 1 &&
	       audited == 1,
	       "USER_LIST with the duress code answers; alarm raised and audited");

	req(ADMIN_OP_DURESS_SET);
	auth(0, 1);
	rq.target_user = 1;
	call();
	tap_ok(rep.status == 0 && !fv.users[1].duress[0],
	       "the owner removes the duress code with the real code");
}

static void test_policy(void)
{
	struct safelock_admin_policy p;
	unsigned int pushes;

	req(ADMIN_OP_POLICY_GET);
	call();
	tap_ok(rep.status == 0 && rep.policy.open_window_s == 60 &&
	       rep.policy.relock_ms == 0, "anyone reads the policy (the defaults)");
	p = rep.policy;

	p.time_delay_s = 600;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 3);
	rq.policy = p;
	call();
	tap_ok(rep.status == -EPERM && fv.policy.time_delay_s != 600,
	       "a user may not set the policy");

	pushes = fk.pushes;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 2);
	rq.policy = p;
	call();
	tap_ok(rep.status == 0 && fv.policy.time_delay_s == 600 &&
	       fk.pushes == pushes + 1 && fk.pushed.time_delay_s == 600 && audited == 1,
	       "a manager sets the policy: stored, pushed to the kernel, audited");

	p.open_window_s = 30;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 2);
	rq.policy = p;
	call();
	tap_ok(rep.status == -EINVAL && strstr(rep.message, "open window") &&
	       fv.policy.open_window_s != 30, "an open window of 30 s: -EINVAL, nothing stored");
	p.open_window_s = 60;
	p.time_lock = 1;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 2);
	rq.policy = p;
	call();
	tap_ok(rep.status == 0 && fv.policy.time_lock == 1,
	       "time_lock on: stored (the kernel enforces it)");
	p.time_lock = 0;

	p.time_delay_s = 1200;
	fk.push_err = -ERANGE;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 2);
	rq.policy = p;
	call();
	fk.push_err = 0;
	tap_ok(rep.status == -ERANGE && strstr(rep.message, "out of range (fake)") &&
	       fv.policy.time_delay_s == 600, "kernel refuses: the vault's store rolled back, extack in the reply");
	req(ADMIN_OP_POLICY_GET);
	call();
	tap_ok(rep.policy.time_delay_s == 600, "after the refusal POLICY_GET gives the old policy");

	fv.fail_op = "policy_store";
	fv.fail_err = -EIO;
	pushes = fk.pushes;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 2);
	rq.policy = p;
	call();
	fv.fail_op = NULL;
	tap_ok(rep.status == -EIO && fk.pushes == pushes && strstr(rep.message, "injected"),
	       "the vault cannot store: -EIO with its reason, nothing pushed");

	fk.registered = false;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 2);
	rq.policy = p;
	call();
	fk.registered = true;
	tap_ok(rep.status == 0 && fv.policy.time_delay_s == 1200 && strstr(rep.message, "stored"),
	       "not registered: stored, pushed at registration");
	p.time_delay_s = 0;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
}

static void test_dual(void)
{
	struct safelock_admin_policy p = srv->policy;
	char c[16];

	memset(p.reserved, 0, sizeof(p.reserved));
	p.dual_admin = 1;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
	expect(0, "dual_admin turned on (owner + manager 002)");

	add_user(10, SAFELOCK_ROLE_USER, 2);
	expect_msg(-EACCES, "second", "dual: one code is not enough");
	tap_ok(!fv.users[10].used, "dual: nothing added with one code");
	add_user(10, SAFELOCK_ROLE_USER, 2);
	auth(1, 2);
	call();
	expect_msg(-EACCES, "two different", "dual: the same user twice is refused");
	add_user(10, SAFELOCK_ROLE_USER, 2);
	random_code(c);
	auth_code(1, 1, c);
	call();
	tap_ok(rep.status == -EACCES && !fv.users[10].used, "dual: a wrong second code is refused");
	add_user(10, SAFELOCK_ROLE_USER, 2);
	auth(1, 3);
	call();
	expect_msg(-EPERM, "only the owner or a manager", "dual: a user as second is refused");
	add_user(10, SAFELOCK_ROLE_USER, 2);
	auth(1, 1);
	add_user_again();
	tap_ok(rep.status == 0 && fv.users[10].used, "dual: manager + owner add user 010");

	req(ADMIN_OP_USER_LIST);
	auth(0, 4);
	call();
	expect(0, "dual: reading (USER_LIST) needs one code");

	req(ADMIN_OP_USER_DEL);
	auth(0, 1);
	auth(1, 2);
	rq.target_user = 2;
	call();
	tap_ok(rep.status == -EPERM && fv.users[2].used && strstr(rep.message, "two owners or managers"),
	       "dual: deleting the last second manager is refused");

	p.dual_admin = 0;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
	expect_msg(-EACCES, "second", "dual: turning dual_admin off needs two as well");
	auth(1, 2);
	call();
	expect(0, "dual_admin turned off by two");
	add_user(11, SAFELOCK_ROLE_USER, 2);
	auth(1, 1);
	call();
	expect_msg(-EINVAL, "second code", "no dual: a second code is refused as malformed");

	p.dual_control = 1;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
	expect(0, "dual control on (users 001, 002, 003, 010 open)");
	p.dual_control = 0;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
}

static void test_throttle(void)
{
	unsigned int checks;
	char c[16];
	int i;

	for (i = 0; i < 5; i++) {
		random_code(c);
		req(ADMIN_OP_USER_LIST);
		auth_code(0, 4, c);
		call();
	}
	tap_ok(rep.status == -EACCES && rep.retry_after_ms == 60000,
	       "the 5th wrong code: -EACCES with retry_after_ms 60000 (the schedule)");
	checks = fv.checks;
	req(ADMIN_OP_USER_LIST);
	auth(0, 4);
	call();
	tap_ok(rep.status == -EAGAIN && rep.retry_after_ms == 60000 && fv.checks == checks,
	       "the right code during the penalty: -EAGAIN, retry_after_ms, not checked");
	advance_s(61);
	req(ADMIN_OP_USER_LIST);
	auth(0, 4);
	call();
	expect(0, "after the penalty the right code works");
}

static void test_kernel_ops(void)
{
	req(ADMIN_OP_FAULT_CLEAR);
	auth(0, 3);
	call();
	tap_ok(rep.status == -EPERM && fk.faults == 0, "a user may not clear a fault");
	req(ADMIN_OP_FAULT_CLEAR);
	auth(0, 2);
	call();
	tap_ok(rep.status == 0 && fk.faults == 1 && audited == 1, "a manager clears a fault");
	fk.fault_err = -EOPNOTSUPP;
	req(ADMIN_OP_FAULT_CLEAR);
	auth(0, 2);
	call();
	fk.fault_err = 0;
	expect_msg(-EOPNOTSUPP, "kernel has no FAULT_CLEAR", "FAULT_CLEAR on an older kernel: -EOPNOTSUPP");

	req(ADMIN_OP_TIME_LOCK_NOW);
	auth(0, 2);
	rq.duration_s = 59;
	call();
	expect(-EINVAL, "a time lock of 59 s: -EINVAL");
	req(ADMIN_OP_TIME_LOCK_NOW);
	auth(0, 4);
	rq.duration_s = 3600;
	call();
	tap_ok(rep.status == -EPERM && fk.time_locks == 0, "an auditor may not start a time lock");
	req(ADMIN_OP_TIME_LOCK_NOW);
	auth(0, 1);
	rq.duration_s = 3600;
	call();
	tap_ok(rep.status == 0 && fk.time_locks == 1 && fk.time_lock_s == 3600,
	       "the owner starts a time lock of an hour");
	tap_ok(policy_time_lock_until(&fv.policy) ==
	       ((fv.now_ms + 3600000) | POLICY_PRIV_TPM_MS) &&
	       policy_time_lock_until(&srv->policy) == policy_time_lock_until(&fv.policy),
	       "its end is stored with the policy, on the TPM clock (a reboot or reload cannot lift it)");
	req(ADMIN_OP_TIME_LOCK_NOW);
	auth(0, 1);
	rq.duration_s = 600;
	call();
	tap_ok(rep.status == -EPERM && strstr(rep.message, "can only be extended") &&
	       fk.time_locks == 1 &&
	       policy_time_lock_until(&fv.policy) == ((fv.now_ms + 3600000) | POLICY_PRIV_TPM_MS),
	       "a shorter time lock is refused, says it can only be extended, changes nothing");

	req(ADMIN_OP_AUDIT_VERIFY);
	auth(0, 4);
	call();
	expect_msg(-EOPNOTSUPP, "audit", "AUDIT_VERIFY without an audit log: -EOPNOTSUPP");
}

static int fake_audit_verify(void *ctx, struct safelock_admin_audit *out, char *what, size_t len)
{
	(void)ctx;
	out->records = 42;
	out->first_bad = UINT64_MAX;
	out->files = 1;
	out->ok = 1;
	snprintf(what, len, "42 records verified");
	return 0;
}

static void test_audit_hook(void)
{
	srv->audit_verify = fake_audit_verify;
	req(ADMIN_OP_AUDIT_VERIFY);
	auth(0, 4);
	call();
	tap_ok(rep.status == 0 && rep.audit.ok == 1 && rep.audit.records == 42,
	       "an auditor verifies the audit log (through the hook)");
	req(ADMIN_OP_AUDIT_VERIFY);
	auth(0, 3);
	call();
	expect(-EPERM, "a user may not verify the audit log");
	srv->audit_verify = NULL;
}

static void lower_nodash(const char *in, char *out)
{
	for (; *in; in++)
		if (*in != '-')
			*out++ = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	*out = '\0';
}

static void test_recover(void)
{
	struct safelock_admin_policy p;
	char secret[SAFELOCK_RECOVERY_TEXT_SIZE], c[16], wrong[48];
	unsigned int changes;

	snprintf(secret, sizeof(secret), "%s", fv.recovery);
	snprintf(wrong, sizeof(wrong), "%s", secret);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	random_code(c);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", wrong);
	new_code(c);
	call();
	tap_ok(rep.status == -EACCES && !strcmp(fv.users[1].code, codes[1]) && audited == 1,
	       "RECOVER with a wrong secret: -EACCES, owner's code unchanged, audited");

	req(ADMIN_OP_RECOVER);
	lower_nodash(secret, rq.recovery);
	new_code(c);
	call();
	tap_ok(rep.status == 0 && !strcmp(fv.users[1].code, c),
	       "RECOVER (secret in lower case, no dashes): the owner's code is the new one");
	tap_ok(strlen(rep.recovery) == 39 && strcmp(rep.recovery, secret) &&
	       !strcmp(rep.recovery, fv.recovery), "RECOVER replied with a new secret");
	snprintf(codes[1], sizeof(codes[1]), "%s", c);
	random_code(c);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	expect(-EACCES, "the spent secret no longer works");
	snprintf(secret, sizeof(secret), "%s", fv.recovery);

	/* the delay */
	p = srv->policy;
	memset(p.reserved, 0, sizeof(p.reserved));	/* safelockd's own words */
	p.recovery_delay_s = 3600;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
	changes = fv.changes;
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	tap_ok(rep.status == -EINPROGRESS && rep.retry_after_ms == 3600000 &&
	       !strcmp(fv.users[1].code, codes[1]) && audited == 1,
	       "recovery delay 3600 s: the first RECOVER starts it (-EINPROGRESS, retry 3600000 ms), audited");
	tap_ok(fv.changes == changes + 1, "only the delay's start was stored");
	advance_s(600);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	tap_ok(rep.status == -EINPROGRESS && rep.retry_after_ms == 3000000,
	       "10 min later: -EINPROGRESS, 3000 s left");

	/* a restart of safelockd keeps it: it is in the vault's store */
	server_start();
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status_info.recovery_pending && rep.status_info.recovery_left_s == 3000,
	       "after a restart STATUS shows the recovery pending, 3000 s left");
	req(ADMIN_OP_POLICY_GET);
	call();
	tap_ok(rep.policy.reserved[0] == 0 && rep.policy.reserved[1] == 0,
	       "POLICY_GET never shows safelockd's private words");

	p.time_delay_s = 5;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
	tap_ok(rep.status == 0 && policy_recovery_start(&fv.policy) != 0,
	       "a POLICY_SET during the delay keeps it running");

	random_code(wrong);
	req(ADMIN_OP_RECOVER_CANCEL);
	auth_code(0, 5, wrong);
	call();
	tap_ok(rep.status == -EACCES && policy_recovery_start(&fv.policy),
	       "RECOVER_CANCEL with a wrong code: refused, still pending");
	req(ADMIN_OP_RECOVER_CANCEL);
	auth(0, 5);
	call();
	tap_ok(rep.status == 0 && !policy_recovery_start(&fv.policy) && audited == 1,
	       "a courier's code cancels the recovery; audited");
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(!rep.status_info.recovery_pending, "STATUS: no recovery pending");
	req(ADMIN_OP_RECOVER_CANCEL);
	auth(0, 5);
	call();
	expect(-ENOENT, "RECOVER_CANCEL with nothing pending: -ENOENT");

	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	expect(-EINPROGRESS, "a new RECOVER starts the delay anew");
	advance_s(3601);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	tap_ok(rep.status == 0 && !strcmp(fv.users[1].code, c) &&
	       !policy_recovery_start(&fv.policy) && rep.recovery[0],
	       "after the delay RECOVER completes: new owner code, delay cleared, new secret");
	snprintf(codes[1], sizeof(codes[1]), "%s", c);

	p.recovery_delay_s = 0;
	p.time_delay_s = 0;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
}

/* A new recovery secret by the owner's code (safelockctl recovery split). */
static void test_recovery_new(void)
{
	char old[SAFELOCK_RECOVERY_TEXT_SIZE], c[16];
	struct safelock_admin_policy p;

	snprintf(old, sizeof(old), "%s", fv.recovery);
	req(ADMIN_OP_RECOVERY_NEW);
	auth(0, 5);
	call();
	tap_ok(rep.status == -EPERM && !rep.recovery[0] && !strcmp(fv.recovery, old) &&
	       audited == 1, "RECOVERY_NEW by a courier: -EPERM, the secret unchanged, audited");
	random_code(c);
	req(ADMIN_OP_RECOVERY_NEW);
	auth_code(0, 1, c);
	call();
	tap_ok(rep.status == -EACCES && !strcmp(fv.recovery, old),
	       "RECOVERY_NEW with a wrong owner code: refused, the secret unchanged");
	fv.fail_op = "recovery_new";
	fv.fail_err = -EIO;
	req(ADMIN_OP_RECOVERY_NEW);
	auth(0, 1);
	call();
	fv.fail_op = NULL;
	tap_ok(rep.status == -EIO && !rep.recovery[0] && !strcmp(fv.recovery, old) &&
	       strstr(rep.message, "the old one still works") && audited == 1,
	       "RECOVERY_NEW whose vault fails: the old secret stays, nothing sent back, audited");

	/* a recovery delay started with the old secret ends with it */
	p = srv->policy;
	memset(p.reserved, 0, sizeof(p.reserved));
	p.recovery_delay_s = 3600;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
	random_code(c);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", old);
	new_code(c);
	call();
	tap_ok(rep.status == -EINPROGRESS && policy_recovery_start(&fv.policy),
	       "a recovery delay started with the old secret");
	req(ADMIN_OP_RECOVERY_NEW);
	auth(0, 1);
	call();
	tap_ok(rep.status == 0 && strlen(rep.recovery) == 39 && !strcmp(rep.recovery, fv.recovery) &&
	       strcmp(fv.recovery, old) && !policy_recovery_start(&fv.policy) && audited == 1,
	       "RECOVERY_NEW by the owner: a new secret in the reply, the pending recovery cancelled, audited");
	advance_s(3601);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", old);
	new_code(c);
	call();
	tap_ok(rep.status == -EACCES && !strcmp(fv.users[1].code, codes[1]),
	       "the old secret no longer works");
	p.recovery_delay_s = 0;
	req(ADMIN_OP_POLICY_SET);
	auth(0, 1);
	rq.policy = p;
	call();
}

static void test_wipe(void)
{
	unsigned int checks = fv.checks, prov_calls;
	char secret[SAFELOCK_RECOVERY_TEXT_SIZE];

	fk.door = 0;
	req(ADMIN_OP_WIPE);
	auth(0, 1);
	call();
	tap_ok(rep.status == -EPERM && fv.users[1].used && fv.checks == checks,
	       "WIPE with the door closed: refused before any code is checked");
	fk.door = 1;
	req(ADMIN_OP_WIPE);
	auth(0, 2);
	call();
	tap_ok(rep.status == -EPERM && fv.users[1].used, "WIPE with a manager's code: refused");
	req(ADMIN_OP_WIPE);
	auth(0, 1);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", fv.recovery);
	call();
	expect(-EINVAL, "WIPE with both the code and the secret: -EINVAL");
	req(ADMIN_OP_WIPE);
	call();
	expect(-EACCES, "WIPE with neither: -EACCES");

	prov_calls = fk.prov_calls;
	req(ADMIN_OP_WIPE);
	auth(0, 1);
	call();
	tap_ok(rep.status == 0 && !fv.users[1].used && !fv.users[2].used && audited == 1,
	       "WIPE with the owner's code, door open: every user gone; audited");
	tap_ok(fk.prov_calls == prov_calls + 1 && !fk.prov,
	       "WIPE told the kernel PROVISIONED=0");
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(!rep.status_info.provisioned && rep.status_info.n_users == 0,
	       "STATUS after the wipe: unprovisioned");

	enrol_code(1);
	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	call();
	snprintf(secret, sizeof(secret), "%s", rep.recovery);
	req(ADMIN_OP_WIPE);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	call();
	tap_ok(rep.status == 0 && !fv.users[1].used, "INIT again, then WIPE with the recovery secret");
	req(ADMIN_OP_WIPE);
	auth(0, 1);
	call();
	expect(-ENOENT, "WIPE of an unprovisioned lock: -ENOENT");
}

static void test_vault_down(void)
{
	req(ADMIN_OP_INIT);
	enrol_code(1);
	new_code(codes[1]);
	call();
	fv.down = true;
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status == 0 && !rep.status_info.vault_ok && strstr(rep.message, "not answering"),
	       "vault down: STATUS answers, vault_ok 0 and the reason");
	req(ADMIN_OP_USER_LIST);
	auth(0, 1);
	call();
	tap_ok(rep.status == -EIO && strstr(rep.message, "not answering"),
	       "vault down: an op fails with -EIO and the vault's reason");
	fv.down = false;
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status_info.vault_ok && rep.status_info.provisioned,
	       "vault back: vault_ok 1");

	/* the owner alone: dual control or administration would lock them out */
	req(ADMIN_OP_POLICY_GET);
	call();
	rq.policy = rep.policy;
	rq.policy.dual_control = 1;
	rq.op = ADMIN_OP_POLICY_SET;
	auth(0, 1);
	call();
	tap_ok(rep.status == -EPERM && strstr(rep.message, "two users who can open") &&
	       !fv.policy.dual_control, "dual control with one user who opens: refused");
	rq.policy.dual_control = 0;
	rq.policy.dual_admin = 1;
	auth(0, 1);
	call();
	tap_ok(rep.status == -EPERM && !fv.policy.dual_admin,
	       "dual administration with the owner alone: refused");
}

/* The last line audit_admin() wrote. */
static void last_audit(char *out, size_t len)
{
	char line[512];

	out[0] = '\0';
	fflush(stderr);
	rewind(errlog);
	while (fgets(line, sizeof(line), errlog))
		if (!strncmp(line, "safelockd: audit: admin ", 24))
			snprintf(out, len, "%s", line);
	fseek(errlog, 0, SEEK_END);
}

/* A backend without a policy store (or other admin ops) says so. */
static void test_older_backend(void)
{
	static struct vault_ops ops;
	static struct admin_server s2;
	struct vault v2 = vault;

	ops = fake_vault_ops;
	ops.policy_load = NULL;
	ops.policy_store = NULL;
	ops.user_add = NULL;
	v2.ops = &ops;
	admin_init(&s2, &v2, &fk_ops, NULL);
	s2.now_s = fake_now_s;
	s2.now_ms = fake_now_ms;
	req(ADMIN_OP_POLICY_GET);
	{
		unsigned char buf[sizeof(rq)];

		memcpy(buf, &rq, sizeof(buf));
		admin_handle(&s2, buf, sizeof(buf), NULL, &rep);
	}
	tap_ok(rep.status == -EOPNOTSUPP && strstr(rep.message, "fake vault cannot keep a policy") &&
	       s2.vault_ok, "a vault without a policy store: POLICY_GET -EOPNOTSUPP, vault_ok stays 1");
	req(ADMIN_OP_USER_ADD);
	auth(0, 1);
	rq.target_user = 12;
	rq.role = SAFELOCK_ROLE_USER;
	new_code("13572468");
	{
		unsigned char buf[sizeof(rq)];

		memcpy(buf, &rq, sizeof(buf));
		admin_handle(&s2, buf, sizeof(buf), NULL, &rep);
	}
	tap_ok(rep.status == -EOPNOTSUPP && strstr(rep.message, "cannot add users"),
	       "a vault without user_add: USER_ADD -EOPNOTSUPP with the reason");
}

/* Every request buffer wiped, whatever happened to it. */
static void test_wiped(void)
{
	unsigned char buf[sizeof(rq)];
	size_t i;
	bool zero = true;

	req(ADMIN_OP_CODE_CHANGE);
	auth_code(0, 77, "99999999");
	rq.target_user = 76;		/* malformed: not auth[0] */
	new_code("88888888");
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", "0123456789ABCDEFGHJKMNPQRSTVWXYZ");
	memcpy(buf, &rq, sizeof(buf));
	admin_handle(srv, buf, sizeof(buf), NULL, &rep);
	for (i = 0; i < sizeof(buf); i++)
		zero &= !buf[i];
	tap_ok(rep.status == -EINVAL && zero, "a refused request's codes and secret are wiped");
	tap_ok(unwiped == 0, "every request buffer of this run was wiped (%u were not)", unwiped);
	tap_ok(!memmem(&rep, sizeof(rep), "99999999", 8) && !memmem(&rep, sizeof(rep), "88888888", 8),
	       "no code in a reply");
}

/* ----------------------------------------------------------------- */
/* The socket                                                        */

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Run the server's side until @fd has an answer (or 50 rounds). */
static ssize_t roundtrip(int fd, const void *msg, size_t len, struct safelock_admin_reply *r)
{
	struct pollfd pfd[ADMIN_MAX_CLIENTS + 1];
	int i, n;
	ssize_t got;

	if (send(fd, msg, len, 0) != (ssize_t)len)
		return -1;
	for (i = 0; i < 50; i++) {
		n = admin_pollfds(srv, pfd, ADMIN_MAX_CLIENTS + 1);
		poll(pfd, (nfds_t)n, 100);
		admin_service(srv, pfd, n);
		got = recv(fd, r, sizeof(*r), MSG_DONTWAIT);
		if (got >= 0)
			return got;
	}
	return -1;
}

static void test_socket(void)
{
	static struct safelock_admin_reply r;
	char dir[] = "/tmp/safelock-admin-XXXXXX", path[128], sub[96], err[256];
	struct admin_server *other;
	struct stat st;
	unsigned char big[sizeof(rq) + 100];
	int fd, ret;
	size_t i;
	bool zero;

	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/admin.sock", sub);
	ret = admin_listen(srv, path, NULL, err, sizeof(err));
	if (!tap_ok(ret == 0, "listen on %s", path))
		tap_diag("%s", err);
	tap_ok(!stat(sub, &st) && (st.st_mode & 07777) == 0750 &&
	       !stat(path, &st) && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0660,
	       "the directory is 0750, the socket 0660");

	other = calloc(1, sizeof(*other));
	admin_init(other, &vault, &fk_ops, NULL);
	ret = admin_listen(other, path, NULL, err, sizeof(err));
	tap_ok(ret == -EADDRINUSE, "a second server on a live socket is refused (%s)", err);
	free(other);
	ret = admin_listen(srv, path, "no-such-group-here", err, sizeof(err));
	tap_ok(ret == -ENOENT && strstr(err, "no group"), "an unknown --admin-group is refused");

	fd = connect_to(path);
	req(ADMIN_OP_STATUS);
	tap_ok(fd >= 0 && roundtrip(fd, &rq, sizeof(rq), &r) == (ssize_t)sizeof(r) &&
	       r.status == 0 && r.op == ADMIN_OP_STATUS && r.status_info.provisioned,
	       "STATUS over the socket: one reply of sizeof(reply) bytes");
	{
		unsigned int k, found = 0;

		for (k = 0; k < ADMIN_MAX_CLIENTS; k++)
			found += srv->clients[k].fd >= 0 && srv->clients[k].peer.pid == getpid() &&
				 srv->clients[k].peer.uid == getuid();
		tap_ok(found == 1, "SO_PEERCRED of the client recorded");
	}

	memset(big, 0, sizeof(big));
	memcpy(big, &rq, sizeof(rq));
	tap_ok(roundtrip(fd, big, sizeof(big), &r) > 0 && r.status == -EINVAL &&
	       strstr(r.message, "bytes"), "an oversized message over the socket: -EINVAL");

	/* a secret over the socket: wiped from the server's buffers once answered */
	fk.door = 1;
	req(ADMIN_OP_WIPE);
	auth(0, 1);
	roundtrip(fd, &rq, sizeof(rq), &r);
	enrol_code(1);
	req(ADMIN_OP_INIT);
	new_code(codes[1]);
	ret = (int)roundtrip(fd, &rq, sizeof(rq), &r);
	zero = true;
	for (i = 0; i < sizeof(srv->rx); i++)
		zero &= !srv->rx[i];
	for (i = 0; i < sizeof(srv->reply.recovery); i++)
		zero &= !srv->reply.recovery[i];
	tap_ok(ret > 0 && r.status == 0 && strlen(r.recovery) == 39 && zero,
	       "INIT over the socket: the client got the secret, the server's buffers are wiped");

	/* held while an entry is typed */
	admin_hold(srv, true);
	req(ADMIN_OP_STATUS);
	send(fd, &rq, sizeof(rq), 0);
	{
		struct pollfd pfd[ADMIN_MAX_CLIENTS + 1];
		int n = admin_pollfds(srv, pfd, ADMIN_MAX_CLIENTS + 1);

		poll(pfd, (nfds_t)n, 50);
		tap_ok(!admin_service(srv, pfd, n) && recv(fd, &r, sizeof(r), MSG_DONTWAIT) < 0,
		       "during an entry (hold) no request is served");
	}
	admin_hold(srv, false);
	{
		struct pollfd pfd[ADMIN_MAX_CLIENTS + 1];
		int n = admin_pollfds(srv, pfd, ADMIN_MAX_CLIENTS + 1);

		poll(pfd, (nfds_t)n, 1000);
		tap_ok(admin_service(srv, pfd, n) &&
		       recv(fd, &r, sizeof(r), MSG_DONTWAIT) == (ssize_t)sizeof(r) &&
		       r.op == ADMIN_OP_STATUS && r.status == 0,
		       "the hold released (VERIFY answered): the waiting request is served");
	}
	close(fd);
	admin_close(srv);
	tap_ok(stat(path, &st) && errno == ENOENT, "the socket is removed at close");
	rmdir(sub);
	rmdir(dir);
}

/* ----------------------------------------------------------------- */
/* Policy helpers                                                    */

static void test_verdicts(void)
{
	struct safelock_admin_policy p;
	uint8_t o1, o2, o3;

	policy_defaults(&p);
	tap_ok(policy_verdict(SAFELOCK_ROLE_OWNER, &p, &o1) == SAFELOCK_RESULT_GRANTED &&
	       policy_verdict(SAFELOCK_ROLE_MANAGER, &p, &o2) == SAFELOCK_RESULT_GRANTED &&
	       policy_verdict(SAFELOCK_ROLE_USER, &p, &o3) == SAFELOCK_RESULT_GRANTED &&
	       !o1 && !o2 && !o3,
	       "owner, manager and user: GRANTED, no override without courier_override");
	tap_ok(policy_verdict(SAFELOCK_ROLE_AUDITOR, &p, &o1) == SAFELOCK_RESULT_DENIED &&
	       policy_verdict(SAFELOCK_ROLE_NONE, &p, &o2) == SAFELOCK_RESULT_DENIED && !o1 && !o2,
	       "auditor (and no role): DENIED");
	tap_ok(policy_verdict(SAFELOCK_ROLE_COURIER, &p, &o1) == SAFELOCK_RESULT_DENIED && !o1,
	       "courier without courier_override: DENIED");
	p.courier_override = 1;
	tap_ok(policy_verdict(SAFELOCK_ROLE_COURIER, &p, &o1) == SAFELOCK_RESULT_GRANTED &&
	       o1 == SAFELOCK_OVERRIDE_ONLY,
	       "courier_override: a courier's grant is ONLY half of an override");
	tap_ok(policy_verdict(SAFELOCK_ROLE_OWNER, &p, &o1) == SAFELOCK_RESULT_GRANTED &&
	       policy_verdict(SAFELOCK_ROLE_MANAGER, &p, &o2) == SAFELOCK_RESULT_GRANTED &&
	       policy_verdict(SAFELOCK_ROLE_USER, &p, &o3) == SAFELOCK_RESULT_GRANTED &&
	       o1 == SAFELOCK_OVERRIDE_MAY && o2 == SAFELOCK_OVERRIDE_MAY && !o3,
	       "courier_override: owner and managers MAY override, users may not");
}

static void test_policy_attrs(void)
{
	struct safelock_admin_policy p;
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	policy_defaults(&p);
	p.time_delay_s = 900;
	p.open_window_s = 120;
	p.dual_control = 1;
	p.dual_window_s = 45;
	p.relock_ms = 7000;
	p.door_limit_s = 0;
	p.week[3] = 0xff;
	p.holidays[2] = 20818;
	p.courier_override = 1;
	p.utc_offset_s = -3600;
	ret = policy_put_attrs(msg, &p, &vault);
	ret = ret ?: nla_parse(tb, SAFELOCK_A_MAX, nlmsg_attrdata(nlmsg_hdr(msg), 0),
			       nlmsg_attrlen(nlmsg_hdr(msg), 0), NULL);
	tap_ok(!ret && tb[SAFELOCK_A_TIME_DELAY_S] && nla_get_u32(tb[SAFELOCK_A_TIME_DELAY_S]) == 900 &&
	       tb[SAFELOCK_A_OPEN_WINDOW_S] && nla_get_u32(tb[SAFELOCK_A_OPEN_WINDOW_S]) == 120 &&
	       tb[SAFELOCK_A_DUAL_CONTROL] && nla_get_u8(tb[SAFELOCK_A_DUAL_CONTROL]) == 1 &&
	       tb[SAFELOCK_A_DUAL_WINDOW_S] && nla_get_u32(tb[SAFELOCK_A_DUAL_WINDOW_S]) == 45 &&
	       tb[SAFELOCK_A_RELOCK_MS] && nla_get_u32(tb[SAFELOCK_A_RELOCK_MS]) == 7000 &&
	       tb[SAFELOCK_A_DOOR_LIMIT_S] && nla_get_u32(tb[SAFELOCK_A_DOOR_LIMIT_S]) == 0,
	       "POLICY_SET attributes: the six opening ones, with their values");
	tap_ok(!ret && tb[SAFELOCK_A_TIME_LOCK_WEEK] &&
	       nla_len(tb[SAFELOCK_A_TIME_LOCK_WEEK]) == SAFELOCK_TIME_LOCK_WEEK_SIZE &&
	       ((uint8_t *)nla_data(tb[SAFELOCK_A_TIME_LOCK_WEEK]))[3] == 0xff &&
	       tb[SAFELOCK_A_HOLIDAYS] && nla_len(tb[SAFELOCK_A_HOLIDAYS]) == 4 &&
	       *(uint32_t *)nla_data(tb[SAFELOCK_A_HOLIDAYS]) == 20818 &&
	       tb[SAFELOCK_A_UTC_OFFSET_S] && nla_get_s32(tb[SAFELOCK_A_UTC_OFFSET_S]) == -3600 &&
	       tb[SAFELOCK_A_TIME_LOCK] && nla_get_u8(tb[SAFELOCK_A_TIME_LOCK]) == 0 &&
	       tb[SAFELOCK_A_OVERRIDE] && nla_get_u8(tb[SAFELOCK_A_OVERRIDE]) == 1,
	       "POLICY_SET attributes: the time lock (only the used holidays) and the override");
	nlmsg_free(msg);
	msg = nlmsg_alloc();
	policy_set_time_lock_until(&p, (fv.now_ms + 600000) | POLICY_PRIV_TPM_MS);
	ret = policy_put_attrs(msg, &p, &vault);
	ret = ret ?: nla_parse(tb, SAFELOCK_A_MAX, nlmsg_attrdata(nlmsg_hdr(msg), 0),
			       nlmsg_attrlen(nlmsg_hdr(msg), 0), NULL);
	tap_ok(!ret && !tb[SAFELOCK_A_TIME_LOCK_UNTIL] && tb[SAFELOCK_A_TIME_LOCK_FOR_S] &&
	       nla_get_u32(tb[SAFELOCK_A_TIME_LOCK_FOR_S]) == 600,
	       "a running immediate time lock goes out again with the policy, as its time left");
	nlmsg_free(msg);
}

/* The time-lock attributes policy_put_attrs() makes of the policy in force. */
static int tl_attrs(uint32_t *for_s, bool *until)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	*for_s = 0;
	*until = false;
	if (!msg)
		return -ENOMEM;
	ret = policy_put_attrs(msg, &srv->policy, &vault);
	ret = ret ?: nla_parse(tb, SAFELOCK_A_MAX, nlmsg_attrdata(nlmsg_hdr(msg), 0),
			       nlmsg_attrlen(nlmsg_hdr(msg), 0), NULL);
	if (!ret && tb[SAFELOCK_A_TIME_LOCK_FOR_S])
		*for_s = nla_get_u32(tb[SAFELOCK_A_TIME_LOCK_FOR_S]);
	*until = !ret && tb[SAFELOCK_A_TIME_LOCK_UNTIL];
	nlmsg_free(msg);
	return ret;
}

/*
 * The recovery delay and the immediate time lock count on the vault's
 * (TPM's) clock, not CLOCK_REALTIME: moving the wall clock a year ends
 * neither; a clock that cannot be read never counts as time passed. And
 * INIT of a damaged vault is refused.
 */
static void test_tpm_clock(void)
{
	static const uint64_t year_s = 365ULL * 86400;
	char secret[SAFELOCK_RECOVERY_TEXT_SIZE], c[16];
	struct safelock_admin_policy p;
	uint32_t for_s;
	bool until;
	int ret;

	fake_vault_init(&vault, &fv);
	random_code(codes[1]);
	ret = vault.ops->user_add(&vault, 1, SAFELOCK_ROLE_OWNER, codes[1], strlen(codes[1]));
	ret = ret ?: vault.ops->recovery_new(&vault, secret);
	policy_defaults(&p);
	p.recovery_delay_s = 3600;
	fv.policy = p;
	fv.has_policy = true;
	fk.registered = true;
	fk.door = 0;
	server_start();
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	random_code(c);
	new_code(c);
	call();
	tap_ok(!ret && rep.status == -EINPROGRESS && rep.retry_after_ms == 3600000 &&
	       policy_recovery_start(&fv.policy) == (fv.now_ms | POLICY_PRIV_TPM_MS),
	       "RECOVER starts the delay at the TPM clock's reading");
	clock_s += year_s;
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	if (!tap_ok(rep.status == -EINPROGRESS && rep.retry_after_ms == 3600000 &&
		    strcmp(fv.users[1].code, c),
		    "the wall clock set a year forward: the recovery delay is still running (3600 s left)"))
		tap_diag("status %d retry %u: %s", rep.status, rep.retry_after_ms, rep.message);
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status_info.recovery_pending && rep.status_info.recovery_left_s == 3600,
	       "STATUS a year later on the wall clock: 3600 s left (%u)",
	       rep.status_info.recovery_left_s);
	fv.now_ms += 1800 * 1000;
	fv.clock_fail = true;
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status_info.recovery_left_s == 3600 && strstr(rep.message, "TPM clock"),
	       "the TPM clock unreadable: STATUS shows the whole delay left and says why (%s)",
	       rep.message);
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	fv.clock_fail = false;
	tap_ok(rep.status == -EINPROGRESS && strcmp(fv.users[1].code, c) &&
	       strstr(rep.message, "TPM clock"),
	       "the TPM clock unreadable: RECOVER is refused, the delay not over");
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status_info.recovery_left_s == 1800,
	       "the TPM clock read again: 1800 s left (%u)", rep.status_info.recovery_left_s);
	fv.now_ms += 1801 * 1000;
	req(ADMIN_OP_RECOVER);
	snprintf(rq.recovery, sizeof(rq.recovery), "%s", secret);
	new_code(c);
	call();
	tap_ok(rep.status == 0 && !strcmp(fv.users[1].code, c),
	       "an hour on the TPM clock ends it: the owner's code is changed");
	snprintf(codes[1], sizeof(codes[1]), "%s", c);

	/* the immediate time lock */
	req(ADMIN_OP_TIME_LOCK_NOW);
	auth(0, 1);
	rq.duration_s = 3600;
	call();
	tap_ok(rep.status == 0 && fk.time_lock_s == 3600 &&
	       policy_time_lock_until(&fv.policy) == ((fv.now_ms + 3600000) | POLICY_PRIV_TPM_MS),
	       "TIME_LOCK_NOW stores its end on the TPM clock");
	clock_s += year_s;
	server_start();		/* a restart: the policy from the vault */
	admin_policy_ready(srv);
	ret = tl_attrs(&for_s, &until);
	tap_ok(!ret && for_s == 3600 && !until,
	       "the wall clock a year forward, safelockd restarted: the push still sends TIME_LOCK_FOR_S 3600, no TIME_LOCK_UNTIL");
	fv.now_ms += 600 * 1000;
	ret = tl_attrs(&for_s, &until);
	tap_ok(!ret && for_s == 3000, "600 s later on the TPM clock: TIME_LOCK_FOR_S 3000 (%u)", for_s);
	fv.clock_fail = true;
	ret = tl_attrs(&for_s, &until);
	fv.clock_fail = false;
	tap_ok(ret == -EIO && !for_s,
	       "the TPM clock unreadable: no push at all (retried), never a time lock dropped");
	fv.now_ms += 3000 * 1000;
	ret = tl_attrs(&for_s, &until);
	tap_ok(!ret && !for_s && !until, "once over on the TPM clock: no time lock attribute");

	/* INIT of a damaged vault */
	fv.damaged = true;
	memset(&fv.users[1], 0, sizeof(fv.users[1]));
	fk.door = 1;
	req(ADMIN_OP_INIT);
	random_code(c);
	new_code(c);
	call();
	tap_ok(rep.status == -EEXIST && strstr(rep.message, "damaged") && !fv.users[1].used,
	       "INIT of a damaged vault is refused: %s", rep.message);
	req(ADMIN_OP_STATUS);
	call();
	tap_ok(rep.status_info.provisioned && strstr(rep.message, "damaged"),
	       "STATUS of a damaged vault: provisioned (never a new lock), and says damaged");
	fv.damaged = false;
	fk.door = 0;
}

static void test_policy_validate(void)
{
	struct safelock_admin_policy p;
	char why[160];
	int bad = 0;

#define BAD(field, val) do { policy_defaults(&p); p.field = (val); \
		bad += policy_validate(&p, why, sizeof(why)) == -EINVAL; } while (0)
#define GOOD(field, val) do { policy_defaults(&p); p.field = (val); \
		bad += policy_validate(&p, why, sizeof(why)) == 0; } while (0)
	GOOD(time_delay_s, 7200); BAD(time_delay_s, 7201);
	GOOD(open_window_s, 1800); BAD(open_window_s, 59);
	GOOD(dual_window_s, 10); BAD(dual_window_s, 301);
	GOOD(relock_ms, 500); BAD(relock_ms, 499);
	GOOD(door_limit_s, 0); BAD(door_limit_s, 4); GOOD(door_limit_s, 3600);
	GOOD(recovery_delay_s, 604800); BAD(recovery_delay_s, 604801);
	BAD(dual_admin, 2); GOOD(utc_offset_s, -50400); BAD(utc_offset_s, 50401);
	BAD(holidays[3], 100001);
#undef BAD
#undef GOOD
	tap_ok(bad == 17, "policy ranges: %d of 17 boundaries right", bad);
}

int main(void)
{
	errlog = tmpfile();
	if (!errlog || dup2(fileno(errlog), STDERR_FILENO) < 0) {
		printf("Bail out! no temporary file for stderr\n");
		return 1;
	}
	setvbuf(stderr, NULL, _IONBF, 0);
	tap_plan(NTESTS);
	fake_vault_init(&vault, &fv);
	server_start();

	test_malformed();
	test_init();
	test_users();
	test_duress();
	test_policy();
	test_dual();
	test_throttle();
	test_kernel_ops();
	test_audit_hook();
	test_recover();
	test_recovery_new();
	test_wipe();
	test_vault_down();
	test_older_backend();
	test_wiped();
	test_socket();
	test_verdicts();
	test_policy_attrs();
	test_policy_validate();
	test_tpm_clock();
	free(srv);
	return tap_exit();
}
