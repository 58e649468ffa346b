// SPDX-License-Identifier: GPL-2.0
/*
 * The escalating schedule for wrong codes, in the spirit of Android's
 * Gatekeeper: the one table that says how long a user (or the whole lock,
 * for failures counted across users) waits after N consecutive failures.
 * The delay counts from the last failure, on the vault's clock (for the
 * TPM, TPM2_ReadClock: powered time, persisted, never reset by pulling
 * power). At VAULT_HARD_LIMIT consecutive failures code entry is disabled
 * until recovery.
 *
 * Brute force: a user gets 5 free tries, then 15 more spread over about
 * 12 days (1, 5, 15, 30, 90 min, 4, 8, 12 h, then 24 h each), then none.
 * Only a success resets the count (that user's own, or recovery), so even
 * against an owner who opens the lock every day an attacker gets at most
 * about 12 tries a day (5 free, 5 within 2.5 h, then 4 and 8 h): trying
 * every 6-digit code takes 10^6 / 12 days, about 230 years (115 on
 * average). With nobody opening in between: 20 tries, then disabled.
 */
#include "vault.h"

#define MIN_MS	(60ULL * 1000)
#define HOUR_MS	(60 * MIN_MS)

/* delay_ms[n]: after n consecutive failures; n >= VAULT_HARD_LIMIT: disabled */
static const uint64_t delay_ms[VAULT_HARD_LIMIT] = {
	0, 0, 0, 0, 0,				/* 0-4: free */
	1 * MIN_MS, 5 * MIN_MS, 15 * MIN_MS,	/* 5, 6, 7 */
	30 * MIN_MS, 90 * MIN_MS,		/* 8, 9 */
	4 * HOUR_MS, 8 * HOUR_MS, 12 * HOUR_MS,	/* 10, 11, 12 */
	24 * HOUR_MS, 24 * HOUR_MS, 24 * HOUR_MS, 24 * HOUR_MS,	/* 13-16 */
	24 * HOUR_MS, 24 * HOUR_MS, 24 * HOUR_MS,		/* 17-19 */
};

uint64_t vault_schedule_delay_ms(unsigned int failures)
{
	if (failures >= VAULT_HARD_LIMIT)
		return VAULT_RETRY_DISABLED;
	return delay_ms[failures];
}
