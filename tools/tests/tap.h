/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal TAP output for the host tests: a plan, then one line per test. */
#ifndef SAFELOCK_TAP_H
#define SAFELOCK_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_planned, tap_count, tap_failed;

static inline void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline bool tap_ok(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
	return ok;
}

static inline void tap_skip(const char *name, const char *reason)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_count, name, reason);
	fflush(stdout);
}

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Exit status: 0 if every planned test ran and passed. */
static inline int tap_exit(void)
{
	if (tap_count != tap_planned) {
		tap_diag("planned %d tests, ran %d", tap_planned, tap_count);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif /* SAFELOCK_TAP_H */
