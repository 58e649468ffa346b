// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier's decisions (safelockd/gate.c), with crafted netlink
 * messages and the in-memory vault (fake_vault.c):
 *
 *  - only the kernel's messages are acted on: a VERIFY or ENTRY_BEGIN
 *    unicast to safelockd's port by another process (source port not 0),
 *    or of another family, is not (issue 11, hole 15);
 *  - a VERIFY for a lock whose POLICY_SET did not succeed since
 *    registration (or while the vault's policy cannot be read) is DENIED
 *    without asking the vault anything: no count, no check (hole 1);
 *  - the log limiter that keeps a flood of forged messages off the disk;
 *  - the wall clock's lower bound from the vault's clock (fault model,
 *    wall clock set back): with a schedule, a VERIFY while the wall clock
 *    is below the bound, or while the vault's clock cannot be read, is
 *    DENIED unchecked and uncounted, with its audit record; without a
 *    schedule, or without an anchor, nothing changes; an owner's commit
 *    re-anchors, a manager's does not.
 *
 * Codes are made up at run time.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "libsafelock.h"
#include "audit.h"
#include "audit_names.h"
#include "../safelockd/adminsrv.h"
#include "../safelockd/gate.h"
#include "fake_vault.h"
#include "tap.h"

#define NTESTS 45
#define FAMILY 0x1c	/* a family id as the kernel resolves it */

static struct fake_vault fv;
static struct vault vault;
static struct admin_server *srv;

static void random_code(char *out)
{
	unsigned char b[8];
	int fd = open("/dev/urandom", O_RDONLY), i;

	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		for (i = 0; i < 8; i++)
			b[i] = (unsigned char)rand();
	for (i = 0; i < 8; i++)
		out[i] = (char)('0' + b[i] % 10);
	out[8] = '\0';
	if (fd >= 0)
		close(fd);
}

/* A generic netlink header of @type and @cmd, as sent from port @pid. */
static enum kmsg_check craft(uint32_t pid, uint16_t type, uint8_t cmd, bool with_src)
{
	struct {
		struct nlmsghdr nlh;
		struct genlmsghdr gh;
	} m = {
		.nlh = { .nlmsg_len = sizeof(m), .nlmsg_type = type, .nlmsg_pid = pid },
		.gh = { .cmd = cmd, .version = SAFELOCK_GENL_VERSION },
	};
	struct sockaddr_nl src = { .nl_family = AF_NETLINK, .nl_pid = pid };

	return kernel_msg_check(with_src ? &src : NULL, &m.nlh, FAMILY);
}

static void test_sender(void)
{
	tap_ok(craft(0, FAMILY, SAFELOCK_CMD_VERIFY, true) == KMSG_KERNEL,
	       "a VERIFY from port 0 of our family: the kernel's");
	tap_ok(craft(0, GENL_ID_CTRL, CTRL_CMD_DELFAMILY, true) == KMSG_KERNEL,
	       "an nlctrl notification from port 0: the kernel's");
	tap_ok(craft(4242, FAMILY, SAFELOCK_CMD_VERIFY, true) == KMSG_FORGED,
	       "a VERIFY unicast from port 4242 (another process): forged");
	tap_ok(craft(4242, FAMILY, SAFELOCK_CMD_ENTRY_BEGIN, true) == KMSG_FORGED,
	       "an ENTRY_BEGIN from port 4242: forged");
	tap_ok(craft(31337, GENL_ID_CTRL, CTRL_CMD_DELFAMILY, true) == KMSG_FORGED,
	       "an nlctrl DELFAMILY from a process: forged (no forced re-registration)");
	tap_ok(craft(0, FAMILY + 1, SAFELOCK_CMD_VERIFY, true) == KMSG_OTHER_FAMILY,
	       "a message of another family: not acted on");
	tap_ok(craft(0, FAMILY, SAFELOCK_CMD_VERIFY, false) == KMSG_FORGED,
	       "no source address at all: not trusted");
}

static void test_ratelimit(void)
{
	struct ratelimit rl = { .window_ms = 60000, .burst = 10 };
	unsigned long more = 0, i, let = 0;

	for (i = 0; i < 100000; i++)
		let += ratelimit_ok(&rl, 1000 + i / 1000, &more);
	tap_ok(let == 10, "a flood of 100000 in 100 s: 10 lines in the first minute, then none (%lu)",
	       let);
	tap_ok(ratelimit_ok(&rl, 1000 + 61000, &more) && more == 99990,
	       "the next minute: a line again, with the 99990 held back counted (%lu)", more);
}

static void test_no_policy(void)
{
	struct verify_in in = { .dev = 0, .req = 7, .user = 1 };
	struct verify_out out;
	char owner[16], wrong[16];
	unsigned int calls, checks;

	fake_vault_init(&vault, &fv);
	random_code(owner);
	do
		random_code(wrong);
	while (!strcmp(wrong, owner));
	fake_vault_ops.user_add(&vault, 1, SAFELOCK_ROLE_OWNER, owner, strlen(owner));
	srv = calloc(1, sizeof(*srv));
	admin_init(srv, &vault, NULL, NULL);

	/* the kernel refused the push to lock 0: its bit stays clear */
	tap_ok(!policy_in_force(0, 0, true), "no successful POLICY_SET on lock 0: policy not in force");
	tap_ok(!policy_in_force(1u << 1, 0, true) && policy_in_force(1u << 0, 0, true),
	       "a push that reached lock 1 only: in force on lock 1's bit, not on lock 0");
	tap_ok(!policy_in_force(0xffffffffu, 0, false),
	       "the vault's policy could not be read: in force nowhere");
	tap_ok(!policy_in_force(0xffffffffu, 40, true), "a lock index past the bitmap: not in force");

	calls = fv.calls;
	checks = fv.checks;
	in.code = owner;
	in.len = strlen(owner);
	verify_decide(&vault, srv, policy_in_force(0, 0, true), &in, &out);
	if (!tap_ok(out.result == SAFELOCK_RESULT_DENIED && !out.retry_after_ms &&
		    out.no_policy && !out.vault_asked && fv.calls == calls && fv.checks == checks,
		    "POLICY_SET failed: the owner's right code is DENIED, no retry-after, no vault call"))
		tap_diag("result %u retry %u no_policy %d asked %d vault calls %u",
			 out.result, out.retry_after_ms, out.no_policy, out.vault_asked,
			 fv.calls - calls);
	in.code = wrong;
	in.len = strlen(wrong);
	verify_decide(&vault, srv, policy_in_force(0, 0, true), &in, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && fv.calls == calls &&
	       fv.users[1].failures == 0 && fv.global_failures == 0,
	       "... and a wrong code is neither checked nor counted (no oracle, no lockout)");

	in.code = owner;
	in.len = strlen(owner);
	verify_decide(&vault, srv, policy_in_force(1u << 0, 0, true), &in, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.vault_asked && !out.no_policy &&
	       fv.calls == calls + 1,
	       "the policy in force on lock 0: the vault checks, the owner is GRANTED");
	in.code = wrong;
	in.len = strlen(wrong);
	verify_decide(&vault, srv, policy_in_force(1u << 0, 0, true), &in, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.vault_asked && fv.users[1].failures == 1,
	       "... and a wrong code is checked and counted");
	in.code = "12";
	in.len = 2;
	calls = fv.calls;
	verify_decide(&vault, srv, true, &in, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.vault_ret == -EINVAL &&
	       !out.vault_asked && fv.calls == calls,
	       "a malformed code: DENIED, the vault not asked");
	free(srv);
}

static void test_vault_state(void)
{
	tap_ok(vault_state(-EIO) == SAFELOCK_VAULT_DAMAGED &&
	       vault_state(-ENOENT) == SAFELOCK_VAULT_DAMAGED &&
	       vault_state(-EBADMSG) == SAFELOCK_VAULT_DAMAGED,
	       "a vault error goes to the kernel as DAMAGED, never as 'no owner'");
	tap_ok(vault_state(SAFELOCK_VAULT_EMPTY) == SAFELOCK_VAULT_EMPTY &&
	       vault_state(SAFELOCK_VAULT_OWNED) == SAFELOCK_VAULT_OWNED &&
	       vault_state(SAFELOCK_VAULT_DAMAGED) == SAFELOCK_VAULT_DAMAGED,
	       "EMPTY, OWNED and DAMAGED go as they are");
	tap_ok(vault_state(SAFELOCK_VAULT_MAX + 3) == SAFELOCK_VAULT_DAMAGED,
	       "a value the verifier does not know: DAMAGED");
}

/* The UTC_OFFSET_S that policy_put_attrs_at() puts for @p at @t. */
static int32_t pushed_offset(const struct safelock_admin_policy *p, int64_t t)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct nl_msg *msg = nlmsg_alloc();
	int32_t off = INT32_MIN;

	if (msg && !policy_put_attrs_at(msg, p, NULL, t) &&
	    !nla_parse(tb, SAFELOCK_A_MAX, nlmsg_attrdata(nlmsg_hdr(msg), 0),
		       nlmsg_attrlen(nlmsg_hdr(msg), 0), NULL) &&
	    tb[SAFELOCK_A_UTC_OFFSET_S])
		off = nla_get_s32(tb[SAFELOCK_A_UTC_OFFSET_S]);
	if (msg)
		nlmsg_free(msg);
	return off;
}

/*
 * Hole 12: the time lock follows the zone's transitions with no policy
 * set in between. Europe/Berlin, 2026: CEST from 2026-03-29 01:00 UTC
 * (1774746000) to 2026-10-25 01:00 UTC (1792890000).
 */
static void test_zone(void)
{
	struct safelock_admin_policy p;
	char why[160];

	policy_defaults(&p);
	p.time_lock = 1;
	p.utc_offset_s = 3600;
	if (policy_zone_check("Europe/Berlin", NULL, why, sizeof(why))) {
		for (int i = 0; i < 5; i++)
			tap_skip("time zones", "no tzdata (/usr/share/zoneinfo/Europe/Berlin)");
		return;
	}
	snprintf(p.time_zone, sizeof(p.time_zone), "Europe/Berlin");
	tap_ok(pushed_offset(&p, 1774745999) == 3600 && pushed_offset(&p, 1774746000) == 7200,
	       "Europe/Berlin: the offset pushed goes from +1 h to +2 h at the March transition (%d, %d)",
	       pushed_offset(&p, 1774745999), pushed_offset(&p, 1774746000));
	tap_ok(pushed_offset(&p, 1792889999) == 7200 && pushed_offset(&p, 1792890000) == 3600,
	       "... and back to +1 h in October, with no policy set in between");
	snprintf(p.time_zone, sizeof(p.time_zone), "UTC");
	tap_ok(pushed_offset(&p, 1774746000) == 0, "zone UTC: offset 0 (a guest without tzdata)");
	memset(p.time_zone, 0, sizeof(p.time_zone));
	tap_ok(pushed_offset(&p, 1774746000) == 3600,
	       "no zone: the stored offset as it is");
	tap_ok(policy_zone_check("../../etc/passwd", NULL, why, sizeof(why)) == -EINVAL &&
	       policy_zone_check("Nowhere/Atlantis", NULL, why, sizeof(why)) == -EINVAL &&
	       policy_zone_check("/etc/localtime", NULL, why, sizeof(why)) == -EINVAL &&
	       policy_zone_check("UTC", "/nonexistent", why, sizeof(why)) == 0,
	       "a zone is a name under zoneinfo, or UTC; paths and unknown names refused");
}

static uint64_t wall_s;

static uint64_t fake_wall_s(void)
{
	return wall_s;
}

#define W0		1800000000ULL		/* 2027-01-15: the anchor */
#define BUILD_DATE	(W0 - 3 * 365 * 86400ULL)	/* an RTC back at the build */

/* admin_handle() of a copy of @rq: the server wipes what it is given */
static void admin_copy(const struct safelock_admin_req *rq,
		       struct safelock_admin_reply *rep)
{
	struct safelock_admin_req buf = *rq;

	admin_handle(srv, &buf, sizeof(buf), NULL, rep);
}

/* A VERIFY of @code by user 1 on a lock with the policy in force. */
static void decide(const char *code, struct verify_out *out)
{
	struct verify_in in = { .dev = 0, .req = 9, .user = 1, .code = code,
				.len = strlen(code) };

	verify_decide(&vault, srv, true, &in, out);
}

static void test_clock(void)
{
	struct verify_in in = { .dev = 0, .req = 9, .user = 1 };
	struct safelock_admin_reply rep;
	struct safelock_admin_req rq;
	struct verify_out out;
	char owner[16], mgr[16], wrong[16], text[AUDIT_TEXT_SIZE];
	unsigned int checks, anchors;
	uint32_t type = 0, value = 0;

	fake_vault_init(&vault, &fv);
	random_code(owner);
	do
		random_code(mgr);
	while (!strcmp(mgr, owner));
	do
		random_code(wrong);
	while (!strcmp(wrong, owner));
	fake_vault_ops.user_add(&vault, 1, SAFELOCK_ROLE_OWNER, owner, strlen(owner));
	fake_vault_ops.user_add(&vault, 2, SAFELOCK_ROLE_MANAGER, mgr, strlen(mgr));
	srv = calloc(1, sizeof(*srv));
	admin_init(srv, &vault, NULL, NULL);
	srv->now_s = fake_wall_s;
	srv->policy.time_lock = 1;
	srv->policy.week[0] = 0x0f;	/* Sunday 00:00-01:00 locked */
	wall_s = BUILD_DATE;

	/* no anchor yet (a table of an older safelockd): the clock as it is */
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "no anchor, schedule, clock at the build date: GRANTED as before");

	fv.has_anchor = true;
	fv.anchor.wall_s = W0;
	fv.anchor.clock_ms = fv.now_ms;
	wall_s = W0;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.vault_asked && out.clock == CLOCK_TRUSTED,
	       "anchor, wall clock at the anchor: the right code is GRANTED");
	/* 1000 s of TPM clock later the bound is W0 + 850 - 300 */
	fv.now_ms += 1000 * 1000;
	wall_s = W0 + 550;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "1000 s of TPM clock later, wall clock exactly at the bound (anchor + 85 %% - 300 s): GRANTED");
	wall_s = W0 + 549;
	checks = fv.checks;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND &&
	       out.clock_behind_s == 1 && !out.vault_asked && fv.checks == checks,
	       "one second below the bound: DENIED, behind by 1 s, not checked (%llu)",
	       (unsigned long long)out.clock_behind_s);

	wall_s = BUILD_DATE;
	checks = fv.checks;
	decide(owner, &out);
	if (!tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND &&
		    !out.vault_asked && !out.retry_after_ms && fv.checks == checks &&
		    fv.users[1].failures == 0 && fv.global_failures == 0,
		    "clock back at the build date, schedule: the owner's right code DENIED unchecked"))
		tap_diag("result %u clock %d asked %d", out.result, out.clock, out.vault_asked);
	tap_ok(out.clock_behind_s == W0 + 550 - BUILD_DATE,
	       "... behind the bound by %llu s (three years and 550 s)",
	       (unsigned long long)out.clock_behind_s);
	in.code = owner;
	in.len = strlen(owner);
	tap_ok(verify_unchecked_record(&in, &out, &type, &value, text, sizeof(text)) &&
	       type == AUDIT_V_CLOCK_BEHIND && value == W0 + 550 - BUILD_DATE &&
	       strstr(text, "clock behind the TPM's lower bound by ") &&
	       !strcmp(audit_event_name(AUDIT_SRC_VAULT, type), "clock-behind"),
	       "... and its audit record: clock-behind, value the seconds, '%s'", text);
	decide(wrong, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND &&
	       fv.checks == checks && fv.users[1].failures == 0 && fv.global_failures == 0,
	       "... a wrong code: not checked, not counted (no oracle, no lockout)");
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = ADMIN_OP_STATUS;
	admin_copy(&rq, &rep);
	tap_ok(rep.status == 0 && rep.status_info.clock_behind_s == W0 + 550 - BUILD_DATE,
	       "status: clock behind the bound by %u s", rep.status_info.clock_behind_s);

	srv->policy.time_lock = 0;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "the same clock, no time lock in the policy: GRANTED");
	srv->policy.time_lock = 1;
	srv->policy.week[0] = 0;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED,
	       "time lock on but nothing locked (no quarter, no holiday): GRANTED");
	srv->policy.holidays[3] = 20000;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND,
	       "a holiday alone is a schedule: DENIED");
	srv->policy.holidays[3] = 0;
	srv->policy.week[0] = 0x0f;

	wall_s = W0 + 100000;
	fv.clock_fail = true;
	checks = fv.checks;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_UNVERIFIABLE &&
	       !out.vault_asked && fv.checks == checks &&
	       verify_unchecked_record(&in, &out, &type, &value, text, sizeof(text)) &&
	       type == AUDIT_V_CLOCK_BEHIND && value == 0,
	       "anchor, TPM clock unreadable, wall clock ahead: DENIED unchecked ('%s')", text);
	admin_copy(&rq, &rep);
	tap_ok(rep.status_info.clock_behind_s == SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE,
	       "status: the clock cannot be checked");
	fv.clock_fail = false;
	fv.anchor.clock_ms = fv.now_ms + 1;
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_UNVERIFIABLE,
	       "TPM clock below the anchor's (cleared or swapped TPM): DENIED unchecked");
	fv.anchor.clock_ms = fv.now_ms - 1000 * 1000;

	/* a manager's commit keeps the anchor; the owner's replaces it */
	wall_s = BUILD_DATE;
	anchors = fv.anchors;
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = ADMIN_OP_POLICY_SET;
	rq.policy = srv->policy;
	memset(rq.policy.reserved, 0, sizeof(rq.policy.reserved));
	rq.auth[0].user_id = 2;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", mgr);
	admin_copy(&rq, &rep);
	tap_ok(rep.status == 0 && fv.anchors == anchors && fv.anchor.wall_s == W0 &&
	       !fv.vouch_wall_s,
	       "a manager's policy set at the build date: done, the anchor stays (%d)", rep.status);
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND,
	       "... and openings stay refused");
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = ADMIN_OP_POLICY_SET;
	rq.policy = srv->policy;
	memset(rq.policy.reserved, 0, sizeof(rq.policy.reserved));
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", owner);
	admin_copy(&rq, &rep);
	tap_ok(rep.status == 0 && fv.anchors > anchors && fv.anchor.wall_s == BUILD_DATE &&
	       fv.anchor.clock_ms == fv.now_ms && !fv.vouch_wall_s,
	       "the owner's policy set at a lower wall clock re-anchors there (the way back)");
	decide(owner, &out);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "... and the owner's code opens again at that clock");
	free(srv);
}

int main(void)
{
	tap_plan(NTESTS);
	test_vault_state();
	test_zone();
	test_sender();
	test_ratelimit();
	test_no_policy();
	test_clock();
	return tap_exit();
}
