/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SAFELOCKCTL_H
#define SAFELOCKCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "admin.h"

/*
 * Exit status of safelockctl: one meaning each, in --help and in
 * safelockctl(8). Keep the three in step (tests/test_cli.c checks --help).
 */
enum {
	EXIT_FAIL = 1,		/* the operation failed (any other reason) */
	EXIT_USAGE = 2,		/* bad arguments or input: nothing was sent */
	EXIT_NODEV = 3,		/* no such device, or it went away */
	EXIT_PERM = 4,		/* permission denied (device, socket, netlink) */
	EXIT_NODAEMON = 5,	/* safelockd not reachable, or no verifier registered */
	EXIT_REFUSED = 6,	/* wrong code, or refused by role or policy */
	EXIT_LOCKEDOUT = 7,	/* throttled: try again later (the message says when) */
	EXIT_NOMODULE = 8,	/* module available but not loaded */
	EXIT_BLACKLISTED = 9,	/* module blacklisted in modprobe.d */
	EXIT_NOTINSTALLED = 10,	/* module not installed for this kernel */
	EXIT_TAMPERED = 11,	/* audit verify: the log was altered */
	EXIT_PENDING = 12,	/* a delay started (recovery): run it again later */
	EXIT_NOVAULT = 13,	/* safelockd answers but its TPM does not */
};

enum ctl_color { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
enum audit_fmt { AUDIT_FMT_JSON, AUDIT_FMT_JOURNAL };

/* A tri-state for on/off options: unset, off, on. */
enum { OPT_UNSET = -1 };

#define CTL_MAX_SPECS	16

/* Every option of every command, parsed into one place. */
struct ctl_config {
	const char *device;
	const char *socket;
	bool json;
	enum ctl_color color;
	bool use_color;			/* resolved from color, isatty, NO_COLOR */

	const struct ctl_command *cmd;
	const char *args[4];		/* positional arguments after the command */
	int n_args;

	/* monitor, audit show */
	long count;			/* 0: no limit */
	long timeout_s;			/* -1: none */

	/* authorisation and secrets: file descriptors, never values */
	unsigned int as_user, as2_user;	/* 0: not given */
	int code_fd, code2_fd, new_code_fd, recovery_fd;	/* -1: prompt */
	bool use_recovery;		/* wipe/recover: by recovery secret */
	unsigned int shares_m, shares_n;	/* --shares M/N; 0: not given */
	bool yes, cancel;
	uint32_t role;			/* enum safelock_role; 0: not given */

	/* policy set: -1 unset, else the new value */
	long long time_delay_s, open_window_s, dual_window_s, relock_ms;
	long long door_limit_s, recovery_delay_s;
	int dual_control, dual_admin, courier_override, time_lock;
	const char *lock_specs[CTL_MAX_SPECS], *unlock_specs[CTL_MAX_SPECS];
	int n_lock, n_unlock;
	bool clear_schedule, clear_holidays;
	const char *holidays[SAFELOCK_ADMIN_HOLIDAYS], *no_holidays[SAFELOCK_ADMIN_HOLIDAYS];
	int n_holidays, n_no_holidays;
	const char *zone;		/* --zone: a name, or "local"; NULL: keep */

	/* audit */
	const char *audit_dir;
	long long since_s;		/* unix time; -1: all */
	unsigned int filter_user;	/* 0: all */
	enum audit_fmt format;

	/* doctor */
	const char *modules_dir, *modprobe_dir;
};

struct ctl_command {
	const char *group;		/* "user" for "user add"; NULL */
	const char *name;
	int (*run)(struct ctl_config *cfg);
	const char *args;		/* positional synopsis, "" if none */
	int min_args, max_args;
	const char *const *opts;	/* long names of the options it takes */
	const char *help;		/* one line */
	const char *details;		/* more, for COMMAND --help; may be NULL */
};

/* cli.c */
int ctl_main(int argc, char **argv);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_fail(int code, const char *verb, const char *object,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int errno_exit(int err);
/* "safelockctl: warning: ..." (JSON under --json) */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * @arg of option or command @name (its limits in cli.c's table) as
 * milliseconds; @what names it in the error ("--time-delay", "DURATION").
 * 0 or EXIT_USAGE with the message printed.
 */
int parse_duration_arg(const char *name, const char *what, const char *arg,
		       long long *ms);
/* time-lock now DURATION */
#define TIME_LOCK_MIN_MS	60000LL
#define TIME_LOCK_MAX_MS	(7 * 86400000LL)

/* parse.c: strict parsers, -1 / false on bad input (pure, unit-tested) */
long parse_num(const char *s, long min, long max);
unsigned int parse_user(const char *s);		/* 1..999, or 0 */
uint32_t parse_role(const char *s);		/* SAFELOCK_ROLE_*, or 0 */
const char *role_name(uint32_t role);
/* "90", "90s", "15m", "2h", "1d", "1h30m", "500ms": milliseconds, or -1 */
long long parse_duration_ms(const char *s);
int parse_onoff(const char *s);			/* 1, 0, or -1 */
/* "3/5": any 3 of 5 shares; 2 <= M <= N <= SHARE_MAX_N, or 1/1. 0 or -1 */
int parse_shares(const char *s, unsigned int *m, unsigned int *n);
/* "2026-12-25": days since 1970-01-01, or -1 */
long parse_date(const char *s);
void format_date(long days, char *buf, size_t len);
/* "4 min 10 s" */
void format_duration_ms(unsigned long long ms, char *buf, size_t len);
/*
 * A duration as it is typed, parse_duration_ms() reads it back: "0",
 * "500ms", "90s", "15min", "2h", "7d", "1h30min". The one formatter of
 * every duration limit, in --help and in the errors alike.
 */
void format_duration_arg(long long ms, char *buf, size_t len);
/* "1min to 7d" */
void format_duration_range(long long min_ms, long long max_ms, char *buf,
			   size_t len);
/*
 * @s as a duration from @min_ms to @max_ms in whole @unit_ms: 0, or -1 and
 * what is wrong in @err, to follow the argument's name: "'30s' is too
 * short: it is from 1min to 7d".
 */
int parse_duration_range(const char *s, long long min_ms, long long max_ms,
			 long long unit_ms, long long *ms, char *err, size_t errlen);
/*
 * "mon-fri 18:00-08:00", "sat,sun all": set (or clear, with @set false)
 * the quarter hours of the week map. 0, or -1 with the reason in @err.
 */
int schedule_apply(uint8_t week[7 * 96 / 8], const char *spec, bool set,
		   char *err, size_t errlen);
/* One line per day with locked periods, "mon 18:00-24:00, ..." */
int schedule_describe(const uint8_t week[7 * 96 / 8], int day, char *buf,
		      size_t len);
const char *schedule_day_name(int day);
/* Local "YYYY-MM-DD[ HH:MM[:SS]]" or a duration ago ("2h"): unix seconds, or -1 */
long long parse_since(const char *s, long long now);

/* output.c: one code path for the human and the JSON form */
struct out {
	FILE *f;
	bool json;
	bool color;
	int depth;		/* JSON nesting */
	bool first[8];		/* no member yet at this depth */
	int indent;		/* human: spaces before a label */
	bool list_first;	/* human: inline list */
	char row[512];		/* human: the table row being built */
	size_t rowlen;
};
void out_init(struct out *o, const struct ctl_config *cfg);
void out_begin(struct out *o);
void out_end(struct out *o);
void out_str(struct out *o, const char *key, const char *label, const char *value);
/* a value in a colour on a terminal: TONE_* */
void out_tone(struct out *o, const char *key, const char *label,
	      const char *value, int tone);
void out_num(struct out *o, const char *key, const char *label,
	     unsigned long long value, const char *unit);
void out_snum(struct out *o, const char *key, const char *label, long long value,
	      const char *unit);
/* milliseconds: a number in JSON, "4 min 10 s" for people */
void out_ms(struct out *o, const char *key, const char *label,
	    unsigned long long ms);
/* the same, but a setting: 6500 ms stays "6500 ms" (out_ms rounds up) */
void out_ms_exact(struct out *o, const char *key, const char *label,
		  unsigned long long ms);
void out_bool(struct out *o, const char *key, const char *label, bool value,
	      const char *yes, const char *no);
void out_null(struct out *o, const char *key, const char *label, const char *text);
void out_obj_begin(struct out *o, const char *key, const char *label);
void out_obj_end(struct out *o);
/* an inline list of strings: "label  a, b, c" or "key":["a","b","c"] */
void out_list_begin(struct out *o, const char *key, const char *label);
void out_list_item(struct out *o, const char *value);
void out_list_end(struct out *o, const char *empty);
/* a table: a header line, then rows of cells; "key":[{...},...] */
void out_table_begin(struct out *o, const char *key, const char *header);
void out_table_end(struct out *o);
void out_row_begin(struct out *o);
void out_row_end(struct out *o);
void out_cell(struct out *o, const char *key, int width, const char *value);
void out_cell_num(struct out *o, const char *key, int width, unsigned long long v);
void out_cell_bool(struct out *o, const char *key, int width, bool v,
		   const char *yes, const char *no);
/* the same cell in a colour on a terminal: TONE_* */
void out_cell_tone(struct out *o, const char *key, int width, const char *value,
		   int tone);
/*
 * Text from the lock, the audit log, safelockd or the user, for people:
 * printable UTF-8 as it is; a backslash as \\, newline, tab and CR as
 * \n \t \r, other controls and each byte that is not UTF-8 as \xHH, the
 * unsafe characters above U+007F (safelock_unsafe_char()) as \uHHHH. No
 * line can be forged, no escape sequence reaches the terminal.
 * text_escape() cuts at a whole character and returns the length;
 * out_text() prints it all. Every human value goes through them: out_*(),
 * out_cell*(), the error messages of cli.c.
 */
size_t text_escape(const char *s, char *out, size_t len);
void out_text(FILE *f, const char *s);
/* @s as a JSON string, quotes included: safelock_json_escape() */
void json_string(FILE *f, const char *s);
enum { TONE_NONE, TONE_GOOD, TONE_WARN, TONE_BAD };
const char *tone_on(const struct out *o, int tone);
const char *tone_off(const struct out *o, int tone);

/* prompt.c: secrets from a file descriptor or the terminal, never argv */
/*
 * A code into @buf (SAFELOCK_CODE_BUF), from @fd or, if @fd < 0, the
 * terminal (@prompt): 0; -EINVAL with "@subject: what is wrong" in @why
 * (end of input, an empty line, a non-digit and where, the length);
 * -ENOTTY (no terminal to ask); other -errno.
 */
int read_code(int fd, const char *prompt, const char *subject, char *buf,
	      char *why, size_t whylen);
/* The same for a new code, asked twice on a terminal: -EBADMSG if they differ */
int read_new_code(int fd, const char *what, char *buf, char *why, size_t whylen);
/* one line of a secret or share, unchecked: 0, -ENODATA (none), -errno */
int read_recovery(int fd, const char *prompt, char *buf, size_t len);
int confirm(const struct ctl_config *cfg, const char *what, const char *word);

/*
 * recovery.c: the recovery secret as typed, and its split among trustees
 * (M of N, Shamir over GF(256) with libgfshare). See recovery.c.
 */
#define RECOVERY_SYMBOLS	32	/* SAFELOCK_RECOVERY_BITS / 5 */
#define RECOVERY_BYTES		20
#define SHARE_SYMBOLS		44
#define SHARE_TEXT_SIZE		(SHARE_SYMBOLS + SHARE_SYMBOLS / 4)
#define SHARE_MAX_N		31
#define RECOVERY_LINE_MAX	128	/* a typed secret or share, separators included */

struct recovery_share {
	uint8_t m, n, x;		/* any m of n recover; this is number x */
	uint32_t id;			/* the split's, 25 bits */
	uint8_t data[RECOVERY_BYTES];
};

struct recovery_split {
	unsigned int m, n;
	uint32_t id;
	void *ctx;			/* libgfshare's */
	unsigned char pool[(SHARE_MAX_N - 1) * RECOVERY_BYTES];	/* getrandom(), drawn ahead */
	size_t used;
	bool starved;
};

enum { RECOVERY_IS_SECRET = 1, RECOVERY_IS_SHARE = 2 };
/*
 * A typed secret or share: RECOVERY_IS_SECRET with the canonical secret
 * in @canon, RECOVERY_IS_SHARE with @sh filled, or -EINVAL with the
 * reason in @why. Pure.
 */
int recovery_parse(const char *in, char canon[SAFELOCK_RECOVERY_TEXT_SIZE],
		   struct recovery_share *sh, char *why, size_t len);
void recovery_share_text(const struct recovery_share *sh, char out[SHARE_TEXT_SIZE]);
/* @k shares (as typed) into the canonical secret: 0, or -errno with @why */
int recovery_combine(const struct recovery_share *sh, unsigned int k,
		     char canon[SAFELOCK_RECOVERY_TEXT_SIZE], char *why, size_t len);
/*
 * Everything a split needs (random numbers, memory) before anything is
 * sent; then the split of a secret safelockd made cannot fail half-way.
 */
int recovery_split_prepare(struct recovery_split *sp, unsigned int m, unsigned int n,
			   char *why, size_t len);
/* @out: sp->n shares */
int recovery_split_do(struct recovery_split *sp, const char *secret,
		      struct recovery_share *out, char *why, size_t len);
void recovery_split_free(struct recovery_split *sp);

/* lifecycle.c */
int read_new_code_into(struct ctl_config *cfg, char *dst, const char *what,
		       const char *verb, const char *object);

/* admin.c: the client of safelockd's admin socket */
struct safelock_admin_req *admin_req_new(uint32_t op);
void admin_req_free(struct safelock_admin_req *req);
struct safelock_admin_reply *admin_reply_new(void);
void admin_reply_free(struct safelock_admin_reply *rep);
/* Send and receive; 0 or -errno (connection and protocol, not the reply's status) */
int admin_call(const char *path, struct safelock_admin_req *req,
	       struct safelock_admin_reply *rep, char *err, size_t errlen);
/*
 * The whole exchange for a command: fill the authorisers from cfg (codes
 * read from their fds or the terminal), call, map errors to one message
 * and an exit code. 0 on success.
 */
int admin_run(struct ctl_config *cfg, struct safelock_admin_req *req,
	      struct safelock_admin_reply *rep, const char *verb,
	      const char *object);
int admin_fill_auth(struct ctl_config *cfg, struct safelock_admin_req *req,
		    const char *verb, const char *object);
/*
 * Connect to safelockd, once per run: 0, or an exit status with
 * "unable to reach safelockd at PATH: reason" printed. Every command that
 * asks for a code or a secret calls it first (admin_fill_auth(),
 * read_new_code_into(), the recovery secret, wipe's confirmation), so
 * nothing is asked of a user when it cannot be sent; admin_run() sends
 * over the same connection.
 */
int admin_reach(const struct ctl_config *cfg);
void print_status_vault(struct out *o, const struct safelock_admin_status *s);

/* commands */
int cmd_status(struct ctl_config *cfg);
int cmd_monitor(struct ctl_config *cfg);
int cmd_lock(struct ctl_config *cfg);
int cmd_init(struct ctl_config *cfg);
int cmd_recover(struct ctl_config *cfg);
int cmd_wipe(struct ctl_config *cfg);
int cmd_recovery_split(struct ctl_config *cfg);
int cmd_user_add(struct ctl_config *cfg);
int cmd_user_del(struct ctl_config *cfg);
int cmd_user_list(struct ctl_config *cfg);
int cmd_user_set_role(struct ctl_config *cfg);
int cmd_code_change(struct ctl_config *cfg);
int cmd_duress_set(struct ctl_config *cfg);
int cmd_duress_clear(struct ctl_config *cfg);
int cmd_policy_get(struct ctl_config *cfg);
int cmd_policy_set(struct ctl_config *cfg);
int cmd_time_lock_now(struct ctl_config *cfg);
int cmd_fault_clear(struct ctl_config *cfg);
int cmd_audit_show(struct ctl_config *cfg);
int cmd_audit_export(struct ctl_config *cfg);
int cmd_audit_verify(struct ctl_config *cfg);
int cmd_doctor(struct ctl_config *cfg);

/* device.c, shared with doctor and for the tests' golden files */
struct safelock_info;
struct safelock_status;
void print_status(struct out *o, const char *device,
		  const struct safelock_info *info,
		  const struct safelock_status *st,
		  const struct safelock_admin_status *vault, const char *vault_err);
/* policy.c */
void print_policy(struct out *o, const struct safelock_admin_policy *p);

#endif /* SAFELOCKCTL_H */
