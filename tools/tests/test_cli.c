// SPDX-License-Identifier: GPL-2.0
/*
 * Command lines of safelockctl and safelockd, run as programs: help,
 * argument errors (a distinct exit status, one message form, nothing sent
 * to safelockd), codes never taken from argv or the environment, the
 * admin client against a fake safelockd that checks every byte of each
 * request and answers with canned replies, doctor against fake module
 * trees, and colour only on a terminal.
 *
 * Usage: test_cli TOOLS_DIR
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "admin.h"
#include "audit.h"
#include "golden.h"
#include "libsafelock.h"
#include "tap.h"

#define NTESTS 161

static char ctl[4096], daemon_bin[4096], tools_dir[4096], tmpdir[64], sock[96];

struct result {
	int status;		/* exit status, or -1 */
	char out[16384];
	char err[8192];
};

/* Data for a file descriptor of the child (a pipe), e.g. --code-fd 3. */
struct fdin {
	int fd;
	const char *data;
};

static void read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/*
 * Run @argv with @input on stdin and @fds on their descriptors, in a new
 * session (no controlling terminal: nothing can be asked), with @env
 * ("NAME=VALUE" or NULL) added; capture stdout, stderr and the status.
 */
static void run_env(char *const argv[], const char *input, const struct fdin *fds,
		    const char *env, struct result *res)
{
	int in[2], out[2], err[2], p[4][2], status, i, n = 0;
	pid_t pid;

	res->status = -1;
	res->out[0] = res->err[0] = '\0';
	while (fds && fds[n].data)
		n++;
	if (pipe(in) || pipe(out) || pipe(err))
		return;
	for (i = 0; i < n; i++)
		if (pipe(p[i]))
			return;
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int hi[4];

		setsid();
		for (i = 0; i < n; i++) {
			hi[i] = fcntl(p[i][0], F_DUPFD, 100 + i);
			close(p[i][0]);
			close(p[i][1]);	/* or the pipe never ends */
		}
		close(in[1]);
		close(out[0]);
		close(err[0]);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		for (i = 0; i < n; i++)
			dup2(hi[i], fds[i].fd);
		if (env)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	for (i = 0; i < n; i++) {
		close(p[i][0]);
		if (write(p[i][1], fds[i].data, strlen(fds[i].data)) < 0)
			tap_diag("write to child fd: %s", strerror(errno));
		close(p[i][1]);
	}
	if (input && write(in[1], input, strlen(input)) < 0)
		tap_diag("write to child: %s", strerror(errno));
	close(in[1]);
	read_all(out[0], res->out, sizeof(res->out));
	read_all(err[0], res->err, sizeof(res->err));
	close(out[0]);
	close(err[0]);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		res->status = WEXITSTATUS(status);
}

static void run(char *const argv[], const char *input, struct result *res)
{
	run_env(argv, input, NULL, NULL, res);
}

static bool expect(const struct result *r, int status, const char *stream,
		   const char *needle)
{
	bool ok = r->status == status && strstr(stream, needle);

	if (!ok) {
		tap_diag("exit %d (want %d)", r->status, status);
		tap_diag("stdout: %s", r->out);
		tap_diag("stderr: %s", r->err);
		tap_diag("wanted: %s", needle);
	}
	return ok;
}

#define CTL(...) ((char *const[]){ ctl, __VA_ARGS__, NULL })
#define DAEMON(...) ((char *const[]){ daemon_bin, __VA_ARGS__, NULL })
#define FDS(...) ((const struct fdin[]){ __VA_ARGS__, { 0, NULL } })

/* The fake safelockd ------------------------------------------------- */

#define MAX_REQS 4

struct fake {
	pid_t pid;
	int rd;
	int n;				/* requests received */
	ssize_t len[MAX_REQS];		/* their sizes as sent */
	struct safelock_admin_req req[MAX_REQS];
};

static struct safelock_admin_reply *canned[MAX_REQS];
static size_t canned_len[MAX_REQS];	/* 0: sizeof; SIZE_MAX: close, no reply */

static struct safelock_admin_reply *reply(int i, uint32_t op, int status,
					  const char *msg)
{
	struct safelock_admin_reply *r = canned[i];

	memset(r, 0, sizeof(*r));
	r->magic = SAFELOCK_ADMIN_MAGIC;
	r->op = op;
	r->status = status;
	if (msg)
		snprintf(r->message, sizeof(r->message), "%s", msg);
	canned_len[i] = sizeof(*r);
	return r;
}

/*
 * Serve like safelockd: a connection carries any number of requests (or
 * none: safelockctl connects before it asks for a code, and may then stop
 * at a bad one) until the client closes it.
 */
static void fake_serve(int lfd, int wr)
{
	static unsigned char buf[sizeof(struct safelock_admin_req) + 64];
	int i = 0, cfd;
	ssize_t n;

	while (i < MAX_REQS) {
		cfd = accept(lfd, NULL, NULL);
		if (cfd < 0)
			_exit(1);
		while (i < MAX_REQS) {
			memset(buf, 0, sizeof(buf));
			n = recv(cfd, buf, sizeof(buf), MSG_TRUNC);
			if (n <= 0)
				break;
			if (write(wr, &n, sizeof(n)) != sizeof(n) ||
			    write(wr, buf, sizeof(struct safelock_admin_req)) !=
			    sizeof(struct safelock_admin_req))
				_exit(1);
			if (canned_len[i] == SIZE_MAX) {	/* close, no reply */
				i++;
				break;
			}
			if (send(cfd, canned[i], canned_len[i], MSG_NOSIGNAL) < 0)
				_exit(1);
			i++;
		}
		close(cfd);
	}
	_exit(0);
}

/* Listen on sock with the replies set up in canned[]. */
static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, p[2];

	memset(f, 0, sizeof(*f));
	unlink(sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 8) || pipe(p)) {
		tap_diag("fake safelockd: %s", strerror(errno));
		f->pid = -1;
		return;
	}
	f->pid = fork();
	if (f->pid == 0) {
		close(p[0]);
		fake_serve(lfd, p[1]);
	}
	close(lfd);
	close(p[1]);
	f->rd = p[0];
}

/* Stop the fake and collect what it received. */
static void fake_stop(struct fake *f)
{
	ssize_t n;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	while (f->n < MAX_REQS &&
	       read(f->rd, &n, sizeof(n)) == sizeof(n) &&
	       read(f->rd, &f->req[f->n], sizeof(f->req[0])) == sizeof(f->req[0]))
		f->len[f->n++] = n;
	close(f->rd);
	unlink(sock);
	for (n = 0; n < MAX_REQS; n++)
		canned_len[n] = 0;
}

static struct safelock_admin_req *want_req(uint32_t op)
{
	static struct safelock_admin_req r[2];	/* two alive at once */
	static int k;
	struct safelock_admin_req *p = &r[k++ % 2];

	memset(p, 0, sizeof(*p));
	p->magic = SAFELOCK_ADMIN_MAGIC;
	p->op = op;
	return p;
}

static void want_auth(struct safelock_admin_req *r, int i, uint32_t user,
		      const char *code)
{
	r->auth[i].user_id = user;
	snprintf(r->auth[i].code, sizeof(r->auth[i].code), "%s", code);
}

/* Request @i is exactly @want: size, every field, every padding byte. */
static bool req_is(const struct fake *f, int i, const struct safelock_admin_req *want)
{
	const unsigned char *a = (const void *)&f->req[i], *b = (const void *)want;
	size_t k;

	if (i >= f->n) {
		tap_diag("request %d never came (%d received)", i, f->n);
		return false;
	}
	if (f->len[i] != (ssize_t)sizeof(*want)) {
		tap_diag("request %d has %zd bytes, not %zu", i, f->len[i], sizeof(*want));
		return false;
	}
	for (k = 0; k < sizeof(*want); k++)
		if (a[k] != b[k]) {
			tap_diag("request %d differs at byte %zu: %#x, want %#x", i, k, a[k], b[k]);
			return false;
		}
	return true;
}

/* Run @argv against the fake set up in canned[]; @f gets the requests. */
static void exchange(char *const argv[], const struct fdin *fds, const char *env,
		     struct fake *f, struct result *r)
{
	fake_start(f);
	run_env(argv, NULL, fds, env, r);
	fake_stop(f);
}

/* Tests -------------------------------------------------------------- */

static void test_basics(void)
{
	struct result r, r2;

	run(CTL("--help"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "Usage: safelockctl") && golden_check("help.txt", r.out),
	       "safelockctl --help matches golden/help.txt");
	tap_ok(strstr(r.out, "  0  success") && strstr(r.out, "  13 safelockd answers but its TPM does not") &&
	       strstr(r.out, "  7  locked out") && strstr(r.out, "  11 audit verify"),
	       "--help documents every exit status");
	run(CTL("help"), NULL, &r2);
	tap_ok(r2.status == 0 && !strcmp(r.out, r2.out), "'help' prints the same as --help");
	run(CTL("user", "add", "--help"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "Usage: safelockctl user add USER_ID [OPTIONS]") &&
	       golden_check("help-user-add.txt", r.out),
	       "user add --help matches golden/help-user-add.txt");
	run(CTL("help", "user", "add"), NULL, &r2);
	tap_ok(r2.status == 0 && !strcmp(r.out, r2.out), "'help user add' is 'user add --help'");
	run(CTL("user", "--help"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "Usage: safelockctl user SUBCOMMAND") &&
	       strstr(r.out, "set-role USER_ID ROLE"), "user --help lists the subcommands");
	run(CTL("policy", "set", "-h"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "--lock SPEC") && strstr(r.out, "--holiday DATE"),
	       "policy set -h lists its options");
	run(CTL("--version"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "safelockctl "), "safelockctl --version");
	run((char *const[]){ ctl, NULL }, NULL, &r);
	tap_ok(expect(&r, 2, r.err,
		      "safelockctl: unable to parse arguments: no command given"),
	       "safelockctl without a command: exit 2");
	run(CTL("bogus"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unknown command 'bogus'"), "unknown command: exit 2");
	run(CTL("--frob", "status"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unknown option '--frob'"), "unknown option: exit 2");
	run(CTL("user"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "'user' needs a subcommand"), "a group without subcommand: exit 2");
	run(CTL("user", "frob"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unknown command 'user frob'"), "unknown subcommand: exit 2");
	run(CTL("monitor", "--count", "0"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--count needs a positive number, not '0'"),
	       "monitor --count 0: exit 2");
	run(CTL("monitor", "--timeout", "1x"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--timeout needs a number of seconds, not '1x'"),
	       "monitor --timeout 1x: exit 2");
	run(CTL("status", "--count", "3"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "'status' takes no option --count"), "status --count: exit 2");
	run(CTL("status", "extra"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unexpected argument 'extra'"),
	       "status with an extra argument: exit 2");
	run(CTL("status", "-d"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "option '-d' needs a value"), "-d without a value: exit 2");
	run(CTL("-d", "/nonexistent/safelock9", "status"), NULL, &r);
	tap_ok(expect(&r, 3, r.err,
		      "safelockctl: unable to open /nonexistent/safelock9: No such file or directory"),
	       "status on a missing device: exit 3");
	run(CTL("-d", "/dev/null", "status"), NULL, &r);
	tap_ok(expect(&r, 1, r.err, "safelockctl: unable to read status of /dev/null: "),
	       "status on a device that is not a lock: exit 1");
}

/* Argument errors: exit 2, the one message form, and nothing sent. */
static const struct {
	const char *argv[12];
	const char *msg;
} bad_args[] = {
	{ { "init", "123456" }, "unexpected argument '123456'" },
	{ { "init", "--as", "1" }, "'init' takes no option --as" },
	{ { "user", "add", "5", "123456", "--as", "1" }, "unexpected argument '123456'" },
	{ { "--code", "123456", "code", "change" }, "unknown option '--code'" },
	{ { "recover", "--as", "1" }, "recover takes --as only with --cancel" },
	{ { "recover", "--cancel" }, "recover --cancel needs --as USER" },
	{ { "wipe" }, "wipe needs --as 1 (the owner) or --recovery" },
	{ { "wipe", "--as", "1", "--recovery" }, "wipe takes --as or --recovery, not both" },
	{ { "wipe", "--as", "1" }, "no terminal to confirm the wipe: add --yes" },
	{ { "user", "add" }, "'user add' needs USER_ID" },
	{ { "user", "add", "0", "--as", "1" }, "USER_ID must be a number from 1 to 999, not '0'" },
	{ { "user", "add", "1", "--as", "1" }, "user 001 is the owner" },
	{ { "user", "add", "5" }, "'user add' needs --as USER" },
	{ { "user", "add", "5", "--as", "1", "--role", "owner" }, "there is one owner" },
	{ { "user", "add", "5", "--as", "1", "--role", "boss" }, "--role needs manager, user, auditor or courier, not 'boss'" },
	{ { "user", "add", "5", "--as", "1", "--as", "2" }, "--as given twice" },
	{ { "user", "del", "1", "--as", "1" }, "user 001 is the owner and cannot be removed" },
	{ { "user", "set-role", "5", "--as", "1" }, "'user set-role' needs USER_ID ROLE" },
	{ { "user", "set-role", "5", "owner", "--as", "1" }, "the owner is user 001 and stays the owner" },
	{ { "user", "list", "--as", "1", "--as2", "1" }, "--as and --as2 must be two different users" },
	{ { "user", "list", "--as2", "2" }, "--as2 needs --as" },
	{ { "user", "list", "--code-fd", "0" }, "--code-fd needs --as" },
	{ { "user", "list", "--as", "1", "--code-fd", "99" }, "--code-fd 99: not an open file descriptor" },
	{ { "user", "list", "--as", "1000" }, "--as needs a user id from 1 to 999, not '1000'" },
	{ { "user", "list", "--as", "1", "--code-fd", "x" }, "--code-fd needs a file descriptor number, not 'x'" },
	{ { "code", "change", "--as", "5", "--role", "user" }, "'code change' takes no option --role" },
	{ { "duress", "clear", "--as", "5", "--new-code-fd", "0" }, "'duress clear' takes no option --new-code-fd" },
	{ { "policy", "set", "--as", "1" }, "'policy set' needs at least one setting to change" },
	{ { "policy", "set", "--time-lock", "on" }, "'policy set' needs --as USER" },
	{ { "policy", "set", "--time-delay", "3h" }, "--time-delay '3h' is too long: it is from 0 to 2h" },
	{ { "policy", "set", "--time-delay", "1500ms" }, "--time-delay '1500ms' is not a whole number of seconds: it is from 0 to 2h" },
	{ { "policy", "set", "--time-delay", "soon" }, "--time-delay needs a duration from 0 to 2h (90s, 15min, 1h30min), not 'soon'" },
	{ { "policy", "set", "--open-window", "30s" }, "--open-window '30s' is too short: it is from 1min to 30min" },
	{ { "policy", "set", "--lock", "mon 18:10-19:00" }, "--lock: '18:10-19:00': times must be on the quarter hour" },
	{ { "policy", "set", "--lock", "someday all" }, "--lock: 'someday' is not a day" },
	{ { "policy", "set", "--holiday", "2026-02-30" }, "--holiday needs a date YYYY-MM-DD" },
	{ { "policy", "set", "--relock", "100ms" }, "--relock '100ms' is too short: it is from 500ms to 10min" },
	{ { "policy", "set", "--dual-control", "maybe" }, "--dual-control needs on or off, not 'maybe'" },
	{ { "policy", "set", "--door-limit", "2s" }, "--door-limit '2s' is too short: it is from 5s to 1h" },
	{ { "policy", "get", "--as", "1" }, "'policy get' takes no option --as" },
	{ { "time-lock", "now" }, "'time-lock now' needs DURATION" },
	{ { "time-lock", "now", "30s", "--as", "1" }, "DURATION '30s' is too short: it is from 1min to 7d" },
	{ { "time-lock", "now", "8d", "--as", "1" }, "DURATION '8d' is too long: it is from 1min to 7d" },
	{ { "time-lock", "now", "90500ms", "--as", "1" }, "DURATION '90500ms' is not a whole number of seconds" },
	{ { "--socket", "/run/safelock/a-directory-name-that-goes-on-and-on-and-on/and-on-and-on-and-on/until-it-no-longer-fits/admin.sock", "status" },
	  "--socket: a socket path has at most 107 bytes, not 113" },
	{ { "fault", "clear" }, "'fault clear' needs --as USER" },
	{ { "audit", "verify" }, "'audit verify' needs --as USER" },
	{ { "audit", "show", "--count", "0" }, "--count needs a positive number, not '0'" },
	{ { "audit", "show", "--since", "yesterday" }, "--since needs YYYY-MM-DD[ HH:MM[:SS]] or a duration" },
	{ { "audit", "show", "--user", "1000" }, "--user needs a user id from 1 to 999" },
	{ { "audit", "export", "--format", "xml" }, "--format needs json, not 'xml'" },
	{ { "audit", "show", "--format", "json" }, "'audit show' takes no option --format" },
	{ { "doctor", "--modules-dir", "/nonexistent" }, "--modules-dir /nonexistent: No such file or directory" },
	{ { "--color", "sometimes", "status" }, "--color needs auto, always or never, not 'sometimes'" },
};

static void test_bad_args(void)
{
	struct result r;
	struct fake f;
	size_t i;
	int k;

	fake_start(&f);
	for (i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		char *argv[16] = { ctl, "--socket", sock };
		char line[256] = "";

		for (k = 0; bad_args[i].argv[k]; k++) {
			argv[3 + k] = (char *)bad_args[i].argv[k];
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s",
				 bad_args[i].argv[k]);
		}
		run(argv, NULL, &r);
		tap_ok(expect(&r, 2, r.err, bad_args[i].msg) &&
		       !strncmp(r.err, "safelockctl: unable to ", 23) && !r.out[0],
		       "%s: exit 2, one message", line);
	}
	fake_stop(&f);
	tap_ok(f.n == 0, "no argument error sent anything to safelockd (%d requests)", f.n);
}

static void test_codes(void)
{
	struct result r;
	struct fake f;

	reply(0, ADMIN_OP_CODE_CHANGE, 0, NULL);
	exchange(CTL("--socket", sock, "code", "change", "--as", "5"), NULL,
		 "SAFELOCK_CODE=123456", &f, &r);
	tap_ok(expect(&r, 2, r.err,
		      "safelockctl: unable to change the code of user 005: no terminal to ask for the code of user 005: use --code-fd N") &&
	       f.n == 0, "no terminal and no --code-fd: exit 2, the environment is never read, nothing sent");
	exchange(CTL("--socket", sock, "init", "--new-code-fd", "3"), FDS({ 3, "12345\n" }),
		 NULL, &f, &r);
	tap_ok(expect(&r, 2, r.err,
		      "safelockctl: unable to initialise the vault: the new code: 5 digits: a code is 6 to 12 digits\n") &&
	       f.n == 0, "a 5-digit new code: exit 2, nothing sent");
	exchange(CTL("--socket", sock, "user", "list", "--as", "1", "--code-fd", "3"),
		 FDS({ 3, "12a4567\n" }), NULL, &f, &r);
	tap_ok(expect(&r, 2, r.err, "the code of user 001: 'a' at character 3 is not a digit") && f.n == 0,
	       "a code with a letter: exit 2, nothing sent");
	exchange(CTL("--socket", sock, "recover", "--recovery-fd", "3", "--new-code-fd", "4"),
		 FDS({ 3, "ABCD-EFGH\n" }, { 4, "12345678\n" }), NULL, &f, &r);
	tap_ok(expect(&r, 2, r.err, "safelockctl: unable to recover the vault: the recovery secret: 8 letters and digits: a recovery secret has 32 and a trustee's share 44\n") &&
	       f.n == 0, "a short recovery secret: exit 2, says how long, nothing sent");
}

static const char *const secret = "ABCDEFGHJKMNPQRSTVWXYZ0123456789";

/*
 * Trustees' shares are random: all but their first three symbols (M, N,
 * the share's number) become '*' for the golden files. How many masked.
 */
static int mask_shares(char *s)
{
	size_t i, j, len = strlen(s);
	int n = 0;
	bool share;

	for (i = 0; i + 54 <= len; i++) {
		share = true;
		for (j = 0; j < 54 && share; j++)
			share = j % 5 == 4 ? s[i + j] == '-' :
				(s[i + j] >= '0' && s[i + j] <= '9') || (s[i + j] >= 'A' && s[i + j] <= 'Z');
		if (!share)
			continue;
		for (j = 3; j < 54; j++)
			if (j % 5 != 4)
				s[i + j] = '*';
		n++;
		i += 53;
	}
	return n;
}

static void test_lifecycle(void)
{
	struct safelock_admin_req *w;
	struct result r;
	struct fake f;

	snprintf(reply(0, ADMIN_OP_INIT, 0, NULL)->recovery, SAFELOCK_RECOVERY_TEXT_SIZE,
		 "%s", secret);
	exchange(CTL("--socket", sock, "init", "--new-code-fd", "3"), FDS({ 3, "12345678\n" }),
		 NULL, &f, &r);
	w = want_req(ADMIN_OP_INIT);
	strcpy(w->new_code, "12345678");
	tap_ok(req_is(&f, 0, w) && f.n == 1, "init: one INIT request carrying the new code");
	tap_ok(expect(&r, 0, r.out, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789") &&
	       golden_check("init.txt", r.out),
	       "init: the secret grouped once, with the warning (golden/init.txt)");
	snprintf(reply(0, ADMIN_OP_INIT, 0, NULL)->recovery, SAFELOCK_RECOVERY_TEXT_SIZE,
		 "%s", secret);
	exchange(CTL("--socket", sock, "--json", "init", "--new-code-fd", "3"),
		 FDS({ 3, "12345678" }), NULL, &f, &r);
	tap_ok(r.status == 0 && golden_check("init.json", r.out) && json_lines_valid(r.out),
	       "init --json: the secret as a field (golden/init.json)");

	snprintf(reply(0, ADMIN_OP_INIT, 0, NULL)->recovery, SAFELOCK_RECOVERY_TEXT_SIZE,
		 "%s", secret);
	exchange(CTL("--socket", sock, "init", "--shares", "3/5", "--new-code-fd", "3"),
		 FDS({ 3, "12345678\n" }), NULL, &f, &r);
	tap_ok(r.status == 0 && f.n == 1 && mask_shares(r.out) == 5 &&
	       !strstr(r.out, "ABCD-EFGH") && golden_check("init-shares.txt", r.out),
	       "init --shares 3/5: five shares, never the secret (golden/init-shares.txt)");
	snprintf(reply(0, ADMIN_OP_INIT, 0, NULL)->recovery, SAFELOCK_RECOVERY_TEXT_SIZE,
		 "%s", secret);
	exchange(CTL("--socket", sock, "--json", "init", "--shares", "3/5", "--new-code-fd", "3"),
		 FDS({ 3, "12345678\n" }), NULL, &f, &r);
	tap_ok(r.status == 0 && mask_shares(r.out) == 5 && json_lines_valid(r.out) &&
	       golden_check("init-shares.json", r.out),
	       "init --shares 3/5 --json: the shares as a list (golden/init-shares.json)");

	reply(0, ADMIN_OP_INIT, -EPERM, "the door must be open to initialise the vault");
	exchange(CTL("--socket", sock, "init", "--new-code-fd", "3"), FDS({ 3, "12345678\n" }),
		 NULL, &f, &r);
	tap_ok(expect(&r, 6, r.err,
		      "safelockctl: unable to initialise the vault: the door must be open to initialise the vault\n"),
	       "init refused (door closed): exit 6 with safelockd's reason");

	reply(0, ADMIN_OP_RECOVER, -EINPROGRESS, "recovery delay started")->retry_after_ms = 86400000;
	exchange(CTL("--socket", sock, "recover", "--recovery-fd", "3", "--new-code-fd", "4"),
		 FDS({ 3, "abcd-efgh-jkmn-pqrs-tvwx-yz01-2345-6789\n" }, { 4, "87654321\n" }),
		 NULL, &f, &r);
	w = want_req(ADMIN_OP_RECOVER);
	strcpy(w->recovery, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789");
	strcpy(w->new_code, "87654321");
	tap_ok(req_is(&f, 0, w), "recover: the secret typed in lower case, sent canonical, and the new code");
	tap_ok(expect(&r, 12, r.out, "Recovery waits for its delay: run the same command again in 1 d"),
	       "recover during a delay: exit 12, says when to come back");
	snprintf(reply(0, ADMIN_OP_RECOVER, 0, NULL)->recovery, SAFELOCK_RECOVERY_TEXT_SIZE,
		 "%s", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
	exchange(CTL("--socket", sock, "recover", "--recovery-fd", "3", "--new-code-fd", "3"),
		 FDS({ 3, "ABCDEFGHJKMNPQRSTVWXYZ0123456789\n87654321\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_RECOVER);
	strcpy(w->recovery, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789");
	strcpy(w->new_code, "87654321");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Recovered: the owner (user 001) has a new code.") &&
	       strstr(r.out, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"),
	       "recover: secret and code from one fd, line by line; the new secret shown");

	reply(0, ADMIN_OP_RECOVER_CANCEL, 0, NULL);
	exchange(CTL("--socket", sock, "recover", "--cancel", "--as", "7", "--code-fd", "3"),
		 FDS({ 3, "777777\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_RECOVER_CANCEL);
	want_auth(w, 0, 7, "777777");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Recovery cancelled."),
	       "recover --cancel: RECOVER_CANCEL authorised by user 007");

	reply(0, ADMIN_OP_WIPE, 0, NULL);
	exchange(CTL("--socket", sock, "wipe", "--as", "1", "--code-fd", "3", "--yes"),
		 FDS({ 3, "123456\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_WIPE);
	want_auth(w, 0, 1, "123456");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Wiped: the lock is unprovisioned."),
	       "wipe --as 1 --yes: WIPE authorised by the owner");
	reply(0, ADMIN_OP_WIPE, 0, NULL);
	exchange(CTL("--socket", sock, "--json", "wipe", "--recovery-fd", "3", "--yes"),
		 FDS({ 3, secret }), NULL, &f, &r);
	w = want_req(ADMIN_OP_WIPE);
	strcpy(w->recovery, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "{\"wiped\":true}\n"),
	       "wipe --recovery-fd: WIPE with the recovery secret, JSON answer");
}

static void set_users(struct safelock_admin_reply *rep)
{
	static const struct safelock_admin_user users[] = {
		{ 1, SAFELOCK_ROLE_OWNER, 0, 0, 1, { 0 } },
		{ 2, SAFELOCK_ROLE_MANAGER, 3, 250000, 0, { 0 } },
		{ 5, SAFELOCK_ROLE_AUDITOR, 20, UINT32_MAX, 0, { 0 } },
		{ 17, SAFELOCK_ROLE_COURIER, 0, 0, 0, { 0 } },
	};

	memcpy(rep->users, users, sizeof(users));
	rep->n_users = 4;
}

static void test_users(void)
{
	struct safelock_admin_req *w;
	struct result r;
	struct fake f;

	reply(0, ADMIN_OP_USER_ADD, 0, NULL);
	exchange(CTL("--socket", sock, "user", "add", "5", "--role", "manager", "--as", "1",
		     "--code-fd", "3", "--new-code-fd", "4"),
		 FDS({ 3, "111111\n" }, { 4, "22222222\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_USER_ADD);
	want_auth(w, 0, 1, "111111");
	w->target_user = 5;
	w->role = SAFELOCK_ROLE_MANAGER;
	strcpy(w->new_code, "22222222");
	tap_ok(req_is(&f, 0, w) && f.n == 1, "user add: auth, target, role and new code, nothing else");
	tap_ok(expect(&r, 0, r.out, "Added user 005 as manager.\n"), "user add: says what it did");

	reply(0, ADMIN_OP_USER_DEL, 0, NULL);
	exchange(CTL("--socket", sock, "--json", "user", "del", "005", "--as", "1", "--as2", "2",
		     "--code-fd", "3", "--code2-fd", "4"),
		 FDS({ 3, "111111\n" }, { 4, "222222222222\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_USER_DEL);
	want_auth(w, 0, 1, "111111");
	want_auth(w, 1, 2, "222222222222");
	w->target_user = 5;
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "{\"removed\":true,\"user_id\":5}\n"),
	       "user del under dual admin: both authorisers, JSON answer");

	set_users(reply(0, ADMIN_OP_USER_LIST, 0, NULL));
	exchange(CTL("--socket", sock, "user", "list", "--as", "3", "--code-fd", "3"),
		 FDS({ 3, "333333\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_USER_LIST);
	want_auth(w, 0, 3, "333333");
	tap_ok(req_is(&f, 0, w) && r.status == 0 && golden_check("user-list.txt", r.out),
	       "user list: the table (golden/user-list.txt)");
	set_users(reply(0, ADMIN_OP_USER_LIST, 0, NULL));
	exchange(CTL("--socket", sock, "user", "list", "--json", "--as", "3", "--code-fd", "3"),
		 FDS({ 3, "333333\n" }), NULL, &f, &r);
	tap_ok(r.status == 0 && golden_check("user-list.json", r.out) && json_lines_valid(r.out),
	       "user list --json (golden/user-list.json)");

	reply(0, ADMIN_OP_USER_SET_ROLE, 0, NULL);
	exchange(CTL("--socket", sock, "user", "set-role", "5", "auditor", "--as", "1",
		     "--code-fd", "3"), FDS({ 3, "111111\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_USER_SET_ROLE);
	want_auth(w, 0, 1, "111111");
	w->target_user = 5;
	w->role = SAFELOCK_ROLE_AUDITOR;
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "User 005 is now auditor."),
	       "user set-role: target and role");

	reply(0, ADMIN_OP_CODE_CHANGE, 0, NULL);
	exchange(CTL("--socket", sock, "code", "change", "--as", "5", "--code-fd", "3",
		     "--new-code-fd", "3"), FDS({ 3, "555555\n5555556666\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_CODE_CHANGE);
	want_auth(w, 0, 5, "555555");
	w->target_user = 5;
	strcpy(w->new_code, "5555556666");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Changed the code of user 005."),
	       "code change: the user themselves, old then new code from one fd");

	reply(0, ADMIN_OP_DURESS_SET, 0, NULL);
	exchange(CTL("--socket", sock, "duress", "set", "--as", "5", "--code-fd", "3",
		     "--new-code-fd", "4"), FDS({ 3, "555555\n" }, { 4, "555556\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_DURESS_SET);
	want_auth(w, 0, 5, "555555");
	w->target_user = 5;
	strcpy(w->new_code, "555556");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "silent alarm"),
	       "duress set: the duress code as new_code");
	reply(0, ADMIN_OP_DURESS_SET, 0, NULL);
	exchange(CTL("--socket", sock, "duress", "clear", "--as", "5", "--code-fd", "3"),
		 FDS({ 3, "555555\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_DURESS_SET);
	want_auth(w, 0, 5, "555555");
	w->target_user = 5;
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Removed the duress code of user 005."),
	       "duress clear: an empty new_code");
}

static void canned_policy(struct safelock_admin_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->time_delay_s = 0;
	p->open_window_s = 120;
	p->dual_window_s = 60;
	p->relock_ms = 5000;
	p->door_limit_s = 300;
	p->week[0] = 0x0f;		/* sunday 00:00-01:00 */
	p->holidays[0] = 20000;
	p->utc_offset_s = 3600;
	snprintf(p->time_zone, sizeof(p->time_zone), "Europe/Berlin");
}

static void test_policy(void)
{
	struct safelock_admin_req *w;
	struct result r;
	struct fake f;
	int q;

	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	exchange(CTL("--socket", sock, "policy", "get"), NULL, NULL, &f, &r);
	tap_ok(req_is(&f, 0, want_req(ADMIN_OP_POLICY_GET)) && r.status == 0 &&
	       golden_check("policy-get.txt", r.out), "policy get: no auth (golden/policy-get.txt)");
	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	exchange(CTL("--socket", sock, "-j", "policy", "get"), NULL, NULL, &f, &r);
	tap_ok(r.status == 0 && golden_check("policy-get.json", r.out) && json_lines_valid(r.out),
	       "policy get --json (golden/policy-get.json)");

	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	reply(1, ADMIN_OP_POLICY_SET, 0, NULL);
	exchange(CTL("--socket", sock, "policy", "set", "--as", "2", "--code-fd", "3",
		     "--time-delay", "10m", "--dual-control", "on", "--lock", "sat,sun all",
		     "--unlock", "sun 00:00-00:30", "--holiday", "2026-12-25",
		     "--holiday", "2026-01-01", "--no-holiday", "2024-10-04", "--relock", "1500ms"),
		 FDS({ 3, "222222\n" }), "TZ=UTC-2", &f, &r);
	w = want_req(ADMIN_OP_POLICY_SET);
	want_auth(w, 0, 2, "222222");
	canned_policy(&w->policy);
	w->policy.time_delay_s = 600;
	w->policy.dual_control = 1;
	w->policy.relock_ms = 1500;
	memset(w->policy.week, 0, sizeof(w->policy.week));
	for (q = 6 * 96; q < 7 * 96; q++)
		w->policy.week[q / 8] |= (uint8_t)(1u << (q % 8));
	for (q = 2; q < 96; q++)
		w->policy.week[q / 8] |= (uint8_t)(1u << (q % 8));
	w->policy.holidays[0] = 20454;	/* 2026-01-01 */
	w->policy.holidays[1] = 20812;	/* 2026-12-25 */
	/* TZ=UTC-2 here: the lock's zone and offset are kept all the same */
	tap_ok(req_is(&f, 0, want_req(ADMIN_OP_POLICY_GET)) && req_is(&f, 1, w) && f.n == 2,
	       "policy set: reads the policy, sends it whole with only the changes (zone and offset kept)");
	tap_ok(expect(&r, 0, r.out, "time delay:       10 min") && strstr(r.out, "sun             00:30-24:00"),
	       "policy set prints the new policy");

	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	reply(1, ADMIN_OP_POLICY_SET, 0, NULL);
	exchange(CTL("--socket", sock, "policy", "set", "--as", "2", "--code-fd", "3",
		     "--relock", "board"), FDS({ 3, "222222\n" }), "TZ=UTC", &f, &r);
	w = want_req(ADMIN_OP_POLICY_SET);
	want_auth(w, 0, 2, "222222");
	canned_policy(&w->policy);
	w->policy.relock_ms = 0;
	tap_ok(req_is(&f, 1, w) && f.n == 2 && expect(&r, 0, r.out, "the board's (relock-ms)"),
	       "policy set --relock board: relock_ms 0, the board's own relock time");

	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	reply(1, ADMIN_OP_POLICY_SET, 0, NULL);
	exchange(CTL("--socket", sock, "policy", "set", "--as", "2", "--code-fd", "3",
		     "--zone", "America/New_York"), FDS({ 3, "222222\n" }), "TZ=UTC", &f, &r);
	w = want_req(ADMIN_OP_POLICY_SET);
	want_auth(w, 0, 2, "222222");
	canned_policy(&w->policy);
	memset(w->policy.time_zone, 0, sizeof(w->policy.time_zone));
	snprintf(w->policy.time_zone, sizeof(w->policy.time_zone), "America/New_York");
	tap_ok(req_is(&f, 1, w) && f.n == 2, "policy set --zone America/New_York: the zone, nothing else");
	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	reply(1, ADMIN_OP_POLICY_SET, 0, NULL);
	exchange(CTL("--socket", sock, "policy", "set", "--as", "2", "--code-fd", "3",
		     "--zone", "local"), FDS({ 3, "222222\n" }), "TZ=:Asia/Tokyo", &f, &r);
	memset(w->policy.time_zone, 0, sizeof(w->policy.time_zone));
	snprintf(w->policy.time_zone, sizeof(w->policy.time_zone), "Asia/Tokyo");
	tap_ok(req_is(&f, 1, w) && f.n == 2, "policy set --zone local: this machine's zone (TZ=:Asia/Tokyo)");

	canned_policy(&reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy);
	exchange(CTL("--socket", sock, "policy", "set", "--as", "2", "--code-fd", "3",
		     "--no-holiday", "2026-12-25"), FDS({ 3, "222222\n" }), NULL, &f, &r);
	tap_ok(expect(&r, 2, r.err, "unable to set the policy: 2026-12-25 is not a holiday of the policy") &&
	       f.n == 1, "removing a holiday that is not there: exit 2, no POLICY_SET sent");

	reply(0, ADMIN_OP_TIME_LOCK_NOW, 0, NULL);
	exchange(CTL("--socket", sock, "time-lock", "now", "2h", "--as", "1", "--code-fd", "3"),
		 FDS({ 3, "111111\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_TIME_LOCK_NOW);
	want_auth(w, 0, 1, "111111");
	w->duration_s = 7200;
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Time lock on for 2 h, until "),
	       "time-lock now 2h: duration_s 7200");

	reply(0, ADMIN_OP_FAULT_CLEAR, 0, NULL);
	exchange(CTL("--socket", sock, "fault", "clear", "--as", "1", "--code-fd", "3"),
		 FDS({ 3, "111111\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_FAULT_CLEAR);
	want_auth(w, 0, 1, "111111");
	tap_ok(req_is(&f, 0, w) && expect(&r, 0, r.out, "Fault cleared."), "fault clear");
}

static void test_audit_verify(void)
{
	struct safelock_admin_reply *rep;
	struct safelock_admin_req *w;
	struct result r;
	struct fake f;

	rep = reply(0, ADMIN_OP_AUDIT_VERIFY, 0, NULL);
	rep->audit = (struct safelock_admin_audit){ 10240, UINT64_MAX, 5, 1 };
	exchange(CTL("--socket", sock, "audit", "verify", "--as", "4", "--code-fd", "3"),
		 FDS({ 3, "444444\n" }), NULL, &f, &r);
	w = want_req(ADMIN_OP_AUDIT_VERIFY);
	want_auth(w, 0, 4, "444444");
	tap_ok(req_is(&f, 0, w) && r.status == 0 && golden_check("audit-verify-ok.txt", r.out),
	       "audit verify, intact: exit 0 (golden/audit-verify-ok.txt)");
	rep = reply(0, ADMIN_OP_AUDIT_VERIFY, 0,
		    "record 41 (file audit-0003.log): HMAC mismatch: edited");
	rep->audit = (struct safelock_admin_audit){ 42, 41, 3, 0 };
	exchange(CTL("--socket", sock, "audit", "verify", "--as", "4", "--code-fd", "3"),
		 FDS({ 3, "444444\n" }), NULL, &f, &r);
	tap_ok(r.status == 11 && golden_check("audit-verify-bad.txt", r.out),
	       "audit verify, altered: exit 11, the first bad record (golden/audit-verify-bad.txt)");
	rep = reply(0, ADMIN_OP_AUDIT_VERIFY, 0,
		    "record 41 (file audit-0003.log): HMAC mismatch: edited");
	rep->audit = (struct safelock_admin_audit){ 42, 41, 3, 0 };
	exchange(CTL("--socket", sock, "--json", "audit", "verify", "--as", "4", "--code-fd", "3"),
		 FDS({ 3, "444444\n" }), NULL, &f, &r);
	tap_ok(r.status == 11 && golden_check("audit-verify-bad.json", r.out) &&
	       json_lines_valid(r.out), "audit verify --json, altered (golden/audit-verify-bad.json)");
}

static void test_errors(void)
{
	char *const add[] = { ctl, "--socket", sock, "user", "add", "5", "--as", "1",
			      "--code-fd", "3", "--new-code-fd", "3", NULL };
	const struct fdin *codes = FDS({ 3, "111111\n222222\n" });
	struct result r;
	struct fake f;

	reply(0, ADMIN_OP_USER_ADD, -EACCES, "wrong code for user 001");
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 6, r.err, "safelockctl: unable to add user 005: wrong code for user 001\n"),
	       "a wrong code: exit 6, safelockd's reason");
	reply(0, ADMIN_OP_USER_ADD, -EAGAIN, "too many wrong codes")->retry_after_ms = 250000;
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 7, r.err,
		      "safelockctl: unable to add user 005: too many wrong codes (locked out: try again in 4 min 10 s)\n"),
	       "locked out: exit 7, says how long");
	reply(0, ADMIN_OP_USER_ADD, -EAGAIN, "code entry disabled")->retry_after_ms = UINT32_MAX;
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 7, r.err, "(code entry is disabled until recovery: safelockctl recover)"),
	       "entry disabled: exit 7, says recovery");
	reply(0, ADMIN_OP_USER_ADD, -EEXIST, "user 005 exists");
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 1, r.err, "safelockctl: unable to add user 005: user 005 exists\n"),
	       "any other refusal: exit 1 with the reason");
	reply(0, ADMIN_OP_USER_ADD, -EEXIST, "");
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 1, r.err, "safelockctl: unable to add user 005: File exists\n"),
	       "a refusal without a message: the errno's text");
	reply(0, ADMIN_OP_USER_ADD, 0, NULL);
	canned_len[0] = 100;
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 1, r.err, "malformed reply from safelockd (100 bytes"),
	       "a short reply: exit 1, malformed");
	reply(0, ADMIN_OP_USER_DEL, 0, NULL);
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 1, r.err, "malformed reply from safelockd") && strstr(r.err, "op 7;"),
	       "a reply to another op: exit 1, malformed");
	reply(0, ADMIN_OP_USER_ADD, 0, NULL);
	canned_len[0] = SIZE_MAX;
	exchange(add, codes, NULL, &f, &r);
	tap_ok(expect(&r, 5, r.err, "safelockd closed the connection without a reply"),
	       "no reply: exit 5");
	run(CTL("--socket", "/nonexistent/admin.sock", "policy", "get"), NULL, &r);
	tap_ok(expect(&r, 5, r.err,
		      "safelockctl: unable to reach safelockd at /nonexistent/admin.sock: No such file or directory (is safelockd running?)\n"),
	       "safelockd not running: exit 5");
}

/* A test key per file (the vault derives them in the TPM). */
static int test_key(void *ctx, const uint8_t file_id[16], uint8_t key[32])
{
	(void)ctx;
	memcpy(key, file_id, 16);
	memcpy(key + 16, file_id, 16);
	return 0;
}

struct expected {
	char text[65536];
	size_t len;
	unsigned int user;		/* only this user, 0: all */
	long long since_s;
	int skip;			/* skip the first N that match */
};

static int collect(void *ctx, const struct audit_record *rec)
{
	struct expected *e = ctx;
	char line[1024];

	if (e->user && rec->user_id != e->user)
		return 0;
	if (rec->real_ns / 1000000000LL < e->since_s)
		return 0;
	if (e->skip > 0) {
		e->skip--;
		return 0;
	}
	if (audit_format_json(rec, line, sizeof(line)) < 0)
		return -EOVERFLOW;
	e->len += (size_t)snprintf(e->text + e->len, sizeof(e->text) - e->len, "%s\n", line);
	return 0;
}

static int count_records(void *ctx, const struct audit_record *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

static bool expected_lines(const char *dir, struct expected *e)
{
	char err[256];

	e->len = 0;
	e->text[0] = '\0';
	return audit_read(dir, collect, e, err, sizeof(err)) == 0;
}

static void test_audit_read(void)
{
	static const int64_t t0 = 1767323045LL * 1000000000LL;	/* 2026-01-02 03:04:05 UTC */
	struct audit_options opts = { .key = test_key };
	struct audit_record recs[] = {
		{ .kseq = 1, .source = AUDIT_SRC_KERNEL, .type = SAFELOCK_EVENT_ATTEMPT,
		  .state = SAFELOCK_STATE_PENALTY, .result = SAFELOCK_RESULT_DENIED,
		  .user_id = 5, .value = 30000, .real_ns = t0 },
		{ .source = AUDIT_SRC_VAULT, .type = AUDIT_V_USER_ADD, .user_id = 2,
		  .real_ns = t0 + 1000000000LL, .text = "added user 002 as manager" },
		{ .kseq = 3, .source = AUDIT_SRC_KERNEL, .type = SAFELOCK_EVENT_BOLT,
		  .state = SAFELOCK_STATE_UNLOCKED, .value = 1, .real_ns = t0 + 2000000000LL },
		{ .kseq = 4, .source = AUDIT_SRC_KERNEL, .type = SAFELOCK_EVENT_ATTEMPT,
		  .state = SAFELOCK_STATE_UNLOCKED, .result = SAFELOCK_RESULT_GRANTED,
		  .user_id = 5, .real_ns = t0 + 3000000000LL },
	};
	static struct expected e;
	char dir[128], err[256];
	struct audit_log *log;
	struct result r;
	size_t i;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/audit", tmpdir);
	opts.dir = dir;
	if (audit_open(&log, &opts, err, sizeof(err))) {
		tap_ok(false, "audit: open a test log: %s", err);
		for (i = 0; i < 7; i++)
			tap_skip("audit show/export", "no test log");
		return;
	}
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		audit_append(log, &recs[i]);
	audit_close(log);
	audit_read(dir, count_records, &n, err, sizeof(err));

	run(CTL("audit", "show", "--audit-dir", dir), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "INDEX  TIME") && strstr(r.out, "2026-01-02 03:04:05 kernel attempt") &&
	       strstr(r.out, "#1      005  denied") && strstr(r.out, "user-add") &&
	       strstr(r.out, "added user 002 as manager") && strstr(r.out, "#3 "),
	       "audit show: a table of the log (TZ=UTC)");
	expected_lines(dir, &e);
	run(CTL("audit", "show", "--json", "--audit-dir", dir), NULL, &r);
	tap_ok(r.status == 0 && !strcmp(r.out, e.text) && json_lines_valid(r.out),
	       "audit show --json: every record, as audit_format_json writes it");
	run(CTL("audit", "export", "--audit-dir", dir), NULL, &r);
	tap_ok(r.status == 0 && !strcmp(r.out, e.text), "audit export: the same JSON lines");
	e.user = 5;
	expected_lines(dir, &e);
	run(CTL("--json", "audit", "show", "--user", "5", "--audit-dir", dir), NULL, &r);
	tap_ok(r.status == 0 && !strcmp(r.out, e.text) && strstr(r.out, "\n"),
	       "audit show --user 5: that user's records only");
	e.user = 0;
	e.since_s = t0 / 1000000000LL + 2;
	expected_lines(dir, &e);
	run(CTL("--json", "audit", "export", "--since", "2026-01-02 03:04:07", "--audit-dir", dir),
	    NULL, &r);
	tap_ok(r.status == 0 && !strcmp(r.out, e.text) && e.len,
	       "audit export --since: from that time on");
	e.since_s = 0;
	e.skip = n - 2;
	expected_lines(dir, &e);
	run(CTL("--json", "audit", "show", "--count", "2", "--audit-dir", dir), NULL, &r);
	tap_ok(r.status == 0 && !strcmp(r.out, e.text), "audit show --count 2: the last two records");
	run(CTL("audit", "show", "--audit-dir", "/nonexistent/audit"), NULL, &r);
	tap_ok(r.status == 0 && !r.err[0] && golden_check("audit-show-none.txt", r.out),
	       "audit show with no log yet: no header, no error, says so (golden/audit-show-none.txt)");
	snprintf(dir, sizeof(dir), "%s/audit-empty", tmpdir);
	mkdir(dir, 0700);
	run(CTL("audit", "show", "--audit-dir", dir), NULL, &r);
	tap_ok(r.status == 0 && !r.err[0] && !strcmp(r.out, "No audit records yet.\n"),
	       "audit show of an empty log: no header, no records yet");
	run(CTL("audit", "show", "--json", "--audit-dir", "/nonexistent/audit"), NULL, &r);
	tap_ok(r.status == 0 && !r.out[0] && !r.err[0],
	       "audit show --json with no log yet: no lines, exit 0");
	run(CTL("audit", "export", "--format", "journal", "--audit-dir", dir), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--format journal is not built in yet"),
	       "audit export --format journal: not built in, exit 2");
}

/* A fake /lib/modules/RELEASE with "safelock" as @kind; "" if depmod is missing. */
static const char *depmod_bin(void)
{
	static const char *const cands[] = { "/sbin/depmod", "/usr/sbin/depmod", "/usr/bin/depmod" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

static bool make_tree(const char *kind, char *dir, size_t len)
{
	char root[200], path[600], ko[4200];
	const char *depmod = depmod_bin();
	struct result r;
	FILE *f;

	snprintf(root, sizeof(root), "%s/mod-%s", tmpdir, kind);
	snprintf(dir, len, "%s/lib/modules/9.9.9-test", root);
	snprintf(path, sizeof(path), "%s/lib", root);
	mkdir(root, 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/lib/modules", root);
	mkdir(path, 0755);
	mkdir(dir, 0755);
	if (!strcmp(kind, "available") || !strcmp(kind, "blacklisted")) {
		snprintf(path, sizeof(path), "%s/extra", dir);
		mkdir(path, 0755);
		snprintf(ko, sizeof(ko), "%s/tests/fixture-module.o", tools_dir);
		snprintf(path, sizeof(path), "%s/extra/safelock.ko", dir);
		run((char *const[]){ "/bin/cp", ko, path, NULL }, NULL, &r);
		if (r.status)
			return false;
	}
	if (!strcmp(kind, "builtin")) {
		snprintf(path, sizeof(path), "%s/modules.builtin", dir);
		f = fopen(path, "w");
		if (!f)
			return false;
		fputs("kernel/drivers/misc/safelock.ko\n", f);
		fclose(f);
	}
	run((char *const[]){ (char *)depmod, "-b", root, "9.9.9-test", NULL }, NULL, &r);
	return r.status == 0;
}

static void test_doctor(void)
{
	static const struct {
		const char *kind;
		int module_exit;
		const char *detail;
	} cases[] = {
		{ "available", 8, "\"detail\":\"available but not loaded (" },
		{ "builtin", 0, "\"result\":\"ok\",\"detail\":\"built into the kernel\"" },
		{ "blacklisted", 9, "\"detail\":\"blacklisted in modprobe.d" },
		{ "missing", 10, "\"detail\":\"not installed in " },
	};
	char dir[400], conf[100], want[64], *mod;
	bool family = false;
	struct result r;
	size_t i;
	FILE *f;

	if (!depmod_bin()) {
		for (i = 0; i < 6; i++)
			tap_skip("doctor with a fake module tree", "no depmod (kmod) here");
		return;
	}
	snprintf(conf, sizeof(conf), "%s/modprobe.d", tmpdir);
	mkdir(conf, 0755);
	snprintf(dir, sizeof(dir), "%s/blacklist.conf", conf);
	f = fopen(dir, "w");
	if (f) {
		fputs("blacklist safelock\n", f);
		fclose(f);
	}
	for (i = 0; i < 4; i++) {
		char *argv[16] = { ctl, "--json", "-d", "/nonexistent/safelock0", "--socket",
				   "/nonexistent/admin.sock", "doctor", "--modules-dir", dir, NULL };

		if (!make_tree(cases[i].kind, dir, sizeof(dir))) {
			tap_ok(false, "doctor: build the %s tree", cases[i].kind);
			continue;
		}
		if (!strcmp(cases[i].kind, "blacklisted")) {
			argv[9] = "--modprobe-dir";
			argv[10] = conf;
		}
		run(argv, NULL, &r);
		mod = strstr(r.out, "{\"check\":\"module\"");
		snprintf(want, sizeof(want), "\"exit\":%d}", cases[i].module_exit);
		family = !strstr(r.out, "no generic netlink family 'safelock'");
		tap_ok(mod && strstr(mod, cases[i].detail) && strstr(mod, want) &&
		       json_lines_valid(r.out) &&
		       (cases[i].module_exit ? r.status == cases[i].module_exit : r.status != 0),
		       "doctor, module %s: its own answer, module exit %d, exit %d",
		       cases[i].kind, cases[i].module_exit, r.status);
		if (!mod || r.status < 0)
			tap_diag("stdout: %s\nstderr: %s", r.out, r.err);
	}
	if (family) {
		tap_skip("doctor: no netlink family is exit 8", "the safelock module is loaded on this host");
	} else {
		snprintf(dir, sizeof(dir), "%s/mod-builtin/lib/modules/9.9.9-test", tmpdir);
		run(CTL("-d", "/nonexistent/safelock0", "--socket", "/nonexistent/admin.sock",
			"doctor", "--modules-dir", dir), NULL, &r);
		tap_ok(expect(&r, 8, r.out,
			      "netlink   FAIL no generic netlink family 'safelock': the safelock module is not loaded\n"
			      "               fix: modprobe safelock\n"),
		       "doctor, built in but no netlink family (sl_genl_open -ENOENT): exit 8, what to do");
	}
	tap_ok(strstr(r.out, "device    FAIL /nonexistent/safelock0: No such file or directory\n") &&
	       strstr(r.out, "safelockd FAIL /nonexistent/admin.sock: No such file or directory\n") &&
	       strstr(r.out, "vault     skip needs safelockd"),
	       "doctor: no device, no safelockd, each with its line");
}

/* Run under a pseudo-terminal; the output in @out. */
static int run_pty(char *const argv[], const char *env, char *out, size_t len)
{
	int master, status = -1;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (env)
			putenv((char *)env);
		alarm(5);	/* a prompt nobody answers ends, the test goes on */
		execv(argv[0], argv);
		_exit(127);
	}
	read_all(master, out, len);	/* EIO at the child's exit ends it */
	close(master);
	waitpid(pid, &status, 0);
	return status;
}

static void test_color(void)
{
	char *const argv[] = { ctl, "-d", "/nonexistent/x", "--socket", "/nonexistent/y",
			       "doctor", NULL };
	char *const always[] = { ctl, "--color", "always", "-d", "/nonexistent/x", "--socket",
				 "/nonexistent/y", "doctor", NULL };
	char *const never[] = { ctl, "--color=never", "-d", "/nonexistent/x", "--socket",
				"/nonexistent/y", "doctor", NULL };
	char out[16384];
	struct result r;

	if (run_pty(argv, "NO_COLOR=", out, sizeof(out)) < 0) {
		tap_skip("colour on a terminal", "no pseudo-terminal here");
		tap_skip("NO_COLOR", "no pseudo-terminal here");
		tap_skip("--color=never", "no pseudo-terminal here");
	} else {
		tap_ok(strstr(out, "\033[1;31mFAIL") != NULL, "colour on a terminal");
		run_pty(argv, "NO_COLOR=1", out, sizeof(out));
		tap_ok(!strchr(out, '\033') && strstr(out, "FAIL"), "no colour on a terminal with NO_COLOR set");
		run_pty(never, NULL, out, sizeof(out));
		tap_ok(!strchr(out, '\033') && strstr(out, "FAIL"), "no colour with --color=never");
	}
	run(argv, NULL, &r);
	tap_ok(!strchr(r.out, '\033') && strstr(r.out, "FAIL"), "no colour into a pipe");
	run(always, NULL, &r);
	tap_ok(strchr(r.out, '\033') != NULL, "--color=always into a pipe");
}

/* printf at the end of @log (@len bytes), cut if it does not fit */
static void __attribute__((format(printf, 3, 4)))
appendf(char *log, size_t len, const char *fmt, ...)
{
	size_t n = strlen(log);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(log + n, len - n, fmt, ap);
	va_end(ap);
}

/* Append "$ safelockctl ARGS", @out (CRLF as LF) and the status to @log. */
static void transcript(char *log, size_t len, char *const argv[], const char *out,
		       int status)
{
	size_t n = strlen(log);
	int i;

	n += (size_t)snprintf(log + n, len - n, "$ safelockctl");
	for (i = 1; argv[i] && n < len; i++)
		n += (size_t)snprintf(log + n, len - n, " %s", argv[i]);
	if (n + 1 < len)
		log[n++] = '\n';
	for (; *out && n + 1 < len; out++)
		if (!(out[0] == '\r' && out[1] == '\n'))
			log[n++] = *out;
	log[n] = '\0';
	if (n + 1 < len && n && log[n - 1] != '\n')
		log[n++] = '\n', log[n] = '\0';
	if (status >= 0 && WIFEXITED(status))
		snprintf(log + n, len - n, "exit %d\n", WEXITSTATUS(status));
	else
		snprintf(log + n, len - n, "killed (signal %d)\n",
			 status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	n = strlen(log);
	if (n + 1 < len)
		log[n++] = '\n', log[n] = '\0';
}

/*
 * Socket first: with safelockd not there, no code and no secret is asked
 * for (on a terminal) or read (from a file descriptor); one message says
 * why, exit 5.
 */
static void test_socket_first(void)
{
	static const char *const cmds[][8] = {
		{ "user", "add", "5", "--as", "1" },
		{ "init" },
		{ "recover" },
		{ "wipe", "--recovery", "--yes" },
		{ "policy", "set", "--time-delay", "10m", "--as", "2" },
	};
	static char log[16384];
	char out[4096], *argv[16];
	struct result r;
	size_t i;
	int k, st;

	log[0] = '\0';
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		argv[0] = ctl;
		argv[1] = "--socket";
		argv[2] = "/nonexistent/admin.sock";
		for (k = 0; cmds[i][k]; k++)
			argv[3 + k] = (char *)cmds[i][k];
		argv[3 + k] = NULL;
		st = run_pty(argv, NULL, out, sizeof(out));
		if (st < 0) {
			tap_skip("socket first, on a terminal", "no pseudo-terminal here");
			return;
		}
		transcript(log, sizeof(log), argv, out, st);
	}
	tap_ok(!strstr(log, "Code of user") && !strstr(log, "New code") &&
	       !strstr(log, "Recovery secret:") && golden_check("socket-first.txt", log),
	       "safelockd not there: nothing asked on a terminal, one message, exit 5 (golden/socket-first.txt)");
	run_env(CTL("--socket", "/nonexistent/admin.sock", "user", "add", "5", "--as", "1",
		    "--code-fd", "3", "--new-code-fd", "4"),
		NULL, FDS({ 3, "111111\n" }, { 4, "12x\n" }), NULL, &r);
	tap_ok(expect(&r, 5, r.err,
		      "safelockctl: unable to reach safelockd at /nonexistent/admin.sock: No such file or directory (is safelockd running?)\n") &&
	       !strstr(r.err, "new code"),
	       "safelockd not there: the code fds are not read (a bad new code is never seen), exit 5");
}

/* @s with C escapes, for a golden file's line. */
static void c_escape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			n += (size_t)snprintf(out + n, len - n, "\\n");
		else if (c == '\r')
			n += (size_t)snprintf(out + n, len - n, "\\r");
		else if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(out + n, len - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

/*
 * Codes as people and scripts give them: each read says what is wrong
 * (end of input, an empty line, a non-digit and where, the length) and
 * sends nothing; CRLF and blanks around the digits are accepted.
 */
static void test_code_input(void)
{
	static const char *const inputs[] = {
		"", "\n", "   \n", "12a456\n", "123 456\n", "123456 654321\n", "12345\n",
		"1234567890123\n", "12\x1b[31m3456\n", "1234\xc3\xa9" "56\n", "12\xff" "3456\n",
		"123456\r\n", " 123456\t\n", "123456", "0123456789\r\n",
		"1234567890123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345678901234567890123456789012345678901234567890\n",
	};
	static char log[16384];
	char shown[256];
	bool quiet = true;
	struct result r;
	struct fake f;
	size_t i;

	log[0] = '\0';
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		reply(0, ADMIN_OP_USER_LIST, 0, NULL);
		exchange(CTL("--socket", sock, "user", "list", "--as", "1", "--code-fd", "3"),
			 FDS({ 3, inputs[i] }), NULL, &f, &r);
		c_escape(inputs[i], shown, sizeof(shown));
		if (r.status == 0 && f.n == 1)
			appendf(log, sizeof(log), "--code-fd '%s': sent '%s'\n", shown,
				f.req[0].auth[0].code);
		else
			appendf(log, sizeof(log), "--code-fd '%s': exit %d: %s", shown,
				r.status, r.err);
		if (r.status && f.n)
			quiet = false;
	}
	reply(0, ADMIN_OP_INIT, 0, NULL);
	exchange(CTL("--socket", sock, "init", "--new-code-fd", "3"), FDS({ 3, "" }), NULL,
		 &f, &r);
	appendf(log, sizeof(log), "--new-code-fd '': exit %d: %s", r.status, r.err);
	quiet = quiet && f.n == 0;
	snprintf(reply(0, ADMIN_OP_INIT, 0, NULL)->recovery, sizeof(canned[0]->recovery), "%s",
		 secret);
	exchange(CTL("--socket", sock, "init", "--new-code-fd", "3"), FDS({ 3, "654321\r\n" }),
		 NULL, &f, &r);
	appendf(log, sizeof(log), "--new-code-fd '654321\\r\\n': %s '%s'\n",
		r.status == 0 && f.n == 1 ? "sent" : "NOT sent", f.n ? f.req[0].new_code : "");
	tap_ok(quiet && golden_check("code-input.txt", log),
	       "codes: each wrong form says what is wrong and sends nothing; CRLF and blanks around accepted (golden/code-input.txt)");
}

/*
 * A record is evidence: text from the log, from safelockd or the user can
 * not forge a line or reach the terminal as an escape sequence, in the
 * table, the other human output and the errors; in JSON it is always
 * valid (invalid UTF-8 as U+FFFD).
 */
static void test_escaping(void)
{
	static const int64_t t0 = 1767323045LL * 1000000000LL;	/* 2026-01-02 03:04:05 UTC */
	static const char *const texts[] = {
		"line one\n     9 2026-01-02 03:04:05 kernel attempt        -       001  granted",
		"\x1b[2J\x1b[31mred and cleared",
		"bad UTF-8 \xff\xfe end",
		"bidi \xe2\x80\xae desrever",
		"C1 \xc2\x9b" "31m csi, back\\slash, tab\there, caf\xc3\xa9",
	};
	struct audit_options opts = { .key = test_key };
	struct safelock_admin_policy *p;
	char dir[128], err[256];
	struct audit_log *log;
	struct result r;
	struct fake f;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/audit-escape", tmpdir);
	opts.dir = dir;
	if (audit_open(&log, &opts, err, sizeof(err))) {
		tap_ok(false, "audit: open a test log: %s", err);
		tap_skip("audit show --json escaping", "no test log");
	} else {
		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			struct audit_record rec = {
				.source = AUDIT_SRC_VAULT, .type = AUDIT_V_USER_ADD,
				.user_id = 2, .real_ns = t0 + (int64_t)i * 1000000000LL,
			};

			snprintf(rec.text, sizeof(rec.text), "%s", texts[i]);
			audit_append(log, &rec);
		}
		audit_close(log);
		run(CTL("audit", "show", "--user", "2", "--audit-dir", dir), NULL, &r);
		tap_ok(r.status == 0 && !strchr(r.out, '\033') && !strstr(r.out, "\xff") &&
		       !strstr(r.out, "\xe2\x80\xae") && golden_check("audit-show-escape.txt", r.out),
		       "audit show: control characters, bad UTF-8 and bidi overrides escaped, one line a record (golden/audit-show-escape.txt)");
		run(CTL("audit", "show", "--json", "--audit-dir", dir), NULL, &r);
		tap_ok(r.status == 0 && json_lines_valid(r.out) && strstr(r.out, "\\u001b[2J") &&
		       strstr(r.out, "\\ufffd\\ufffd") && strstr(r.out, "\\u202e") &&
		       strstr(r.out, "\\u009b"),
		       "audit show --json: the same records, valid JSON");
	}

	/* a time zone from safelockd, shown as it is, for people and for JSON */
	p = &reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy;
	canned_policy(p);
	snprintf(p->time_zone, sizeof(p->time_zone), "Evil/\xff\x1b[31m\nzone: UTC");
	exchange(CTL("--socket", sock, "policy", "get"), NULL, NULL, &f, &r);
	tap_ok(r.status == 0 && !strchr(r.out, '\033') &&
	       golden_check("policy-get-escape.txt", r.out),
	       "policy get: a time zone with control characters is escaped (golden/policy-get-escape.txt)");
	p = &reply(0, ADMIN_OP_POLICY_GET, 0, NULL)->policy;
	canned_policy(p);
	snprintf(p->time_zone, sizeof(p->time_zone), "Evil/\xff\x1b[31m\nzone: UTC");
	exchange(CTL("--socket", sock, "--json", "policy", "get"), NULL, NULL, &f, &r);
	tap_ok(r.status == 0 && json_lines_valid(r.out) &&
	       strstr(r.out, "\"Evil/\\ufffd\\u001b[31m\\nzone: UTC\""),
	       "policy get --json: the same zone, valid JSON (U+FFFD for the bad byte)");

	/* safelockd's reason in an error; the user's argument in a usage error */
	reply(0, ADMIN_OP_USER_ADD, -EEXIST, "user 005 exists\nsafelockctl: added user 005\x1b[0m");
	exchange(CTL("--socket", sock, "user", "add", "5", "--as", "1", "--code-fd", "3",
		     "--new-code-fd", "3"), FDS({ 3, "111111\n222222\n" }), NULL, &f, &r);
	tap_ok(expect(&r, 1, r.err,
		      "safelockctl: unable to add user 005: user 005 exists\\nsafelockctl: added user 005\\x1b[0m\n") &&
	       !strchr(r.err, '\033'), "an error: safelockd's reason escaped, on one line");
	run(CTL("--socket", sock, "user", "list", "--as", "1\n2"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--as needs a user id from 1 to 999, not '1\\n2' (see --help)\n"),
	       "a usage error: the argument escaped, on one line");
}

/* "$ safelockctl ARGS", stdout, stderr and the status of @r, into @log. */
static void log_result(char *log, size_t len, char *const argv[], const struct result *r)
{
	int i;

	appendf(log, len, "$ safelockctl");
	for (i = 1; argv[i]; i++)	/* the fake's socket is in a new directory each run */
		appendf(log, len, " %s", argv[i] == sock ? "SOCK" : argv[i]);
	appendf(log, len, "\n");
	if (r->out[0])
		appendf(log, len, "stdout: %s", r->out);
	if (r->err[0])
		appendf(log, len, "stderr: %s", r->err);
	appendf(log, len, "exit %d\n\n", r->status);
}

/* Under --json every error is one JSON object on stderr; the status is the same. */
static void test_json_errors(void)
{
	static char log[16384];
	char *const version[] = { ctl, "--json", "--version", NULL };
	char *const usage[] = { ctl, "policy", "set", "--time-delay", "3h", "--json", NULL };
	char *const unknown[] = { ctl, "--bogus", "status", "--json", NULL };
	char *const reach[] = { ctl, "--json", "--socket", "/nonexistent/admin.sock", "user", "list",
				"--as", "1", NULL };
	char *const refused[] = { ctl, "--json", "--socket", sock, "user", "add", "5", "--as", "1",
				  "--code-fd", "3", "--new-code-fd", "3", NULL };
	char *const badcode[] = { ctl, "--json", "--socket", sock, "user", "list", "--as", "1",
				  "--code-fd", "3", NULL };
	char *const noauth[] = { ctl, "--json", "audit", "verify", NULL };
	struct result r;
	bool valid = true;
	struct fake f;

	log[0] = '\0';
#define STEP(argv, fds, canned_reply) do {					\
		canned_reply;							\
		exchange(argv, fds, NULL, &f, &r);				\
		valid = valid && (r.status ? !r.out[0] && json_lines_valid(r.err) &&	\
				  !strncmp(r.err, "{\"error\":{\"message\":\"unable to ", 31) : \
				  !r.err[0] && json_lines_valid(r.out));	\
		log_result(log, sizeof(log), argv, &r);				\
	} while (0)
	STEP(version, NULL, (void)0);
	STEP(usage, NULL, (void)0);
	STEP(unknown, NULL, (void)0);
	STEP(reach, NULL, (void)0);
	STEP(refused, FDS({ 3, "111111\n222222\n" }),
	     reply(0, ADMIN_OP_USER_ADD, -EACCES, "wrong code for user 001\n\xff"));
	STEP(badcode, FDS({ 3, "12\x1b" "456\n" }), (void)0);
	STEP(noauth, NULL, (void)0);
#undef STEP
	tap_ok(valid && golden_check("json-errors.txt", log),
	       "--json: --version and every error are JSON, errors on stderr with the same status (golden/json-errors.txt)");
}

/*
 * The duration limits: --help and the errors say them the same way, in
 * the form they are typed in.
 */
static void test_units(void)
{
	static const char *const opts[] = {
		"time-delay", "open-window", "dual-window", "relock", "door-limit", "recovery-delay",
	};
	static char log[8192];
	struct result help, r;
	char opt[64], *line, range[64];
	static char flat[16384];
	bool same = true;
	size_t i, k;

	run(CTL("policy", "set", "--help"), NULL, &help);
	tap_ok(help.status == 0 && golden_check("help-policy-set.txt", help.out),
	       "policy set --help (golden/help-policy-set.txt)");
	for (i = 0, k = 0; help.out[i] && k + 1 < sizeof(flat); i++)	/* wrapped lines joined */
		if (!isspace((unsigned char)help.out[i]) || (k && flat[k - 1] != ' '))
			flat[k++] = isspace((unsigned char)help.out[i]) ? ' ' : help.out[i];
	flat[k] = '\0';
	log[0] = '\0';
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const char *p;

		snprintf(opt, sizeof(opt), "--%s", opts[i]);
		run(CTL("policy", "set", "--as", "1", opt, "99d"), NULL, &r);
		appendf(log, sizeof(log), "%s", r.err);
		/* "it is from 0 to 2h" in the error, "0 to 2h" in the help */
		p = strstr(r.err, "it is from ");
		line = strstr(flat, opt);
		if (!p || !line) {
			same = false;
			continue;
		}
		snprintf(range, sizeof(range), "%.*s", (int)strcspn(p + 11, " "), p + 11);
		snprintf(range + strlen(range), sizeof(range) - strlen(range), " to ");
		p = strstr(p, " to ") + 4;
		snprintf(range + strlen(range), sizeof(range) - strlen(range), "%.*s",
			 (int)strcspn(p, " "), p);
		if (!strstr(line, range) || strstr(line, range) - line > 120) {
			tap_diag("--%s: '%s' is not in its help", opts[i], range);
			same = false;
		}
	}
	run(CTL("time-lock", "now", "30s", "--as", "1"), NULL, &r);
	appendf(log, sizeof(log), "%s", r.err);
	run(CTL("time-lock", "now", "--help"), NULL, &help);
	same = same && strstr(help.out, "o code opens for DURATION (1min to 7d)") &&
	       strstr(r.err, "it is from 1min to 7d");
	tap_ok(same && golden_check("durations.txt", log),
	       "each duration limit reads the same in --help and in its error (golden/durations.txt)");
}

/*
 * safelockd takes no code: users are enrolled only through its admin
 * socket (init with the door open, user add with the owner's authority).
 * The old offline "--enrol USER --code-fd N" was a way for root to set
 * anyone's code without either; it is gone, and stays gone.
 */
static void test_daemon(void)
{
	struct result r;
	char vault[160];
	struct stat st;

	run(DAEMON("--help"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "--admin-socket PATH") && !strstr(r.out, "enrol") &&
	       !strstr(r.out, "code-fd"), "safelockd --help: no --enrol, no --code-fd");
	run(DAEMON("--version"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "safelockd "), "safelockd --version");
	snprintf(vault, sizeof(vault), "%s/enrol-vault", tmpdir);
	run(DAEMON("--enrol", "1", "--code-fd", "0", "--state-dir", vault), "12345678\n", &r);
	tap_ok(expect(&r, 2, r.err, "unrecognized option '--enrol'") &&
	       stat(vault, &st) && errno == ENOENT,
	       "safelockd --enrol is an unknown option: exit 2, no vault touched");
	run(DAEMON("-e", "1", "--state-dir", vault), "12345678\n", &r);
	tap_ok(expect(&r, 2, r.err, "invalid option -- 'e'") && stat(vault, &st) && errno == ENOENT,
	       "safelockd -e is an unknown option: exit 2");
	run(DAEMON("--code-fd", "3"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unrecognized option '--code-fd'"),
	       "safelockd --code-fd is an unknown option: exit 2");
	run(DAEMON("123456"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unexpected '123456'"),
	       "a code on the command line is refused: exit 2");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	int i;

	snprintf(ctl, sizeof(ctl), "%s/safelockctl/safelockctl", dir);
	snprintf(daemon_bin, sizeof(daemon_bin), "%s/safelockd/safelockd", dir);
	golden_init(dir);
	snprintf(tools_dir, sizeof(tools_dir), "%s", dir);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/safelock-cli.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/admin.sock", tmpdir);
	for (i = 0; i < MAX_REQS; i++) {
		canned[i] = calloc(1, sizeof(*canned[i]));
		if (!canned[i])
			return 1;
	}
	setenv("TZ", "UTC", 1);
	unsetenv("NO_COLOR");
	signal(SIGPIPE, SIG_IGN);
	tap_plan(NTESTS);
	test_basics();
	test_bad_args();
	test_codes();
	test_lifecycle();
	test_users();
	test_policy();
	test_audit_verify();
	test_errors();
	test_audit_read();
	test_doctor();
	test_color();
	test_socket_first();
	test_code_input();
	test_escaping();
	test_json_errors();
	test_units();
	test_daemon();
	run((char *const[]){ "/bin/rm", "-rf", tmpdir, NULL }, NULL, &(struct result){ 0 });
	return tap_exit();
}
