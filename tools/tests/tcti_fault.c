// SPDX-License-Identifier: GPL-2.0
/*
 * A TCTI for the vault's fault tests (built as libtss2-tcti-slfault.so):
 * it passes every command to an inner TCTI, and answers chosen ones itself
 * with a response code a real TPM can give but swtpm never does
 * (TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING, TPM_RC_OBJECT_MEMORY...),
 * without sending them on, as a busy TPM that did not run the command.
 * It can also fail a transmission at the TCTI level (a lost connection).
 *
 * Configuration string: the inner TCTI's, e.g.
 *   /path/libtss2-tcti-slfault.so:swtpm:path=/tmp/x/swtpm.sock
 * The test dlopen()s the library first and drives the faults through the
 * exported struct slfault (the loader's dlopen() of the same path returns
 * the same copy).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>

#include "tcti_fault.h"

struct slfault slfault;

#define FAULT_MAGIC	0x534c4641554c5431ULL	/* "SLFAULT1" */

struct fault_ctx {
	TSS2_TCTI_CONTEXT_COMMON_V2 common;
	TSS2_TCTI_CONTEXT *inner;
	bool faked;		/* the next receive is ours */
	uint32_t rc;
};

static struct fault_ctx *fctx(TSS2_TCTI_CONTEXT *c)
{
	struct fault_ctx *f = (struct fault_ctx *)c;

	return f && f->common.v1.magic == FAULT_MAGIC ? f : NULL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static TSS2_RC f_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	struct fault_ctx *f = fctx(c);
	uint32_t cc;

	if (!f || !cmd || size < 10)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	cc = be32(cmd + 6);
	slfault.seen++;
	if ((slfault.rc || slfault.tcti_rc) && (!slfault.cc || slfault.cc == cc)) {
		if (slfault.skip) {
			slfault.skip--;
		} else if (slfault.count) {
			if (slfault.count != UINT_MAX)
				slfault.count--;
			slfault.faked++;
			if (slfault.tcti_rc)
				return slfault.tcti_rc;
			f->faked = true;
			f->rc = slfault.rc;
			return TSS2_RC_SUCCESS;
		}
	}
	return Tss2_Tcti_Transmit(f->inner, size, cmd);
}

static TSS2_RC f_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *rsp,
			 int32_t timeout)
{
	struct fault_ctx *f = fctx(c);
	static const uint8_t head[6] = { 0x80, 0x01, 0, 0, 0, 10 };

	if (!f || !size)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	if (!f->faked)
		return Tss2_Tcti_Receive(f->inner, size, rsp, timeout);
	if (!rsp) {
		*size = 10;
		return TSS2_RC_SUCCESS;
	}
	if (*size < 10)
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	memcpy(rsp, head, sizeof(head));
	rsp[6] = (uint8_t)(f->rc >> 24);
	rsp[7] = (uint8_t)(f->rc >> 16);
	rsp[8] = (uint8_t)(f->rc >> 8);
	rsp[9] = (uint8_t)f->rc;
	*size = 10;
	f->faked = false;
	return TSS2_RC_SUCCESS;
}

static void f_finalize(TSS2_TCTI_CONTEXT *c)
{
	struct fault_ctx *f = fctx(c);

	if (f && f->inner)
		Tss2_TctiLdr_Finalize(&f->inner);
}

static TSS2_RC f_cancel(TSS2_TCTI_CONTEXT *c)
{
	struct fault_ctx *f = fctx(c);

	return f ? Tss2_Tcti_Cancel(f->inner) : TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC f_poll(TSS2_TCTI_CONTEXT *c, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
	struct fault_ctx *f = fctx(c);

	return f ? Tss2_Tcti_GetPollHandles(f->inner, h, n) :
		   TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC f_locality(TSS2_TCTI_CONTEXT *c, uint8_t locality)
{
	struct fault_ctx *f = fctx(c);

	return f ? Tss2_Tcti_SetLocality(f->inner, locality) :
		   TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC f_init(TSS2_TCTI_CONTEXT *c, size_t *size, const char *conf)
{
	struct fault_ctx *f = (struct fault_ctx *)c;
	TSS2_RC rc;

	if (!size)
		return TSS2_TCTI_RC_BAD_VALUE;
	if (!c) {
		*size = sizeof(*f);
		return TSS2_RC_SUCCESS;
	}
	if (*size < sizeof(*f))
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	memset(f, 0, sizeof(*f));
	rc = Tss2_TctiLdr_Initialize(conf, &f->inner);
	if (rc)
		return rc;
	f->common.v1.magic = FAULT_MAGIC;
	f->common.v1.version = 2;
	f->common.v1.transmit = f_transmit;
	f->common.v1.receive = f_receive;
	f->common.v1.finalize = f_finalize;
	f->common.v1.cancel = f_cancel;
	f->common.v1.getPollHandles = f_poll;
	f->common.v1.setLocality = f_locality;
	f->common.makeSticky = NULL;
	return TSS2_RC_SUCCESS;
}

static const TSS2_TCTI_INFO info = {
	.version = 2,
	.name = "slfault",
	.description = "safelock's fault-injecting TCTI for tests",
	.config_help = "the inner TCTI's configuration string",
	.init = f_init,
};

const TSS2_TCTI_INFO *Tss2_Tcti_Info(void)
{
	return &info;
}
