/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vault: where enrolled codes live and are checked. safelockd only
 * talks to it through struct vault_ops, so a backend other than the TPM
 * (an OP-TEE trusted application, say) fits behind the same interface.
 *
 * A backend never stores a code or anything an attacker could test codes
 * against offline, and it throttles wrong codes itself (the TPM's
 * dictionary-attack counter).
 */
#ifndef SAFELOCKD_VAULT_H
#define SAFELOCKD_VAULT_H

#include <stddef.h>

enum vault_verdict {
	VAULT_DENIED = 0,
	VAULT_GRANTED = 1,
};

struct vault_config {
	const char *tcti;	/* TPM: TCTI configuration string */
	const char *state_dir;	/* where sealed objects are kept */
};

struct vault;

struct vault_ops {
	const char *name;
	/* 0 or -errno; a reason in vault->errmsg */
	int (*open)(struct vault *v, const struct vault_config *cfg);
	void (*close)(struct vault *v);
	/* 0, -EINVAL for a bad user or code, other -errno */
	int (*enrol)(struct vault *v, unsigned int user_id, const char *code,
		     size_t len);
	/* VAULT_GRANTED, VAULT_DENIED, or -errno (the caller then denies) */
	int (*verify)(struct vault *v, unsigned int user_id, const char *code,
		      size_t len);
	/* 1 if at least one user is enrolled, 0 if none, -errno */
	int (*provisioned)(struct vault *v);
};

struct vault {
	const struct vault_ops *ops;
	void *priv;
	char errmsg[192];
};

extern const struct vault_ops vault_tpm_ops;

#endif /* SAFELOCKD_VAULT_H */
