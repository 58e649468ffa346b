// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's seccomp allow-list (sandbox.c) on every architecture safelock
 * ships on, resolved with libseccomp for each (no cross compiler needed):
 * the system calls glibc makes for safelockd's work on that architecture
 * must all be allowed. 32-bit ARM (the reference board, a Cortex-A7) has
 * its own names: mmap2, _llseek, fcntl64, the *32 identity calls, the
 * *_time64 calls of 64-bit time_t (glibc tries them first even with a
 * 32-bit time_t), send/recv as system calls of their own, sigreturn.
 *
 * Each set was written down from glibc's sources for what the loop does
 * (poll, netlink and admin sockets, the vault's files, malloc, clocks,
 * signals, getrandom), not from the list under test. The test also takes
 * every required call out of the list in turn and checks that the set
 * check then fails, so a missing entry can never pass unnoticed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>

#include "../safelockd/adminsrv.h"
#include "tap.h"

#define NTESTS 11

struct arch_case {
	const char *name;
	uint32_t arch;
	const char *const *need;
};

/* x86_64: the legacy calls glibc still uses there (open via openat, though) */
static const char *const need_x86_64[] = {
	"read", "write", "openat", "close", "fstat", "newfstatat", "lseek",
	"mmap", "munmap", "mremap", "brk", "mprotect", "madvise", "poll", "ppoll",
	"recvmsg", "sendmsg", "sendto", "recvfrom", "accept4", "socket",
	"getsockopt", "setsockopt", "bind", "connect", "getsockname",
	"futex", "getrandom", "rt_sigprocmask", "rt_sigreturn", "rt_sigaction",
	"exit_group", "fcntl", "getpid", "gettid", "clock_gettime",
	"clock_nanosleep", "nanosleep", "unlink", "rename", "mkdir", "fsync",
	"fdatasync", "ftruncate", "getdents64", "pread64", "pwrite64", "flock",
	"getuid", "geteuid", "uname", "statx", "timerfd_create", "timerfd_settime",
	NULL,
};

/* aarch64: only the *at calls, ppoll and pselect6, no legacy ones */
static const char *const need_aarch64[] = {
	"read", "write", "openat", "close", "fstat", "newfstatat", "lseek",
	"mmap", "munmap", "mremap", "brk", "mprotect", "madvise", "ppoll",
	"pselect6", "recvmsg", "sendmsg", "sendto", "recvfrom", "accept4",
	"socket", "getsockopt", "setsockopt", "bind", "connect", "getsockname",
	"futex", "getrandom", "rt_sigprocmask", "rt_sigreturn", "rt_sigaction",
	"exit_group", "fcntl", "getpid", "gettid", "clock_gettime",
	"clock_nanosleep", "unlinkat", "renameat", "renameat2", "mkdirat",
	"faccessat", "readlinkat", "fsync", "fdatasync", "ftruncate",
	"getdents64", "pread64", "pwrite64", "flock", "getuid", "geteuid",
	"uname", "statx", "timerfd_create", "timerfd_settime", NULL,
};

/* armhf (EABI): the 32-bit variants, and 64-bit time */
static const char *const need_arm[] = {
	"read", "write", "openat", "open", "close", "fstat64", "fstatat64",
	"statx", "stat64", "_llseek", "mmap2", "munmap", "mremap", "brk",
	"mprotect", "madvise", "poll", "ppoll", "ppoll_time64",
	"pselect6_time64", "recvmsg", "sendmsg", "send", "recv", "sendto",
	"recvfrom", "accept4", "socket", "getsockopt", "setsockopt", "bind",
	"connect", "getsockname", "futex", "futex_time64", "getrandom",
	"rt_sigprocmask", "rt_sigreturn", "sigreturn", "rt_sigaction",
	"exit_group", "fcntl64", "getpid", "gettid", "clock_gettime",
	"clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"clock_getres_time64", "gettimeofday", "unlink", "rename", "fsync",
	"fdatasync", "ftruncate64", "getdents64", "pread64", "pwrite64",
	"flock", "getuid32", "geteuid32", "getgid32", "getegid32", "uname",
	"timerfd_create", "timerfd_settime", "timerfd_settime64", NULL,
};

static const struct arch_case arches[] = {
	{ "x86_64", SCMP_ARCH_X86_64, need_x86_64 },
	{ "aarch64", SCMP_ARCH_AARCH64, need_aarch64 },
	{ "armhf", SCMP_ARCH_ARM, need_arm },
};

/*
 * Does @list, resolved for @a, allow every call of @a's set? socket() is
 * allowed by a rule of its own (domain AF_UNIX or AF_NETLINK). The first
 * one missing in @missing.
 */
static bool covers(const struct arch_case *a, const struct sandbox_syscall *list,
		   size_t n, const char **missing, char *err, size_t len)
{
	int nrs[512], k, i, nr;
	size_t j;

	*missing = NULL;
	k = sandbox_resolve(a->arch, list, n, nrs, 512, err, len);
	if (k < 0)
		return false;
	for (j = 0; a->need[j]; j++) {
		bool found = !strcmp(a->need[j], "socket");

		nr = seccomp_syscall_resolve_name_arch(a->arch, a->need[j]);
		for (i = 0; i < k && !found && nr >= 0; i++)
			found = nrs[i] == nr;
		if (!found) {
			*missing = a->need[j];
			return false;
		}
	}
	return true;
}

int main(void)
{
	const struct sandbox_syscall *list = sandbox_allow_list(&(size_t){ 0 });
	struct sandbox_syscall *cut;
	struct sandbox_syscall bogus[] = {
		{ "read", SANDBOX_ARCH_X86_64 | SANDBOX_ARCH_AARCH64 | SANDBOX_ARCH_ARM },
		{ "mmap2", SANDBOX_ARCH_AARCH64 },	/* wrongly expected on aarch64 */
	};
	const char *missing;
	char err[256] = "";
	size_t n, a, j, m, c;
	unsigned int undetected;
	int nrs[8];

	tap_plan(NTESTS);
	list = sandbox_allow_list(&n);
	for (a = 0; a < sizeof(arches) / sizeof(arches[0]); a++) {
		bool ok = covers(&arches[a], list, n, &missing, err, sizeof(err));

		if (!tap_ok(ok, "%s: every system call glibc makes for safelockd is allowed",
			    arches[a].name))
			tap_diag("%s", missing ? missing : err);
	}

	/* take each required call out in turn: the check must notice */
	cut = calloc(n, sizeof(*cut));
	for (a = 0; a < sizeof(arches) / sizeof(arches[0]); a++) {
		undetected = 0;
		for (j = 0; arches[a].need[j]; j++) {
			if (!strcmp(arches[a].need[j], "socket"))
				continue;	/* its own rule, not in the list */
			for (m = 0, c = 0; m < n; m++)
				if (strcmp(list[m].name, arches[a].need[j]))
					cut[c++] = list[m];
			if (covers(&arches[a], cut, c, &missing, err, sizeof(err))) {
				undetected++;
				tap_diag("%s: %s taken out, not noticed", arches[a].name,
					 arches[a].need[j]);
			}
		}
		tap_ok(undetected == 0 && j > 20,
		       "%s: taking any one of the %zu required calls out of the list fails the check",
		       arches[a].name, j);
	}
	free(cut);

	/* an entry expected where it does not exist is an error, not a skip */
	tap_ok(sandbox_resolve(SCMP_ARCH_AARCH64, bogus, 2, nrs, 8, err, sizeof(err)) == -ENOENT &&
	       strstr(err, "mmap2"),
	       "a call expected on aarch64 that does not resolve there: an error naming it");
	tap_ok(sandbox_resolve(SCMP_ARCH_ARM, bogus, 2, nrs, 8, err, sizeof(err)) == 2,
	       "... and where it exists it is allowed");
	tap_ok(sandbox_resolve(SCMP_ARCH_X86_64, bogus, 2, nrs, 8, err, sizeof(err)) == 1,
	       "a call that does not exist on x86_64 and is not expected there: left out");

	/* every entry is expected somewhere, and exists where it is expected */
	undetected = 0;
	for (m = 0; m < n; m++)
		if (!list[m].archs) {
			undetected++;
			tap_diag("%s: expected on no architecture", list[m].name);
		}
	tap_ok(undetected == 0, "every entry of the list says where it must exist");
	for (a = 0; a < sizeof(arches) / sizeof(arches[0]); a++)
		if (sandbox_resolve(arches[a].arch, list, n, (int[512]){ 0 }, 512, err,
				    sizeof(err)) < 0)
			break;
	tap_ok(a == sizeof(arches) / sizeof(arches[0]),
	       "the list resolves on x86_64, aarch64 and armhf%s%s", err[0] ? ": " : "", err);
	return tap_exit();
}
