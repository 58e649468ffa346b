// SPDX-License-Identifier: GPL-2.0
/*
 * The state directory read-only (fault model, "Files on flash"): the SD
 * card the kernel remounted read-only after an I/O error. Made real with
 * read-only bind mounts in a private mount namespace (root ignores file
 * modes: a chmod would prove nothing), against swtpm, the vault, the admin
 * server, the verdicts (gate.c) and the audit log (auditlog.c), wired in
 * one process as safelockd wires them, with a fake kernel:
 *
 *  1. read-only under a running safelockd: every administrative change
 *     (user add, del, role, code change, duress set, policy set, time
 *     lock, wipe) refused with the file system's reason, and nothing
 *     changed: the TPM's commit record (version and hash, read back from
 *     NV), vault.tab, the users and the policy in memory, the kernel's
 *     policy; no vault.tab.new left. A right code is GRANTED, a wrong one
 *     DENIED and counted in TPM NV (read back). Each refusal is audited.
 *     The audit log's own directory stays writable in this part: the file
 *     the log holds open keeps a bind mount from going read-only (EBUSY);
 *     a write error on that file is test_audit's disk-full case.
 *  2. safelockd started again on the read-only directory (audit log too):
 *     the vault opens, codes verify and are counted, changes are refused;
 *     the audit log cannot be opened, and every record is counted lost in
 *     STATUS, none written, nothing in the directory touched.
 *  3. writable again, no restart: changes work; the audit log opens at the
 *     next tick, a LOST record with the count before anything else, and
 *     audit verify passes and names the loss.
 *
 * Codes are random digits made at run time. SKIPs if swtpm is absent or
 * no mount namespace can be made (not root).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "libsafelock.h"
#include "audit.h"
#include "../safelockd/adminsrv.h"
#include "../safelockd/auditlog.h"
#include "../safelockd/gate.h"
#include "../safelockd/vault.h"
#include "../safelockd/vault_tpm.h"
#include "swtpm.h"
#include "tap.h"

#define NTESTS	37
#define CODE_LEN	8

/* ----------------------------------------------------------------- */
/* The fake kernel: the door open, what it was given                 */

static struct {
	unsigned int pushes, time_locks, alarms;
	struct safelock_admin_policy pushed;
} fk;

static int fk_door(void *ctx, char *why, size_t len)
{
	(void)ctx;
	(void)why;
	(void)len;
	return 1;
}

static bool fk_registered(void *ctx)
{
	(void)ctx;
	return true;
}

static int fk_push(void *ctx, const struct safelock_admin_policy *p, char *why,
		   size_t len)
{
	(void)ctx;
	(void)why;
	(void)len;
	fk.pushed = *p;
	fk.pushes++;
	return 0;
}

static void fk_prov(void *ctx, bool prov)
{
	(void)ctx;
	(void)prov;
}

static int fk_time_lock(void *ctx, uint32_t s, char *why, size_t len)
{
	(void)ctx;
	(void)s;
	(void)why;
	(void)len;
	fk.time_locks++;
	return 0;
}

static int fk_alarm(void *ctx, uint32_t user, char *why, size_t len)
{
	(void)ctx;
	(void)user;
	(void)why;
	(void)len;
	fk.alarms++;
	return 0;
}

static const struct admin_kernel_ops fk_ops = {
	.door_open = fk_door,
	.registered = fk_registered,
	.policy_push = fk_push,
	.provisioned = fk_prov,
	.time_lock_now = fk_time_lock,
	.duress_alarm = fk_alarm,
};

/* ----------------------------------------------------------------- */
/* Harness                                                           */

static struct swtpm sw;
static struct vault_config cfg;
static struct vault v = { .ops = &vault_tpm_ops };
static struct admin_server srv;
static struct auditlog *al;
static struct safelock_admin_req rq;
static struct safelock_admin_reply rep;
static char auditdir[PATH_MAX + 8];
static char code[4][SAFELOCK_CODE_BUF];	/* users 001..003 */
static uint64_t req_id;
static bool mounted;

/* safelockd's wiring of the audit log (verifier.c, audit_start()) */
static void audit_start(void)
{
	char err[256];

	al = NULL;
	if (auditlog_open(&al, &v, auditdir, false, err, sizeof(err))) {
		tap_diag("auditlog_open: %s", err);
		al = NULL;
		return;
	}
	auditlog_hook_admin();
	srv.audit_verify = auditlog_verify;
	srv.audit_counts = auditlog_counts;
	srv.audit_ctx = al;
	auditlog_vault(al, AUDIT_V_START, 0, 0, 0, "safelockd started");
}

/* safelockd's start: the vault, the admin server, the audit log. */
static bool start(void)
{
	if (v.ops->open(&v, &cfg)) {
		tap_diag("open: %s", v.errmsg);
		return false;
	}
	admin_init(&srv, &v, &fk_ops, NULL);
	srv.tcti = sw.tcti;
	audit_start();
	return true;
}

/* safelockd's clean stop (verifier_run's end, then main's). */
static void stop(void)
{
	auditlog_close(al);
	al = NULL;
	if (srv.vault)	/* admin_init() ran */
		admin_close(&srv);
	memset(&srv, 0, sizeof(srv));
	v.ops->close(&v);
}

static void req(uint32_t op)
{
	memset(&rq, 0, sizeof(rq));
	rq.magic = SAFELOCK_ADMIN_MAGIC;
	rq.op = op;
}

static void auth(unsigned int id)
{
	rq.auth[0].user_id = id;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", code[id]);
}

/* Send rq (a copy: the server wipes it); the reply's status. */
static int admin(void)
{
	unsigned char buf[sizeof(rq)];

	memcpy(buf, &rq, sizeof(rq));
	return admin_handle(&srv, buf, sizeof(buf), NULL, &rep);
}

/* A VERIFY as the verifier handles it: decide, send, audit, settle. */
static struct verify_out verify(unsigned int user, const char *c)
{
	struct verify_in in = { .dev = 0, .req = ++req_id, .user = user,
				.code = c, .len = strlen(c) };
	struct verify_out out;

	verify_decide(&v, &srv, true, &in, &out);
	auditlog_verdict(al, in.req, in.user, out.result, out.retry_after_ms,
			 out.duress, out.override);
	if (v.ops->finish)
		v.ops->finish(&v);
	return out;
}

/* A fresh code, distinct from every code in use and from @other. */
static void new_code(char *out, const char *other)
{
	char c[SAFELOCK_CODE_BUF];
	bool dup;
	int i;

	do {
		sw_random_code(c, CODE_LEN);
		dup = other && !strcmp(c, other);
		for (i = 1; i < 4; i++)
			dup |= !strcmp(c, code[i]);
	} while (dup);
	memcpy(out, c, sizeof(c));
	safelock_wipe(c, sizeof(c));
}

/* ----------------------------------------------------------------- */
/* The mounts                                                        */

/* Remount @dir's bind mount read-only or writable, its other flags kept. */
static int set_ro(const char *dir, bool ro)
{
	unsigned long fl = MS_REMOUNT | MS_BIND | (ro ? MS_RDONLY : 0);
	struct statvfs s;

	if (statvfs(dir, &s) == 0) {
		fl |= s.f_flag & ST_NOSUID ? MS_NOSUID : 0;
		fl |= s.f_flag & ST_NODEV ? MS_NODEV : 0;
		fl |= s.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
		fl |= s.f_flag & ST_NOATIME ? MS_NOATIME : 0;
		fl |= s.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0;
		fl |= s.f_flag & ST_RELATIME ? MS_RELATIME : 0;
	}
	return mount(NULL, dir, NULL, fl, NULL);
}

/*
 * A private mount namespace with the state directory and its audit/ each
 * bound onto itself, so that each can be made read-only on its own.
 * Returns false with the reason in @why.
 */
static bool make_mounts(char *why, size_t len)
{
	const char *dirs[2] = { sw.statedir, auditdir };
	int i;

	if (unshare(CLONE_NEWNS) < 0) {
		snprintf(why, len, "no mount namespace: %s (needs root or CAP_SYS_ADMIN)",
			 strerror(errno));
		return false;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(why, len, "cannot make / private: %s", strerror(errno));
		return false;
	}
	mkdir(sw.statedir, 0700);
	mkdir(auditdir, 0700);
	for (i = 0; i < 2; i++) {
		if (mount(dirs[i], dirs[i], NULL, MS_BIND, NULL) < 0) {
			snprintf(why, len, "cannot bind %s: %s", dirs[i], strerror(errno));
			return false;
		}
		mounted = true;
		if (set_ro(dirs[i], true) < 0 || access(dirs[i], W_OK) == 0 ||
		    errno != EROFS || set_ro(dirs[i], false) < 0) {
			snprintf(why, len, "cannot make %s read-only and back: %s",
				 dirs[i], strerror(errno));
			return false;
		}
	}
	return true;
}

static void unmount_all(void)
{
	if (!mounted)
		return;
	umount2(auditdir, MNT_DETACH);
	umount2(sw.statedir, MNT_DETACH);
	mounted = false;
}

/* ----------------------------------------------------------------- */
/* What must not change                                              */

struct snap {
	uint8_t rec[STATE_SIZE];	/* the TPM's commit record, from NV */
	uint8_t tab_md[32];		/* SHA-256 of vault.tab */
	uint64_t tab_version;		/* vault.tab's own header */
	struct { unsigned int id, role, duress; } users[8];
	size_t n;
	struct safelock_admin_policy vpol, spol, kpol;
	unsigned int pushes, time_locks;
	bool tmp;			/* a vault.tab.new */
	int files;			/* entries in the state directory */
};

/*
 * Read NV index @h (@size bytes at @off) back from the TPM, through the
 * vault's own connection and handle (swtpm serves one client at a time).
 */
static bool nv_peek(TPM2_HANDLE h, uint16_t size, uint16_t off, uint8_t *out)
{
	struct tpm_vault *t = v.priv;
	uint8_t buf[FAILS_SIZE];
	ESYS_TR *tr;

	if (!t || !t->ctx || off + size > (int)sizeof(buf))
		return false;
	tr = h == STATE_NV ? &t->state_nv : &t->fails_nv;
	if (nv_index(&v, h, h == STATE_NV ? STATE_SIZE : FAILS_SIZE, false, tr) < 0 ||
	    nv_read(t, *tr, buf, off + size))
		return false;
	memcpy(out, buf + off, size);
	return true;
}

/* User @id's consecutive failures, as TPM NV holds them; -1: unreadable. */
static int nv_fails(unsigned int id)
{
	uint8_t b;

	return nv_peek(FAILS_NV, 1, (uint16_t)id, &b) ? b : -1;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

static bool file_md(const char *path, uint8_t md[32], uint64_t *version)
{
	static uint8_t buf[1 << 20];
	unsigned int n = 0;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len < 16)
		return false;
	*version = be64(buf + 8);
	return EVP_Digest(buf, (size_t)len, md, &n, EVP_sha256(), NULL) && n == 32;
}

static int entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool take(struct snap *s)
{
	struct vault_user u[8];
	char path[PATH_MAX + 32];
	size_t i;
	bool ok;

	memset(s, 0, sizeof(*s));
	ok = nv_peek(STATE_NV, STATE_SIZE, 0, s->rec);
	snprintf(path, sizeof(path), "%s/vault.tab", sw.statedir);
	ok &= file_md(path, s->tab_md, &s->tab_version);
	snprintf(path, sizeof(path), "%s/vault.tab.new", sw.statedir);
	s->tmp = access(path, F_OK) == 0;
	s->files = entries(sw.statedir);
	ok &= v.ops->user_list(&v, u, 8, &s->n) == 0;
	for (i = 0; i < s->n; i++) {
		s->users[i].id = u[i].user_id;
		s->users[i].role = u[i].role;
		s->users[i].duress = u[i].has_duress;
	}
	ok &= v.ops->policy_load(&v, &s->vpol) == 0;
	s->spol = srv.policy;
	s->kpol = fk.pushed;
	s->pushes = fk.pushes;
	s->time_locks = fk.time_locks;
	return ok;
}

/* Does @b show what @a showed? The first difference in @why. */
static bool same(const struct snap *a, const struct snap *b, char *why, size_t len)
{
	const char *d = NULL;

	if (memcmp(a->rec, b->rec, sizeof(a->rec)))
		d = "the TPM's commit record";
	else if (memcmp(a->tab_md, b->tab_md, 32) || a->tab_version != b->tab_version)
		d = "vault.tab";
	else if (b->tmp)
		d = "a vault.tab.new was left";
	else if (a->files != b->files)
		d = "the state directory's entries";
	else if (a->n != b->n || memcmp(a->users, b->users, sizeof(a->users)))
		d = "the vault's users in memory";
	else if (memcmp(&a->vpol, &b->vpol, sizeof(a->vpol)))
		d = "the vault's policy in memory";
	else if (memcmp(&a->spol, &b->spol, sizeof(a->spol)))
		d = "the admin server's policy";
	else if (a->pushes != b->pushes || a->time_locks != b->time_locks ||
		 memcmp(&a->kpol, &b->kpol, sizeof(a->kpol)))
		d = "the kernel's policy";
	snprintf(why, len, "%s", d ? d : "");
	return !d;
}

/* The commit record is the table: its version and hash are vault.tab's. */
static bool record_is_table(const struct snap *s)
{
	return be64(s->rec + 8) == s->tab_version &&
	       !memcmp(s->rec + 16, s->tab_md, 32);
}

/* ----------------------------------------------------------------- */
/* The audit log as it is on disk                                    */

struct tally {
	unsigned int n, refused, refused_rofs;
	struct audit_record last[3];	/* the newest three, newest last */
};

static int tally_cb(void *ctx, const struct audit_record *r)
{
	struct tally *t = ctx;

	t->n++;
	if (r->source == AUDIT_SRC_VAULT && r->type == AUDIT_V_ADMIN_REFUSED) {
		t->refused++;
		/* the reason, as far as the record's 96 bytes go */
		t->refused_rofs += strcasestr(r->text, "read-only") != NULL ||
				   strstr(r->text, "vault.tab.new") != NULL;
	}
	memmove(&t->last[0], &t->last[1], 2 * sizeof(t->last[0]));
	t->last[2] = *r;
	return 0;
}

static bool tally(struct tally *t)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	if (audit_read(auditdir, tally_cb, t, err, sizeof(err))) {
		tap_diag("audit_read: %s", err);
		return false;
	}
	return true;
}

static bool audit_status(uint64_t *records, uint64_t *lost)
{
	req(ADMIN_OP_STATUS);
	if (admin())
		return false;
	*records = rep.status_info.audit_records;
	*lost = rep.status_info.audit_lost;
	return true;
}

/* ----------------------------------------------------------------- */
/* The tests                                                         */

static bool is_rofs(int ret)
{
	return ret == -EROFS && strstr(rep.message, strerror(EROFS));
}

/* Every test left but the last (swtpm's stop) skipped, with @why. */
static void skip_rest(const char *why)
{
	while (tap_count < NTESTS - 1)
		tap_skip("state directory read-only", why);
}

static bool setup(void)
{
	struct safelock_admin_policy p;
	int ret;

	ret = start() && al ? 0 : -1;
	if (!ret) {
		req(ADMIN_OP_INIT);
		snprintf(rq.new_code, sizeof(rq.new_code), "%s", code[1]);
		ret = admin();
	}
	if (!ret) {
		req(ADMIN_OP_USER_ADD);
		auth(1);
		rq.target_user = 2;
		rq.role = SAFELOCK_ROLE_USER;
		snprintf(rq.new_code, sizeof(rq.new_code), "%s", code[2]);
		ret = admin();
	}
	if (!ret) {
		req(ADMIN_OP_POLICY_GET);
		ret = admin();
		p = rep.policy;
	}
	if (!ret) {
		req(ADMIN_OP_POLICY_SET);
		auth(1);
		rq.policy = p;
		rq.policy.open_window_s = 120;
		ret = admin();
	}
	if (tap_ok(ret == 0 && fk.pushes > 0 && fk.pushed.open_window_s == 120,
		   "writable: owner and user 002 enrolled, a policy stored and pushed, the audit log open"))
		return true;
	tap_diag("%d: %s %s", ret, rep.message, v.errmsg);
	skip_rest("the writable setup failed");
	return false;
}

/* One refused change in part 1 or 2: the reason, and nothing changed. */
static void no_change(const char *what, int ret, const struct snap *before)
{
	struct snap now;
	char why[64];
	bool ok = take(&now);

	if (!tap_ok(is_rofs(ret) && ok && same(before, &now, why, sizeof(why)),
		    "%s refused with the file system's reason, nothing changed ('%s')",
		    what, rep.message))
		tap_diag("returned %d; %s", ret, ok ? why : "snapshot failed");
}

static void part1(void)
{
	struct safelock_admin_policy p = srv.policy;
	char c[SAFELOCK_CODE_BUF];
	struct verify_out out;
	struct snap before, now;
	struct tally t0, t1;
	uint64_t recs = 0, lost = 0;
	char why[64];
	int ret, f, f2;
	bool ok;

	tally(&t0);
	ret = set_ro(sw.statedir, true);
	tap_ok(ret == 0 && access(sw.statedir, W_OK) < 0 && errno == EROFS,
	       "1: the state directory is read-only now, under the running vault (%s)",
	       ret ? strerror(errno) : "EROFS even for root");
	ok = take(&before);
	tap_ok(ok && record_is_table(&before) && !before.tmp && before.n == 2,
	       "1: the TPM's record is vault.tab's version %llu and hash; 2 users",
	       (unsigned long long)before.tab_version);

	new_code(c, NULL);
	req(ADMIN_OP_USER_ADD);
	auth(1);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_MANAGER;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", c);
	no_change("1: user-add 003", admin(), &before);

	req(ADMIN_OP_USER_DEL);
	auth(1);
	rq.target_user = 2;
	no_change("1: user-del 002", admin(), &before);

	req(ADMIN_OP_USER_SET_ROLE);
	auth(1);
	rq.target_user = 2;
	rq.role = SAFELOCK_ROLE_MANAGER;
	no_change("1: user-set-role 002 manager", admin(), &before);

	new_code(c, NULL);
	req(ADMIN_OP_CODE_CHANGE);
	auth(2);
	rq.target_user = 2;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", c);
	no_change("1: code-change 002", admin(), &before);

	new_code(c, NULL);
	req(ADMIN_OP_DURESS_SET);
	auth(2);
	rq.target_user = 2;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", c);
	no_change("1: duress-set 002", admin(), &before);

	req(ADMIN_OP_POLICY_SET);
	auth(1);
	rq.policy = p;
	memset(rq.policy.reserved, 0, sizeof(rq.policy.reserved));
	rq.policy.open_window_s = 300;
	no_change("1: policy-set (open window 300 s)", admin(), &before);

	req(ADMIN_OP_TIME_LOCK_NOW);
	auth(1);
	rq.duration_s = 60;
	no_change("1: time-lock-now 60 s", admin(), &before);

	req(ADMIN_OP_WIPE);
	auth(1);
	no_change("1: wipe", admin(), &before);

	/* verification goes on, and its counts are in NV */
	out = verify(1, code[1]);
	if (!tap_ok(out.result == SAFELOCK_RESULT_GRANTED, "1: the owner's right code is GRANTED"))
		tap_diag("vault %d: %s", out.vault_ret, v.errmsg);
	new_code(c, code[2]);
	f = nv_fails(2);
	out = verify(2, c);
	f2 = nv_fails(2);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && out.vault_ret == VAULT_DENIED &&
	       f == 0 && f2 == 1,
	       "1: a wrong code of 002 is DENIED and counted in TPM NV (%d -> %d)", f, f2);
	out = verify(2, code[2]);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && nv_fails(2) == 0,
	       "1: 002's right code is GRANTED, its count back to 0 in NV");
	why[0] = '\0';
	ok = take(&now) && same(&before, &now, why, sizeof(why));
	tap_ok(ok && record_is_table(&now),
	       "1: after it all the record, vault.tab, users and policies are as they were%s%s",
	       why[0] ? ": not " : "", why);

	tally(&t1);
	tap_ok(t1.refused - t0.refused == 8 && t1.refused_rofs - t0.refused_rofs == 8,
	       "1: each refusal is in the audit log with its reason (%u of 8)",
	       t1.refused_rofs - t0.refused_rofs);
	ok = audit_status(&recs, &lost);
	tap_ok(ok && lost == 0 && recs == t1.n,
	       "1: status: %llu audit records, none lost", (unsigned long long)recs);
}

/* The records part 2 makes, each to be counted lost. */
static unsigned int made;

static bool part2(void)
{
	char c[SAFELOCK_CODE_BUF];
	struct verify_out out;
	struct snap before;
	struct tally t0, t1;
	uint64_t recs = 0, lost = 0;
	struct stat st0, st1;
	char head[PATH_MAX + 32];
	bool ok;
	int f, f2;

	stop();
	tally(&t0);
	ok = set_ro(auditdir, true) == 0;
	tap_ok(ok && access(auditdir, W_OK) < 0 && errno == EROFS,
	       "2: safelockd stopped; its audit directory read-only too");
	snprintf(head, sizeof(head), "%s/audit-000001.log", auditdir);
	stat(head, &st0);

	ok = start();
	if (!tap_ok(ok && v.ops->provisioned(&v) == SAFELOCK_VAULT_OWNED,
		    "2: started again on the read-only directory: the vault opens, OWNED")) {
		tap_diag("%s", v.errmsg);
		skip_rest("the vault did not open again");
		return false;
	}
	made = 1;	/* "safelockd started" */
	tap_ok(al != NULL,
	       "2: the audit log is kept though it cannot be opened: its records are counted");
	ok = take(&before);
	tap_ok(ok && record_is_table(&before),
	       "2: the TPM's record is still vault.tab's (version %llu)",
	       (unsigned long long)before.tab_version);

	out = verify(1, code[1]);
	made++;
	if (!tap_ok(out.result == SAFELOCK_RESULT_GRANTED, "2: the owner's right code is GRANTED"))
		tap_diag("vault %d: %s", out.vault_ret, v.errmsg);
	new_code(c, code[2]);
	f = nv_fails(2);
	out = verify(2, c);
	made++;
	f2 = nv_fails(2);
	tap_ok(out.result == SAFELOCK_RESULT_DENIED && f == 0 && f2 == 1,
	       "2: a wrong code of 002 is DENIED and counted in TPM NV (%d -> %d)", f, f2);
	out = verify(2, code[2]);
	made++;
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED && nv_fails(2) == 0,
	       "2: 002's right code is GRANTED, its count back to 0");

	new_code(c, NULL);
	req(ADMIN_OP_USER_ADD);
	auth(1);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_USER;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", c);
	no_change("2: user-add 003", admin(), &before);
	made++;

	auditlog_tick(al);	/* a second went by: the log is tried again */
	tally(&t1);
	stat(head, &st1);
	tap_ok(t1.n == t0.n && st1.st_size == st0.st_size && st1.st_mtime == st0.st_mtime,
	       "2: nothing written to the audit log (%u records, as before)", t1.n);
	ok = audit_status(&recs, &lost);
	tap_ok(ok && lost == made,
	       "2: status: %llu audit records lost (%u made), none dropped silently",
	       (unsigned long long)lost, made);
	return true;
}

static void part3(void)
{
	struct verify_out out;
	struct snap before, now;
	struct tally t0, t1;
	uint64_t recs = 0, lost = 0;
	bool ok;
	int ret;

	tally(&t0);
	ret = set_ro(sw.statedir, false);
	ret = ret ? ret : set_ro(auditdir, false);
	tap_ok(ret == 0 && access(sw.statedir, W_OK) == 0 && access(auditdir, W_OK) == 0,
	       "3: both directories writable again; safelockd not restarted");
	take(&before);

	auditlog_tick(al);	/* safelockd's once-a-second tick */
	tally(&t1);
	tap_ok(t1.n > t0.n && t1.last[2].source == AUDIT_SRC_LOG &&
	       t1.last[2].type == AUDIT_L_LOST && t1.last[2].value == made,
	       "3: the audit log opens by itself at the next tick: a LOST record of %u ('%s')",
	       t1.last[2].value, t1.last[2].text);

	new_code(code[3], NULL);
	req(ADMIN_OP_USER_ADD);
	auth(1);
	rq.target_user = 3;
	rq.role = SAFELOCK_ROLE_USER;
	snprintf(rq.new_code, sizeof(rq.new_code), "%s", code[3]);
	ret = admin();
	ok = take(&now);
	if (!tap_ok(ret == 0 && ok && now.n == 3 && record_is_table(&now) &&
		    be64(now.rec + 8) == be64(before.rec + 8) + 1 && !now.tmp,
		    "3: user-add 003 works: version %llu -> %llu in NV and vault.tab, no vault.tab.new",
		    (unsigned long long)be64(before.rec + 8), (unsigned long long)be64(now.rec + 8)))
		tap_diag("%d: %s", ret, rep.message);

	out = verify(3, code[3]);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED, "3: 003's code is GRANTED");

	req(ADMIN_OP_POLICY_SET);
	auth(1);
	rq.policy = srv.policy;
	memset(rq.policy.reserved, 0, sizeof(rq.policy.reserved));
	rq.policy.open_window_s = 300;
	ret = admin();
	if (!tap_ok(ret == 0 && fk.pushed.open_window_s == 300 && srv.policy.open_window_s == 300,
		    "3: policy-set works: stored, pushed to the kernel"))
		tap_diag("%d: %s", ret, rep.message);

	out = verify(1, code[1]);
	tap_ok(out.result == SAFELOCK_RESULT_GRANTED, "3: the owner's right code is GRANTED");

	ok = audit_status(&recs, &lost);
	tap_ok(ok && lost == made,
	       "3: status: %llu lost, counted once each (%u)", (unsigned long long)lost, made);
	req(ADMIN_OP_AUDIT_VERIFY);
	auth(1);
	ret = admin();
	{
		char want[32];

		snprintf(want, sizeof(want), "%u records lost", made);
		tap_ok(ret == 0 && rep.audit.ok && strstr(rep.message, want),
		       "3: audit verify: the chain is intact and names the loss ('%s')",
		       rep.message);
	}
}

int main(void)
{
	char why[256];
	int i;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("state directory read-only", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "rodir")) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(auditdir, sizeof(auditdir), "%s/audit", sw.statedir);
	if (!make_mounts(why, sizeof(why))) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("state directory read-only", why);
		unmount_all();
		sw_cleanup(&sw);
		return tap_exit();
	}
	cfg.tcti = sw.tcti;
	cfg.state_dir = sw.statedir;
	new_code(code[1], NULL);
	new_code(code[2], NULL);
	if (!tap_ok(sw_start(&sw), "swtpm starts")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("state directory read-only", "no swtpm");
		goto out;
	}
	if (setup()) {
		part1();
		if (part2())
			part3();
	}
	stop();
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	for (i = 0; i < 4; i++)
		safelock_wipe(code[i], sizeof(code[i]));
	unmount_all();
	sw_cleanup(&sw);
	return tap_exit();
}
