// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier loop: register with the "safelock" generic netlink family,
 * answer each VERIFY with a VERDICT from the vault, and come back by itself
 * when the module is reloaded (or was not loaded yet).
 *
 * One poll() over the netlink socket and a signalfd. The socket also
 * follows nlctrl's "notify" group, so the family going away is seen at once;
 * a one-second tick retries registration and notices a change of
 * provisioning (a user enrolled by `safelockd --enrol`).
 *
 * ENTRY_BEGIN (the first key of an entry, no digit) lets the vault prepare
 * the entry's try while the person types (vault_ops.prepare): what is left
 * after ENTER is then only the check itself. The verdict never depends on
 * it: a VERIFY without notice, or for another id, is checked in full. The
 * work the vault can leave for after the verdict (vault_ops.finish) is done
 * once the VERDICT is sent. A preparation whose VERIFY never comes is
 * rolled back by vault_ops.expire from the one-second tick.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/genetlink.h>

#include "libsafelock.h"
#include "safelockd.h"

struct verifier {
	struct vault *vault;
	struct sl_genl nl;
	bool registered;
	bool reconnect;
	bool prepare;		/* act on ENTRY_BEGIN (not --no-prepare) */
	bool verbose;
	int provisioned;
	char last_err[320];	/* not repeated every second */
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
	/* CODE: length checked by hand, so a bad one is answered DENIED */
	[SAFELOCK_A_CODE]	 = { .type = NLA_UNSPEC },
};

static const struct nla_policy begin_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE]	 = { .type = NLA_U32 },
	[SAFELOCK_A_REQUEST_ID]	 = { .type = NLA_U64 },
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * @retry_after_ms goes with DENIED as SAFELOCK_A_RETRY_AFTER_MS when it is
 * not 0: the time the kernel keeps the keypad quiet. VAULT_RETRY_DISABLED
 * (0xffffffff, about 49.7 days) means code entry is disabled until
 * recovery; the kernel asks again when it runs out.
 */
static void send_verdict(struct verifier *vf, uint32_t dev, uint64_t req,
			 const void *nonce, uint32_t result,
			 uint32_t retry_after_ms)
{
	struct nl_msg *msg = sl_genl_msg(&vf->nl, SAFELOCK_CMD_VERDICT);
	int ret;

	if (!msg || nla_put_u32(msg, SAFELOCK_A_DEVICE, dev) ||
	    nla_put_u64(msg, SAFELOCK_A_REQUEST_ID, req) ||
	    nla_put(msg, SAFELOCK_A_NONCE, SAFELOCK_NONCE_SIZE, nonce) ||
	    nla_put_u32(msg, SAFELOCK_A_RESULT, result) ||
	    (result == SAFELOCK_RESULT_DENIED && retry_after_ms &&
	     nla_put_u32(msg, SAFELOCK_A_RETRY_AFTER_MS, retry_after_ms))) {
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

/* An entry has begun: let the vault prepare its try. Best effort. */
static void handle_entry_begin(struct verifier *vf, struct nl_msg *msg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	unsigned long before = vf->vault->commands;
	uint64_t req;
	int ret;

	if (!vf->prepare || !vf->vault->ops->prepare)
		return;
	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, begin_policy);
	if (ret < 0 || !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_REQUEST_ID]) {
		fprintf(stderr, "safelockd: ignoring a malformed ENTRY_BEGIN\n");
		return;
	}
	req = nla_get_u64(tb[SAFELOCK_A_REQUEST_ID]);
	ret = vf->vault->ops->prepare(vf->vault, req);
	if (ret)
		fprintf(stderr, "safelockd: request %llu: unable to prepare: %s\n",
			(unsigned long long)req, vf->vault->errmsg);
	else if (vf->verbose)
		fprintf(stderr, "safelockd: request %llu: entry begun, prepared (%lu TPM commands)\n",
			(unsigned long long)req, vf->vault->commands - before);
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
	uint32_t dev, user, result = SAFELOCK_RESULT_DENIED;
	unsigned int retry_after = 0;
	char wait[48] = "", cmds[64] = "";
	unsigned long c0 = vf->vault->commands, c1;
	uint64_t req;
	size_t len = 0;
	int ret;

	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, verify_policy);
	if (ret < 0 || !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_REQUEST_ID] ||
	    !tb[SAFELOCK_A_NONCE]) {
		if (ret >= 0 && tb[SAFELOCK_A_CODE])
			sl_genl_wipe_attr(&vf->nl, msg, tb[SAFELOCK_A_CODE]);
		fprintf(stderr, "safelockd: unable to answer request: malformed VERIFY\n");
		return;
	}
	dev = nla_get_u32(tb[SAFELOCK_A_DEVICE]);
	req = nla_get_u64(tb[SAFELOCK_A_REQUEST_ID]);
	memcpy(nonce, nla_data(tb[SAFELOCK_A_NONCE]), sizeof(nonce));
	user = tb[SAFELOCK_A_USER_ID] ? nla_get_u32(tb[SAFELOCK_A_USER_ID]) : 0;
	if (tb[SAFELOCK_A_CODE]) {
		len = (size_t)nla_len(tb[SAFELOCK_A_CODE]);
		if (len > SAFELOCK_CODE_MAX_DIGITS)
			len = 0;
		memcpy(code, nla_data(tb[SAFELOCK_A_CODE]), len);
		sl_genl_wipe_attr(&vf->nl, msg, tb[SAFELOCK_A_CODE]);
	}
	if (tb[SAFELOCK_A_DEADLINE_NS] &&
	    nla_get_u64(tb[SAFELOCK_A_DEADLINE_NS]) <= now_ns()) {
		safelock_wipe(code, sizeof(code));
		fprintf(stderr, "safelockd: request %llu user %03u: deadline passed, not tried\n",
			(unsigned long long)req, user);
		cancel_prepared(vf, req);
		return;
	}
	if (safelock_code_valid(code, len)) {
		struct vault_result vres;	/* role, duress: see wip-daemon */

		ret = vf->vault->ops->verify(vf->vault, req, user, code, len,
					     &retry_after, &vres);
		if (ret == VAULT_GRANTED)
			result = SAFELOCK_RESULT_GRANTED;
	} else {
		ret = -EINVAL;
		cancel_prepared(vf, req);
		snprintf(vf->vault->errmsg, sizeof(vf->vault->errmsg),
			 "malformed code");
	}
	safelock_wipe(code, sizeof(code));
	if (result == SAFELOCK_RESULT_GRANTED)
		retry_after = 0;
	c1 = vf->vault->commands;
	send_verdict(vf, dev, req, nonce, result, retry_after);
	/* what could wait for the verdict: flushes, settling NV writes */
	if (vf->vault->ops->finish && vf->vault->ops->finish(vf->vault))
		fprintf(stderr, "safelockd: request %llu: after the verdict: %s\n",
			(unsigned long long)req, vf->vault->errmsg);
	if (vf->verbose)
		snprintf(cmds, sizeof(cmds), " [TPM commands: %lu before the verdict, %lu after]",
			 c1 - c0, vf->vault->commands - c1);
	if (retry_after == VAULT_RETRY_DISABLED)
		snprintf(wait, sizeof(wait), ", entry disabled");
	else if (retry_after)
		snprintf(wait, sizeof(wait), ", retry after %u ms", retry_after);
	fprintf(stderr, "safelockd: request %llu user %03u: %s%s%s%s%s%s\n",
		(unsigned long long)req, user, safelock_result_name(result),
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

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct verifier *vf = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh;

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
	return NL_SKIP;
}

static void on_async_err(struct sl_genl *g, int err, uint32_t seq, void *arg)
{
	(void)arg;
	(void)seq;
	fprintf(stderr, "safelockd: kernel refused a verdict: %s%s%s\n",
		strerror(-err), g->extack[0] ? ": " : "", g->extack);
}

static void disconnect(struct verifier *vf)
{
	if (vf->registered)
		fprintf(stderr, "safelockd: unregistered; will register again\n");
	sl_genl_close(&vf->nl);
	vf->registered = false;
	vf->reconnect = false;
}

static void try_register(struct verifier *vf)
{
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
	prov = vf->vault->ops->provisioned(vf->vault);
	if (prov < 0) {
		report(vf, "unable to read vault: %s%s", vf->vault->errmsg, "");
		prov = 0;
	}
	msg = sl_genl_msg(&vf->nl, SAFELOCK_CMD_VERIFIER_REGISTER);
	if (!msg || nla_put_u8(msg, SAFELOCK_A_PROVISIONED, (uint8_t)prov)) {
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
	if (!vf->registered)
		fprintf(stderr, "safelockd: registered as verifier%s\n",
			prov ? "" : " (vault not provisioned)");
	vf->registered = true;
	vf->provisioned = prov;
	vf->last_err[0] = '\0';
}

/* Once a second: keep PROVISIONED up to date. */
static void tick(struct verifier *vf)
{
	int prov;

	if (vf->vault->ops->expire)
		vf->vault->ops->expire(vf->vault);
	if (!vf->registered) {
		try_register(vf);
		return;
	}
	prov = vf->vault->ops->provisioned(vf->vault);
	if (prov >= 0 && prov != vf->provisioned)
		try_register(vf);
}

int verifier_run(struct vault *vault, const struct verifier_opts *opts)
{
	struct verifier vf = {
		.vault = vault, .nl = { .family = -1 },
		.prepare = !opts->no_prepare, .verbose = opts->verbose,
	};
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	uint64_t next = 0;
	sigset_t mask;
	int sfd, n;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "safelockd: unable to set up signals: %s\n",
			strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if (now_ns() >= next) {
			tick(&vf);
			next = now_ns() + 1000000000ULL;
		}
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sl_genl_fd(&vf.nl), .events = POLLIN };
		n = poll(pfd, 2, 1000);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "safelockd: unable to poll: %s\n", strerror(errno));
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
			next = 0;
		}
	}
	/* a clean stop: no code will be checked for a prepared entry */
	cancel_prepared(&vf, 0);
	sl_genl_close(&vf.nl);
	close(sfd);
	return 0;
}
