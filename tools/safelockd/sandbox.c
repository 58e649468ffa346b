// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's sandbox, entered once the TPM, the registered generic netlink
 * socket and the admin socket are open:
 *
 *  - the state directory (and what is in it) given to safelockd's user;
 *  - that user's uid, gid and groups (a group that may open /dev/tpmrm0,
 *    "tss" on Debian and Yocto, lets the vault reconnect to the TPM);
 *  - every capability dropped but SANDBOX_KEEP_CAPS, from every set
 *    (bounding, permitted, effective, inheritable, ambient);
 *  - not dumpable (no core file, no ptrace by the same user: codes pass
 *    through this process's memory), no_new_privs;
 *  - a seccomp allow-list, default action: kill the process.
 *
 * Started by systemd as the user already (User=, AmbientCapabilities=), it
 * does the same without the switch.
 *
 * The allow-list is what the loop was seen to use (strace -f of safelockd
 * on the host against swtpm, and in the test VM against /dev/tpmrm0 and the
 * module): poll and signalfd, the netlink and admin sockets (new sockets
 * only AF_UNIX and AF_NETLINK: a re-registration opens one, the TCTI's
 * reconnect another), the vault's files in the state directory, the TCTI
 * (device or swtpm socket; a reconnect may dlopen() the TCTI library),
 * malloc, clocks, getrandom (OpenSSL), and exit; with every variant of
 * those calls on x86_64, aarch64 and armhf (see allowed[] below); ioctl()
 * only to give the code key to /dev/safelockN after a re-registration
 * (codekey.c).
 */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/safelock.h>
#include <seccomp.h>

#include "adminsrv.h"

#define MAX_GROUPS	64

/*
 * Every system call the sandboxed loop may make (see above), by name, in
 * every variant glibc uses on the architectures safelock ships on, with
 * where each must exist: X x86_64, A aarch64, R armhf (32-bit ARM EABI:
 * mmap2, _llseek, fcntl64, the *64 file calls, the *32 identity calls,
 * send/recv, sigreturn, and the *_time64 calls of 64-bit time_t, which
 * glibc tries first even with a 32-bit time_t). A name is resolved per
 * architecture (sandbox_resolve()); one missing where it is expected is an
 * error, never a silent skip. tests/test_seccomp.c checks each
 * architecture against the calls glibc makes there.
 */
#define X	SANDBOX_ARCH_X86_64
#define A	SANDBOX_ARCH_AARCH64
#define R	SANDBOX_ARCH_ARM
static const struct sandbox_syscall allowed[] = {
	/* I/O on the fds it has, the vault's files */
	{ "read", X | A | R }, { "write", X | A | R }, { "readv", X | A | R },
	{ "writev", X | A | R }, { "pread64", X | A | R }, { "pwrite64", X | A | R },
	{ "lseek", X | A | R }, { "_llseek", R }, { "close", X | A | R },
	{ "fstat", X | A | R }, { "fstat64", R }, { "newfstatat", X | A },
	{ "fstatat64", R }, { "statx", X | A | R }, { "stat", X | R },
	{ "stat64", R }, { "lstat", X | R }, { "lstat64", R },
	{ "openat", X | A | R }, { "open", X | R },
	{ "fcntl", X | A | R }, { "fcntl64", R },
	{ "ftruncate", X | A | R }, { "ftruncate64", R },
	{ "fsync", X | A | R }, { "fdatasync", X | A | R },
	{ "rename", X | R }, { "renameat", X | A | R }, { "renameat2", X | A | R },
	{ "unlink", X | R }, { "unlinkat", X | A | R },
	{ "mkdir", X | R }, { "mkdirat", X | A | R }, { "getdents64", X | A | R },
	{ "fchmod", X | A | R }, { "access", X | R }, { "faccessat", X | A | R },
	{ "faccessat2", X | A | R }, { "readlink", X | R },
	{ "readlinkat", X | A | R }, { "umask", X | A | R }, { "flock", X | A | R },
	/* waiting */
	{ "poll", X | R }, { "ppoll", X | A | R }, { "ppoll_time64", R },
	{ "select", X }, { "pselect6", X | A | R }, { "pselect6_time64", R },
	{ "nanosleep", X | A | R }, { "clock_nanosleep", X | A | R },
	{ "clock_nanosleep_time64", R }, { "restart_syscall", X | A | R },
	/* sockets (socket() itself is restricted below) */
	{ "bind", X | A | R }, { "connect", X | A | R }, { "getsockname", X | A | R },
	{ "getpeername", X | A | R }, { "getsockopt", X | A | R },
	{ "setsockopt", X | A | R }, { "sendto", X | A | R }, { "send", R },
	{ "sendmsg", X | A | R }, { "recvfrom", X | A | R }, { "recv", R },
	{ "recvmsg", X | A | R }, { "accept4", X | A | R }, { "shutdown", X | A | R },
	/* memory */
	{ "brk", X | A | R }, { "mmap", X | A }, { "mmap2", R },
	{ "munmap", X | A | R }, { "mremap", X | A | R }, { "mprotect", X | A | R },
	{ "madvise", X | A | R },
	/* signals, time, identity, threads' locks, randomness */
	{ "rt_sigprocmask", X | A | R }, { "rt_sigreturn", X | A | R },
	{ "rt_sigaction", X | A | R }, { "sigreturn", R },
	{ "clock_gettime", X | A | R }, { "clock_gettime64", R },
	{ "clock_getres", X | A | R }, { "clock_getres_time64", R },
	/* the wall clock's timerfd, armed again after each set */
	{ "timerfd_create", X | A | R }, { "timerfd_settime", X | A | R },
	{ "timerfd_settime64", R }, { "timerfd_gettime", X | A | R },
	{ "timerfd_gettime64", R },
	{ "gettimeofday", X | A | R }, { "time", X },
	{ "getpid", X | A | R }, { "gettid", X | A | R },
	{ "getuid", X | A | R }, { "getuid32", R }, { "geteuid", X | A | R },
	{ "geteuid32", R }, { "getgid", X | A | R }, { "getgid32", R },
	{ "getegid", X | A | R }, { "getegid32", R },
	{ "futex", X | A | R }, { "futex_time64", R },
	{ "getrandom", X | A | R }, { "uname", X | A | R },
	{ "sched_yield", X | A | R },
	{ "exit", X | A | R }, { "exit_group", X | A | R },
};
#undef X
#undef A
#undef R

/* socket(): only these domains */
static const int socket_domains[] = { AF_UNIX, AF_NETLINK };

/* SANDBOX_ARCH_* of an SCMP_ARCH_*, 0: not one safelock ships on. */
static unsigned int arch_bit(uint32_t arch)
{
	switch (arch) {
	case SCMP_ARCH_X86_64:	return SANDBOX_ARCH_X86_64;
	case SCMP_ARCH_AARCH64:	return SANDBOX_ARCH_AARCH64;
	case SCMP_ARCH_ARM:	return SANDBOX_ARCH_ARM;
	default:		return 0;
	}
}

int sandbox_resolve(uint32_t arch, const struct sandbox_syscall *list, size_t n,
		    int *nrs, size_t max, char *err, size_t len)
{
	unsigned int bit = arch_bit(arch);
	size_t i, k = 0;
	int nr;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name_arch(arch, list[i].name);
		if (nr < 0) {
			if (!(list[i].archs & bit))
				continue;	/* not on this architecture */
			snprintf(err, len, "seccomp: %s should exist on this architecture and does not resolve (libseccomp too old?)",
				 list[i].name);
			return -ENOENT;
		}
		if (k >= max) {
			snprintf(err, len, "seccomp: more than %zu system calls", max);
			return -E2BIG;
		}
		nrs[k++] = nr;
	}
	return (int)k;
}

const struct sandbox_syscall *sandbox_allow_list(size_t *n)
{
	*n = sizeof(allowed) / sizeof(allowed[0]);
	return allowed;
}

int sandbox_seccomp(char *err, size_t len)
{
	const scmp_datum_t set_code_key = SAFELOCK_IOC_SET_CODE_KEY;
	scmp_filter_ctx ctx;
	int nrs[256];
	size_t i;
	int n, ret = 0;

	/*
	 * A kernel built without CONFIG_SECCOMP (the minimal test kernels)
	 * says EINVAL here: the other layers still hold, and refusing to
	 * run would leave the lock without a verifier. Any other failure of
	 * the filter is fatal.
	 */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		fprintf(stderr, "safelockd: warning: the kernel has no seccomp (CONFIG_SECCOMP_FILTER): running without the system call filter\n");
		return 0;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(err, len, "seccomp_init failed");
		return -ENOMEM;
	}
	if (!arch_bit(seccomp_arch_native()))
		fprintf(stderr, "safelockd: warning: the system call allow-list was written for x86_64, aarch64 and armhf, not for this architecture: a call it lacks here kills safelockd\n");
	n = sandbox_resolve(seccomp_arch_native(), allowed,
			    sizeof(allowed) / sizeof(allowed[0]), nrs,
			    sizeof(nrs) / sizeof(nrs[0]), err, len);
	if (n < 0) {
		seccomp_release(ctx);
		return n;
	}
	for (i = 0; i < (size_t)n && !ret; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i], 0);
		if (ret)
			snprintf(err, len, "seccomp: unable to allow system call %d: %s",
				 nrs[i], strerror(-ret));
	}
	if (!ret) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, set_code_key));
		if (ret)
			snprintf(err, len, "seccomp: unable to allow ioctl(): %s", strerror(-ret));
	}
	for (i = 0; i < sizeof(socket_domains) / sizeof(socket_domains[0]) && !ret; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_domains[i]));
		if (ret)
			snprintf(err, len, "seccomp: unable to allow socket(): %s",
				 strerror(-ret));
	}
	if (!ret) {
		ret = seccomp_load(ctx);
		if (ret)
			snprintf(err, len, "seccomp: unable to load the filter: %s",
				 strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}

/* ----------------------------------------------------------------- */

struct who {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

static int lookup_user(const char *user, struct who *w, char *err, size_t len)
{
	struct passwd *pw;
	unsigned long n;
	char *end;

	pw = getpwnam(user);
	if (pw) {
		w->uid = pw->pw_uid;
		w->gid = pw->pw_gid;
		w->ngroups = MAX_GROUPS;
		if (getgrouplist(user, w->gid, w->groups, &w->ngroups) < 0) {
			snprintf(err, len, "user %s is in more than %d groups", user,
				 MAX_GROUPS);
			return -E2BIG;
		}
		return 0;
	}
	/* a bare uid: its own gid, no other group */
	errno = 0;
	n = strtoul(user, &end, 10);
	if (*user >= '0' && *user <= '9' && !*end && !errno && n < UINT_MAX) {
		w->uid = (uid_t)n;
		w->gid = (gid_t)n;
		w->groups[0] = w->gid;
		w->ngroups = 1;
		return 0;
	}
	snprintf(err, len, "no user %s (create it, or give --user)", user);
	return -ENOENT;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *sb, int flag,
		     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) ? -errno : 0;
}

static int give_state_dir(const char *dir, const struct who *w, char *err,
			  size_t len)
{
	int ret;

	chown_uid = w->uid;
	chown_gid = w->gid;
	ret = nftw(dir, chown_one, 16, FTW_PHYS | FTW_MOUNT);
	if (ret) {
		snprintf(err, len, "unable to give %s to uid %u: %s", dir,
			 (unsigned int)w->uid, strerror(ret < 0 ? -ret : errno));
		return ret < 0 ? ret : -errno;
	}
	return 0;
}

static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return (int)syscall(SYS_capget, &h, d);
}

/* permitted = effective = @keep (what of it is permitted now), no inheritable */
static int caps_set(uint64_t keep)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	uint64_t perm;

	if (caps_get(d))
		return -errno;
	perm = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	keep &= perm;
	d[0].permitted = d[0].effective = (uint32_t)keep;
	d[1].permitted = d[1].effective = (uint32_t)(keep >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* Drop every capability but @keep from the bounding set. */
static int bounding_drop(uint64_t keep, bool must)
{
	int cap;

	for (cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break;		/* past the last capability */
		if (!in || (keep & (1ULL << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && must)
			return -errno;
	}
	return 0;
}

static int fail_at(int ret, const char *what, char *err, size_t len)
{
	snprintf(err, len, "%s: %s", what, strerror(-ret));
	return ret;
}

int sandbox_enter(const struct sandbox_opts *o, char *err, size_t len)
{
	struct __user_cap_data_struct d[2];
	struct who w;
	uid_t ru, eu, su;
	uint64_t eff;
	int ret;

	ret = lookup_user(o->user ? o->user : "safelock", &w, err, len);
	if (ret)
		return ret;
	if (geteuid() == 0) {
		if (o->state_dir) {
			ret = give_state_dir(o->state_dir, &w, err, len);
			if (ret)
				return ret;
		}
		if (setgroups((size_t)w.ngroups, w.groups))
			return fail_at(-errno, "setgroups", err, len);
		ret = bounding_drop(SANDBOX_KEEP_CAPS, true);
		if (ret)
			return fail_at(ret, "dropping the bounding set", err, len);
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			return fail_at(-errno, "PR_SET_KEEPCAPS", err, len);
		if (setresgid(w.gid, w.gid, w.gid))
			return fail_at(-errno, "setresgid", err, len);
		if (setresuid(w.uid, w.uid, w.uid))
			return fail_at(-errno, "setresuid", err, len);
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	} else if (getuid() != w.uid) {
		snprintf(err, len, "running as uid %u, not as user %s (uid %u): start it as root or as that user",
			 (unsigned int)getuid(), o->user, (unsigned int)w.uid);
		return -EPERM;
	} else {
		/* without CAP_SETPCAP the bounding set stays: nothing regains it */
		bounding_drop(SANDBOX_KEEP_CAPS, false);
	}
	ret = caps_set(SANDBOX_KEEP_CAPS);
	if (ret)
		return fail_at(ret, "capset", err, len);
	/* old kernels have no ambient set: nothing to clear there */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail_at(-errno, "clearing the ambient capabilities", err, len);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return fail_at(-errno, "PR_SET_DUMPABLE", err, len);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail_at(-errno, "PR_SET_NO_NEW_PRIVS", err, len);

	/* what we are now, checked rather than assumed */
	if (getresuid(&ru, &eu, &su) || ru != w.uid || eu != w.uid || su != w.uid)
		return fail_at(-EPERM, "still another uid", err, len);
	if (caps_get(d))
		return fail_at(-errno, "capget", err, len);
	eff = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
	if (eff & ~SANDBOX_KEEP_CAPS)
		return fail_at(-EPERM, "capabilities left", err, len);
	if (!(eff & SANDBOX_KEEP_CAPS) && SANDBOX_KEEP_CAPS)
		fprintf(stderr, "safelockd: warning: no CAP_NET_ADMIN: the kernel will refuse to register this verifier\n");

	return sandbox_seccomp(err, len);
}
