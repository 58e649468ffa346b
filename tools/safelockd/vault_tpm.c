// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM 2.0 vault, over tpm2-tss ESAPI. Documentation/security/vault.rst
 * is the long version of this comment.
 *
 * Keys and objects. A storage primary (ECC P-256, NODA, 32 random bytes in
 * its template's unique field) is created once and persisted at 0x81534c00
 * (vault_tpm_io.c); at each start the vault checks its public area and
 * that its Name is the one pinned in the table (vault_tpm_table.c): no
 * session is salted with another key.
 * Under it, each user has one sealed KEYEDHASH object for the code and, if
 * set, a second one for the duress code: userAuth = SHA-256(salt || code)
 * with a random per-object salt, authPolicy PolicyAuthValue, not NODA, so
 * every wrong code raises the TPM's dictionary-attack counter. The sealed
 * data are random bytes nobody uses: a successful Unseal is the proof. The
 * recovery secret has a sealed object too (NODA: 160 random bits need no
 * DA protection, and its failures must not lock out codes). Load, Create
 * and Unseal run in sessions salted with the primary (Load in an HMAC
 * session, so the TPM's answer proves it holds the pinned primary), with
 * parameter encryption where a secret travels. The objects' blobs, the roles, the policy and the audit key's
 * blob are the vault table on flash, authenticated by a commit record in
 * TPM NV (vault_tpm_table.c): a flash edit cannot promote a user, an older
 * copy cannot bring back a code.
 *
 * Throttling lives in TPM NV, not on flash (a flash image can be rolled
 * back; the TPM's NV cannot, short of TPM2_Clear, which also destroys every
 * sealed code). Two ordinary NV indices, not TPM2_NT_COUNTER: a counter
 * can never be decremented, and a success must bring a user's consecutive
 * failures back to 0.
 *
 *  - THROTTLE_NV (32 bytes): magic, the global consecutive failures (every
 *    user), the user whose try is counted but not yet settled ("pending",
 *    0 for none; 0xffff, written by older versions, for a try whose user
 *    was not known yet), the TPM clock of the last failure, and the recovery
 *    secret's own consecutive failures and last failure.
 *  - FAILS_NV (1000 bytes): byte U is user U's consecutive failures
 *    (saturating at 255).
 *
 * One verify:
 *   1. The TPM clock (tracked, see below); if the user or the lock is in a
 *      delay (schedule.c, counted from the last failure on the TPM clock),
 *      deny at once with the time left: no TPM auth, no count.
 *   2. COUNT, before the check, one NV write: global failures + 1, last
 *      failure = now, pending = user. Power cut from here on: the try is
 *      a failure (open() settles a pending try as one).
 *   3. Check: Load and Unseal of the code's object through the armed
 *      sessions; if that fails and the user has a duress code, Load and
 *      Unseal of the duress object in the same policy session (its policy
 *      state survives a failed authorization). The role comes from the table in
 *      memory: no TPM command.
 *   4. SETTLE, after the verdict is sent (finish()). Failure:
 *      FAILS_NV[user] + 1, then pending = 0. Success: FAILS_NV[user] = 0
 *      (if it was not), then global and last failure back to what they
 *      were before this try (it was no failure), pending = 0; global = 0
 *      only if the verifier said the verdict opens (opened(), after
 *      policy_verdict() GRANTED): an auditor's code, a courier's without
 *      override and an admin check() never reset the lock-wide count, so
 *      they cannot launder an attacker's wrong guesses. A cut between the two writes of a failure counts the try
 *      twice, never zero times. A cut between the verdict and the settle
 *      leaves the try pending: open() counts it as a failure, even after a
 *      GRANTED (the owner loses a free try, an attacker gains nothing).
 *
 * A right code of an auditor at the keypad is DENIED (auditors never open)
 * but settled as a success for its user: it is no failure, and it resets
 * nothing lock-wide. A DA lockout (TPM_RC_LOCKOUT)
 * is no check at all: the count is rolled back and the verdict says to
 * retry after the TPM's recovery time, so a DA lockout never pushes the
 * owner toward the schedule's hard limit. verify() says DENIED; check()
 * fails with -EBUSY and "TPM dictionary-attack lockout: try again in N
 * minutes", so that no admin client takes it for a wrong code. A lockout
 * met at the duress object, after the code's object said no, is a wrong
 * code: counted.
 *
 * What a person waits for is the TPM work after ENTER, so what does not
 * need the code happens before it. Two sessions stay armed between entries
 * (arm(): the salted HMAC session of the Loads, the salted encrypting policy
 * session with PolicyAuthValue, restarted after each use), and the TPM
 * clock is tracked on the monotonic clock (tracked_clock(): one ReadClock
 * every CLOCK_TRACK_MS). The kernel's ENTRY_BEGIN, at the first key of an
 * entry, only makes sure they are armed: nothing is counted, so an entry
 * abandoned before its user id costs no NV write. ENTRY_USER, once the user
 * id is typed, makes it a try: prepare_user() does steps 1 and 2 (pending =
 * the user) and Loads the user's objects. At ENTER the Unseal alone is
 * left: 1 TPM command before the verdict, right or wrong (2 for a user with
 * a duress code, wrong or duress); unprepared, 3 (count, Load, Unseal).
 * Then:
 *  - a VERIFY with another id or user, or none, or a check(): the stale
 *    preparation is abandoned and the work done unprepared;
 *  - abandoned (no VERIFY within VAULT_PREPARE_TTL_MS, a newer entry, a
 *    VERIFY for another): a try counted at its user id stays a failure of
 *    that user, never rolled back (NV says pending = the user; the next
 *    count's catch_up() writes the user's count). A stranger's abandoned
 *    entries are throttled like wrong codes, and so are their NV writes;
 *  - the verifier refuses it unchecked for a reason of its own (deadline
 *    passed, no policy, clock behind, a clean stop: cancel()): ROLLBACK,
 *    one NV write; if lost, the try stays counted;
 *  - user or lock in a delay at the user id: nothing is counted, and the
 *    VERIFY is denied unchecked with the time left;
 *  - power cut, crash, close() or a lost TPM after the count: the next
 *    start finds pending = the user and counts the failure.
 * A pending of 0xffff (PENDING_UNKNOWN), from a safelockd that counted at
 * the first key, is settled as a failure of the global count only.
 * Per-user delays count from the last failure of ANY user: never shorter
 * than from the user's own last failure, and it keeps NV use at one byte a
 * user. The state is cached in memory (safelockd is the only writer) and
 * read back from NV at each (re)connection.
 *
 * The TPM's dictionary-attack lockout stays on as a backstop, for someone
 * who gets past all this: root on the controller, or a thief who took the
 * TPM chip and the flash to a board of their own. Set when the NV indices
 * are first defined, then the lockout auth is thrown away (tpm_set_da()):
 *   maxTries 32. The schedule lets a DA counter reach at most 7 (15 when
 *     every user has a duress code: a wrong code then costs 2) before its
 *     delays outlast the DA decay; the rest is headroom for unclean power
 *     losses (each counts one DA failure, and only if a code was checked
 *     since the TPM started) and for duress-code and code changes of users
 *     with a duress code (one each, to refuse a duress code equal to the
 *     code). The owner is never locked out by the TPM for those.
 *   recoveryTime 600 s: one failure forgiven per 10 powered minutes after
 *     the last one; past 32, one guess per 10 minutes, 144 a day: 10^6
 *     codes in about 19 years, even with the schedule bypassed.
 *   lockoutRecovery 86400 s: a wrong lockout auth waits a day (nobody
 *     knows the lockout auth anyway).
 *
 * Errors at run time (vault_tpm_io.c): a busy TPM is retried with a
 * bounded backoff, full object or session memory is flushed of what the
 * vault does not hold and retried once, and a lost connection or a
 * restarted TPM makes the next operation reconnect: a new ESAPI context,
 * the primary and NV indices found again, the throttling state read back
 * and a try cut short settled as a failure, the table resolved again. An
 * operation that lost the TPM before it wrote anything runs once more on
 * the new connection; one that had counted a try reports the error (the
 * daemon denies) and the try stays counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <tss2/tss2_rc.h>

#include "vault_tpm.h"

uint64_t mono_ms(const struct tpm_vault *t)
{
	struct timespec ts;

	if (t->test_monotonic_ms)
		return t->test_monotonic_ms();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int refused(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t->refused)
		return 0;
	snprintf(v->errmsg, sizeof(v->errmsg), "%s", t->refused_msg);
	return t->refused;
}

/* Throttling state in TPM NV ----------------------------------------- */

TSS2_RC write_throttle(struct tpm_vault *t)
{
	uint8_t buf[THROTTLE_SIZE] = { 0 };

	put_be(buf, THROTTLE_MAGIC, 4);
	put_be(buf + 4, t->global_fails, 2);
	put_be(buf + 6, t->pending, 2);
	put_be(buf + 8, t->last_fail, 8);
	put_be(buf + 16, t->rec_fails, 2);
	put_be(buf + 24, t->rec_last_fail, 8);
	return nv_write(t, t->throttle_nv, buf, sizeof(buf), 0);
}

TSS2_RC write_user_fails(struct tpm_vault *t, unsigned int user)
{
	return nv_write(t, t->fails_nv, &t->fails[user], 1, (uint16_t)user);
}

/* Define or read back the throttling state; settle a try cut short. */
static int throttle_open(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	uint8_t buf[THROTTLE_SIZE];
	TSS2_RC rc;
	int ret, fresh;

	ret = nv_index(v, FAILS_NV, FAILS_SIZE, true, &t->fails_nv);
	if (ret < 0)
		return ret;
	fresh = ret;
	ret = nv_index(v, THROTTLE_NV, THROTTLE_SIZE, true, &t->throttle_nv);
	if (ret < 0)
		return ret;
	fresh |= ret;
	if (!fresh) {
		rc = nv_read(t, t->throttle_nv, buf, sizeof(buf));
		if (rc == 0 && get_be(buf, 4) == THROTTLE_MAGIC) {
			rc = nv_read(t, t->fails_nv, t->fails, sizeof(t->fails));
			if (rc)
				return tpm_fail(v, "read failure counts", rc);
			t->global_fails = (unsigned int)get_be(buf + 4, 2);
			t->pending = (unsigned int)get_be(buf + 6, 2);
			t->last_fail = get_be(buf + 8, 8);
			t->rec_fails = (unsigned int)get_be(buf + 16, 2);
			t->rec_last_fail = get_be(buf + 24, 8);
			goto settle;
		}
		/* never completed its first write: a first use cut short */
		if (rc && rc_base(rc) != TPM2_RC_NV_UNINITIALIZED)
			return tpm_fail(v, "read throttling state", rc);
	}
	/*
	 * first use: the DA backstop (its new auth travels in a session
	 * salted with the primary: not with one that is not the pinned one;
	 * a vault that got one is refused until wiped, which sets it up
	 * again), then zero counts, the header last
	 */
	ret = t->primary_bad ? 0 : tpm_set_da(v);
	if (ret)
		return ret;
	memset(t->fails, 0, sizeof(t->fails));
	t->global_fails = 0;
	t->pending = 0;
	t->last_fail = 0;
	t->rec_fails = 0;
	t->rec_last_fail = 0;
	rc = nv_write(t, t->fails_nv, t->fails, sizeof(t->fails), 0);
	if (!rc)
		rc = write_throttle(t);
	if (rc)
		return tpm_fail(v, "initialise throttling state", rc);
	return 0;
settle:
	if (t->pending > SAFELOCK_USER_ID_MAX && t->pending != PENDING_UNKNOWN) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "damaged throttling state");
		return -EBADMSG;
	}
	if (t->pending) {
		/*
		 * Counted before a check that never finished: a failure.
		 * Counted by prepare() (user unknown): the global count
		 * keeps it; no user's count can.
		 */
		rc = 0;
		if (t->pending != PENDING_UNKNOWN) {
			if (t->fails[t->pending] < UINT8_MAX)
				t->fails[t->pending]++;
			rc = write_user_fails(t, t->pending);
		}
		t->pending = 0;
		if (!rc)
			rc = write_throttle(t);
		if (rc)
			return tpm_fail(v, "settle an unfinished try", rc);
	}
	return 0;
}

/* Time left at @now of a delay @d counted from @last (ms), or DISABLED. */
unsigned int time_left(uint64_t d, uint64_t last, uint64_t now)
{
	/* the clock may go back a little after a power loss: wait longer */
	uint64_t elapsed = now > last ? now - last : 0;

	if (d >= VAULT_RETRY_DISABLED)
		return VAULT_RETRY_DISABLED;
	if (elapsed >= d)
		return 0;
	/* d < UINT32_MAX */
	return (unsigned int)(d - elapsed);
}

/*
 * Time left before a user with @user_fails may try at @now (ms), given
 * @global_fails and the @last_fail of any user; VAULT_RETRY_DISABLED.
 */
static unsigned int retry_after(unsigned int user_fails,
				unsigned int global_fails, uint64_t last_fail,
				uint64_t now)
{
	uint64_t du = vault_schedule_delay_ms(user_fails);
	uint64_t dg = vault_schedule_delay_ms(global_fails);

	return time_left(du > dg ? du : dg, last_fail, now);
}

/* Connection and set-up ----------------------------------------------- */

/* The primary, the throttling indices and the DA backstop. */
static int tpm_setup(struct vault *v, bool *created)
{
	struct tpm_vault *t = v->priv;
	int ret;

	ret = tpm_primary(v, true);
	if (ret < 0)
		return ret;
	if (created)
		*created = ret == 1;
	/* after a wipe: a new primary, and no table that pins another */
	t->primary_bad = false;
	ret = throttle_open(v);
	if (ret)
		return ret;
	t->need_setup = false;
	return 0;
}

/*
 * Connect and bring the vault up from what the TPM and the state directory
 * hold: at open(), and again after the TPM was lost. A wipe that was cut
 * short is finished first (the owner asked for it; nothing old may verify).
 */
static int tpm_start(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	uint8_t rec[STATE_SIZE];
	bool have_rec = false, created = false;
	TSS2_RC rc;
	int ret;

	ret = tpm_connect(v);
	if (ret)
		return ret;
	ret = nv_index(v, STATE_NV, STATE_SIZE, false, &t->state_nv);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	if (ret == 0) {
		rc = nv_read(t, t->state_nv, rec, sizeof(rec));
		if (!rc && get_be(rec, 4) != STATE_MAGIC) {
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "NV index 0x%08x is not a vault commit record",
				 STATE_NV);
			return -EBADMSG;
		}
		if (!rc) {
			have_rec = true;
			if (get_be(rec + 4, 4) & STATE_WIPING) {
				ret = tpm_wipe_steps(v);
				if (ret)
					return ret;
				have_rec = false;
			}
		} else if (rc_base(rc) != TPM2_RC_NV_UNINITIALIZED) {
			return tpm_fail(v, "read the vault's commit record", rc);
		}
	}
	ret = tpm_primary(v, true);
	if (ret < 0)
		return ret;
	created = ret == 1;
	ret = table_resolve(v, have_rec ? rec : NULL);
	if (ret)
		return ret;
	t->primary_bad = false;
	if (created && !t->refused &&
	    (t->tab.n_users || t->tab.recovery.len || t->tab.audit.len)) {
		t->refused = -ESTALE;
		snprintf(t->refused_msg, sizeof(t->refused_msg),
			 "the TPM's persisted primary key was gone (evicted, or the TPM was cleared): the sealed codes are lost; wipe");
	} else if (t->tab.pin.size &&
		   (t->tab.pin.size != t->primary_name.size ||
		    memcmp(t->tab.pin.name, t->primary_name.name,
			   t->tab.pin.size))) {
		/* no session salted with it, no object loaded under it */
		t->primary_bad = true;
		if (!t->refused) {
			t->refused = -EKEYREJECTED;
			snprintf(t->refused_msg, sizeof(t->refused_msg),
				 "the TPM's primary key is not the one recorded at init: a different TPM or an interposer");
		}
	}
	ret = throttle_open(v);
	if (ret)
		return ret;
	t->need_setup = false;
	/* a table from before the pin: pin the primary it was found with */
	if (!t->refused && !t->tab.pin.size &&
	    (t->tab.n_users || t->tab.recovery.len || t->tab.audit.len ||
	     t->tab.has_policy) && table_commit(v))
		fprintf(stderr, "safelockd: vault: unable to pin the primary: %s\n",
			v->errmsg);
	return 0;
}

/* Forget what lived in the lost connection; NV has the counts. */
static void drop_volatile(struct tpm_vault *t)
{
	t->prep_id = 0;
	t->prep_user = 0;
	t->prep_counted = false;
	t->after_arm = false;
	t->arm_fresh = false;
	t->clock_tracked = false;
	t->after_rollback = false;
	t->after_due = false;
}

/* Not open yet (keep_trying): every op fails with why, sending nothing. */
static int not_open(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	snprintf(v->errmsg, sizeof(v->errmsg), "the vault cannot be opened: %s",
		 t->open_err);
	return -ENODEV;
}

/* The state directory, made if missing (0700). */
static int open_dir(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (t->dirfd >= 0)
		return 0;
	if (mkdir(t->state_dir, 0700) < 0 && errno != EEXIST)
		return sys_fail(v, t->state_dir, errno);
	t->dirfd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0)
		return sys_fail(v, t->state_dir, errno);
	return 0;
}

/*
 * What of open() a fault of the TPM or of the flash can fail: the state
 * directory, the connection, the vault brought up from the TPM and the
 * table. Nothing is kept of a failed try: the next one starts afresh.
 */
static int bring_up(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	int ret;

	ret = open_dir(v);
	if (!ret)
		ret = tpm_start(v);
	if (ret) {
		tpm_disconnect(t);
		t->broken = false;
	}
	return ret;
}

/* A try to open failed (@ret, the reason in errmsg): wait longer. */
static void open_later(struct vault *v, int ret)
{
	struct tpm_vault *t = v->priv;

	snprintf(t->open_err, sizeof(t->open_err), "%.159s",
		 v->errmsg[0] ? v->errmsg : strerror(-ret));
	if (!t->unopened || !t->reopen_ms)
		t->reopen_ms = VAULT_REOPEN_FIRST_MS;
	else if (t->reopen_ms < VAULT_REOPEN_MAX_MS / 2)
		t->reopen_ms *= 2;
	else
		t->reopen_ms = VAULT_REOPEN_MAX_MS;
	t->unopened = true;
	t->reopen_at = mono_ms(t) + t->reopen_ms;
}

/*
 * Not open yet: try again if the backoff allows. 0 once open, else
 * -ENODEV and why (the last try's reason).
 */
static int reopen(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	int ret;

	if (mono_ms(t) < t->reopen_at)
		return not_open(v);
	v->errmsg[0] = '\0';
	ret = bring_up(v);
	if (ret) {
		open_later(v, ret);
		return not_open(v);
	}
	t->unopened = false;
	t->reopen_ms = 0;
	return 0;
}

int op_begin(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	int ret;

	v->errmsg[0] = '\0';
	if (!t)
		return -ENODEV;
	if (t->unopened)
		return not_open(v);
	tpm_finish(v);
	t->wrote = false;
	if (t->broken) {
		drop_volatile(t);
		ret = tpm_start(v);
		if (ret) {
			t->broken = true;
			return ret;
		}
	}
	if (t->need_setup) {
		ret = tpm_setup(v, NULL);
		if (ret)
			return ret;
	}
	t->wrote = false;
	return 0;
}

bool op_again(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t || !t->broken || t->wrote)
		return false;
	return op_begin(v) == 0;
}

static void tpm_close(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t)
		return;
	if (t->ctx && !t->broken) {
		/*
		 * No settling here (the verifier runs finish() after each
		 * verdict): a preparation or an unsettled try stays counted,
		 * as after a power cut.
		 */
		flush(t, &t->after_obj);
		flush(t, &t->after_obj2);
		flush(t, &t->prep_obj);
		flush(t, &t->prep_obj2);
		sessions_disarm(t);
	}
	tpm_disconnect(t);
	if (t->dirfd >= 0)
		close(t->dirfd);
	table_free(&t->tab);
	free(t->tcti_conf);
	free(t->state_dir);
	safelock_wipe(t, sizeof(*t));
	free(t);
	v->priv = NULL;
}

static int tpm_open(struct vault *v, const struct vault_config *cfg)
{
	struct sigaction sa;
	struct tpm_vault *t;
	int ret;

	v->errmsg[0] = '\0';
	t = calloc(1, sizeof(*t));
	if (!t)
		return sys_fail(v, "allocate", ENOMEM);
	t->v = v;
	t->dirfd = -1;
	t->clock_offset = cfg->test_clock_offset_ms;
	t->cut_after_count = cfg->test_cut_after_count;
	t->test_monotonic_ms = cfg->test_monotonic_ms;
	v->priv = t;
	tpm_disconnect(t);	/* every handle ESYS_TR_NONE */
	if ((cfg->tcti && !(t->tcti_conf = strdup(cfg->tcti))) ||
	    !(t->state_dir = strdup(cfg->state_dir))) {
		ret = sys_fail(v, "allocate", ENOMEM);
		goto fail;
	}
	/*
	 * A TPM on a socket (swtpm, mssim) that dies must be an error to
	 * reconnect from, not a SIGPIPE that kills safelockd.
	 */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	/* our own messages say what failed; TSS2_LOG still wins if set */
	setenv("TSS2_LOG", "all+none", 0);
	ret = policy_digest(t);
	if (ret) {
		snprintf(v->errmsg, sizeof(v->errmsg), "policy digest");
		goto fail;
	}
	ret = bring_up(v);
	if (ret && cfg->keep_trying) {
		/* registered as DAMAGED meanwhile; provisioned() retries */
		open_later(v, ret);
		return VAULT_OPEN_LATER;
	}
	if (ret)
		goto fail;
	return 0;
fail:
	tpm_close(v);
	return ret;
}

/* The clock and the armed sessions ------------------------------------ */

/*
 * The TPM clock, tracked: one ReadClock, then the monotonic time since,
 * read again after CLOCK_TRACK_MS or a reconnection. CLOCK_MONOTONIC stops
 * in suspend, while the TPM's clock runs on if the TPM stays powered:
 * the estimate can only fall behind the TPM's, which makes a delay
 * longer, never shorter; a reading behind what was seen is never used
 * (read_clock() keeps the highest). So a verify needs no ReadClock.
 */
static TSS2_RC tracked_clock(struct tpm_vault *t, uint64_t *now)
{
	uint64_t mono = mono_ms(t);
	TSS2_RC rc;

	if (t->clock_tracked && mono - t->clock_base_mono < CLOCK_TRACK_MS) {
		*now = t->clock_base + (mono - t->clock_base_mono);
		if (*now < t->clock_high)
			*now = t->clock_high;
		t->clock_high = *now;
		return 0;
	}
	rc = read_clock(t, now);
	if (rc)
		return rc;
	t->clock_tracked = true;
	t->clock_base = *now;
	t->clock_base_mono = mono;
	return 0;
}

/* Drop the armed sessions (a full session memory, a wipe, a close). */
void sessions_disarm(struct tpm_vault *t)
{
	flush(t, &t->arm_policy);
	flush(t, &t->arm_hmac);
	t->arm_fresh = false;
}

/*
 * Keep the sessions of a check armed, so that none is started after
 * ENTER: the salted HMAC session the Loads go through, and the salted
 * policy session with parameter encryption (the unsealed data come back
 * encrypted) with PolicyAuthValue done. An Unseal uses the policy state
 * up (success resets it, and a failure may); PolicyRestart and
 * PolicyAuthValue bring it back, after the verdict. 0 to 3 TPM commands;
 * on an error both are dropped (they may be gone with a TPM restart) and
 * the next arm() starts afresh.
 */
static TSS2_RC arm(struct tpm_vault *t)
{
	TSS2_RC rc = 0;

	t->arming = true;

	if (t->arm_hmac == ESYS_TR_NONE)
		rc = start_session(t, TPM2_SE_HMAC, 0, &t->arm_hmac);
	if (!rc && t->arm_policy == ESYS_TR_NONE) {
		rc = start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT,
				   &t->arm_policy);
		t->arm_fresh = false;
	} else if (!rc && !t->arm_fresh) {
		TPM_RUN(t, rc, Esys_PolicyRestart(t->ctx, t->arm_policy,
						  ESYS_TR_NONE, ESYS_TR_NONE,
						  ESYS_TR_NONE));
	}
	if (!rc && !t->arm_fresh)
		TPM_RUN(t, rc, Esys_PolicyAuthValue(t->ctx, t->arm_policy,
						    ESYS_TR_NONE, ESYS_TR_NONE,
						    ESYS_TR_NONE));
	t->arming = false;
	if (rc) {
		sessions_disarm(t);
		return rc;
	}
	t->arm_fresh = true;
	return 0;
}

/*
 * Did the last command fail as one through a session or object the TPM no
 * longer has would (a TPM reset under an open connection: /dev/tpmrm0
 * after a resume)? Not for a lost connection (reconnected at the next
 * operation), nor for a full memory (flushed and retried already).
 */
static bool stale_sessions(const struct tpm_vault *t)
{
	TSS2_RC b = rc_base(t->last_rc);

	return !t->broken && t->last_rc && b != TPM2_RC_OBJECT_MEMORY &&
	       b != TPM2_RC_SESSION_MEMORY && b != TPM2_RC_MEMORY &&
	       b != TPM2_RC_LOCKOUT;
}

/*
 * Load @slot through the armed HMAC session. The armed sessions outlive
 * entries, so a TPM reset while the lock was idle leaves them dangling:
 * a Load that fails for any reason but a lost connection is tried once
 * more with sessions armed afresh (the objects are gone with them).
 */
static int load_armed(struct vault *v, const struct vault_slot *slot, ESYS_TR *obj)
{
	struct tpm_vault *t = v->priv;
	TSS2_RC rc;
	int ret;

	rc = arm(t);
	if (rc)
		return tpm_fail(v, "salted sessions", rc);
	ret = slot_load(v, slot, t->arm_hmac, obj);
	if (ret >= 0 || !stale_sessions(t))
		return ret;
	sessions_disarm(t);
	rc = arm(t);
	if (rc)
		return tpm_fail(v, "salted sessions", rc);
	return slot_load(v, slot, t->arm_hmac, obj);
}

/* Checking a code ----------------------------------------------------- */

/* Stand-in TPM work for an unknown user: one command, as one Unseal. */
static void decoy(struct tpm_vault *t)
{
	uint64_t now;

	read_clock(t, &now);
}

/*
 * The check itself: VAULT_GRANTED, VAULT_DENIED, -EBUSY (DA lockout: not
 * checked) or -errno; res->role and res->duress for a right code. The
 * user's objects are those prepare_user() loaded (t->prep_obj,
 * t->prep_obj2), or loaded here. They are left in t->after_obj* for
 * finish(), after the verdict; the armed sessions stay.
 */
static int check_code(struct vault *v, unsigned int user_id, const char *code,
		      size_t len, struct vault_result *res)
{
	struct tpm_vault *t = v->priv;
	const struct vault_urec *u = &t->tab.users[user_id];
	TSS2_RC rc;
	int ret;

	t->after_obj = t->prep_obj;
	t->prep_obj = ESYS_TR_NONE;
	t->after_obj2 = t->prep_obj2;
	t->prep_obj2 = ESYS_TR_NONE;
	if (u->role == SAFELOCK_ROLE_NONE) {
		decoy(t);
		snprintf(v->errmsg, sizeof(v->errmsg), "user not enrolled");
		return VAULT_DENIED;
	}
	rc = arm(t);
	if (rc)
		return tpm_fail(v, "salted sessions", rc);
	if (t->after_obj == ESYS_TR_NONE) {
		ret = load_armed(v, &u->code, &t->after_obj);
		if (ret)
			return ret;
	}
	t->arm_fresh = false;
	ret = slot_unseal(v, t->after_obj, t->arm_policy, &u->code, code, len);
	if (ret < 0 && ret != -EBUSY && stale_sessions(t)) {
		/* sessions or objects gone with a TPM reset: once more afresh */
		flush(t, &t->after_obj);
		flush(t, &t->after_obj2);
		sessions_disarm(t);
		ret = load_armed(v, &u->code, &t->after_obj);
		if (ret)
			return ret;
		t->arm_fresh = false;
		ret = slot_unseal(v, t->after_obj, t->arm_policy, &u->code, code, len);
	}
	if (ret == VAULT_GRANTED)
		res->role = (enum safelock_role)u->role;
	if (ret != VAULT_DENIED || !u->duress.len)
		return ret;
	/* not the code: the duress code? (the same session) */
	if (t->after_obj2 == ESYS_TR_NONE) {
		ret = load_armed(v, &u->duress, &t->after_obj2);
		if (ret)
			return ret;
	}
	ret = slot_unseal(v, t->after_obj2, t->arm_policy, &u->duress, code, len);
	if (ret == VAULT_GRANTED) {
		res->role = (enum safelock_role)u->role;
		res->duress = true;
	}
	/* the code's object was checked: a lockout now is a wrong code */
	if (ret != -EBUSY)
		return ret;
	snprintf(v->errmsg, sizeof(v->errmsg),
		 "not the code; the duress code not checked: TPM dictionary-attack lockout");
	return VAULT_DENIED;
}

/* A settle that failed to reach NV earlier: write it now. */
static TSS2_RC catch_up(struct tpm_vault *t)
{
	TSS2_RC rc;

	if (!t->pending || t->pending == PENDING_UNKNOWN)
		return 0;
	rc = write_user_fails(t, t->pending);
	if (!rc)
		t->pending = 0;
	return rc;
}

/*
 * Undo a count for which no code was checked: global failures and last
 * failure back to @global and @last, nothing pending. If the write fails,
 * whether it reached NV is unknown: keep it counted.
 */
static int uncount(struct vault *v, unsigned int global, uint64_t last)
{
	struct tpm_vault *t = v->priv;
	unsigned int counted_global = t->global_fails;
	uint64_t counted_fail = t->last_fail;
	unsigned int counted_pending = t->pending;
	TSS2_RC rc;

	t->global_fails = global;
	t->last_fail = last;
	t->pending = 0;
	rc = write_throttle(t);
	if (rc) {
		t->global_fails = counted_global;
		t->last_fail = counted_fail;
		t->pending = counted_pending;
		return tpm_fail(v, "roll back a try that was not checked", rc);
	}
	return 0;
}

/*
 * COUNT a try of @user_id at @now before its check, one NV write (a settle
 * that failed earlier first): global failures + 1, last failure = @now,
 * pending = @user_id. The counts before it go to @prev_global and
 * @prev_fail. If the write fails, whether it reached NV is unknown: the
 * try stays counted in memory.
 */
static int count_try(struct vault *v, unsigned int user_id, uint64_t now,
		     unsigned int *prev_global, uint64_t *prev_fail)
{
	struct tpm_vault *t = v->priv;
	TSS2_RC rc;

	rc = catch_up(t);
	if (rc)
		return tpm_fail(v, "settle an earlier try", rc);
	*prev_global = t->global_fails;
	*prev_fail = t->last_fail;
	if (t->global_fails < UINT16_MAX)
		t->global_fails++;
	t->last_fail = now;
	t->pending = user_id;
	rc = write_throttle(t);
	if (rc)
		return tpm_fail(v, "count the try", rc);
	return 0;
}

static void flush_prepared(struct tpm_vault *t)
{
	flush(t, &t->prep_obj);
	flush(t, &t->prep_obj2);
}

/*
 * The entry prepared is over without a check of its code: abandoned at
 * the keypad (no VERIFY came before VAULT_PREPARE_TTL_MS, or a newer entry
 * began), or a VERIFY for another user. A try counted at its user id
 * stays a failure of that user: never rolled back, so a stranger's
 * abandoned entries cost the NV writes of failures and are throttled
 * like them. No NV write here: THROTTLE_NV says pending = that user, and
 * the next count (catch_up()) or open() writes the user's count.
 */
void abandon(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	unsigned int u = t->prep_user;

	if (!t->prep_id)
		return;
	if (t->prep_counted && t->fails[u] < UINT8_MAX)
		t->fails[u]++;
	t->prep_id = 0;
	t->prep_user = 0;
	t->prep_counted = false;
	flush_prepared(t);
}

/*
 * The verifier refuses the prepared entry unchecked for a reason of its
 * own (its deadline passed, no policy in force, the clock behind, a clean
 * stop): no code was checked, so its count is rolled back (one NV write;
 * none of these is a stranger's doing). If the write fails, the try stays
 * counted.
 */
int rollback(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	bool counted = t->prep_counted;

	if (!t->prep_id)
		return 0;
	t->prep_id = 0;
	t->prep_user = 0;
	t->prep_counted = false;
	t->after_rollback = false;
	flush_prepared(t);
	if (!counted)
		return 0;
	if (t->broken)		/* NV keeps it counted: settled at restart */
		return -EIO;
	return uncount(v, t->prep_global, t->prep_last_fail);
}

/*
 * After the verdict: flush what the check loaded, settle (NV writes),
 * arm the sessions again for the next entry. Only safe-side work waits
 * here: if power is lost before it is done, THROTTLE_NV still says the try
 * is counted and pending, and open() settles it as a failure; a GRANTED
 * that never got its reset costs the owner a try, never the attacker. A
 * rollback waiting here (a DA lockout) likewise stays counted if lost.
 */
int tpm_finish(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	unsigned int u;
	TSS2_RC rc = 0;
	int ret = 0;

	if (!t)
		return 0;
	flush(t, &t->after_obj);
	flush(t, &t->after_obj2);
	t->after_opened_ok = false;
	if (t->broken) {	/* NV has the count; the restart settles it */
		drop_volatile(t);
		return 0;
	}
	if (t->after_rollback) {
		t->after_rollback = false;
		ret = uncount(v, t->after_global, t->after_last_fail);
	} else if (t->after_due) {
		t->after_due = false;
		u = t->after_user;
		if (t->after_user_write)
			rc = write_user_fails(t, u);
		if (!rc) {
			t->pending = 0;
			rc = write_throttle(t);
		}
		if (rc) {
			/* NV may still hold the count: be what open() would settle */
			if (t->after_granted) {
				t->global_fails = t->after_global;
				t->last_fail = t->after_last_fail;
				if (t->fails[u] < UINT8_MAX)
					t->fails[u]++;
			}
			t->pending = u;
			return tpm_fail(v, t->after_granted ? "settle a success" :
					"settle a failure", rc);
		}
	}
	if (t->after_arm) {
		t->after_arm = false;
		/* best effort: the next check arms them if this fails */
		arm(t);
	}
	return ret;
}

/*
 * prepare() (ENTRY_BEGIN, the first key): note the entry, and arm the
 * sessions if they are not (no NV write, nothing counted: an entry
 * abandoned before its user id costs nothing). A preparation of an older
 * entry still open is abandoned.
 */
static int do_prepare(struct vault *v, uint64_t request_id)
{
	struct tpm_vault *t = v->priv;
	uint64_t now;
	TSS2_RC rc;
	int ret;

	ret = op_begin(v);
	if (ret)
		return ret;
	if (t->prep_id == request_id)
		return 0;
	abandon(v);
	if (!request_id)
		return -EINVAL;
	ret = refused(v);
	if (ret)
		return ret;
	t->prep_id = request_id;
	t->prep_mono = mono_ms(t);
	rc = arm(t);
	if (!rc)
		rc = tracked_clock(t, &now);
	if (rc)
		return tpm_fail(v, "arm the sessions", rc);
	return 0;
}

static int tpm_prepare(struct vault *v, uint64_t request_id)
{
	int ret = do_prepare(v, request_id);

	if (ret && op_again(v))
		ret = do_prepare(v, request_id);
	return ret;
}

/*
 * prepare_user() (ENTRY_USER, the user id typed): the try is a try from
 * here. Unless the user or the lock is in a delay, COUNT it (one NV write:
 * global failures + 1, last failure = now, pending = the user, exactly as
 * an unprepared verify() does before its check), then Load the user's
 * sealed code (and duress code) through the armed HMAC session. Left for
 * ENTER: the Unseal alone. A user who is not enrolled is counted the same
 * (nothing tells them apart before the verdict).
 */
static int do_prepare_user(struct vault *v, uint64_t request_id,
			   unsigned int user_id)
{
	struct tpm_vault *t = v->priv;
	const struct vault_urec *u;
	uint64_t now;
	TSS2_RC rc;
	int ret;

	ret = op_begin(v);
	if (ret)
		return ret;
	if (t->prep_id == request_id && t->prep_user == user_id && user_id)
		return 0;	/* the same notice again */
	if (t->prep_id != request_id || t->prep_user) {
		abandon(v);
		t->prep_id = request_id;
		t->prep_mono = mono_ms(t);
	}
	if (!request_id || user_id < 1 || user_id > SAFELOCK_USER_ID_MAX) {
		t->prep_id = 0;
		snprintf(v->errmsg, sizeof(v->errmsg), "malformed user id");
		return -EINVAL;
	}
	ret = refused(v);
	if (ret)
		return ret;
	t->prep_user = user_id;
	rc = tracked_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	/* in a delay: the VERIFY is denied unchecked, nothing to count */
	if (retry_after(t->fails[user_id], t->global_fails, t->last_fail, now))
		return 0;
	ret = count_try(v, user_id, now, &t->prep_global, &t->prep_last_fail);
	if (ret)
		return ret;
	t->prep_counted = true;
	t->prep_clock = now;
	t->prep_mono = mono_ms(t);
	tpm_point("prepare:counted");
	u = &t->tab.users[user_id];
	if (u->role == SAFELOCK_ROLE_NONE)
		return 0;
	/* best effort from here: verify() loads what is not loaded */
	ret = load_armed(v, &u->code, &t->prep_obj);
	if (!ret && u->duress.len)
		ret = load_armed(v, &u->duress, &t->prep_obj2);
	return ret;
}

static int tpm_prepare_user(struct vault *v, uint64_t request_id,
			    unsigned int user_id)
{
	struct tpm_vault *t = v->priv;
	int ret = do_prepare_user(v, request_id, user_id);

	/* once counted, never counted again: the next VERIFY loads itself */
	if (ret && !t->prep_counted && op_again(v))
		ret = do_prepare_user(v, request_id, user_id);
	return ret;
}

static int tpm_cancel(struct vault *v, uint64_t request_id)
{
	struct tpm_vault *t = v->priv;
	int ret;

	if (t && t->unopened)	/* nothing was prepared */
		return 0;
	ret = op_begin(v);
	if (ret || !t->prep_id || (request_id && request_id != t->prep_id))
		return ret;
	return rollback(v);
}

static void tpm_expire(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t)
		return;
	tpm_finish(v);
	if (t->prep_id && mono_ms(t) - t->prep_mono >= VAULT_PREPARE_TTL_MS)
		abandon(v);
}

/*
 * Throttle, count, check, settle: see the comment at the top. verify()
 * with @admin false, check() with @admin true (never prepared; an
 * auditor's right code is GRANTED).
 *
 * Prepared (prepare_user() for this request id and user): the count is in
 * NV and the objects are loaded: the Unseal alone is left (two for a
 * wrong code of a user with a duress code, or that code). Prepared in a
 * delay: denied unchecked, nothing counted, no TPM command.
 *
 * Unprepared: the tracked clock (no ReadClock); in a delay nothing more.
 * Otherwise the count (one NV write), Load, Unseal through the armed
 * sessions: 3 TPM commands before the verdict. After it (finish()):
 * flushes, one or two NV writes, the sessions armed again.
 */
static int do_check(struct vault *v, uint64_t request_id, unsigned int user_id,
		    const char *code, size_t len, unsigned int *retry_after_ms,
		    struct vault_result *res, bool admin)
{
	struct tpm_vault *t = v->priv;
	uint64_t now, prev_fail = 0;
	unsigned int left, prev_global = 0;
	bool prepared, counted = false;
	TSS2_RC rc;
	int ret;

	*retry_after_ms = 0;
	res->role = SAFELOCK_ROLE_NONE;
	res->duress = false;
	/* an error of the last settle is in memory already, conservatively */
	ret = op_begin(v);
	t->after_opened_ok = false;
	if (ret)
		return ret;
	prepared = !admin && t->prep_id && t->prep_id == request_id &&
		   t->prep_user && t->prep_user == user_id;
	if (prepared) {
		counted = t->prep_counted;
		prev_global = t->prep_global;
		prev_fail = t->prep_last_fail;
		t->prep_id = 0;
		t->prep_user = 0;
		t->prep_counted = false;
		if (counted)
			t->wrote = true;	/* this try is counted: never run again */
	} else {
		abandon(v);	/* a stale preparation: a failure if counted */
	}
	ret = refused(v);
	if (ret) {
		if (counted)
			goto counted_unchecked;
		return ret;
	}
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX ||
	    !safelock_code_valid(code, len)) {
		snprintf(v->errmsg, sizeof(v->errmsg), "malformed user or code");
		ret = VAULT_DENIED;
		if (counted)
			goto counted_unchecked;
		return ret;
	}
	rc = tracked_clock(t, &now);
	if (rc) {
		ret = tpm_fail(v, "read TPM clock", rc);
		if (counted)
			goto counted_unchecked;
		return ret;
	}
	/* the delay as it was before this try was counted */
	left = counted ? retry_after(t->fails[user_id], prev_global, prev_fail, now) :
			 retry_after(t->fails[user_id], t->global_fails, t->last_fail, now);
	if (left) {
		*retry_after_ms = left;
		snprintf(v->errmsg, sizeof(v->errmsg), "%s",
			 left == VAULT_RETRY_DISABLED ?
			 "code entry disabled: too many failures" :
			 "in a delay: not checked");
		ret = VAULT_DENIED;
		if (counted)
			goto counted_unchecked;
		flush_prepared(t);
		return ret;
	}

	if (!counted) {
		flush_prepared(t);	/* loaded for a try not counted */
		ret = count_try(v, user_id, now, &prev_global, &prev_fail);
		if (ret) {
			*retry_after_ms = retry_after(t->fails[user_id],
						      t->global_fails,
						      t->last_fail, now);
			return ret;
		}
	}
	tpm_point("verify:counted");
	t->after_arm = true;
	if (t->cut_after_count) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "test: power cut after the count");
		return -ECANCELED;
	}

	ret = check_code(v, user_id, code, len, res);
	tpm_point("verify:checked");

	if (ret == -EBUSY) {
		/* DA lockout: nothing was checked; not a failure */
		t->after_global = prev_global;
		t->after_last_fail = prev_fail;
		t->after_rollback = true;
		*retry_after_ms = da_lockout(v);
		/*
		 * At the keypad a DENIED; an admin check() an error, not a
		 * DENIED: the admin server would call it a wrong code.
		 */
		return admin ? -EBUSY : VAULT_DENIED;
	}
	/*
	 * Settle in memory now, in NV after the verdict (finish()). NV says
	 * pending = this user since the count: a cut before the settle is a
	 * failure of this user, so whoever learns a DENIED has had it
	 * counted without another write before the verdict.
	 */
	t->after_due = true;
	t->after_user = user_id;
	t->after_granted = ret == VAULT_GRANTED;
	t->after_global = t->global_fails;
	t->after_last_fail = t->last_fail;
	t->pending = user_id;
	if (ret == VAULT_GRANTED) {
		t->after_user_write = t->fails[user_id] != 0;
		t->fails[user_id] = 0;
		/*
		 * This try was no failure: the lock-wide count as before it.
		 * Reset to 0 only by opened(), for a verdict that opens.
		 */
		t->global_fails = prev_global;
		t->last_fail = prev_fail;
		t->after_opened_ok = !admin &&
				     res->role != SAFELOCK_ROLE_AUDITOR;
		if (!admin && res->role == SAFELOCK_ROLE_AUDITOR) {
			/* a right code, but auditors never open */
			snprintf(v->errmsg, sizeof(v->errmsg),
				 "auditor: never opens");
			ret = VAULT_DENIED;
		}
	} else {
		/* a denial, or an error after the count: a failure */
		if (t->fails[user_id] < UINT8_MAX)
			t->fails[user_id]++;
		t->after_user_write = true;
		/* the delay counts from ENTER, not from the count */
		t->last_fail = now;
		*retry_after_ms = retry_after(t->fails[user_id], t->global_fails,
					      t->last_fail, now);
	}
	return ret;

counted_unchecked:
	/*
	 * Counted at its user id, then refused unchecked (malformed, refused
	 * table, in a delay that began meanwhile, no clock): a failure of the
	 * user, settled after the verdict like a wrong code; never rolled
	 * back.
	 */
	flush_prepared(t);
	if (t->fails[user_id] < UINT8_MAX)
		t->fails[user_id]++;
	t->pending = user_id;
	t->after_due = true;
	t->after_user = user_id;
	t->after_granted = false;
	t->after_user_write = true;
	t->after_global = t->global_fails;
	t->after_last_fail = t->last_fail;
	if (ret == VAULT_DENIED && !*retry_after_ms)
		*retry_after_ms = retry_after(t->fails[user_id], t->global_fails,
					      t->last_fail, t->last_fail);
	return ret;
}

static int tpm_verify(struct vault *v, uint64_t request_id,
		      unsigned int user_id, const char *code, size_t len,
		      unsigned int *retry_after_ms, struct vault_result *res)
{
	struct vault_result ignored;
	int ret;

	if (!res)
		res = &ignored;
	ret = do_check(v, request_id, user_id, code, len, retry_after_ms, res,
		       false);
	if (ret < 0 && op_again(v))
		ret = do_check(v, request_id, user_id, code, len,
			       retry_after_ms, res, false);
	return ret;
}

static int tpm_check(struct vault *v, unsigned int user_id, const char *code,
		     size_t len, unsigned int *retry_after_ms,
		     struct vault_result *res)
{
	struct vault_result ignored;
	int ret;

	if (!res)
		res = &ignored;
	ret = do_check(v, 0, user_id, code, len, retry_after_ms, res, true);

	if (ret < 0 && op_again(v))
		ret = do_check(v, 0, user_id, code, len, retry_after_ms, res,
			       true);
	if (tpm_finish(v) && ret >= 0)
		fprintf(stderr, "safelockd: vault: after a check: %s\n",
			v->errmsg);
	return ret;
}

static int do_throttle(struct vault *v, unsigned int user_id,
		       struct vault_throttle *st)
{
	struct tpm_vault *t = v->priv;
	uint64_t now;
	TSS2_RC rc;
	int ret;

	ret = op_begin(v);
	if (ret)
		return ret;
	if (user_id < 1 || user_id > SAFELOCK_USER_ID_MAX) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "user id must be 1 to %d", SAFELOCK_USER_ID_MAX);
		return -EINVAL;
	}
	rc = tracked_clock(t, &now);
	if (rc)
		return tpm_fail(v, "read TPM clock", rc);
	st->user_failures = t->fails[user_id];
	st->global_failures = t->global_fails;
	st->retry_after_ms = retry_after(t->fails[user_id], t->global_fails,
					 t->last_fail, now);
	return 0;
}

static int tpm_throttle(struct vault *v, unsigned int user_id,
			struct vault_throttle *st)
{
	int ret = do_throttle(v, user_id, st);

	if (ret < 0 && op_again(v))
		ret = do_throttle(v, user_id, st);
	return ret;
}

/*
 * EMPTY, OWNED, DAMAGED (vault.h). A TPM that does not answer: -errno,
 * which the caller takes as DAMAGED; never EMPTY.
 */
static int tpm_provisioned(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	int ret;

	/* not open yet: the one op that tries again (the verifier's tick) */
	if (t && t->unopened && reopen(v))
		return -ENODEV;
	ret = op_begin(v);
	if (ret == -ENODEV)
		return ret;
	if (ret && op_again(v))
		ret = 0;
	if (ret)
		return ret;
	if (refused(v))
		return SAFELOCK_VAULT_DAMAGED;
	return t->tab.n_users ? SAFELOCK_VAULT_OWNED : SAFELOCK_VAULT_EMPTY;
}

/* The verdict of the last verify() opens: reset the lock-wide count. */
static int tpm_opened(struct vault *v)
{
	struct tpm_vault *t = v->priv;

	if (!t || !t->after_due || !t->after_granted || !t->after_opened_ok)
		return 0;
	t->after_opened_ok = false;
	t->global_fails = 0;
	return 0;
}

static int do_clock_ms(struct vault *v, uint64_t *ms)
{
	struct tpm_vault *t = v->priv;
	TSS2_RC rc;
	int ret;

	ret = op_begin(v);
	if (ret)
		return ret;
	rc = tracked_clock(t, ms);
	if (rc)
		return tpm_fail(v, "unable to read the TPM clock", rc);
	return 0;
}

static int tpm_clock_ms(struct vault *v, uint64_t *ms)
{
	int ret = do_clock_ms(v, ms);

	if (ret < 0 && op_again(v))
		ret = do_clock_ms(v, ms);
	return ret;
}

/* From the table in memory: no TPM command. */
static int tpm_clock_anchor(struct vault *v, struct vault_clock_anchor *a)
{
	struct tpm_vault *t = v->priv;

	if (!t || t->unopened)
		return -ENODEV;
	if (t->refused)
		return t->refused;
	if (!t->tab.has_anchor)
		return -ENOENT;
	*a = t->tab.anchor;
	return 0;
}

/* table_commit() reads the TPM clock and writes the anchor while set. */
static void tpm_clock_vouch(struct vault *v, uint64_t wall_s)
{
	struct tpm_vault *t = v->priv;

	if (t)
		t->vouch_wall_s = wall_s;
}

/* enrol (tests only): add the user (001 as owner), or change their code. */
static int tpm_enrol(struct vault *v, unsigned int user_id, const char *code,
		     size_t len)
{
	struct tpm_vault *t = v->priv;

	if (t && user_id >= 1 && user_id <= SAFELOCK_USER_ID_MAX && !t->refused &&
	    t->tab.users[user_id].role != SAFELOCK_ROLE_NONE)
		return tpm_code_change(v, user_id, code, len);
	return tpm_user_add(v, user_id, user_id == 1 ? SAFELOCK_ROLE_OWNER :
			    SAFELOCK_ROLE_USER, code, len);
}

const struct vault_ops vault_tpm_ops = {
	.name = "tpm",
	.open = tpm_open,
	.close = tpm_close,
	.enrol = tpm_enrol,
	.prepare = tpm_prepare,
	.prepare_user = tpm_prepare_user,
	.cancel = tpm_cancel,
	.expire = tpm_expire,
	.verify = tpm_verify,
	.finish = tpm_finish,
	.throttle = tpm_throttle,
	.provisioned = tpm_provisioned,
	.clock_ms = tpm_clock_ms,
	.opened = tpm_opened,
	.clock_anchor = tpm_clock_anchor,
	.clock_vouch = tpm_clock_vouch,
	.check = tpm_check,
	.user_add = tpm_user_add,
	.user_del = tpm_user_del,
	.user_set_role = tpm_user_set_role,
	.user_list = tpm_user_list,
	.code_change = tpm_code_change,
	.duress_set = tpm_duress_set,
	.recovery_new = tpm_recovery_new,
	.recovery_check = tpm_recovery_check,
	.wipe = tpm_wipe,
	.policy_store = tpm_policy_store,
	.policy_load = tpm_policy_load,
	.audit_key = tpm_audit_key,
	.anchor_store = tpm_anchor_store,
	.anchor_load = tpm_anchor_load,
};
