// SPDX-License-Identifier: GPL-2.0
/*
 * The code key (Documentation/userspace-api/safelock.rst, "How the code
 * travels").
 *
 * Generic netlink is visible to a netlink tap (nlmon) of any CAP_NET_ADMIN
 * holder, so the kernel never sends the digits in the clear. For each
 * netlink socket it registers from, safelockd makes a random 32-byte key,
 * registers with its unkeyed BLAKE2s-256 hash (all a tap sees), then hands
 * the key itself to the kernel with SAFELOCK_IOC_SET_CODE_KEY on a
 * /dev/safelockN, which no tap sees. The kernel takes it only if it hashes
 * to the registered hash. Each VERIFY then carries the code XOR the first
 * bytes of BLAKE2s-256 keyed with the key over the request's nonce and its
 * id (little-endian u64).
 *
 * OpenSSL 3 does both hashes: the digest BLAKE2S-256 and the MAC
 * BLAKE2SMAC. The key, the keystream and the opened code are wiped after
 * use; the caller wipes the code once checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "codekey.h"
#include "libsafelock.h"

#define CODEKEY_MAX_DEVICES	16	/* /dev/safelock0 to 15 */

/* A fresh random key. 0 or -errno. */
int codekey_new(struct codekey *ck)
{
	size_t got = 0;
	ssize_t n;

	codekey_wipe(ck);
	while (got < sizeof(ck->key)) {
		n = getrandom(ck->key + got, sizeof(ck->key) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			codekey_wipe(ck);
			return -errno;
		}
		got += (size_t)n;
	}
	ck->made = true;
	return 0;
}

/* The unkeyed BLAKE2s-256 of the key, for VERIFIER_REGISTER. 0 or -EIO. */
int codekey_hash(const struct codekey *ck, uint8_t hash[SAFELOCK_CODE_KEY_SIZE])
{
	unsigned int len = 0;

	if (!ck->made)
		return -EINVAL;
	if (!EVP_Digest(ck->key, sizeof(ck->key), hash, &len, EVP_blake2s256(), NULL) ||
	    len != SAFELOCK_CODE_KEY_SIZE)
		return -EIO;
	return 0;
}

/*
 * Give the key to the kernel through the first /dev/safelockN (under
 * @dev_dir) that opens. 0, or -errno with @why filled: -ENODEV when no lock
 * is there, -EPERM when the kernel's registration is not ours.
 */
int codekey_give(const struct codekey *ck, const char *dev_dir, char *why, size_t len)
{
	struct safelock_code_key k;
	char path[256];
	int i, fd, ret = -ENODEV, open_err = 0;

	if (!ck->made) {
		snprintf(why, len, "no code key made");
		return -EINVAL;
	}
	memset(&k, 0, sizeof(k));
	memcpy(k.key, ck->key, sizeof(k.key));
	for (i = 0; i < CODEKEY_MAX_DEVICES && ret == -ENODEV; i++) {
		snprintf(path, sizeof(path), "%s/safelock%d", dev_dir, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT && errno != ENODEV && errno != ENXIO && !open_err)
				open_err = errno;
			continue;
		}
		ret = ioctl(fd, SAFELOCK_IOC_SET_CODE_KEY, &k) ? -errno : 0;
		close(fd);
		if (ret)
			snprintf(why, len, "%s: SAFELOCK_IOC_SET_CODE_KEY: %s%s", path,
				 strerror(-ret), ret == -EPERM ?
				 " (the kernel's registration is not this socket's)" : "");
		if (ret == -ENODEV)	/* the lock went away meanwhile */
			continue;
	}
	safelock_wipe(&k, sizeof(k));
	if (ret == -ENODEV) {
		if (open_err) {
			snprintf(why, len, "unable to open %s/safelockN: %s", dev_dir,
				 strerror(open_err));
			return -open_err;
		}
		snprintf(why, len, "no %s/safelockN to give it through", dev_dir);
	}
	return ret;
}

/* A key if there is none yet, and its hash to register with. */
int codekey_setup(struct codekey *ck, uint8_t hash[SAFELOCK_CODE_KEY_SIZE], char *why,
		  size_t len)
{
	int ret = ck->made ? 0 : codekey_new(ck);

	if (ret) {
		snprintf(why, len, "unable to make a code key: %s", strerror(-ret));
		return ret;
	}
	ret = codekey_hash(ck, hash);
	if (ret)
		snprintf(why, len, "unable to hash the code key (OpenSSL BLAKE2S-256)");
	return ret;
}

/* codekey_give() unless the kernel has the key already. */
int codekey_give_once(struct codekey *ck, const char *dev_dir, char *why, size_t len)
{
	int ret;

	if (ck->given)
		return 0;
	ret = codekey_give(ck, dev_dir, why, len);
	ck->given = !ret;
	return ret;
}

/* The first @len (at most 32) bytes of keyed BLAKE2s-256(key, nonce || le64 id). */
static int keystream(const struct codekey *ck, const uint8_t *nonce, uint64_t req_id,
		     uint8_t *out, size_t len)
{
	uint8_t in[SAFELOCK_NONCE_SIZE + 8], mac[32];
	size_t size = sizeof(mac), outl = 0;
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *m;
	int i, ok;

	memcpy(in, nonce, SAFELOCK_NONCE_SIZE);
	for (i = 0; i < 8; i++)
		in[SAFELOCK_NONCE_SIZE + i] = (uint8_t)(req_id >> (8 * i));
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
	params[1] = OSSL_PARAM_construct_end();
	m = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	if (m)
		ctx = EVP_MAC_CTX_new(m);
	ok = ctx && EVP_MAC_init(ctx, ck->key, sizeof(ck->key), params) &&
	     EVP_MAC_update(ctx, in, sizeof(in)) &&
	     EVP_MAC_final(ctx, mac, &outl, sizeof(mac)) && outl == sizeof(mac);
	if (ok)
		memcpy(out, mac, len);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	safelock_wipe(mac, sizeof(mac));
	safelock_wipe(in, sizeof(in));
	return ok ? 0 : -EIO;
}

/*
 * Open the sealed code of request @req_id with @nonce into @code (@code_size
 * bytes, NUL-terminated). Returns the number of digits, or 0 if it cannot
 * be opened (no key, too long, no keystream): the caller answers DENIED.
 */
size_t codekey_open(const struct codekey *ck, const uint8_t *nonce, uint64_t req_id,
		    const uint8_t *sealed, size_t sealed_len, char *code, size_t code_size)
{
	uint8_t stream[32];
	size_t i;

	if (!ck->made || !sealed_len || sealed_len > SAFELOCK_CODE_MAX_DIGITS ||
	    sealed_len >= code_size || keystream(ck, nonce, req_id, stream, sealed_len))
		return 0;
	for (i = 0; i < sealed_len; i++)
		code[i] = (char)(sealed[i] ^ stream[i]);
	code[sealed_len] = '\0';
	safelock_wipe(stream, sizeof(stream));
	return sealed_len;
}

void codekey_wipe(struct codekey *ck)
{
	safelock_wipe(ck->key, sizeof(ck->key));
	ck->made = false;
	ck->given = false;
}
