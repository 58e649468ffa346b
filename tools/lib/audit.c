// SPDX-License-Identifier: GPL-2.0
/*
 * The audit log: see audit.h for the contract and
 * Documentation/admin-guide/safelock-audit.rst for the file format, the
 * write and sync policy, and what verification can and cannot tell.
 *
 * A log is a directory of files audit-NNNNNN.log, numbered from 1. Each
 * file is a sequence of fixed-size records (layout below); its first record
 * is a FILE_START that carries the file's random id (text "id=...") and, in
 * its prev field, the chain hash of the record before it in the previous
 * file; a rotated file's last record is a FILE_END naming the next file.
 * Every record is written with one write() to a file opened O_APPEND, so
 * the only damage a power cut can do is a torn or zero-filled tail, which
 * audit_open() cuts and records.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "audit.h"
#include "audit_names.h"
#include "libsafelock.h"

/*
 * Record layout, version 1; integers little-endian whatever the CPU:
 *
 *   0  "SLAR"             4  u16 version (1)     6  u16 record size (224)
 *   8  u64 index         16  u64 kseq           24  u64 mono_ns
 *  32  s64 real_ns       40  u32 source         44  u32 type
 *  48  u32 state         52  u32 result         56  u32 user_id
 *  60  u32 value         64  text[96], NUL-padded (at most 95 characters)
 * 160  prev[32]: chain hash of the record before (zeros for the first)
 * 192  hmac[32]: HMAC-SHA-256 of bytes 0..191 with the file's key
 *
 * The chain hash of a record is SHA-256 of its bytes 0..191: its fields
 * and the previous record's chain hash.
 */
#define REC_MAGIC	"SLAR"
#define REC_VERSION	1
#define REC_SIZE	224
#define OFF_TEXT	64
#define OFF_PREV	160
#define OFF_MAC		192
#define HASH_SIZE	32
#define ID_SIZE		16

#define DEFAULT_FILE_RECORDS	2048
#define DEFAULT_FILES		8
#define MIN_FILE_RECORDS	4
#define FILE_NO_MAX		99999999u
/* Routine records (see needs_sync()) wait for at most this many others. */
#define SYNC_BATCH		16
/* Readers refuse files bigger than a writer can make with any sane option. */
#define FILE_BYTES_MAX		(256u << 20)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct audit_log {
	int dirfd;			/* the directory, flock()ed: one writer */
	int fd;				/* head file (O_APPEND), -1: a new file is due */
	unsigned int file_no;		/* number of the head file, 0: none yet */
	unsigned int oldest;		/* oldest file kept, 0: none yet */
	uint64_t file_records;		/* whole records in the head file */
	uint64_t max_file_records;
	unsigned int max_files;
	audit_key_fn keyfn;
	void *key_ctx;
	uint8_t key[HASH_SIZE];		/* the head file's key */
	uint64_t next_index;
	uint8_t chain[HASH_SIZE];	/* chain hash of the last record written */
	uint64_t synced_records;	/* the anchor: what is on stable storage */
	uint8_t synced_chain[HASH_SIZE];
	unsigned int unsynced;
	bool cut_pending;		/* a partial write is still to be cut */
	uint64_t lost;
	uint64_t pending_lost;		/* to report in the next LOST record */
	char pending_text[AUDIT_TEXT_SIZE];
	char start_note[18];		/* appended to the next FILE_START text */
};

/* Names -------------------------------------------------------------- */

static const char *const source_names[] = {
	[AUDIT_SRC_KERNEL]	= "kernel",
	[AUDIT_SRC_VAULT]	= "vault",
	[AUDIT_SRC_LOG]		= "log",
};

static const char *const vault_names[] = {
	[AUDIT_V_INIT]		= "init",
	[AUDIT_V_RECOVER_START]	= "recover-start",
	[AUDIT_V_RECOVER_CANCEL] = "recover-cancel",
	[AUDIT_V_RECOVER]	= "recover",
	[AUDIT_V_WIPE]		= "wipe",
	[AUDIT_V_USER_ADD]	= "user-add",
	[AUDIT_V_USER_DEL]	= "user-del",
	[AUDIT_V_USER_ROLE]	= "user-role",
	[AUDIT_V_CODE_CHANGE]	= "code-change",
	[AUDIT_V_DURESS_SET]	= "duress-set",
	[AUDIT_V_POLICY_SET]	= "policy-set",
	[AUDIT_V_FAULT_CLEAR]	= "fault-clear",
	[AUDIT_V_ADMIN_REFUSED]	= "admin-refused",
	[AUDIT_V_VERDICT]	= "verdict",
	[AUDIT_V_VAULT_ERROR]	= "vault-error",
	[AUDIT_V_START]		= "start",
	[AUDIT_V_EVENTS_LOST]	= "events-lost",
	[AUDIT_V_DURESS_ALARM]	= "duress-alarm",
	[AUDIT_V_FORGED]	= "forged-message",
	[AUDIT_V_NO_POLICY]	= "no-policy",
	[AUDIT_V_EVENTS_RESTART] = "events-restart",
	[AUDIT_V_CLOCK_BEHIND]	= "clock-behind",
	[AUDIT_V_RECOVERY_NEW]	= "recovery-new",
};
_Static_assert(ARRAY_SIZE(vault_names) == AUDIT_V_MAX, "vault event names");

static const char *const log_names[] = {
	[AUDIT_L_FILE_START]	= "file-start",
	[AUDIT_L_FILE_END]	= "file-end",
	[AUDIT_L_LOST]		= "lost",
};
_Static_assert(ARRAY_SIZE(log_names) == AUDIT_L_MAX, "log event names");

static const char *name_of(const char *const *names, size_t n, uint32_t v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

const char *audit_source_name(uint32_t source)
{
	return name_of(source_names, ARRAY_SIZE(source_names), source);
}

const char *audit_event_name(uint32_t source, uint32_t type)
{
	switch (source) {
	case AUDIT_SRC_KERNEL:
		return safelock_event_name(type);
	case AUDIT_SRC_VAULT:
		return name_of(vault_names, ARRAY_SIZE(vault_names), type);
	case AUDIT_SRC_LOG:
		return name_of(log_names, ARRAY_SIZE(log_names), type);
	default:
		return "unknown";
	}
}

/* Records ------------------------------------------------------------ */

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void rec_encode(const struct audit_record *r,
		       const uint8_t prev[HASH_SIZE], uint8_t b[REC_SIZE])
{
	memset(b, 0, REC_SIZE);
	memcpy(b, REC_MAGIC, 4);
	put_le(b + 4, REC_VERSION, 2);
	put_le(b + 6, REC_SIZE, 2);
	put_le(b + 8, r->index, 8);
	put_le(b + 16, r->kseq, 8);
	put_le(b + 24, r->mono_ns, 8);
	put_le(b + 32, (uint64_t)r->real_ns, 8);
	put_le(b + 40, r->source, 4);
	put_le(b + 44, r->type, 4);
	put_le(b + 48, r->state, 4);
	put_le(b + 52, r->result, 4);
	put_le(b + 56, r->user_id, 4);
	put_le(b + 60, r->value, 4);
	memcpy(b + OFF_TEXT, r->text, strnlen(r->text, AUDIT_TEXT_SIZE - 1));
	memcpy(b + OFF_PREV, prev, HASH_SIZE);
}

/* Fills @r whatever the bytes; false if they are not a version 1 record. */
static bool rec_decode(const uint8_t b[REC_SIZE], struct audit_record *r)
{
	memset(r, 0, sizeof(*r));
	r->index = get_le(b + 8, 8);
	r->kseq = get_le(b + 16, 8);
	r->mono_ns = get_le(b + 24, 8);
	r->real_ns = (int64_t)get_le(b + 32, 8);
	r->source = (uint32_t)get_le(b + 40, 4);
	r->type = (uint32_t)get_le(b + 44, 4);
	r->state = (uint32_t)get_le(b + 48, 4);
	r->result = (uint32_t)get_le(b + 52, 4);
	r->user_id = (uint32_t)get_le(b + 56, 4);
	r->value = (uint32_t)get_le(b + 60, 4);
	memcpy(r->text, b + OFF_TEXT, AUDIT_TEXT_SIZE - 1);
	r->text[AUDIT_TEXT_SIZE - 1] = '\0';
	return !memcmp(b, REC_MAGIC, 4) && get_le(b + 4, 2) == REC_VERSION &&
	       get_le(b + 6, 2) == REC_SIZE;
}

static void rec_chain(const uint8_t b[REC_SIZE], uint8_t h[HASH_SIZE])
{
	SHA256(b, OFF_MAC, h);
}

static int rec_mac(const uint8_t key[HASH_SIZE], const uint8_t b[REC_SIZE],
		   uint8_t mac[HASH_SIZE])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, HASH_SIZE, b, OFF_MAC, mac, &len) ||
	    len != HASH_SIZE)
		return -EIO;
	return 0;
}

static bool rec_mac_ok(const uint8_t key[HASH_SIZE], const uint8_t b[REC_SIZE])
{
	uint8_t mac[HASH_SIZE];

	return !rec_mac(key, b, mac) &&
	       !CRYPTO_memcmp(mac, b + OFF_MAC, HASH_SIZE);
}

/*
 * A record whose last 8 bytes (the end of its HMAC) are zero was never
 * completely written: the file system extended the file before the data
 * reached the disk. A real HMAC ends so with probability 2^-64.
 */
static bool rec_zero_tail(const uint8_t b[REC_SIZE])
{
	size_t i;

	for (i = REC_SIZE - 8; i < REC_SIZE; i++)
		if (b[i])
			return false;
	return true;
}

static bool is_log(const struct audit_record *r, uint32_t type)
{
	return r->source == AUDIT_SRC_LOG && r->type == type;
}

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *s, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		int c = s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -EINVAL;
		if (i & 1)
			p[i / 2] |= (uint8_t)v;
		else
			p[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}

/*
 * FILE_START text: "id=<32 hex> keep=8 first=1" (value: the file's number), then
 * " after-unverified" if the file before could not be authenticated when
 * this one was started. first: the oldest file the writer kept.
 */
static int parse_start(const struct audit_record *r, unsigned int no,
		       uint8_t id[ID_SIZE], unsigned int *first)
{
	const char *p = strncmp(r->text, "id=", 3) ? NULL : r->text;
	const char *f = strstr(r->text, " first=");
	char *end;
	unsigned long v;

	if (!is_log(r, AUDIT_L_FILE_START) || r->value != no || !p || !f)
		return -EINVAL;
	if (strlen(p + 3) < 2 * ID_SIZE || unhex(p + 3, id, ID_SIZE))
		return -EINVAL;
	v = strtoul(f + 7, &end, 10);
	if (end == f + 7 || v == 0 || v > no)
		return -EINVAL;
	*first = (unsigned int)v;
	return 0;
}

/* Files --------------------------------------------------------------- */

static void file_name(unsigned int no, char *buf, size_t len)
{
	snprintf(buf, len, "audit-%06u.log", no);
}

/* Only canonical names count: "audit-1.log" is not a log file. */
static bool parse_file_name(const char *name, unsigned int *no)
{
	char canon[24];
	unsigned long v;
	char *end;

	if (strncmp(name, "audit-", 6) || !isdigit((unsigned char)name[6]))
		return false;
	v = strtoul(name + 6, &end, 10);
	if (strcmp(end, ".log") || v == 0 || v > FILE_NO_MAX)
		return false;
	file_name((unsigned int)v, canon, sizeof(canon));
	if (strcmp(canon, name))
		return false;
	*no = (unsigned int)v;
	return true;
}

struct file_list {
	unsigned int *no;
	size_t n;
};

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/* The log's files, oldest first; with @clean, leftover *.tmp are removed. */
static int list_files(int dirfd, struct file_list *fl, bool clean)
{
	struct dirent *de;
	size_t cap = 0;
	int fd, err = 0;
	DIR *d;

	fl->no = NULL;
	fl->n = 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		unsigned int no;

		if (clean && len > 4 && !strcmp(de->d_name + len - 4, ".tmp") &&
		    !strncmp(de->d_name, "audit-", 6)) {
			unlinkat(dirfd, de->d_name, 0);
			continue;
		}
		if (!parse_file_name(de->d_name, &no))
			continue;
		if (fl->n == cap) {
			unsigned int *n;

			cap = cap ? 2 * cap : 16;
			n = realloc(fl->no, cap * sizeof(*n));
			if (!n) {
				err = -ENOMEM;
				break;
			}
			fl->no = n;
		}
		fl->no[fl->n++] = no;
	}
	closedir(d);
	if (err) {
		free(fl->no);
		fl->no = NULL;
		fl->n = 0;
		return err;
	}
	if (fl->n)
		qsort(fl->no, fl->n, sizeof(*fl->no), cmp_uint);
	return 0;
}

/* Read a whole log file. */
static int load_file(int dirfd, unsigned int no, uint8_t **bufp, size_t *sizep)
{
	char name[24];
	struct stat st;
	size_t size, got = 0;
	uint8_t *buf;
	int fd, err = 0;

	file_name(no, name, sizeof(name));
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > FILE_BYTES_MAX) {
		err = -EFBIG;
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			free(buf);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*bufp = buf;
	*sizep = got;
out:
	close(fd);
	return err;
}

static int get_key(audit_key_fn fn, void *ctx, const uint8_t id[ID_SIZE],
		   uint8_t key[HASH_SIZE])
{
	int err = fn(ctx, id, key);

	if (err)
		safelock_wipe(key, HASH_SIZE);
	return err > 0 ? -EIO : err;
}

/* Writing ------------------------------------------------------------- */

/*
 * Records that must be on stable storage before audit_append() returns:
 * everything but the routine kernel events (state changes, the first key
 * of an entry, the battery), which wait for the next one that is, or for
 * SYNC_BATCH of their kind. The file is append-only, so a sync also covers
 * every record before it: order is never lost, only an unsynced tail.
 */
static bool needs_sync(const struct audit_record *r)
{
	if (r->source != AUDIT_SRC_KERNEL)
		return true;
	switch (r->type) {
	case SAFELOCK_EVENT_STATE:
	case SAFELOCK_EVENT_ENTRY_STARTED:
	case SAFELOCK_EVENT_BATTERY:
		return false;
	default:
		return true;
	}
}

static void log_sync(struct audit_log *log)
{
	/* On failure the anchor stays behind; the next record tries again. */
	if (fdatasync(log->fd) < 0)
		return;
	log->synced_records = log->next_index;
	memcpy(log->synced_chain, log->chain, HASH_SIZE);
	log->unsynced = 0;
}

/* Encode @r as record @index after @prev and authenticate it with @key. */
static int seal(const uint8_t key[HASH_SIZE], struct audit_record *r,
		uint64_t index, const uint8_t prev[HASH_SIZE], uint8_t b[REC_SIZE])
{
	r->index = index;
	if (!r->real_ns)
		r->real_ns = clock_ns(CLOCK_REALTIME);
	rec_encode(r, prev, b);
	return rec_mac(key, b, b + OFF_MAC);
}

/*
 * Write one record at the end of @fd, which holds @size bytes. A short
 * write is a full disk: the partial record is cut off again (or, if even
 * that fails, *@cut_pending says it still has to be).
 */
static int write_rec(int fd, const uint8_t b[REC_SIZE], off_t size,
		     bool *cut_pending)
{
	ssize_t n;
	int err;

	if (*cut_pending) {
		if (ftruncate(fd, size) < 0)
			return -errno;
		*cut_pending = false;
	}
	do
		n = write(fd, b, REC_SIZE);
	while (n < 0 && errno == EINTR);
	if (n == REC_SIZE)
		return 0;
	err = n < 0 ? -errno : -ENOSPC;
	if (n > 0 && ftruncate(fd, size) < 0)
		*cut_pending = true;
	return err;
}

/* Append one record to the head file, no rotation. */
static int put_record(struct audit_log *log, struct audit_record *r)
{
	uint8_t b[REC_SIZE];
	int err;

	err = seal(log->key, r, log->next_index, log->chain, b);
	if (!err)
		err = write_rec(log->fd, b, (off_t)(log->file_records * REC_SIZE),
				&log->cut_pending);
	if (err)
		return err;
	rec_chain(b, log->chain);
	log->next_index++;
	log->file_records++;
	log->unsynced++;
	if (needs_sync(r) || log->unsynced >= SYNC_BATCH)
		log_sync(log);
	return 0;
}

static void log_record(struct audit_record *r, uint32_t type, uint32_t value)
{
	memset(r, 0, sizeof(*r));
	r->source = AUDIT_SRC_LOG;
	r->type = type;
	r->value = value;
	r->mono_ns = (uint64_t)clock_ns(CLOCK_MONOTONIC);
}

/* Remove the files older than @first; the newest FILE_START names it. */
static void drop_old_files(struct audit_log *log, unsigned int first)
{
	char name[24];

	if (!log->oldest)
		log->oldest = log->file_no;
	for (; log->oldest < first; log->oldest++) {
		file_name(log->oldest, name, sizeof(name));
		unlinkat(log->dirfd, name, 0);
	}
}

/* The head file has its FILE_END (@b, record @index): close it. */
static void head_ended(struct audit_log *log, const uint8_t b[REC_SIZE],
		       uint64_t index)
{
	close(log->fd);
	log->fd = -1;
	safelock_wipe(log->key, sizeof(log->key));
	rec_chain(b, log->chain);
	log->next_index = index + 1;
	log->synced_records = log->next_index;
	memcpy(log->synced_chain, log->chain, HASH_SIZE);
	log->unsynced = 0;
}

/*
 * Start the next file. On rotation (the head file is open) the head's
 * FILE_END is made first, since the new FILE_START chains to it, but it
 * is written only once the new file's FILE_START is on disk under a
 * temporary name; then the new file is renamed into place. So a FILE_END
 * always names a file that exists (save for a failed rename, which the
 * next append repairs), a full disk never leaves a log that looks
 * truncated, and every log file begins with its FILE_START.
 */
static int start_file(struct audit_log *log)
{
	bool rotate = log->fd >= 0;
	unsigned int no = log->file_no + 1, first;
	uint8_t id[ID_SIZE], key[HASH_SIZE], eb[REC_SIZE], sb[REC_SIZE];
	uint8_t prev[HASH_SIZE];
	char name[24], tmp[32], idhex[2 * ID_SIZE + 1];
	uint64_t index = log->next_index;
	struct audit_record er, sr;
	bool cut = false;
	int fd, err;

	if (no > FILE_NO_MAX)
		return -EOVERFLOW;
	memcpy(prev, log->chain, HASH_SIZE);
	if (rotate) {
		log_record(&er, AUDIT_L_FILE_END, no);
		snprintf(er.text, sizeof(er.text), "next audit-%06u.log", no);
		err = seal(log->key, &er, index, prev, eb);
		if (err)
			return err;
		rec_chain(eb, prev);
		index++;
	}
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return -EIO;
	err = get_key(log->keyfn, log->key_ctx, id, key);
	if (err)
		return err;
	first = no > log->max_files ? no - log->max_files + 1 : 1;
	if (log->oldest > first)
		first = log->oldest;
	hex(id, sizeof(id), idhex);
	log_record(&sr, AUDIT_L_FILE_START, no);
	snprintf(sr.text, sizeof(sr.text), "id=%s keep=%u first=%u%s", idhex,
		 log->max_files, first, log->start_note);
	err = seal(key, &sr, index, prev, sb);
	if (err)
		goto out;

	file_name(no, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	unlinkat(log->dirfd, tmp, 0);
	fd = openat(log->dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_rec(fd, sb, 0, &cut);
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	if (!err && rotate) {
		err = write_rec(log->fd, eb, (off_t)(log->file_records * REC_SIZE),
				&log->cut_pending);
		if (!err) {
			fdatasync(log->fd);
			head_ended(log, eb, index - 1);
		}
	}
	if (!err && renameat(log->dirfd, tmp, log->dirfd, name) < 0)
		err = -errno;
	if (err) {
		/* The head is as it was, or closed by its FILE_END. */
		close(fd);
		unlinkat(log->dirfd, tmp, 0);
		goto out;
	}
	log->fd = fd;
	log->file_no = no;
	log->file_records = 1;
	log->cut_pending = false;
	memcpy(log->key, key, HASH_SIZE);
	rec_chain(sb, log->chain);
	log->next_index = index + 1;
	log->synced_records = log->next_index;
	memcpy(log->synced_chain, log->chain, HASH_SIZE);
	log->unsynced = 0;
	log->start_note[0] = '\0';
	drop_old_files(log, first);
	/* Best effort: the next sync of the directory covers it otherwise. */
	fsync(log->dirfd);
out:
	safelock_wipe(key, sizeof(key));
	return err;
}

/* Append @r, starting the next file first if the head has no room for it. */
static int append_one(struct audit_log *log, struct audit_record *r)
{
	int err;

	if (log->fd < 0 || log->file_records + 2 > log->max_file_records) {
		err = start_file(log);
		if (err)
			return err;
	}
	return put_record(log, r);
}

static int write_lost(struct audit_log *log)
{
	struct audit_record r;
	int err;

	log_record(&r, AUDIT_L_LOST,
		   log->pending_lost > UINT32_MAX ? UINT32_MAX
						  : (uint32_t)log->pending_lost);
	snprintf(r.text, sizeof(r.text), "%s", log->pending_text);
	err = append_one(log, &r);
	if (!err) {
		log->pending_lost = 0;
		log->pending_text[0] = '\0';
	}
	return err;
}

static void count_lost(struct audit_log *log, int err)
{
	log->lost++;
	log->pending_lost++;
	if (!log->pending_text[0])
		snprintf(log->pending_text, sizeof(log->pending_text),
			 "records not written: %s",
			 err == -ENOSPC ? "disk full" : strerror(-err));
}

int audit_append(struct audit_log *log, struct audit_record *rec)
{
	int err;

	if (!log || !rec ||
	    (rec->source != AUDIT_SRC_KERNEL && rec->source != AUDIT_SRC_VAULT))
		return -EINVAL;
	if (log->pending_lost) {
		err = write_lost(log);
		if (err) {
			count_lost(log, err);
			return err;
		}
	}
	err = append_one(log, rec);
	if (err)
		count_lost(log, err);
	return err;
}

uint64_t audit_records(const struct audit_log *log)
{
	return log->next_index;
}

uint64_t audit_lost(const struct audit_log *log)
{
	return log->lost;
}

void audit_anchor_get(const struct audit_log *log, struct audit_anchor *a)
{
	a->records = log->synced_records;
	memcpy(a->hash, log->synced_chain, HASH_SIZE);
}

void audit_close(struct audit_log *log)
{
	if (!log)
		return;
	if (log->fd >= 0) {
		fdatasync(log->fd);
		close(log->fd);
	}
	if (log->dirfd >= 0)
		close(log->dirfd);	/* drops the flock */
	safelock_wipe(log, sizeof(*log));
	free(log);
}

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/*
 * Cut a torn tail from the head file: bytes that are not a whole record,
 * and whole records that were never completely written (rec_zero_tail()).
 * Returns the bytes cut, or -errno.
 */
static off_t cut_torn_tail(int fd, off_t *sizep)
{
	off_t size = *sizep, cut = size % REC_SIZE;
	uint8_t b[REC_SIZE];

	while (size - cut >= REC_SIZE) {
		if (pread(fd, b, REC_SIZE, size - cut - REC_SIZE) != REC_SIZE)
			return -EIO;
		if (!rec_zero_tail(b))
			break;
		cut += REC_SIZE;
	}
	if (!cut)
		return 0;
	if (ftruncate(fd, size - cut) < 0 || fdatasync(fd) < 0)
		return -errno;
	*sizep = size - cut;
	return cut;
}

/*
 * Continue the chain of the head file @no if it authenticates; else keep
 * it as it is and go on in a new file (continuing from its last record as
 * far as it can be read, so verify reports the damage where it is).
 */
static int open_head(struct audit_log *log, unsigned int no, char *err,
		     size_t errlen)
{
	uint8_t b0[REC_SIZE], bl[REC_SIZE], id[ID_SIZE];
	struct audit_record r0, rl;
	const char *why = NULL;
	char name[24];
	unsigned int first;
	struct stat st;
	off_t size, torn;
	uint64_t n;
	int fd, ret;

	file_name(no, name, sizeof(name));
	log->file_no = no;
	fd = openat(log->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return seterr(err, errlen, ret, "unable to open %s: %s", name,
			      strerror(-ret));
	}
	size = st.st_size;
	torn = cut_torn_tail(fd, &size);
	if (torn < 0) {
		close(fd);
		return seterr(err, errlen, (int)torn, "unable to cut the torn tail of %s: %s",
			      name, strerror((int)-torn));
	}
	n = (uint64_t)size / REC_SIZE;
	if (n == 0) {
		why = "is empty";
	} else if (pread(fd, b0, REC_SIZE, 0) != REC_SIZE ||
		   pread(fd, bl, REC_SIZE, size - REC_SIZE) != REC_SIZE) {
		ret = -EIO;
		close(fd);
		return seterr(err, errlen, ret, "unable to read %s", name);
	} else {
		bool ok0 = rec_decode(b0, &r0) && !parse_start(&r0, no, id, &first);
		bool okl = rec_decode(bl, &rl);

		if (!ok0) {
			why = "does not begin with a file-start record";
		} else {
			ret = get_key(log->keyfn, log->key_ctx, id, log->key);
			if (ret) {
				close(fd);
				return seterr(err, errlen, ret,
					      "unable to get the key of %s: %s",
					      name, strerror(-ret));
			}
			if (!rec_mac_ok(log->key, b0) || !okl ||
			    !rec_mac_ok(log->key, bl))
				why = "fails its HMAC check";
		}
	}
	if (n && rec_decode(bl, &rl)) {
		log->next_index = rl.index + 1;
		rec_chain(bl, log->chain);
	}
	memcpy(log->synced_chain, log->chain, HASH_SIZE);
	log->synced_records = log->next_index;
	if (torn > 0) {
		log->pending_lost += ((uint64_t)torn + REC_SIZE - 1) / REC_SIZE;
		snprintf(log->pending_text, sizeof(log->pending_text),
			 "torn write cut from %s (%lld bytes): power lost",
			 name, (long long)torn);
	}
	if (why) {
		close(fd);
		safelock_wipe(log->key, sizeof(log->key));
		snprintf(log->start_note, sizeof(log->start_note), " after-unverified");
		seterr(err, errlen, 0, "%s %s: kept as it is, continuing in a new file",
		       name, why);
		return 0;
	}
	log->file_records = n;
	if (is_log(&rl, AUDIT_L_FILE_END)) {
		close(fd);
		safelock_wipe(log->key, sizeof(log->key));
	} else {
		log->fd = fd;
	}
	return 0;
}

int audit_open(struct audit_log **logp, const struct audit_options *opts,
	       char *err, size_t errlen)
{
	struct audit_log *log;
	struct file_list fl;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!logp)
		return -EINVAL;
	*logp = NULL;
	if (!opts || !opts->dir || !opts->key)
		return seterr(err, errlen, -EINVAL, "no directory or key function");
	if (opts->max_file_records && opts->max_file_records < MIN_FILE_RECORDS)
		return seterr(err, errlen, -EINVAL,
			      "max_file_records must be 0 (default) or at least %d",
			      MIN_FILE_RECORDS);
	if (opts->max_files == 1)
		return seterr(err, errlen, -EINVAL,
			      "max_files must be 0 (default) or at least 2");
	log = calloc(1, sizeof(*log));
	if (!log)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	log->fd = -1;
	log->dirfd = -1;
	log->max_file_records = opts->max_file_records ? opts->max_file_records
						 : DEFAULT_FILE_RECORDS;
	log->max_files = opts->max_files ? opts->max_files : DEFAULT_FILES;
	log->keyfn = opts->key;
	log->key_ctx = opts->key_ctx;

	if (mkdir(opts->dir, 0700) < 0 && errno != EEXIST) {
		ret = seterr(err, errlen, -errno, "unable to create %s: %s",
			     opts->dir, strerror(errno));
		goto fail;
	}
	log->dirfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log->dirfd < 0) {
		ret = seterr(err, errlen, -errno, "unable to open %s: %s",
			     opts->dir, strerror(errno));
		goto fail;
	}
	if (flock(log->dirfd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		seterr(err, errlen, ret, "%s: %s", opts->dir,
		       ret == -EBUSY ? "another writer has the log open"
				     : strerror(-ret));
		goto fail;
	}
	ret = list_files(log->dirfd, &fl, true);
	if (ret) {
		seterr(err, errlen, ret, "unable to list %s: %s", opts->dir,
		       strerror(-ret));
		goto fail;
	}
	if (fl.n) {
		log->oldest = fl.no[0];
		ret = open_head(log, fl.no[fl.n - 1], err, errlen);
	}
	free(fl.no);
	if (ret)
		goto fail;
	/* A new log, a broken head or a head that ended: start the next file. */
	if (log->fd < 0) {
		ret = start_file(log);
		/* A full disk must not stop the lock: appends report it. */
		if (ret && ret != -ENOSPC) {
			seterr(err, errlen, ret, "unable to start a log file: %s",
			       strerror(-ret));
			goto fail;
		}
	}
	if (opts->lost) {
		log->pending_lost += opts->lost;
		if (!log->pending_text[0])
			snprintf(log->pending_text, sizeof(log->pending_text), "%s",
				 opts->lost_text ? opts->lost_text : "records not written");
	}
	if (log->pending_lost)
		write_lost(log);
	*logp = log;
	return 0;
fail:
	audit_close(log);
	return ret;
}

/* Reading ------------------------------------------------------------- */

int audit_read(const char *dir, audit_each_fn fn, void *ctx, char *err,
	       size_t errlen)
{
	struct file_list fl;
	struct audit_record r;
	int dirfd, ret;
	size_t i, p;

	if (err && errlen)
		err[0] = '\0';
	if (!dir || !fn)
		return -EINVAL;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return seterr(err, errlen, -errno, "unable to open %s: %s", dir,
			      strerror(errno));
	ret = list_files(dirfd, &fl, false);
	if (ret) {
		close(dirfd);
		return seterr(err, errlen, ret, "unable to list %s: %s", dir,
			      strerror(-ret));
	}
	for (i = 0; i < fl.n && !ret; i++) {
		uint8_t *buf;
		size_t size;

		ret = load_file(dirfd, fl.no[i], &buf, &size);
		if (ret) {
			char name[24];

			file_name(fl.no[i], name, sizeof(name));
			seterr(err, errlen, ret, "unable to read %s: %s", name,
			       strerror(-ret));
			break;
		}
		for (p = 0; p + REC_SIZE <= size && !ret; p += REC_SIZE) {
			/* Not a record (or a torn one): nothing to show. */
			if (!rec_decode(buf + p, &r) || rec_zero_tail(buf + p))
				continue;
			ret = fn(ctx, &r);
		}
		free(buf);
	}
	free(fl.no);
	close(dirfd);
	return ret;
}

/* The kernel's numbering ---------------------------------------------- */

/* "lock N ...": the lock a kernel record or a follow record is about. */
static bool text_lock(const char *text, uint32_t *device)
{
	unsigned int d;

	if (sscanf(text, "lock %u", &d) != 1 || d >= AUDIT_KSEQ_LOCKS)
		return false;
	*device = d;
	return true;
}

static void text_instance(const char *text, struct audit_instance *inst)
{
	unsigned int d, boot, family;

	if (sscanf(text, "lock %u instance %8x-%u", &d, &boot, &family) == 3) {
		inst->boot = boot;
		inst->family = family;
	} else {
		memset(inst, 0, sizeof(*inst));
	}
}

static bool same_instance(const struct audit_instance *a,
			  const struct audit_instance *b)
{
	/* unknown (a log from before instances were named): the numbers decide */
	return (!a->family || !b->family || a->family == b->family) &&
	       (!a->boot || !b->boot || a->boot == b->boot);
}

void audit_kseq_note(struct audit_kseq *k, const struct audit_record *r)
{
	struct audit_kseq_lock *l;
	uint32_t d = 0;
	size_t i;

	if (is_log(r, AUDIT_L_LOST) ||
	    (r->source == AUDIT_SRC_VAULT && r->type == AUDIT_V_EVENTS_LOST && !r->kseq)) {
		/* records or events dropped (full disk, full socket): the next gaps */
		for (i = 0; i < AUDIT_KSEQ_LOCKS; i++)
			k->lock[i].excused = true;
		return;
	}
	if (r->source == AUDIT_SRC_VAULT &&
	    (r->type == AUDIT_V_EVENTS_LOST || r->type == AUDIT_V_EVENTS_RESTART)) {
		if (r->value >= AUDIT_KSEQ_LOCKS)
			return;
		l = &k->lock[r->value];
		if (r->type == AUDIT_V_EVENTS_RESTART)
			k->explained += r->kseq;	/* 1..kseq of the new numbering */
		else if (l->known && r->kseq > l->last)
			k->explained += r->kseq - l->last;
		text_instance(r->text, &l->inst);
		l->last = r->kseq;
		l->known = true;
		l->excused = false;
		return;
	}
	if (r->source != AUDIT_SRC_KERNEL || !r->kseq)
		return;
	/* a kernel record that names no lock (older writers, tests): lock 0 */
	text_lock(r->text, &d);
	l = &k->lock[d];
	if (l->known) {
		uint64_t n = 0;

		if (r->kseq > l->last + 1)
			n = r->kseq - l->last - 1;
		else if (r->kseq <= l->last)
			/* numbered from 1 again, no record says so: a reload */
			n = r->kseq - 1;
		if (n && l->excused) {
			k->explained += n;
		} else if (n) {
			k->missing += n;
			k->gaps++;
		}
	}
	l->last = r->kseq;
	l->known = true;
	l->excused = false;
}

bool audit_kseq_follow(const struct audit_kseq *k, uint32_t device, uint64_t seq,
		       const struct audit_instance *inst, const char *why,
		       struct audit_record *out)
{
	const struct audit_kseq_lock *l;
	char head[48], text[256];
	if (device >= AUDIT_KSEQ_LOCKS)
		return false;
	l = &k->lock[device];
	memset(out, 0, sizeof(*out));
	out->source = AUDIT_SRC_VAULT;
	out->value = device;
	out->kseq = seq;
	snprintf(head, sizeof(head), "lock %u instance %08x-%u", device,
		 inst->boot, inst->family);
	if (l->known && same_instance(&l->inst, inst) && seq >= l->last) {
		if (seq == l->last)
			return false;
		out->type = AUDIT_V_EVENTS_LOST;
		snprintf(text, sizeof(text), "%s: events %llu..%llu emitted while %s",
			     head, (unsigned long long)l->last + 1,
			     (unsigned long long)seq, why);
	} else {
		out->type = AUDIT_V_EVENTS_RESTART;
		if (!l->known)
			snprintf(text, sizeof(text),
				 "%s: first followed at event %llu", head,
				 (unsigned long long)seq);
		else
			snprintf(text, sizeof(text),
				 "%s: new instance, numbering restarted; was at %llu, now %llu",
				 head, (unsigned long long)l->last,
				 (unsigned long long)seq);
	}
	/* a long reason is cut at the end; the numbers come first */
	memcpy(out->text, text, strnlen(text, sizeof(out->text) - 1));
	return true;
}

/* Verifying ----------------------------------------------------------- */

struct verifier {
	struct audit_report *rep;
	audit_key_fn keyfn;
	void *ctx;
	const struct audit_anchor *anchor;
	uint8_t key[HASH_SIZE];
	uint64_t expect;		/* index of the next record */
	uint8_t chain[HASH_SIZE];	/* chain hash of the record before it */
	uint64_t rotated;		/* records before the oldest file kept */
	struct audit_kseq kseq;		/* the kernel's numbering, per lock */
	uint64_t lost;			/* sum of LOST records */
	uint64_t torn;			/* bytes of a torn tail not counted */
	bool anchor_checked;
	bool ended;			/* the file before ended with FILE_END */
	uint32_t next_no;		/* ... naming this file */
	unsigned int newest_first;	/* "first=" of the newest FILE_START */
};

static int bad(struct verifier *v, uint64_t index, const char *file,
	       size_t pos, const char *fmt, ...)
{
	struct audit_report *rep = v->rep;
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rep->ok = false;
	rep->first_bad = index;
	if (pos == SIZE_MAX)
		snprintf(rep->what, sizeof(rep->what), "record %llu (file %s): %s",
			 (unsigned long long)index, file, why);
	else
		snprintf(rep->what, sizeof(rep->what),
			 "record %llu (file %s, position %zu): %s",
			 (unsigned long long)index, file, pos, why);
	return 0;
}

/* True if record @p of @buf is authentic and continues the chain. */
static bool continues(const struct verifier *v, const uint8_t *buf, size_t n,
		      size_t p)
{
	struct audit_record r;
	const uint8_t *b = buf + p * REC_SIZE;

	return p < n && rec_decode(b, &r) && r.index == v->expect &&
	       !memcmp(b + OFF_PREV, v->chain, HASH_SIZE) && rec_mac_ok(v->key, b);
}

/* Check record @p of a file; false (and the report says why) if bad. */
static bool check_record(struct verifier *v, const uint8_t *buf, size_t n,
			 size_t p, const char *name)
{
	const uint8_t *b = buf + p * REC_SIZE;
	unsigned long long e = v->expect;
	struct audit_record r;
	bool valid = rec_decode(b, &r);
	size_t q;

	if (!valid || !rec_mac_ok(v->key, b)) {
		if (continues(v, buf, n, p + 1))
			return bad(v, e, name, p,
				   "a record that is not part of the log was inserted before record %llu",
				   e);
		return bad(v, e, name, p, "%s: edited",
			   valid ? "HMAC mismatch" : "not a record (bad magic)");
	}
	if (r.index > e) {
		for (q = p + 1; q < n; q++)
			if (continues(v, buf, n, q))
				return bad(v, e, name, p,
					   "found later, at position %zu, after record %llu: reordered",
					   q, (unsigned long long)r.index);
		if (r.index == e + 1)
			return bad(v, e, name, p, "missing before record %llu: deleted",
				   (unsigned long long)r.index);
		return bad(v, e, name, p,
			   "records %llu to %llu missing before record %llu: deleted",
			   e, (unsigned long long)r.index - 1,
			   (unsigned long long)r.index);
	}
	if (r.index < e)
		return bad(v, e, name, p,
			   "a copy of record %llu was inserted after record %llu",
			   (unsigned long long)r.index, e - 1);
	if (memcmp(b + OFF_PREV, v->chain, HASH_SIZE))
		return bad(v, e, name, p,
			   "chain hash differs from record %llu's: the records before were replaced",
			   e - 1);

	rec_chain(b, v->chain);
	v->expect++;
	v->rep->records++;
	audit_kseq_note(&v->kseq, &r);
	if (is_log(&r, AUDIT_L_LOST))
		v->lost += r.value;
	if (v->anchor && v->anchor->records && r.index == v->anchor->records - 1) {
		v->anchor_checked = true;
		if (memcmp(v->chain, v->anchor->hash, HASH_SIZE))
			return bad(v, r.index, name, p,
				   "chain hash differs from the vault's anchor: the log was rewritten");
	}
	return true;
}

/* Verify one file; <0 on error, 0 otherwise (rep->ok says). */
static int verify_file(struct verifier *v, int dirfd, unsigned int no,
		       bool oldest, bool newest)
{
	struct audit_report *rep = v->rep;
	uint8_t id[ID_SIZE], *buf;
	struct audit_record r0, rl;
	unsigned int first;
	char name[24];
	size_t size, n, p;
	int ret;

	file_name(no, name, sizeof(name));
	ret = load_file(dirfd, no, &buf, &size);
	if (ret) {
		snprintf(rep->what, sizeof(rep->what), "unable to read %s: %s",
			 name, strerror(-ret));
		return ret;
	}
	rep->files++;
	n = size / REC_SIZE;
	if (newest) {
		/* A torn tail of the head file is a power cut, not tampering. */
		v->torn = size % REC_SIZE;
		while (n && rec_zero_tail(buf + (n - 1) * REC_SIZE)) {
			n--;
			v->torn += REC_SIZE;
		}
	} else if (size % REC_SIZE) {
		bad(v, v->expect, name, n, "a partial record after the last one: edited");
		goto out;
	}
	if (!oldest && !v->ended) {
		bad(v, v->expect, name, 0,
		    "the file before ends without a file-end record: truncated");
		goto out;
	}
	if (!oldest && v->next_no != no) {
		bad(v, v->expect, name, 0,
		    "the file before names audit-%06u.log as the next file, which is missing: deleted",
		    v->next_no);
		goto out;
	}
	if (!n || !rec_decode(buf, &r0) || parse_start(&r0, no, id, &first)) {
		bad(v, v->expect, name, 0,
		    n ? "does not begin with a valid file-start record: edited"
		      : "the file is empty: truncated");
		goto out;
	}
	ret = get_key(v->keyfn, v->ctx, id, v->key);
	if (ret) {
		snprintf(rep->what, sizeof(rep->what),
			 "unable to get the key of %s: %s", name, strerror(-ret));
		goto out;
	}
	if (oldest) {
		/*
		 * Where the log starts now: the files before were rotated
		 * away, and their last chain hash is taken from this
		 * FILE_START, which the key authenticates.
		 */
		v->expect = r0.index;
		v->rotated = r0.index;
		memcpy(v->chain, buf + OFF_PREV, HASH_SIZE);
	}
	v->newest_first = first;
	for (p = 0; p < n; p++)
		if (!check_record(v, buf, n, p, name))
			goto out;
	rec_decode(buf + (n - 1) * REC_SIZE, &rl);
	v->ended = is_log(&rl, AUDIT_L_FILE_END);
	v->next_no = rl.value;
	if (newest && v->ended)
		bad(v, v->expect, name, SIZE_MAX,
		    "the last file names audit-%06u.log as the next, which is missing: truncated",
		    rl.value);
out:
	safelock_wipe(v->key, sizeof(v->key));
	free(buf);
	return ret;
}

static void add_note(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

int audit_verify(const char *dir, audit_key_fn key, void *ctx,
		 const struct audit_anchor *anchor, struct audit_report *rep)
{
	struct verifier v = { .rep = rep, .keyfn = key, .ctx = ctx,
			      .anchor = anchor };
	struct file_list fl;
	char name[24];
	int dirfd, ret;
	size_t i;

	if (!rep)
		return -EINVAL;
	memset(rep, 0, sizeof(*rep));
	rep->first_bad = UINT64_MAX;
	rep->ok = true;
	if (!dir || !key)
		return -EINVAL;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ret = -errno;
		rep->ok = false;
		snprintf(rep->what, sizeof(rep->what), "unable to open %s: %s",
			 dir, strerror(-ret));
		return ret;
	}
	ret = list_files(dirfd, &fl, false);
	if (ret) {
		rep->ok = false;
		snprintf(rep->what, sizeof(rep->what), "unable to list %s: %s",
			 dir, strerror(-ret));
		close(dirfd);
		return ret;
	}
	for (i = 0; i < fl.n && rep->ok; i++) {
		ret = verify_file(&v, dirfd, fl.no[i], i == 0, i == fl.n - 1);
		if (ret) {
			rep->ok = false;
			goto out;
		}
	}
	rep->kseq_gaps = v.kseq.missing;
	rep->kseq_explained = v.kseq.explained;
	if (!rep->ok)
		goto out;
	/*
	 * Files older than the newest FILE_START's first= are fine (a crash
	 * before the writer deleted them); a log that begins later lost files.
	 */
	if (fl.n && fl.no[0] > v.newest_first) {
		file_name(fl.no[0], name, sizeof(name));
		bad(&v, v.rotated, name, SIZE_MAX,
		    "files audit-%06u.log to audit-%06u.log were deleted, the writer kept them",
		    v.newest_first, fl.no[0] - 1);
		goto out;
	}
	if (anchor && anchor->records > v.expect) {
		if (fl.n)
			file_name(fl.no[fl.n - 1], name, sizeof(name));
		else
			snprintf(name, sizeof(name), "none");
		bad(&v, v.expect, name, SIZE_MAX,
		    "the log ends here but the vault's anchor says %llu records: truncated",
		    (unsigned long long)anchor->records);
		goto out;
	}

	snprintf(rep->what, sizeof(rep->what), "ok: %llu record%s in %u file%s",
		 (unsigned long long)rep->records, rep->records == 1 ? "" : "s",
		 rep->files, rep->files == 1 ? "" : "s");
	if (v.rotated)
		add_note(rep->what, sizeof(rep->what), "; %llu older records rotated away",
			 (unsigned long long)v.rotated);
	if (rep->kseq_gaps)
		add_note(rep->what, sizeof(rep->what),
			 "; %llu kernel events missing in %llu sequence gaps",
			 (unsigned long long)rep->kseq_gaps,
			 (unsigned long long)v.kseq.gaps);
	if (rep->kseq_explained)
		add_note(rep->what, sizeof(rep->what),
			 "; %llu kernel events missing, explained by the record before each gap",
			 (unsigned long long)rep->kseq_explained);
	if (v.lost)
		add_note(rep->what, sizeof(rep->what), "; %llu record%s lost (see the LOST records)",
			 (unsigned long long)v.lost, v.lost == 1 ? "" : "s");
	if (v.torn)
		add_note(rep->what, sizeof(rep->what),
			 "; a torn write (%llu bytes) at the end: power lost during a write, not counted",
			 (unsigned long long)v.torn);
	if (anchor && anchor->records && !v.anchor_checked)
		add_note(rep->what, sizeof(rep->what),
			 "; the anchor's record was rotated away: not compared");
out:
	free(fl.no);
	close(dirfd);
	return ret;
}

/* Export -------------------------------------------------------------- */

/* ISO 8601 UTC with nanoseconds: 2026-11-26T23:08:19.123456789Z */
static void iso_time(int64_t ns, char *buf, size_t len)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "invalid");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long long)frac);
}

int audit_format_json(const struct audit_record *rec, char *buf, size_t len)
{
	char text[AUDIT_TEXT_SIZE], when[48];
	int n, t;

	if (!len)
		return -1;
	buf[0] = '\0';
	memcpy(text, rec->text, sizeof(text));
	text[sizeof(text) - 1] = '\0';
	iso_time(rec->real_ns, when, sizeof(when));
	n = snprintf(buf, len,
		     "{\"index\":%llu,\"kseq\":%llu,\"mono_ns\":%llu,\"real_ns\":%lld,"
		     "\"time\":\"%s\",\"source\":\"%s\",\"event\":\"%s\","
		     "\"state\":\"%s\",\"result\":\"%s\",\"user\":%u,\"value\":%u,"
		     "\"text\":\"",
		     (unsigned long long)rec->index, (unsigned long long)rec->kseq,
		     (unsigned long long)rec->mono_ns, (long long)rec->real_ns,
		     when, audit_source_name(rec->source),
		     audit_event_name(rec->source, rec->type),
		     safelock_state_name(rec->state),
		     safelock_result_name(rec->result), rec->user_id, rec->value);
	if (n < 0 || (size_t)n >= len)
		goto fail;
	t = safelock_json_escape(text, buf + n, len - (size_t)n);
	if (t < 0 || (size_t)(n + t) + 3 > len)
		goto fail;
	memcpy(buf + n + t, "\"}", 3);
	return n + t + 2;
fail:
	buf[0] = '\0';
	return -1;
}
