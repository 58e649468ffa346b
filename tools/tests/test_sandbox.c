// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd's sandbox, seen from outside: the loop (with the fake vault,
 * tests/sandbox_child) runs sandboxed: /proc/PID/status says seccomp filter
 * mode, no_new_privs, only CAP_NET_ADMIN (none when not started as root),
 * the new uid; the state directory is the user's; admin requests are served
 * and the registration retries (no module on the host) run under the filter
 * without being killed, backing off instead of waking every second (its
 * voluntary context switches counted), yet an admin request still wakes it
 * at once; SIGTERM ends it cleanly; and a forbidden call (an AF_INET
 * socket) kills the process with SIGSYS.
 *
 * As root it drops to "nobody"; otherwise it stays the user it is (no
 * capability then) and the uid tests are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "libsafelock.h"
#include "admin.h"
#include "tap.h"

#define NTESTS 18

static char helper[512], dir[64], sock_path[128], state[128], logf[128];
static const char *user;
static bool root;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* fork + exec the helper with stdin from @input, stderr to the log */
static pid_t spawn(char *const argv[], const char *input)
{
	int pfd[2], log;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[0], 0);
		close(pfd[0]);
		close(pfd[1]);
		log = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (log >= 0)
			dup2(log, 2);
		execv(helper, argv);
		_exit(127);
	}
	close(pfd[0]);
	if (input && write(pfd[1], input, strlen(input)) < 0)
		perror("write");
	close(pfd[1]);
	return pid;
}

static void show_log(void)
{
	char line[512];
	FILE *f = fopen(logf, "r");

	while (f && fgets(line, sizeof(line), f))
		tap_diag("child: %.*s", (int)strcspn(line, "\n"), line);
	if (f)
		fclose(f);
}

/* Does the child's log have @what? */
static bool log_has(const char *what)
{
	char line[512];
	FILE *f = fopen(logf, "r");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* The value of "Key:" in /proc/PID/status, or "" */
static void proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t k = strlen(key);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, k) && line[k] == ':') {
			char *v = line + k + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			break;
		}
	}
	if (f)
		fclose(f);
}

static int admin(int fd, struct safelock_admin_req *rq, struct safelock_admin_reply *rep)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	rq->magic = SAFELOCK_ADMIN_MAGIC;
	if (send(fd, rq, sizeof(*rq), 0) != (ssize_t)sizeof(*rq) || poll(&p, 1, 10000) != 1 ||
	    recv(fd, rep, sizeof(*rep), 0) != (ssize_t)sizeof(*rep))
		return -EIO;
	return rep->status;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void random_code(char *out)
{
	unsigned char b[8];
	int fd = open("/dev/urandom", O_RDONLY), i;

	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		for (i = 0; i < 8; i++)
			b[i] = (unsigned char)rand();
	for (i = 0; i < 8; i++)
		out[i] = (char)('0' + b[i] % 10);
	out[8] = '\0';
	if (fd >= 0)
		close(fd);
}

static void test_forbidden(void)
{
	char *argv[] = { helper, "forbidden", (char *)user, NULL };
	pid_t pid = spawn(argv, NULL);
	int status = 0;

	waitpid(pid, &status, 0);
	if (!tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		    "a forbidden call (socket(AF_INET)) in the sandbox: killed by SIGSYS"))
		show_log();
}

/* ioctl(): SAFELOCK_IOC_SET_CODE_KEY passes the filter, any other kills. */
static void test_ioctl(void)
{
	char *argv[] = { helper, "ioctl", (char *)user, NULL };
	pid_t pid = spawn(argv, NULL);
	int status = 0;

	waitpid(pid, &status, 0);
	if (!tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS &&
		    log_has("survived SAFELOCK_IOC_SET_CODE_KEY") &&
		    !log_has("survived ioctl(FIONREAD)"),
		    "ioctl() in the sandbox: SAFELOCK_IOC_SET_CODE_KEY allowed, FIONREAD killed by SIGSYS"))
		show_log();
}

static void test_loop(void)
{
	static struct safelock_admin_req rq;
	static struct safelock_admin_reply rep;
	char *argv[] = { helper, "loop", (char *)user, sock_path, state, NULL };
	char owner[16], code[24], v[128] = "", want_cap[32];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	uint64_t end;
	pid_t pid, w;
	int fd = -1, status = 0, i;
	struct passwd *pw = getpwnam(user);

	random_code(owner);
	snprintf(code, sizeof(code), "%s\n", owner);
	pid = spawn(argv, code);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", sock_path);
	/* the socket comes up, and the sandbox right after the first tick */
	for (end = now_ms() + 10000; now_ms() < end; usleep(20000)) {
		proc_status(pid, "Seccomp", v, sizeof(v));
		if (!strcmp(v, "2"))
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = -1;
			break;
		}
	}
	if (!tap_ok(pid > 0 && !strcmp(v, "2"), "the loop runs under a seccomp filter (Seccomp: 2)")) {
		show_log();
		for (i = 1; i < NTESTS - 1; i++)
			tap_skip("sandboxed loop", "the loop did not come up");
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return;
	}
	proc_status(pid, "NoNewPrivs", v, sizeof(v));
	tap_ok(!strcmp(v, "1"), "NoNewPrivs: 1");
	snprintf(want_cap, sizeof(want_cap), "%016llx", root ? 1ULL << 12 : 0ULL);
	proc_status(pid, "CapEff", v, sizeof(v));
	tap_ok(!strcmp(v, want_cap), "CapEff: %s (%s)", v, root ? "CAP_NET_ADMIN only" : "none");
	proc_status(pid, "CapPrm", v, sizeof(v));
	tap_ok(!strcmp(v, want_cap), "CapPrm: %s", v);
	proc_status(pid, "CapInh", v, sizeof(v));
	tap_ok(!strcmp(v, "0000000000000000"), "CapInh: %s", v);
	if (root) {
		char uid[64];

		proc_status(pid, "CapBnd", v, sizeof(v));
		tap_ok(!strcmp(v, want_cap), "CapBnd: %s (the bounding set dropped)", v);
		snprintf(uid, sizeof(uid), "%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid,
			 pw->pw_uid, pw->pw_uid);
		proc_status(pid, "Uid", v, sizeof(v));
		tap_ok(!strcmp(v, uid), "Uid: %s (user %s)", v, user);
		tap_ok(!stat(state, &st) && st.st_uid == pw->pw_uid,
		       "the state directory belongs to %s", user);
	} else {
		tap_skip("CapBnd", "not root: the bounding set cannot be dropped");
		tap_skip("Uid", "not root: no uid to switch to");
		tap_skip("state directory owner", "not root");
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = ADMIN_OP_STATUS;
	tap_ok(fd >= 0 && admin(fd, &rq, &rep) == 0 && rep.status_info.provisioned &&
	       !strcmp(rep.status_info.tcti, "fake:"), "STATUS answered by the sandboxed loop");

	memset(&rq, 0, sizeof(rq));
	rq.op = ADMIN_OP_USER_ADD;
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", owner);
	rq.target_user = 2;
	rq.role = SAFELOCK_ROLE_MANAGER;
	random_code(rq.new_code);
	admin(fd, &rq, &rep);
	memset(&rq, 0, sizeof(rq));
	rq.op = ADMIN_OP_USER_LIST;
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", owner);
	tap_ok(admin(fd, &rq, &rep) == 0 && rep.n_users == 2,
	       "USER_ADD and USER_LIST with the owner's code, sandboxed");
	memset(&rq, 0, sizeof(rq));
	rq.op = ADMIN_OP_AUDIT_VERIFY;
	rq.auth[0].user_id = 1;
	snprintf(rq.auth[0].code, sizeof(rq.auth[0].code), "%s", owner);
	if (!tap_ok(admin(fd, &rq, &rep) == 0 && rep.audit.ok && rep.audit.records >= 3,
		    "the audit log is written and verified under the filter (%llu records)",
		    (unsigned long long)rep.audit.records))
		tap_diag("status %d: %s", rep.status, rep.message);
	memset(&rq, 0, sizeof(rq));
	rq.op = ADMIN_OP_POLICY_GET;
	rq.reserved[0] = 1;
	tap_ok(admin(fd, &rq, &rep) == -EINVAL, "a malformed request: -EINVAL, sandboxed");

	/* two ticks: registration retried (no module here) under the filter */
	for (end = now_ms() + 2500, w = 0; now_ms() < end && !w; usleep(50000))
		w = waitpid(pid, &status, WNOHANG);
	if (!tap_ok(w == 0, "alive after 2.5 s of registration retries under the filter"))
		show_log();
	if (w == 0) {
		long c0, c1;

		/*
		 * Retries 1, 2, then 4 s apart (REGISTER_MAX_MS): at most 3
		 * wakeups in 8 s, where a one-second tick makes 8 or more.
		 */
		proc_status(pid, "voluntary_ctxt_switches", v, sizeof(v));
		c0 = atol(v);
		usleep(8000000);
		proc_status(pid, "voluntary_ctxt_switches", v, sizeof(v));
		c1 = atol(v);
		tap_ok(c1 - c0 <= 3, "unregistered, the loop retries with a backoff: %ld wakeups in 8 s",
		       c1 - c0);
		memset(&rq, 0, sizeof(rq));
		rq.op = ADMIN_OP_STATUS;
		tap_ok(fd >= 0 && admin(fd, &rq, &rep) == 0,
		       "... and wakes at once for an admin request");
	} else {
		tap_skip("wakeups", "the loop died");
		tap_skip("wakeups", "the loop died");
	}
	if (fd >= 0)
		close(fd);
	if (w == 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	if (!tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "SIGTERM: a clean exit under the filter (status %#x)", status))
		show_log();
}

int main(int argc, char **argv)
{
	const char *top = argc > 1 ? argv[1] : ".";
	static char uidbuf[16];

	tap_plan(NTESTS);
	snprintf(helper, sizeof(helper), "%s/tests/sandbox_child", top);
	root = geteuid() == 0;
	if (root && getpwnam("nobody")) {
		user = "nobody";
	} else {
		root = false;
		snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned int)getuid());
		user = uidbuf;
	}
	snprintf(dir, sizeof(dir), "/tmp/safelock-sandbox-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	chmod(dir, 0755);
	snprintf(sock_path, sizeof(sock_path), "%s/run/admin.sock", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(logf, sizeof(logf), "%s/child.log", dir);
	mkdir(state, 0700);
	tap_diag("sandboxed as %s%s", user, root ? "" : " (not root: no uid switch)");

	test_forbidden();
	test_ioctl();
	test_loop();
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_exit();
}
