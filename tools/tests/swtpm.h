/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vault tests' TPM: swtpm on a unix socket in a fresh temporary
 * directory, started, stopped cleanly (TPM2_Shutdown first: an unclean
 * stop counts as a DA failure) or "power cut" (SIGKILL, started again on
 * the same state). One swtpm per test program, so each program starts
 * with a DA counter of 0.
 */
#ifndef SAFELOCK_TESTS_SWTPM_H
#define SAFELOCK_TESTS_SWTPM_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "libsafelock.h"

struct swtpm {
	char dir[64];
	char sock[PATH_MAX], ctrl[PATH_MAX], pidfile[PATH_MAX];
	char tpmdir[PATH_MAX], statedir[PATH_MAX], tcti[PATH_MAX + 16];
};

static inline bool sw_in_path(const char *prog)
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
static inline int sw_run(char *const argv[])
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

static inline pid_t sw_pid(const struct swtpm *s)
{
	char buf[32] = "";
	int fd = open(s->pidfile, O_RDONLY | O_CLOEXEC);
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

static inline bool sw_wait_for(const char *path, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (; ms > 0; ms -= 10) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* A fresh directory with tpm/ and the paths; false if mkdtemp failed. */
static inline bool sw_init(struct swtpm *s, const char *name)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/safelock-%s-XXXXXX", name);
	if (!mkdtemp(s->dir))
		return false;
	snprintf(s->tpmdir, sizeof(s->tpmdir), "%s/tpm", s->dir);
	snprintf(s->statedir, sizeof(s->statedir), "%s/state", s->dir);
	snprintf(s->sock, sizeof(s->sock), "%s/swtpm.sock", s->dir);
	snprintf(s->ctrl, sizeof(s->ctrl), "%s/swtpm.sock.ctrl", s->dir);
	snprintf(s->pidfile, sizeof(s->pidfile), "%s/swtpm.pid", s->dir);
	snprintf(s->tcti, sizeof(s->tcti), "swtpm:path=%s", s->sock);
	mkdir(s->tpmdir, 0700);
	/* a dead TPM socket is an error to recover from, not a signal */
	signal(SIGPIPE, SIG_IGN);
	return true;
}

static inline bool sw_start(struct swtpm *s)
{
	char sockarg[PATH_MAX + 32], ctrlarg[PATH_MAX + 32];
	char statearg[PATH_MAX + 16], pidarg[PATH_MAX + 16];
	char *argv[] = {
		"swtpm", "socket", "--tpm2", "--tpmstate", statearg,
		"--server", sockarg, "--ctrl", ctrlarg,
		"--flags", "not-need-init,startup-clear",
		"--daemon", "--pid", pidarg, NULL
	};

	snprintf(statearg, sizeof(statearg), "dir=%s", s->tpmdir);
	snprintf(sockarg, sizeof(sockarg), "type=unixio,path=%s", s->sock);
	snprintf(ctrlarg, sizeof(ctrlarg), "type=unixio,path=%s", s->ctrl);
	snprintf(pidarg, sizeof(pidarg), "file=%s", s->pidfile);
	if (sw_run(argv) != 0)
		return false;
	return sw_wait_for(s->sock, 5000) && sw_wait_for(s->pidfile, 5000);
}

/* An ESAPI context on the swtpm, for the tests' own look at the TPM. */
static inline ESYS_CONTEXT *sw_esys(const struct swtpm *s,
				   TSS2_TCTI_CONTEXT **tcti)
{
	ESYS_CONTEXT *ctx = NULL;

	*tcti = NULL;
	if (Tss2_TctiLdr_Initialize(s->tcti, tcti))
		return NULL;
	if (Esys_Initialize(&ctx, *tcti, NULL)) {
		Tss2_TctiLdr_Finalize(tcti);
		return NULL;
	}
	return ctx;
}

static inline void sw_esys_close(ESYS_CONTEXT **ctx, TSS2_TCTI_CONTEXT **tcti)
{
	if (*ctx)
		Esys_Finalize(ctx);
	if (*tcti)
		Tss2_TctiLdr_Finalize(tcti);
}

/* TPM2_Shutdown first: an unclean stop counts as a DA failure. */
static inline bool sw_stop(struct swtpm *s)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx;
	char *argv[] = { "swtpm_ioctl", "-s", "--unix", s->ctrl, NULL };
	pid_t pid = sw_pid(s);
	TSS2_RC rc = 1;
	int i;

	ctx = sw_esys(s, &t);
	if (ctx)
		rc = Esys_Shutdown(ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, TPM2_SU_CLEAR);
	sw_esys_close(&ctx, &t);
	if (sw_run(argv) != 0 && pid > 0)
		kill(pid, SIGTERM);
	for (i = 0; pid > 0 && i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	unlink(s->pidfile);
	return rc == 0;
}

/* Power loss: SIGKILL swtpm (no TPM2_Shutdown); with @restart start it again. */
static inline bool sw_kill(struct swtpm *s, bool restart)
{
	pid_t pid = sw_pid(s);
	int i;

	if (pid <= 0 || kill(pid, SIGKILL) < 0)
		return false;
	for (i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	unlink(s->sock);
	unlink(s->ctrl);
	unlink(s->pidfile);
	return restart ? sw_start(s) : true;
}

static inline bool sw_power_cut(struct swtpm *s)
{
	return sw_kill(s, true);
}

static inline int sw_rm_one(const char *p, const struct stat *sb, int flag,
			    struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static inline void sw_cleanup(struct swtpm *s)
{
	if (sw_pid(s) > 0)
		sw_stop(s);
	nftw(s->dir, sw_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Read TPM properties @first..@first+n-1 (fixed or variable) into @out. */
static inline bool sw_props(const struct swtpm *s, TPM2_PT first, UINT32 n,
			    UINT32 *out)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx;
	TPMS_CAPABILITY_DATA *cap = NULL;
	bool ok = false;
	UINT32 i;

	ctx = sw_esys(s, &t);
	if (ctx &&
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
	sw_esys_close(&ctx, &t);
	return ok;
}

static inline void sw_random_code(char *code, size_t len)
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

/* A wrong code next to @code: its last digit changed by 1 + k % 9. */
static inline void sw_wrong_of(const char *code, size_t len, char *wrong,
			       unsigned int k)
{
	memcpy(wrong, code, len + 1);
	wrong[len - 1] = (char)('0' + (wrong[len - 1] - '0' + 1 + k % 9) % 10);
}

static inline uint64_t sw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif /* SAFELOCK_TESTS_SWTPM_H */
