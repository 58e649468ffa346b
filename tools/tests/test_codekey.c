// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of safelockd's code key (safelockd/codekey.c): the hash it
 * registers with and the keystream that opens a VERIFY's sealed code,
 * against vectors python3's hashlib.blake2s computes now, with a fresh key,
 * nonce and code every run; and what it says when there is no lock to give
 * the key to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../safelockd/codekey.h"
#include "libsafelock.h"
#include "tap.h"

#define NTESTS 9

static void hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* Run a python3 expression (sys.argv[1:] are @args); its printed line into @out. */
static int py(const char *expr, const char *a1, const char *a2, const char *a3,
	      char *out, size_t size)
{
	char cmd[1024];
	FILE *f;
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import sys, hashlib; print(%s)' %s %s %s 2>/dev/null",
		 expr, a1, a2, a3);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	rc = pclose(f);
	out[strcspn(out, "\n")] = '\0';
	return rc == 0 && out[0] ? 0 : -1;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

int main(void)
{
	uint8_t hash[SAFELOCK_CODE_KEY_SIZE], want[SAFELOCK_CODE_KEY_SIZE];
	uint8_t nonce[SAFELOCK_NONCE_SIZE], sealed[SAFELOCK_CODE_MAX_DIGITS + 1] = { 0 };
	char khex[65], nhex[33], out[256], code[SAFELOCK_CODE_BUF], why[300];
	char typed[SAFELOCK_CODE_MAX_DIGITS + 1], idarg[32], dir[] = "/tmp/codekey.XXXXXX";
	struct codekey ck = { 0 }, ck2 = { 0 };
	uint64_t id;
	size_t i, len;
	bool have_py;
	int ret, fd;

	tap_plan(NTESTS);
	tap_ok(!codekey_new(&ck) && !codekey_new(&ck2) && ck.made &&
	       memcmp(ck.key, ck2.key, sizeof(ck.key)), "codekey_new: a fresh random key each time");
	hex(ck.key, sizeof(ck.key), khex);
	have_py = !py("1", "", "", "", out, sizeof(out));

	/* the hash a tap sees: BLAKE2s-256 of the key, unkeyed */
	if (!have_py) {
		tap_skip("codekey_hash: hashlib.blake2s(key)", "no python3");
	} else {
		ret = codekey_hash(&ck, hash);
		tap_ok(!ret && !py("hashlib.blake2s(bytes.fromhex(sys.argv[1])).hexdigest()",
				   khex, "", "", out, sizeof(out)) &&
		       !unhex(out, want, sizeof(want)) && !memcmp(hash, want, sizeof(hash)),
		       "codekey_hash: hashlib.blake2s(key) (ret %d)", ret);
	}

	/* a VERIFY's code, sealed the kernel's way by python, opened by safelockd */
	if (getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce) ||
	    getrandom(&id, sizeof(id), 0) != sizeof(id))
		return 1;
	hex(nonce, sizeof(nonce), nhex);
	snprintf(idarg, sizeof(idarg), "%llu", (unsigned long long)id);
	len = SAFELOCK_CODE_MIN_DIGITS + nonce[0] % 7;
	for (i = 0; i < len; i++)
		typed[i] = (char)('0' + nonce[i + 1] % 10);
	typed[len] = '\0';
	if (!have_py) {
		tap_skip("codekey_open: opens what hashlib seals", "no python3");
		tap_skip("codekey_open: another key opens something else", "no python3");
	} else {
		char args[128];

		snprintf(args, sizeof(args), "%s %s", idarg, typed);
		ret = py("bytes(a ^ b for a, b in zip(sys.argv[4].encode(), "
			 "hashlib.blake2s(bytes.fromhex(sys.argv[2]) + int(sys.argv[3]).to_bytes(8, \"little\"), "
			 "key=bytes.fromhex(sys.argv[1])).digest())).hex()",
			 khex, nhex, args, out, sizeof(out));
		tap_ok(!ret && !unhex(out, sealed, len) &&
		       codekey_open(&ck, nonce, id, sealed, len, code, sizeof(code)) == len &&
		       !strcmp(code, typed),
		       "codekey_open: opens what hashlib.blake2s(key=K, nonce || le64 id) seals (%zu digits)",
		       len);
		tap_ok(codekey_open(&ck2, nonce, id, sealed, len, code, sizeof(code)) == len &&
		       strcmp(code, typed), "codekey_open: another key opens something else");
	}
	tap_ok(codekey_open(&ck, nonce, id, sealed, SAFELOCK_CODE_MAX_DIGITS + 1, code,
			    sizeof(code)) == 0 &&
	       codekey_open(&ck, nonce, id, sealed, 0, code, sizeof(code)) == 0,
	       "codekey_open: a sealed code of 0 or more than 12 bytes is not opened");

	/* no lock to give the key to, and a node that is no lock */
	if (!mkdtemp(dir))
		return 1;
	ret = codekey_give(&ck, dir, why, sizeof(why));
	tap_ok(ret == -ENODEV && strstr(why, "no ") && strstr(why, "safelockN"),
	       "codekey_give: no /dev/safelockN: -ENODEV, \"%s\"", why);
	snprintf(out, sizeof(out), "%s/safelock0", dir);
	fd = open(out, O_CREAT | O_WRONLY, 0600);
	if (fd >= 0)
		close(fd);
	ret = codekey_give(&ck, dir, why, sizeof(why));
	tap_ok(ret == -ENOTTY && strstr(why, "SAFELOCK_IOC_SET_CODE_KEY"),
	       "codekey_give: a node that is no lock: -ENOTTY, \"%s\"", why);
	ret = codekey_give_once(&ck, dir, why, sizeof(why));
	tap_ok(ret && !ck.given, "codekey_give_once: a refusal leaves it to give again");
	unlink(out);
	rmdir(dir);

	codekey_wipe(&ck);
	for (i = 0; i < sizeof(ck.key) && !ck.key[i]; i++)
		;
	tap_ok(i == sizeof(ck.key) && !ck.made && !ck.given &&
	       codekey_open(&ck, nonce, id, sealed, len, code, sizeof(code)) == 0,
	       "codekey_wipe: the key is zeroes and opens nothing");
	codekey_wipe(&ck2);
	return tap_exit();
}
