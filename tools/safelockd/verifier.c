// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier loop: register with the "safelock" generic netlink family,
 * answer each VERIFY with a VERDICT from the vault, and come back by itself
 * when the module is reloaded (or was not loaded yet).
 *
 * One poll() over the netlink socket and a signalfd. The socket also
 * follows nlctrl's "notify" group, so the family going away is seen at once.
 * Nothing is polled on a timer while nothing is due: an idle lock with a
 * registered safelockd wakes neither (poll() without a timeout). What used
 * to be a one-second tick is now deadlines, each only while it applies
 * (run_due()): registration, retried with a backoff while not registered;
 * provisioned(), retried with a backoff while the vault fails (its own
 * reopen backoff, vault.h keep_trying), else asked again when something
 * says so (an admin request, k_provisioned()); the code key, retried until
 * the kernel takes it; the policy to the locks, when a lock takes this
 * verifier in (the kernel's VERIFIER event, followed through the audit
 * log's events socket), after an admin request, when the UTC offset
 * changes (the next DST transition, computed), when the wall clock is set,
 * and with a backoff while it cannot be loaded or pushed; a preparation's
 * expiry, VAULT_PREPARE_TTL_MS after it was made; the audit log's anchor
 * (auditlog_due_ms()). A timerfd on CLOCK_REALTIME (TFD_TIMER_CANCEL_ON_SET)
 * sees the wall clock set, and safelockd tells the kernel
 * (SAFELOCK_CMD_CLOCK_SET), which reads its clocks only at time lock
 * boundaries otherwise.
 *
 * ENTRY_BEGIN (the first key of an entry, no digit) lets the vault arm its
 * sessions, and ENTRY_USER (the entry's user id typed) count the try and
 * load the user's code while the person types the code (vault_ops.prepare,
 * prepare_user): what is left after ENTER is then only the check itself. The verdict never depends on
 * it: a VERIFY without notice, or for another id, is checked in full. The
 * work the vault can leave for after the verdict (vault_ops.finish) is done
 * once the VERDICT is sent. A preparation whose VERIFY never comes is
 * ended by vault_ops.expire when its time is up (a try counted at its user
 * id stays a failure).
 *
 * The same loop serves the admin socket (admin.c): at most one request per
 * round, after the kernel's messages, and none while an entry is being
 * typed. It is the kernel side of the admin server too (struct
 * admin_kernel_ops): the doors' state from STATUS_GET dumps (on a socket of
 * their own, when a request needs them), the policy pushed with POLICY_SET
 * from the registered socket to every lock, at registration, after every
 * change, and to a lock that appears later (its VERIFIER event).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/genetlink.h>

#include "auditlog.h"
#include "codekey.h"
#include "gate.h"
#include "libsafelock.h"
#include "safelockd.h"


#define MAX_LOCKS	32	/* device indices followed (the kernel has 16) */

/* Retries of what failed: from RETRY_FIRST_MS, doubling up to a limit. */
#define RETRY_FIRST_MS		1000
#define REGISTER_MAX_MS		4000	/* a module loaded is taken in soon */
#define RETRY_MAX_MS		30000	/* as the vault's own (VAULT_REOPEN_MAX_MS) */
/* Without the events socket a new lock is looked for this often. */
#define EVENTLESS_SYNC_MS	10000
/* expire() measures from its own stamp, taken before ours */
#define EXPIRE_SLACK_MS		50
/* The clock timerfd's expiry: never reached, only cancelled by a set. */
#define CLOCK_FAR_S		(366LL * 86400)

/* One duty's deadline (CLOCK_MONOTONIC ms; 0: not due) and its backoff. */
struct due {
	uint64_t at;
	uint32_t wait_ms;
};

struct lock_status {
	uint32_t device;
	uint32_t flags;
};

struct verifier {
	struct vault *vault;
	struct sl_genl nl;
	bool registered;
	bool reconnect;
	bool prepare;		/* act on ENTRY_BEGIN/USER (not --no-prepare) */
	uint64_t begun;		/* the last ENTRY_BEGIN, not prepared yet */
	uint32_t begun_user;	/* its ENTRY_USER's user id; 0: none yet */
	bool prepared_begun;	/* prepare() done for begun */
	unsigned long superseded;	/* notices dropped for a newer one */
	bool verbose;
	int provisioned;
	int vault_ret;		/* what provisioned() said last */
	char last_err[320];	/* not repeated every second */
	struct admin_server *admin;
	struct auditlog *audit;	/* NULL: no audit log */
	const char *audit_dir;	/* NULL: none (tests) */
	/* the log could not be opened at start: once more when the vault opens */
	bool audit_late;
	char audit_why[320];
	/* STATUS_GET dumps, on a socket of their own */
	struct nl_sock *q;
	int q_family;
	/* the locks that have the policy of the vault (bit = device index) */
	uint32_t pushed;
	int32_t pushed_offset;	/* the UTC offset the locks were last given */
	/* messages on the verifier socket that were not the kernel's */
	struct ratelimit forged_rl;
	unsigned long forged_total;
	struct codekey ck;	/* this socket's code key (codekey.c) */
	/* what is due when (run_due()) */
	struct due reg;		/* registration, while not registered */
	struct due vault_due;	/* provisioned() again, while the vault fails */
	struct due key_due;	/* the code key, until the kernel takes it */
	struct due sync_due;	/* the policy to the locks */
	int64_t offset_change_s;	/* wall clock second the UTC offset changes; 0 */
	uint64_t prepared_ms;	/* when the last preparation was made; 0 none */
	uint64_t prepared_req;	/* its request id */
	bool no_events;		/* registered, but the events socket is not open */
	int clock_fd;		/* timerfd: the wall clock was set */
};

static void report(struct verifier *vf, const char *fmt, const char *a,
		   const char *b)
{
	char line[sizeof(vf->last_err)];

	snprintf(line, sizeof(line), fmt, a, b);
	if (strcmp(line, vf->last_err)) {
		fprintf(stderr, "safelockd: %s\n", line);
		snprintf(vf->last_err, sizeof(vf->last_err), "%s", line);
	}
}

static const struct nla_policy verify_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE]	 = { .type = NLA_U32 },
	[SAFELOCK_A_REQUEST_ID]	 = { .type = NLA_U64 },
	[SAFELOCK_A_NONCE]	 = { .type = NLA_UNSPEC, .minlen = SAFELOCK_NONCE_SIZE,
				     .maxlen = SAFELOCK_NONCE_SIZE },
	[SAFELOCK_A_DEADLINE_NS] = { .type = NLA_U64 },
	[SAFELOCK_A_USER_ID]	 = { .type = NLA_U32 },
	/* CODE_SEALED: length checked by hand, so a bad one is answered DENIED */
	[SAFELOCK_A_CODE_SEALED] = { .type = NLA_UNSPEC },
};

static const struct nla_policy begin_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE]	 = { .type = NLA_U32 },
	[SAFELOCK_A_REQUEST_ID]	 = { .type = NLA_U64 },
};

static const struct nla_policy user_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE]	 = { .type = NLA_U32 },
	[SAFELOCK_A_REQUEST_ID]	 = { .type = NLA_U64 },
	[SAFELOCK_A_USER_ID]	 = { .type = NLA_U32 },
};

static const struct nla_policy status_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE]	 = { .type = NLA_U32 },
	[SAFELOCK_A_FLAGS]	 = { .type = NLA_U32 },
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	return now_ns() / 1000000;
}

static void due_now(struct due *d)
{
	d->at = mono_ms() ? mono_ms() : 1;
	d->wait_ms = 0;
}

/* Failed: again after the next wait of the backoff. */
static void due_retry(struct due *d, uint32_t max_ms)
{
	d->wait_ms = d->wait_ms ? d->wait_ms * 2 : RETRY_FIRST_MS;
	if (d->wait_ms > max_ms)
		d->wait_ms = max_ms;
	d->at = mono_ms() + d->wait_ms;
}

static void due_done(struct due *d)
{
	d->at = 0;
	d->wait_ms = 0;
}

static bool is_due(const struct due *d, uint64_t now)
{
	return d->at && now >= d->at;
}

/*
 * @retry_after_ms goes with DENIED as SAFELOCK_A_RETRY_AFTER_MS when it is
 * not 0: the time the kernel keeps the keypad quiet. VAULT_RETRY_DISABLED
 * (0xffffffff, about 49.7 days) means code entry is disabled until
 * recovery; the kernel asks again when it runs out.
 */
static void send_verdict(struct verifier *vf, uint32_t dev, uint64_t req,
			 const void *nonce, uint32_t result,
			 uint32_t retry_after_ms, bool duress, uint8_t override)
{
	struct nl_msg *msg = sl_genl_msg(&vf->nl, SAFELOCK_CMD_VERDICT);
	bool granted = result == SAFELOCK_RESULT_GRANTED;
	int ret;

	if (!msg || nla_put_u32(msg, SAFELOCK_A_DEVICE, dev) ||
	    nla_put_u64(msg, SAFELOCK_A_REQUEST_ID, req) ||
	    nla_put(msg, SAFELOCK_A_NONCE, SAFELOCK_NONCE_SIZE, nonce) ||
	    nla_put_u32(msg, SAFELOCK_A_RESULT, result) ||
	    (!granted && retry_after_ms &&
	     nla_put_u32(msg, SAFELOCK_A_RETRY_AFTER_MS, retry_after_ms)) ||
	    (granted && duress && nla_put_u8(msg, SAFELOCK_A_DURESS, 1)) ||
	    (granted && override &&
	     nla_put_u8(msg, SAFELOCK_A_DELAY_OVERRIDE, override))) {
		if (msg)
			nlmsg_free(msg);
		fprintf(stderr, "safelockd: unable to send verdict for request %llu: out of memory\n",
			(unsigned long long)req);
		return;
	}
	ret = sl_genl_send(&vf->nl, msg, NULL);
	if (ret) {
		fprintf(stderr, "safelockd: unable to send verdict for request %llu: %s\n",
			(unsigned long long)req, strerror(-ret));
		vf->reconnect = true;
	}
}

/*
 * An entry has begun: note it; prepare_begun() lets the vault prepare its
 * try once nothing else is waiting on the socket. A notice still queued
 * behind a newer one, or behind its own VERIFY, is for an entry that is
 * already over: preparing it would only cost TPM commands (a count, a
 * session, a rollback) that a real entry then waits behind, and a keypad
 * flood queues thousands of them.
 */
static void handle_entry_begin(struct verifier *vf, struct nl_msg *msg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	int ret;

	/* admin requests wait while the person types */
	admin_hold(vf->admin, true);
	if (!vf->prepare || !vf->vault->ops->prepare)
		return;
	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, begin_policy);
	if (ret < 0 || !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_REQUEST_ID] ||
	    !nla_get_u64(tb[SAFELOCK_A_REQUEST_ID])) {
		fprintf(stderr, "safelockd: ignoring a malformed ENTRY_BEGIN\n");
		return;
	}
	/* a lock without the policy gets no check, so nothing to prepare */
	if (!policy_in_force(vf->pushed, nla_get_u32(tb[SAFELOCK_A_DEVICE]),
			     vf->admin->policy_loaded))
		return;
	if (vf->begun)
		vf->superseded++;
	vf->begun = nla_get_u64(tb[SAFELOCK_A_REQUEST_ID]);
	vf->begun_user = 0;
	vf->prepared_begun = false;
}

/*
 * The entry's user id is typed (ENTRY_USER): prepare_begun() lets the
 * vault count the try and load the user's code. Only for the entry last
 * begun: a notice of another is for an entry already over.
 */
static void handle_entry_user(struct verifier *vf, struct nl_msg *msg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	uint32_t user;
	int ret;

	if (!vf->prepare || !vf->vault->ops->prepare_user)
		return;
	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, user_policy);
	if (ret < 0 || !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_REQUEST_ID] ||
	    !tb[SAFELOCK_A_USER_ID]) {
		fprintf(stderr, "safelockd: ignoring a malformed ENTRY_USER\n");
		return;
	}
	user = nla_get_u32(tb[SAFELOCK_A_USER_ID]);
	if (!vf->begun || nla_get_u64(tb[SAFELOCK_A_REQUEST_ID]) != vf->begun ||
	    user < 1 || user > SAFELOCK_USER_ID_MAX)
		return;
	vf->begun_user = user;
}

/*
 * Prepare the entry last begun (at its user id, if the notice came), if
 * no newer message is waiting.
 */
static void prepare_begun(struct verifier *vf)
{
	struct pollfd p = { .fd = sl_genl_fd(&vf->nl), .events = POLLIN };
	unsigned long before = vf->vault->commands;
	uint64_t req = vf->begun;
	uint32_t user = vf->begun_user;
	int ret;

	if (!req || (!user && vf->prepared_begun) || (p.fd >= 0 && poll(&p, 1, 0) > 0))
		return;
	if (user) {
		/* over once its user id is counted; a VERIFY comes next */
		vf->begun = 0;
		vf->begun_user = 0;
		ret = vf->vault->ops->prepare_user(vf->vault, req, user);
	} else {
		/* still begun: its ENTRY_USER may follow */
		ret = vf->vault->ops->prepare(vf->vault, req);
	}
	vf->prepared_ms = mono_ms();	/* expire() is due TTL from now */
	vf->prepared_req = req;
	if (ret)
		fprintf(stderr, "safelockd: request %llu: unable to prepare: %s\n",
			(unsigned long long)req, vf->vault->errmsg);
	else if (vf->verbose)
		fprintf(stderr, "safelockd: request %llu: %s, prepared (%lu TPM commands; %lu older notices skipped)\n",
			(unsigned long long)req, user ? "user id typed" : "entry begun",
			vf->vault->commands - before, vf->superseded);
	vf->superseded = 0;
	vf->prepared_begun = !user;
}

/* Drop a preparation whose entry will not be checked. */
static void cancel_prepared(struct verifier *vf, uint64_t req)
{
	if (vf->vault->ops->cancel && vf->vault->ops->cancel(vf->vault, req))
		fprintf(stderr, "safelockd: request %llu: unable to cancel its preparation: %s\n",
			(unsigned long long)req, vf->vault->errmsg);
}

static void handle_verify(struct verifier *vf, struct nl_msg *msg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	char code[SAFELOCK_CODE_BUF] = { 0 };
	unsigned char nonce[SAFELOCK_NONCE_SIZE];
	struct verify_in in = { .code = code };
	struct verify_out out;
	char wait[48] = "", cmds[96] = "", how[48] = "";
	char rec_text[AUDIT_TEXT_SIZE];
	uint32_t rec_type, rec_value;
	unsigned long c0 = vf->vault->commands, c1;
	uint64_t t_vault;
	bool in_force;
	int ret;

	admin_hold(vf->admin, false);
	/* the entry noted as begun is over: this one, or one superseded */
	vf->begun = 0;
	vf->begun_user = 0;
	vf->prepared_begun = false;
	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, verify_policy);
	if (ret < 0 || !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_REQUEST_ID] ||
	    !tb[SAFELOCK_A_NONCE]) {
		if (ret >= 0 && tb[SAFELOCK_A_CODE_SEALED])
			sl_genl_wipe_attr(&vf->nl, msg, tb[SAFELOCK_A_CODE_SEALED]);
		fprintf(stderr, "safelockd: unable to answer request: malformed VERIFY\n");
		return;
	}
	in.dev = nla_get_u32(tb[SAFELOCK_A_DEVICE]);
	in.req = nla_get_u64(tb[SAFELOCK_A_REQUEST_ID]);
	memcpy(nonce, nla_data(tb[SAFELOCK_A_NONCE]), sizeof(nonce));
	in.user = tb[SAFELOCK_A_USER_ID] ? nla_get_u32(tb[SAFELOCK_A_USER_ID]) : 0;
	/* its VERIFY uses or cancels the preparation (vault.h): none to expire */
	if (in.req == vf->prepared_req)
		vf->prepared_ms = 0;
	if (tb[SAFELOCK_A_CODE_SEALED]) {
		in.len = codekey_open(&vf->ck, nonce, in.req, nla_data(tb[SAFELOCK_A_CODE_SEALED]),
				      (size_t)nla_len(tb[SAFELOCK_A_CODE_SEALED]), code, sizeof(code));
		sl_genl_wipe_attr(&vf->nl, msg, tb[SAFELOCK_A_CODE_SEALED]);
	}
	if (tb[SAFELOCK_A_DEADLINE_NS] &&
	    nla_get_u64(tb[SAFELOCK_A_DEADLINE_NS]) <= now_ns()) {
		safelock_wipe(code, sizeof(code));
		fprintf(stderr, "safelockd: request %llu user %03u: deadline passed, not tried\n",
			(unsigned long long)in.req, in.user);
		cancel_prepared(vf, in.req);
		return;
	}
	t_vault = now_ns();
	vf->vault->errmsg[0] = '\0';
	/* no vault call here: sync_policy() loads a policy that could not be read */
	in_force = policy_in_force(vf->pushed, in.dev, vf->admin->policy_loaded);
	verify_decide(vf->vault, vf->admin, in_force, &in, &out);
	safelock_wipe(code, sizeof(code));
	if (!out.vault_asked)
		cancel_prepared(vf, in.req);
	c1 = vf->vault->commands;
	t_vault = now_ns() - t_vault;
	send_verdict(vf, in.dev, in.req, nonce, out.result, out.retry_after_ms,
		     out.duress, out.override);
	auditlog_verdict(vf->audit, in.req, in.user, out.result, out.retry_after_ms,
			 out.duress, out.override);
	if (verify_unchecked_record(&in, &out, &rec_type, &rec_value, rec_text,
				    sizeof(rec_text))) {
		if (out.no_policy)
			fprintf(stderr, "safelockd: policy not in force on lock %u: not checking codes (request %llu user %03u: DENIED)\n",
				in.dev, (unsigned long long)in.req, in.user);
		else
			fprintf(stderr, "safelockd: %s (request %llu user %03u: DENIED); set the clock right (date, NTP, RTC)\n",
				rec_text, (unsigned long long)in.req, in.user);
		auditlog_vault(vf->audit, rec_type, in.user, SAFELOCK_RESULT_DENIED,
			       rec_value, rec_text);
		return;
	}
	/* what could wait for the verdict: flushes, settling NV writes */
	if (vf->vault->ops->finish && vf->vault->ops->finish(vf->vault))
		fprintf(stderr, "safelockd: request %llu: after the verdict: %s\n",
			(unsigned long long)in.req, vf->vault->errmsg);
	if (vf->verbose)
		snprintf(cmds, sizeof(cmds),
			 " [TPM commands: %lu before the verdict, %lu after; vault %.1f ms]",
			 c1 - c0, vf->vault->commands - c1, t_vault / 1e6);
	if (out.retry_after_ms == VAULT_RETRY_DISABLED)
		snprintf(wait, sizeof(wait), ", entry disabled");
	else if (out.retry_after_ms)
		snprintf(wait, sizeof(wait), ", retry after %u ms", out.retry_after_ms);
	if (out.vault_ret == VAULT_GRANTED)
		snprintf(how, sizeof(how), " as %s%s%s", safelock_role_name(out.res.role),
			 out.override ? ", time-delay override" : "",
			 out.duress ? ", DURESS" : "");
	fprintf(stderr, "safelockd: request %llu user %03u: %s%s%s%s%s%s%s\n",
		(unsigned long long)in.req, in.user, safelock_result_name(out.result), how,
		wait, vf->vault->errmsg[0] ? " (" : "", vf->vault->errmsg,
		vf->vault->errmsg[0] ? ")" : "", cmds);
}

/* nlctrl told us a family went away: ours? */
static void handle_ctrl(struct verifier *vf, struct nl_msg *msg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (gh->cmd != CTRL_CMD_DELFAMILY ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_ID])
		return;
	if (nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) == vf->nl.family) {
		fprintf(stderr, "safelockd: safelock family went away\n");
		vf->reconnect = true;
	}
}

/*
 * A message that is not the kernel's: nothing is asked of the vault,
 * nothing counted; a log line and an audit record, rate-limited so that a
 * flood fills neither the journal nor the disk.
 */
static void forged(struct verifier *vf, struct nl_msg *msg, enum kmsg_check why)
{
	const struct sockaddr_nl *src = nlmsg_get_src(msg);
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = genlmsg_valid_hdr(nlh, 0) ? nlmsg_data(nlh) : NULL;
	unsigned long more = 0;
	char text[AUDIT_TEXT_SIZE];

	vf->forged_total++;
	if (!ratelimit_ok(&vf->forged_rl, now_ns() / 1000000, &more))
		return;
	snprintf(text, sizeof(text), "%s type %u cmd %u from port %u ignored%s",
		 why == KMSG_FORGED ? "forged" : "foreign", nlh->nlmsg_type,
		 gh ? gh->cmd : 0, src ? src->nl_pid : 0, more ? " (+more)" : "");
	fprintf(stderr, "safelockd: %s message (type %u cmd %u) from netlink port %u, not the kernel: ignored, no code checked%s%lu%s\n",
		why == KMSG_FORGED ? "FORGED" : "foreign", nlh->nlmsg_type,
		gh ? gh->cmd : 0, src ? src->nl_pid : 0,
		more ? " (" : "", more, more ? " more not logged)" : "");
	auditlog_vault(vf->audit, AUDIT_V_FORGED, 0, SAFELOCK_RESULT_DENIED,
		       src ? src->nl_pid : 0, text);
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct verifier *vf = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh;
	enum kmsg_check k;

	k = kernel_msg_check(nlmsg_get_src(msg), nlh, vf->nl.family);
	if (k != KMSG_KERNEL) {
		forged(vf, msg, k);
		return NL_SKIP;
	}
	if (!genlmsg_valid_hdr(nlh, 0))
		return NL_SKIP;
	gh = nlmsg_data(nlh);
	if (nlh->nlmsg_type == GENL_ID_CTRL)
		handle_ctrl(vf, msg);
	else if (nlh->nlmsg_type == vf->nl.family && gh->cmd == SAFELOCK_CMD_VERIFY)
		handle_verify(vf, msg);
	else if (nlh->nlmsg_type == vf->nl.family &&
		 gh->cmd == SAFELOCK_CMD_ENTRY_BEGIN)
		handle_entry_begin(vf, msg);
	else if (nlh->nlmsg_type == vf->nl.family &&
		 gh->cmd == SAFELOCK_CMD_ENTRY_USER)
		handle_entry_user(vf, msg);
	return NL_SKIP;
}

static void on_async_err(struct sl_genl *g, int err, uint32_t seq, void *arg)
{
	(void)arg;
	(void)seq;
	fprintf(stderr, "safelockd: kernel refused a verdict: %s%s%s\n",
		strerror(-err), g->extack[0] ? ": " : "", g->extack);
}

/* ----------------------------------------------------------------- */
/* The locks: STATUS_GET dumps on a socket of their own              */

static void query_close(struct verifier *vf)
{
	if (vf->q)
		nl_socket_free(vf->q);
	vf->q = NULL;
	vf->q_family = -1;
}

static int query_open(struct verifier *vf)
{
	int ret;

	if (vf->q)
		return 0;
	vf->q = nl_socket_alloc();
	if (!vf->q)
		return -ENOMEM;
	ret = genl_connect(vf->q);
	if (!ret)
		ret = genl_ctrl_resolve(vf->q, SAFELOCK_GENL_NAME);
	if (ret < 0) {
		query_close(vf);
		return ret == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
	}
	vf->q_family = ret;
	return 0;
}

struct dump_ctx {
	struct lock_status *locks;
	int max, n;
};

static int on_status(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct dump_ctx *d = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, status_policy) < 0 ||
	    !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_FLAGS] || d->n >= d->max)
		return NL_SKIP;
	d->locks[d->n].device = nla_get_u32(tb[SAFELOCK_A_DEVICE]);
	d->locks[d->n].flags = nla_get_u32(tb[SAFELOCK_A_FLAGS]);
	d->n++;
	return NL_OK;
}

/* Every lock the kernel has: how many (into @locks), or -errno. */
static int lock_dump(struct verifier *vf, struct lock_status *locks, int max)
{
	struct dump_ctx d = { .locks = locks, .max = max };
	struct nl_cb *cb;
	int ret;

	ret = query_open(vf);
	if (ret)
		return ret;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_status, &d);
	ret = genl_send_simple(vf->q, vf->q_family, SAFELOCK_CMD_STATUS_GET,
			       SAFELOCK_GENL_VERSION, NLM_F_DUMP);
	if (ret >= 0)
		ret = nl_recvmsgs(vf->q, cb);
	nl_cb_put(cb);
	if (ret < 0) {
		/* the family went away, or the socket broke: start afresh */
		query_close(vf);
		return -EIO;
	}
	return d.n;
}

/* ----------------------------------------------------------------- */
/* The kernel side of the admin server                               */

static int k_door_open(void *ctx, char *why, size_t len)
{
	struct verifier *vf = ctx;
	struct lock_status locks[MAX_LOCKS];
	int i, n;

	n = lock_dump(vf, locks, MAX_LOCKS);
	if (n < 0) {
		snprintf(why, len, "%s", n == -ENOENT ? "safelock module not loaded"
						       : "unable to read the locks' status");
		return -ENODEV;
	}
	if (n == 0) {
		snprintf(why, len, "no lock present");
		return -ENODEV;
	}
	for (i = 0; i < n; i++) {
		if (!(locks[i].flags & SAFELOCK_STATUS_DOOR_OPEN)) {
			snprintf(why, len, "the kernel reports the door of lock %u closed",
				 locks[i].device);
			return 0;
		}
	}
	return 1;
}

static bool k_registered(void *ctx)
{
	const struct verifier *vf = ctx;

	return vf->registered;
}

/* POLICY_SET of @p to lock @dev from the registered socket. */
static int push_one(struct verifier *vf, uint32_t dev,
		    const struct safelock_admin_policy *p, char *why, size_t len)
{
	struct nl_msg *msg = sl_genl_msg(&vf->nl, SAFELOCK_CMD_POLICY_SET);
	int ret;

	if (!msg || nla_put_u32(msg, SAFELOCK_A_DEVICE, dev) ||
	    policy_put_attrs(msg, p, vf->vault)) {
		if (msg)
			nlmsg_free(msg);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	ret = sl_genl_request(&vf->nl, msg);
	if (ret)
		snprintf(why, len, "lock %u: %s", dev,
			 vf->nl.extack[0] ? vf->nl.extack : strerror(-ret));
	return ret;
}

/*
 * Push @p to every lock (@only: just those not pushed yet). All or nothing:
 * if one lock refuses, the ones done before get @undo back (if given).
 */
static int push_locks(struct verifier *vf, const struct safelock_admin_policy *p,
		      const struct safelock_admin_policy *undo, bool only_new,
		      char *why, size_t len)
{
	struct lock_status locks[MAX_LOCKS];
	char ignore[256];
	uint32_t present = 0, done = 0, had = vf->pushed;
	int i, n, ret = 0;

	if (!vf->registered)
		return -ENOTCONN;
	n = lock_dump(vf, locks, MAX_LOCKS);
	if (n < 0) {
		snprintf(why, len, "unable to list the locks");
		return n;
	}
	for (i = 0; i < n; i++) {
		uint32_t bit = locks[i].device < 32 ? 1u << locks[i].device : 0;

		present |= bit;
		/* the lock's own word: one probed again lost what it had */
		if (only_new && (vf->pushed & bit) &&
		    (locks[i].flags & SAFELOCK_STATUS_POLICY))
			continue;
		ret = push_one(vf, locks[i].device, p, why, len);
		if (ret == -ENODEV) {		/* went away meanwhile */
			ret = 0;
			present &= ~bit;
			continue;
		}
		if (ret)
			break;
		done |= bit;
	}
	if (ret && undo) {
		/*
		 * The caller keeps @undo as the vault's policy: the locks that
		 * took @p get it back; one that does not has to be pushed again.
		 */
		for (i = 0; i < n; i++) {
			uint32_t bit = locks[i].device < 32 ? 1u << locks[i].device : 0;

			if ((done & bit) &&
			    push_one(vf, locks[i].device, undo, ignore, sizeof(ignore)))
				vf->pushed &= ~bit;
		}
		vf->pushed &= present;
		return ret;
	}
	/* @p is the vault's policy: the locks done have it */
	vf->pushed = (only_new || ret ? vf->pushed | done : done) & present;
	if (!ret && (!only_new || !had))
		vf->pushed_offset = policy_offset_at(p, (int64_t)time(NULL));
	return ret;
}

static int k_policy_push(void *ctx, const struct safelock_admin_policy *p,
			 char *why, size_t len)
{
	struct verifier *vf = ctx;

	return push_locks(vf, p, admin_policy(vf->admin), false, why, len);
}

static void try_register(struct verifier *vf);

static void k_provisioned(void *ctx, bool prov)
{
	struct verifier *vf = ctx;

	(void)prov;
	if (vf->registered)
		try_register(vf);
}

/* @attr's value: a u32 for the attributes the spec makes u32, else a u64. */
static int put_value(struct nl_msg *msg, int attr, uint64_t val)
{
	if (!attr)
		return 0;
	if (attr == SAFELOCK_A_TIME_LOCK_FOR_S || attr == SAFELOCK_A_USER_ID)
		return nla_put_u32(msg, attr, (uint32_t)val);
	return nla_put_u64(msg, attr, val);
}

/*
 * One command to every lock, from the registered socket. Every lock is
 * tried even if one refuses (a time lock or an alarm that one lock refuses
 * still reaches the others); 0 if every one took it, else the first error.
 */
static int each_lock(struct verifier *vf, uint8_t cmd, int attr, uint64_t val,
		     char *why, size_t len)
{
	struct lock_status locks[MAX_LOCKS];
	struct nl_msg *msg;
	int i, n, ret, first = 0;

	if (!vf->registered) {
		snprintf(why, len, "not registered with the kernel");
		return -ENOTCONN;
	}
	n = lock_dump(vf, locks, MAX_LOCKS);
	if (n <= 0) {
		snprintf(why, len, "no lock present");
		return -ENODEV;
	}
	for (i = 0; i < n; i++) {
		msg = sl_genl_msg(&vf->nl, cmd);
		if (!msg || nla_put_u32(msg, SAFELOCK_A_DEVICE, locks[i].device) ||
		    put_value(msg, attr, val)) {
			if (msg)
				nlmsg_free(msg);
			ret = -ENOMEM;
		} else {
			ret = sl_genl_request(&vf->nl, msg);
		}
		if (ret && !first) {
			first = ret;
			snprintf(why, len, "lock %u: %s", locks[i].device,
				 ret == -ENOMEM ? "out of memory" :
				 vf->nl.extack[0] ? vf->nl.extack : strerror(-ret));
		}
	}
	return first;
}

static int k_fault_clear(void *ctx, char *why, size_t len)
{
	return each_lock(ctx, SAFELOCK_CMD_FAULT_CLEAR, 0, 0, why, len);
}

/* A duress code at the admin socket: the silent alarm on every lock. */
static int k_duress_alarm(void *ctx, uint32_t user_id, char *why, size_t len)
{
	return each_lock(ctx, SAFELOCK_CMD_DURESS_ALARM, SAFELOCK_A_USER_ID, user_id,
			 why, len);
}

/* Timed by the kernel on its own clock: no wall clock to move. */
static int k_time_lock_now(void *ctx, uint32_t duration_s, char *why, size_t len)
{
	return each_lock(ctx, SAFELOCK_CMD_POLICY_SET, SAFELOCK_A_TIME_LOCK_FOR_S,
			 duration_s, why, len);
}

static const struct admin_kernel_ops kernel_ops = {
	.door_open = k_door_open,
	.registered = k_registered,
	.policy_push = k_policy_push,
	.provisioned = k_provisioned,
	.fault_clear = k_fault_clear,
	.time_lock_now = k_time_lock_now,
	.duress_alarm = k_duress_alarm,
};

/* ----------------------------------------------------------------- */
/* Registration                                                      */

static void disconnect(struct verifier *vf)
{
	if (vf->registered)
		fprintf(stderr, "safelockd: unregistered; will register again\n");
	sl_genl_close(&vf->nl);
	query_close(vf);
	auditlog_events_close(vf->audit);
	vf->registered = false;
	vf->reconnect = false;
	vf->pushed = 0;
	vf->begun = 0;
	codekey_wipe(&vf->ck);
	due_now(&vf->reg);
	due_done(&vf->key_due);
	due_done(&vf->sync_due);
	vf->offset_change_s = 0;
}

/*
 * The wall clock second after @now at which @p's UTC offset changes (the
 * next DST transition), 0 if none within a year: looked for in steps of
 * six hours (zones change at most twice a year), then to the second.
 */
static int64_t next_offset_change(const struct safelock_admin_policy *p, int64_t now)
{
	const int64_t step = 6 * 3600, horizon = 366LL * 86400;
	int32_t off = policy_offset_at(p, now);
	int64_t lo = now, hi, mid;

	if (!p->time_zone[0])
		return 0;
	for (hi = now + step; hi <= now + horizon; lo = hi, hi += step)
		if (policy_offset_at(p, hi) != off)
			break;
	if (hi > now + horizon)
		return 0;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (policy_offset_at(p, mid) != off)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/*
 * The vault's policy to every lock that does not have it yet; to every
 * lock again when the time zone's offset changed (a DST transition), so
 * the schedule stays on the wall clock without a policy set (at the
 * transition next_offset_change() finds, or after a clock set).
 */
static void sync_policy(struct verifier *vf)
{
	const struct safelock_admin_policy *p;
	char why[256];
	int64_t now = (int64_t)time(NULL);
	int32_t off;
	int ret;

	vf->offset_change_s = 0;	/* set again below once pushed */
	if (!vf->registered) {
		due_done(&vf->sync_due);
		return;
	}
	if (!admin_policy_ready(vf->admin)) {
		/* load_policy() noted the vault's error: tried again later */
		due_retry(&vf->sync_due, RETRY_MAX_MS);
		return;
	}
	p = admin_policy(vf->admin);
	off = policy_offset_at(p, now);
	if (vf->pushed && off != vf->pushed_offset) {
		fprintf(stderr, "safelockd: time zone %s: UTC offset now %+d s (was %+d s): pushing the policy again\n",
			p->time_zone[0] ? p->time_zone : "(none)", off, vf->pushed_offset);
		ret = push_locks(vf, p, NULL, false, why, sizeof(why));
	} else {
		ret = push_locks(vf, p, NULL, true, why, sizeof(why));
	}
	if (ret && ret != -ENOTCONN) {
		report(vf, "unable to push the policy: %s%s (retrying)", why, "");
		due_retry(&vf->sync_due, RETRY_MAX_MS);
		return;
	}
	due_done(&vf->sync_due);
	/* the next DST transition pushes the offset again, nothing before */
	vf->offset_change_s = next_offset_change(p, now);
}

/* The code key to the kernel, once per registration; retried until taken. */
static void give_key(struct verifier *vf)
{
	char why[300];

	if (vf->registered && codekey_give_once(&vf->ck, "/dev", why, sizeof(why))) {
		report(vf, "unable to give the code key: %s%s (retrying; no code reaches safelockd until then)",
		       why, "");
		due_retry(&vf->key_due, RETRY_MAX_MS);
		return;
	}
	due_done(&vf->key_due);
}

/* The kernel reads its clocks now: the wall clock was set (or may have been). */
static void tell_clock(struct verifier *vf)
{
	struct nl_msg *msg;
	int ret;

	if (!vf->registered)
		return;
	msg = sl_genl_msg(&vf->nl, SAFELOCK_CMD_CLOCK_SET);
	if (!msg) {
		fprintf(stderr, "safelockd: unable to tell the kernel the clock was set: out of memory\n");
		return;
	}
	ret = sl_genl_request(&vf->nl, msg);
	/* an older module without CLOCK_SET reads its clocks every second */
	if (ret && ret != -EOPNOTSUPP)
		fprintf(stderr, "safelockd: unable to tell the kernel the clock was set: %s%s%s\n",
			strerror(-ret), vf->nl.extack[0] ? ": " : "", vf->nl.extack);
}

/* Arm the clock timerfd: it reads ECANCELED when CLOCK_REALTIME is set. */
static void clock_arm(struct verifier *vf)
{
	struct itimerspec its = { .it_value.tv_sec = time(NULL) + CLOCK_FAR_S };

	if (vf->clock_fd >= 0 &&
	    timerfd_settime(vf->clock_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
			    &its, NULL)) {
		fprintf(stderr, "safelockd: unable to follow the wall clock: %s (the kernel sees a set at its next reading)\n",
			strerror(errno));
		close(vf->clock_fd);
		vf->clock_fd = -1;
	}
}

/* The clock timerfd is readable: the wall clock was set (or its far end came). */
static void clock_readable(struct verifier *vf)
{
	uint64_t n;

	if (read(vf->clock_fd, &n, sizeof(n)) < 0 && errno != ECANCELED)
		return;		/* EAGAIN: nothing after all */
	clock_arm(vf);
	if (vf->verbose)
		fprintf(stderr, "safelockd: the wall clock was set: telling the kernel\n");
	tell_clock(vf);
	/* the UTC offset at the new time may be another, its next change too */
	due_now(&vf->sync_due);
}

static void try_register(struct verifier *vf)
{
	uint8_t hash[SAFELOCK_CODE_KEY_SIZE];
	struct nl_msg *msg;
	char why[300];
	int ret, prov;

	if (!vf->nl.sk) {
		ret = sl_genl_open(&vf->nl);
		if (ret) {
			report(vf, "unable to open generic netlink family %s: %s (retrying)",
			       SAFELOCK_GENL_NAME, sl_genl_strerror(ret));
			return;
		}
		vf->nl.on_msg = on_msg;
		vf->nl.on_msg_arg = vf;
		vf->nl.on_async_err = on_async_err;
		ret = sl_genl_subscribe(&vf->nl, "nlctrl", "notify");
		if (ret)
			fprintf(stderr, "safelockd: unable to follow nlctrl notifications: %s\n",
				strerror(-ret));
	}
	/* follow the events before registering: the registration is one */
	auditlog_events_fd(vf->audit);
	ret = vf->vault->ops->provisioned(vf->vault);
	vf->vault_ret = ret;
	admin_vault_result(vf->admin, ret);
	/* a vault that fails is asked again, with a backoff, until it answers */
	if (ret < 0)
		due_retry(&vf->vault_due, RETRY_MAX_MS);
	else
		due_done(&vf->vault_due);
	/* a vault that cannot be read is DAMAGED, never "no owner" */
	prov = vault_state(ret);
	if (ret < 0)
		report(vf, "unable to read vault: %s: telling the kernel it is DAMAGED%s",
		       vf->vault->errmsg[0] ? vf->vault->errmsg : strerror(-ret), "");
	if (codekey_setup(&vf->ck, hash, why, sizeof(why))) {
		report(vf, "unable to register verifier: %s%s", why, "");
		return;
	}
	msg = sl_genl_msg(&vf->nl, SAFELOCK_CMD_VERIFIER_REGISTER);
	if (!msg || nla_put_u8(msg, SAFELOCK_A_PROVISIONED, (uint8_t)prov) ||
	    nla_put(msg, SAFELOCK_A_CODE_KEY_HASH, sizeof(hash), hash)) {
		if (msg)
			nlmsg_free(msg);
		report(vf, "unable to register verifier: %s%s", "out of memory", "");
		return;
	}
	ret = sl_genl_request(&vf->nl, msg);
	if (ret) {
		snprintf(why, sizeof(why), "%s%s%s", sl_genl_strerror(ret),
			 vf->nl.extack[0] ? ": " : "", vf->nl.extack);
		report(vf, "unable to register verifier: %s%s (retrying)", why, "");
		disconnect(vf);
		return;
	}
	if (!vf->registered) {
		fprintf(stderr, "safelockd: registered as verifier (vault %s)\n",
			vault_state_name((uint8_t)prov));
		vf->pushed = 0;
	}
	vf->registered = true;
	vf->provisioned = prov;
	vf->last_err[0] = '\0';
	due_done(&vf->reg);
	give_key(vf);
	sync_policy(vf);
	/* a set while nobody followed the clock is reported now, not later */
	tell_clock(vf);
}

/*
 * The audit log (its keys come from the vault). One that cannot be opened
 * is reported and the lock works on; if the vault could not be opened
 * either, it is tried once more when the vault opens (audit_later()).
 */
static void audit_start(struct verifier *vf)
{
	char err[256];

	if (auditlog_open(&vf->audit, vf->vault, vf->audit_dir, true, err, sizeof(err))) {
		fprintf(stderr, "safelockd: unable to open the audit log %s: %s\n",
			vf->audit_dir, err);
		snprintf(vf->audit_why, sizeof(vf->audit_why), "%s",
			 vf->vault->errmsg[0] ? vf->vault->errmsg : err);
		return;
	}
	auditlog_hook_admin();
	vf->admin->audit_verify = auditlog_verify;
	vf->admin->audit_counts = auditlog_counts;
	vf->admin->audit_ctx = vf->audit;
}

/* The vault opened after the start: the audit log too, saying what it missed. */
static void audit_later(struct verifier *vf)
{
	char text[AUDIT_TEXT_SIZE];

	vf->audit_late = false;
	audit_start(vf);
	if (!vf->audit)
		return;
	fprintf(stderr, "safelockd: the audit log opened, now that the vault has\n");
	/* AUDIT_TEXT_SIZE is short: the start of the reason */
	snprintf(text, sizeof(text), "no record until now: vault not open at start: %.40s",
		 vf->audit_why);
	auditlog_vault(vf->audit, AUDIT_V_VAULT_ERROR, 0, SAFELOCK_RESULT_DENIED, ENODEV, text);
	auditlog_vault(vf->audit, AUDIT_V_START, 0, 0, 0, "safelockd started (audit log opened late)");
}

/*
 * Not registered: register (try_register()), and with no kernel to register
 * with, open the vault all the same for an audit log that waits for it.
 */
static void register_due(struct verifier *vf)
{
	try_register(vf);
	if (vf->audit_late && !vf->registered) {
		vf->vault_ret = vf->vault->ops->provisioned(vf->vault);
		admin_vault_result(vf->admin, vf->vault_ret);
	}
	if (vf->audit_late && vf->vault_ret >= 0)
		audit_later(vf);
	if (!vf->registered)
		due_retry(&vf->reg, REGISTER_MAX_MS);
}

/*
 * The vault failed (or has not opened yet): keep PROVISIONED up to date.
 * provisioned() also retries opening a vault that is not open yet, with a
 * backoff of its own.
 */
static void vault_due(struct verifier *vf)
{
	int prov, ret;

	ret = vf->vault->ops->provisioned(vf->vault);
	vf->vault_ret = ret;
	admin_vault_result(vf->admin, ret);
	if (ret < 0)
		due_retry(&vf->vault_due, RETRY_MAX_MS);
	else
		due_done(&vf->vault_due);
	if (vf->audit_late && ret >= 0)
		audit_later(vf);
	prov = vault_state(ret);
	if (prov != vf->provisioned) {
		fprintf(stderr, "safelockd: vault %s (was %s): telling the kernel\n",
			vault_state_name((uint8_t)prov),
			vault_state_name((uint8_t)vf->provisioned));
		if (prov == SAFELOCK_VAULT_DAMAGED)
			auditlog_vault(vf->audit, AUDIT_V_VAULT_ERROR, 0, SAFELOCK_RESULT_DENIED,
				       (uint32_t)-ret, "vault damaged or unreadable: told the kernel");
		try_register(vf);
	}
}

static uint64_t earliest(uint64_t next, uint64_t at)
{
	return at && at < next ? at : next;
}

/*
 * Do what is due now; return when something is next due (CLOCK_MONOTONIC
 * ms), UINT64_MAX for nothing: poll() then waits without a timeout.
 */
static uint64_t run_due(struct verifier *vf)
{
	uint64_t now = mono_ms(), next = UINT64_MAX, expire_at;
	int64_t left, wall;

	expire_at = vf->prepared_ms ? vf->prepared_ms + VAULT_PREPARE_TTL_MS + EXPIRE_SLACK_MS : 0;
	if (expire_at && now >= expire_at) {
		vf->prepared_ms = 0;
		expire_at = 0;
		if (vf->vault->ops->expire)
			vf->vault->ops->expire(vf->vault);
	}
	if (auditlog_due_ms(vf->audit) == 0)
		auditlog_tick(vf->audit);
	if (!vf->registered) {
		if (is_due(&vf->reg, now))
			register_due(vf);
	} else {
		if (is_due(&vf->vault_due, now))
			vault_due(vf);
		if (is_due(&vf->key_due, now))
			give_key(vf);
		wall = (int64_t)time(NULL);
		if (is_due(&vf->sync_due, now) ||
		    (vf->offset_change_s && wall >= vf->offset_change_s))
			sync_policy(vf);
		/* without the kernel's events, a new lock is only seen this way */
		if (vf->registered && vf->no_events && !vf->sync_due.at)
			vf->sync_due.at = now + EVENTLESS_SYNC_MS;
	}

	now = mono_ms();
	next = earliest(next, expire_at);
	left = auditlog_due_ms(vf->audit);
	if (left >= 0)
		next = earliest(next, now + (uint64_t)left);
	if (!vf->registered) {
		next = earliest(next, vf->reg.at);
		return next;
	}
	next = earliest(next, vf->vault_due.at);
	next = earliest(next, vf->key_due.at);
	next = earliest(next, vf->sync_due.at);
	if (vf->offset_change_s) {
		wall = (int64_t)time(NULL);
		next = earliest(next, now + (vf->offset_change_s > wall ?
					     (uint64_t)(vf->offset_change_s - wall) * 1000 : 0));
	}
	return next;
}

/*
 * A kernel event, from the audit log's events socket: a lock that has just
 * taken this verifier in (a lock that appeared, or was probed again) has no
 * policy yet. Type 0: events were lost, that one perhaps among them.
 */
static void on_kernel_event(void *ctx, uint32_t device, uint32_t type, uint32_t value)
{
	struct verifier *vf = ctx;

	(void)device;
	if (((type == SAFELOCK_EVENT_VERIFIER && value == 1) || !type) && vf->registered)
		due_now(&vf->sync_due);
}

#define NPFD	(4 + ADMIN_MAX_CLIENTS + 1)

int verifier_run(struct vault *vault, const struct verifier_opts *opts)
{
	struct verifier vf = {
		.vault = vault, .nl = { .family = -1 }, .q_family = -1,
		.prepare = !opts->no_prepare, .verbose = opts->verbose,
		.forged_rl = { .window_ms = 60000, .burst = 10 },
		.clock_fd = -1,
	};
	struct signalfd_siginfo si;
	struct pollfd pfd[NPFD];
	char err[320];
	uint64_t next, now;
	sigset_t mask;
	int sfd, n, na, timeout, rc = 0;

	vf.admin = calloc(1, sizeof(*vf.admin));
	if (!vf.admin) {
		fprintf(stderr, "safelockd: out of memory\n");
		return 1;
	}
	admin_init(vf.admin, vault, &kernel_ops, &vf);
	vf.admin->tcti = opts->tcti;
	vf.audit_dir = opts->audit_dir;
	if (vf.audit_dir) {
		/* a log that cannot be opened is reported; the lock works on */
		audit_start(&vf);
		/* the vault not open yet (provisioned() -ENODEV): again once it is */
		vf.vault_ret = vf.audit ? 0 : vault->ops->provisioned(vault);
		vf.audit_late = vf.vault_ret == -ENODEV;
	}
	if (vf.audit)
		auditlog_vault(vf.audit, AUDIT_V_START, 0, 0, 0, "safelockd started");
	auditlog_on_event(vf.audit, on_kernel_event, &vf);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "safelockd: unable to set up signals: %s\n",
			strerror(errno));
		free(vf.admin);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* the wall clock set: the kernel hears it from us (tell_clock()) */
	vf.clock_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vf.clock_fd < 0)
		fprintf(stderr, "safelockd: unable to follow the wall clock: %s (the kernel sees a set at its next reading)\n",
			strerror(errno));
	clock_arm(&vf);
	if (opts->admin_socket &&
	    admin_listen(vf.admin, opts->admin_socket, opts->admin_group, err, sizeof(err))) {
		fprintf(stderr, "safelockd: unable to serve administration: %s\n", err);
		rc = 1;
		goto out;
	}
	/* everything that needs privileges is open: the sandbox closes the rest */
	due_now(&vf.reg);
	run_due(&vf);
	if (opts->sandbox && sandbox_enter(opts->sandbox, err, sizeof(err))) {
		fprintf(stderr, "safelockd: unable to enter the sandbox: %s\n", err);
		rc = 1;
		goto out;
	}
	for (;;) {
		next = run_due(&vf);
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sl_genl_fd(&vf.nl), .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = vf.registered ? auditlog_events_fd(vf.audit) : -1,
					  .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = vf.clock_fd, .events = POLLIN };
		vf.no_events = vf.registered && pfd[2].fd < 0;
		na = admin_pollfds(vf.admin, pfd + 4, NPFD - 4);
		/* nothing due: no timeout, no wakeup */
		now = mono_ms();
		timeout = next == UINT64_MAX ? -1 :
			  next <= now ? 0 :
			  next - now > 86400000 ? 86400000 : (int)(next - now);
		n = admin_poll_timeout(vf.admin);
		if (n >= 0 && (timeout < 0 || n < timeout))
			timeout = n;
		n = poll(pfd, 4 + na, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "safelockd: unable to poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				fprintf(stderr, "safelockd: stopping on signal %u\n",
					si.ssi_signo);
				break;
			}
		}
		/* the kernel first: a VERIFY never waits behind admin work */
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			vf.reconnect = true;
		} else if (pfd[1].revents & POLLIN) {
			int ret = sl_genl_receive(&vf.nl);

			if (ret && ret != -EAGAIN && ret != -EINTR) {
				fprintf(stderr, "safelockd: unable to receive: %s\n",
					strerror(-ret));
				vf.reconnect = true;
			}
		}
		if (vf.reconnect) {
			disconnect(&vf);
			continue;
		}
		prepare_begun(&vf);
		/* then the events, for the audit log */
		if (pfd[2].revents & (POLLIN | POLLERR))
			auditlog_events_receive(vf.audit);
		if (pfd[3].revents & POLLIN)
			clock_readable(&vf);
		/* then at most one admin request; back to poll() after it */
		if (admin_service(vf.admin, pfd + 4, na))
			due_now(&vf.sync_due);	/* it may have changed the policy */
		/* a vault op failed (a verify, an admin request): ask it again */
		if (!vf.admin->vault_ok && !vf.vault_due.at)
			due_retry(&vf.vault_due, RETRY_MAX_MS);
		if (vf.reconnect)
			disconnect(&vf);
	}
out:
	/* a clean stop: no code will be checked for a prepared entry */
	cancel_prepared(&vf, 0);
	sl_genl_close(&vf.nl);
	query_close(&vf);
	admin_close(vf.admin);
	auditlog_close(vf.audit);
	free(vf.admin);
	close(sfd);
	if (vf.clock_fd >= 0)
		close(vf.clock_fd);
	codekey_wipe(&vf.ck);
	return rc;
}
