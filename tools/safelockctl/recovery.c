// SPDX-License-Identifier: GPL-2.0
/*
 * The recovery secret as people type it, and its split among trustees.
 *
 * The secret is 32 symbols of Crockford base32 (160 bits). People may type
 * it in any case, in groups separated by spaces or dashes (or none), and
 * Crockford's aliases are taken: O is 0, I and L are 1. What is not one of
 * these is refused with the reason (the length, or the character and where
 * it is). safelockctl sends the canonical form: upper case, groups of 4.
 *
 * Trustees (M of N): the split and the combination happen here, in the
 * client, with Shamir's scheme over GF(256) from libgfshare. safelockd
 * knows nothing of shares: it makes and checks one recovery secret as
 * ever, so its throttle holds unchanged, a wrong set of shares is one
 * failure, and nothing of a share is ever stored on the lock. A share is
 * 44 symbols of the same alphabet, 11 groups of 4:
 *
 *   M N X I  IIII  DDDD x 8  CCCC
 *
 * M (any M recover), N (shares made) and X (this share's number, 1..N) as
 * one symbol each (2 <= M <= N <= 31, so "35" starts a share of a 3-of-5
 * split); I: 25 random bits naming the split, so shares of two splits do
 * not combine silently; D: the share's 160 bits; C: a CRC of degree 20
 * over the 40 symbols before it, which catches every single mistyped or
 * swapped-neighbour character (any burst of up to 20 bits). The check is no
 * MAC: it guards against mistakes, not forgery, and guards nothing secret.
 * A share is told from a secret by its length.
 *
 * libgfshare draws the random coefficients through its gfshare_fill_rand
 * hook: here getrandom(2), drawn into a pool before anything is sent to
 * safelockd, so once the daemon has made a new secret the split cannot
 * fail half-way for want of randomness.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libgfshare.h>

#include "libsafelock.h"
#include "safelockctl.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define SHARE_HEAD	8		/* M, N, X, 5 symbols of the split id */
#define SHARE_CHECKED	(SHARE_HEAD + RECOVERY_SYMBOLS)
#define CRC_BITS	20
#define CRC_POLY	0x00009u	/* x^20 + x^3 + 1 */

/* The symbol's value, Crockford's aliases included; -1: not in the alphabet. */
static int symbol_value(char ch)
{
	const char *p;

	if (ch >= 'a' && ch <= 'z')
		ch = (char)(ch - 'a' + 'A');
	if (ch == 'O')
		return 0;
	if (ch == 'I' || ch == 'L')
		return 1;
	p = ch ? strchr(alphabet, ch) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

static bool separator(char ch)
{
	return ch == ' ' || ch == '-' || ch == '\t' || ch == '\r';
}

/* Bits of @in (@n symbols) into bytes, first symbol in the high bits. */
static void symbols_to_bytes(const uint8_t *in, size_t n, uint8_t *out)
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 5) | in[i];
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
}

static void bytes_to_symbols(const uint8_t *in, size_t n, uint8_t *out)
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = (uint8_t)((acc >> bits) & 31);
		}
		acc &= (1u << bits) - 1;
	}
}

/* Symbols as text in groups of 4 joined by '-'. */
static void symbols_text(const uint8_t *sym, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = alphabet[sym[i] & 31];
	}
	out[o] = '\0';
}

static uint32_t share_crc(const uint8_t *sym, size_t n)
{
	uint32_t crc = (1u << CRC_BITS) - 1;
	size_t i;
	int b;

	for (i = 0; i < n; i++)
		for (b = 4; b >= 0; b--) {
			uint32_t top = ((crc >> (CRC_BITS - 1)) ^ (sym[i] >> b)) & 1;

			crc = ((crc << 1) & ((1u << CRC_BITS) - 1)) ^ (top ? CRC_POLY : 0);
		}
	return crc;
}

static void crc_symbols(uint32_t crc, uint8_t out[4])
{
	int i;

	for (i = 0; i < 4; i++)
		out[i] = (uint8_t)((crc >> (15 - 5 * i)) & 31);
}

int recovery_parse(const char *in, char canon[SAFELOCK_RECOVERY_TEXT_SIZE],
		   struct recovery_share *sh, char *why, size_t len)
{
	uint8_t sym[SHARE_SYMBOLS], check[4];
	size_t n = 0, pos = 0;
	int v, ret = -EINVAL;

	for (; *in; in++) {
		pos++;
		if (separator(*in))
			continue;
		v = symbol_value(*in);
		if (v < 0) {
			if (*in == 'U' || *in == 'u')
				snprintf(why, len, "character %zu, '%c', is not in the alphabet (0-9 and A-Z without U)",
					 pos, *in);
			else if (*in > ' ' && *in < 0x7f)
				snprintf(why, len, "character %zu, '%c', is not a letter or digit of the alphabet (0-9 and A-Z without U; groups may be separated by spaces or dashes)",
					 pos, *in);
			else
				snprintf(why, len, "character %zu (byte 0x%02x) is not a letter or digit of the alphabet (0-9 and A-Z without U)",
					 pos, (unsigned char)*in);
			goto out;
		}
		if (n < SHARE_SYMBOLS)
			sym[n] = (uint8_t)v;
		n++;
	}
	if (n == RECOVERY_SYMBOLS) {
		symbols_text(sym, n, canon);
		ret = RECOVERY_IS_SECRET;
		goto out;
	}
	if (n != SHARE_SYMBOLS) {
		snprintf(why, len, "%zu letters and digits: a recovery secret has %d and a trustee's share %d",
			 n, RECOVERY_SYMBOLS, SHARE_SYMBOLS);
		goto out;
	}
	crc_symbols(share_crc(sym, SHARE_CHECKED), check);
	if (memcmp(check, sym + SHARE_CHECKED, sizeof(check))) {
		snprintf(why, len, "the share's check characters do not match: a character is mistyped, or the share is damaged");
		ret = -EBADMSG;
		goto out;
	}
	sh->m = sym[0];
	sh->n = sym[1];
	sh->x = sym[2];
	if (sh->m < 2 || sh->n < sh->m || sh->x < 1 || sh->x > sh->n) {
		snprintf(why, len, "the share says it is number %u of %u with %u needed: not a share safelockctl makes",
			 sh->x, sh->n, sh->m);
		ret = -EBADMSG;
		goto out;
	}
	sh->id = (uint32_t)sym[3] << 20 | (uint32_t)sym[4] << 15 | (uint32_t)sym[5] << 10 |
		 (uint32_t)sym[6] << 5 | sym[7];
	symbols_to_bytes(sym + SHARE_HEAD, RECOVERY_SYMBOLS, sh->data);
	ret = RECOVERY_IS_SHARE;
out:
	safelock_wipe(sym, sizeof(sym));
	return ret;
}

void recovery_share_text(const struct recovery_share *sh, char out[SHARE_TEXT_SIZE])
{
	uint8_t sym[SHARE_SYMBOLS];
	int i;

	sym[0] = sh->m;
	sym[1] = sh->n;
	sym[2] = sh->x;
	for (i = 0; i < 5; i++)
		sym[3 + i] = (uint8_t)((sh->id >> (20 - 5 * i)) & 31);
	bytes_to_symbols(sh->data, RECOVERY_BYTES, sym + SHARE_HEAD);
	crc_symbols(share_crc(sym, SHARE_CHECKED), sym + SHARE_CHECKED);
	symbols_text(sym, SHARE_SYMBOLS, out);
	safelock_wipe(sym, sizeof(sym));
}

/* The secret (canonical or not) as its 20 bytes: 0 or -EINVAL. */
static int secret_bytes(const char *text, uint8_t out[RECOVERY_BYTES])
{
	uint8_t sym[RECOVERY_SYMBOLS];
	size_t n = 0;
	int v;

	for (; *text; text++) {
		if (separator(*text))
			continue;
		v = symbol_value(*text);
		if (v < 0 || n >= RECOVERY_SYMBOLS)
			break;
		sym[n++] = (uint8_t)v;
	}
	if (!*text && n == RECOVERY_SYMBOLS)
		symbols_to_bytes(sym, n, out);
	safelock_wipe(sym, sizeof(sym));
	return !*text && n == RECOVERY_SYMBOLS ? 0 : -EINVAL;
}

static void fill_from_pool(unsigned char *buf, unsigned int n);

int recovery_combine(const struct recovery_share *sh, unsigned int k,
		     char canon[SAFELOCK_RECOVERY_TEXT_SIZE], char *why, size_t len)
{
	unsigned char nrs[SHARE_MAX_N];
	uint8_t secret[RECOVERY_BYTES], sym[RECOVERY_SYMBOLS];
	gfshare_ctx *ctx;
	unsigned int i, j;

	if (!k || k != sh[0].m) {
		snprintf(why, len, "%u shares are needed, %u given", sh[0].m, k);
		return -EINVAL;
	}
	for (i = 1; i < k; i++) {
		if (sh[i].m != sh[0].m || sh[i].n != sh[0].n) {
			snprintf(why, len, "share %u (as typed) is of a %u-of-%u split, share 1 of a %u-of-%u split: they do not combine",
				 i + 1, sh[i].m, sh[i].n, sh[0].m, sh[0].n);
			return -EINVAL;
		}
		if (sh[i].id != sh[0].id) {
			snprintf(why, len, "share %u (as typed) is of another split than share 1: shares of an older split do not combine with a newer one",
				 i + 1);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (sh[j].x == sh[i].x) {
				snprintf(why, len, "share %u (as typed) repeats share %u: both are share %u of %u; %u different shares are needed",
					 i + 1, j + 1, sh[i].x, sh[i].n, sh[i].m);
				return -EINVAL;
			}
	}
	for (i = 0; i < k; i++)
		nrs[i] = sh[i].x;
	gfshare_fill_rand = fill_from_pool;	/* gfshare_ctx_free() scrambles with it */
	ctx = gfshare_ctx_init_dec(nrs, k, RECOVERY_BYTES);
	if (!ctx) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < k; i++)
		gfshare_ctx_dec_giveshare(ctx, (unsigned char)i, (unsigned char *)sh[i].data);
	gfshare_ctx_dec_extract(ctx, secret);
	gfshare_ctx_free(ctx);	/* through the hook: zeroes, no pool */
	bytes_to_symbols(secret, RECOVERY_BYTES, sym);
	symbols_text(sym, RECOVERY_SYMBOLS, canon);
	safelock_wipe(secret, sizeof(secret));
	safelock_wipe(sym, sizeof(sym));
	return 0;
}

/* The pool libgfshare's hook draws from (one split at a time). */
static struct recovery_split *pool_split;

static void fill_from_pool(unsigned char *buf, unsigned int n)
{
	struct recovery_split *sp = pool_split;

	if (!sp || n > sizeof(sp->pool) - sp->used) {
		/* never used: the split is refused (sp->starved) */
		if (sp)
			sp->starved = true;
		memset(buf, 0, n);
		return;
	}
	memcpy(buf, sp->pool + sp->used, n);
	safelock_wipe(sp->pool + sp->used, n);
	sp->used += n;
}

static int fill_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	ssize_t r;

	while (n) {
		r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int recovery_split_prepare(struct recovery_split *sp, unsigned int m, unsigned int n,
			   char *why, size_t len)
{
	unsigned char nrs[SHARE_MAX_N];
	unsigned char idb[4];
	unsigned int i;
	int ret;

	memset(sp, 0, sizeof(*sp));
	if (m < 2 || n < m || n > SHARE_MAX_N) {
		snprintf(why, len, "a split is M of N shares with 2 <= M <= N <= %d", SHARE_MAX_N);
		return -EINVAL;
	}
	sp->m = m;
	sp->n = n;
	ret = fill_random(sp->pool, (m - 1) * RECOVERY_BYTES);
	if (!ret)
		ret = fill_random(idb, sizeof(idb));
	if (ret) {
		snprintf(why, len, "no random numbers from getrandom(): %s", strerror(-ret));
		safelock_wipe(sp, sizeof(*sp));
		return ret;
	}
	sp->id = ((uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 |
		  idb[3]) & ((1u << 25) - 1);
	/* only what the coefficients take: a short pool fails loudly */
	sp->used = sizeof(sp->pool) - (m - 1) * RECOVERY_BYTES;
	memmove(sp->pool + sp->used, sp->pool, (m - 1) * RECOVERY_BYTES);
	for (i = 0; i < n; i++)
		nrs[i] = (unsigned char)(i + 1);
	gfshare_fill_rand = fill_from_pool;
	sp->ctx = gfshare_ctx_init_enc(nrs, n, (unsigned char)m, RECOVERY_BYTES);
	if (!sp->ctx) {
		snprintf(why, len, "libgfshare refused a %u-of-%u split", m, n);
		safelock_wipe(sp, sizeof(*sp));
		return -ENOMEM;
	}
	return 0;
}

int recovery_split_do(struct recovery_split *sp, const char *secret,
		      struct recovery_share *out, char *why, size_t len)
{
	uint8_t raw[RECOVERY_BYTES];
	unsigned int i;

	if (secret_bytes(secret, raw)) {
		snprintf(why, len, "safelockd sent a malformed recovery secret");
		return -EPROTO;
	}
	gfshare_fill_rand = fill_from_pool;
	pool_split = sp;
	gfshare_ctx_enc_setsecret(sp->ctx, raw);
	pool_split = NULL;
	safelock_wipe(raw, sizeof(raw));
	if (sp->starved) {
		snprintf(why, len, "libgfshare wanted more random numbers than were drawn");
		return -EIO;
	}
	for (i = 0; i < sp->n; i++) {
		out[i].m = (uint8_t)sp->m;
		out[i].n = (uint8_t)sp->n;
		out[i].x = (uint8_t)(i + 1);
		out[i].id = sp->id;
		gfshare_ctx_enc_getshare(sp->ctx, (unsigned char)i, out[i].data);
	}
	return 0;
}

void recovery_split_free(struct recovery_split *sp)
{
	if (sp->ctx)
		gfshare_ctx_free(sp->ctx);
	safelock_wipe(sp, sizeof(*sp));
}
