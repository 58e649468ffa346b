// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's audit trail: every kernel event, every verdict and every
 * administrative act, in the hash-chained log of lib/audit.c (keys from the
 * vault), with a copy of each record to journald.
 *
 * The kernel's events come on a netlink socket of their own, subscribed to
 * the "events" group, so a flood of events can never crowd out a VERIFY on
 * the verifier's socket; if that socket overflows, the events lost show as
 * a gap in the kernel's sequence numbers, which audit verify reports after
 * the events-lost record that says why.
 *
 * Whenever that socket is (re)opened (at start, after a restart, after a
 * module reload) the log is compared with the kernel, lock by lock: a
 * STATUS_GET dump, taken after subscribing, gives each lock's last event
 * number; the log's own records give the last one it holds and the module
 * instance it came from. Before the lock's next event goes in, one record
 * says what the log lacks: events-lost FROM..TO (emitted while safelockd
 * was not following), or events-restart (a new module instance: numbered
 * from 1 again). Nothing falls between: an event emitted after the
 * subscription is in the socket's queue, and the first one of a lock
 * queued there bounds what was lost.
 *
 * The anchor (record count and chain hash, against truncation) goes to the
 * vault's NV after every AUDIT_ANCHOR_RECORDS records that matter or
 * AUDIT_ANCHOR_MS after one, whichever comes first, and at a clean stop.
 * What a truncation can remove unnoticed is therefore at most the records
 * since the last anchor. An NV write per event would wear a real TPM's NV
 * out within days of a keypad flood, and so would one per 64 of a
 * stranger's key presses: the kernel's records anyone at the keypad can
 * cause without a verdict (an entry begun, a state change, an entry
 * cancelled, malformed or left without a verifier) never make an anchor
 * due by their number, and by their age only after AUDIT_ANCHOR_NOISE_MS:
 * at most 144 NV writes a day however fast the keys are pressed. What
 * matters (verdicts, openings, alarms, faults, the vault's and the
 * administration's records) is anchored within AUDIT_ANCHOR_MS; it comes
 * no faster than the vault's throttle and the owner's code allow.
 *
 * Nothing here ever stops the lock: a log that cannot be written (full
 * disk, broken file) counts what it loses and says so in the next record
 * that fits; the verdicts never wait for it. One that cannot even be
 * opened because its file system is read-only (the SD card remounted
 * read-only after an I/O error) counts every record too, and is tried
 * again every second: once it opens, a LOST record says how many were
 * not written before anything else goes in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "auditlog.h"
#include "audit_names.h"
#include "journal.h"

#define AUDIT_ANCHOR_RECORDS	64
#define AUDIT_ANCHOR_MS		30000
#define AUDIT_ANCHOR_NOISE_MS	(10 * 60 * 1000)

struct auditlog {
	struct vault *vault;
	struct audit_log *log;
	struct journal_sink journal;
	bool journal_open;
	char dir[4096];
	uint64_t unanchored;		/* records since the last anchor */
	uint64_t unanchored_sig;	/* of them, records that matter */
	uint64_t anchor_ms;		/* CLOCK_MONOTONIC of the last anchor */
	uint64_t reopen_ms;		/* ... of the last try to open the log */
	uint64_t lost;			/* not appended, all told (STATUS) */
	uint64_t unsaid;		/* of them, while no log was open */
	char unsaid_why[AUDIT_TEXT_SIZE];	/* the LOST record's text */
	struct sl_genl ev;		/* the events group */
	bool ev_open;
	uint64_t last_kseq;
	/* the kernel's numbering: what the log holds, and following it */
	struct audit_kseq kseq;
	struct audit_instance inst;	/* the kernel's, when last followed */
	uint64_t follow_seq[AUDIT_KSEQ_LOCKS];	/* the dump's SEQ, not yet said */
	uint32_t follow_due;		/* bit = lock */
	bool followed;			/* once since safelockd started */
	/* the verifier follows the events too (auditlog_on_event()) */
	void (*hook)(void *ctx, uint32_t device, uint32_t type, uint32_t value);
	void *hook_ctx;
};

static struct auditlog *the_log;	/* for audit_admin()'s hook */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int vault_key(void *ctx, const uint8_t file_id[16], uint8_t key[32])
{
	struct vault *v = ctx;

	if (!v->ops->audit_key)
		return -EOPNOTSUPP;
	return v->ops->audit_key(v, file_id, key);
}

static void anchor(struct auditlog *al)
{
	struct audit_anchor a;
	int ret;

	if (!al->log || !al->vault->ops->anchor_store)
		return;
	audit_anchor_get(al->log, &a);
	if (!a.records)
		return;
	ret = al->vault->ops->anchor_store(al->vault, &a);
	if (ret)
		fprintf(stderr, "safelockd: unable to store the audit anchor: %s\n",
			al->vault->errmsg[0] ? al->vault->errmsg : strerror(-ret));
	al->unanchored = 0;
	al->unanchored_sig = 0;
	al->anchor_ms = mono_ms();
	explicit_bzero(&a, sizeof(a));
}

/*
 * Keypad noise: a kernel record anyone at the keypad can cause, as fast as
 * keys can be pressed, without the vault's verdict. See the top comment.
 */
static bool noise(const struct audit_record *rec)
{
	if (rec->source != AUDIT_SRC_KERNEL)
		return false;
	switch (rec->type) {
	case SAFELOCK_EVENT_STATE:
	case SAFELOCK_EVENT_ENTRY_STARTED:
		return true;
	case SAFELOCK_EVENT_ATTEMPT:
		return rec->result == SAFELOCK_RESULT_CANCELLED ||
		       rec->result == SAFELOCK_RESULT_MALFORMED ||
		       rec->result == SAFELOCK_RESULT_NO_VERIFIER ||
		       rec->result == SAFELOCK_RESULT_NO_POLICY;
	default:
		return false;
	}
}

static void append(struct auditlog *al, struct audit_record *rec)
{
	int ret;

	/* a record that cannot be written is counted lost: the log says so */
	audit_kseq_note(&al->kseq, rec);
	if (!al->log) {
		al->lost++;
		al->unsaid++;	/* for the next log opened to say */
		return;
	}
	ret = audit_append(al->log, rec);
	if (ret) {
		al->lost++;
		fprintf(stderr, "safelockd: audit record not written: %s\n", strerror(-ret));
		return;
	}
	if (al->journal_open)
		journal_send(&al->journal, rec);
	al->unanchored++;
	if (!noise(rec) && ++al->unanchored_sig >= AUDIT_ANCHOR_RECORDS)
		anchor(al);
}

static int open_log(struct auditlog *al, char *err, size_t len)
{
	struct audit_options o = {
		.dir = al->dir, .key = vault_key, .key_ctx = al->vault,
		.lost = al->unsaid, .lost_text = al->unsaid_why,
	};
	int ret;

	err[0] = '\0';
	ret = audit_open(&al->log, &o, err, len);
	if (ret) {
		al->log = NULL;
		snprintf(al->unsaid_why, sizeof(al->unsaid_why),
			 "records not written: the log could not be opened: %s",
			 strerror(-ret));
		return ret;
	}
	al->unsaid = 0;	/* the log has them now, said or still to say */
	if (err[0])	/* opened, with a warning: a broken head was set aside */
		fprintf(stderr, "safelockd: audit log: %s\n", err);
	return 0;
}

static int note_cb(void *ctx, const struct audit_record *rec)
{
	audit_kseq_note(ctx, rec);
	return 0;
}

/* The boot: the first 32 bits of the kernel's boot id; 0 if unreadable. */
static uint32_t boot_id(void)
{
	char buf[40] = "";
	unsigned int id = 0;
	ssize_t n;
	int fd;

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || sscanf(buf, "%8x", &id) != 1)
		return 0;
	return id;
}

int auditlog_open(struct auditlog **alp, struct vault *v, const char *dir,
		  bool journal, char *err, size_t len)
{
	struct auditlog *al = calloc(1, sizeof(*al));
	int ret;

	*alp = NULL;
	if (!al) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	al->vault = v;
	al->ev.family = -1;
	snprintf(al->dir, sizeof(al->dir), "%s", dir);
	ret = open_log(al, err, len);
	if (ret == -EROFS) {
		/* it may become writable again: count meanwhile, try each tick */
		fprintf(stderr, "safelockd: audit log %s: %s: counting the records not written, trying again every second\n",
			al->dir, err);
		ret = 0;
	}
	if (ret) {
		free(al);
		return ret;
	}
	/* where the log's numbering of each lock stands (nothing verified) */
	if (audit_read(al->dir, note_cb, &al->kseq, err, len))
		fprintf(stderr, "safelockd: audit log: unable to read it back: %s\n", err);
	err[0] = '\0';
	al->inst.boot = boot_id();
	if (journal && journal_open(&al->journal, NULL) == 0)
		al->journal_open = true;
	al->anchor_ms = mono_ms();
	the_log = al;
	*alp = al;
	return 0;
}

void auditlog_close(struct auditlog *al)
{
	if (!al)
		return;
	auditlog_vault(al, AUDIT_V_START, 0, 0, 0, "safelockd stopping");
	anchor(al);
	if (al->log)
		audit_close(al->log);
	if (al->journal_open)
		journal_close(&al->journal);
	if (al->ev_open)
		sl_genl_close(&al->ev);
	if (the_log == al)
		the_log = NULL;
	free(al);
}

void auditlog_vault(struct auditlog *al, uint32_t type, uint32_t user,
		    uint32_t result, uint32_t value, const char *text)
{
	struct audit_record rec = {
		.source = AUDIT_SRC_VAULT, .type = type, .user_id = user,
		.result = result, .value = value,
	};

	if (!al)
		return;
	snprintf(rec.text, sizeof(rec.text), "%s", text ? text : "");
	append(al, &rec);
}

/*
 * A factory wipe destroyed the vault's audit key: the old files can no
 * longer be verified by anyone, and they belong to the owner that was. They
 * go, and a new log starts that says why.
 */
static void reset_after_wipe(struct auditlog *al)
{
	char err[256], path[4200];
	struct dirent *d;
	DIR *dir;

	if (al->log)
		audit_close(al->log);
	al->log = NULL;
	dir = opendir(al->dir);
	if (dir) {
		while ((d = readdir(dir)))
			if (d->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "%s/%s", al->dir, d->d_name) <
			    (int)sizeof(path))
				unlink(path);
		closedir(dir);
	}
	if (open_log(al, err, sizeof(err)))
		fprintf(stderr, "safelockd: unable to start a new audit log: %s\n", err);
	al->unanchored = 0;
	memset(&al->kseq, 0, sizeof(al->kseq));
	auditlog_vault(al, AUDIT_V_WIPE, 0, 0, 0,
		       "factory wipe: the previous owner's log was erased with the vault");
}

/* audit_admin()'s hook (admin.c): one record per administrative act. */
static void admin_hook(const struct admin_act *a)
{
	static const uint32_t types[ADMIN_OP_MAX] = {
		[ADMIN_OP_INIT] = AUDIT_V_INIT,
		[ADMIN_OP_RECOVER] = AUDIT_V_RECOVER,
		[ADMIN_OP_RECOVER_CANCEL] = AUDIT_V_RECOVER_CANCEL,
		[ADMIN_OP_WIPE] = AUDIT_V_WIPE,
		[ADMIN_OP_USER_ADD] = AUDIT_V_USER_ADD,
		[ADMIN_OP_USER_DEL] = AUDIT_V_USER_DEL,
		[ADMIN_OP_USER_SET_ROLE] = AUDIT_V_USER_ROLE,
		[ADMIN_OP_CODE_CHANGE] = AUDIT_V_CODE_CHANGE,
		[ADMIN_OP_DURESS_SET] = AUDIT_V_DURESS_SET,
		[ADMIN_OP_POLICY_SET] = AUDIT_V_POLICY_SET,
		[ADMIN_OP_FAULT_CLEAR] = AUDIT_V_FAULT_CLEAR,
		[ADMIN_OP_TIME_LOCK_NOW] = AUDIT_V_POLICY_SET,
		[ADMIN_OP_RECOVERY_NEW] = AUDIT_V_RECOVERY_NEW,
	};
	struct auditlog *al = the_log;
	char text[AUDIT_TEXT_SIZE], users[16];
	uint32_t type;

	if (!al || a->op >= ADMIN_OP_MAX)
		return;
	if (a->duress) {
		/* never says whether the request was a read or what it got */
		snprintf(text, sizeof(text), "duress code of %03u at the admin socket (%s): alarm %s",
			 a->user[1] ? a->user[1] : a->user[0], admin_op_name(a->op),
			 a->alarm_err ? "NOT raised" : "raised");
		auditlog_vault(al, AUDIT_V_DURESS_ALARM, a->user[1] ? a->user[1] : a->user[0],
			       a->alarm_err ? SAFELOCK_RESULT_DENIED : SAFELOCK_RESULT_GRANTED,
			       0, text);
	}
	type = types[a->op];
	if (a->op == ADMIN_OP_RECOVER && a->started)
		type = AUDIT_V_RECOVER_START;
	/* reads (status, lists, policy get, verify) are not acts */
	if (!type && !a->result)
		return;
	if (a->result && !(a->op == ADMIN_OP_RECOVER && a->started))
		type = AUDIT_V_ADMIN_REFUSED;
	if (a->user[1])
		snprintf(users, sizeof(users), "%03u+%03u", a->user[0], a->user[1]);
	else
		snprintf(users, sizeof(users), "%03u", a->user[0]);
	snprintf(text, sizeof(text), "%s by %s target %03u uid %u%s%s%s",
		 admin_op_name(a->op), users, a->target,
		 a->peer ? (unsigned int)a->peer->uid : 0U,
		 a->duress ? " DURESS" : "",
		 a->result && !a->started ? ": " : "",
		 a->result && !a->started ? (a->reason && a->reason[0] ? a->reason :
					     strerror(-a->result)) : "");
	{
		struct audit_record rec = {
			.source = AUDIT_SRC_VAULT, .type = type, .user_id = a->user[0],
			/* result: done or refused (the errno is in the text) */
			.value = a->target,
			.result = a->result && !a->started ? SAFELOCK_RESULT_DENIED :
							     SAFELOCK_RESULT_GRANTED,
		};

		memcpy(rec.text, text, sizeof(rec.text));
		rec.text[sizeof(rec.text) - 1] = '\0';
		append(al, &rec);
	}
	if (a->op == ADMIN_OP_WIPE && !a->result)
		reset_after_wipe(al);
}

void auditlog_verdict(struct auditlog *al, uint64_t request_id, uint32_t user,
		      uint32_t result, uint32_t retry_after_ms, bool duress,
		      uint8_t override)
{
	char text[AUDIT_TEXT_SIZE];

	snprintf(text, sizeof(text), "request %llu%s%s",
		 (unsigned long long)request_id, duress ? " duress" : "",
		 override == SAFELOCK_OVERRIDE_ONLY ? " override-only" :
		 override == SAFELOCK_OVERRIDE_MAY ? " may-override" : "");
	auditlog_vault(al, AUDIT_V_VERDICT, user, result, retry_after_ms, text);
}

/* ----------------------------------------------------------------- */
/* The kernel's events                                               */

static const struct nla_policy event_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE] = { .type = NLA_U32 },
	[SAFELOCK_A_SEQ] = { .type = NLA_U64 },
	[SAFELOCK_A_TIMESTAMP_NS] = { .type = NLA_U64 },
	[SAFELOCK_A_EVENT] = { .type = NLA_U32 },
	[SAFELOCK_A_STATE] = { .type = NLA_U32 },
	[SAFELOCK_A_RESULT] = { .type = NLA_U32 },
	[SAFELOCK_A_USER_ID] = { .type = NLA_U32 },
	[SAFELOCK_A_REQUEST_ID] = { .type = NLA_U64 },
	[SAFELOCK_A_VALUE] = { .type = NLA_U32 },
};

static uint32_t get_u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

/* Say what the log lacks of lock @dev, whose kernel was at @seq. */
static void follow_one(struct auditlog *al, uint32_t dev, uint64_t seq,
		       const char *why)
{
	struct audit_record rec;

	if (dev < AUDIT_KSEQ_LOCKS)
		al->follow_due &= ~(1u << dev);
	if (!audit_kseq_follow(&al->kseq, dev, seq, &al->inst, why, &rec))
		return;
	fprintf(stderr, "safelockd: audit: %s %s\n",
		audit_event_name(rec.source, rec.type), rec.text);
	append(al, &rec);
}

static const char *why_down(const struct auditlog *al)
{
	return al->followed ? "safelockd was not following them"
			    : "safelockd was not running";
}

void auditlog_follow(struct auditlog *al, uint32_t family, uint32_t device,
		     uint64_t seq)
{
	if (!al || device >= AUDIT_KSEQ_LOCKS)
		return;
	al->inst.family = family;
	al->follow_seq[device] = seq;
	al->follow_due |= 1u << device;
}

void auditlog_follow_end(struct auditlog *al)
{
	uint32_t d;

	if (!al)
		return;
	for (d = 0; d < AUDIT_KSEQ_LOCKS; d++)
		if (al->follow_due & (1u << d))
			follow_one(al, d, al->follow_seq[d], why_down(al));
	al->followed = true;
}

void auditlog_event(struct auditlog *al, uint32_t device, struct audit_record *rec)
{
	if (!al)
		return;
	/*
	 * The first event of a lock still to be followed: the events before
	 * it, up to the dump's SEQ, were emitted before the subscription.
	 */
	if (device < AUDIT_KSEQ_LOCKS && (al->follow_due & (1u << device)))
		follow_one(al, device,
			   rec->kseq && rec->kseq - 1 < al->follow_seq[device] ?
			   rec->kseq - 1 : al->follow_seq[device], why_down(al));
	/*
	 * Followed, and still a jump: the events between never reached us
	 * (the socket overflowed; the kernel reports that once per episode,
	 * a flood makes many gaps). Each gets its range, before the event.
	 */
	else if (device < AUDIT_KSEQ_LOCKS && rec->kseq &&
		 al->kseq.lock[device].known &&
		 rec->kseq != al->kseq.lock[device].last + 1)
		follow_one(al, device, rec->kseq - 1,
			   "safelockd's event socket overflowed");
	al->last_kseq = rec->kseq;
	append(al, rec);
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct auditlog *al = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct audit_record rec = { .source = AUDIT_SRC_KERNEL };
	struct genlmsghdr *gh;

	if (!genlmsg_valid_hdr(nlh, 0) || nlh->nlmsg_type != al->ev.family)
		return NL_SKIP;
	gh = nlmsg_data(nlh);
	if (gh->cmd != SAFELOCK_CMD_EVENT ||
	    genlmsg_parse(nlh, 0, tb, SAFELOCK_A_MAX, (struct nla_policy *)event_policy))
		return NL_SKIP;
	rec.kseq = tb[SAFELOCK_A_SEQ] ? nla_get_u64(tb[SAFELOCK_A_SEQ]) : 0;
	rec.mono_ns = tb[SAFELOCK_A_TIMESTAMP_NS] ? nla_get_u64(tb[SAFELOCK_A_TIMESTAMP_NS]) : 0;
	rec.type = get_u32(tb, SAFELOCK_A_EVENT);
	rec.state = get_u32(tb, SAFELOCK_A_STATE);
	rec.result = get_u32(tb, SAFELOCK_A_RESULT);
	rec.user_id = get_u32(tb, SAFELOCK_A_USER_ID);
	rec.value = get_u32(tb, SAFELOCK_A_VALUE);
	snprintf(rec.text, sizeof(rec.text), "lock %u request %llu",
		 get_u32(tb, SAFELOCK_A_DEVICE),
		 tb[SAFELOCK_A_REQUEST_ID] ?
		 (unsigned long long)nla_get_u64(tb[SAFELOCK_A_REQUEST_ID]) : 0ULL);
	auditlog_event(al, get_u32(tb, SAFELOCK_A_DEVICE), &rec);
	if (al->hook)
		al->hook(al->hook_ctx, get_u32(tb, SAFELOCK_A_DEVICE), rec.type, rec.value);
	return NL_SKIP;
}

static const struct nla_policy status_policy[SAFELOCK_A_MAX + 1] = {
	[SAFELOCK_A_DEVICE] = { .type = NLA_U32 },
	[SAFELOCK_A_SEQ] = { .type = NLA_U64 },
};

static int on_status(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct auditlog *al = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX,
			  (struct nla_policy *)status_policy) < 0 ||
	    !tb[SAFELOCK_A_DEVICE] || !tb[SAFELOCK_A_SEQ])
		return NL_SKIP;
	auditlog_follow(al, (uint32_t)al->ev.family, nla_get_u32(tb[SAFELOCK_A_DEVICE]),
			nla_get_u64(tb[SAFELOCK_A_SEQ]));
	return NL_OK;
}

static void received(struct auditlog *al, int ret);

/*
 * Just subscribed: every lock's last event number (a STATUS_GET dump on a
 * socket of its own), then what the events socket already holds, then
 * one record per lock whose numbering the log does not continue.
 */
static void follow_kernel(struct auditlog *al)
{
	struct pollfd p = { .fd = sl_genl_fd(&al->ev), .events = POLLIN };
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = -ENOMEM, n;

	al->follow_due = 0;
	if (sk && cb && genl_connect(sk) >= 0) {
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_status, al);
		ret = genl_send_simple(sk, al->ev.family, SAFELOCK_CMD_STATUS_GET,
				       SAFELOCK_GENL_VERSION, NLM_F_DUMP);
		if (ret >= 0)
			ret = nl_recvmsgs(sk, cb);
	}
	if (cb)
		nl_cb_put(cb);
	if (sk)
		nl_socket_free(sk);
	if (ret < 0) {
		/* the events are followed anyway; a gap shows unexplained */
		fprintf(stderr, "safelockd: audit: unable to read the locks' event numbers\n");
		al->follow_due = 0;
		return;
	}
	/* what was emitted since the subscription, to bound each loss */
	for (n = 0; n < 4096 && al->follow_due && poll(&p, 1, 0) > 0; n++) {
		ret = sl_genl_receive(&al->ev);
		if (ret) {
			received(al, ret);
			break;
		}
	}
	auditlog_follow_end(al);
}

int auditlog_events_fd(struct auditlog *al)
{
	int ret;

	if (!al)
		return -1;
	if (!al->ev_open) {
		ret = sl_genl_open(&al->ev);
		if (ret)
			return -1;
		ret = sl_genl_subscribe(&al->ev, SAFELOCK_GENL_NAME, SAFELOCK_GENL_MCGRP_EVENTS);
		if (ret) {
			fprintf(stderr, "safelockd: unable to follow the lock's events: %s\n",
				strerror(-ret));
			sl_genl_close(&al->ev);
			al->ev.family = -1;
			return -1;
		}
		nl_socket_set_buffer_size(al->ev.sk, 1 << 20, 0);
		al->ev.on_msg = on_event;
		al->ev.on_msg_arg = al;
		al->ev_open = true;
		follow_kernel(al);
	}
	return sl_genl_fd(&al->ev);
}

/* After a receive on the events socket that returned @ret. */
static void received(struct auditlog *al, int ret)
{
	if (ret == -ENOBUFS || ret == -ENOMEM) {
		/*
		 * The kernel dropped events for us: the next event's seq shows
		 * how many; say so now, the next one may be a long time away.
		 */
		char text[AUDIT_TEXT_SIZE];

		snprintf(text, sizeof(text),
			 "kernel events lost after seq %llu: receive queue full",
			 (unsigned long long)al->last_kseq);
		fprintf(stderr, "safelockd: audit: %s\n", text);
		auditlog_vault(al, AUDIT_V_EVENTS_LOST, 0, 0, 0, text);
		/* what the verifier follows may be among them */
		if (al->hook)
			al->hook(al->hook_ctx, 0, 0, 0);
	} else if (ret && ret != -EAGAIN && ret != -EINTR) {
		/* the family went away (module unloaded): follow it again later */
		sl_genl_close(&al->ev);
		al->ev.family = -1;
		al->ev_open = false;
	}
}

void auditlog_events_receive(struct auditlog *al)
{
	if (!al || !al->ev_open)
		return;
	received(al, sl_genl_receive(&al->ev));
}

void auditlog_events_close(struct auditlog *al)
{
	if (al && al->ev_open) {
		sl_genl_close(&al->ev);
		al->ev_open = false;
	}
}

/* No log open (read-only, or none could be started after a wipe): again. */
static void reopen(struct auditlog *al)
{
	uint64_t n = al->unsaid;
	char err[256];

	if (open_log(al, err, sizeof(err)))
		return;
	fprintf(stderr, "safelockd: audit log %s open again; %llu records were not written meanwhile (a LOST record says so)\n",
		al->dir, (unsigned long long)n);
}

void auditlog_on_event(struct auditlog *al,
		       void (*fn)(void *ctx, uint32_t device, uint32_t type, uint32_t value),
		       void *ctx)
{
	if (!al)
		return;
	al->hook = fn;
	al->hook_ctx = ctx;
}

/* How long after the last anchor the records since are anchored. */
static uint64_t anchor_wait_ms(const struct auditlog *al)
{
	return al->unanchored_sig ? AUDIT_ANCHOR_MS : AUDIT_ANCHOR_NOISE_MS;
}

int64_t auditlog_due_ms(const struct auditlog *al)
{
	uint64_t now;

	if (!al)
		return -1;
	now = mono_ms();
	/* a log that cannot be opened: tried once a second, as it always was */
	if (!al->log)
		return al->reopen_ms + 1000 > now ? (int64_t)(al->reopen_ms + 1000 - now) : 0;
	if (!al->unanchored)
		return -1;
	return al->anchor_ms + anchor_wait_ms(al) > now ?
	       (int64_t)(al->anchor_ms + anchor_wait_ms(al) - now) : 0;
}

void auditlog_tick(struct auditlog *al)
{
	if (al && !al->log) {
		al->reopen_ms = mono_ms();
		reopen(al);
	}
	if (al && al->unanchored && mono_ms() - al->anchor_ms >= anchor_wait_ms(al))
		anchor(al);
}

/* ----------------------------------------------------------------- */
/* For the admin server                                              */

int auditlog_verify(void *ctx, struct safelock_admin_audit *out, char *what,
		    size_t len)
{
	struct auditlog *al = ctx;
	struct audit_anchor a, *ap = NULL;
	struct audit_report rep;
	int ret;

	/* what the log has written counts: anchor it first */
	anchor(al);
	if (al->vault->ops->anchor_load && al->vault->ops->anchor_load(al->vault, &a) == 0)
		ap = &a;
	ret = audit_verify(al->dir, vault_key, al->vault, ap, &rep);
	explicit_bzero(&a, sizeof(a));
	if (ret) {
		snprintf(what, len, "cannot verify %s: %s", al->dir, strerror(-ret));
		return ret;
	}
	out->records = rep.records;
	out->first_bad = rep.first_bad;
	out->files = rep.files;
	out->ok = rep.ok;
	if (rep.ok && rep.kseq_gaps)
		snprintf(what, len, "the chain is intact; %llu kernel events are missing, "
			 "%llu of them in gaps no record explains",
			 (unsigned long long)(rep.kseq_gaps + rep.kseq_explained),
			 (unsigned long long)rep.kseq_gaps);
	else if (rep.ok && rep.kseq_explained)
		snprintf(what, len, "the chain is intact; %llu kernel events are missing, "
			 "every gap explained by the record before it (events-lost: "
			 "safelockd was not running or its queue overflowed; "
			 "events-restart: the module was reloaded)",
			 (unsigned long long)rep.kseq_explained);
	else
		snprintf(what, len, "%s", rep.what);
	return 0;
}

void auditlog_counts(void *ctx, uint64_t *records, uint64_t *lost)
{
	struct auditlog *al = ctx;

	*records = al->log ? audit_records(al->log) : 0;
	/* every record append() could not write, once (audit_lost() is a part) */
	*lost = al->lost;
}

void auditlog_hook_admin(void)
{
	audit_admin_hook = admin_hook;
}
