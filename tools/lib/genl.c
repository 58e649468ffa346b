// SPDX-License-Identifier: GPL-2.0
/*
 * A small generic netlink client for the "safelock" family over
 * libnl-genl-3: resolve the family by name, send requests and collect the
 * kernel's error with its extended ack text, receive unicast messages and
 * multicast notifications.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "libsafelock.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/*
 * libnl copies each received datagram into an nl_msg and frees the raw
 * buffer after the callbacks; to wipe a secret from both copies we record
 * the raw buffer while the callbacks run. The tools are single-threaded.
 */
static struct sl_genl *recv_owner;

static int raw_recv(struct nl_sock *sk, struct sockaddr_nl *nla,
		    unsigned char **buf, struct ucred **creds)
{
	int n = nl_recv(sk, nla, buf, creds);

	if (recv_owner) {
		recv_owner->raw = n > 0 ? *buf : NULL;
		recv_owner->raw_len = n > 0 ? (size_t)n : 0;
	}
	return n;
}

static int recv_msgs(struct sl_genl *g)
{
	int ret;

	recv_owner = g;
	ret = nl_recvmsgs(g->sk, g->cb);
	recv_owner = NULL;
	g->raw = NULL;
	g->raw_len = 0;
	return ret;
}

void sl_genl_wipe_attr(struct sl_genl *g, struct nl_msg *msg, struct nlattr *a)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	size_t off = (size_t)((char *)a - (char *)nlh);
	size_t len = (size_t)nla_len(a);

	/* the raw copy: same message at the start of the datagram */
	if (g->raw && off + NLA_HDRLEN + len <= g->raw_len &&
	    !memcmp(g->raw, nlh, sizeof(*nlh)))
		safelock_wipe(g->raw + off + NLA_HDRLEN, len);
	safelock_wipe(nla_data(a), len);
}

/* libnl's NLE_* codes to errno, for the few that matter here. */
static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:			return 0;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_PERM:		return -EPERM;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_EXIST:		return -EEXIST;
	case NLE_BUSY:		return -EBUSY;
	case NLE_INVAL:		return -EINVAL;
	case NLE_AGAIN:		return -EAGAIN;
	case NLE_INTR:		return -EINTR;
	case NLE_NOACCESS:	return -EACCES;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_MSG_TRUNC:	return -EMSGSIZE;
	case NLE_RANGE:		return -ERANGE;
	case NLE_NODEV:		return -ENODEV;
	default:		return -EIO;
	}
}

/* Copy NLMSGERR_ATTR_MSG of an error message into @out ("" if absent). */
static void extack_text(const struct nlmsghdr *nlh, const struct nlmsgerr *e,
			char *out, size_t len)
{
	const struct nlattr *a;
	size_t off, total;
	int rem;

	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	total = nlh->nlmsg_len;
	if (off >= total)
		return;
	a = (const struct nlattr *)((const char *)nlh + off);
	rem = (int)(total - off);
	for (; nla_ok(a, rem); a = nla_next(a, &rem)) {
		if (nla_type(a) != NLMSGERR_ATTR_MSG || nla_len(a) <= 0)
			continue;
		snprintf(out, len, "%.*s", nla_len(a), (const char *)nla_data(a));
		/* the kernel's string carries its NUL; drop a trailing newline */
		out[strcspn(out, "\n")] = '\0';
		return;
	}
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct sl_genl *g = arg;
	const struct nlmsghdr *nlh;

	/* only the kernel (port 0) answers a request: ignore a forged error */
	if (!who || who->nl_pid)
		return NL_SKIP;
	nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	if (g->waiting && e->msg.nlmsg_seq == g->wait_seq) {
		g->err = e->error;
		extack_text(nlh, e, g->extack, sizeof(g->extack));
		g->done = true;
		return NL_STOP;
	}
	if (e->error && g->on_async_err) {
		g->err = e->error;
		extack_text(nlh, e, g->extack, sizeof(g->extack));
		g->on_async_err(g, e->error, e->msg.nlmsg_seq, g->on_msg_arg);
	}
	return NL_SKIP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct sl_genl *g = arg;

	/* only the kernel (port 0) acknowledges: a forged ACK is no success */
	if (nlmsg_get_src(msg)->nl_pid)
		return NL_SKIP;
	if (g->waiting && nlmsg_hdr(msg)->nlmsg_seq == g->wait_seq) {
		g->err = 0;
		g->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

static int on_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;	/* the kernel starts VERIFY messages with seq 0 */
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct sl_genl *g = arg;

	if (g->on_msg)
		return g->on_msg(msg, g->on_msg_arg);
	return NL_OK;
}

const char *sl_genl_strerror(int err)
{
	if (err == -ENOENT)
		return "safelock module not loaded";
	return strerror(err < 0 ? -err : err);
}

int sl_genl_open(struct sl_genl *g)
{
	return sl_genl_open_family(g, SAFELOCK_GENL_NAME);
}

int sl_genl_open_family(struct sl_genl *g, const char *name)
{
	int one = 1;
	int ret;

	g->sk = nl_socket_alloc();
	g->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!g->sk || !g->cb) {
		ret = -ENOMEM;
		goto fail;
	}
	nl_socket_disable_seq_check(g->sk);
	nl_socket_disable_auto_ack(g->sk);
	nl_cb_set(g->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_seq_check, NULL);
	nl_cb_err(g->cb, NL_CB_CUSTOM, on_error, g);
	nl_cb_set(g->cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, g);
	nl_cb_set(g->cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, g);
	nl_cb_overwrite_recv(g->cb, raw_recv);
	ret = genl_connect(g->sk);
	if (ret < 0) {
		ret = nle_to_errno(ret);
		goto fail;
	}
	if (setsockopt(nl_socket_get_fd(g->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		       &one, sizeof(one)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Big enough for a burst of requests or events. */
	nl_socket_set_buffer_size(g->sk, 256 * 1024, 0);
	g->family = genl_ctrl_resolve(g->sk, name);
	if (g->family < 0) {
		ret = nle_to_errno(g->family);
		goto fail;
	}
	return 0;
fail:
	sl_genl_close(g);
	return ret;
}

void sl_genl_close(struct sl_genl *g)
{
	if (g->sk)
		nl_socket_free(g->sk);
	if (g->cb)
		nl_cb_put(g->cb);
	g->sk = NULL;
	g->cb = NULL;
	g->family = -1;
}

int sl_genl_fd(const struct sl_genl *g)
{
	return g->sk ? nl_socket_get_fd(g->sk) : -1;
}

int sl_genl_subscribe(struct sl_genl *g, const char *family, const char *group)
{
	int grp = genl_ctrl_resolve_grp(g->sk, family, group);

	if (grp < 0)
		return nle_to_errno(grp);
	return nle_to_errno(nl_socket_add_membership(g->sk, grp));
}

struct nl_msg *sl_genl_msg(struct sl_genl *g, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0, 0, cmd,
			 SAFELOCK_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int sl_genl_send(struct sl_genl *g, struct nl_msg *msg, uint32_t *seq)
{
	int ret = nl_send_auto(g->sk, msg);

	if (ret >= 0 && seq)
		*seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	return ret < 0 ? nle_to_errno(ret) : 0;
}

int sl_genl_request(struct sl_genl *g, struct nl_msg *msg)
{
	uint32_t seq;
	int ret;

	nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
	g->extack[0] = '\0';
	g->err = 0;
	ret = sl_genl_send(g, msg, &seq);
	if (ret)
		return ret;
	g->wait_seq = seq;
	g->waiting = true;
	g->done = false;
	while (!g->done) {
		ret = recv_msgs(g);
		if (ret < 0 && !g->done) {
			g->waiting = false;
			return nle_to_errno(ret);
		}
	}
	g->waiting = false;
	return g->err;
}

int sl_genl_receive(struct sl_genl *g)
{
	int ret = recv_msgs(g);

	return ret < 0 ? nle_to_errno(ret) : 0;
}
