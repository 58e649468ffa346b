// SPDX-License-Identifier: GPL-2.0
/*
 * The recovery secret held by trustees, M of N (safelockctl/recovery.c),
 * and the recovery secret as people type it.
 *
 * In process: the typed forms (groups split by spaces or dashes, either
 * case, Crockford's aliases) give one canonical secret, a wrong one gets
 * its precise reason; a 3-of-5 split combines from every 3 of its shares;
 * every single mistyped character and every swap of two neighbours of a
 * share is caught by its check.
 *
 * Against the real path: the safelockctl binary talks to safelockd's own
 * admin server (safelockd/admin.c) over its socket, on the in-memory vault
 * of the admin tests (throttle, counters, recovery secret), in a child
 * that can snapshot and restore the vault, so that every subset is tried
 * against the same split. Every 3 of 5 shares recover; every 2 are
 * refused before anything is sent, and 2 shares passed off as a 2-of-5
 * split reach the vault as one wrong secret, one failure counted; a share
 * with one character changed, a share of another split and a share given
 * twice are refused naming the share, nothing sent; recovery split makes
 * a new secret whose shares work while the old ones stop; every secret
 * that reached the lock was a plain secret, never a share.
 *
 * Usage: test_shamir TOOLS_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "libsafelock.h"
#include "../safelockctl/safelockctl.h"
#include "../safelockd/adminsrv.h"
#include "fake_vault.h"
#include "tap.h"

#define NTESTS 36

static const char *const secret_canon = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789";

/* ----------------------------------------------------------------- */
/* In process                                                         */

static bool parses_to(const char *in, const char *want)
{
	char canon[SAFELOCK_RECOVERY_TEXT_SIZE], why[256];
	struct recovery_share sh;

	return recovery_parse(in, canon, &sh, why, sizeof(why)) == RECOVERY_IS_SECRET &&
	       !strcmp(canon, want);
}

static bool refused_with(const char *in, const char *reason)
{
	char canon[SAFELOCK_RECOVERY_TEXT_SIZE], why[256] = "";
	struct recovery_share sh;
	int ret = recovery_parse(in, canon, &sh, why, sizeof(why));

	if (ret >= 0 || !strstr(why, reason)) {
		tap_diag("'%s': %d '%s', wanted '%s'", in, ret, why, reason);
		return false;
	}
	return true;
}

static void test_forms(void)
{
	unsigned int m = 0, n = 0;

	tap_ok(parses_to("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789", secret_canon) &&
	       parses_to("ABCDEFGHJKMNPQRSTVWXYZ0123456789", secret_canon),
	       "a secret as shown, and without dashes");
	tap_ok(parses_to("abcd efgh jkmn pqrs tvwx yz01 2345 6789", secret_canon) &&
	       parses_to("  ABCD  EFGH\tjkmn-pqrs - tvwx yz01 2345 6789 ", secret_canon),
	       "groups separated by spaces (the form of issue 15), tabs, mixed case");
	tap_ok(parses_to("abcd-efgh-jkmn-pqrs-tvwx-yzo1-2345-6789", secret_canon) &&
	       parses_to("ABCD-EFGH-JKMN-PQRS-TVWX-YZ0I-2345-6789", secret_canon) &&
	       parses_to("ABCD-EFGH-JKMN-PQRS-TVWX-YZ0l-2345-6789", secret_canon),
	       "Crockford's aliases: O is 0, I and L are 1");
	tap_ok(refused_with("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-678",
			    "31 letters and digits: a recovery secret has 32 and a trustee's share 44") &&
	       refused_with("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-A",
			    "33 letters and digits"),
	       "a wrong length says how many there were and how many there should be");
	tap_ok(refused_with("ABCD-EFUH-JKMN-PQRS-TVWX-YZ01-2345-6789",
			    "character 8, 'U', is not in the alphabet (0-9 and A-Z without U)") &&
	       refused_with("ABCD_EFGH", "character 5, '_', is not a letter or digit") &&
	       refused_with("ABCD\xc3\xa9", "character 5 (byte 0xc3)"),
	       "a character outside the alphabet is named, with where it is");
	tap_ok(!parse_shares("3/5", &m, &n) && m == 3 && n == 5 &&
	       !parse_shares("1/1", &m, &n) && m == 1 && n == 1 &&
	       parse_shares("1/3", &m, &n) && parse_shares("4/3", &m, &n) &&
	       parse_shares("2/32", &m, &n) && parse_shares("3-5", &m, &n) &&
	       parse_shares("/5", &m, &n) && parse_shares("3/", &m, &n),
	       "--shares: M/N with 2 <= M <= N <= 31, or 1/1; nothing else");
}

static bool same_share(const struct recovery_share *a, const struct recovery_share *b)
{
	return a->m == b->m && a->n == b->n && a->x == b->x && a->id == b->id &&
	       !memcmp(a->data, b->data, sizeof(a->data));
}

static int make_split(unsigned int m, unsigned int n, const char *secret,
		      struct recovery_share *sh)
{
	struct recovery_split sp;
	char why[256];
	int ret;

	ret = recovery_split_prepare(&sp, m, n, why, sizeof(why));
	if (!ret)
		ret = recovery_split_do(&sp, secret, sh, why, sizeof(why));
	if (ret)
		tap_diag("split %u/%u: %s", m, n, why);
	recovery_split_free(&sp);
	return ret;
}

static void test_codec(void)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct recovery_share sh[5], pick[3], back;
	char text[SHARE_TEXT_SIZE], bad[SHARE_TEXT_SIZE], canon[SAFELOCK_RECOVERY_TEXT_SIZE];
	char why[256];
	unsigned int a, b, c, ok = 0, tried = 0, caught = 0, variants = 0;
	size_t i, j;

	tap_ok(!make_split(3, 5, secret_canon, sh), "a 3-of-5 split of a secret");
	for (a = 0; a < 5; a++)
		for (b = a + 1; b < 5; b++)
			for (c = b + 1; c < 5; c++) {
				pick[0] = sh[c];
				pick[1] = sh[a];
				pick[2] = sh[b];
				tried++;
				ok += !recovery_combine(pick, 3, canon, why, sizeof(why)) &&
				      !strcmp(canon, secret_canon);
			}
	tap_ok(tried == 10 && ok == 10, "every 3 of the 5 shares, in any order, give the secret (%u of %u)",
	       ok, tried);
	tried = ok = 0;
	for (a = 0; a < 5; a++)
		for (b = a + 1; b < 5; b++) {
			pick[0] = sh[a];
			pick[1] = sh[b];
			pick[0].m = pick[1].m = 2;	/* as if 2 were enough */
			tried++;
			ok += !recovery_combine(pick, 2, canon, why, sizeof(why)) &&
			      strcmp(canon, secret_canon);
		}
	tap_ok(tried == 10 && ok == 10, "no 2 of them give the secret, even told 2 are enough (%u of %u)",
	       ok, tried);

	recovery_share_text(&sh[1], text);
	tap_ok(strlen(text) == 54 && !strncmp(text, "352", 3) &&
	       recovery_parse(text, canon, &back, why, sizeof(why)) == RECOVERY_IS_SHARE &&
	       same_share(&back, &sh[1]),
	       "a share as text: 44 symbols in groups, starting M N X (\"352\"), read back whole");
	for (i = 0; i < strlen(text); i++) {
		if (text[i] == '-')
			continue;
		for (j = 0; j < 32; j++) {
			if (alphabet[j] == text[i])
				continue;
			strcpy(bad, text);
			bad[i] = alphabet[j];
			variants++;
			caught += recovery_parse(bad, canon, &back, why, sizeof(why)) == -EBADMSG &&
				  strstr(why, "check characters do not match");
		}
	}
	tap_ok(variants == 44 * 31 && caught == variants,
	       "every single mistyped character of a share is caught (%u of %u)", caught, variants);
	variants = caught = 0;
	for (i = 0; i + 1 < strlen(text); i++) {
		j = text[i + 1] == '-' ? i + 2 : i + 1;
		if (text[i] == '-' || text[i] == text[j])
			continue;
		strcpy(bad, text);
		bad[i] = text[j];
		bad[j] = text[i];
		variants++;
		caught += recovery_parse(bad, canon, &back, why, sizeof(why)) == -EBADMSG;
	}
	tap_ok(variants > 30 && caught == variants,
	       "every swap of two neighbouring characters is caught (%u of %u)", caught, variants);
	strcpy(bad, text);
	for (i = 0; bad[i]; i++)
		bad[i] = bad[i] == '-' ? ' ' : (char)(bad[i] >= 'A' ? bad[i] - 'A' + 'a' : bad[i]);
	tap_ok(recovery_parse(bad, canon, &back, why, sizeof(why)) == RECOVERY_IS_SHARE &&
	       same_share(&back, &sh[1]),
	       "a share typed in lower case, groups separated by spaces");
}

/* ----------------------------------------------------------------- */
/* The admin server in a child, on the fake vault                     */

struct info {
	unsigned int requests;		/* requests served */
	unsigned int secrets_seen;	/* requests with a recovery field */
	unsigned int not_plain;		/* ... that was not a canonical secret */
	unsigned int recovery_failures;
	unsigned int checks;
	char recovery[SAFELOCK_RECOVERY_TEXT_SIZE];
	char owner_code[SAFELOCK_CODE_MAX_DIGITS + 1];
};

static char tools_dir[4096], ctl_bin[4200], tmp[64], sock_path[96];
static int to_child = -1, from_child = -1;
static pid_t child;

static int k_door(void *ctx, char *why, size_t len)
{
	(void)ctx;
	(void)why;
	(void)len;
	return 1;
}

static bool k_registered(void *ctx)
{
	(void)ctx;
	return false;
}

static const struct admin_kernel_ops k_ops = {
	.door_open = k_door,
	.registered = k_registered,
};

static bool plain_secret(const char *s)
{
	char canon[SAFELOCK_RECOVERY_TEXT_SIZE], why[256];
	struct recovery_share sh;

	return recovery_parse(s, canon, &sh, why, sizeof(why)) == RECOVERY_IS_SECRET &&
	       !strcmp(canon, s);
}

static void serve_one(struct admin_server *srv, int fd, struct info *st)
{
	static struct safelock_admin_req rq;
	static struct safelock_admin_reply rep;
	struct ucred peer = { 0 };
	socklen_t pl = sizeof(peer);
	ssize_t n;

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &pl);
	while ((n = recv(fd, &rq, sizeof(rq), 0)) > 0) {
		st->requests++;
		if ((size_t)n == sizeof(rq) && rq.recovery[0]) {
			st->secrets_seen++;
			rq.recovery[sizeof(rq.recovery) - 1] = '\0';
			st->not_plain += !plain_secret(rq.recovery);
		}
		admin_handle(srv, &rq, (size_t)n, &peer, &rep);
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			break;
	}
	close(fd);
}

/*
 * The child: serve on sock_path; from the pipe, 's' keeps the vault as it
 * is, 'r' puts it back as kept, 'i' sends struct info.
 */
static void server_main(int cin, int cout)
{
	static struct fake_vault fv, kept;
	static struct admin_server srv;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct info st = { 0 };
	struct vault v;
	struct pollfd p[2];
	char cmd;
	int lfd;

	fake_vault_init(&v, &fv);
	admin_init(&srv, &v, &k_ops, NULL);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
		_exit(3);
	if (write(cout, "R", 1) != 1)
		_exit(3);
	for (;;) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = cin, .events = POLLIN };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN)
			serve_one(&srv, accept(lfd, NULL, NULL), &st);
		if (!(p[1].revents & (POLLIN | POLLHUP)))
			continue;
		if (read(cin, &cmd, 1) != 1)
			_exit(0);
		if (cmd == 's') {
			kept = fv;
		} else if (cmd == 'r') {
			fv = kept;
		} else if (cmd == 'i') {
			st.recovery_failures = fv.recovery_failures;
			st.checks = fv.checks;
			memcpy(st.recovery, fv.recovery, sizeof(st.recovery));
			memcpy(st.owner_code, fv.users[1].code, sizeof(st.owner_code));
			if (write(cout, &st, sizeof(st)) != sizeof(st))
				_exit(3);
		}
	}
}

static bool server_start(void)
{
	int a[2], b[2];
	char c;

	snprintf(sock_path, sizeof(sock_path), "%s/admin.sock", tmp);
	if (pipe(a) || pipe(b))
		return false;
	child = fork();
	if (child < 0)
		return false;
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);	/* audit_admin()'s lines */
		close(a[1]);
		close(b[0]);
		server_main(a[0], b[1]);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	to_child = a[1];
	from_child = b[0];
	return read(from_child, &c, 1) == 1 && c == 'R';
}

static void server_cmd(char c)
{
	if (write(to_child, &c, 1) != 1)
		tap_diag("server command %c: %s", c, strerror(errno));
}

static struct info server_info(void)
{
	struct info st = { 0 };

	server_cmd('i');
	if (read(from_child, &st, sizeof(st)) != sizeof(st))
		tap_diag("no answer from the server");
	return st;
}

/* ----------------------------------------------------------------- */
/* safelockctl, run as a program                                      */

struct run {
	int status;
	char out[8192], err[2048];
};

static void slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * safelockctl --socket SOCK ARGS... with @fd3 as the content of file
 * descriptor 3, in a new session (no terminal: nothing can be asked).
 */
static void ctl4(struct run *r, const char *fd3, const char *fd4, const char *const *args)
{
	char in[128], in4[128], out[128], err[128];
	char *argv[16] = { ctl_bin, "--socket", sock_path };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int i, fd, st;
	pid_t pid;

	for (i = 0; i < 12 && args[i]; i++)
		argv[3 + i] = (char *)args[i];
	snprintf(in, sizeof(in), "%s/fd3", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(err, sizeof(err), "%s/err", tmp);
	fd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, fd3, strlen(fd3)) != (ssize_t)strlen(fd3))
		tap_diag("cannot write %s", in);
	if (fd >= 0)
		close(fd);
	snprintf(in4, sizeof(in4), "%s/fd4", tmp);
	fd = open(in4, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, fd4, strlen(fd4)) != (ssize_t)strlen(fd4))
		tap_diag("cannot write %s", in4);
	if (fd >= 0)
		close(fd);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 3, in, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 4, in4, O_RDONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	r->status = -1;
	if (!posix_spawn(&pid, ctl_bin, &fa, &at, argv, (char *[]){ "NO_COLOR=1", NULL }) &&
	    waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	unlink(in);
	unlink(in4);
}

static void ctl(struct run *r, const char *fd3, const char *const *args)
{
	ctl4(r, fd3, "", args);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The shares in @out ("share X of N:  TEXT"), into @texts: how many. */
static int shares_of(const char *out, char texts[][SHARE_TEXT_SIZE], int max)
{
	const char *p = out;
	unsigned int x, n;
	int k = 0, used;

	for (; k < max && (p = strstr(p, "    share ")); p++) {
		used = 0;
		if (sscanf(p, "    share %u of %u:  %n", &x, &n, &used) == 2 && used > 0)
			snprintf(texts[k++], SHARE_TEXT_SIZE, "%.*s", SHARE_TEXT_SIZE - 1, p + used);
	}
	return k;
}

static bool says(const struct run *r, int status, const char *text)
{
	if (r->status == status && (strstr(r->err, text) || strstr(r->out, text)))
		return true;
	tap_diag("exit %d (wanted %d), stderr: %s; stdout: %.200s", r->status, status, r->err,
		 r->out);
	return false;
}

/* Recover with these lines on fd 3 (the shares, then the new code). */
static void recover(struct run *r, const char *lines)
{
	ctl(r, lines, ARGS("recover", "--recovery-fd", "3", "--new-code-fd", "3"));
}

static char shares[5][SHARE_TEXT_SIZE];

static void test_real_path(void)
{
	char lines[1024], other[5][SHARE_TEXT_SIZE], fresh[3][SHARE_TEXT_SIZE];
	char code[16], bad[SHARE_TEXT_SIZE], why[256];
	struct recovery_share sh[5], back;
	char canon[SAFELOCK_RECOVERY_TEXT_SIZE];
	struct info before, after;
	unsigned int a, b, c, tried = 0, passed = 0, kept_out = 0, counted = 0;
	struct run r;

	ctl(&r, "11223344\n", ARGS("init", "--shares", "3/5", "--new-code-fd", "3"));
	tap_ok(says(&r, 0, "any 3 of these 5 recover the lock") &&
	       shares_of(r.out, shares, 5) == 5 && strstr(r.out, "Initialised") &&
	       !strstr(r.out, "Recovery secret,"),
	       "init --shares 3/5: five shares shown once, not the secret");
	before = server_info();
	tap_ok(before.secrets_seen == 0 && plain_secret(before.recovery) &&
	       !strcmp(before.owner_code, "11223344"),
	       "safelockd made one plain recovery secret; no share reached it");
	server_cmd('s');

	for (a = 0; a < 5; a++)
		for (b = a + 1; b < 5; b++)
			for (c = b + 1; c < 5; c++) {
				server_cmd('r');
				snprintf(code, sizeof(code), "%u%u%u77665", a, b, c);
				snprintf(lines, sizeof(lines), "%s\n%s\n%s\n%s\n",
					 shares[b], shares[c], shares[a], code);
				recover(&r, lines);
				after = server_info();
				tried++;
				if (r.status == 0 && !strcmp(after.owner_code, code) &&
				    strstr(r.out, "any 3 of these 5 recover") &&
				    strcmp(after.recovery, before.recovery))
					passed++;
				else
					tap_diag("shares %u %u %u: %s", a + 1, b + 1, c + 1, r.err);
			}
	tap_ok(tried == 10 && passed == 10,
	       "every 3 of the 5 shares recover through safelockd: %u of %u; new shares 3 of 5 shown",
	       passed, tried);

	tried = 0;
	for (a = 0; a < 5; a++)
		for (b = a + 1; b < 5; b++) {
			server_cmd('r');
			before = server_info();
			snprintf(lines, sizeof(lines), "%s\n%s\n", shares[a], shares[b]);
			ctl4(&r, lines, "12121212\n",
			     ARGS("recover", "--recovery-fd", "3", "--new-code-fd", "4"));
			after = server_info();
			tried++;
			kept_out += r.status == EXIT_USAGE && strstr(r.err, "3 shares are needed, 2 given") &&
				    after.requests == before.requests;
			/* the same two, each saying 2 are enough: combined, sent, wrong */
			recovery_parse(shares[a], canon, &sh[0], why, sizeof(why));
			recovery_parse(shares[b], canon, &sh[1], why, sizeof(why));
			sh[0].m = sh[1].m = 2;
			recovery_share_text(&sh[0], other[0]);
			recovery_share_text(&sh[1], other[1]);
			snprintf(lines, sizeof(lines), "%s\n%s\n12121212\n", other[0], other[1]);
			recover(&r, lines);
			after = server_info();
			if (r.status == EXIT_REFUSED && strstr(r.err, "recovery secret refused") &&
			    after.recovery_failures == before.recovery_failures + 1 &&
			    after.checks == before.checks + 1 &&
			    !strcmp(after.owner_code, "11223344") &&
			    !strcmp(after.recovery, before.recovery))
				counted++;
			else
				tap_diag("shares %u %u as 2 of 5: exit %d, %s; failures %u -> %u",
					 a + 1, b + 1, r.status, r.err, before.recovery_failures,
					 after.recovery_failures);
		}
	tap_ok(tried == 10 && kept_out == 10,
	       "every 2 of the 5: refused before anything is sent, \"3 shares are needed, 2 given\" (%u of %u)",
	       kept_out, tried);
	tap_ok(counted == 10,
	       "every 2 of the 5 passed off as a 2-of-5 split: one wrong secret, exactly one failure counted, nothing changed (%u of %u)",
	       counted, tried);

	server_cmd('r');
	before = server_info();
	strcpy(bad, shares[3]);
	bad[20] = bad[20] == 'X' ? 'Y' : 'X';
	snprintf(lines, sizeof(lines), "%s\n%s\n%s\n12121212\n", shares[0], bad, shares[4]);
	recover(&r, lines);
	after = server_info();
	tap_ok(says(&r, EXIT_USAGE, "safelockctl: unable to recover the vault: share 2 (as typed): the share's check characters do not match") &&
	       after.requests == before.requests,
	       "a share with one character changed: refused naming it, nothing sent");
	if (make_split(3, 5, before.recovery, sh))
		tap_diag("no second split");
	recovery_share_text(&sh[2], other[2]);
	snprintf(lines, sizeof(lines), "%s\n%s\n%s\n12121212\n", shares[0], shares[1], other[2]);
	recover(&r, lines);
	after = server_info();
	tap_ok(says(&r, EXIT_USAGE, "share 3 (as typed) is of another split than share 1") &&
	       after.requests == before.requests,
	       "a share of another split (even of the same secret): refused, nothing sent");
	snprintf(lines, sizeof(lines), "%s\n%s\n%s\n12121212\n", shares[1], shares[4], shares[1]);
	recover(&r, lines);
	after = server_info();
	tap_ok(says(&r, EXIT_USAGE, "share 3 (as typed) repeats share 1: both are share 2 of 5") &&
	       after.requests == before.requests,
	       "a share given twice: refused, nothing sent");
	snprintf(lines, sizeof(lines), "%s\n%s\n12121212\n", shares[1], before.recovery);
	recover(&r, lines);
	tap_ok(says(&r, EXIT_USAGE, "share 2 (as typed) is a whole recovery secret, not a share"),
	       "a secret where a share was expected: refused");
	snprintf(lines, sizeof(lines), "%s\n%.30s\n", shares[1], shares[2]);
	recover(&r, lines);
	tap_ok(says(&r, EXIT_USAGE, "share 2 (as typed): 24 letters and digits: a recovery secret has 32 and a trustee's share 44"),
	       "a share cut short: its length, naming it");
	after = server_info();
	tap_ok(after.requests == before.requests && after.recovery_failures == before.recovery_failures,
	       "none of the refused inputs reached safelockd or counted");

	/* the secret typed by hand, in groups separated by spaces */
	snprintf(lines, sizeof(lines), "%s\n55667788\n", before.recovery);
	for (a = 0; lines[a]; a++)
		if (lines[a] == '-')
			lines[a] = ' ';
		else if (lines[a] >= 'A' && lines[a] <= 'Z')
			lines[a] = (char)(lines[a] - 'A' + 'a');
	recover(&r, lines);
	after = server_info();
	tap_ok(says(&r, 0, "Recovered") && !strcmp(after.owner_code, "55667788") &&
	       strstr(r.out, "Recovery secret, shown this once") && after.not_plain == 0,
	       "the whole secret typed in lower case, groups separated by spaces: recovers, sent in canonical form");

	/* a new split by the owner's code */
	server_cmd('r');
	before = server_info();
	ctl(&r, "99999999\n", ARGS("recovery", "split", "--shares", "2/3", "--as", "1", "--code-fd", "3"));
	after = server_info();
	tap_ok(says(&r, EXIT_REFUSED, "") && !strcmp(after.recovery, before.recovery),
	       "recovery split with a wrong owner code: refused, the secret unchanged");
	ctl(&r, "11223344\n", ARGS("recovery", "split", "--shares", "2/3", "--as", "1", "--code-fd", "3"));
	after = server_info();
	tap_ok(says(&r, 0, "any 2 of these 3 recover the lock") &&
	       shares_of(r.out, fresh, 3) == 3 && strcmp(after.recovery, before.recovery) &&
	       !strcmp(after.owner_code, "11223344"),
	       "recovery split --shares 2/3 --as 1: a new secret, three new shares");
	before = after;
	snprintf(lines, sizeof(lines), "%s\n%s\n%s\n12121212\n", shares[0], shares[2], shares[4]);
	recover(&r, lines);
	after = server_info();
	tap_ok(says(&r, EXIT_REFUSED, "recovery secret refused") &&
	       after.recovery_failures == before.recovery_failures + 1 &&
	       !strcmp(after.owner_code, "11223344"),
	       "the old shares stop working: refused by safelockd, one failure");
	snprintf(lines, sizeof(lines), "%s\n%s\n31313131\n", fresh[2], fresh[0]);
	recover(&r, lines);
	after = server_info();
	tap_ok(says(&r, 0, "any 2 of these 3 recover") && !strcmp(after.owner_code, "31313131"),
	       "any 2 of the new shares recover, and the new secret is split 2 of 3 again");
	recovery_parse(fresh[1], canon, &back, why, sizeof(why));
	tap_ok(back.m == 2 && back.n == 3 && back.x == 2, "a new share says 2 of 3, number 2");
	snprintf(lines, sizeof(lines), "%s\n%s\n41414141\n", fresh[1], fresh[2]);
	ctl(&r, lines, ARGS("recover", "--recovery-fd", "3", "--new-code-fd", "3", "--shares", "1/1"));
	tap_ok(says(&r, EXIT_REFUSED, "recovery secret refused"),
	       "the shares of before that recovery are spent too");
	after = server_info();
	tap_ok(after.secrets_seen > 20 && after.not_plain == 0,
	       "every one of the %u secrets that reached safelockd was a plain secret: nothing of a share is sent or stored",
	       after.secrets_seen);
}

static void test_usage(void)
{
	struct run r;

	ctl(&r, "", ARGS("init", "--shares", "1/3", "--new-code-fd", "3"));
	tap_ok(says(&r, EXIT_USAGE, "--shares needs M/N, any M of N shares recover, 2 <= M <= N <= 31 (or 1/1: no split), not '1/3'"),
	       "--shares 1/3: refused with the rule");
	ctl(&r, "", ARGS("recovery", "split", "--as", "1", "--code-fd", "3"));
	tap_ok(says(&r, EXIT_USAGE, "recovery split needs --shares M/N"),
	       "recovery split without --shares: refused");
	ctl(&r, "", ARGS("recovery", "split", "--shares", "2/3", "--as", "2", "--code-fd", "3"));
	tap_ok(says(&r, EXIT_USAGE, "recovery split needs --as 1"),
	       "recovery split by another user than the owner: refused before asking");
	ctl(&r, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-678U\n", ARGS("wipe", "--recovery-fd", "3", "--yes"));
	tap_ok(says(&r, EXIT_USAGE, "safelockctl: unable to wipe the vault: the recovery secret: character 39, 'U', is not in the alphabet"),
	       "wipe --recovery-fd with a U: the character and where");
}

int main(int argc, char **argv)
{
	snprintf(tools_dir, sizeof(tools_dir), "%s", argc > 1 ? argv[1] : ".");
	snprintf(ctl_bin, sizeof(ctl_bin), "%s/safelockctl/safelockctl", tools_dir);
	snprintf(tmp, sizeof(tmp), "/tmp/safelock-shamir-XXXXXX");
	tap_plan(NTESTS);
	test_forms();
	test_codec();
	if (!mkdtemp(tmp) || !server_start()) {
		tap_diag("cannot start the admin server in %s", tmp);
		return 1;
	}
	test_real_path();
	test_usage();
	close(to_child);
	waitpid(child, NULL, 0);
	unlink(sock_path);
	rmdir(tmp);
	return tap_exit();
}
