// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's audit trail: every kernel event, every verdict and every
 * administrative act, in the hash-chained log of lib/audit.c (keys from the
 * vault), with a copy of each record to journald.
 *
 * The kernel's events come on a netlink socket of their own, subscribed to
 * the "events" group, so a flood of events can never crowd out a VERIFY on
 * the verifier's socket; if that socket overflows, the events lost show as
 * a gap in the kernel's sequence numbers, which audit verify reports.
 *
 * The anchor (record count and chain hash, against truncation) goes to the
 * vault's NV after every AUDIT_ANCHOR_RECORDS records or AUDIT_ANCHOR_MS,
 * whichever comes first, and at a clean stop: an NV write per event would
 * wear a real TPM's NV out within days of a keypad flood. What a truncation
 * can remove unnoticed is therefore at most the records since the last
 * anchor.
 *
 * Nothing here ever stops the lock: a log that cannot be written (full
 * disk, broken file) counts what it loses and says so in the next record
 * that fits; the verdicts never wait for it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/genl.h>

#include "auditlog.h"
#include "audit_names.h"
#include "journal.h"

#define AUDIT_ANCHOR_RECORDS	64
#define AUDIT_ANCHOR_MS		30000

struct auditlog {
	struct vault *vault;
	struct audit_log *log;
	struct journal_sink journal;
	bool journal_open;
	char dir[4096];
	uint64_t unanchored;		/* records since the last anchor */
	uint64_t anchor_ms;		/* CLOCK_MONOTONIC of the last anchor */
	uint64_t lost;			/* not appended (counted by us) */
	struct sl_genl ev;		/* the events group */
	bool ev_open;
	uint64_t last_kseq;
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
	al->anchor_ms = mono_ms();
	explicit_bzero(&a, sizeof(a));
}

static void append(struct auditlog *al, struct audit_record *rec)
{
	int ret;

	if (!al->log) {
		al->lost++;
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
	if (++al->unanchored >= AUDIT_ANCHOR_RECORDS)
		anchor(al);
}

static int open_log(struct auditlog *al, char *err, size_t len)
{
	struct audit_options o = {
		.dir = al->dir, .key = vault_key, .key_ctx = al->vault,
	};
	int ret;

	err[0] = '\0';
	ret = audit_open(&al->log, &o, err, len);
	if (ret) {
		al->log = NULL;
		return ret;
	}
	if (err[0])	/* opened, with a warning: a broken head was set aside */
		fprintf(stderr, "safelockd: audit log: %s\n", err);
	return 0;
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
	if (ret) {
		free(al);
		return ret;
	}
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
	al->last_kseq = rec.kseq;
	append(al, &rec);
	return NL_SKIP;
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
	}
	return sl_genl_fd(&al->ev);
}

void auditlog_events_receive(struct auditlog *al)
{
	int ret;

	if (!al || !al->ev_open)
		return;
	ret = sl_genl_receive(&al->ev);
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
	} else if (ret && ret != -EAGAIN && ret != -EINTR) {
		/* the family went away (module unloaded): follow it again later */
		sl_genl_close(&al->ev);
		al->ev.family = -1;
		al->ev_open = false;
	}
}

void auditlog_events_close(struct auditlog *al)
{
	if (al && al->ev_open) {
		sl_genl_close(&al->ev);
		al->ev_open = false;
	}
}

void auditlog_tick(struct auditlog *al)
{
	if (al && al->unanchored && mono_ms() - al->anchor_ms >= AUDIT_ANCHOR_MS)
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
		snprintf(what, len, "the chain is intact; %llu kernel events are missing "
			 "(a gap in the sequence numbers: the event queue overflowed or "
			 "safelockd was not running)", (unsigned long long)rep.kseq_gaps);
	else
		snprintf(what, len, "%s", rep.what);
	return 0;
}

void auditlog_counts(void *ctx, uint64_t *records, uint64_t *lost)
{
	struct auditlog *al = ctx;

	*records = al->log ? audit_records(al->log) : 0;
	*lost = al->lost + (al->log ? audit_lost(al->log) : 0);
}

void auditlog_hook_admin(void)
{
	audit_admin_hook = admin_hook;
}
