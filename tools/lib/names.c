// SPDX-License-Identifier: GPL-2.0
/* Names of the enums of <linux/safelock.h>. */
#include "libsafelock.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const state_names[] = {
	[SAFELOCK_STATE_UNPROVISIONED]	= "UNPROVISIONED",
	[SAFELOCK_STATE_LOCKED]		= "LOCKED",
	[SAFELOCK_STATE_ENTRY]		= "ENTRY",
	[SAFELOCK_STATE_VERIFYING]	= "VERIFYING",
	[SAFELOCK_STATE_UNLOCKED]	= "UNLOCKED",
	[SAFELOCK_STATE_PENALTY]	= "PENALTY",
	[SAFELOCK_STATE_TIME_DELAY]	= "TIME_DELAY",
	[SAFELOCK_STATE_OPEN_WINDOW]	= "OPEN_WINDOW",
	[SAFELOCK_STATE_DUAL_PENDING]	= "DUAL_PENDING",
	[SAFELOCK_STATE_TIME_LOCKED]	= "TIME_LOCKED",
	[SAFELOCK_STATE_RELOCKING]	= "RELOCKING",
	[SAFELOCK_STATE_FAULT]		= "FAULT",
};
_Static_assert(ARRAY_SIZE(state_names) == SAFELOCK_STATE_MAX, "state names");

static const char *const event_names[] = {
	[SAFELOCK_EVENT_STATE]		= "state",
	[SAFELOCK_EVENT_ENTRY_STARTED]	= "entry-started",
	[SAFELOCK_EVENT_ATTEMPT]	= "attempt",
	[SAFELOCK_EVENT_BOLT]		= "bolt",
	[SAFELOCK_EVENT_DOOR]		= "door",
	[SAFELOCK_EVENT_VERIFIER]	= "verifier",
	[SAFELOCK_EVENT_DURESS]		= "duress",
	[SAFELOCK_EVENT_TAMPER]		= "tamper",
	[SAFELOCK_EVENT_ALARM]		= "alarm",
	[SAFELOCK_EVENT_POLICY]		= "policy",
	[SAFELOCK_EVENT_BATTERY]	= "battery",
	[SAFELOCK_EVENT_DOOR_AJAR]	= "door-ajar",
	[SAFELOCK_EVENT_TIME_LOCK]	= "time-lock",
	[SAFELOCK_EVENT_CLOCK_JUMP]	= "clock-jump",
	[SAFELOCK_EVENT_OVERRIDE]	= "override",
	[SAFELOCK_EVENT_BOLT_CONFIRMED]	= "bolt-confirmed",
	[SAFELOCK_EVENT_FAULT]		= "fault",
};
_Static_assert(ARRAY_SIZE(event_names) == SAFELOCK_EVENT_MAX, "event names");

static const char *const result_names[] = {
	[SAFELOCK_RESULT_NONE]		= "none",
	[SAFELOCK_RESULT_GRANTED]	= "granted",
	[SAFELOCK_RESULT_DENIED]	= "denied",
	[SAFELOCK_RESULT_NO_VERIFIER]	= "no-verifier",
	[SAFELOCK_RESULT_TIMEOUT]	= "timeout",
	[SAFELOCK_RESULT_MALFORMED]	= "malformed",
	[SAFELOCK_RESULT_CANCELLED]	= "cancelled",
	[SAFELOCK_RESULT_NO_POLICY]	= "no-policy",
};
_Static_assert(ARRAY_SIZE(result_names) == SAFELOCK_RESULT_MAX, "result names");

static const char *const fault_names[] = {
	[SAFELOCK_FAULT_NONE]		= "none",
	[SAFELOCK_FAULT_JAM_OPEN]	= "jam-open",
	[SAFELOCK_FAULT_JAM_CLOSE]	= "jam-close",
	[SAFELOCK_FAULT_SENSOR]		= "sensor",
};
_Static_assert(ARRAY_SIZE(fault_names) == SAFELOCK_FAULT_MAX, "fault names");

static const char *lookup(const char *const *names, size_t n, uint32_t v)
{
	if (v < n && names[v])
		return names[v];
	return "unknown";
}

const char *safelock_state_name(uint32_t state)
{
	return lookup(state_names, ARRAY_SIZE(state_names), state);
}

const char *safelock_event_name(uint32_t type)
{
	return lookup(event_names, ARRAY_SIZE(event_names), type);
}

const char *safelock_result_name(uint32_t result)
{
	return lookup(result_names, ARRAY_SIZE(result_names), result);
}

const char *safelock_fault_name(uint32_t fault)
{
	return lookup(fault_names, ARRAY_SIZE(fault_names), fault);
}
