/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The code key: the entered code reaches safelockd sealed, never in the
 * clear on netlink (codekey.c).
 */
#ifndef SAFELOCKD_CODEKEY_H
#define SAFELOCKD_CODEKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/safelock.h>

struct codekey {
	uint8_t key[SAFELOCK_CODE_KEY_SIZE];
	bool made;		/* key holds a key made by codekey_new() */
	bool given;		/* the kernel took it (codekey_give_once()) */
};

int codekey_new(struct codekey *ck);
int codekey_hash(const struct codekey *ck, uint8_t hash[SAFELOCK_CODE_KEY_SIZE]);
int codekey_setup(struct codekey *ck, uint8_t hash[SAFELOCK_CODE_KEY_SIZE], char *why,
		  size_t len);
int codekey_give(const struct codekey *ck, const char *dev_dir, char *why, size_t len);
int codekey_give_once(struct codekey *ck, const char *dev_dir, char *why, size_t len);
size_t codekey_open(const struct codekey *ck, const uint8_t *nonce, uint64_t req_id,
		    const uint8_t *sealed, size_t sealed_len, char *code, size_t code_size);
void codekey_wipe(struct codekey *ck);

#endif
