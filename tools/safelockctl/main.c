// SPDX-License-Identifier: GPL-2.0
/*
 * safelockctl: the owner's and administrator's tool for safelock.
 *
 *   safelockctl [-d DEVICE] [--json] status
 *   safelockctl [-d DEVICE] [--json] monitor [--count N] [--timeout SEC]
 *   safelockctl [-d DEVICE] lock
 *
 * Exit status: see safelockctl.h and --help.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsafelock.h"
#include "safelockctl.h"

struct command {
	const char *name;
	int (*run)(const struct ctl_config *cfg);
	bool monitor_opts;	/* takes --count/--timeout */
	const char *help;
};

static const struct command commands[] = {
	{ "status",  cmd_status,  false, "show the lock's state, lines and timings" },
	{ "monitor", cmd_monitor, true,  "print events as they happen" },
	{ "lock",    cmd_lock,    false, "throw the bolt now (never opens)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: safelockctl [OPTIONS] COMMAND\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -d, --device PATH   the lock's character device (default %s)\n"
		"  -j, --json          JSON output (one object per line for monitor)\n"
		"  -n, --count N       monitor: exit after N events\n"
		"  -t, --timeout SEC   monitor: exit after SEC seconds\n"
		"  -h, --help          this text\n"
		"  -V, --version       version\n"
		"\n"
		"Exit status: 0 success, 1 operation failed, 2 usage error,\n"
		"3 no such device (or it went away), 4 permission denied.\n",
		SAFELOCK_DEFAULT_DEVICE);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "safelockctl: unable to parse arguments: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return EXIT_USAGE;
}

/* Strict decimal in [min, max], or -1. */
static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	return v;
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device",	required_argument, NULL, 'd' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "count",	required_argument, NULL, 'n' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_config cfg = {
		.device = SAFELOCK_DEFAULT_DEVICE,
		.timeout_s = -1,
	};
	const struct command *cmd;
	int c;

	opterr = 0;	/* our own messages */
	while ((c = getopt_long(argc, argv, ":d:jn:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg)
				return usage_error("empty device path%s", "");
			cfg.device = optarg;
			break;
		case 'j':
			cfg.json = true;
			break;
		case 'n':
			cfg.count = parse_num(optarg, 1, LONG_MAX);
			if (cfg.count < 0)
				return usage_error("--count needs a positive number, not '%s'", optarg);
			cfg.count_set = true;
			break;
		case 't':
			cfg.timeout_s = parse_num(optarg, 0, INT_MAX / 1000);
			if (cfg.timeout_s < 0)
				return usage_error("--timeout needs a number of seconds, not '%s'", optarg);
			cfg.timeout_set = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("safelockctl %s (safelock ABI %d)\n",
			       SAFELOCK_TOOLS_VERSION, SAFELOCK_ABI_VERSION);
			return 0;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given%s", "");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!cmd->monitor_opts && (cfg.count_set || cfg.timeout_set))
		return usage_error("--count and --timeout are for monitor, not %s", cmd->name);
	return cmd->run(&cfg);
}
