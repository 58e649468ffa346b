// SPDX-License-Identifier: GPL-2.0
/*
 * safelockctl's command line: a static table of commands (some in groups:
 * "user add"), one table of options parsed by getopt_long into one
 * struct ctl_config, and the help generated from both tables, so that
 * what --help says is what the parser accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/un.h>

#include "libsafelock.h"
#include "safelockctl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --json given: errors as one JSON object on stderr (see report()) */
static bool json_errors;

/*
 * Every message of safelockctl ends here: "safelockctl: TEXT" with TEXT
 * escaped (out_text(): it may quote the user, the lock or safelockd), or
 * under --json {"error":{"message":TEXT,"exit_status":N}} (or "warning",
 * without a status), one line on stderr either way. @code 0: a warning.
 */
static int report(int code, const char *prefix, const char *suffix,
		  const char *fmt, va_list ap)
{
	char msg[8192];
	int n;

	n = snprintf(msg, sizeof(msg), "%s", prefix);
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	n = (int)strlen(msg);
	snprintf(msg + n, sizeof(msg) - (size_t)n, "%s", suffix);
	fflush(stdout);		/* what was printed comes first */
	if (json_errors) {
		fprintf(stderr, "{\"%s\":{\"message\":", code ? "error" : "warning");
		json_string(stderr, msg);
		if (code)
			fprintf(stderr, ",\"exit_status\":%d", code);
		fputs("}}\n", stderr);
	} else {
		fputs("safelockctl: ", stderr);
		out_text(stderr, msg);
		fputc('\n', stderr);
	}
	return code;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = report(EXIT_USAGE, "unable to parse arguments: ", " (see --help)", fmt, ap);
	va_end(ap);
	return ret;
}

int ctl_fail(int code, const char *verb, const char *object,
	     const char *fmt, ...)
{
	char prefix[512];
	va_list ap;
	int ret;

	snprintf(prefix, sizeof(prefix), "unable to %s%s%s: ", verb,
		 object && *object ? " " : "", object ? object : "");
	va_start(ap, fmt);
	ret = report(code, prefix, "", fmt, ap);
	va_end(ap);
	return ret;
}

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(0, "warning: ", "", fmt, ap);
	va_end(ap);
}

int errno_exit(int err)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return EXIT_NODEV;
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	default:
		return EXIT_FAIL;
	}
}

/* Options ------------------------------------------------------------- */

enum {
	O_DEVICE = 'd', O_JSON = 'j', O_HELP = 'h', O_VERSION = 'V',
	O_COUNT = 'n', O_TIMEOUT = 't', O_YES = 'y',
	O_SOCKET = 256, O_COLOR, O_AS, O_AS2, O_CODE_FD, O_CODE2_FD,
	O_NEW_CODE_FD, O_RECOVERY_FD, O_RECOVERY, O_CANCEL, O_ROLE,
	O_TIME_DELAY, O_OPEN_WINDOW, O_DUAL_CONTROL, O_DUAL_WINDOW,
	O_DUAL_ADMIN, O_COURIER, O_RELOCK, O_DOOR_LIMIT, O_RECOVERY_DELAY,
	O_TIME_LOCK, O_LOCK, O_UNLOCK, O_CLEAR_SCHEDULE, O_HOLIDAY,
	O_NO_HOLIDAY, O_CLEAR_HOLIDAYS, O_ZONE, O_AUDIT_DIR, O_SINCE, O_USER,
	O_FORMAT, O_MODULES_DIR, O_MODPROBE_DIR, O_SHARES,
};

struct ctl_option {
	const char *name;
	int has_arg;
	int val;
	const char *arg;
	const char *help;
	bool global;
};

static const struct ctl_option options[] = {
	{ "device", 1, O_DEVICE, "PATH", "the lock's character device (default " SAFELOCK_DEFAULT_DEVICE ")", true },
	{ "socket", 1, O_SOCKET, "PATH", "safelockd's admin socket (default " SAFELOCK_ADMIN_SOCKET ")", true },
	{ "json", 0, O_JSON, NULL, "JSON output (one object per line for monitor and audit); errors as JSON on stderr", true },
	{ "color", 1, O_COLOR, "WHEN", "auto (default: on a terminal, unless NO_COLOR is set), always, never", true },
	{ "help", 0, O_HELP, NULL, "help, for safelockctl or a command", true },
	{ "version", 0, O_VERSION, NULL, "version", true },
	{ "count", 1, O_COUNT, "N", "stop after N events; audit show: the last N records", false },
	{ "timeout", 1, O_TIMEOUT, "SEC", "stop after SEC seconds", false },
	{ "as", 1, O_AS, "USER", "authorise as user USER (1 to 999); their code is asked for", false },
	{ "code-fd", 1, O_CODE_FD, "N", "read the --as user's code from file descriptor N", false },
	{ "as2", 1, O_AS2, "USER", "the second authoriser, under dual administration", false },
	{ "code2-fd", 1, O_CODE2_FD, "N", "read the --as2 user's code from file descriptor N", false },
	{ "new-code-fd", 1, O_NEW_CODE_FD, "N", "read the new code from file descriptor N (no confirmation)", false },
	{ "recovery", 0, O_RECOVERY, NULL, "authorise with the recovery secret (asked for)", false },
	{ "recovery-fd", 1, O_RECOVERY_FD, "N", "read the recovery secret from file descriptor N", false },
	{ "shares", 1, O_SHARES, "M/N", "split the recovery secret into N trustees' shares, any M recover (1/1: none)", false },
	{ "cancel", 0, O_CANCEL, NULL, "cancel a running recovery delay (any user's code)", false },
	{ "yes", 0, O_YES, NULL, "do not ask for confirmation", false },
	{ "role", 1, O_ROLE, "ROLE", "manager, user (default), auditor or courier", false },
	{ "time-delay", 1, O_TIME_DELAY, "DUR", "delay between an accepted code and the open window, {range}", false },
	{ "open-window", 1, O_OPEN_WINDOW, "DUR", "how long the open window lasts, {range}", false },
	{ "dual-control", 1, O_DUAL_CONTROL, "on|off", "opening needs the codes of two users", false },
	{ "dual-window", 1, O_DUAL_WINDOW, "DUR", "time for the second code, {range}", false },
	{ "dual-admin", 1, O_DUAL_ADMIN, "on|off", "administration needs two users (--as and --as2)", false },
	{ "courier-override", 1, O_COURIER, "on|off", "two couriers or managers may skip the time delay", false },
	{ "relock", 1, O_RELOCK, "DUR", "how long the bolt stays retracted, {range}, or 'board'", false },
	{ "door-limit", 1, O_DOOR_LIMIT, "DUR|off", "report a door open longer than this, {range}", false },
	{ "recovery-delay", 1, O_RECOVERY_DELAY, "DUR", "delay before a recovery completes, {range}", false },
	{ "time-lock", 1, O_TIME_LOCK, "on|off", "apply the weekly schedule and holidays", false },
	{ "lock", 1, O_LOCK, "SPEC", "add locked periods: \"mon-fri 18:00-08:00\", \"sat,sun all\"", false },
	{ "unlock", 1, O_UNLOCK, "SPEC", "remove locked periods (same form as --lock)", false },
	{ "clear-schedule", 0, O_CLEAR_SCHEDULE, NULL, "start from an empty weekly schedule", false },
	{ "holiday", 1, O_HOLIDAY, "DATE", "add a holiday, locked all day (YYYY-MM-DD)", false },
	{ "no-holiday", 1, O_NO_HOLIDAY, "DATE", "remove a holiday", false },
	{ "clear-holidays", 0, O_CLEAR_HOLIDAYS, NULL, "start from no holidays", false },
	{ "zone", 1, O_ZONE, "ZONE", "the lock's time zone: a name (Europe/Berlin), UTC, or 'local' (this machine's)", false },
	{ "audit-dir", 1, O_AUDIT_DIR, "DIR", "the audit log's directory (default /var/lib/safelock/audit)", false },
	{ "since", 1, O_SINCE, "WHEN", "records from WHEN: YYYY-MM-DD[ HH:MM[:SS]] (local) or DUR ago", false },
	{ "user", 1, O_USER, "USER", "records of user USER only", false },
	{ "format", 1, O_FORMAT, "FMT", "json (JSON lines; default)", false },
	{ "modules-dir", 1, O_MODULES_DIR, "DIR", "look for the module in DIR, not /lib/modules/$(uname -r) (diagnosing an image)", false },
	{ "modprobe-dir", 1, O_MODPROBE_DIR, "DIR", "modprobe configuration in DIR, not the system's (diagnosing an image)", false },
};

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/*
 * Every duration limit, by the option's (or the command's) name: "{range}"
 * in its help and its parse errors both print them with
 * format_duration_range(), so the two always say the same.
 */
static const struct dur_limit {
	const char *name;
	long long min_ms, max_ms, unit_ms;
} dur_limits[] = {
	{ "time-delay", 0, 2 * HOUR, SEC },
	{ "open-window", 1 * MIN, 30 * MIN, SEC },
	{ "dual-window", 10 * SEC, 5 * MIN, SEC },
	{ "relock", 500, 10 * MIN, 1 },
	{ "door-limit", 5 * SEC, 1 * HOUR, SEC },
	{ "recovery-delay", 0, 7 * DAY, SEC },
	{ "time-lock now", TIME_LOCK_MIN_MS, TIME_LOCK_MAX_MS, SEC },
};

static const struct dur_limit *find_dur_limit(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dur_limits); i++)
		if (!strcmp(dur_limits[i].name, name))
			return &dur_limits[i];
	return NULL;
}

/* @help with "{range}" replaced by @name's limits. */
static const char *expand_help(const char *name, const char *help, char *buf,
			       size_t len)
{
	const struct dur_limit *l = find_dur_limit(name);
	const char *at = strstr(help, "{range}");
	char range[72];

	if (!l || !at)
		return help;
	format_duration_range(l->min_ms, l->max_ms, range, sizeof(range));
	snprintf(buf, len, "%.*s%s%s", (int)(at - help), help, range, at + 7);
	return buf;
}

int parse_duration_arg(const char *name, const char *what, const char *arg,
		       long long *ms)
{
	const struct dur_limit *l = find_dur_limit(name);
	char err[256];

	if (!l)
		return usage_error("%s: no limits known", what);
	if (parse_duration_range(arg, l->min_ms, l->max_ms, l->unit_ms, ms, err,
				 sizeof(err)))
		return usage_error("%s %s", what, err);
	return 0;
}

static const struct ctl_option *find_option(int val)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++)
		if (options[i].val == val)
			return &options[i];
	return NULL;
}

/* Commands ------------------------------------------------------------ */

#define OPTS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define AUTH "as", "code-fd", "as2", "code2-fd"
#define NO_OPTS ((const char *const[]){ NULL })

static int cmd_help(struct ctl_config *cfg);

static const struct ctl_command commands[] = {
	{ NULL, "status", cmd_status, "", 0, 0, NO_OPTS,
	  "state, inputs and timers; safelockd's view", NULL },
	{ NULL, "monitor", cmd_monitor, "", 0, 0, OPTS("count", "timeout"),
	  "print events as they happen",
	  "A jump in the sequence numbers is reported as \"lost N events\"." },
	{ NULL, "lock", cmd_lock, "", 0, 0, NO_OPTS,
	  "throw the bolt now (never opens)", NULL },
	{ NULL, "init", cmd_init, "", 0, 0, OPTS("new-code-fd", "shares"),
	  "enrol the owner, show the recovery secret once",
	  "The door must be open. The owner's new code is asked for twice (or read\n"
	  "from --new-code-fd). The recovery secret is printed once: write it down.\n"
	  "With --shares M/N it is printed as N shares, one per trustee, any M of\n"
	  "which recover." },
	{ NULL, "recover", cmd_recover, "", 0, 0,
	  OPTS("recovery-fd", "new-code-fd", "cancel", "as", "code-fd", "shares"),
	  "a new owner code by the recovery secret",
	  "With a recovery delay in the policy, the first run starts the delay\n"
	  "(exit status 12) and a run after it completes the recovery; any user's\n"
	  "code cancels it: recover --cancel --as USER. Trustees' shares are taken\n"
	  "instead of the secret (one a line); the new secret is split the same way\n"
	  "unless --shares says otherwise." },
	{ "recovery", "split", cmd_recovery_split, "", 0, 0, OPTS("as", "code-fd", "shares"),
	  "a new recovery secret, split among trustees",
	  "The owner (--as 1) makes a new recovery secret, shown once as --shares\n"
	  "M/N: N shares, any M of which recover (1/1: one secret). The old secret\n"
	  "and every old share stop working." },
	{ NULL, "wipe", cmd_wipe, "", 0, 0, OPTS("as", "code-fd", "recovery", "recovery-fd", "yes"),
	  "erase every user, code and key",
	  "The door must be open; authorised by the owner (--as 1) or the recovery\n"
	  "secret (--recovery). Never moves the bolt." },
	{ "user", "add", cmd_user_add, "USER_ID", 1, 1, OPTS(AUTH, "role", "new-code-fd"),
	  "enrol a user with a role and a code", NULL },
	{ "user", "del", cmd_user_del, "USER_ID", 1, 1, OPTS(AUTH),
	  "remove a user", NULL },
	{ "user", "list", cmd_user_list, "", 0, 0, OPTS(AUTH),
	  "users, roles and failure counts", NULL },
	{ "user", "set-role", cmd_user_set_role, "USER_ID ROLE", 2, 2, OPTS(AUTH),
	  "change a user's role", NULL },
	{ "code", "change", cmd_code_change, "", 0, 0, OPTS("as", "code-fd", "new-code-fd"),
	  "change your own code", NULL },
	{ "duress", "set", cmd_duress_set, "", 0, 0, OPTS("as", "code-fd", "new-code-fd"),
	  "set your duress code (opens, silent alarm)", NULL },
	{ "duress", "clear", cmd_duress_clear, "", 0, 0, OPTS("as", "code-fd"),
	  "remove your duress code", NULL },
	{ "policy", "get", cmd_policy_get, "", 0, 0, NO_OPTS,
	  "the opening, admin and time-lock policy", NULL },
	{ "policy", "set", cmd_policy_set, "", 0, 0,
	  OPTS(AUTH, "time-delay", "open-window", "dual-control", "dual-window",
	       "dual-admin", "courier-override", "relock", "door-limit",
	       "recovery-delay", "time-lock", "lock", "unlock", "clear-schedule",
	       "holiday", "no-holiday", "clear-holidays", "zone"),
	  "change the policy (only what is given)",
	  "Durations: 90 (seconds), 90s, 15min, 2h, 1d, 1h30m, 500ms.\n"
	  "Schedule: DAYS TIMES, DAYS a day (mon), a range (mon-fri, fri-mon) or a\n"
	  "list (sat,sun), or daily; TIMES HH:MM-HH:MM on the quarter hour (an end\n"
	  "before the start runs into the next day), several joined by ',', or all.\n"
	  "Times are the controller's local time, in the policy's time zone: set it\n"
	  "with --zone (kept by every later policy set); safelockd follows its DST\n"
	  "transitions. Without a zone the stored UTC offset is used as it is." },
	{ "time-lock", "now", cmd_time_lock_now, "DURATION", 1, 1, OPTS(AUTH),
	  "no code opens for DURATION ({range})", NULL },
	{ "fault", "clear", cmd_fault_clear, "", 0, 0, OPTS(AUTH),
	  "clear a bolt fault after inspection", NULL },
	{ "audit", "show", cmd_audit_show, "", 0, 0, OPTS("audit-dir", "since", "count", "user"),
	  "the audit log as a table, from its files", NULL },
	{ "audit", "export", cmd_audit_export, "", 0, 0, OPTS("audit-dir", "since", "user", "format"),
	  "the audit log as JSON lines, for a SIEM", NULL },
	{ "audit", "verify", cmd_audit_verify, "", 0, 0, OPTS(AUTH),
	  "check the log with the vault's key",
	  "safelockd checks every record with the key in the TPM and names the\n"
	  "first bad one: an edited, deleted, inserted, reordered or truncated log." },
	{ NULL, "doctor", cmd_doctor, "", 0, 0, OPTS("modules-dir", "modprobe-dir"),
	  "what is missing, and what to do",
	  "Each check says what to do. The exit status is the first failing\n"
	  "check's: 8 module not loaded, 9 blacklisted, 10 not installed, 3 no\n"
	  "device, 5 no verifier or safelockd, 13 TPM not answering." },
	{ NULL, "help", cmd_help, "[COMMAND [SUBCOMMAND]]", 0, 2, NO_OPTS,
	  "this text, or a command's", NULL },
};

static const char *const exit_codes[] = {
	"0  success",
	"1  the operation failed",
	"2  usage error or bad input: nothing was sent",
	"3  no such device, or it went away",
	"4  permission denied",
	"5  safelockd not reachable, or no verifier registered",
	"6  refused: wrong code, or not allowed by role or policy",
	"7  locked out: try again later (the message says when)",
	"8  the safelock module is not loaded",
	"9  the safelock module is blacklisted",
	"10 the safelock module is not installed for this kernel",
	"11 audit verify: the log was altered",
	"12 a delay started (recovery): run the command again later",
	"13 safelockd answers but its TPM does not",
};

static bool is_group(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].group && !strcmp(commands[i].group, name))
			return true;
	return false;
}

static const struct ctl_command *find_command(const char *group, const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct ctl_command *c = &commands[i];

		if ((group ? c->group && !strcmp(c->group, group) : !c->group) &&
		    !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

static void command_name(const struct ctl_command *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", c->group ? c->group : "", c->group ? " " : "",
		 c->name);
}

static bool takes_option(const struct ctl_command *c, const char *name)
{
	const char *const *o;

	for (o = c->opts; *o; o++)
		if (!strcmp(*o, name))
			return true;
	return false;
}

/* "  LHS  help text" with the help wrapped at 79 columns under itself. */
static void print_entry(FILE *f, const char *lhs, int width, const char *help)
{
	int col = 2 + width + 1, n;
	const char *p = help;

	fprintf(f, "  %-*s", width, lhs);
	if ((int)strlen(lhs) > width)
		fprintf(f, "\n%*s", col - 1, "");
	while (*p) {
		n = (int)strlen(p);
		if (col + n > 79) {
			n = 79 - col;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n <= 0)
				n = (int)strcspn(p, " ");
		}
		fprintf(f, " %.*s\n", n, p);
		p += n;
		while (*p == ' ')
			p++;
		if (*p)
			fprintf(f, "%*s", col - 1, "");
	}
}

static void print_option(FILE *f, const struct ctl_option *o)
{
	char lhs[64], shopt[8] = "    ", help[256];

	if (o->val < 128)
		snprintf(shopt, sizeof(shopt), "-%c, ", o->val);
	snprintf(lhs, sizeof(lhs), "%s--%s%s%s", shopt, o->name,
		 o->arg ? " " : "", o->arg ? o->arg : "");
	print_entry(f, lhs, 28, expand_help(o->name, o->help, help, sizeof(help)));
}

static void usage(FILE *f)
{
	char name[64];
	size_t i;

	fprintf(f,
		"Usage: safelockctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"The owner's and administrator's tool for a safelock controller.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		char lhs[80], help[256];

		command_name(&commands[i], name, sizeof(name));
		snprintf(lhs, sizeof(lhs), "%s%s%s", name,
			 commands[i].args[0] ? " " : "", commands[i].args);
		print_entry(f, lhs, 27, expand_help(name, commands[i].help, help,
						    sizeof(help)));
	}
	fprintf(f, "\nGlobal options:\n");
	for (i = 0; i < ARRAY_SIZE(options); i++)
		if (options[i].global)
			print_option(f, &options[i]);
	fprintf(f,
		"\n"
		"Codes and the recovery secret are read from the terminal without echo,\n"
		"or from a file descriptor (--code-fd N, --new-code-fd N, ...): never\n"
		"from the command line or the environment.\n"
		"\n"
		"Exit status:\n");
	for (i = 0; i < ARRAY_SIZE(exit_codes); i++)
		fprintf(f, "  %s\n", exit_codes[i]);
	fprintf(f, "\nRun 'safelockctl COMMAND --help' for a command's options; see safelockctl(8).\n");
}

static void group_usage(FILE *f, const char *group)
{
	size_t i;

	fprintf(f, "Usage: safelockctl %s SUBCOMMAND [ARGS] [OPTIONS]\n\nSubcommands:\n",
		group);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		char lhs[80], help[256], name[64];

		if (!commands[i].group || strcmp(commands[i].group, group))
			continue;
		command_name(&commands[i], name, sizeof(name));
		snprintf(lhs, sizeof(lhs), "%s%s%s", commands[i].name,
			 commands[i].args[0] ? " " : "", commands[i].args);
		print_entry(f, lhs, 21, expand_help(name, commands[i].help, help,
						    sizeof(help)));
	}
	fprintf(f, "\nRun 'safelockctl %s SUBCOMMAND --help' for its options.\n", group);
}

static void command_usage(FILE *f, const struct ctl_command *c)
{
	const char *const *o;
	char name[64], buf[256];
	const char *help;
	size_t i;

	command_name(c, name, sizeof(name));
	help = expand_help(name, c->help, buf, sizeof(buf));
	fprintf(f, "Usage: safelockctl %s%s%s%s\n\n%c%s.\n", name,
		c->args[0] ? " " : "", c->args, c->opts[0] ? " [OPTIONS]" : "",
		help[0] - ('a' <= help[0] && help[0] <= 'z' ? 32 : 0), help + 1);
	if (c->details)
		fprintf(f, "\n%s\n", c->details);
	if (c->opts[0]) {
		fprintf(f, "\nOptions:\n");
		for (o = c->opts; *o; o++)
			for (i = 0; i < ARRAY_SIZE(options); i++)
				if (!strcmp(options[i].name, *o))
					print_option(f, &options[i]);
	}
	fprintf(f, "\nGlobal options (-d, --socket, --json, --color) and exit status: safelockctl --help.\n");
}

static int cmd_help(struct ctl_config *cfg)
{
	const struct ctl_command *c = NULL;

	if (cfg->n_args == 0) {
		usage(stdout);
		return 0;
	}
	if (cfg->n_args == 1 && is_group(cfg->args[0])) {
		group_usage(stdout, cfg->args[0]);
		return 0;
	}
	c = cfg->n_args == 2 ? find_command(cfg->args[0], cfg->args[1]) :
			       find_command(NULL, cfg->args[0]);
	if (!c)
		return usage_error("no command '%s%s%s'", cfg->args[0],
				   cfg->n_args == 2 ? " " : "",
				   cfg->n_args == 2 ? cfg->args[1] : "");
	command_usage(stdout, c);
	return 0;
}

/* Parsing ------------------------------------------------------------- */

static int parse_fd(const char *opt, const char *arg, int *fd)
{
	long v = parse_num(arg, 0, INT_MAX);

	if (v < 0)
		return usage_error("--%s needs a file descriptor number, not '%s'", opt, arg);
	if (fcntl((int)v, F_GETFD) < 0)
		return usage_error("--%s %ld: not an open file descriptor", opt, v);
	*fd = (int)v;
	return 0;
}

static int parse_dur_s(const char *opt, const char *arg, long long *out)
{
	char what[64];
	long long ms;
	int ret;

	snprintf(what, sizeof(what), "--%s", opt);
	ret = parse_duration_arg(opt, what, arg, &ms);
	if (!ret)
		*out = ms / 1000;
	return ret;
}

static int parse_switch(const char *opt, const char *arg, int *out)
{
	*out = parse_onoff(arg);
	if (*out < 0)
		return usage_error("--%s needs on or off, not '%s'", opt, arg);
	return 0;
}

/* One option into @cfg: 0 or an exit status. */
static int parse_option(struct ctl_config *cfg, int c, const char *arg)
{
	const struct ctl_option *o = find_option(c);
	long long v;

	switch (c) {
	case O_DEVICE:
		if (!*arg)
			return usage_error("empty device path");
		cfg->device = arg;
		return 0;
	case O_SOCKET:
		if (!*arg)
			return usage_error("empty socket path");
		if (strlen(arg) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return usage_error("--socket: a socket path has at most %zu bytes, not %zu: '%s'",
					   sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1,
					   strlen(arg), arg);
		cfg->socket = arg;
		return 0;
	case O_JSON:
		cfg->json = true;
		return 0;
	case O_COLOR:
		if (!strcmp(arg, "auto"))
			cfg->color = COLOR_AUTO;
		else if (!strcmp(arg, "always"))
			cfg->color = COLOR_ALWAYS;
		else if (!strcmp(arg, "never"))
			cfg->color = COLOR_NEVER;
		else
			return usage_error("--color needs auto, always or never, not '%s'", arg);
		return 0;
	case O_COUNT:
		cfg->count = parse_num(arg, 1, LONG_MAX);
		if (cfg->count < 0)
			return usage_error("--count needs a positive number, not '%s'", arg);
		return 0;
	case O_TIMEOUT:
		cfg->timeout_s = parse_num(arg, 0, INT_MAX / 1000);
		if (cfg->timeout_s < 0)
			return usage_error("--timeout needs a number of seconds, not '%s'", arg);
		return 0;
	case O_AS:
	case O_AS2:
	case O_USER:
		v = parse_user(arg);
		if (!v)
			return usage_error("--%s needs a user id from 1 to %d, not '%s'",
					   o->name, SAFELOCK_USER_ID_MAX, arg);
		*(c == O_AS ? &cfg->as_user : c == O_AS2 ? &cfg->as2_user :
		  &cfg->filter_user) = (unsigned int)v;
		return 0;
	case O_CODE_FD:
		return parse_fd(o->name, arg, &cfg->code_fd);
	case O_CODE2_FD:
		return parse_fd(o->name, arg, &cfg->code2_fd);
	case O_NEW_CODE_FD:
		return parse_fd(o->name, arg, &cfg->new_code_fd);
	case O_RECOVERY_FD:
		cfg->use_recovery = true;
		return parse_fd(o->name, arg, &cfg->recovery_fd);
	case O_RECOVERY:
		cfg->use_recovery = true;
		return 0;
	case O_CANCEL:
		cfg->cancel = true;
		return 0;
	case O_SHARES:
		if (parse_shares(arg, &cfg->shares_m, &cfg->shares_n))
			return usage_error("--shares needs M/N, any M of N shares recover, 2 <= M <= N <= %d (or 1/1: no split), not '%s'",
					   SHARE_MAX_N, arg);
		return 0;
	case O_YES:
		cfg->yes = true;
		return 0;
	case O_ROLE:
		cfg->role = parse_role(arg);
		if (!cfg->role)
			return usage_error("--role needs manager, user, auditor or courier, not '%s'", arg);
		if (cfg->role == SAFELOCK_ROLE_OWNER)
			return usage_error("there is one owner, user 001, made by init");
		return 0;
	case O_TIME_DELAY:
		return parse_dur_s(o->name, arg, &cfg->time_delay_s);
	case O_OPEN_WINDOW:
		return parse_dur_s(o->name, arg, &cfg->open_window_s);
	case O_DUAL_WINDOW:
		return parse_dur_s(o->name, arg, &cfg->dual_window_s);
	case O_RECOVERY_DELAY:
		return parse_dur_s(o->name, arg, &cfg->recovery_delay_s);
	case O_DOOR_LIMIT:
		if (!strcmp(arg, "off") || !strcmp(arg, "0")) {
			cfg->door_limit_s = 0;
			return 0;
		}
		return parse_dur_s(o->name, arg, &cfg->door_limit_s);
	case O_RELOCK:
		/* back to the board's own relock-ms property */
		if (!strcmp(arg, "board")) {
			cfg->relock_ms = 0;
			return 0;
		}
		return parse_duration_arg(o->name, "--relock", arg, &cfg->relock_ms);
	case O_DUAL_CONTROL:
		return parse_switch(o->name, arg, &cfg->dual_control);
	case O_DUAL_ADMIN:
		return parse_switch(o->name, arg, &cfg->dual_admin);
	case O_COURIER:
		return parse_switch(o->name, arg, &cfg->courier_override);
	case O_TIME_LOCK:
		return parse_switch(o->name, arg, &cfg->time_lock);
	case O_LOCK:
	case O_UNLOCK: {
		uint8_t week[7 * 96 / 8] = { 0 };
		char err[160];

		if (schedule_apply(week, arg, true, err, sizeof(err)))
			return usage_error("--%s: %s", o->name, err);
		if ((c == O_LOCK ? cfg->n_lock : cfg->n_unlock) >= CTL_MAX_SPECS)
			return usage_error("--%s given more than %d times", o->name, CTL_MAX_SPECS);
		if (c == O_LOCK)
			cfg->lock_specs[cfg->n_lock++] = arg;
		else
			cfg->unlock_specs[cfg->n_unlock++] = arg;
		return 0;
	}
	case O_CLEAR_SCHEDULE:
		cfg->clear_schedule = true;
		return 0;
	case O_HOLIDAY:
	case O_NO_HOLIDAY:
		if (parse_date(arg) < 0)
			return usage_error("--%s needs a date YYYY-MM-DD (1970-01-02 to 2105), not '%s'",
					   o->name, arg);
		if ((c == O_HOLIDAY ? cfg->n_holidays : cfg->n_no_holidays) >= SAFELOCK_ADMIN_HOLIDAYS)
			return usage_error("--%s given more than %d times", o->name,
					   SAFELOCK_ADMIN_HOLIDAYS);
		if (c == O_HOLIDAY)
			cfg->holidays[cfg->n_holidays++] = arg;
		else
			cfg->no_holidays[cfg->n_no_holidays++] = arg;
		return 0;
	case O_CLEAR_HOLIDAYS:
		cfg->clear_holidays = true;
		return 0;
	case O_ZONE:
		if (!*arg || strlen(arg) >= SAFELOCK_ADMIN_ZONE_SIZE)
			return usage_error("--zone needs a time zone name (Europe/Berlin, UTC) or 'local', not '%s'",
					   arg);
		cfg->zone = arg;
		return 0;
	case O_AUDIT_DIR:
		if (!*arg)
			return usage_error("empty audit directory");
		cfg->audit_dir = arg;
		return 0;
	case O_SINCE:
		cfg->since_s = parse_since(arg, (long long)time(NULL));
		if (cfg->since_s < 0)
			return usage_error("--since needs YYYY-MM-DD[ HH:MM[:SS]] or a duration (2h), not '%s'", arg);
		return 0;
	case O_FORMAT:
		if (!strcmp(arg, "json"))
			cfg->format = AUDIT_FMT_JSON;
		else if (!strcmp(arg, "journal"))
			return usage_error("--format journal is not built in yet: use json");
		else
			return usage_error("--format needs json, not '%s'", arg);
		return 0;
	case O_MODULES_DIR:
	case O_MODPROBE_DIR:
		if (access(arg, R_OK | X_OK) < 0)
			return usage_error("--%s %s: %s", o->name, arg, strerror(errno));
		*(c == O_MODULES_DIR ? &cfg->modules_dir : &cfg->modprobe_dir) = arg;
		return 0;
	default:
		return usage_error("unhandled option");
	}
}

static void resolve_color(struct ctl_config *cfg)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	switch (cfg->color) {
	case COLOR_ALWAYS:
		cfg->use_color = true;
		break;
	case COLOR_NEVER:
		cfg->use_color = false;
		break;
	default:
		cfg->use_color = isatty(STDOUT_FILENO) && !(nc && *nc) &&
				 !(term && !strcmp(term, "dumb"));
	}
}

int ctl_main(int argc, char **argv)
{
	struct option lopts[ARRAY_SIZE(options) + 1];
	int seen[ARRAY_SIZE(options)];
	struct ctl_config cfg = {
		.device = SAFELOCK_DEFAULT_DEVICE,
		.socket = SAFELOCK_ADMIN_SOCKET,
		.audit_dir = "/var/lib/safelock/audit",
		.timeout_s = -1,
		.code_fd = -1, .code2_fd = -1, .new_code_fd = -1, .recovery_fd = -1,
		.time_delay_s = -1, .open_window_s = -1, .dual_window_s = -1,
		.relock_ms = -1, .door_limit_s = -1, .recovery_delay_s = -1,
		.dual_control = OPT_UNSET, .dual_admin = OPT_UNSET,
		.courier_override = OPT_UNSET, .time_lock = OPT_UNSET,
		.since_s = -1,
	};
	const struct ctl_command *cmd;
	char shortopts[32] = ":", name[64];
	bool help = false;
	size_t i, n = 1;
	int c, idx, ret, pos;

	for (i = 0; i < ARRAY_SIZE(options); i++) {
		lopts[i] = (struct option){ options[i].name, options[i].has_arg,
					    NULL, options[i].val };
		seen[i] = 0;
		if (options[i].val < 128 && n + 2 < sizeof(shortopts)) {
			shortopts[n++] = (char)options[i].val;
			if (options[i].has_arg)
				shortopts[n++] = ':';
		}
	}
	lopts[ARRAY_SIZE(options)] = (struct option){ NULL, 0, NULL, 0 };

	opterr = 0;	/* our own messages */
	/*
	 * --json anywhere makes every error JSON, one met before it too: a
	 * first pass over a copy of argv (getopt_long() reorders what it scans).
	 */
	{
		char **copy = calloc((size_t)argc + 1, sizeof(*copy));

		for (c = 0; copy && c < argc; c++)
			copy[c] = argv[c];
		while (copy && (c = getopt_long(argc, copy, shortopts, lopts, &idx)) != -1)
			if (c == O_JSON)
				json_errors = cfg.json = true;
		free(copy);
		optind = 0;	/* glibc: start over */
	}
	while ((c = getopt_long(argc, argv, shortopts, lopts, &idx)) != -1) {
		const struct ctl_option *o;

		if (c == ':')
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			return usage_error("unknown option '%s'", argv[optind - 1]);
		o = find_option(c);
		if (c == O_HELP) {
			help = true;
			continue;
		}
		if (c == O_VERSION) {
			if (cfg.json)
				printf("{\"version\":\"%s\",\"abi_version\":%d}\n",
				       SAFELOCK_TOOLS_VERSION, SAFELOCK_ABI_VERSION);
			else
				printf("safelockctl %s (safelock ABI %d)\n",
				       SAFELOCK_TOOLS_VERSION, SAFELOCK_ABI_VERSION);
			return 0;
		}
		seen[o - options]++;
		ret = parse_option(&cfg, c, optarg);
		if (ret)
			return ret;
	}

	pos = optind;
	if (pos >= argc) {
		if (help) {
			usage(stdout);
			return 0;
		}
		return usage_error("no command given");
	}
	if (is_group(argv[pos])) {
		if (pos + 1 >= argc || !find_command(argv[pos], argv[pos + 1])) {
			if (help) {
				group_usage(stdout, argv[pos]);
				return 0;
			}
			if (pos + 1 >= argc)
				return usage_error("'%s' needs a subcommand", argv[pos]);
			return usage_error("unknown command '%s %s'", argv[pos], argv[pos + 1]);
		}
		cmd = find_command(argv[pos], argv[pos + 1]);
		pos += 2;
	} else {
		cmd = find_command(NULL, argv[pos]);
		if (!cmd)
			return usage_error("unknown command '%s'", argv[pos]);
		pos++;
	}
	if (help) {
		command_usage(stdout, cmd);
		return 0;
	}
	command_name(cmd, name, sizeof(name));
	for (i = 0; i < ARRAY_SIZE(options); i++) {
		if (!seen[i] || options[i].global || takes_option(cmd, options[i].name))
			continue;
		return usage_error("'%s' takes no option --%s", name, options[i].name);
	}
	for (i = 0; i < ARRAY_SIZE(options); i++) {
		bool repeatable = !strcmp(options[i].name, "lock") ||
				  !strcmp(options[i].name, "unlock") ||
				  !strcmp(options[i].name, "holiday") ||
				  !strcmp(options[i].name, "no-holiday");

		if (seen[i] > 1 && !repeatable && !options[i].global)
			return usage_error("--%s given twice", options[i].name);
	}
	cfg.n_args = argc - pos;
	if (cfg.n_args < cmd->min_args)
		return usage_error("'%s' needs %s", name, cmd->args);
	if (cfg.n_args > cmd->max_args)
		return usage_error("unexpected argument '%s'", argv[pos + cmd->max_args]);
	for (c = 0; c < cfg.n_args; c++)
		cfg.args[c] = argv[pos + c];
	if (cfg.code2_fd >= 0 && !cfg.as2_user)
		return usage_error("--code2-fd needs --as2");
	if (cfg.code_fd >= 0 && !cfg.as_user)
		return usage_error("--code-fd needs --as");
	if (cfg.as2_user && !cfg.as_user)
		return usage_error("--as2 needs --as");
	if (cfg.as2_user && cfg.as2_user == cfg.as_user)
		return usage_error("--as and --as2 must be two different users");
	cfg.cmd = cmd;
	resolve_color(&cfg);
	return cmd->run(&cfg);
}
