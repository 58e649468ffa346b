/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TPM 2.0 vault's insides, shared by its files (not by safelockd):
 *
 *   vault_tpm.c        the operations safelockd calls: open, the
 *                      throttled check (prepare, verify, check, finish),
 *                      reconnection after TPM errors
 *   vault_tpm_io.c     TPM plumbing: connection, retries, the persisted
 *                      primary, NV indices, sessions, sealed objects
 *   vault_tpm_table.c  the vault table on flash: users, roles, duress and
 *                      recovery objects, policy, the audit key; its
 *                      commit record in TPM NV
 *   vault_tpm_admin.c  administration, lifecycle (recovery, wipe), policy
 *                      and audit operations
 *
 * The design is described at the top of vault_tpm.c and in
 * Documentation/security/vault.rst.
 */
#ifndef SAFELOCKD_VAULT_TPM_H
#define SAFELOCKD_VAULT_TPM_H

#include <stdbool.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "libsafelock.h"
#include "vault.h"

/* Handles in the owner ranges: "SL" */
#define PRIMARY_HANDLE		0x81534c00	/* persistent storage primary */
#define THROTTLE_NV		0x01534c00	/* global count, pending, clocks */
#define FAILS_NV		0x01534c01	/* one byte per user */
#define STATE_NV		0x01534c02	/* the table's commit record */
#define ANCHOR_NV		0x01534c03	/* the audit log's anchor */

#define THROTTLE_MAGIC		0x534c5432	/* "SLT2" */
#define THROTTLE_SIZE		32
#define FAILS_SIZE		(SAFELOCK_USER_ID_MAX + 1)
#define STATE_MAGIC		0x534c5331	/* "SLS1" */
#define STATE_SIZE		48
#define STATE_WIPING		0x1		/* a wipe has begun: finish it */
/*
 * The committed table has no user: losing it loses no owner. A record
 * without it (every record before this flag, and every table with a
 * user) says an owner's table exists: a missing one is DAMAGED.
 */
#define STATE_UNOWNED		0x2
#define ANCHOR_MAGIC		0x534c4131	/* "SLA1" */
#define ANCHOR_SIZE		48
#define NV_CHUNK		512		/* <= TPM2_PT_NV_BUFFER_MAX */

/* DA backstop: see vault_tpm.c */
#define DA_MAX_TRIES		32
#define DA_RECOVERY_S		600
#define DA_LOCKOUT_RECOVERY_S	86400

#define SALT_SIZE		32
#define SEAL_SIZE		32
/* TPM2B_PUBLIC + TPM2B_PRIVATE, marshalled */
#define SLOT_BLOB_MAX		(sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE))

/* The recovery secret's raw bytes */
#define RECOVERY_BYTES		(SAFELOCK_RECOVERY_BITS / 8)

/* pending: a try counted by prepare(), whose user is not known yet */
#define PENDING_UNKNOWN		0xffff

/* How long the TPM clock is tracked on the monotonic clock between reads */
#define CLOCK_TRACK_MS		(10 * 60 * 1000)

/* One sealed object on flash: its salt and the TPM's wrapped blob. */
struct vault_slot {
	uint8_t salt[SALT_SIZE];
	uint16_t len;		/* 0: empty */
	uint8_t *blob;		/* marshalled TPM2B_PUBLIC, TPM2B_PRIVATE */
};

struct vault_urec {
	uint8_t role;		/* enum safelock_role; NONE: no such user */
	struct vault_slot code, duress;
};

/* The vault table (vault_tpm_table.c): everything on flash. */
struct vault_table {
	uint64_t version;	/* of the last commit; 0: none */
	/* the TPM Name of the primary the table's objects live under */
	TPM2B_NAME pin;		/* size 0: none recorded (an older table) */
	bool has_policy;
	struct safelock_admin_policy policy;
	struct vault_slot recovery;
	struct vault_slot audit;	/* HMAC key; salt unused */
	struct vault_urec users[SAFELOCK_USER_ID_MAX + 1];
	unsigned int n_users;
	/* the wall clock's anchor (vault.h); has_anchor false: none */
	bool has_anchor;
	struct vault_clock_anchor anchor;
};

#define HELD_MAX	8

struct tpm_vault {
	struct vault *v;		/* for v->commands and v->errmsg */
	char *tcti_conf;		/* NULL: the default TCTI */
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	bool broken;			/* reconnect before the next operation */
	/*
	 * open() with keep_trying could not open it: every op fails with
	 * open_err; provisioned() retries at reopen_at (monotonic ms), the
	 * wait doubling from VAULT_REOPEN_FIRST_MS to VAULT_REOPEN_MAX_MS
	 */
	bool unopened;
	char open_err[160];
	uint64_t reopen_at;
	unsigned int reopen_ms;
	char *state_dir;
	bool wrote;			/* this operation changed the TPM */
	bool in_recovery;		/* flushing after a memory-full error */
	bool arming;			/* arm() runs: its sessions stay */
	TSS2_RC last_rc;		/* of the last tpm_fail() */
	ESYS_TR primary;
	TPM2B_NAME primary_name;	/* as ESAPI holds it, checked */
	/* not the pinned primary: no session may be salted with it */
	bool primary_bad;
	uint64_t clock_high;		/* highest TPM clock read (ms) */
	ESYS_TR throttle_nv, fails_nv, state_nv, anchor_nv;
	TPM2B_DIGEST policy;		/* PolicyAuthValue digest */
	ESYS_TR held[HELD_MAX];		/* transient handles in use by us */
	int dirfd;
	/* nothing of ours in the TPM (after a wipe): set up at next use */
	bool need_setup;
	/* the table was refused: every use fails with it */
	int refused;
	char refused_msg[192];
	struct vault_table tab;
	/* cached copy of the NV throttling state */
	unsigned int global_fails;
	unsigned int pending;
	uint64_t last_fail;
	unsigned int rec_fails;		/* recovery secret: its own count */
	uint64_t rec_last_fail;
	uint8_t fails[FAILS_SIZE];
	uint64_t clock_offset;
	/* clock_vouch(): commits carry the anchor (this, TPM clock); 0: no */
	uint64_t vouch_wall_s;
	bool cut_after_count;
	uint64_t (*test_monotonic_ms)(void);
	/*
	 * The TPM clock tracked on the monotonic clock (tracked_clock()):
	 * clock_base read at clock_base_mono; read again after CLOCK_TRACK_MS
	 */
	bool clock_tracked;
	uint64_t clock_base, clock_base_mono;
	/* armed sessions (arm()): salted HMAC for Loads, policy for Unseal */
	ESYS_TR arm_hmac, arm_policy;
	bool arm_fresh;			/* arm_policy has PolicyAuthValue, unused */
	/* the entry under way (prepare(), prepare_user()) */
	uint64_t prep_id;		/* its request id; 0: none */
	unsigned int prep_user;		/* its user id once known; 0: not yet */
	bool prep_counted;		/* its try is counted in NV */
	uint64_t prep_mono;		/* monotonic ms of its last notice */
	uint64_t prep_clock;		/* TPM clock at the count */
	unsigned int prep_global;	/* global failures before the count */
	uint64_t prep_last_fail;	/* last failure before the count */
	ESYS_TR prep_obj, prep_obj2;	/* the user's code, duress code, loaded */
	/* left by verify() for finish(), after the verdict */
	ESYS_TR after_obj, after_obj2;	/* to flush */
	bool after_arm;			/* arm the sessions again */
	bool after_rollback;		/* a count undone: nothing was checked */
	bool after_due;			/* settle after_user in NV */
	bool after_granted;
	bool after_user_write;		/* FAILS_NV[after_user] changed */
	unsigned int after_user;
	unsigned int after_global;	/* counted state, before a success */
	uint64_t after_last_fail;
	/* a success: the counts before this try, for opened() */
	bool after_opened_ok;		/* opened() may reset the global count */
	unsigned int after_prev_global;
	uint64_t after_prev_fail;
};

/*
 * Tests only: called at named points inside operations ("verify:counted",
 * "wipe:marked", ...) so a test can cut the TPM's power there. NULL in
 * safelockd, which never sets it.
 */
extern void (*vault_tpm_test_point)(const char *where);
void tpm_point(const char *where);

/*
 * Run one ESAPI call, counted in v->commands, with the error handling of
 * vault_tpm_io.c: busy TPM (RETRY, YIELDED, TESTING, NV_RATE): retried
 * with a bounded backoff; object or session memory full: foreign
 * transient objects and sessions flushed, then retried once; connection
 * lost or TPM restarted: t->broken set, so the next operation reconnects.
 */
#define TPM_RUN(t, rc, call)						\
	do {								\
		unsigned int tpm_try_ = 0;				\
		do {							\
			(t)->v->commands++;				\
			(rc) = (call);					\
		} while (tpm_again((t), (rc), &tpm_try_));		\
	} while (0)

/* vault_tpm_io.c ------------------------------------------------------ */
bool tpm_again(struct tpm_vault *t, TSS2_RC rc, unsigned int *tries);
bool tpm_rc_lost(TSS2_RC rc);
TSS2_RC rc_base(TSS2_RC rc);
int tpm_fail(struct vault *v, const char *what, TSS2_RC rc);
int sys_fail(struct vault *v, const char *what, int err);
int tpm_connect(struct vault *v);
void tpm_disconnect(struct tpm_vault *t);
int tpm_primary(struct vault *v, bool create);
/* The primary's Name, from the public area ESAPI will salt with: 0/-errno */
int primary_name(struct tpm_vault *t, ESYS_TR h, TPM2B_NAME *name);
int tpm_set_da(struct vault *v);
/* TPM_RC_LOCKOUT met: the wait in ms, said in v->errmsg */
unsigned int da_lockout(struct vault *v);
void hold(struct tpm_vault *t, ESYS_TR h);
void flush(struct tpm_vault *t, ESYS_TR *h);
TSS2_RC start_session(struct tpm_vault *t, TPM2_SE type, TPMA_SESSION attrs,
		      ESYS_TR *s);
int policy_digest(struct tpm_vault *t);
int derive_auth(const uint8_t *salt, const void *secret, size_t len,
		TPM2B_AUTH *auth);
int nv_index(struct vault *v, TPM2_HANDLE handle, uint16_t size, bool define,
	     ESYS_TR *nv);
int nv_undefine(struct vault *v, TPM2_HANDLE handle, ESYS_TR *nv);
TSS2_RC nv_write(struct tpm_vault *t, ESYS_TR nv, const uint8_t *buf,
		 size_t len, uint16_t off);
TSS2_RC nv_read(struct tpm_vault *t, ESYS_TR nv, uint8_t *buf, size_t len);
TSS2_RC read_clock(struct tpm_vault *t, uint64_t *now);
TSS2_RC get_random(struct tpm_vault *t, uint8_t *buf, size_t len);
void put_be(uint8_t *p, uint64_t v, int n);
uint64_t get_be(const uint8_t *p, int n);
/* Seal random data behind SHA-256(salt || secret): a new slot. */
int seal(struct vault *v, const void *secret, size_t len, bool noda,
	 struct vault_slot *slot);
/*
 * Load @slot under the primary, authorised through @s, an HMAC session
 * salted with the (pinned) primary, or ESYS_TR_NONE: one is started for
 * this Load and flushed. 0 or -errno (message in v)
 */
int slot_load(struct vault *v, const struct vault_slot *slot, ESYS_TR s,
	      ESYS_TR *obj);
/*
 * Unseal @obj with @secret through policy session @s (PolicyAuthValue
 * done): VAULT_GRANTED, VAULT_DENIED (wrong secret), -EBUSY (DA lockout:
 * not checked) or -errno.
 */
int slot_unseal(struct vault *v, ESYS_TR obj, ESYS_TR s,
		const struct vault_slot *slot, const void *secret, size_t len);
void slot_free(struct vault_slot *s);

/* vault_tpm_table.c --------------------------------------------------- */
void table_free(struct vault_table *tab);
int table_commit(struct vault *v);
int table_resolve(struct vault *v, const uint8_t *rec);
void table_policy_defaults(struct safelock_admin_policy *p);
int table_policy_check(const struct safelock_admin_policy *p, char *why,
		       size_t len);
/* The state record in NV: its encoding */
void state_record(uint8_t rec[STATE_SIZE], uint32_t flags, uint64_t version,
		  const uint8_t hash[32]);

/* Crockford base32 text of the recovery secret */
void recovery_encode(const uint8_t raw[RECOVERY_BYTES],
		     char text[SAFELOCK_RECOVERY_TEXT_SIZE]);
/* 0, or -EINVAL; constant time in the symbols' values */
int recovery_decode(const char *text, uint8_t raw[RECOVERY_BYTES]);

/* vault_tpm.c --------------------------------------------------------- */
/*
 * The start of every operation: finish() what the last verify left, then
 * reconnect if the TPM was lost, set up after a wipe; clears t->wrote.
 * 0 or -errno.
 */
int op_begin(struct vault *v);
/* An operation that failed on a lost TPM before it wrote: run it again? */
bool op_again(struct vault *v);
int tpm_finish(struct vault *v);
/* Roll back a preparation (its count): 0 or -errno */
int rollback(struct vault *v);
void abandon(struct vault *v);
void sessions_disarm(struct tpm_vault *t);
TSS2_RC write_throttle(struct tpm_vault *t);
TSS2_RC write_user_fails(struct tpm_vault *t, unsigned int user);
unsigned int time_left(uint64_t d, uint64_t last, uint64_t now);
uint64_t mono_ms(const struct tpm_vault *t);
/* The user table refused: -errno and the reason in v->errmsg, else 0 */
int refused(struct vault *v);

/* vault_tpm_admin.c --------------------------------------------------- */
int tpm_user_add(struct vault *v, unsigned int user_id,
		 enum safelock_role role, const char *code, size_t len);
int tpm_user_del(struct vault *v, unsigned int user_id);
int tpm_user_set_role(struct vault *v, unsigned int user_id,
		      enum safelock_role role);
int tpm_user_list(struct vault *v, struct vault_user *out, size_t max,
		  size_t *n);
int tpm_code_change(struct vault *v, unsigned int user_id, const char *code,
		    size_t len);
int tpm_duress_set(struct vault *v, unsigned int user_id, const char *code,
		   size_t len);
int tpm_recovery_new(struct vault *v, char text[SAFELOCK_RECOVERY_TEXT_SIZE]);
int tpm_recovery_check(struct vault *v, const char *text,
		       unsigned int *retry_after_ms);
int tpm_wipe(struct vault *v);
/* The wipe itself, also run by open() to finish one cut short. */
int tpm_wipe_steps(struct vault *v);
int tpm_policy_store(struct vault *v, const struct safelock_admin_policy *p);
int tpm_policy_load(struct vault *v, struct safelock_admin_policy *p);
int tpm_audit_key(struct vault *v, const uint8_t file_id[16], uint8_t key[32]);
int tpm_anchor_store(struct vault *v, const struct audit_anchor *a);
int tpm_anchor_load(struct vault *v, struct audit_anchor *a);

#endif /* SAFELOCKD_VAULT_TPM_H */
