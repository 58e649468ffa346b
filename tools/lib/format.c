// SPDX-License-Identifier: GPL-2.0
/* Event formatting: pure functions, unit-tested on the host. */
#include <stdarg.h>
#include <stdio.h>

#include "libsafelock.h"

/* snprintf that reports truncation as -1 and leaves "" behind. */
static int finish(char *buf, size_t len, int n)
{
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -1;
	}
	return n;
}

static void event_details(const struct safelock_event *ev, char *d, size_t len)
{
	switch (ev->type) {
	case SAFELOCK_EVENT_ATTEMPT:
		snprintf(d, len, "user %03u  %s", ev->user_id,
			 safelock_result_name(ev->result));
		break;
	case SAFELOCK_EVENT_BOLT:
		snprintf(d, len, "%s", ev->value ? "retracted" : "thrown");
		break;
	case SAFELOCK_EVENT_DOOR:
		snprintf(d, len, "%s", ev->value ? "open" : "closed");
		break;
	case SAFELOCK_EVENT_VERIFIER:
		snprintf(d, len, "%s", ev->value ? "registered" : "gone");
		break;
	case SAFELOCK_EVENT_DURESS:
		snprintf(d, len, "user %03u", ev->user_id);
		break;
	case SAFELOCK_EVENT_TAMPER:
		snprintf(d, len, "%s", ev->value ? "tampered" : "clear");
		break;
	case SAFELOCK_EVENT_ALARM:
		snprintf(d, len, "%s", ev->value ? "raised" : "dropped");
		break;
	case SAFELOCK_EVENT_DOOR_AJAR:
		snprintf(d, len, "open > %u s", ev->value);
		break;
	case SAFELOCK_EVENT_BATTERY:
		snprintf(d, len, "%s", ev->value ? "low" : "good");
		break;
	case SAFELOCK_EVENT_TIME_LOCK:
		snprintf(d, len, "%s", ev->value ? "period begins" : "period ends");
		break;
	case SAFELOCK_EVENT_CLOCK_JUMP:	/* the value is a signed number of seconds */
		snprintf(d, len, "%+d s", (int32_t)ev->value);
		break;
	case SAFELOCK_EVENT_OVERRIDE:
		snprintf(d, len, "users %03u + %03u", ev->value, ev->user_id);
		break;
	case SAFELOCK_EVENT_BOLT_CONFIRMED:
		snprintf(d, len, "%s", ev->value ? "retracted" : "thrown");
		break;
	case SAFELOCK_EVENT_FAULT:
		snprintf(d, len, "%s", ev->value ? safelock_fault_name(ev->value) : "cleared");
		break;
	case SAFELOCK_EVENT_STATE:
	case SAFELOCK_EVENT_ENTRY_STARTED:
		d[0] = '\0';
		break;
	default:
		snprintf(d, len, "type %u value %u", ev->type, ev->value);
		break;
	}
}

int format_event_human(const struct safelock_event *ev, char *buf, size_t len)
{
	unsigned long long sec = ev->timestamp_ns / 1000000000ULL;
	unsigned long long usec = (ev->timestamp_ns % 1000000000ULL) / 1000ULL;
	char details[64];

	event_details(ev, details, sizeof(details));
	return finish(buf, len,
		      snprintf(buf, len, "%llu.%06llu  #%llu  %-12s %-24s state %s",
			       sec, usec, (unsigned long long)ev->seq,
			       safelock_event_name(ev->type), details,
			       safelock_state_name(ev->state)));
}

int format_event_json(const struct safelock_event *ev, char *buf, size_t len)
{
	/* A clock jump's value is signed (seconds back are negative). */
	long long value = ev->type == SAFELOCK_EVENT_CLOCK_JUMP ? (long long)(int32_t)ev->value
							       : (long long)ev->value;

	/* Every name comes from a fixed table: nothing needs escaping. */
	return finish(buf, len,
		      snprintf(buf, len,
			       "{\"seq\":%llu,\"timestamp_ns\":%llu,\"event\":\"%s\","
			       "\"state\":\"%s\",\"result\":\"%s\",\"user_id\":%u,"
			       "\"request_id\":%llu,\"value\":%lld}",
			       (unsigned long long)ev->seq,
			       (unsigned long long)ev->timestamp_ns,
			       safelock_event_name(ev->type),
			       safelock_state_name(ev->state),
			       safelock_result_name(ev->result), ev->user_id,
			       (unsigned long long)ev->request_id, value));
}
