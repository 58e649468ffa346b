// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the audit log (lib/audit.c) and its journald export
 * (lib/journal.c), with a software key function: the file key is an HMAC of
 * the file id under a random key made for this run (the real one is the
 * TPM's). The tests tamper with the files the way an attacker with the
 * disk would, so they know the record size (224 bytes) and the offsets of
 * a few fields; see the layout in lib/audit.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit.h"
#include "audit_names.h"
#include "../safelockd/auditlog.h"
#include "fake_vault.h"
#include "journal.h"
#include "libsafelock.h"
#include "tap.h"

#define NTESTS 54

#define REC		224
#define OFF_USER	56
#define OFF_MAC		192

static uint8_t master[32];
static char top[64];		/* this run's temporary directory */

static int soft_key(void *ctx, const uint8_t id[16], uint8_t key[32])
{
	const uint8_t *m = ctx ? ctx : master;
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), m, 32, id, 16, key, &len) || len != 32)
		return -EIO;
	return 0;
}

static int failing_key(void *ctx, const uint8_t id[16], uint8_t key[32])
{
	(void)ctx;
	(void)id;
	(void)key;
	return -EIO;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Files ------------------------------------------------------------- */

static const char *newdir(const char *name)
{
	static char path[16][128];
	static int next;
	char *p = path[next++ % 16];

	snprintf(p, 128, "%s/%s", top, name);
	return p;
}

static const char *fpath(const char *dir, unsigned int no)
{
	static char path[4][160];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, 160, "%s/audit-%06u.log", dir, no);
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint8_t *slurp(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc(st.st_size + REC);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	*size = st.st_size;
	close(fd);
	return buf;
}

static bool spew(const char *path, const uint8_t *buf, size_t size)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	bool ok = fd >= 0 && write(fd, buf, size) == (ssize_t)size;

	if (fd >= 0)
		close(fd);
	return ok;
}

static size_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 1 : (size_t)st.st_size;
}

static size_t file_records(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (size_t)st.st_size / REC;
}

/* Tampering: each returns false if the file could not be changed. */
static bool t_flip(const char *path, size_t pos, size_t off)
{
	size_t size;
	uint8_t *b = slurp(path, &size);
	bool ok = b && (pos + 1) * REC <= size;

	if (ok) {
		b[pos * REC + off] ^= 0x01;
		ok = spew(path, b, size);
	}
	free(b);
	return ok;
}

static bool t_delete(const char *path, size_t pos)
{
	size_t size;
	uint8_t *b = slurp(path, &size);
	bool ok = b && (pos + 1) * REC <= size;

	if (ok) {
		memmove(b + pos * REC, b + (pos + 1) * REC, size - (pos + 1) * REC);
		ok = spew(path, b, size - REC);
	}
	free(b);
	return ok;
}

static bool t_swap(const char *path, size_t a, size_t c)
{
	size_t size;
	uint8_t *b = slurp(path, &size), t[REC];
	bool ok = b && (a + 1) * REC <= size && (c + 1) * REC <= size;

	if (ok) {
		memcpy(t, b + a * REC, REC);
		memcpy(b + a * REC, b + c * REC, REC);
		memcpy(b + c * REC, t, REC);
		ok = spew(path, b, size);
	}
	free(b);
	return ok;
}

/* Insert @rec (REC bytes) before position @pos. */
static bool t_insert(const char *path, size_t pos, const uint8_t *rec)
{
	size_t size;
	uint8_t *b = slurp(path, &size);
	bool ok = b && pos * REC <= size;

	if (ok) {
		memmove(b + (pos + 1) * REC, b + pos * REC, size - pos * REC);
		memcpy(b + pos * REC, rec, REC);
		ok = spew(path, b, size + REC);
	}
	free(b);
	return ok;
}

static bool t_record(const char *path, size_t pos, uint8_t *rec)
{
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, rec, REC, pos * REC) == REC;

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool t_truncate_records(const char *path, size_t n)
{
	return !truncate(path, (off_t)n * REC);
}

static bool t_append_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	bool ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Logs -------------------------------------------------------------- */

static struct audit_log *open_log(const char *dir, uint64_t per_file,
				  unsigned int files)
{
	struct audit_options o = {
		.dir = dir, .max_file_records = per_file, .max_files = files,
		.key = soft_key,
	};
	struct audit_log *log = NULL;
	char err[256];
	int ret = audit_open(&log, &o, err, sizeof(err));

	if (ret)
		tap_diag("audit_open %s: %d %s", dir, ret, err);
	return log;
}

static struct audit_record krec(uint64_t kseq, uint32_t type)
{
	struct audit_record r = {
		.kseq = kseq, .mono_ns = kseq * 1000000 + 17,
		.source = AUDIT_SRC_KERNEL, .type = type,
		.state = SAFELOCK_STATE_LOCKED, .user_id = (uint32_t)(kseq % 7),
		.value = (uint32_t)kseq * 3,
	};

	if (type == SAFELOCK_EVENT_ATTEMPT)
		r.result = SAFELOCK_RESULT_DENIED;
	snprintf(r.text, sizeof(r.text), "event %llu", (unsigned long long)kseq);
	return r;
}

/* Append @n kernel events with sequence numbers from @seq; false on error. */
static bool fill(struct audit_log *log, uint64_t seq, unsigned int n,
		 uint32_t type)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct audit_record r = krec(seq + i, type);
		int ret = audit_append(log, &r);

		if (ret) {
			tap_diag("audit_append: %d", ret);
			return false;
		}
	}
	return true;
}

/* A closed log of one file: FILE_START then @n records at positions 1..n. */
static const char *make_log(const char *name, unsigned int n)
{
	const char *dir = newdir(name);
	struct audit_log *log = open_log(dir, 0, 0);

	if (!log)
		return dir;
	fill(log, 1, n, SAFELOCK_EVENT_ATTEMPT);
	audit_close(log);
	return dir;
}

static bool verify_as(const char *dir, const struct audit_anchor *a,
		      struct audit_report *rep)
{
	int ret = audit_verify(dir, soft_key, NULL, a, rep);

	tap_diag("verify: %s", rep->what);
	return ret == 0;
}

/* Verification fails, names record @index and says @kind (and @file). */
static bool detects(const char *dir, const struct audit_anchor *a,
		    uint64_t index, const char *kind, const char *file)
{
	struct audit_report rep;

	if (!verify_as(dir, a, &rep))
		return false;
	if (rep.ok || rep.first_bad != index || !strstr(rep.what, kind) ||
	    (file && !strstr(rep.what, file))) {
		tap_diag("want record %llu, \"%s\", %s; got ok=%d first_bad=%llu",
			 (unsigned long long)index, kind, file ? file : "",
			 rep.ok, (unsigned long long)rep.first_bad);
		return false;
	}
	return true;
}

struct collect {
	struct audit_record *r;
	size_t n, cap;
};

static int collect_cb(void *ctx, const struct audit_record *rec)
{
	struct collect *c = ctx;

	if (c->n == c->cap) {
		struct audit_record *n;

		c->cap = c->cap ? 2 * c->cap : 64;
		n = realloc(c->r, c->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->r = n;
	}
	c->r[c->n++] = *rec;
	return 0;
}

static bool read_all(const char *dir, struct collect *c)
{
	char err[256];
	int ret;

	memset(c, 0, sizeof(*c));
	ret = audit_read(dir, collect_cb, c, err, sizeof(err));
	if (ret)
		tap_diag("audit_read: %d %s", ret, err);
	return ret == 0;
}

static bool is_log(const struct audit_record *r, uint32_t type)
{
	return r->source == AUDIT_SRC_LOG && r->type == type;
}

/* Tests ------------------------------------------------------------- */

static void test_round_trip(void)
{
	const char *dir = newdir("rt");
	struct audit_log *log = open_log(dir, 0, 0);
	struct audit_record in[40], v = { .source = AUDIT_SRC_VAULT,
					  .type = AUDIT_V_USER_ADD, .user_id = 12,
					  .text = "role manager" };
	struct audit_report rep;
	struct collect c;
	bool ok = log != NULL;
	unsigned int i;

	for (i = 0; ok && i < 40; i++) {
		in[i] = krec(i + 1, 1 + i % (SAFELOCK_EVENT_MAX - 1));
		in[i].result = i % SAFELOCK_RESULT_MAX;
		ok = audit_append(log, &in[i]) == 0 && in[i].index == i + 1 &&
		     in[i].real_ns > 0;
	}
	ok = ok && audit_append(log, &v) == 0 && v.index == 41 &&
	     audit_records(log) == 42 && audit_lost(log) == 0;
	audit_close(log);
	ok = ok && read_all(dir, &c) && c.n == 42 &&
	     is_log(&c.r[0], AUDIT_L_FILE_START) && c.r[0].index == 0;
	for (i = 0; ok && i < 40; i++)
		ok = !memcmp(&c.r[i + 1], &in[i], sizeof(in[i]));
	ok = ok && c.r[41].source == AUDIT_SRC_VAULT && c.r[41].user_id == 12 &&
	     !strcmp(c.r[41].text, "role manager");
	free(c.r);
	tap_ok(ok, "round trip: 41 records read back field for field, indexes 1..41");
	tap_ok(verify_as(dir, NULL, &rep) && rep.ok && rep.records == 42 &&
	       rep.files == 1 && rep.first_bad == UINT64_MAX && rep.kseq_gaps == 0,
	       "round trip: verifies, 42 records in 1 file");

	log = open_log(dir, 0, 0);
	ok = log && audit_records(log) == 42 && fill(log, 41, 5, SAFELOCK_EVENT_DOOR) &&
	     audit_records(log) == 47;
	audit_close(log);
	tap_ok(ok && verify_as(dir, NULL, &rep) && rep.ok && rep.records == 47 &&
	       file_records(fpath(dir, 1)) == 47,
	       "reopen continues the chain in the same file");
}

static void test_bad_input(void)
{
	const char *dir = newdir("bad");
	struct audit_options o = { .dir = dir, .key = soft_key,
				   .max_file_records = 3 };
	struct audit_log *log = NULL, *log2 = NULL;
	struct audit_record r = krec(1, SAFELOCK_EVENT_BOLT);
	struct audit_report rep;
	char err[256] = "";
	int ret;

	ret = audit_open(&log, &o, err, sizeof(err));
	tap_ok(ret == -EINVAL && !log && strstr(err, "max_file_records"),
	       "open: max_file_records 3 refused: %s", err);
	o.max_file_records = 0;
	o.key = NULL;
	tap_ok(audit_open(&log, &o, err, sizeof(err)) == -EINVAL && !log,
	       "open: no key function refused: %s", err);
	o.key = soft_key;
	log = open_log(dir, 0, 0);
	ret = audit_open(&log2, &o, err, sizeof(err));
	tap_ok(log && ret == -EBUSY && !log2 && strstr(err, "another writer"),
	       "open: a second writer is refused (-EBUSY): %s", err);
	r.source = AUDIT_SRC_LOG;
	r.type = AUDIT_L_FILE_START;
	ret = log ? audit_append(log, &r) : -1;
	tap_ok(ret == -EINVAL && log && audit_records(log) == 1 && audit_lost(log) == 0,
	       "append: a caller's log record (FILE_START) refused, nothing written");
	audit_close(log);
	ret = audit_verify(newdir("nonexistent"), soft_key, NULL, NULL, &rep);
	tap_ok(ret == -ENOENT && !rep.ok && strstr(rep.what, "unable to open"),
	       "verify: a missing directory is -ENOENT: %s", rep.what);
}

static void test_keys(void)
{
	const char *dir = make_log("keys", 10);
	uint8_t other[32];
	struct audit_report rep;
	int ret;

	ret = audit_verify(dir, failing_key, NULL, NULL, &rep);
	tap_ok(ret == -EIO && !rep.ok && strstr(rep.what, "unable to get the key"),
	       "verify: a failing key function is an error, not a verdict: %s",
	       rep.what);
	getrandom(other, sizeof(other), 0);
	ret = audit_verify(dir, soft_key, other, NULL, &rep);
	tap_ok(ret == 0 && !rep.ok && rep.first_bad == 0 &&
	       strstr(rep.what, "HMAC mismatch"),
	       "verify: another vault's key fails at record 0: %s", rep.what);
}

static void test_rotation(void)
{
	const char *dir = newdir("rot");
	struct audit_log *log = open_log(dir, 16, 3);
	struct audit_report rep;
	struct collect c;
	struct stat st;
	bool ok = log && fill(log, 1, 100, SAFELOCK_EVENT_STATE);
	uint64_t total = log ? audit_records(log) : 0;
	unsigned int no, files = 0, newest = 0;
	size_t i;

	audit_close(log);
	for (no = 1; no < 20; no++)
		if (!stat(fpath(dir, no), &st)) {
			files++;
			newest = no;
		}
	ok = ok && files == 3 && stat(fpath(dir, newest - 3), &st) &&
	     file_records(fpath(dir, newest - 1)) == 16;
	ok = ok && read_all(dir, &c) && c.n > 0 && c.r[0].index > 0 &&
	     c.r[c.n - 1].index == total - 1 &&
	     is_log(&c.r[15], AUDIT_L_FILE_END) && c.r[15].value == newest - 1 &&
	     is_log(&c.r[16], AUDIT_L_FILE_START);
	for (i = 1; ok && i < c.n; i++)
		ok = c.r[i].index == c.r[i - 1].index + 1;
	tap_ok(ok, "rotation: 100 records in files of 16, 3 kept, each closed by a FILE_END");
	tap_ok(verify_as(dir, NULL, &rep) && rep.ok && rep.files == 3 &&
	       rep.records == c.n && strstr(rep.what, "rotated away"),
	       "rotation: the kept files verify, the rotated records are reported");
	free(c.r);
}

static void test_edit(void)
{
	const char *dir = make_log("edit", 30);

	tap_ok(t_flip(fpath(dir, 1), 20, OFF_USER) &&
	       detects(dir, NULL, 20, "edited", "audit-000001.log"),
	       "edit: a changed user id in record 20 is found and named");
}

static void test_delete(void)
{
	const char *dir = make_log("del", 30);
	const char *dir2 = make_log("del2", 30);

	tap_ok(t_delete(fpath(dir, 1), 20) &&
	       detects(dir, NULL, 20, "deleted", "audit-000001.log"),
	       "delete: a removed record 20 is found and named");
	tap_ok(t_delete(fpath(dir2, 1), 12) && t_delete(fpath(dir2, 1), 12) &&
	       t_delete(fpath(dir2, 1), 12) &&
	       detects(dir2, NULL, 12, "records 12 to 14 missing", NULL),
	       "delete: three removed records 12..14 are found and named");
}

static void test_reorder(void)
{
	const char *dir = make_log("reorder", 30);
	const char *dir2 = make_log("reorder2", 30);

	tap_ok(t_swap(fpath(dir, 1), 20, 21) &&
	       detects(dir, NULL, 20, "reordered", "audit-000001.log"),
	       "reorder: records 20 and 21 swapped are found");
	tap_ok(t_swap(fpath(dir2, 1), 5, 25) &&
	       detects(dir2, NULL, 5, "reordered", NULL),
	       "reorder: records 5 and 25 swapped are found");
}

static void test_insert(void)
{
	const char *dir = make_log("insert", 30);
	const char *dir2 = make_log("insert2", 30);
	uint8_t rec[REC];
	bool ok;

	/* A forged record: a real one with new content, its HMAC unchanged. */
	ok = t_record(fpath(dir, 1), 10, rec);
	rec[OFF_USER] ^= 0x40;
	tap_ok(ok && t_insert(fpath(dir, 1), 20, rec) &&
	       detects(dir, NULL, 20, "inserted", "audit-000001.log"),
	       "insert: a forged record before record 20 is found");
	/* A replayed copy of a genuine record. */
	tap_ok(t_record(fpath(dir2, 1), 5, rec) && t_insert(fpath(dir2, 1), 20, rec) &&
	       detects(dir2, NULL, 20, "copy of record 5", NULL),
	       "insert: a copy of record 5 after record 19 is found");
}

static void test_truncate(void)
{
	const char *dir = newdir("trunc");
	const char *dir2 = newdir("trunc2");
	struct audit_log *log = open_log(dir, 0, 0);
	struct audit_anchor a = { 0 };
	struct audit_report rep;
	bool ok;

	ok = log && fill(log, 1, 30, SAFELOCK_EVENT_BOLT);
	if (log)
		audit_anchor_get(log, &a);
	audit_close(log);
	ok = ok && a.records == 31 && verify_as(dir, &a, &rep) && rep.ok;
	tap_ok(ok, "truncate: the log verifies against its anchor (31 records)");
	ok = t_truncate_records(fpath(dir, 1), 28) && verify_as(dir, NULL, &rep) &&
	     rep.ok && detects(dir, &a, 28, "truncated", "audit-000001.log");
	tap_ok(ok, "truncate: 3 records cut: fine without the anchor, found with it");

	/* Another log of the same length: the anchor's hash differs. */
	log = open_log(dir2, 0, 0);
	ok = log && fill(log, 1, 30, SAFELOCK_EVENT_BOLT);
	audit_close(log);
	tap_ok(ok && detects(dir2, &a, 30, "rewritten", NULL),
	       "truncate: a rewritten log of the same length fails the anchor");
}

static void test_file_deleted(void)
{
	const char *dir = newdir("fdel");
	const char *dir2 = newdir("fdel2");
	const char *dir3 = newdir("fdel3");
	struct audit_log *log;
	struct collect c = { 0 };
	bool ok;
	uint64_t first3 = 0;

	log = open_log(dir, 8, 8);
	ok = log && fill(log, 1, 30, SAFELOCK_EVENT_BOLT);
	audit_close(log);
	ok = ok && file_records(fpath(dir, 5)) > 0 && read_all(dir, &c) && c.n > 17;
	if (ok)
		first3 = c.r[16].index;	/* file 3 begins at record 16 */
	free(c.r);
	ok = ok && !unlink(fpath(dir, 3)) &&
	     detects(dir, NULL, first3, "audit-000003.log", "deleted");
	tap_ok(ok, "file deleted from the middle: found, the missing file named");

	log = open_log(dir2, 8, 8);
	ok = log && fill(log, 1, 30, SAFELOCK_EVENT_BOLT);
	audit_close(log);
	ok = ok && !unlink(fpath(dir2, 1)) && !unlink(fpath(dir2, 2)) &&
	     detects(dir2, NULL, 16, "deleted, the writer kept them", NULL);
	tap_ok(ok, "oldest files deleted before rotation would have: found");

	log = open_log(dir3, 8, 8);
	ok = log && fill(log, 1, 30, SAFELOCK_EVENT_BOLT);
	audit_close(log);
	ok = ok && !unlink(fpath(dir3, 5)) &&
	     detects(dir3, NULL, 32, "truncated", "audit-000005.log");
	tap_ok(ok, "newest file deleted: the FILE_END naming it shows the truncation");
}

static void test_kseq_gap(void)
{
	const char *dir = newdir("gap");
	struct audit_log *log = open_log(dir, 0, 0);
	struct audit_report rep;
	bool ok;

	ok = log && fill(log, 1, 10, SAFELOCK_EVENT_STATE) &&
	     fill(log, 15, 6, SAFELOCK_EVENT_STATE) &&
	     fill(log, 30, 1, SAFELOCK_EVENT_STATE) &&
	     fill(log, 1, 5, SAFELOCK_EVENT_STATE);	/* module reloaded */
	audit_close(log);
	tap_ok(ok && verify_as(dir, NULL, &rep) && rep.ok && rep.kseq_gaps == 4 + 9 &&
	       strstr(rep.what, "13 kernel events missing in 2 sequence gaps"),
	       "kernel sequence gaps (11-14, 21-29) reported, not an error; a restart is no gap");
}

/* A kernel record of lock @dev as safelockd writes it (auditlog.c on_event) */
static struct audit_record lrec(uint32_t dev, uint64_t kseq)
{
	struct audit_record r = {
		.kseq = kseq, .mono_ns = kseq * 1000000 + 17,
		.source = AUDIT_SRC_KERNEL, .type = SAFELOCK_EVENT_STATE,
		.state = SAFELOCK_STATE_LOCKED,
	};

	snprintf(r.text, sizeof(r.text), "lock %u request 0", dev);
	return r;
}

static bool append_lrec(struct audit_log *log, uint32_t dev, uint64_t from,
			uint64_t to)
{
	uint64_t s;

	for (s = from; s <= to; s++) {
		struct audit_record r = lrec(dev, s);

		if (audit_append(log, &r))
			return false;
	}
	return true;
}

/* Verify: per lock, a gap explained by the record before it is explained. */
static void test_kseq_explained(void)
{
	const char *dir = newdir("explained"), *dir2 = newdir("twolocks");
	struct audit_log *log = open_log(dir, 0, 0);
	struct audit_record lost = {
		.source = AUDIT_SRC_VAULT, .type = AUDIT_V_EVENTS_LOST, .kseq = 14,
		.value = 0, .text = "lock 0 instance 00000000-27: events 11..14 emitted while safelockd was not running",
	};
	struct audit_record restart = {
		.source = AUDIT_SRC_VAULT, .type = AUDIT_V_EVENTS_RESTART, .kseq = 3,
		.value = 0, .text = "lock 0 instance 00000000-28: new instance, numbering restarted; was at 16, now 3",
	};
	struct audit_report rep;
	bool ok;

	ok = log && append_lrec(log, 0, 1, 10) && !audit_append(log, &lost) &&
	     append_lrec(log, 0, 15, 16) && !audit_append(log, &restart) &&
	     append_lrec(log, 0, 4, 6);
	tap_ok(ok && verify_as(dir, NULL, &rep) && rep.ok && rep.kseq_gaps == 0 &&
	       rep.kseq_explained == 4 + 3 && !strstr(rep.what, "sequence gaps"),
	       "events-lost 11..14 and a restart at 3: every gap explained, none unexplained");
	ok = ok && append_lrec(log, 0, 9, 9);
	audit_close(log);
	tap_ok(ok && verify_as(dir, NULL, &rep) && rep.ok && rep.kseq_gaps == 2 &&
	       rep.kseq_explained == 7 &&
	       strstr(rep.what, "2 kernel events missing in 1 sequence gaps"),
	       "a gap (7..8) after them that no record explains is still reported");

	/* two locks, each numbered from 1, interleaved: no false gap */
	log = open_log(dir2, 0, 0);
	ok = log && append_lrec(log, 0, 1, 3) && append_lrec(log, 1, 1, 1) &&
	     append_lrec(log, 0, 4, 5) && append_lrec(log, 1, 2, 4) &&
	     append_lrec(log, 1, 7, 7);
	audit_close(log);
	tap_ok(ok && verify_as(dir2, NULL, &rep) && rep.ok && rep.kseq_gaps == 2,
	       "two locks' numbers interleaved: counted per lock (only lock 1's 5..6 missing)");
}

/* The daemon's side: auditlog.c with the fake vault's keys */
static struct vault fv_vault;
static struct fake_vault fv;

static struct auditlog *al_open(const char *dir)
{
	struct auditlog *al = NULL;
	char err[256];

	if (auditlog_open(&al, &fv_vault, dir, false, err, sizeof(err)))
		tap_diag("auditlog_open %s: %s", dir, err);
	else
		auditlog_vault(al, AUDIT_V_START, 0, 0, 0, "safelockd started");
	return al;
}

static void al_events(struct auditlog *al, uint32_t dev, uint64_t from, uint64_t to)
{
	uint64_t s;

	for (s = from; s <= to; s++) {
		struct audit_record r = lrec(dev, s);

		auditlog_event(al, dev, &r);
	}
}

/* safelockd's verify, and the library's with the fake key for the counts */
static bool al_verify(struct auditlog *al, const char *dir, struct audit_report *rep,
		      char *what, size_t len)
{
	struct safelock_admin_audit out;

	if (auditlog_verify(al, &out, what, len))
		return false;
	tap_diag("safelockd verify: %s", what);
	return out.ok && audit_verify(dir, (audit_key_fn)fake_vault_ops.audit_key,
				      &fv_vault, NULL, rep) == 0 && rep->ok;
}

/* The log's records of kind events-lost/events-restart, and where */
static size_t find_kind(const struct collect *c, uint32_t type, size_t from)
{
	size_t i;

	for (i = from; i < c->n; i++)
		if (c->r[i].source == AUDIT_SRC_VAULT && c->r[i].type == type)
			return i;
	return SIZE_MAX;
}

static size_t find_kseq(const struct collect *c, uint64_t kseq)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->r[i].source == AUDIT_SRC_KERNEL && c->r[i].kseq == kseq)
			return i;
	return SIZE_MAX;
}

/*
 * Anchors in TPM NV: a keypad flood (entries begun and cancelled, state
 * changes: 10,000 entries, 40,000 records) makes none due by its number,
 * so a stranger's key presses cannot wear the TPM's NV; 64 records that
 * matter (denied verdicts) make one.
 */
static void test_anchor_noise(void)
{
	static const struct { uint32_t type, result; } entry[] = {
		{ SAFELOCK_EVENT_ENTRY_STARTED, 0 },
		{ SAFELOCK_EVENT_STATE, 0 },
		{ SAFELOCK_EVENT_ATTEMPT, SAFELOCK_RESULT_CANCELLED },
		{ SAFELOCK_EVENT_STATE, 0 },
	};
	const char *dir = newdir("anchor-noise");
	struct auditlog *al = al_open(dir);
	unsigned int before, i, k;
	uint64_t seq = 1;

	before = fv.audit_anchors;
	for (i = 0; al && i < 10000; i++)
		for (k = 0; k < 4; k++) {
			struct audit_record r = lrec(0, seq++);

			r.type = entry[k].type;
			r.result = entry[k].result;
			auditlog_event(al, 0, &r);
		}
	tap_ok(al && fv.audit_anchors == before,
	       "a keypad flood of 10,000 abandoned entries (40,000 records): %u anchors written to NV",
	       fv.audit_anchors - before);
	before = fv.audit_anchors;
	for (i = 0; al && i < 64; i++) {
		struct audit_record r = lrec(0, seq++);

		r.type = SAFELOCK_EVENT_ATTEMPT;
		r.result = SAFELOCK_RESULT_DENIED;
		auditlog_event(al, 0, &r);
	}
	tap_ok(al && fv.audit_anchors == before + 1,
	       "64 verdicts: one anchor (%u)", fv.audit_anchors - before);
	auditlog_close(al);
}

/*
 * A log that followed lock 0 (family 27) up to seq 10, then safelockd
 * stopped; returns the directory.
 */
static const char *followed_to_10(const char *name)
{
	const char *dir = newdir(name);
	struct auditlog *al = al_open(dir);

	auditlog_follow(al, 27, 0, 0);
	auditlog_follow_end(al);
	al_events(al, 0, 1, 10);
	auditlog_close(al);
	return dir;
}

static void test_follow(void)
{
	const char *dir = followed_to_10("follow-lost");
	const char *dir2 = followed_to_10("follow-reload");
	const char *dir3 = followed_to_10("follow-queued");
	const char *dir4 = followed_to_10("follow-family");
	struct audit_report rep;
	struct collect c;
	struct auditlog *al;
	char what[256];
	size_t l, k;
	bool ok;

	/* restarted: the kernel is at 14, the log at 10 */
	al = al_open(dir);
	auditlog_follow(al, 27, 0, 14);
	auditlog_follow_end(al);
	al_events(al, 0, 15, 16);
	ok = al_verify(al, dir, &rep, what, sizeof(what));
	auditlog_close(al);
	ok = ok && read_all(dir, &c);
	l = ok ? find_kind(&c, AUDIT_V_EVENTS_LOST, 0) : SIZE_MAX;
	k = ok ? find_kseq(&c, 15) : SIZE_MAX;
	tap_ok(ok && l != SIZE_MAX && k != SIZE_MAX && l < k && c.r[l].kseq == 14 &&
	       c.r[l].value == 0 && strstr(c.r[l].text, "events 11..14 ") &&
	       strstr(c.r[l].text, "safelockd was not running") &&
	       find_kind(&c, AUDIT_V_EVENTS_LOST, l + 1) == SIZE_MAX,
	       "restart with the kernel at 14, the log at 10: one events-lost 11..14 before event 15");
	tap_ok(ok && rep.kseq_gaps == 0 && rep.kseq_explained == 4 &&
	       strstr(what, "4 kernel events are missing, every gap explained"),
	       "audit verify: the 4 missing events are explained");
	free(c.r);

	/* restarted after a module reload: the kernel is at 3 */
	al = al_open(dir2);
	auditlog_follow(al, 27, 0, 3);
	auditlog_follow_end(al);
	al_events(al, 0, 4, 5);
	ok = al_verify(al, dir2, &rep, what, sizeof(what));
	auditlog_close(al);
	ok = ok && read_all(dir2, &c);
	l = ok ? find_kind(&c, AUDIT_V_EVENTS_RESTART, find_kind(&c, AUDIT_V_EVENTS_RESTART, 0) + 1) : SIZE_MAX;
	tap_ok(ok && l != SIZE_MAX && l + 1 < c.n && c.r[l + 1].kseq == 4 && c.r[l].kseq == 3 &&
	       strstr(c.r[l].text, "numbering restarted") &&
	       find_kind(&c, AUDIT_V_EVENTS_LOST, 0) == SIZE_MAX && rep.kseq_gaps == 0 &&
	       !strstr(what, "no record explains"),
	       "the kernel at 3 (a reload): an events-restart record, no events-lost, no unexplained gap");
	free(c.r);

	/* events 13 and 14 were queued between the subscription and the dump */
	al = al_open(dir3);
	auditlog_follow(al, 27, 0, 14);
	al_events(al, 0, 13, 14);
	auditlog_follow_end(al);
	al_events(al, 0, 15, 15);
	ok = al_verify(al, dir3, &rep, what, sizeof(what));
	auditlog_close(al);
	ok = ok && read_all(dir3, &c);
	l = ok ? find_kind(&c, AUDIT_V_EVENTS_LOST, 0) : SIZE_MAX;
	tap_ok(ok && l != SIZE_MAX && l + 1 < c.n && c.r[l + 1].kseq == 13 && c.r[l].kseq == 12 &&
	       strstr(c.r[l].text, "events 11..12 ") &&
	       find_kind(&c, AUDIT_V_EVENTS_LOST, l + 1) == SIZE_MAX &&
	       rep.kseq_gaps == 0 && rep.kseq_explained == 2,
	       "events already queued when followed: events-lost says exactly 11..12");
	free(c.r);

	/* a reload while safelockd was down whose new numbers passed the old */
	al = al_open(dir4);
	auditlog_follow(al, 28, 0, 14);
	auditlog_follow_end(al);
	al_events(al, 0, 15, 15);
	ok = al_verify(al, dir4, &rep, what, sizeof(what));
	ok = ok && read_all(dir4, &c);
	l = ok ? find_kind(&c, AUDIT_V_EVENTS_RESTART, find_kind(&c, AUDIT_V_EVENTS_RESTART, 0) + 1) : SIZE_MAX;
	tap_ok(ok && l != SIZE_MAX && c.r[l].kseq == 14 &&
	       find_kind(&c, AUDIT_V_EVENTS_LOST, 0) == SIZE_MAX && rep.kseq_gaps == 0,
	       "another module instance (family 28) at 14: events-restart, not 11..14 lost");
	free(c.r);

	/*
	 * A flood while followed: the socket overflowed once (the kernel
	 * says so once per episode) and the numbers jump several times.
	 * Each jump gets its own range before the event that shows it.
	 */
	auditlog_vault(al, AUDIT_V_EVENTS_LOST, 0, 0, 0,
		       "kernel events lost after seq 15: receive queue full");
	al_events(al, 0, 19, 19);
	al_events(al, 0, 25, 26);
	al_events(al, 0, 40, 40);
	ok = al_verify(al, dir4, &rep, what, sizeof(what));
	auditlog_close(al);
	ok = ok && read_all(dir4, &c);
	l = ok ? find_kind(&c, AUDIT_V_EVENTS_LOST, 0) : SIZE_MAX;	/* the overflow */
	l = l != SIZE_MAX ? find_kind(&c, AUDIT_V_EVENTS_LOST, l + 1) : SIZE_MAX;
	k = l != SIZE_MAX ? find_kind(&c, AUDIT_V_EVENTS_LOST, l + 1) : SIZE_MAX;
	tap_ok(ok && l != SIZE_MAX && k != SIZE_MAX && l + 1 < c.n && k + 1 < c.n &&
	       strstr(c.r[l].text, "events 16..18 ") && c.r[l + 1].kseq == 19 &&
	       strstr(c.r[k].text, "events 20..24 ") && c.r[k + 1].kseq == 25 &&
	       strstr(c.r[k].text, "overflowed") &&
	       find_kind(&c, AUDIT_V_EVENTS_LOST, k + 1) != SIZE_MAX &&
	       rep.kseq_gaps == 0 && rep.kseq_explained == 14 + 3 + 5 + 13,
	       "a flood's jumps while followed (16..18, 20..24, 27..39): one events-lost each, all explained");
	free(c.r);
}

static void test_torn(void)
{
	const char *dir = make_log("torn", 10);
	const char *dir2 = make_log("torn2", 10);
	struct audit_report rep;
	struct audit_log *log;
	struct collect c = { 0 };
	uint8_t rec[REC];
	bool ok;

	/* The first 100 bytes of a record reached the disk. */
	ok = t_record(fpath(dir, 1), 10, rec) && t_append_bytes(fpath(dir, 1), rec, 100);
	ok = ok && verify_as(dir, NULL, &rep) && rep.ok && strstr(rep.what, "torn write (100 bytes)");
	tap_ok(ok, "torn tail: verify reports it as a power cut, not tampering");
	log = open_log(dir, 0, 0);
	ok = log && fill(log, 11, 1, SAFELOCK_EVENT_BOLT);
	audit_close(log);
	ok = ok && file_records(fpath(dir, 1)) == 13 && read_all(dir, &c) && c.n == 13 &&
	     is_log(&c.r[11], AUDIT_L_LOST) && c.r[11].value == 1 &&
	     strstr(c.r[11].text, "torn") && c.r[12].kseq == 11 &&
	     verify_as(dir, NULL, &rep) && rep.ok && strstr(rep.what, "1 record lost");
	free(c.r);
	tap_ok(ok, "torn tail: open cuts it, a LOST record says so, the log verifies");

	/* The file grew by a record but its data never came: zeros. */
	memset(rec, 0, sizeof(rec));
	ok = t_append_bytes(fpath(dir2, 1), rec, REC);
	log = open_log(dir2, 0, 0);
	audit_close(log);
	ok = ok && log && read_all(dir2, &c) && c.n == 12 && is_log(&c.r[11], AUDIT_L_LOST) &&
	     verify_as(dir2, NULL, &rep) && rep.ok;
	free(c.r);
	tap_ok(ok, "torn tail of zeros: cut and recorded too");
}

static void test_broken_head(void)
{
	const char *dir = make_log("head", 10);
	struct audit_options o = { .dir = dir, .key = soft_key };
	struct audit_log *log = NULL;
	struct collect c = { 0 };
	char err[256] = "";
	bool ok;

	ok = t_flip(fpath(dir, 1), 10, OFF_USER) &&
	     audit_open(&log, &o, err, sizeof(err)) == 0 && log &&
	     strstr(err, "kept as it is");
	if (log)
		fill(log, 11, 1, SAFELOCK_EVENT_BOLT);
	audit_close(log);
	ok = ok && file_records(fpath(dir, 1)) == 11 && read_all(dir, &c) &&
	     c.n == 13 && strstr(c.r[11].text, "after-unverified") &&
	     detects(dir, NULL, 10, "edited", "audit-000001.log");
	free(c.r);
	tap_ok(ok, "broken head: kept as it is, a new file says so, verify names the edit: %s",
	       err);
}

/*
 * A small tmpfs in a private mount namespace (a user namespace too if not
 * root), so the disk can really fill up.
 */
static int small_fs(const char *mnt, char *why, size_t len)
{
	if (unshare(CLONE_NEWNS) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];
		int fd;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
			snprintf(why, len, "no mount namespace: %s", strerror(errno));
			return -1;
		}
		fd = open("/proc/self/setgroups", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "deny", 4) < 0)
				tap_diag("setgroups: %s", strerror(errno));
			close(fd);
		}
		snprintf(map, sizeof(map), "0 %u 1", uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0) {
			snprintf(why, len, "uid_map: %s", strerror(errno));
			return -1;
		}
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", gid);
		fd = open("/proc/self/gid_map", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, map, strlen(map)) < 0)
				tap_diag("gid_map: %s", strerror(errno));
			close(fd);
		}
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mkdir(mnt, 0700) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		snprintf(why, len, "cannot mount a tmpfs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void test_disk_full(void)
{
	char mnt[128], dir[160], filler[160], why[128], buf[4096];
	struct audit_log *log;
	struct audit_report rep;
	struct collect c = { 0 };
	int fd, ret = 0, i, fails = 0;
	bool ok;

	snprintf(mnt, sizeof(mnt), "%s/small", top);
	if (small_fs(mnt, why, sizeof(why)) < 0) {
		tap_skip("disk full: -ENOSPC, counted, LOST record after", why);
		tap_skip("disk full: no partial record left behind", why);
		tap_skip("disk full at rotation: the old file stays open-ended until the new one exists",
			 why);
		tap_skip("disk full under safelockd's log: STATUS counts each record lost once", why);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/log", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	log = open_log(dir, 0, 0);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	memset(buf, 'x', sizeof(buf));
	while (fd >= 0 && write(fd, buf, sizeof(buf)) > 0)
		;
	if (fd >= 0)
		close(fd);
	/* The log's last page fills, then nothing fits. */
	for (i = 0; log && i < 100 && fails < 5; i++) {
		struct audit_record r = krec(i + 1, SAFELOCK_EVENT_BOLT);

		ret = audit_append(log, &r);
		if (ret == -ENOSPC)
			fails++;
		else if (ret)
			break;
	}
	ok = log && fails == 5 && audit_lost(log) == 5 &&
	     file_records(fpath(dir, 1)) == audit_records(log);
	tap_diag("disk full after %d records", i - fails);
	tap_ok(ok && file_size(fpath(dir, 1)) % REC == 0,
	       "disk full: no partial record left behind");
	unlink(filler);
	ret = 0;
	if (log) {
		struct audit_record r = krec(i + 1, SAFELOCK_EVENT_DOOR);

		ret = audit_append(log, &r);
	}
	audit_close(log);
	ok = ok && ret == 0 && read_all(dir, &c) && c.n >= 3 &&
	     is_log(&c.r[c.n - 2], AUDIT_L_LOST) && c.r[c.n - 2].value == 5 &&
	     c.r[c.n - 1].kseq == (uint64_t)i + 1 &&
	     verify_as(dir, NULL, &rep) && rep.ok && strstr(rep.what, "5 records lost");
	free(c.r);
	tap_ok(ok, "disk full: -ENOSPC, 5 counted as lost, a LOST record (5) before the next");

	/* Full when the next file is due: the log must not look truncated. */
	snprintf(dir, sizeof(dir), "%s/log2", mnt);
	log = open_log(dir, 8, 8);
	ok = log && fill(log, 1, 3, SAFELOCK_EVENT_BOLT);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	while (fd >= 0 && write(fd, buf, sizeof(buf)) > 0)
		;
	if (fd >= 0)
		close(fd);
	for (i = 0, ret = 0; ok && i < 10 && !ret; i++) {
		struct audit_record r = krec(4 + i, SAFELOCK_EVENT_BOLT);

		ret = audit_append(log, &r);
	}
	ok = ok && ret == -ENOSPC && file_records(fpath(dir, 1)) == 7 &&
	     verify_as(dir, NULL, &rep) && rep.ok && read_all(dir, &c) &&
	     c.n == 7 && !is_log(&c.r[6], AUDIT_L_FILE_END);
	free(c.r);
	unlink(filler);
	if (log) {
		struct audit_record r = krec(100, SAFELOCK_EVENT_DOOR);

		ret = audit_append(log, &r);
	}
	audit_close(log);
	ok = ok && ret == 0 && read_all(dir, &c) && c.n == 11 &&
	     is_log(&c.r[7], AUDIT_L_FILE_END) && is_log(&c.r[8], AUDIT_L_FILE_START) &&
	     is_log(&c.r[9], AUDIT_L_LOST) && verify_as(dir, NULL, &rep) && rep.ok;
	free(c.r);
	tap_ok(ok, "disk full at rotation: the old file stays open-ended until the new one exists");

	/*
	 * safelockd's side (auditlog.c), as a write error on the file it
	 * holds open reaches it (a disk full here; a file system gone
	 * read-only under it is the same path): STATUS's audit_lost counts
	 * each record not written once, as many as the LOST record says.
	 */
	snprintf(dir, sizeof(dir), "%s/log3", mnt);
	{
		struct auditlog *al = al_open(dir);
		uint64_t recs, lost = 0, lost2 = 0, said = 0, kept = 0;
		size_t k;

		fd = open(filler, O_WRONLY | O_CREAT, 0600);
		while (fd >= 0 && write(fd, buf, sizeof(buf)) > 0)
			;
		if (fd >= 0)
			close(fd);
		for (i = 0; al && i < 64; i++)
			auditlog_vault(al, AUDIT_V_VERDICT, 1, 0, 0, "filling");
		if (al)
			auditlog_counts(al, &recs, &lost);
		unlink(filler);
		if (al) {
			auditlog_vault(al, AUDIT_V_VERDICT, 1, 0, 0, "room again");
			auditlog_counts(al, &recs, &lost2);
		}
		auditlog_close(al);	/* and its "stopping" record */
		ok = al && read_all(dir, &c);
		for (k = 0; ok && k < c.n; k++) {
			said += is_log(&c.r[k], AUDIT_L_LOST) ? c.r[k].value : 0;
			kept += c.r[k].source == AUDIT_SRC_VAULT;
		}
		free(c.r);
		tap_ok(ok && lost > 0 && lost2 == lost && said == lost &&
		       kept + lost == 1 + 64 + 1 + 1,
		       "disk full under safelockd's log: STATUS counts each of the %llu records lost once, the LOST record says %llu",
		       (unsigned long long)lost, (unsigned long long)said);
	}
	umount2(mnt, MNT_DETACH);
}

static void test_10000(void)
{
	const char *dir = newdir("big");
	static const uint32_t mix[] = {
		SAFELOCK_EVENT_ENTRY_STARTED, SAFELOCK_EVENT_STATE,
		SAFELOCK_EVENT_ATTEMPT, SAFELOCK_EVENT_STATE, SAFELOCK_EVENT_STATE,
	};
	struct audit_log *log = open_log(dir, 0, 0);
	struct audit_report rep;
	struct collect c = { 0 };
	double t0, t1, t2;
	bool ok = log != NULL;
	uint64_t total = 0;
	unsigned int i;

	t0 = now_s();
	for (i = 0; ok && i < 10000; i++) {
		struct audit_record r = krec(i + 1, mix[i % 5]);

		ok = audit_append(log, &r) == 0;
	}
	t1 = now_s();
	if (log)
		total = audit_records(log);
	audit_close(log);
	ok = ok && verify_as(dir, NULL, &rep) && rep.ok && rep.records == total &&
	     total == 10000 + 5 + 4;
	t2 = now_s();
	tap_diag("10000 appends (1 in 5 synced) in %.2f s: %.0f records/s; verify of %llu records: %.3f s",
		 t1 - t0, 10000 / (t1 - t0), (unsigned long long)rep.records, t2 - t1);
	tap_ok(ok, "10000 records appended and verified");

	/* Defaults keep at least 10,000 events when much more was written. */
	log = open_log(dir, 0, 0);
	for (i = 0; ok && i < 10000; i++) {
		struct audit_record r = krec(10001 + i, SAFELOCK_EVENT_STATE);

		ok = audit_append(log, &r) == 0;
	}
	audit_close(log);
	ok = ok && read_all(dir, &c) && c.n >= 10000 && c.r[0].index > 0 &&
	     verify_as(dir, NULL, &rep) && rep.ok && rep.files == 8;
	tap_diag("after 20000 appends: %zu records kept in %u files", c.n, rep.files);
	free(c.r);
	tap_ok(ok, "default settings keep at least 10,000 records after rotation");
}

static void test_sync_rate(void)
{
	const char *dir = newdir("rate");
	struct audit_log *log = open_log(dir, 0, 0);
	double t0, t1, t2;
	bool ok;

	t0 = now_s();
	ok = log && fill(log, 1, 1000, SAFELOCK_EVENT_ATTEMPT);
	t1 = now_s();
	ok = ok && fill(log, 1001, 1000, SAFELOCK_EVENT_STATE);
	t2 = now_s();
	audit_close(log);
	tap_diag("each record synced: %.0f records/s; routine records (batched by 16): %.0f records/s",
		 1000 / (t1 - t0), 1000 / (t2 - t1));
	tap_ok(ok, "sync policy: 1000 synced and 1000 batched records appended");
}

static void test_json(void)
{
	struct audit_record r = {
		.index = 7, .kseq = 42, .mono_ns = 1500, .real_ns = 1764198499123456789LL,
		.source = AUDIT_SRC_KERNEL, .type = SAFELOCK_EVENT_ATTEMPT,
		.state = SAFELOCK_STATE_PENALTY, .result = SAFELOCK_RESULT_DENIED,
		.user_id = 3, .value = 5000,
		.text = "q\"b\\n\nt\tc\x01" "d\x7f" "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			"|\xff|\xc3|\xc0\xaf|\xed\xa0\x80|",
	};
	const char *want =
		"{\"index\":7,\"kseq\":42,\"mono_ns\":1500,\"real_ns\":1764198499123456789,"
		"\"time\":\"2025-11-26T23:08:19.123456789Z\",\"source\":\"kernel\","
		"\"event\":\"attempt\",\"state\":\"PENALTY\",\"result\":\"denied\","
		"\"user\":3,\"value\":5000,\"text\":\"q\\\"b\\\\n\\nt\\tc\\u0001d\\u007f"
		"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
		"|\\ufffd|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\"}";
	struct audit_record v = { .index = 1, .real_ns = -1500000000LL,
				  .source = AUDIT_SRC_VAULT, .type = AUDIT_V_POLICY_SET };
	char buf[1024], small[64];
	int n = audit_format_json(&r, buf, sizeof(buf));

	if (n < 0 || strcmp(buf, want)) {
		tap_diag("got  %s", buf);
		tap_diag("want %s", want);
	}
	tap_ok(n == (int)strlen(want) && !strcmp(buf, want),
	       "json: every field, ISO time, odd text escaped (quotes, controls, bad UTF-8)");
	n = audit_format_json(&v, buf, sizeof(buf));
	tap_ok(n > 0 && strstr(buf, "\"time\":\"1969-12-31T23:59:58.500000000Z\"") &&
	       strstr(buf, "\"source\":\"vault\",\"event\":\"policy-set\"") &&
	       audit_format_json(&r, small, sizeof(small)) == -1 && small[0] == '\0',
	       "json: vault names, a time before 1970, a short buffer gives -1 and \"\"");
}

static void test_names(void)
{
	bool ok = !strcmp(audit_source_name(AUDIT_SRC_KERNEL), "kernel") &&
		  !strcmp(audit_source_name(0), "unknown") &&
		  !strcmp(audit_event_name(AUDIT_SRC_KERNEL, SAFELOCK_EVENT_TAMPER), "tamper") &&
		  !strcmp(audit_event_name(AUDIT_SRC_VAULT, AUDIT_V_MAX), "unknown") &&
		  !strcmp(audit_event_name(AUDIT_SRC_LOG, AUDIT_L_LOST), "lost");
	const char *ids[64] = { 0 };
	unsigned int n = 0, i, j, s;
	static const uint32_t max[] = {
		[AUDIT_SRC_KERNEL] = SAFELOCK_EVENT_MAX, [AUDIT_SRC_VAULT] = AUDIT_V_MAX,
		[AUDIT_SRC_LOG] = AUDIT_L_MAX,
	};
	const char *unknown = journal_message_id(AUDIT_SRC_KERNEL, 0);

	for (s = AUDIT_SRC_KERNEL; s <= AUDIT_SRC_LOG; s++)
		for (i = 1; i < max[s] && n < 64; i++) {
			const char *id = journal_message_id(s, i);

			ok &= strcmp(audit_event_name(s, i), "unknown") != 0;
			ok &= strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
			ok &= strcmp(id, unknown) != 0;
			if (!strcmp(id, unknown))
				tap_diag("no MESSAGE_ID for %s event %s: add one to journal.c and the catalog",
					 audit_source_name(s), audit_event_name(s, i));
			ids[n++] = id;
		}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			ok &= strcmp(ids[i], ids[j]) != 0;
	tap_ok(ok, "every event of every source has a name and its own MESSAGE_ID (%u)", n);
}

/* Journal formats ---------------------------------------------------- */

struct jfield {
	char name[64];
	char value[512];
	size_t len;
	bool binary;
};

/*
 * Parse one entry of "NAME=value\n" / "NAME\n<le64><bytes>\n" fields from
 * @p (up to @end or, with @export, an empty line). Returns the fields'
 * count and advances *@p, or -1 if malformed.
 */
static int parse_fields(const char **pp, const char *end, bool export,
			struct jfield *f, int max)
{
	const char *p = *pp;
	int n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p), *eq;
		size_t nlen;

		if (export && *p == '\n') {
			p++;
			break;
		}
		if (!nl || n == max)
			return -1;
		eq = memchr(p, '=', nl - p);
		nlen = (eq ? eq : nl) - p;
		if (!nlen || nlen >= sizeof(f[n].name))
			return -1;
		memcpy(f[n].name, p, nlen);
		f[n].name[nlen] = '\0';
		if (eq) {
			f[n].len = nl - eq - 1;
			f[n].binary = false;
			if (f[n].len >= sizeof(f[n].value))
				return -1;
			memcpy(f[n].value, eq + 1, f[n].len);
			p = nl + 1;
		} else {
			uint64_t len = 0;
			int i;

			if (end - (nl + 1) < 8)
				return -1;
			for (i = 0; i < 8; i++)
				len |= (uint64_t)(unsigned char)nl[1 + i] << (8 * i);
			p = nl + 9;
			if (len >= sizeof(f[n].value) || (uint64_t)(end - p) < len + 1 ||
			    p[len] != '\n')
				return -1;
			memcpy(f[n].value, p, len);
			f[n].len = len;
			f[n].binary = true;
			p += len + 1;
		}
		f[n].value[f[n].len] = '\0';
		n++;
	}
	*pp = p;
	return n;
}

static const struct jfield *fget(const struct jfield *f, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

static bool fis(const struct jfield *f, int n, const char *name, const char *want)
{
	const struct jfield *x = fget(f, n, name);

	if (!x || x->len != strlen(want) || memcmp(x->value, want, x->len)) {
		tap_diag("field %s: got '%s', want '%s'", name, x ? x->value : "(none)", want);
		return false;
	}
	return true;
}

static bool fields_match(const struct jfield *f, int n, const struct audit_record *r)
{
	char v[64];
	const struct jfield *msg = fget(f, n, "MESSAGE");
	bool ok = msg && !msg->binary && !memchr(msg->value, '\n', msg->len);

	ok &= fis(f, n, "SYSLOG_IDENTIFIER", "safelockd");
	ok &= fis(f, n, "MESSAGE_ID", journal_message_id(r->source, r->type));
	ok &= fis(f, n, "SAFELOCK_SOURCE", audit_source_name(r->source));
	ok &= fis(f, n, "SAFELOCK_EVENT", audit_event_name(r->source, r->type));
	ok &= fis(f, n, "SAFELOCK_STATE", safelock_state_name(r->state));
	ok &= fis(f, n, "SAFELOCK_RESULT", safelock_result_name(r->result));
	snprintf(v, sizeof(v), "%llu", (unsigned long long)r->index);
	ok &= fis(f, n, "SAFELOCK_INDEX", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)r->kseq);
	ok &= fis(f, n, "SAFELOCK_SEQ", v);
	snprintf(v, sizeof(v), "%u", r->user_id);
	ok &= fis(f, n, "SAFELOCK_USER", v);
	snprintf(v, sizeof(v), "%u", r->value);
	ok &= fis(f, n, "SAFELOCK_VALUE", v);
	snprintf(v, sizeof(v), "%d", journal_priority(r));
	ok &= fis(f, n, "PRIORITY", v);
	if (r->text[0])
		ok &= fis(f, n, "SAFELOCK_TEXT", r->text);
	return ok;
}

static void test_native(void)
{
	struct audit_record r = krec(77, SAFELOCK_EVENT_ATTEMPT);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct journal_sink j;
	struct jfield f[32];
	const char *p = NULL;
	char buf[4096];
	int s, n = -1;
	ssize_t len = -1;
	double t0;
	bool ok;

	r.index = 9;
	snprintf(r.text, sizeof(r.text), "two\nlines");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/journal.sock", top);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ok = s >= 0 && !bind(s, (struct sockaddr *)&sun, sizeof(sun)) &&
	     journal_open(&j, sun.sun_path) == 0 && journal_send(&j, &r) == 0 &&
	     j.sent == 1;
	if (ok)
		len = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	if (len > 0) {
		p = buf;
		n = parse_fields(&p, buf + len, false, f, 32);
	}
	ok = ok && n > 0 && p == buf + len && fields_match(f, n, &r) &&
	     fget(f, n, "SAFELOCK_TEXT") && fget(f, n, "SAFELOCK_TEXT")->binary &&
	     fis(f, n, "MESSAGE",
		"attempt by user 0: denied (state LOCKED): two lines");
	journal_close(&j);
	if (s >= 0)
		close(s);
	tap_ok(ok, "journal native: one datagram, every field, the text with a newline length-prefixed");

	t0 = now_s();
	ok = journal_open(&j, newdir("no-journald.sock")) == 0 &&
	     journal_send(&j, &r) == -ENOENT && journal_send(&j, &r) == -ENOENT &&
	     j.dropped == 2 && j.sent == 0 && now_s() - t0 < 0.5;
	journal_close(&j);
	tap_ok(ok, "journal native: no journald: counted as dropped, nothing waits");
}

static void test_export(void)
{
	struct audit_record r[3] = {
		krec(5, SAFELOCK_EVENT_DOOR), krec(6, SAFELOCK_EVENT_TAMPER),
		{ .index = 3, .real_ns = 1764198499000001000LL, .source = AUDIT_SRC_VAULT,
		  .type = AUDIT_V_ADMIN_REFUSED, .user_id = 4,
		  .text = "bad\nrole \xff" },
	};
	char buf[3 * JOURNAL_ENTRY_MAX];
	struct jfield f[32];
	const char *p = buf;
	size_t used = 0;
	const struct jfield *x;
	bool ok = true;
	int i, n = 0;

	r[0].index = 1;
	r[0].real_ns = 1764198499123456789LL;
	r[1].index = 2;
	r[1].real_ns = 1764198500000000000LL;
	for (i = 0; i < 3 && ok; i++) {
		ssize_t len = journal_format_export(&r[i], buf + used, sizeof(buf) - used);

		ok = len > 0;
		used += ok ? (size_t)len : 0;
	}
	for (i = 0; i < 3 && ok; i++) {
		char ts[32];

		n = parse_fields(&p, buf + used, true, f, 32);
		snprintf(ts, sizeof(ts), "%lld", (long long)(r[i].real_ns / 1000));
		ok = n > 0 && !strcmp(f[0].name, "__REALTIME_TIMESTAMP") &&
		     fis(f, n, "__REALTIME_TIMESTAMP", ts) &&
		     fget(f, n, "__MONOTONIC_TIMESTAMP") && fields_match(f, n, &r[i]);
	}
	ok = ok && p == buf + used;
	x = fget(f, n, "SAFELOCK_TEXT");
	ok = ok && x && x->binary &&
	     journal_format_export(&r[0], buf, 100) == -ENOSPC;
	tap_ok(ok, "journal export format: 3 entries parsed back, fields and binary text intact");
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	tap_plan(NTESTS);
	snprintf(top, sizeof(top), "/tmp/safelock-audit-XXXXXX");
	if (!mkdtemp(top) || getrandom(master, sizeof(master), 0) != sizeof(master)) {
		tap_diag("no temporary directory or random key");
		return 1;
	}
	test_round_trip();
	test_bad_input();
	test_keys();
	test_rotation();
	test_edit();
	test_delete();
	test_reorder();
	test_insert();
	test_truncate();
	test_file_deleted();
	test_kseq_gap();
	test_kseq_explained();
	fake_vault_init(&fv_vault, &fv);
	test_follow();
	test_anchor_noise();
	test_torn();
	test_broken_head();
	test_json();
	test_names();
	test_native();
	test_export();
	test_10000();
	test_sync_rate();
	test_disk_full();
	rm_rf(top);
	return tap_exit();
}
