// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd: the safelock verifier.
 *
 *   safelockd [--tcti STR] [--state-dir DIR] [--foreground] [--verbose]
 *             [--no-prepare] [--admin-socket PATH] [--admin-group NAME]
 *             [--user NAME]
 *   safelockd --enrol USER_ID [--code-fd N] [--tcti STR] [--state-dir DIR]
 *
 * A code is only ever read from a file descriptor: never from the command
 * line or the environment.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libsafelock.h"
#include "safelockd.h"

#define DEFAULT_TCTI		"device:/dev/tpmrm0"
#define DEFAULT_STATE_DIR	"/var/lib/safelock"
#define DEFAULT_USER		"safelock"

enum { EXIT_USAGE = 2 };

struct config {
	const char *tcti;
	const char *state_dir;
	const char *admin_socket;
	const char *admin_group;
	const char *user;
	bool foreground;
	struct verifier_opts vopts;
	long enrol_user;	/* 0: run the verifier */
	int code_fd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: safelockd [--tcti STR] [--state-dir DIR] [--foreground] [--verbose]\n"
		"                 [--no-prepare] [--admin-socket PATH] [--admin-group NAME]\n"
		"                 [--user NAME]\n"
		"       safelockd --enrol USER_ID [--code-fd N] [--tcti STR] [--state-dir DIR]\n"
		"\n"
		"The safelock verifier: answers the kernel's VERIFY requests from a TPM 2.0 vault,\n"
		"and safelockctl's administration requests on a Unix socket.\n"
		"\n"
		"  -t, --tcti STR        TPM TCTI configuration (default " DEFAULT_TCTI ")\n"
		"  -s, --state-dir DIR   sealed objects and the audit log in DIR/audit\n"
		"                        (default " DEFAULT_STATE_DIR ");\n"
		"                        given to the --user\n"
		"  -a, --admin-socket PATH\n"
		"                        the administration socket (default " SAFELOCK_ADMIN_SOCKET ");\n"
		"                        its directory is made 0750, the socket 0660\n"
		"  -g, --admin-group NAME\n"
		"                        the group of the socket and its directory, whose\n"
		"                        members may run safelockctl (default: safelockd's)\n"
		"  -u, --user NAME       run as this user once the TPM and the sockets are open\n"
		"                        (default " DEFAULT_USER "), with only CAP_NET_ADMIN, no_new_privs\n"
		"                        and a seccomp allow-list\n"
		"  -f, --foreground      do not detach (logs go to stderr either way)\n"
		"  -v, --verbose         debug lines: each entry's preparation and the TPM\n"
		"                        commands each request cost before and after its verdict\n"
		"      --no-prepare      debugging: ignore the kernel's ENTRY_BEGIN notice and\n"
		"                        do all the TPM work after ENTER (slower; for comparison)\n"
		"  -e, --enrol USER_ID   enrol user 1..%d with a code read from --code-fd\n"
		"  -c, --code-fd N       file descriptor to read the code from (default 0);\n"
		"                        %d to %d digits, a trailing newline allowed\n"
		"  -h, --help            this text\n"
		"  -V, --version         version\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n",
		SAFELOCK_USER_ID_MAX, SAFELOCK_CODE_MIN_DIGITS,
		SAFELOCK_CODE_MAX_DIGITS);
}

/* Strict decimal in [min, max], or -1. */
static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	return v;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option opts[] = {
		{ "tcti",	required_argument, NULL, 't' },
		{ "state-dir",	required_argument, NULL, 's' },
		{ "foreground",	no_argument,	   NULL, 'f' },
		{ "verbose",	no_argument,	   NULL, 'v' },
		{ "no-prepare",	no_argument,	   NULL, 'P' },
		{ "admin-socket", required_argument, NULL, 'a' },
		{ "admin-group", required_argument, NULL, 'g' },
		{ "user",	required_argument, NULL, 'u' },
		{ "enrol",	required_argument, NULL, 'e' },
		{ "code-fd",	required_argument, NULL, 'c' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	bool code_fd_set = false;
	int c;

	while ((c = getopt_long(argc, argv, "t:s:a:g:u:fve:c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			cfg->tcti = optarg;
			break;
		case 's':
			cfg->state_dir = optarg;
			break;
		case 'a':
			cfg->admin_socket = optarg;
			break;
		case 'g':
			cfg->admin_group = optarg;
			break;
		case 'u':
			cfg->user = optarg;
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case 'v':
			cfg->vopts.verbose = true;
			break;
		case 'P':
			cfg->vopts.no_prepare = true;
			break;
		case 'e':
			cfg->enrol_user = parse_num(optarg, 1, SAFELOCK_USER_ID_MAX);
			if (cfg->enrol_user < 0) {
				fprintf(stderr, "safelockd: unable to enrol user %s: user id must be 1 to %d\n",
					optarg, SAFELOCK_USER_ID_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			cfg->code_fd = (int)parse_num(optarg, 0, INT_MAX);
			if (cfg->code_fd < 0) {
				fprintf(stderr, "safelockd: unable to use code fd %s: not a file descriptor number\n",
					optarg);
				return EXIT_USAGE;
			}
			code_fd_set = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("safelockd %s (safelock ABI %d)\n",
			       SAFELOCK_TOOLS_VERSION, SAFELOCK_ABI_VERSION);
			exit(0);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "safelockd: unable to parse arguments: unexpected '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (code_fd_set && !cfg->enrol_user) {
		fprintf(stderr, "safelockd: unable to parse arguments: --code-fd needs --enrol\n");
		return EXIT_USAGE;
	}
	return 0;
}

static int enrol(const struct config *cfg)
{
	struct vault_config vc = { .tcti = cfg->tcti, .state_dir = cfg->state_dir };
	struct vault v = { .ops = &vault_tpm_ops };
	char code[SAFELOCK_CODE_BUF];
	size_t len = 0;
	int ret;

	ret = safelock_read_code(cfg->code_fd, code, &len);
	if (ret == -EINVAL) {
		fprintf(stderr, "safelockd: unable to enrol user %ld: code must be %d to %d digits\n",
			cfg->enrol_user, SAFELOCK_CODE_MIN_DIGITS,
			SAFELOCK_CODE_MAX_DIGITS);
		return 1;
	}
	if (ret) {
		fprintf(stderr, "safelockd: unable to enrol user %ld: reading fd %d: %s\n",
			cfg->enrol_user, cfg->code_fd, strerror(-ret));
		return 1;
	}
	ret = v.ops->open(&v, &vc);
	if (ret) {
		safelock_wipe(code, sizeof(code));
		fprintf(stderr, "safelockd: unable to open vault: %s\n", v.errmsg);
		return 1;
	}
	ret = v.ops->enrol(&v, (unsigned int)cfg->enrol_user, code, len);
	safelock_wipe(code, sizeof(code));
	if (ret)
		fprintf(stderr, "safelockd: unable to enrol user %ld: %s\n",
			cfg->enrol_user, v.errmsg);
	else
		fprintf(stderr, "safelockd: enrolled user %03ld\n", cfg->enrol_user);
	v.ops->close(&v);
	return ret ? 1 : 0;
}

static int serve(const struct config *cfg)
{
	struct vault_config vc = { .tcti = cfg->tcti, .state_dir = cfg->state_dir };
	struct vault v = { .ops = &vault_tpm_ops };
	struct sandbox_opts so = { .user = cfg->user, .state_dir = cfg->state_dir };
	struct verifier_opts vo = cfg->vopts;
	char audit_dir[4096];
	int ret;

	/* the audit log lives with the vault's state: the sandbox user owns both */
	snprintf(audit_dir, sizeof(audit_dir), "%s/audit", cfg->state_dir);
	vo.audit_dir = audit_dir;
	vo.tcti = cfg->tcti;
	vo.admin_socket = cfg->admin_socket;
	vo.admin_group = cfg->admin_group;
	vo.sandbox = &so;

	ret = v.ops->open(&v, &vc);
	if (ret) {
		fprintf(stderr, "safelockd: unable to open vault: %s\n", v.errmsg);
		return 1;
	}
	if (!cfg->foreground && daemon(0, 1) < 0) {
		fprintf(stderr, "safelockd: unable to detach: %s\n", strerror(errno));
		v.ops->close(&v);
		return 1;
	}
	ret = verifier_run(&v, &vo);
	v.ops->close(&v);
	return ret;
}

int main(int argc, char **argv)
{
	struct config cfg = {
		.tcti = DEFAULT_TCTI,
		.state_dir = DEFAULT_STATE_DIR,
		.admin_socket = SAFELOCK_ADMIN_SOCKET,
		.user = DEFAULT_USER,
	};
	int ret;

	ret = parse_args(argc, argv, &cfg);
	if (ret)
		return ret;
	if (cfg.enrol_user)
		return enrol(&cfg);
	return serve(&cfg);
}
