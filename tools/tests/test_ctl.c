// SPDX-License-Identifier: GPL-2.0
/*
 * safelockctl's parsers and printers, in process: durations, dates, user
 * ids, the weekly schedule, and the status and policy output in both
 * forms against golden files.
 *
 * Usage: test_ctl TOOLS_DIR
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libsafelock.h"
#include "../safelockctl/safelockctl.h"
#include "golden.h"

#define NTESTS 28

static bool bit(const uint8_t *week, int day, int q)
{
	int b = day * 96 + q;

	return week[b / 8] & (1u << (b % 8));
}

/* Quarters [a, b) of @day all set (or all clear), and only those in it. */
static bool day_is(const uint8_t *week, int day, int a, int b)
{
	int q;

	for (q = 0; q < 96; q++)
		if (bit(week, day, q) != (q >= a && q < b))
			return false;
	return true;
}

static void test_parsers(void)
{
	char buf[64];

	tap_ok(parse_duration_ms("90") == 90000 && parse_duration_ms("90s") == 90000 &&
	       parse_duration_ms("15m") == 900000 && parse_duration_ms("15min") == 900000 &&
	       parse_duration_ms("2h") == 7200000 && parse_duration_ms("1d") == 86400000 &&
	       parse_duration_ms("1h30m") == 5400000 && parse_duration_ms("500ms") == 500 &&
	       parse_duration_ms("0") == 0,
	       "durations: seconds, s, m, min, h, d, ms and combinations");
	tap_ok(parse_duration_ms("") < 0 && parse_duration_ms("abc") < 0 &&
	       parse_duration_ms("1x") < 0 && parse_duration_ms("5 m") < 0 &&
	       parse_duration_ms("-5") < 0 && parse_duration_ms("1h30") < 0 &&
	       parse_duration_ms("h") < 0 && parse_duration_ms("99999999999d") < 0 &&
	       parse_duration_ms(NULL) < 0,
	       "durations: junk, spaces, signs, a number without its unit, overflow refused");
	tap_ok(parse_user("1") == 1 && parse_user("001") == 1 && parse_user("999") == 999 &&
	       !parse_user("0") && !parse_user("1000") && !parse_user("1a") &&
	       !parse_user("") && !parse_user("-1") && !parse_user(" 1"),
	       "user ids: 1 to 999 only");
	tap_ok(parse_role("manager") == SAFELOCK_ROLE_MANAGER &&
	       parse_role("courier") == SAFELOCK_ROLE_COURIER && !parse_role("root") &&
	       !parse_role("Manager") && !strcmp(role_name(SAFELOCK_ROLE_AUDITOR), "auditor") &&
	       !strcmp(role_name(99), "unknown"),
	       "roles by name, and names of roles");
	format_date(parse_date("2026-12-25"), buf, sizeof(buf));
	tap_ok(parse_date("1970-01-02") == 1 && parse_date("2024-02-29") == 19782 &&
	       !strcmp(buf, "2026-12-25") && parse_date("2026-02-29") < 0 &&
	       parse_date("1970-01-01") < 0 && parse_date("2026-13-01") < 0 &&
	       parse_date("2026-1-1") < 0 && parse_date("2026-12-25x") < 0 &&
	       parse_date("2026-04-31") < 0,
	       "dates: valid days only, round trip through format_date");
	tap_ok(parse_since("2026-01-02", 0) == 1767312000 &&
	       parse_since("2026-01-02 03:04", 0) == 1767312000 + 3 * 3600 + 4 * 60 &&
	       parse_since("2026-01-02T03:04:05", 0) == 1767312000 + 3 * 3600 + 4 * 60 + 5 &&
	       parse_since("2h", 100000) == 100000 - 7200 &&
	       parse_since("2026-01-02X", 0) < 0 && parse_since("2026-01-02 25:00", 0) < 0 &&
	       parse_since("yesterday", 0) < 0,
	       "--since: a local date and time (TZ=UTC here) or a duration ago");
	format_duration_ms(250000, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "4 min 10 s"), "250000 ms is '4 min 10 s' (%s)", buf);
	format_duration_ms(500, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "500 ms"), "500 ms is '500 ms' (%s)", buf);
	format_duration_ms(90061000, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "1 d 1 h 1 min 1 s"), "90061 s is '1 d 1 h 1 min 1 s' (%s)", buf);
	format_duration_ms(1500, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "2 s"), "time left rounds up: 1500 ms is '2 s' (%s)", buf);
}

static void test_schedule(void)
{
	uint8_t week[7 * 96 / 8] = { 0 };
	char err[160], d[128];
	bool ok;
	int day;

	ok = !schedule_apply(week, "mon-fri 18:00-08:00", true, err, sizeof(err));
	ok = ok && day_is(week, 0, 0, 0) && day_is(week, 1, 72, 96) &&
	     day_is(week, 6, 0, 32);
	for (day = 2; day <= 5; day++)
		ok = ok && bit(week, day, 0) && bit(week, day, 31) && !bit(week, day, 32) &&
		     !bit(week, day, 71) && bit(week, day, 72) && bit(week, day, 95);
	tap_ok(ok, "'mon-fri 18:00-08:00': evenings, and the next mornings up to saturday");
	schedule_describe(week, 3, d, sizeof(d));
	tap_ok(!strcmp(d, "00:00-08:00,18:00-24:00"), "wednesday described as '%s'", d);

	memset(week, 0, sizeof(week));
	ok = !schedule_apply(week, "sat,sun all", true, err, sizeof(err)) &&
	     day_is(week, 6, 0, 96) && day_is(week, 0, 0, 96) && day_is(week, 1, 0, 0) &&
	     schedule_describe(week, 0, d, sizeof(d)) && !strcmp(d, "all");
	tap_ok(ok, "'sat,sun all': both days whole");

	memset(week, 0, sizeof(week));
	ok = !schedule_apply(week, "fri-mon 12:00-13:00,23:45-00:15", true, err, sizeof(err)) &&
	     day_is(week, 3, 0, 0) && bit(week, 5, 48) && bit(week, 1, 51) &&
	     !bit(week, 1, 52) && bit(week, 0, 95) && bit(week, 1, 0) && bit(week, 2, 0) &&
	     !bit(week, 2, 1);
	tap_ok(ok, "'fri-mon 12:00-13:00,23:45-00:15': days wrap over the week's end, times over midnight");

	ok = !schedule_apply(week, "mon 00:00-24:00", false, err, sizeof(err)) &&
	     day_is(week, 1, 0, 0) && bit(week, 0, 95);
	tap_ok(ok, "set false clears exactly the periods given");

	memcpy(d, week, sizeof(week));
	ok = schedule_apply(week, "mon 18:10-19:00", true, err, sizeof(err)) &&
	     strstr(err, "quarter hour") &&
	     schedule_apply(week, "xyz all", true, err, sizeof(err)) &&
	     schedule_apply(week, "mon", true, err, sizeof(err)) &&
	     schedule_apply(week, "mon 18:00-18:00", true, err, sizeof(err)) &&
	     schedule_apply(week, "mon 25:00-26:00", true, err, sizeof(err)) &&
	     schedule_apply(week, "mon, all", true, err, sizeof(err)) &&
	     schedule_apply(week, "mon 10:00-11:00,bad", true, err, sizeof(err)) &&
	     schedule_apply(week, "mon 24:00-01:00", true, err, sizeof(err)) &&
	     !memcmp(d, week, sizeof(week));
	tap_ok(ok, "bad specs refused with a reason, the map unchanged (%s)", err);
}

/* Run @fn on an out writing to memory; returns the text (free it). */
static char *capture(bool json, void (*fn)(struct out *o, const void *arg),
		     const void *arg)
{
	struct ctl_config cfg = { .json = json };
	struct out o;
	char *text = NULL;
	size_t len = 0;

	out_init(&o, &cfg);
	o.f = open_memstream(&text, &len);
	fn(&o, arg);
	fclose(o.f);
	return text;
}

struct status_case {
	struct safelock_info info;
	struct safelock_status st;
	struct safelock_admin_status vault;
	bool has_vault;
};

static void status_fn(struct out *o, const void *arg)
{
	const struct status_case *c = arg;

	print_status(o, "/dev/safelock0", &c->info, &c->st,
		     c->has_vault ? &c->vault : NULL,
		     "not reachable at /run/safelock/admin.sock: No such file or directory");
}

static void policy_fn(struct out *o, const void *arg)
{
	print_policy(o, arg);
}

static void check_both(const char *name, void (*fn)(struct out *, const void *),
		       const void *arg, const char *what)
{
	char file[64];
	char *human = capture(false, fn, arg), *json = capture(true, fn, arg);

	snprintf(file, sizeof(file), "%s.txt", name);
	tap_ok(golden_check(file, human), "%s: human form matches golden/%s", what, file);
	snprintf(file, sizeof(file), "%s.json", name);
	tap_ok(golden_check(file, json) && json_lines_valid(json),
	       "%s: JSON form matches golden/%s and is valid JSON", what, file);
	free(human);
	free(json);
}

static void test_output(void)
{
	struct status_case c = {
		.info = {
			.abi_version = SAFELOCK_ABI_VERSION, .index = 0,
			.lines = SAFELOCK_LINE_BOLT | SAFELOCK_LINE_DOOR |
				 SAFELOCK_LINE_KEYPAD | SAFELOCK_LINE_TAMPER,
			.relock_ms = 5000, .verify_timeout_ms = 2000,
			.entry_timeout_ms = 10000, .name = "safelock-test \"A\"",
		},
		.st = {
			.state = SAFELOCK_STATE_LOCKED,
			.flags = SAFELOCK_STATUS_VERIFIER | SAFELOCK_STATUS_KEYPAD |
				 SAFELOCK_STATUS_POLICY,
			.last_seq = 42,
		},
		.vault = {
			.provisioned = 1, .vault_ok = 1, .registered = 1,
			.n_users = 3, .global_failures = 2, .audit_records = 1234,
			.tcti = "device:/dev/tpmrm0",
		},
		.has_vault = true,
	};
	struct safelock_admin_policy p = {
		.time_delay_s = 900, .open_window_s = 300, .dual_window_s = 60,
		.relock_ms = 6500, .door_limit_s = 0, .recovery_delay_s = 86400,
		.dual_control = 1, .time_lock = 1, .utc_offset_s = -16200,
		.holidays = { 20812, 20819 },
	};
	char err[160];

	check_both("status-locked", status_fn, &c, "status, locked, safelockd answering");
	c.st.state = SAFELOCK_STATE_PENALTY;
	c.st.penalty_ms = 250000;
	c.st.flags = SAFELOCK_STATUS_TAMPER | SAFELOCK_STATUS_DOOR_OPEN;
	c.has_vault = false;
	check_both("status-penalty", status_fn, &c, "status, locked out, tampered, no safelockd");
	c.st.state = SAFELOCK_STATE_TIME_DELAY;
	c.st.penalty_ms = 0;
	c.st.timer_ms = 61000;
	c.has_vault = true;
	c.vault.retry_after_ms = UINT32_MAX;
	c.vault.vault_ok = 0;
	c.vault.recovery_pending = 1;
	c.vault.recovery_left_s = 3600;
	c.vault.clock_behind_s = 94608000;	/* three years: an RTC that lost its time */
	check_both("status-delay", status_fn, &c,
		   "status, time delay, entry disabled, recovery pending, clock behind the TPM's bound");
	/* the window's time left, and a low battery, as the lock's signals show them */
	c.info.lines |= SAFELOCK_LINE_BATTERY;
	c.st.state = SAFELOCK_STATE_OPEN_WINDOW;
	c.st.timer_ms = 95000;
	c.st.flags = SAFELOCK_STATUS_VERIFIER | SAFELOCK_STATUS_KEYPAD |
		     SAFELOCK_STATUS_POLICY | SAFELOCK_STATUS_BATTERY_LOW;
	c.vault.retry_after_ms = 0;
	c.vault.vault_ok = 1;
	c.vault.recovery_pending = 0;
	c.vault.recovery_left_s = 0;
	c.vault.clock_behind_s = 0;
	check_both("status-window", status_fn, &c, "status, open window, battery low");
	c.info.lines &= ~SAFELOCK_LINE_BATTERY;
	c.vault.vault_ok = 0;
	c.st.state = SAFELOCK_STATE_LOCKED;
	c.st.timer_ms = 0;
	c.st.flags = SAFELOCK_STATUS_VERIFIER | SAFELOCK_STATUS_KEYPAD |
		     SAFELOCK_STATUS_VAULT_DAMAGED;
	c.vault.retry_after_ms = 0;
	c.vault.recovery_pending = 0;
	c.vault.recovery_left_s = 0;
	c.vault.clock_behind_s = SAFELOCK_ADMIN_CLOCK_UNVERIFIABLE;
	check_both("status-damaged", status_fn, &c,
		   "status, vault damaged, policy not in force");
	schedule_apply(p.week, "mon-fri 18:00-08:00", true, err, sizeof(err));
	schedule_apply(p.week, "sat,sun all", true, err, sizeof(err));
	check_both("policy", policy_fn, &p, "policy with a schedule and holidays");
}

int main(int argc, char **argv)
{
	setenv("TZ", "UTC", 1);
	tzset();
	golden_init(argc > 1 ? argv[1] : ".");
	tap_plan(NTESTS);
	test_parsers();
	test_schedule();
	test_output();
	return tap_exit();
}
