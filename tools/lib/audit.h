/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit log: append-only, hash-chained, authenticated by a key that
 * lives in the vault (the TPM), in files that rotate.
 *
 * Each record carries the SHA-256 of the record before it (the chain, which
 * runs on across files: a file's first record chains to the previous
 * file's last) and an HMAC-SHA-256 over the record with that file's key.
 * A file's key is derived by the vault from the file's random 16-byte id
 * (one TPM HMAC per file, not per record), so the keys never need storing
 * and a copy of the files alone cannot forge or re-authenticate a record.
 *
 * What verify finds, and says which record: an edited record (HMAC), a
 * deleted, inserted or reordered record (chain and index), a truncated log
 * (the head file's record count against the last sealed count; the last
 * record of each file is a "file end" record naming the next file), and
 * a gap in the kernel's sequence numbers (reported, not an error of the
 * log: the kernel's queue overflowed or safelockd was down).
 *
 * Truncation of the newest records cannot be seen from the files alone:
 * the writer hands out an anchor (record count and chain hash) that the
 * vault keeps in TPM NV (refreshed every few records and at shutdown),
 * and verify compares the log with it.
 *
 * The library does not know the TPM: the caller passes the key function.
 * Writers must never block the lock: audit_append() on a full disk drops
 * the record, counts it in lost, and returns -ENOSPC; the next record that
 * fits is preceded by a "lost N records" record.
 */
#ifndef SAFELOCK_AUDIT_H
#define SAFELOCK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a record came from. */
enum audit_source {
	AUDIT_SRC_KERNEL = 1,	/* a kernel event: type is enum safelock_event_type */
	AUDIT_SRC_VAULT,	/* safelockd/vault: type is enum audit_vault_event */
	AUDIT_SRC_LOG,		/* the log itself: type is enum audit_log_event */
};

enum audit_vault_event {
	AUDIT_V_INIT = 1,
	AUDIT_V_RECOVER_START,
	AUDIT_V_RECOVER_CANCEL,
	AUDIT_V_RECOVER,
	AUDIT_V_WIPE,
	AUDIT_V_USER_ADD,
	AUDIT_V_USER_DEL,
	AUDIT_V_USER_ROLE,
	AUDIT_V_CODE_CHANGE,
	AUDIT_V_DURESS_SET,
	AUDIT_V_POLICY_SET,
	AUDIT_V_FAULT_CLEAR,
	AUDIT_V_ADMIN_REFUSED,	/* an admin request was refused; text says why */
	AUDIT_V_VERDICT,	/* a verdict sent: user_id, result, value = retry_after_ms */
	AUDIT_V_VAULT_ERROR,	/* the TPM failed; text says how */
	AUDIT_V_START,		/* safelockd started */
	/*
	 * Kernel events the log does not have. kseq 0: safelockd's event
	 * socket overflowed (text: after which seq); the next gap is
	 * explained by it. kseq N: the events (text: "FROM..N") of lock
	 * value never reached the log (safelockd was not running, was
	 * registering again, or its socket overflowed): the log accounts
	 * up to N.
	 */
	AUDIT_V_EVENTS_LOST,
	AUDIT_V_DURESS_ALARM,	/* a duress code at the admin socket: user_id, result 0 raised */
	AUDIT_V_FORGED,		/* a netlink message not from the kernel, ignored; text: sender */
	AUDIT_V_NO_POLICY,	/* a VERIFY for a lock without the policy: not checked */
	/*
	 * Lock value's numbering starts here, at kseq (the kernel's last
	 * event when safelockd began to follow it): a new module instance
	 * (reload, reboot) or the first time the log follows the lock;
	 * events 1..kseq of that instance are not in the log.
	 */
	AUDIT_V_EVENTS_RESTART,
	/*
	 * A VERIFY refused unchecked because the schedule applies and the
	 * wall clock is below the TPM clock's lower bound (value: by how many
	 * seconds), or no bound can be known (value 0: the TPM clock cannot
	 * be read); user_id the user, result DENIED.
	 */
	AUDIT_V_CLOCK_BEHIND,
	/*
	 * The owner made a new recovery secret (safelockctl recovery split):
	 * the old one and its shares stopped working. user_id 001.
	 */
	AUDIT_V_RECOVERY_NEW,
	AUDIT_V_MAX,
};

enum audit_log_event {
	AUDIT_L_FILE_START = 1,	/* first record of each file */
	AUDIT_L_FILE_END,	/* last record of a rotated file */
	AUDIT_L_LOST,		/* value: records dropped (disk full) before this one */
	AUDIT_L_MAX,
};

#define AUDIT_TEXT_SIZE		96

/* One record as the caller fills it; the library adds the rest. */
struct audit_record {
	uint64_t index;		/* set by the library: 0, 1, 2... over all files */
	uint64_t kseq;		/* kernel event sequence number, 0 if none */
	uint64_t mono_ns;	/* kernel CLOCK_MONOTONIC timestamp, 0 if none */
	int64_t real_ns;	/* set by the library if 0: CLOCK_REALTIME */
	uint32_t source;	/* enum audit_source */
	uint32_t type;
	uint32_t state;		/* kernel state after the event */
	uint32_t result;	/* enum safelock_result */
	uint32_t user_id;
	uint32_t value;
	char text[AUDIT_TEXT_SIZE];	/* NUL-terminated, never a code */
};

/*
 * Derive the 32-byte key of the file with id @file_id: 0 or -errno.
 * The vault's function is one TPM HMAC with the audit key object.
 */
typedef int (*audit_key_fn)(void *ctx, const uint8_t file_id[16],
			    uint8_t key[32]);

struct audit_log;

struct audit_options {
	const char *dir;		/* the log's directory (created 0700) */
	uint64_t max_file_records;	/* rotate after this many; 0: 2048 */
	unsigned int max_files;		/* keep this many files; 0: 8 */
	audit_key_fn key;
	void *key_ctx;
	/*
	 * Records the caller could not write before this open (no log could
	 * be opened: a read-only file system): the log says so before any
	 * other record, in a LOST record of that many, with @lost_text
	 * (NULL: "records not written").
	 */
	uint64_t lost;
	const char *lost_text;
};

/*
 * Open (or create) the log in opts->dir and continue its chain. The head
 * file is checked (its last record's HMAC) so a writer never extends a
 * chain it cannot authenticate; a broken head is kept as it is, a new
 * file starts and says so. 0 or -errno, the reason in @err.
 */
int audit_open(struct audit_log **logp, const struct audit_options *opts,
	       char *err, size_t errlen);
/* Append; rotates as needed. 0, -ENOSPC (counted as lost) or -errno. */
int audit_append(struct audit_log *log, struct audit_record *rec);
uint64_t audit_records(const struct audit_log *log);	/* appended, all files */
uint64_t audit_lost(const struct audit_log *log);

/* What the vault keeps to detect truncation: after the record index - 1. */
struct audit_anchor {
	uint64_t records;	/* records in the log */
	uint8_t hash[32];	/* SHA-256 chain hash of the last record */
};
void audit_anchor_get(const struct audit_log *log, struct audit_anchor *a);
void audit_close(struct audit_log *log);

/* Reading, for show and export: no key needed, nothing verified. */
typedef int (*audit_each_fn)(void *ctx, const struct audit_record *rec);
/* Calls @fn for each record, oldest first; stops at a non-zero return. */
int audit_read(const char *dir, audit_each_fn fn, void *ctx, char *err,
	       size_t errlen);

struct audit_report {
	uint64_t records;	/* records checked */
	uint64_t first_bad;	/* index of the first bad record; UINT64_MAX: none */
	unsigned int files;
	bool ok;
	uint64_t kseq_gaps;	/* kernel sequence numbers missing, no record says why */
	uint64_t kseq_explained; /* missing, explained by the record before the gap */
	char what[256];		/* "record 41 (file audit-0003.log): HMAC mismatch: edited" */
};

/*
 * Verify every file with the keys of @key, and against @anchor if not NULL
 * (a log with fewer records than the anchor, or another hash at its
 * index, was truncated or rewritten): 0 (see rep->ok) or -errno.
 */
int audit_verify(const char *dir, audit_key_fn key, void *ctx,
		 const struct audit_anchor *anchor, struct audit_report *rep);

/*
 * The kernel's event numbering as the log holds it, lock by lock: what
 * audit verify counts as missing, and what a writer that starts following
 * a lock (at start, after a restart, after a module reload) must say
 * before that lock's next event. Kernel records name their lock in their
 * text ("lock N ..."); events-lost and events-restart records in value.
 *
 * A module instance is told apart by the boot (the first 32 bits of
 * /proc/sys/kernel/random/boot_id) and the generic netlink family id (a
 * reload gets a new one); events-lost and events-restart records name it
 * in their text ("lock N instance BBBBBBBB-F: ...").
 */
#define AUDIT_KSEQ_LOCKS	32

struct audit_instance {
	uint32_t boot;		/* 0: unknown */
	uint32_t family;	/* 0: unknown */
};

struct audit_kseq {
	struct audit_kseq_lock {
		uint64_t last;		/* the last seq the log accounts for */
		struct audit_instance inst;	/* named by the last follow record */
		bool known;		/* last is meaningful */
		bool excused;		/* a record explains the next gap */
	} lock[AUDIT_KSEQ_LOCKS];
	uint64_t missing;		/* not in the log, no record says why */
	uint64_t gaps;			/* ... in so many gaps */
	uint64_t explained;		/* not in the log, a record says why */
};

/* Account for @r (records in log order). */
void audit_kseq_note(struct audit_kseq *k, const struct audit_record *r);
/*
 * The log holds @k; lock @device of instance @inst has emitted events up
 * to @seq, and safelockd follows it from now on (@why: "safelockd was not
 * running"). Returns true and fills @out (source, type, kseq, value, text)
 * if a record must go before the lock's next event: events-lost for the
 * events the log lacks, events-restart for a new instance.
 */
bool audit_kseq_follow(const struct audit_kseq *k, uint32_t device, uint64_t seq,
		       const struct audit_instance *inst, const char *why,
		       struct audit_record *out);

/* Export: one JSON object per record and line. */
int audit_format_json(const struct audit_record *rec, char *buf, size_t len);

#endif /* SAFELOCK_AUDIT_H */
