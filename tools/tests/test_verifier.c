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
 *  - the log limiter that keeps a flood of forged messages off the disk.
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
#include "../safelockd/adminsrv.h"
#include "../safelockd/gate.h"
#include "fake_vault.h"
#include "tap.h"

#define NTESTS 26
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

int main(void)
{
	tap_plan(NTESTS);
	test_vault_state();
	test_zone();
	test_sender();
	test_ratelimit();
	test_no_policy();
	return tap_exit();
}
