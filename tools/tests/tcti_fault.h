/* SPDX-License-Identifier: GPL-2.0 */
/* The fault-injecting TCTI of the vault tests (tcti_fault.c). */
#ifndef SAFELOCK_TESTS_TCTI_FAULT_H
#define SAFELOCK_TESTS_TCTI_FAULT_H

#include <stdint.h>

/*
 * Commands with code @cc (0: any): let @skip through, then answer @count
 * of them (UINT_MAX: all) with response code @rc, or fail their
 * transmission with TCTI error @tcti_rc. @seen and @faked count.
 */
struct slfault {
	uint32_t rc;
	uint32_t tcti_rc;
	uint32_t cc;
	unsigned int skip;
	unsigned int count;
	unsigned int seen;
	unsigned int faked;
};

#define SLFAULT_LIB	"libtss2-tcti-slfault.so"

#endif /* SAFELOCK_TESTS_TCTI_FAULT_H */
