// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for test_sandbox, never installed: safelockd's own loop
 * (verifier.c, admin.c, policy.c) under its own sandbox (sandbox.c), with
 * the in-memory vault of the admin tests instead of the TPM. A forbidden
 * call on purpose exists only here, not in safelockd.
 *
 *   sandbox_child loop USER SOCKET STATE_DIR
 *	enrol user 001 (owner) with the code read from stdin (nothing on
 *	stdin: an unprovisioned vault), then run the verifier loop,
 *	sandboxed as USER, serving SOCKET, until SIGTERM. In the VM
 *	(scripts/vault-guest.sh fake) it is safelockd with an in-memory
 *	vault, against the real module.
 *   sandbox_child forbidden USER
 *	enter the sandbox, then open an AF_INET socket: the filter kills it
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "libsafelock.h"
#include "../safelockd/safelockd.h"
#include "fake_vault.h"

static struct fake_vault fv;

int main(int argc, char **argv)
{
	struct sandbox_opts so = { 0 };
	struct verifier_opts vo = { 0 };
	char code[SAFELOCK_CODE_BUF], err[320], audit_dir[4096];
	struct vault v;
	size_t len;
	int fd;

	if (argc == 3 && !strcmp(argv[1], "forbidden")) {
		so.user = argv[2];
		if (sandbox_enter(&so, err, sizeof(err))) {
			fprintf(stderr, "sandbox_child: %s\n", err);
			return 2;
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		fprintf(stderr, "sandbox_child: survived socket(AF_INET): %d\n", fd);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ioctl")) {
		struct safelock_code_key k = { 0 };

		so.user = argv[2];
		if (sandbox_enter(&so, err, sizeof(err))) {
			fprintf(stderr, "sandbox_child: %s\n", err);
			return 2;
		}
		/* allowed (a pipe is no lock: ENOTTY), then any other: killed */
		fd = ioctl(2, SAFELOCK_IOC_SET_CODE_KEY, &k);
		fprintf(stderr, "sandbox_child: survived SAFELOCK_IOC_SET_CODE_KEY: %d\n", fd);
		fd = ioctl(2, FIONREAD, &len);
		fprintf(stderr, "sandbox_child: survived ioctl(FIONREAD): %d\n", fd);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "loop")) {
		fprintf(stderr, "usage: sandbox_child loop USER SOCKET STATE_DIR | forbidden USER | ioctl USER\n");
		return 2;
	}
	fake_vault_init(&v, &fv);
	if (!safelock_read_code(0, code, &len) &&
	    fake_vault_ops.user_add(&v, 1, SAFELOCK_ROLE_OWNER, code, len)) {
		fprintf(stderr, "sandbox_child: unable to enrol the owner\n");
		return 2;
	}
	safelock_wipe(code, sizeof(code));
	so.user = argv[2];
	so.state_dir = argv[4];
	vo.tcti = "fake:";
	vo.admin_socket = argv[3];
	vo.sandbox = &so;
	snprintf(audit_dir, sizeof(audit_dir), "%s/audit", argv[4]);
	vo.audit_dir = audit_dir;
	return verifier_run(&v, &vo);
}
