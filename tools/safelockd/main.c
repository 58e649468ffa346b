// SPDX-License-Identifier: GPL-2.0
/*
 * safelockd: the safelock verifier.
 *
 *   safelockd [--tcti STR] [--state-dir DIR] [--foreground] [--verbose]
 *             [--no-prepare] [--admin-socket PATH] [--admin-group NAME]
 *             [--user NAME]
 *
 * safelockd takes no code: users are enrolled through its admin socket
 * (safelockctl init, user add), with the door open and the authorisation
 * the policy demands.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
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
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: safelockd [--tcti STR] [--state-dir DIR] [--foreground] [--verbose]\n"
		"                 [--no-prepare] [--admin-socket PATH] [--admin-group NAME]\n"
		"                 [--user NAME]\n"
		"\n"
		"The safelock verifier: answers the kernel's VERIFY requests from a TPM 2.0 vault,\n"
		"and safelockctl's administration requests on a Unix socket.\n"
		"\n"
		"  -t, --tcti STR        TPM TCTI configuration (default " DEFAULT_TCTI ");\n"
		"                        device:/dev/tpm0 is faster (no resource manager)\n"
		"                        but safelockd must be the TPM's only user: it\n"
		"                        flushes every transient object and session there\n"
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
		"  -h, --help            this text\n"
		"  -V, --version         version\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
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
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:s:a:g:u:fvhV", opts, NULL)) != -1) {
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
	return 0;
}

static int serve(const struct config *cfg)
{
	/*
	 * keep_trying: a vault that cannot be opened (no TPM, a TPM that
	 * does not answer, NV unreadable) is no reason to exit. Without
	 * safelockd nothing registers, and after a reboot or a module load
	 * the kernel shows a provisioned lock as a new one, saying nothing
	 * of why; with it, the lock is registered as DAMAGED (nothing opens,
	 * `safelockctl status` says why) and the vault is tried again.
	 */
	struct vault_config vc = { .tcti = cfg->tcti, .state_dir = cfg->state_dir,
				   .keep_trying = true };
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
	if (ret < 0) {
		fprintf(stderr, "safelockd: unable to open vault: %s\n", v.errmsg);
		return 1;
	}
	if (ret == VAULT_OPEN_LATER)
		fprintf(stderr, "safelockd: unable to open vault: %s (registering the lock as DAMAGED meanwhile; trying again)\n",
			v.errmsg);
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
	return serve(&cfg);
}
