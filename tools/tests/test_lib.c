// SPDX-License-Identifier: GPL-2.0
/* Unit tests of libsafelock: code handling, name tables, event formatting. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libsafelock.h"
#include "tap.h"

#define NTESTS 23

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len--)
		if (*c++)
			return false;
	return true;
}

/* safelock_read_code() on a pipe holding @input. */
static int read_from(const char *input, size_t inlen, char *buf, size_t *len)
{
	int fds[2], ret;

	if (pipe(fds) < 0)
		return -errno;
	if (write(fds[1], input, inlen) != (ssize_t)inlen)
		return -EIO;
	close(fds[1]);
	memset(buf, 0x55, SAFELOCK_CODE_BUF);
	ret = safelock_read_code(fds[0], buf, len);
	close(fds[0]);
	return ret;
}

static void test_code_valid(void)
{
	tap_ok(safelock_code_valid("123456", 6) &&
	       safelock_code_valid("000000000000", 12) &&
	       safelock_code_valid("9876543", 7),
	       "code_valid accepts 6, 7 and 12 digits");
	tap_ok(!safelock_code_valid("12345", 5) &&
	       !safelock_code_valid("1234567890123", 13) &&
	       !safelock_code_valid("", 0) && !safelock_code_valid(NULL, 6),
	       "code_valid rejects 5 and 13 digits, empty and NULL");
	tap_ok(!safelock_code_valid("12345a", 6) &&
	       !safelock_code_valid(" 123456", 7) &&
	       !safelock_code_valid("123456\n", 7) &&
	       !safelock_code_valid("12\0" "456", 6) &&
	       !safelock_code_valid("-123456", 7) &&
	       !safelock_code_valid("12345/", 6) && !safelock_code_valid("12345:", 6),
	       "code_valid rejects letters, spaces, newline, NUL, sign, '/' and ':'");
}

static void test_read_code(void)
{
	char buf[SAFELOCK_CODE_BUF];
	size_t len = 0;
	int ret;

	ret = read_from("12345678\n", 9, buf, &len);
	tap_ok(ret == 0 && len == 8 && !memcmp(buf, "12345678", 9),
	       "read_code: digits and a trailing newline");
	ret = read_from("123456789012", 12, buf, &len);
	tap_ok(ret == 0 && len == 12 && !memcmp(buf, "123456789012", 13),
	       "read_code: 12 digits without newline");
	ret = read_from("12345\n", 6, buf, &len);
	tap_ok(ret == -EINVAL && all_zero(buf, sizeof(buf)),
	       "read_code: 5 digits rejected, buffer wiped");
	ret = read_from("1234567890123\n", 14, buf, &len);
	tap_ok(ret == -EINVAL && all_zero(buf, sizeof(buf)),
	       "read_code: 13 digits rejected, buffer wiped");
	tap_ok(read_from("123456\r\n", 8, buf, &len) == -EINVAL &&
	       read_from("12a456\n", 7, buf, &len) == -EINVAL &&
	       read_from("", 0, buf, &len) == -EINVAL &&
	       read_from("\n", 1, buf, &len) == -EINVAL,
	       "read_code: CR, letters, empty input and a bare newline rejected");
}

static void test_ct_equal(void)
{
	tap_ok(safelock_ct_equal("abcdef", "abcdef", 6) &&
	       !safelock_ct_equal("abcdef", "abcdeg", 6) &&
	       !safelock_ct_equal("xbcdef", "abcdef", 6) &&
	       safelock_ct_equal("a", "b", 0),
	       "ct_equal: equal, last and first byte differing, empty");
}

static void test_names(void)
{
	bool ok = true;
	uint32_t i, j;

	for (i = 0; i < SAFELOCK_STATE_MAX; i++) {
		ok &= strcmp(safelock_state_name(i), "unknown") != 0;
		for (j = 0; j < i; j++)
			ok &= strcmp(safelock_state_name(i), safelock_state_name(j)) != 0;
	}
	tap_ok(ok && !strcmp(safelock_state_name(SAFELOCK_STATE_MAX), "unknown") &&
	       !strcmp(safelock_state_name(SAFELOCK_STATE_LOCKED), "LOCKED") &&
	       !strcmp(safelock_state_name(SAFELOCK_STATE_UNPROVISIONED), "UNPROVISIONED"),
	       "state names: every state named, distinct; MAX is unknown");
	ok = true;
	for (i = SAFELOCK_EVENT_STATE; i < SAFELOCK_EVENT_MAX; i++) {
		ok &= strcmp(safelock_event_name(i), "unknown") != 0;
		for (j = SAFELOCK_EVENT_STATE; j < i; j++)
			ok &= strcmp(safelock_event_name(i), safelock_event_name(j)) != 0;
	}
	tap_ok(ok && !strcmp(safelock_event_name(0), "unknown") &&
	       !strcmp(safelock_event_name(SAFELOCK_EVENT_MAX), "unknown") &&
	       !strcmp(safelock_event_name(SAFELOCK_EVENT_ATTEMPT), "attempt"),
	       "event names: every type named, distinct; 0 and MAX are unknown");
	ok = true;
	for (i = 0; i < SAFELOCK_RESULT_MAX; i++) {
		ok &= strcmp(safelock_result_name(i), "unknown") != 0;
		for (j = 0; j < i; j++)
			ok &= strcmp(safelock_result_name(i), safelock_result_name(j)) != 0;
	}
	tap_ok(ok && !strcmp(safelock_result_name(SAFELOCK_RESULT_MAX), "unknown") &&
	       !strcmp(safelock_result_name(SAFELOCK_RESULT_GRANTED), "granted") &&
	       !strcmp(safelock_result_name(SAFELOCK_RESULT_DENIED), "denied") &&
	       !strcmp(safelock_result_name(SAFELOCK_RESULT_NO_VERIFIER), "no-verifier"),
	       "result names: every result named, distinct; MAX is unknown");
	ok = true;
	for (i = 0; i < SAFELOCK_FAULT_MAX; i++) {
		ok &= strcmp(safelock_fault_name(i), "unknown") != 0;
		for (j = 0; j < i; j++)
			ok &= strcmp(safelock_fault_name(i), safelock_fault_name(j)) != 0;
	}
	tap_ok(ok && !strcmp(safelock_fault_name(SAFELOCK_FAULT_MAX), "unknown") &&
	       !strcmp(safelock_fault_name(SAFELOCK_FAULT_JAM_OPEN), "jam-open") &&
	       !strcmp(safelock_state_name(SAFELOCK_STATE_RELOCKING), "RELOCKING") &&
	       !strcmp(safelock_state_name(SAFELOCK_STATE_FAULT), "FAULT") &&
	       !strcmp(safelock_event_name(SAFELOCK_EVENT_BOLT_CONFIRMED), "bolt-confirmed"),
	       "fault names: every fault named, distinct; MAX is unknown; new states, events");
}

static bool human_is(const struct safelock_event *ev, const char *want)
{
	char buf[256];
	int n = format_event_human(ev, buf, sizeof(buf));

	if (n != (int)strlen(want) || strcmp(buf, want)) {
		tap_diag("got  '%s'", buf);
		tap_diag("want '%s'", want);
		return false;
	}
	return true;
}

static bool json_is(const struct safelock_event *ev, const char *want)
{
	char buf[256];
	int n = format_event_json(ev, buf, sizeof(buf));

	if (n != (int)strlen(want) || strcmp(buf, want)) {
		tap_diag("got  '%s'", buf);
		tap_diag("want '%s'", want);
		return false;
	}
	return true;
}

static void test_format(void)
{
	struct safelock_event attempt = {
		.timestamp_ns = 12345678000ULL, .seq = 17, .request_id = 5,
		.type = SAFELOCK_EVENT_ATTEMPT, .state = SAFELOCK_STATE_LOCKED,
		.result = SAFELOCK_RESULT_DENIED, .user_id = 1,
	};
	struct safelock_event bolt = {
		.timestamp_ns = 3000000001ULL, .seq = 18,
		.type = SAFELOCK_EVENT_BOLT, .state = SAFELOCK_STATE_UNLOCKED,
		.value = 1,
	};
	struct safelock_event door = {
		.timestamp_ns = 999, .seq = 1, .type = SAFELOCK_EVENT_DOOR,
		.state = SAFELOCK_STATE_UNPROVISIONED,
	};
	struct safelock_event ver = {
		.timestamp_ns = 1000000000ULL, .seq = 2,
		.type = SAFELOCK_EVENT_VERIFIER, .state = SAFELOCK_STATE_LOCKED,
		.value = 1,
	};
	struct safelock_event st = {
		.timestamp_ns = 42123456789ULL, .seq = 1234567,
		.type = SAFELOCK_EVENT_STATE, .state = SAFELOCK_STATE_VERIFYING,
	};
	struct safelock_event odd = {
		.seq = 3, .type = 99, .state = 77, .value = 5,
	};
	struct safelock_event jump = {
		.timestamp_ns = 5000000000ULL, .seq = 4,
		.type = SAFELOCK_EVENT_CLOCK_JUMP, .state = SAFELOCK_STATE_TIME_LOCKED,
		.value = (uint32_t)-3600,
	};
	struct safelock_event tlock = {
		.timestamp_ns = 6000000000ULL, .seq = 5,
		.type = SAFELOCK_EVENT_TIME_LOCK, .state = SAFELOCK_STATE_TIME_LOCKED,
		.value = 1,
	};
	struct safelock_event ovr = {
		.timestamp_ns = 7000000000ULL, .seq = 6, .request_id = 9,
		.type = SAFELOCK_EVENT_OVERRIDE, .state = SAFELOCK_STATE_UNLOCKED,
		.user_id = 7, .value = 12,
	};
	struct safelock_event confirmed = {
		.timestamp_ns = 3250000000ULL, .seq = 19,
		.type = SAFELOCK_EVENT_BOLT_CONFIRMED, .state = SAFELOCK_STATE_LOCKED,
	};
	struct safelock_event jam = {
		.timestamp_ns = 5000000000ULL, .seq = 20, .type = SAFELOCK_EVENT_FAULT,
		.state = SAFELOCK_STATE_FAULT, .value = SAFELOCK_FAULT_JAM_CLOSE,
	};
	struct safelock_event cleared = {
		.timestamp_ns = 6000000000ULL, .seq = 21, .type = SAFELOCK_EVENT_FAULT,
		.state = SAFELOCK_STATE_LOCKED, .value = SAFELOCK_FAULT_NONE,
	};
	char small[16];

	tap_ok(human_is(&jump,
			"5.000000  #4  clock-jump   -3600 s                  state TIME_LOCKED") &&
	       human_is(&tlock,
			"6.000000  #5  time-lock    period begins            state TIME_LOCKED") &&
	       human_is(&ovr,
			"7.000000  #6  override     users 012 + 007          state UNLOCKED"),
	       "human: clock jump (signed), time lock, override");
	tap_ok(json_is(&jump,
		       "{\"seq\":4,\"timestamp_ns\":5000000000,\"event\":\"clock-jump\","
		       "\"state\":\"TIME_LOCKED\",\"result\":\"none\",\"user_id\":0,"
		       "\"request_id\":0,\"value\":-3600}"),
	       "json: a clock jump's value is signed");
	tap_ok(human_is(&attempt,
			"12.345678  #17  attempt      user 001  denied         state LOCKED"),
	       "human: attempt denied");
	tap_ok(human_is(&bolt,
			"3.000000  #18  bolt         retracted                state UNLOCKED") &&
	       human_is(&door,
			"0.000000  #1  door         closed                   state UNPROVISIONED") &&
	       human_is(&ver,
			"1.000000  #2  verifier     registered               state LOCKED"),
	       "human: bolt, door and verifier values");
	tap_ok(human_is(&st,
			"42.123456  #1234567  state                                 state VERIFYING"),
	       "human: state change");
	tap_ok(human_is(&odd,
			"0.000000  #3  unknown      type 99 value 5          state unknown"),
	       "human: unknown type and state");
	tap_ok(json_is(&attempt,
		       "{\"seq\":17,\"timestamp_ns\":12345678000,\"event\":\"attempt\","
		       "\"state\":\"LOCKED\",\"result\":\"denied\",\"user_id\":1,"
		       "\"request_id\":5,\"value\":0}"),
	       "json: attempt denied");
	tap_ok(json_is(&bolt,
		       "{\"seq\":18,\"timestamp_ns\":3000000001,\"event\":\"bolt\","
		       "\"state\":\"UNLOCKED\",\"result\":\"none\",\"user_id\":0,"
		       "\"request_id\":0,\"value\":1}"),
	       "json: bolt retracted");
	tap_ok(human_is(&confirmed,
			"3.250000  #19  bolt-confirmed thrown                   state LOCKED") &&
	       human_is(&jam,
			"5.000000  #20  fault        jam-close                state FAULT") &&
	       human_is(&cleared,
			"6.000000  #21  fault        cleared                  state LOCKED"),
	       "human: bolt confirmed, fault and fault cleared");
	tap_ok(format_event_human(&attempt, small, sizeof(small)) == -1 &&
	       small[0] == '\0' &&
	       format_event_json(&attempt, small, sizeof(small)) == -1 &&
	       small[0] == '\0',
	       "format: a short buffer gives -1 and an empty string");
}

int main(void)
{
	tap_plan(NTESTS);
	test_code_valid();
	test_read_code();
	test_ct_equal();
	test_names();
	test_format();
	return tap_exit();
}
