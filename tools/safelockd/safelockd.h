/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SAFELOCKD_H
#define SAFELOCKD_H

#include "vault.h"
#include "adminsrv.h"

struct verifier_opts {
	bool no_prepare;	/* ignore ENTRY_BEGIN (--no-prepare, debugging) */
	bool verbose;		/* debug lines: TPM commands per request */
	const char *tcti;	/* shown by STATUS */
	const char *admin_socket;	/* the admin socket's path */
	const char *admin_group;	/* its group; NULL: the process's */
	const char *audit_dir;		/* the audit log; NULL: none (tests) */
	/* entered once the sockets are open; NULL: no sandbox (tests) */
	const struct sandbox_opts *sandbox;
};

/* Run the verifier until SIGINT or SIGTERM: 0, or 1 on a fatal error. */
int verifier_run(struct vault *vault, const struct verifier_opts *opts);

#endif /* SAFELOCKD_H */
