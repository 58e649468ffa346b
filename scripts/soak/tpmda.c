// SPDX-License-Identifier: GPL-2.0
/*
 * tpmda TCTI RECOVERY_S: before the soak's first safelockd, give the TPM
 * a lockout auth of its own (random, forgotten at exit) and the DA
 * parameters safelockd would set, but for recoveryTime: RECOVERY_S.
 *
 * The soak types wrong codes and cuts the power about a hundred times as
 * often as a lock sees them, yet the TPM forgives one dictionary-attack
 * failure per recoveryTime of powered time (safelockd sets 600 s): at the
 * soak's pace its DA counter would reach maxTries within half an hour and
 * every check would then fail closed for ten minutes. A vault leaves the
 * DA parameters of a TPM whose lockout auth is already set, so this sets
 * them first, scaled to the soak's pace. The lockout itself is tested by
 * tools/tests/test_vault_lockout.  Test-only: never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#define MAX_TRIES	32	/* as safelockd's tpm_set_da() */

int main(int argc, char **argv)
{
	TPM2B_AUTH auth = { .size = 32 };
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *ctx = NULL;
	const char *what = "the TCTI";
	unsigned long rec;
	char *end;
	TSS2_RC rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TCTI RECOVERY_S\n", argv[0]);
		return 2;
	}
	rec = strtoul(argv[2], &end, 10);
	if (*end || !rec || rec > 86400) {
		fprintf(stderr, "tpmda: unable to use recovery time %s: 1 to 86400 s\n", argv[2]);
		return 2;
	}
	if (getrandom(auth.buffer, auth.size, 0) != auth.size) {
		perror("tpmda: unable to make a lockout auth: getrandom");
		return 1;
	}
	rc = Tss2_TctiLdr_Initialize(argv[1], &tcti);
	if (!rc) {
		what = "Esys_Initialize";
		rc = Esys_Initialize(&ctx, tcti, NULL);
	}
	if (!rc) {
		what = "HierarchyChangeAuth(lockout)";
		rc = Esys_HierarchyChangeAuth(ctx, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
					      ESYS_TR_NONE, ESYS_TR_NONE, &auth);
	}
	if (!rc) {
		what = "TR_SetAuth(lockout)";
		rc = Esys_TR_SetAuth(ctx, ESYS_TR_RH_LOCKOUT, &auth);
	}
	if (!rc) {
		what = "DictionaryAttackParameters";
		rc = Esys_DictionaryAttackParameters(ctx, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
						     ESYS_TR_NONE, ESYS_TR_NONE, MAX_TRIES,
						     (UINT32)rec, (UINT32)rec);
	}
	explicit_bzero(&auth, sizeof(auth));
	Esys_Finalize(&ctx);
	Tss2_TctiLdr_Finalize(&tcti);
	if (rc) {
		fprintf(stderr, "tpmda: unable to set the DA parameters: %s: 0x%x\n", what, rc);
		return 1;
	}
	printf("tpmda: maxTries %d, recoveryTime %lu s, lockout auth set and forgotten\n",
	       MAX_TRIES, rec);
	return 0;
}
