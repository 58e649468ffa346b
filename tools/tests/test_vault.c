// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault against a real TPM 2.0: swtpm on a unix socket, in a fresh
 * temporary state directory. The code is random digits made at run time.
 * Then the throttling: count before check (a simulated power cut), the
 * schedule, reboot, global counting, the DA backstop, the hard limit.
 * Then prepare() and prepare_user() (the kernel's ENTRY_BEGIN and
 * ENTRY_USER): a prepared try behaves as an unprepared one, leaves one TPM
 * command for after ENTER, costs nothing before its user id, stays a
 * failure when its VERIFY never comes, and stays counted across a power
 * cut; a flood of abandoned entries writes NV only as the schedule allows.
 *
 * Usage: test_vault [TOOLS_DIR]   (SKIPs every test if swtpm is absent)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "libsafelock.h"
#include "../safelockd/vault.h"
#include "swtpm.h"
#include "tap.h"

#define NTESTS 45
#define NTHROTTLE 14
#define NPREPARE 17

static struct swtpm sw;
static struct vault_result vres;

/*
 * verify() as safelockd calls it: a GRANTED that its policy_verdict()
 * turns into an opening (every role but auditor and courier, under the
 * default policy) is reported with opened(), which alone resets the
 * lock-wide failure count.
 */
static int verify_opens(struct vault *v, uint64_t req, unsigned int user,
			const char *code, size_t len, unsigned int *ra,
			struct vault_result *r)
{
	int ret = v->ops->verify(v, req, user, code, len, ra, r);

	if (ret == VAULT_GRANTED && r->role != SAFELOCK_ROLE_COURIER &&
	    v->ops->opened)
		v->ops->opened(v);
	return ret;
}

/* Close and open the vault again ("reboot" of safelockd) with @cfg. */
static bool reopen(struct vault *v, const struct vault_config *cfg)
{
	if (v->priv)
		v->ops->close(v);
	if (v->ops->open(v, cfg)) {
		tap_diag("reopen: %s", v->errmsg);
		return false;
	}
	return true;
}

static bool counts(struct vault *v, unsigned int user, unsigned int uf,
		   unsigned int gf, struct vault_throttle *st)
{
	if (v->ops->throttle(v, user, st)) {
		tap_diag("throttle: %s", v->errmsg);
		return false;
	}
	if (st->user_failures != uf || st->global_failures != gf) {
		tap_diag("user %u: %u failures (want %u), global %u (want %u), retry after %u ms",
			 user, st->user_failures, uf, st->global_failures, gf,
			 st->retry_after_ms);
		return false;
	}
	return true;
}

/* The injectable monotonic clock of the vault: real time + mono_skip. */
static uint64_t mono_skip;

static uint64_t test_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	       mono_skip;
}

struct outcome {
	int ret;
	unsigned int ra, uf, gf;
	unsigned long cmds;	/* TPM commands inside verify(): after ENTER */
};

/*
 * One try of @user with @code as request @req, prepared first if @prep
 * (as after the ENTRY_BEGIN and ENTRY_USER of @req).
 */
static bool try_as(struct vault *v, bool prep, uint64_t req, unsigned int user,
		   const char *code, size_t len, struct outcome *o)
{
	struct vault_throttle st;
	unsigned long c;

	if (prep && (v->ops->prepare(v, req) || v->ops->prepare_user(v, req, user))) {
		tap_diag("prepare: %s", v->errmsg);
		return false;
	}
	c = v->commands;
	o->ret = verify_opens(v, req, user, code, len, &o->ra, &vres);
	o->cmds = v->commands - c;
	if (v->ops->finish(v))
		tap_diag("finish: %s", v->errmsg);
	if (v->ops->throttle(v, user, &st))
		return false;
	o->uf = st.user_failures;
	o->gf = st.global_failures;
	return true;
}

/* Prepared unless @req is 0. */
static bool attempt(struct vault *v, uint64_t req, unsigned int user,
		    const char *code, size_t len, struct outcome *o)
{
	return try_as(v, req != 0, req, user, code, len, o);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	if (a->ret == b->ret && a->ra == b->ra && a->uf == b->uf && a->gf == b->gf)
		return true;
	tap_diag("unprepared: ret %d ra %u user %u global %u; prepared: ret %d ra %u user %u global %u",
		 a->ret, a->ra, a->uf, a->gf, b->ret, b->ra, b->uf, b->gf);
	return false;
}

/* prepare(), cancel(), expire(): NPREPARE TAP lines. Ends with no failures. */
static void preparing(struct vault *v, struct vault_config *cfg)
{
	char c6[SAFELOCK_CODE_BUF], w[SAFELOCK_CODE_BUF];
	struct outcome u[3], p[3], o;
	struct vault_throttle st;
	unsigned long c, cmds;
	int first = tap_count;
	unsigned int i;
	bool ok;

	sw_random_code(c6, 7);
	sw_wrong_of(c6, 7, w, 3);
	if (v->ops->finish(v) || v->ops->enrol(v, 6, c6, 7)) {
		tap_diag("enrol: %s", v->errmsg);
		goto broken;
	}
	/* wrong, wrong, right: unprepared, then the same prepared */
	ok = attempt(v, 0, 6, w, 7, &u[0]) && attempt(v, 0, 6, w, 7, &u[1]) &&
	     attempt(v, 0, 6, c6, 7, &u[2]) &&
	     attempt(v, 1001, 6, w, 7, &p[0]) && attempt(v, 1002, 6, w, 7, &p[1]) &&
	     attempt(v, 1003, 6, c6, 7, &p[2]);
	tap_ok(ok && u[0].ret == VAULT_DENIED && u[2].ret == VAULT_GRANTED &&
	       u[1].uf == 2 && u[1].gf == 2 && u[2].uf == 0 && u[2].gf == 0 &&
	       same(&u[0], &p[0]) && same(&u[1], &p[1]) && same(&u[2], &p[2]),
	       "prepared wrong, wrong, right: same verdicts, retry-afters and counts as unprepared");
	/* armed sessions, tracked clock: count + Load + Unseal; prepared: Unseal */
	if (!tap_ok(ok && u[0].cmds == 3 && u[2].cmds == 3 && p[0].cmds == 1 &&
		    p[2].cmds == 1,
		    "TPM commands after ENTER: %lu unprepared, prepared %lu (granted) or %lu (denied)",
		    u[2].cmds, p[2].cmds, p[0].cmds))
		tap_diag("unprepared %lu %lu %lu, prepared %lu %lu %lu",
			 u[0].cmds, u[1].cmds, u[2].cmds, p[0].cmds, p[1].cmds,
			 p[2].cmds);

	/* five prepared wrong codes: the schedule as without preparation */
	ok = true;
	for (i = 0; i < 5 && ok; i++) {
		ok = attempt(v, 1010 + i, 6, w, 7, &o) && o.ret == VAULT_DENIED &&
		     (i < 4 ? o.ra == 0 : o.ra > 0 && o.ra <= 60000);
	}
	c = v->nv_writes;
	ok = ok && attempt(v, 1020, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_DENIED && o.ra > 0 && o.uf == 5 && o.gf == 5 &&
	       v->nv_writes == c,
	       "prepared in the delay: the right code is denied unchecked, nothing counted or written (5/5, %lu NV writes)",
	       v->nv_writes - c);
	cfg->test_clock_offset_ms += 61 * 1000;
	ok = reopen(v, cfg) && attempt(v, 1021, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.uf == 0 && o.gf == 0,
	       "prepared, 61 s later the right code is granted; counts reset");

	/* an entry begun, never reaching its user id: nothing at all */
	c = v->nv_writes;
	ok = v->ops->prepare(v, 1029) == 0 && counts(v, 6, 0, 0, &st);
	cmds = v->commands;
	ok = ok && v->ops->prepare(v, 1030) == 0 && counts(v, 6, 0, 0, &st);
	tap_ok(ok && v->nv_writes == c && v->commands == cmds,
	       "entries begun but abandoned before the user id: nothing counted, no NV write (%lu), no TPM command at all",
	       v->nv_writes - c);
	/* its user id typed: a try from here, counted before any code */
	ok = v->ops->prepare_user(v, 1030, 6) == 0 && counts(v, 6, 0, 1, &st);
	tap_ok(ok && v->nv_writes == c + 1,
	       "at the user id the try is counted (global 1) before any code is known: one NV write");
	mono_skip += VAULT_PREPARE_TTL_MS - 1000;
	v->ops->expire(v);
	ok = counts(v, 6, 0, 1, &st);
	mono_skip += 2000;
	v->ops->expire(v);
	tap_ok(ok && counts(v, 6, 1, 1, &st) && v->nv_writes == c + 1,
	       "no VERIFY within %d s: abandoned, a failure of its user (1, global 1), never rolled back, no NV write",
	       VAULT_PREPARE_TTL_MS / 1000);
	ok = try_as(v, false, 1030, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.cmds == 4 && o.gf == 0 && o.uf == 0,
	       "its VERIFY after expiry still works, unprepared (%lu TPM commands: the abandoned try's write, count, Load, Unseal)",
	       o.cmds);

	/* a VERIFY for another id: the stale preparation is a failure */
	ok = v->ops->prepare(v, 1040) == 0 && v->ops->prepare_user(v, 1040, 6) == 0 &&
	     try_as(v, false, 1041, 6, w, 7, &o);
	tap_ok(ok && o.ret == VAULT_DENIED && o.cmds > 2 && o.uf == 2 && o.gf == 2,
	       "a VERIFY with another id works unprepared; the stale try stays a failure (2, global 2)");
	ok = try_as(v, false, 1042, 6, c6, 7, &o);

	/* a cut right after a prepared denial: the user's count is in NV */
	ok = ok && o.ret == VAULT_GRANTED &&
	     v->ops->prepare(v, 1045) == 0 && v->ops->prepare_user(v, 1045, 6) == 0 &&
	     verify_opens(v, 1045, 6, w, 7, &o.ra, &vres) == VAULT_DENIED;
	v->ops->close(v);	/* no finish(): power lost after the verdict */
	ok = ok && sw_power_cut(&sw) && reopen(v, cfg);
	tap_ok(ok && counts(v, 6, 1, 1, &st),
	       "power cut after a prepared denial: counted for the user and globally");
	ok = try_as(v, false, 1046, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.uf == 0 && o.gf == 0,
	       "then the right code is granted and the counts reset");

	/* power cut while prepared: before the user id nothing, after it a failure */
	ok = v->ops->prepare(v, 1049) == 0;
	v->ops->close(v);
	ok = ok && sw_power_cut(&sw) && reopen(v, cfg) && counts(v, 6, 0, 0, &st);
	ok = ok && v->ops->prepare(v, 1050) == 0 && v->ops->prepare_user(v, 1050, 6) == 0;
	v->ops->close(v);
	ok = ok && sw_power_cut(&sw) && reopen(v, cfg);
	tap_ok(ok && counts(v, 6, 1, 1, &st),
	       "a try cut by a power loss after its user id is a failure after reboot (1, global 1); before it, nothing");
	ok = v->ops->prepare(v, 1060) == 0 && v->ops->prepare_user(v, 1060, 6) == 0 &&
	     counts(v, 6, 1, 2, &st) && v->ops->cancel(v, 1060) == 0 &&
	     counts(v, 6, 1, 1, &st) && attempt(v, 1061, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.uf == 0 && o.gf == 0,
	       "cancel() (the verifier refuses unchecked) rolls back; then the right code is granted and the counts reset");

	/*
	 * A keypad flood: 10,000 entries abandoned before their user id,
	 * then 1,000 abandoned after it (every new entry ends the last).
	 * NV writes: none for the first; for the second, two per try the
	 * schedule lets count (the count, then the user's count written at
	 * the next count), until the delay after 5 failures stops counting.
	 */
	c = v->nv_writes;
	ok = true;
	for (i = 0; i < 10000 && ok; i++)
		ok = v->ops->prepare(v, 20000 + i) == 0;
	tap_ok(ok && v->nv_writes == c && counts(v, 6, 0, 0, &st),
	       "a flood of 10,000 entries abandoned before the user id: %lu NV writes, nothing counted",
	       v->nv_writes - c);
	c = v->nv_writes;
	for (i = 0; i < 1000 && ok; i++)
		ok = v->ops->prepare(v, 40000 + i) == 0 &&
		     v->ops->prepare_user(v, 40000 + i, 1 + i % 9) == 0;
	/* a new entry ends the last (expire() would move the tracked clock) */
	ok = ok && v->ops->prepare(v, 49999) == 0 && counts(v, 6, 0, 5, &st);
	tap_ok(ok && st.retry_after_ms > 0 && v->nv_writes - c <= 2 * 5,
	       "a flood of 1,000 entries abandoned after the user id: 5 counted, then the delay; %lu NV writes (bound 10)",
	       v->nv_writes - c);
	/* the owner, answered at once in the delay; 61 s later, granted */
	cmds = v->commands;
	ok = attempt(v, 50000, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_DENIED && o.ra > 0 && v->commands - cmds <= 2,
	       "a real entry during the flood's delay: denied unchecked with retry-after %u ms, %lu TPM commands",
	       o.ra, v->commands - cmds);
	cfg->test_clock_offset_ms += 61 * 1000;
	ok = reopen(v, cfg) && attempt(v, 50001, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.gf == 0,
	       "after the delay the owner's right code is granted; the lock-wide count reset");
	goto out;
broken:
	while (tap_count < first + NPREPARE)
		tap_skip("prepare", "setup failed");
out:
	safelock_wipe(c6, sizeof(c6));
	safelock_wipe(w, sizeof(w));
}

/* The throttling tests: NTHROTTLE TAP lines. */
static void throttling(struct vault *v, struct vault_config *cfg)
{
	char c4[SAFELOCK_CODE_BUF], c5[SAFELOCK_CODE_BUF], w[SAFELOCK_CODE_BUF];
	struct vault_throttle st;
	unsigned int ra = 0, i;
	UINT32 da[3] = { 0 };
	int first = tap_count;
	uint64_t prev, d;
	bool ok;
	int ret;

	w[0] = '\0';
	sw_random_code(c4, 8);
	sw_random_code(c5, 6);
	/* the schedule: monotonic, 5 free tries, disabled at the hard limit */
	ok = true;
	for (i = 1, prev = 0; i <= VAULT_HARD_LIMIT + 5; prev = d, i++) {
		d = vault_schedule_delay_ms(i);
		ok &= d >= prev;
	}
	tap_ok(ok && vault_schedule_delay_ms(0) == 0 &&
	       vault_schedule_delay_ms(4) == 0 && vault_schedule_delay_ms(5) > 0 &&
	       vault_schedule_delay_ms(VAULT_HARD_LIMIT - 1) < VAULT_RETRY_DISABLED &&
	       vault_schedule_delay_ms(VAULT_HARD_LIMIT) == VAULT_RETRY_DISABLED,
	       "schedule: monotonic, 5 free tries, disabled at %d", VAULT_HARD_LIMIT);

	/* the DA backstop, read back from the TPM */
	v->ops->close(v);
	ok = sw_props(&sw, TPM2_PT_MAX_AUTH_FAIL, 3, da);
	if (!tap_ok(ok && da[0] == 32 && da[1] == 600 && da[2] == 86400,
		    "DA parameters read back: maxTries 32, recovery 600 s, lockout recovery 86400 s"))
		tap_diag("read %d: %u %u %u", ok, da[0], da[1], da[2]);
	if (!reopen(v, cfg))
		goto broken;
	if (v->ops->enrol(v, 4, c4, 8) || v->ops->enrol(v, 5, c5, 6)) {
		tap_diag("enrol: %s", v->errmsg);
		goto broken;
	}

	/* count before check: cut after the count, TPM power lost, reboot */
	cfg->test_cut_after_count = true;
	ok = reopen(v, cfg);
	ret = ok ? verify_opens(v, 0, 4, c4, 8, &ra, &vres) : 0;
	cfg->test_cut_after_count = false;
	v->ops->close(v);
	ok = ok && ret == -ECANCELED && sw_power_cut(&sw) && reopen(v, cfg);
	if (!tap_ok(ok && counts(v, 4, 1, 1, &st),
		    "a try cut short after the count (TPM power lost) is a failure after reboot"))
		goto broken;
	ret = verify_opens(v, 0, 4, c4, 8, &ra, &vres);
	tap_ok(ret == VAULT_GRANTED && ra == 0 && counts(v, 4, 0, 0, &st),
	       "a success resets the user's and the global consecutive failures");

	/* five wrong codes; the fifth answer carries the first delay */
	ok = true;
	for (i = 0; i < 5; i++) {
		sw_wrong_of(c5, 6, w, i);
		ret = verify_opens(v, 0, 5, w, 6, &ra, &vres);
		ok &= ret == VAULT_DENIED;
		ok &= i < 4 ? ra == 0 : ra > 0 && ra <= 60000;
	}
	tap_ok(ok && counts(v, 5, 5, 5, &st),
	       "5 wrong codes: denied, counted; the 5th verdict says retry after %u ms", ra);
	ret = verify_opens(v, 0, 5, c5, 6, &ra, &vres);
	tap_ok(ret == VAULT_DENIED && ra > 0 && ra <= 60000 &&
	       counts(v, 5, 5, 5, &st),
	       "the right code in the delay: denied unchecked, not counted, retry after %u ms", ra);
	ret = verify_opens(v, 0, 4, c4, 8, &ra, &vres);
	tap_ok(ret == VAULT_DENIED && ra > 0 && counts(v, 4, 0, 5, &st),
	       "another user's right code is refused too: the global count is in a delay");
	ok = reopen(v, cfg);
	tap_ok(ok && counts(v, 5, 5, 5, &st) && st.retry_after_ms > 0,
	       "counts and delay survive a restart of the vault (%u ms left)",
	       st.retry_after_ms);
	v->ops->close(v);
	tap_ok(sw_stop(&sw) && sw_start(&sw) && reopen(v, cfg) &&
	       counts(v, 5, 5, 5, &st) && st.retry_after_ms > 0,
	       "counts and delay survive a TPM restart (%u ms left)",
	       st.retry_after_ms);
	cfg->test_clock_offset_ms += 61 * 1000;
	ok = reopen(v, cfg);
	ret = ok ? verify_opens(v, 0, 5, c5, 6, &ra, &vres) : -1;
	tap_ok(ret == VAULT_GRANTED && ra == 0 && counts(v, 5, 0, 0, &st),
	       "61 s of TPM clock later the right code is granted; counts reset");

	/* the global count across two users */
	sw_wrong_of(c4, 8, w, 0);
	ok = verify_opens(v, 0, 4, w, 8, &ra, &vres) == VAULT_DENIED;
	sw_wrong_of(c5, 6, w, 0);
	ok &= verify_opens(v, 0, 5, w, 6, &ra, &vres) == VAULT_DENIED;
	tap_ok(ok && counts(v, 4, 1, 2, &st) && counts(v, 5, 1, 2, &st),
	       "the global counter counts failures of two users");
	ret = verify_opens(v, 0, 4, c4, 8, &ra, &vres);
	tap_ok(ret == VAULT_GRANTED && counts(v, 4, 0, 0, &st) &&
	       counts(v, 5, 1, 0, &st),
	       "user 4's success clears its count and the global one, not user 5's");

	/* the hard limit: an unknown user, each try after the delay */
	ok = true;
	for (i = 0; i < VAULT_HARD_LIMIT && ok; i++) {
		cfg->test_clock_offset_ms += 25ULL * 3600 * 1000;
		ok = reopen(v, cfg) &&
		     verify_opens(v, 0, 7, c4, 8, &ra, &vres) == VAULT_DENIED;
	}
	tap_ok(ok && ra == VAULT_RETRY_DISABLED && counts(v, 7, 20, 20, &st),
	       "%d failures: entry disabled (retry after 0x%x)", VAULT_HARD_LIMIT, ra);
	cfg->test_clock_offset_ms += 30ULL * 24 * 3600 * 1000;
	ok = reopen(v, cfg);
	ret = ok ? verify_opens(v, 0, 4, c4, 8, &ra, &vres) : -1;
	tap_ok(ret == VAULT_DENIED && ra == VAULT_RETRY_DISABLED &&
	       counts(v, 4, 0, 20, &st),
	       "30 days later still disabled, for every user, right code refused");
	goto out;
broken:
	while (tap_count < first + NTHROTTLE)
		tap_skip("throttling", "setup failed");
out:
	safelock_wipe(c4, sizeof(c4));
	safelock_wipe(c5, sizeof(c5));
	safelock_wipe(w, sizeof(w));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n values (sorts them). */
static uint64_t median(uint64_t *x, int n)
{
	qsort(x, (size_t)n, sizeof(*x), cmp_u64);
	return x[n / 2];
}

/*
 * One verification, timed: NTIMED right codes unprepared (the whole
 * verify()), and NTIMED prepared (prepare() and prepare_user() while
 * "typing", then verify(): what is left after ENTER). Median and the TPM commands of each.
 */
#define NTIMED 100

static void timing(struct vault *v, const char *code, size_t len)
{
	uint64_t full[NTIMED], enter[NTIMED], t0;
	unsigned long c_full = 0, c_enter = 0, c;
	unsigned int ra;
	int i, granted = 0;

	for (i = 0; i < NTIMED; i++) {
		c = v->commands;
		t0 = sw_now_us();
		granted += verify_opens(v, 0, 1, code, len, &ra, &vres) ==
			   VAULT_GRANTED;
		full[i] = sw_now_us() - t0;
		c_full = v->commands - c;
		v->ops->finish(v);
	}
	for (i = 0; i < NTIMED; i++) {
		if (v->ops->prepare(v, 5000 + (uint64_t)i) ||
		    v->ops->prepare_user(v, 5000 + (uint64_t)i, 1))
			break;
		c = v->commands;
		t0 = sw_now_us();
		granted += verify_opens(v, 5000 + (uint64_t)i, 1, code, len,
					  &ra, &vres) == VAULT_GRANTED;
		enter[i] = sw_now_us() - t0;
		c_enter = v->commands - c;
		v->ops->finish(v);
	}
	tap_ok(granted == 2 * NTIMED && c_full == 3 && c_enter == 1,
	       "one verification with swtpm, median of %d: %.2f ms unprepared (%lu TPM commands), %.2f ms after ENTER prepared (%lu)",
	       NTIMED, median(full, NTIMED) / 1000.0, c_full,
	       median(enter, NTIMED) / 1000.0, c_enter);
}

/* Does any file of the state directory hold @code or SHA-256(s || code)? */
static int dir_leaks(const char *code, size_t len)
{
	char path[PATH_MAX + 300];
	unsigned char md[32];
	unsigned int mdlen;
	struct dirent *de;
	int leak = 0, fd;
	unsigned char *buf;
	ssize_t n;
	size_t i;
	DIR *d = opendir(sw.statedir);

	if (!d)
		return -1;
	buf = malloc(1 << 21);
	while (buf && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", sw.statedir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, 1 << 21);
		close(fd);
		if (n <= 0)
			continue;
		leak |= memmem(buf, (size_t)n, code, len) != NULL;
		/* any 32 bytes of the file as the salt */
		for (i = 0; i + 32 <= (size_t)n && !leak; i++) {
			EVP_MD_CTX *c = EVP_MD_CTX_new();

			EVP_DigestInit_ex(c, EVP_sha256(), NULL);
			EVP_DigestUpdate(c, buf + i, 32);
			EVP_DigestUpdate(c, code, len);
			EVP_DigestFinal_ex(c, md, &mdlen);
			EVP_MD_CTX_free(c);
			leak |= memmem(buf, (size_t)n, md, sizeof(md)) != NULL;
		}
	}
	closedir(d);
	free(buf);
	return leak;
}

int main(void)
{
	struct vault_config cfg = {
		.tcti = sw.tcti, .state_dir = sw.statedir,
		.test_monotonic_ms = test_mono,
	};
	struct vault v = { .ops = &vault_tpm_ops };
	char code[SAFELOCK_CODE_BUF], wrong[SAFELOCK_CODE_BUF];
	char tab[PATH_MAX + 32];
	unsigned int ra = 0;
	struct stat st;
	size_t len;
	int i, ret;

	tap_plan(NTESTS);
	if (!sw_in_path("swtpm") || !sw_in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!sw_init(&sw, "vault")) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tab, sizeof(tab), "%s/vault.tab", sw.statedir);

	len = SAFELOCK_CODE_MIN_DIGITS + (size_t)(time(NULL) %
		(SAFELOCK_CODE_MAX_DIGITS - SAFELOCK_CODE_MIN_DIGITS + 1));
	sw_random_code(code, len);
	sw_wrong_of(code, len, wrong, 0);

	if (!tap_ok(sw_start(&sw), "swtpm starts")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault", "swtpm did not start");
		goto out;
	}
	ret = v.ops->open(&v, &cfg);
	if (!tap_ok(ret == 0, "vault opens on %s", sw.tcti)) {
		tap_diag("%s", v.errmsg);
		for (i = 2; i < NTESTS - 1; i++)
			tap_skip("vault", "vault did not open");
		goto stop;
	}
	tap_ok(v.ops->provisioned(&v) == 0, "not provisioned before enrolment");
	ret = v.ops->enrol(&v, 1, code, len);
	if (!tap_ok(ret == 0, "enrol user 1 with a %zu-digit code", len))
		tap_diag("%s", v.errmsg);
	tap_ok(v.ops->provisioned(&v) == 1, "provisioned after enrolment");
	ret = verify_opens(&v, 0, 1, code, len, &ra, &vres);
	if (!tap_ok(ret == VAULT_GRANTED && vres.role == SAFELOCK_ROLE_OWNER &&
		    !vres.duress, "right code is granted, role owner"))
		tap_diag("ret %d: %s", ret, v.errmsg);
	ret = verify_opens(&v, 0, 1, wrong, len, &ra, &vres);
	if (!tap_ok(ret == VAULT_DENIED, "wrong code is denied"))
		tap_diag("ret %d: %s", ret, v.errmsg);
	ret = verify_opens(&v, 0, 2, code, len, &ra, &vres);
	tap_ok(ret == VAULT_DENIED && vres.role == SAFELOCK_ROLE_NONE,
	       "unknown user is denied");
	ret = verify_opens(&v, 0, 1, code, len, &ra, &vres);
	if (!tap_ok(ret == VAULT_GRANTED, "right code still granted after a failure"))
		tap_diag("ret %d: %s", ret, v.errmsg);
	tap_ok(v.ops->enrol(&v, 3, code, 5) == -EINVAL &&
	       v.ops->enrol(&v, 3, "1234567890123", 13) == -EINVAL &&
	       v.ops->enrol(&v, 3, "12345a", 6) == -EINVAL &&
	       v.ops->enrol(&v, 0, code, len) == -EINVAL &&
	       v.ops->enrol(&v, 1000, code, len) == -EINVAL,
	       "bad code length, non-digits and bad user ids are rejected");
	tap_ok(stat(tab, &st) == 0 && (st.st_mode & 0777) == 0600,
	       "the vault table is mode 0600");
	tap_ok(dir_leaks(code, len) == 0,
	       "no file of the state directory holds the code or SHA-256(salt||code)");
	timing(&v, code, len);
	preparing(&v, &cfg);
	throttling(&v, &cfg);
	if (v.priv)
		v.ops->close(&v);
stop:
	tap_ok(sw_stop(&sw), "TPM2_Shutdown and swtpm stop");
out:
	safelock_wipe(code, sizeof(code));
	safelock_wipe(wrong, sizeof(wrong));
	sw_cleanup(&sw);
	return tap_exit();
}
