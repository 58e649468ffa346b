// SPDX-License-Identifier: GPL-2.0
/*
 * tpmmark: a mark in the TPM's own command stream, for `make bench`.
 *
 *   tpmmark TCTI K     (K: 0..255)
 *
 * Sends one TPM2_GetRandom asking for 0x5300 + K bytes: a command nobody
 * else sends (the vault asks for at most 32), so scripts/bench.sh finds
 * it in swtpm's command log (vm.sh SAFELOCK_VM_TPM_LOG) and counts what
 * the TPM executed between two marks: the NV writes of each bench phase,
 * counted where they happen, whatever process sent them.
 *
 * Why not the TPM's command audit (TPM2_SetCommandCodeAuditStatus, then
 * the auditCounter of TPM2_GetCommandAuditDigest): that counter is bumped
 * when the audit digest is started again after a reset, not per audited
 * command (libtpms CommandAudit(), as the specification says), so it
 * cannot count NV writes; and the digest itself is a hash chain of
 * commands no one outside can replay.
 */
#include <stdio.h>
#include <stdlib.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

int main(int argc, char **argv)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPM2B_DIGEST *r = NULL;
	unsigned long k;
	TSS2_RC rc;

	if (argc != 3 || (k = strtoul(argv[2], NULL, 10)) > 255) {
		fprintf(stderr, "usage: tpmmark TCTI K (0..255)\n");
		return 2;
	}
	rc = Tss2_TctiLdr_Initialize(argv[1], &tcti);
	if (!rc)
		rc = Esys_Initialize(&ctx, tcti, NULL);
	if (!rc)
		rc = Esys_GetRandom(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    (UINT16)(0x5300 + k), &r);
	Esys_Free(r);
	if (ctx)
		Esys_Finalize(&ctx);
	if (tcti)
		Tss2_TctiLdr_Finalize(&tcti);
	if (rc) {
		fprintf(stderr, "tpmmark: %s\n", Tss2_RC_Decode(rc));
		return 1;
	}
	return 0;
}
