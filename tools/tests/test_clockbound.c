// SPDX-License-Identifier: GPL-2.0
/*
 * The wall clock's lower bound from the TPM's clock (fault model: the
 * wall clock set back so that a scheduled period has not begun yet, or a
 * board without RTC back at its image's build date), against swtpm, the
 * admin server and the verifier's decisions (gate.c), as safelockd runs
 * them. The wall clock is the admin server's now_s(), set by the test:
 *
 *  - INIT anchors the wall clock to the TPM's clock in the vault table;
 *    the anchor is read back after the vault is closed and opened again;
 *  - with a schedule, the owner's right code is GRANTED at the anchor's
 *    wall clock and DENIED, unchecked and uncounted (the failure counts
 *    read back from the TPM unchanged), with the clock years back;
 *  - without a schedule the same clock opens;
 *  - the TPM's clock unreadable (ReadClock failed by tcti_fault.c) while
 *    an anchor exists: DENIED unchecked;
 *  - the owner's policy set, unchanged, at a lower wall clock re-anchors
 *    there (the way back from a clock set too far forward), and that
 *    survives a restart;
 *  - a table committed with no anchor (as safelockd wrote it before the
 *    anchor existed: no flag bit 3, nothing appended) opens, OWNED, and
 *    the schedule follows the clock as before.
 *
 * Codes are made up at run time. SKIPs if swtpm is absent or the slfault
 * TCTI cannot be loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>

#include "libsafelock.h"
#include "../safelockd/adminsrv.h"
#include "../safelockd/gate.h"
#include "../safelockd/vault.h"
#include "swtpm.h"
#include "tcti_fault.h"
#include "tap.h"

#define NTESTS	20

#define W0		1800000000ULL			/* 2027-01-15 */
#define BUILD_DATE	(W0 - 3 * 365 * 86400ULL)	/* three years back */

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct admin_server srv;
static struct safelock_admin_req rq;
static struct safelock_admin_reply rep;
static struct slfault *fault;
static char tcti[PATH_MAX * 3];
static char code[SAFELOCK_CODE_BUF], wrong[SAFELOCK_CODE_BUF];
static size_t len = 8;
static uint64_t wall_s = W0;

static uint64_t fake_wall_s(void)
{
	return wall_s;
}

static int k_door_open(void *ctx, char *why, size_t n)
{
	(void)ctx;
	(void)why;
	(void)n;
	return 1;
}

static int k_policy_push(void *ctx, const struct safelock_admin_policy *p,
			 char *why, size_t n)
{
	(void)ctx;
	(void)p;
	(void)why;
	(void)n;
	return 0;
}

static const struct admin_kernel_ops kops = {
	.door_open = k_door_open,
	.policy_push = k_policy_push,
};

/* The slfault TCTI beside this program: tools/tests/ */
static bool load_fault(void)
{
	fault = slfault_load(sw.tcti, tcti, sizeof(tcti));
	return fault != NULL;
}

static void req(uint32_t op)
{
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = op;
}

/* Send rq (a copy: the server wipes it) and return the reply's status. */
static int admin(void)
{
	unsigned char buf[sizeof(rq)];

	memcpy(buf, &rq, sizeof(rq));
	return admin_handle(&srv, buf, sizeof(buf), NULL, &rep);
}

/* The owner's policy set of @p (reserved words zero, as on the socket). */
static int owner_policy_set(const struct safelock_admin_policy *p)
{
	req(ADMIN_OP_POLICY_SET);
	rq.policy = *p;
	memset(rq.policy.reserved, 0, sizeof(rq.policy.reserved));
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", code);
	return admin();
}

/* A VERIFY of user 1's @c on a lock with the policy in force. */
static struct verify_out verify_code(const char *c)
{
	struct verify_in in = { .dev = 0, .req = 42, .user = 1, .code = c, .len = len };
	struct verify_out out;

	verify_decide(&v, &srv, true, &in, &out);
	if (v.ops->finish)
		v.ops->finish(&v);
	return out;
}

static struct verify_out verify(void)
{
	return verify_code(code);
}

/* (Re)open the vault and the admin server on it, as a start does. */
static bool start(void)
{
	if (v.priv)
		v.ops->close(&v);
	if (v.ops->open(&v, &cfg))
		return false;
	admin_init(&srv, &v, &kops, NULL);
	srv.now_s = fake_wall_s;
	return true;
}

static bool anchor_is(uint64_t want_wall, struct vault_clock_anchor *a)
{
	return v.ops->clock_anchor(&v, a) == 0 && a->wall_s == want_wall;
}

/* The flags word of vault.tab (after "SLVTAB01" and the version). */
static long table_flags(void)
{
	char path[PATH_MAX + 16];
	unsigned char b[20];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/vault.tab", sw.statedir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b));
	close(fd);
	if (n != (ssize_t)sizeof(b))
		return -1;
	return ((long)b[16] << 24) | ((long)b[17] << 16) | ((long)b[18] << 8) | b[19];
}

static void clock_tests(void)
{
	struct safelock_admin_policy sched;
	struct vault_clock_anchor a = { 0 }, b = { 0 };
	struct vault_throttle before = { 0 }, after = { 0 };
	struct verify_out out;
	uint64_t now = 0;
	int ret;

	/* INIT anchors */
	wall_s = W0;
	ret = start() ? 0 : -1;
	req(ADMIN_OP_INIT);
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", code);
	ret = ret ? ret : admin();
	v.ops->clock_ms(&v, &now);
	ret = ret ? ret : !anchor_is(W0, &a);
	tap_ok(ret == 0 && a.clock_ms && a.clock_ms <= now &&
	       (table_flags() & 0x8),
	       "init anchors the wall clock to the TPM's (%llu s at TPM %llu ms; %s)",
	       (unsigned long long)a.wall_s, (unsigned long long)a.clock_ms, rep.message);
	tap_ok(start() && anchor_is(W0, &b) && b.clock_ms == a.clock_ms,
	       "after a restart the anchor reads back the same from the table");

	policy_defaults(&sched);
	sched.time_lock = 1;
	sched.week[0] = 0x0f;	/* Sunday 00:00-01:00 */
	ret = owner_policy_set(&sched);
	tap_ok(ret == 0, "the owner sets a weekly schedule (%s)", rep.message);
	out = verify();
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "wall clock at the anchor's: the owner's code GRANTED (%d %s)",
	       out.vault_ret, v.errmsg);

	wall_s = BUILD_DATE;
	v.ops->throttle(&v, 1, &before);
	out = verify_code(wrong);
	ret = v.ops->throttle(&v, 1, &after);
	tap_ok(ret == 0 && out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND &&
	       after.user_failures == before.user_failures &&
	       after.global_failures == before.global_failures && !after.retry_after_ms,
	       "wall clock three years back, schedule: a wrong code not counted, the TPM's counts unchanged (%u/%u)",
	       after.user_failures, after.global_failures);
	out = verify();
	ret = v.ops->throttle(&v, 1, &after);
	if (!tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_BEHIND &&
		    !out.vault_asked && out.clock_behind_s >= W0 - BUILD_DATE - CLOCK_SLACK_S,
		    "wall clock three years back, schedule: the owner's code DENIED unchecked, behind by %llu s",
		    (unsigned long long)out.clock_behind_s))
		tap_diag("result %u clock %d asked %d", out.result, out.clock, out.vault_asked);
	req(ADMIN_OP_STATUS);
	ret = admin();
	tap_ok(ret == 0 && rep.status_info.clock_behind_s == out.clock_behind_s,
	       "status: clock behind the TPM's lower bound by %u s", rep.status_info.clock_behind_s);

	/* no schedule: set at the anchor's wall clock, which re-anchors nothing lower */
	wall_s = W0;
	sched.time_lock = 0;
	ret = owner_policy_set(&sched);
	wall_s = BUILD_DATE;
	out = verify();
	tap_ok(ret == 0 && out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "no time lock in the policy: the same clock opens (%d)", out.vault_ret);
	wall_s = W0;
	sched.time_lock = 1;
	ret = owner_policy_set(&sched);
	tap_ok(ret == 0 && anchor_is(W0, &a), "schedule back on, anchored at the same wall clock");

	/* the TPM's clock cannot be read (tracked once read: a fresh start) */
	if (!start())
		tap_diag("restart: %s", v.errmsg);
	memset(fault, 0, sizeof(*fault));
	fault->cc = TPM2_CC_ReadClock;
	fault->rc = TPM2_RC_FAILURE;
	fault->count = UINT_MAX;
	wall_s = W0 + 86400;
	out = verify();
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.clock == CLOCK_UNVERIFIABLE &&
	       !out.vault_asked && fault->faked,
	       "TPM clock unreadable, anchor present: DENIED unchecked, even with the clock ahead");
	req(ADMIN_OP_STATUS);
	admin();
	tap_ok(rep.status_info.clock_behind_s == SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE,
	       "status: the clock cannot be checked");
	memset(fault, 0, sizeof(*fault));
	out = verify();
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED, "the TPM's clock back: GRANTED (%d %s)",
	       out.vault_ret, v.errmsg);

	/* the owner's way back: the same policy set at the lower clock */
	wall_s = BUILD_DATE;
	ret = owner_policy_set(&sched);
	tap_ok(ret == 0 && anchor_is(BUILD_DATE, &a),
	       "the owner's unchanged policy set at a lower wall clock re-anchors there (%s)",
	       rep.message);
	out = verify();
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "... the owner's code opens at that clock");
	tap_ok(start() && anchor_is(BUILD_DATE, &b) && verify().result == SAFELOCK_RESULT_GRANTED,
	       "... and after a restart");

	/* a table with no anchor: committed without anyone vouching */
	ret = v.ops->wipe(&v);
	ret = ret ? ret : v.ops->user_add(&v, 1, SAFELOCK_ROLE_OWNER, code, len);
	ret = ret ? ret : v.ops->policy_store(&v, &sched);
	tap_ok(ret == 0 && table_flags() >= 0 && !(table_flags() & 0x8) &&
	       v.ops->clock_anchor(&v, &a) == -ENOENT,
	       "a table committed with no anchor: no flag bit 3, none read (flags %#lx)",
	       table_flags());
	wall_s = BUILD_DATE - 86400;
	tap_ok(start() && v.ops->provisioned(&v) == SAFELOCK_VAULT_OWNED &&
	       v.ops->clock_anchor(&v, &a) == -ENOENT,
	       "... it opens after a restart, OWNED, no anchor");
	out = verify();
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && out.clock == CLOCK_TRUSTED,
	       "... and the schedule follows the clock as before: GRANTED (%d %s)",
	       out.vault_ret, v.errmsg);
	v.ops->close(&v);
}

int main(void)
{
	int i;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("clock bound", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "clockbound")) {
		perror("mkdtemp");
		return 1;
	}
	if (!load_fault()) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("clock bound", "the slfault TCTI did not load");
		sw_cleanup(&sw);
		return tap_exit();
	}
	cfg.tcti = tcti;
	cfg.state_dir = sw.statedir;
	sw_random_code(code, len);
	sw_wrong_of(code, len, wrong, sizeof(wrong));
	if (!tap_ok(sw_start(&sw), "swtpm starts")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("clock bound", "no swtpm");
		goto out;
	}
	clock_tests();
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	safelock_wipe(code, sizeof(code));
	safelock_wipe(wrong, sizeof(wrong));
	sw_cleanup(&sw);
	return tap_exit();
}
