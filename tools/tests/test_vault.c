// SPDX-License-Identifier: GPL-2.0
/*
 * The TPM vault against a real TPM 2.0: swtpm on a unix socket, in a fresh
 * temporary state directory. The code is random digits made at run time.
 * Then the throttling: count before check (a simulated power cut), the
 * schedule, reboot, global counting, the DA backstop, the hard limit.
 * Then prepare() (the kernel's ENTRY_BEGIN): a prepared try behaves as an
 * unprepared one, leaves fewer TPM commands for after ENTER, is rolled
 * back when its VERIFY never comes, and stays counted across a power cut.
 *
 * Usage: test_vault [TOOLS_DIR]   (SKIPs every test if swtpm is absent)
 */
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
#include "tap.h"

#define NTESTS 39
#define NTHROTTLE 14
#define NPREPARE 12

static char dir[] = "/tmp/safelock-vault-XXXXXX";
static char sock[PATH_MAX], ctrl[PATH_MAX], pidfile[PATH_MAX];
static char tpmdir[PATH_MAX], statedir[PATH_MAX], tcti[PATH_MAX + 16];

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	const char *p, *e;

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p), p, prog);
		if (access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

/* fork/exec @argv, wait for it; its exit status or -1. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static pid_t swtpm_pid(void)
{
	char buf[32] = "";
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

static bool wait_for(const char *path, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (; ms > 0; ms -= 10) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static bool start_swtpm(void)
{
	char sockarg[PATH_MAX + 32], ctrlarg[PATH_MAX + 32];
	char statearg[PATH_MAX + 16], pidarg[PATH_MAX + 16];
	char *argv[] = {
		"swtpm", "socket", "--tpm2", "--tpmstate", statearg,
		"--server", sockarg, "--ctrl", ctrlarg,
		"--flags", "not-need-init,startup-clear",
		"--daemon", "--pid", pidarg, NULL
	};

	snprintf(statearg, sizeof(statearg), "dir=%s", tpmdir);
	snprintf(sockarg, sizeof(sockarg), "type=unixio,path=%s", sock);
	snprintf(ctrlarg, sizeof(ctrlarg), "type=unixio,path=%s", ctrl);
	snprintf(pidarg, sizeof(pidarg), "file=%s", pidfile);
	if (run(argv) != 0)
		return false;
	return wait_for(sock, 5000) && wait_for(pidfile, 5000);
}

/* TPM2_Shutdown first: an unclean stop counts as a DA failure. */
static bool stop_swtpm(void)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	char *argv[] = { "swtpm_ioctl", "-s", "--unix", ctrl, NULL };
	pid_t pid = swtpm_pid();
	TSS2_RC rc = 1;
	int i;

	if (!Tss2_TctiLdr_Initialize(tcti, &t) &&
	    !Esys_Initialize(&ctx, t, NULL))
		rc = Esys_Shutdown(ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, TPM2_SU_CLEAR);
	if (ctx)
		Esys_Finalize(&ctx);
	if (t)
		Tss2_TctiLdr_Finalize(&t);
	if (run(argv) != 0 && pid > 0)
		kill(pid, SIGTERM);
	for (i = 0; pid > 0 && i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	return rc == 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void random_code(char *code, size_t len)
{
	unsigned char r[SAFELOCK_CODE_MAX_DIGITS];
	size_t i;

	if (getrandom(r, len, 0) != (ssize_t)len)
		abort();
	for (i = 0; i < len; i++)
		code[i] = (char)('0' + r[i] % 10);
	code[len] = '\0';
	safelock_wipe(r, sizeof(r));
}

/* Does the sealed object file hold the code or SHA-256(salt || code)? */
static int file_leaks(const char *path, const char *code, size_t len)
{
	unsigned char buf[4096], md[32];
	unsigned int mdlen = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int leak;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 40)
		return -1;
	/* the salt follows the 8-byte magic */
	if (!EVP_Digest(NULL, 0, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	{
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, buf + 8, 32);
		EVP_DigestUpdate(c, code, len);
		EVP_DigestFinal_ex(c, md, &mdlen);
		EVP_MD_CTX_free(c);
	}
	leak = memmem(buf, (size_t)n, code, len) != NULL ||
	       memmem(buf, (size_t)n, md, sizeof(md)) != NULL;
	safelock_wipe(md, sizeof(md));
	return leak;
}

/* Read TPM properties @first..@first+n-1 (fixed or variable) into @out. */
static bool tpm_props(TPM2_PT first, UINT32 n, UINT32 *out)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPMS_CAPABILITY_DATA *cap = NULL;
	bool ok = false;
	UINT32 i;

	if (!Tss2_TctiLdr_Initialize(tcti, &t) &&
	    !Esys_Initialize(&ctx, t, NULL) &&
	    !Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, first, n, NULL, &cap) &&
	    cap->data.tpmProperties.count == n) {
		ok = true;
		for (i = 0; i < n; i++) {
			ok &= cap->data.tpmProperties.tpmProperty[i].property == first + i;
			out[i] = cap->data.tpmProperties.tpmProperty[i].value;
		}
	}
	Esys_Free(cap);
	if (ctx)
		Esys_Finalize(&ctx);
	if (t)
		Tss2_TctiLdr_Finalize(&t);
	return ok;
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

/* Power loss: SIGKILL swtpm (no TPM2_Shutdown), start it again. */
static bool power_cut(void)
{
	pid_t pid = swtpm_pid();
	int i;

	if (pid <= 0 || kill(pid, SIGKILL) < 0)
		return false;
	for (i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	unlink(sock);
	unlink(ctrl);
	unlink(pidfile);
	return start_swtpm();
}

static void wrong_of(const char *code, size_t len, char *wrong, unsigned int k)
{
	memcpy(wrong, code, len + 1);
	wrong[len - 1] = (char)('0' + (wrong[len - 1] - '0' + 1 + k % 9) % 10);
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
 * (as after an ENTRY_BEGIN for @req).
 */
static bool try_as(struct vault *v, bool prep, uint64_t req, unsigned int user,
		   const char *code, size_t len, struct outcome *o)
{
	struct vault_throttle st;
	unsigned long c;

	if (prep && v->ops->prepare(v, req)) {
		tap_diag("prepare: %s", v->errmsg);
		return false;
	}
	c = v->commands;
	o->ret = v->ops->verify(v, req, user, code, len, &o->ra);
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
	int first = tap_count;
	unsigned int i;
	bool ok;

	random_code(c6, 7);
	wrong_of(c6, 7, w, 3);
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
	if (!tap_ok(ok && u[0].cmds == 6 && u[2].cmds == 6 && p[0].cmds == 3 &&
		    p[2].cmds == 2,
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
	ok = ok && attempt(v, 1020, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_DENIED && o.ra > 0 && o.uf == 5 && o.gf == 5,
	       "prepared, the right code in the delay is denied unchecked and its count rolled back (5/5)");
	cfg->test_clock_offset_ms += 61 * 1000;
	ok = reopen(v, cfg) && attempt(v, 1021, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.uf == 0 && o.gf == 0,
	       "prepared, 61 s later the right code is granted; counts reset");

	/* a preparation whose VERIFY never comes */
	ok = v->ops->prepare(v, 1030) == 0 && counts(v, 6, 0, 1, &st);
	tap_ok(ok, "a prepared try is counted at once (global 1) before any code is known");
	mono_skip += VAULT_PREPARE_TTL_MS - 1000;
	v->ops->expire(v);
	ok = counts(v, 6, 0, 1, &st);
	mono_skip += 2000;
	v->ops->expire(v);
	tap_ok(ok && counts(v, 6, 0, 0, &st),
	       "no VERIFY within %d s: rolled back, not counted",
	       VAULT_PREPARE_TTL_MS / 1000);
	ok = try_as(v, false, 1030, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.cmds == 6 && o.gf == 0,
	       "its VERIFY after expiry still works, unprepared (%lu TPM commands)",
	       o.cmds);

	/* a VERIFY for another id: the stale preparation is cancelled */
	ok = v->ops->prepare(v, 1040) == 0 &&
	     try_as(v, false, 1041, 6, w, 7, &o);
	tap_ok(ok && o.ret == VAULT_DENIED && o.cmds > 2 && o.uf == 1 && o.gf == 1,
	       "a VERIFY with another id works unprepared; the stale try is rolled back (global 1, not 2)");

	/* a cut right after a prepared denial: the user's count is in NV */
	ok = v->ops->prepare(v, 1045) == 0 &&
	     v->ops->verify(v, 1045, 6, w, 7, &o.ra) == VAULT_DENIED;
	v->ops->close(v);	/* no finish(): power lost after the verdict */
	ok = ok && power_cut() && reopen(v, cfg);
	tap_ok(ok && counts(v, 6, 2, 2, &st),
	       "power cut after a prepared denial: counted for the user and globally");
	ok = try_as(v, false, 1046, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.uf == 0 && o.gf == 0,
	       "then the right code is granted and the counts reset");

	/* power cut while prepared: a failure at the next start */
	ok = v->ops->prepare(v, 1050) == 0;
	v->ops->close(v);
	ok = ok && power_cut() && reopen(v, cfg);
	tap_ok(ok && counts(v, 6, 0, 1, &st),
	       "a prepared try cut by a power loss is counted as a failure after reboot (global 1)");
	ok = v->ops->prepare(v, 1060) == 0 && v->ops->cancel(v, 1060) == 0 &&
	     counts(v, 6, 0, 1, &st) && attempt(v, 1061, 6, c6, 7, &o);
	tap_ok(ok && o.ret == VAULT_GRANTED && o.uf == 0 && o.gf == 0,
	       "cancel() rolls back; then the right code is granted and the counts reset");
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
	random_code(c4, 8);
	random_code(c5, 6);
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
	ok = tpm_props(TPM2_PT_MAX_AUTH_FAIL, 3, da);
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
	ret = ok ? v->ops->verify(v, 0, 4, c4, 8, &ra) : 0;
	cfg->test_cut_after_count = false;
	v->ops->close(v);
	ok = ok && ret == -ECANCELED && power_cut() && reopen(v, cfg);
	if (!tap_ok(ok && counts(v, 4, 1, 1, &st),
		    "a try cut short after the count (TPM power lost) is a failure after reboot"))
		goto broken;
	ret = v->ops->verify(v, 0, 4, c4, 8, &ra);
	tap_ok(ret == VAULT_GRANTED && ra == 0 && counts(v, 4, 0, 0, &st),
	       "a success resets the user's and the global consecutive failures");

	/* five wrong codes; the fifth answer carries the first delay */
	ok = true;
	for (i = 0; i < 5; i++) {
		wrong_of(c5, 6, w, i);
		ret = v->ops->verify(v, 0, 5, w, 6, &ra);
		ok &= ret == VAULT_DENIED;
		ok &= i < 4 ? ra == 0 : ra > 0 && ra <= 60000;
	}
	tap_ok(ok && counts(v, 5, 5, 5, &st),
	       "5 wrong codes: denied, counted; the 5th verdict says retry after %u ms", ra);
	ret = v->ops->verify(v, 0, 5, c5, 6, &ra);
	tap_ok(ret == VAULT_DENIED && ra > 0 && ra <= 60000 &&
	       counts(v, 5, 5, 5, &st),
	       "the right code in the delay: denied unchecked, not counted, retry after %u ms", ra);
	ret = v->ops->verify(v, 0, 4, c4, 8, &ra);
	tap_ok(ret == VAULT_DENIED && ra > 0 && counts(v, 4, 0, 5, &st),
	       "another user's right code is refused too: the global count is in a delay");
	ok = reopen(v, cfg);
	tap_ok(ok && counts(v, 5, 5, 5, &st) && st.retry_after_ms > 0,
	       "counts and delay survive a restart of the vault (%u ms left)",
	       st.retry_after_ms);
	v->ops->close(v);
	tap_ok(stop_swtpm() && start_swtpm() && reopen(v, cfg) &&
	       counts(v, 5, 5, 5, &st) && st.retry_after_ms > 0,
	       "counts and delay survive a TPM restart (%u ms left)",
	       st.retry_after_ms);
	cfg->test_clock_offset_ms += 61 * 1000;
	ok = reopen(v, cfg);
	ret = ok ? v->ops->verify(v, 0, 5, c5, 6, &ra) : -1;
	tap_ok(ret == VAULT_GRANTED && ra == 0 && counts(v, 5, 0, 0, &st),
	       "61 s of TPM clock later the right code is granted; counts reset");

	/* the global count across two users */
	wrong_of(c4, 8, w, 0);
	ok = v->ops->verify(v, 0, 4, w, 8, &ra) == VAULT_DENIED;
	wrong_of(c5, 6, w, 0);
	ok &= v->ops->verify(v, 0, 5, w, 6, &ra) == VAULT_DENIED;
	tap_ok(ok && counts(v, 4, 1, 2, &st) && counts(v, 5, 1, 2, &st),
	       "the global counter counts failures of two users");
	ret = v->ops->verify(v, 0, 4, c4, 8, &ra);
	tap_ok(ret == VAULT_GRANTED && counts(v, 4, 0, 0, &st) &&
	       counts(v, 5, 1, 0, &st),
	       "user 4's success clears its count and the global one, not user 5's");

	/* the hard limit: an unknown user, each try after the delay */
	ok = true;
	for (i = 0; i < VAULT_HARD_LIMIT && ok; i++) {
		cfg->test_clock_offset_ms += 25ULL * 3600 * 1000;
		ok = reopen(v, cfg) &&
		     v->ops->verify(v, 0, 7, c4, 8, &ra) == VAULT_DENIED;
	}
	tap_ok(ok && ra == VAULT_RETRY_DISABLED && counts(v, 7, 20, 20, &st),
	       "%d failures: entry disabled (retry after 0x%x)", VAULT_HARD_LIMIT, ra);
	cfg->test_clock_offset_ms += 30ULL * 24 * 3600 * 1000;
	ok = reopen(v, cfg);
	ret = ok ? v->ops->verify(v, 0, 4, c4, 8, &ra) : -1;
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

int main(void)
{
	struct vault_config cfg = {
		.tcti = tcti, .state_dir = statedir,
		.test_monotonic_ms = test_mono,
	};
	struct vault v = { .ops = &vault_tpm_ops };
	char code[SAFELOCK_CODE_BUF], wrong[SAFELOCK_CODE_BUF];
	char obj[PATH_MAX + 32];
	unsigned int ra = 0;
	struct stat st;
	size_t len;
	int i, ret;

	tap_plan(NTESTS);
	if (!in_path("swtpm") || !in_path("swtpm_ioctl")) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("vault", "swtpm or swtpm_ioctl not installed");
		return tap_exit();
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tpmdir, sizeof(tpmdir), "%s/tpm", dir);
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/swtpm.sock", dir);
	snprintf(ctrl, sizeof(ctrl), "%s/swtpm.sock.ctrl", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/swtpm.pid", dir);
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", sock);
	snprintf(obj, sizeof(obj), "%s/user-001.obj", statedir);
	mkdir(tpmdir, 0700);

	len = SAFELOCK_CODE_MIN_DIGITS + (size_t)(time(NULL) %
		(SAFELOCK_CODE_MAX_DIGITS - SAFELOCK_CODE_MIN_DIGITS + 1));
	random_code(code, len);
	memcpy(wrong, code, len + 1);
	wrong[len - 1] = (char)('0' + (wrong[len - 1] - '0' + 1) % 10);

	if (!tap_ok(start_swtpm(), "swtpm starts")) {
		for (i = 1; i < NTESTS; i++)
			tap_skip("vault", "swtpm did not start");
		goto out;
	}
	ret = v.ops->open(&v, &cfg);
	if (!tap_ok(ret == 0, "vault opens on %s", tcti)) {
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
	ret = v.ops->verify(&v, 0, 1, code, len, &ra);
	if (!tap_ok(ret == VAULT_GRANTED, "right code is granted"))
		tap_diag("ret %d: %s", ret, v.errmsg);
	ret = v.ops->verify(&v, 0, 1, wrong, len, &ra);
	if (!tap_ok(ret == VAULT_DENIED, "wrong code is denied"))
		tap_diag("ret %d: %s", ret, v.errmsg);
	ret = v.ops->verify(&v, 0, 2, code, len, &ra);
	tap_ok(ret == VAULT_DENIED, "unknown user is denied");
	ret = v.ops->verify(&v, 0, 1, code, len, &ra);
	if (!tap_ok(ret == VAULT_GRANTED, "right code still granted after a failure"))
		tap_diag("ret %d: %s", ret, v.errmsg);
	tap_ok(v.ops->enrol(&v, 3, code, 5) == -EINVAL &&
	       v.ops->enrol(&v, 3, "1234567890123", 13) == -EINVAL &&
	       v.ops->enrol(&v, 3, "12345a", 6) == -EINVAL &&
	       v.ops->enrol(&v, 0, code, len) == -EINVAL &&
	       v.ops->enrol(&v, 1000, code, len) == -EINVAL,
	       "bad code length, non-digits and bad user ids are rejected");
	tap_ok(stat(obj, &st) == 0 && (st.st_mode & 0777) == 0600,
	       "sealed object file is mode 0600");
	tap_ok(file_leaks(obj, code, len) == 0,
	       "state file holds neither the code nor SHA-256(salt||code)");
	preparing(&v, &cfg);
	throttling(&v, &cfg);
	if (v.priv)
		v.ops->close(&v);
stop:
	tap_ok(stop_swtpm(), "TPM2_Shutdown and swtpm stop");
out:
	safelock_wipe(code, sizeof(code));
	safelock_wipe(wrong, sizeof(wrong));
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_exit();
}
