/* SPDX-License-Identifier: GPL-2.0 */
/* The fault-injecting TCTI of the vault tests (tcti_fault.c). */
#ifndef SAFELOCK_TESTS_TCTI_FAULT_H
#define SAFELOCK_TESTS_TCTI_FAULT_H

#include <stddef.h>
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

/*
 * Load SLFAULT_LIB from the running test's own directory (tools/tests/)
 * and write into @tcti (@len bytes) the TCTI string that puts it in front
 * of @inner (the swtpm's): its fault control block, or NULL (the reason
 * as a TAP comment).
 */
struct slfault *slfault_load(const char *inner, char *tcti, size_t len);

#endif /* SAFELOCK_TESTS_TCTI_FAULT_H */
