// SPDX-License-Identifier: GPL-2.0
/*
 * Command lines of safelockctl and safelockd: bad arguments give a clear
 * error and the documented exit status. Runs the built binaries.
 *
 * Usage: test_cli TOOLS_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tap.h"

#define NTESTS 20

static char ctl[4096], daemon_bin[4096];

struct result {
	int status;		/* exit status, or -1 */
	char out[8192];
	char err[8192];
};

static void read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run @argv with @input on stdin; capture stdout, stderr and the status. */
static void run(char *const argv[], const char *input, struct result *res)
{
	int in[2], out[2], err[2], status;
	pid_t pid;

	res->status = -1;
	res->out[0] = res->err[0] = '\0';
	if (pipe(in) || pipe(out) || pipe(err))
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
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

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct result r;

	snprintf(ctl, sizeof(ctl), "%s/safelockctl/safelockctl", dir);
	snprintf(daemon_bin, sizeof(daemon_bin), "%s/safelockd/safelockd", dir);
	tap_plan(NTESTS);

	run(CTL("--help"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "Usage: safelockctl") &&
	       strstr(r.out, "Exit status") && strstr(r.out, "monitor"),
	       "safelockctl --help lists commands and exit codes");
	run(CTL("--version"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "safelockctl "), "safelockctl --version");
	run((char *const[]){ ctl, NULL }, NULL, &r);
	tap_ok(expect(&r, 2, r.err,
		      "safelockctl: unable to parse arguments: no command given"),
	       "safelockctl without a command: exit 2");
	run(CTL("bogus"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unknown command 'bogus'"),
	       "unknown command: exit 2");
	run(CTL("--frob", "status"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unknown option '--frob'"),
	       "unknown option: exit 2");
	run(CTL("monitor", "--count", "0"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--count needs a positive number, not '0'"),
	       "monitor --count 0: exit 2");
	run(CTL("monitor", "--timeout", "1x"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--timeout needs a number of seconds, not '1x'"),
	       "monitor --timeout 1x: exit 2");
	run(CTL("status", "--count", "3"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "are for monitor, not status"),
	       "status --count: exit 2");
	run(CTL("status", "extra"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unexpected argument 'extra'"),
	       "status with an extra argument: exit 2");
	run(CTL("status", "-d"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "option '-d' needs a value"),
	       "-d without a value: exit 2");
	run(CTL("-d", "/nonexistent/safelock9", "status"), NULL, &r);
	tap_ok(expect(&r, 3, r.err,
		      "safelockctl: unable to open /nonexistent/safelock9: No such file or directory"),
	       "status on a missing device: exit 3");
	run(CTL("-d", "/dev/null", "status"), NULL, &r);
	tap_ok(expect(&r, 1, r.err, "safelockctl: unable to read status of /dev/null: "),
	       "status on a device that is not a lock: exit 1");

	run(DAEMON("--help"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "--enrol USER_ID"), "safelockd --help");
	run(DAEMON("--version"), NULL, &r);
	tap_ok(expect(&r, 0, r.out, "safelockd "), "safelockd --version");
	run(DAEMON("--enrol", "1", "--state-dir", "/nonexistent"), "12345\n", &r);
	tap_ok(expect(&r, 1, r.err,
		      "safelockd: unable to enrol user 1: code must be 6 to 12 digits\n"),
	       "enrol with a 5-digit code: clear error, exit 1");
	run(DAEMON("--enrol", "1", "--state-dir", "/nonexistent"), "12345a78\n", &r);
	tap_ok(expect(&r, 1, r.err, "code must be 6 to 12 digits"),
	       "enrol with a non-digit code: exit 1");
	run(DAEMON("--enrol", "0"), "", &r);
	tap_ok(expect(&r, 2, r.err, "unable to enrol user 0: user id must be 1 to 999"),
	       "enrol user 0: exit 2");
	run(DAEMON("--enrol", "1000"), "", &r);
	tap_ok(expect(&r, 2, r.err, "user id must be 1 to 999"),
	       "enrol user 1000: exit 2");
	run(DAEMON("--code-fd", "3"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "--code-fd needs --enrol"),
	       "--code-fd without --enrol: exit 2");
	run(DAEMON("--enrol", "1", "123456"), NULL, &r);
	tap_ok(expect(&r, 2, r.err, "unexpected '123456'"),
	       "a code on the command line is refused: exit 2");
	return tap_exit();
}
