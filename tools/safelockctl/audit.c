// SPDX-License-Identifier: GPL-2.0
/*
 * The audit trail: show (a table, or JSON lines) and export (JSON lines
 * for a SIEM) read the log's files directly with audit_read(), which needs
 * no key and checks nothing; verify asks safelockd, which holds the key
 * in the TPM, to check every record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "audit.h"
#include "audit_names.h"
#include "libsafelock.h"
#include "safelockctl.h"

struct reader {
	struct ctl_config *cfg;
	struct out o;
	bool table;		/* human table, else JSON lines */
	struct audit_record *ring;	/* --count: the last N */
	size_t n, next;
	size_t printed;
	int err;
};

#define TABLE_HEADER \
	"INDEX  TIME                SOURCE EVENT          SEQ     USER RESULT      TEXT"

static void print_record(struct reader *rd, const struct audit_record *r)
{
	char line[1024], when[32], seq[24], user[8];
	time_t t = (time_t)(r->real_ns / 1000000000LL);
	struct tm tm;

	if (!rd->table) {
		if (audit_format_json(r, line, sizeof(line)) < 0) {
			rd->err = -EOVERFLOW;
			return;
		}
		printf("%s\n", line);
		rd->printed++;
		return;
	}
	if (!rd->printed++)	/* the header over the first record only */
		out_table_begin(&rd->o, "records", TABLE_HEADER);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(seq, sizeof(seq), r->kseq ? "#%llu" : "-", (unsigned long long)r->kseq);
	snprintf(user, sizeof(user), r->user_id ? "%03u" : "-", r->user_id);
	out_row_begin(&rd->o);
	out_cell_num(&rd->o, "index", 6, r->index);
	out_cell(&rd->o, "time", 19, when);
	out_cell(&rd->o, "source", 6, audit_source_name(r->source));
	out_cell(&rd->o, "event", 14, audit_event_name(r->source, r->type));
	out_cell(&rd->o, "seq", 7, seq);
	out_cell(&rd->o, "user", 4, user);
	out_cell(&rd->o, "result", 11, r->result ? safelock_result_name(r->result) : "-");
	out_cell(&rd->o, "text", 0, r->text);
	out_row_end(&rd->o);
}

static int each(void *ctx, const struct audit_record *r)
{
	struct reader *rd = ctx;
	struct audit_record rec = *r;

	rec.text[AUDIT_TEXT_SIZE - 1] = '\0';
	if (rd->cfg->since_s >= 0 && rec.real_ns / 1000000000LL < rd->cfg->since_s)
		return 0;
	if (rd->cfg->filter_user && rec.user_id != rd->cfg->filter_user)
		return 0;
	if (rd->ring) {
		rd->ring[rd->next++ % (size_t)rd->cfg->count] = rec;
		return 0;
	}
	print_record(rd, &rec);
	return rd->err;
}

static int read_log(struct ctl_config *cfg, bool table, const char *verb)
{
	struct reader rd = { .cfg = cfg, .table = table };
	bool missing = false;
	char err[256] = "";
	struct stat st;
	size_t i, n, first;
	int ret;

	out_init(&rd.o, cfg);
	if (cfg->count) {
		if (cfg->count > 1000000)
			return usage_error("--count for audit show is at most 1000000");
		rd.ring = calloc((size_t)cfg->count, sizeof(*rd.ring));
		if (!rd.ring)
			return ctl_fail(EXIT_FAIL, verb, cfg->audit_dir, "out of memory");
	}
	/*
	 * No directory yet: safelockd makes it when it first starts, so a new
	 * system has no records, which is no error (the directory is named).
	 */
	if (stat(cfg->audit_dir, &st) < 0 && errno == ENOENT) {
		missing = true;
		ret = 0;
	} else {
		ret = audit_read(cfg->audit_dir, each, &rd, err, sizeof(err));
	}
	if (!ret && rd.ring) {
		n = rd.next < (size_t)cfg->count ? rd.next : (size_t)cfg->count;
		first = rd.next - n;
		for (i = 0; i < n && !rd.err; i++)
			print_record(&rd, &rd.ring[(first + i) % (size_t)cfg->count]);
	}
	free(rd.ring);
	if (!ret && !rd.err && !rd.printed && table) {
		if (cfg->since_s >= 0 || cfg->filter_user)
			printf("No audit records match --since or --user");
		else
			printf("No audit records yet");
		if (missing) {
			printf(": ");
			out_text(stdout, cfg->audit_dir);
			printf(" does not exist (safelockd makes it when it first starts)");
		}
		printf(".\n");
	}
	fflush(stdout);
	if (ret || rd.err)
		return ctl_fail(abs(ret ? ret : rd.err) == EACCES ? EXIT_PERM : EXIT_FAIL,
				verb, cfg->audit_dir, "%s",
				err[0] ? err : strerror(-(ret ? ret : rd.err)));
	return 0;
}

int cmd_audit_show(struct ctl_config *cfg)
{
	return read_log(cfg, !cfg->json, "show the audit log in");
}

int cmd_audit_export(struct ctl_config *cfg)
{
	if (cfg->format != AUDIT_FMT_JSON)
		return usage_error("only --format json is built in");
	return read_log(cfg, false, "export the audit log in");
}


int cmd_audit_verify(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	struct out o;
	int ret;

	if (!cfg->as_user)
		return usage_error("'audit verify' needs --as USER (owner, manager or auditor)");
	req = admin_req_new(ADMIN_OP_AUDIT_VERIFY);
	rep = admin_reply_new();
	if (!req || !rep)
		ret = ctl_fail(EXIT_FAIL, "verify", "the audit log", "out of memory");
	else
		ret = admin_fill_auth(cfg, req, "verify", "the audit log");
	if (!ret)
		ret = admin_run(cfg, req, rep, "verify", "the audit log");
	if (!ret) {
		bool ok = rep->audit.ok == 1;

		out_init(&o, cfg);
		out_begin(&o);
		out_tone(&o, "result", "audit log:", ok ? "verified" : "ALTERED",
			 ok ? TONE_GOOD : TONE_BAD);
		if (o.json)
			out_bool(&o, "ok", "", ok, "", "");
		out_num(&o, "records", "records checked:", rep->audit.records, "");
		out_num(&o, "files", "files:", rep->audit.files, "");
		if (rep->audit.first_bad == UINT64_MAX)
			out_null(&o, "first_bad", "first bad record:", "none");
		else
			out_num(&o, "first_bad", "first bad record:", rep->audit.first_bad, "");
		if (rep->message[0] || o.json)
			out_str(&o, "message", "what:", rep->message);
		out_end(&o);
		if (!ok)
			ret = EXIT_TAMPERED;
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}
