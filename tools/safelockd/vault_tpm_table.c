// SPDX-License-Identifier: GPL-2.0
/*
 * The vault table: the one file on flash, STATE_DIR/vault.tab, holding
 * the users (id, role, the sealed objects of their code and duress code),
 * the recovery secret's sealed object, the audit HMAC key's blob and the
 * policy. Nothing in it can be used without this TPM's persisted primary,
 * and nothing in it can test a guess offline.
 *
 * Authenticated by the TPM, not by a key: the commit record in STATE_NV
 * holds the table's version and its SHA-256. open() uses vault.tab only if
 * its hash is the one in the record, so a flash edit (a user promoted, a
 * duress code removed, one user's sealed object copied over another's) or
 * an older copy of the state directory (a deleted user back, an old code
 * back) is refused: the vault then refuses every operation but wipe and
 * says why, until the newest copy is put back or the vault is wiped.
 * Deleting the file is no way in either: when the record says an owner's
 * table exists (version > 0, STATE_UNOWNED clear), a missing vault.tab is
 * a DAMAGED vault (restore it from a backup, or recover), never a new
 * one that `init` could take over. Only a vault whose record says "no
 * table" (none defined: never initialised, or a wipe completed, which
 * undefines it) or "a table of no user" (STATE_UNOWNED) is EMPTY. A
 * vault.tab with no record at all (the TPM was cleared, or it is another
 * TPM: a board swap) is DAMAGED too.
 *
 * The table also pins the TPM's storage primary: its Name (nameAlg ||
 * H(public area)) is in the table, written at the first commit, and
 * open() refuses a primary with another Name (an interposer's own key, or
 * a key put at the handle by someone else), so no session is ever salted
 * with a key that is not the one the table's objects were sealed under.
 * The table rather than the NV record: the record has no room left
 * (48 bytes: magic, flags, version, hash), and the table is on flash,
 * out of reach of an interposer on the TPM's bus, who could answer an NV
 * read with anything but cannot rewrite the flash; the record's hash
 * still authenticates it.
 *
 * A commit (one per administrative change) is crash-safe, with the NV
 * write as its commit point:
 *   1. write vault.tab.new (version + 1), fsync;
 *   2. STATE_NV := version + 1, SHA-256 of vault.tab.new;
 *   3. rename vault.tab.new over vault.tab, fsync the directory.
 * open() after a crash: vault.tab matches the record (crash before 2:
 * vault.tab.new is an uncommitted change and is deleted), or vault.tab.new
 * does (crash between 2 and 3: it is renamed into place).
 *
 * File format, big-endian:
 *   "SLVTAB01", u64 version, u32 flags (bit 0: a policy is stored; bit
 *   1: the primary's Name follows the policy), the policy (260 bytes,
 *   field by field as struct safelock_admin_policy), if flag bit 1: u16
 *   length and the Name of the primary (older tables have none: the
 *   current primary is pinned by the next commit, which open() makes),
 *   slot recovery, slot audit key, u16 number of users, then per user in
 *   increasing id order: u16 id, u8 role, u8 flags (bit 0: has a duress
 *   code), slot code, and slot duress if it has one; then, if flag bit 2,
 *   u8 length and the policy's time zone name (no NUL); then, if flag
 *   bit 3, the wall clock's anchor: u64 wall-clock UTC seconds and u64
 *   TPM clock ms, read together at a commit the owner vouched for.
 *   A slot: u16 length (0: empty), then the 32-byte salt and the
 *   marshalled TPM2B_PUBLIC and TPM2B_PRIVATE of the sealed object.
 *
 * Compatibility. Every addition is a flag bit and a part at a fixed place
 * that only the bit announces: a table without the bit is read as before
 * (no pin, no zone, no anchor), and the parser refuses a flag bit it does
 * not know, so an older safelockd never misreads a newer table: it
 * refuses it (the vault is DAMAGED, nothing is changed or lost) until the
 * newer safelockd reads it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "vault_tpm.h"

#define TABLE_FILE	"vault.tab"
#define TABLE_NEW	"vault.tab.new"
#define TABLE_MAGIC	"SLVTAB01"
#define TABLE_MAX	(2u << 20)
#define POLICY_BYTES	260
#define FLAG_POLICY	0x1
#define FLAG_PIN	0x2	/* the primary's Name follows the policy */
#define FLAG_ZONE	0x4	/* the policy's time zone follows the users */
#define FLAG_CLOCK	0x8	/* the wall clock's anchor comes last */
#define FLAGS_KNOWN	(FLAG_POLICY | FLAG_PIN | FLAG_ZONE | FLAG_CLOCK)
#define UFLAG_DURESS	0x1

/* Writing ------------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool bad;
};

static void w_put(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *np;

	if (w->bad)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;

		while (cap < w->len + n)
			cap *= 2;
		np = realloc(w->p, cap);
		if (!np) {
			w->bad = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void w_be(struct wbuf *w, uint64_t v, int n)
{
	uint8_t b[8];

	put_be(b, v, n);
	w_put(w, b, (size_t)n);
}

static void w_slot(struct wbuf *w, const struct vault_slot *s)
{
	w_be(w, s->len, 2);
	if (!s->len)
		return;
	w_put(w, s->salt, SALT_SIZE);
	w_put(w, s->blob, s->len);
}

static void w_policy(struct wbuf *w, const struct safelock_admin_policy *p)
{
	size_t i;

	w_be(w, p->time_delay_s, 4);
	w_be(w, p->open_window_s, 4);
	w_be(w, p->dual_window_s, 4);
	w_be(w, p->relock_ms, 4);
	w_be(w, p->door_limit_s, 4);
	w_be(w, p->recovery_delay_s, 4);
	w_be(w, p->dual_control, 1);
	w_be(w, p->dual_admin, 1);
	w_be(w, p->courier_override, 1);
	w_be(w, p->time_lock, 1);
	w_put(w, p->week, sizeof(p->week));
	for (i = 0; i < SAFELOCK_ADMIN_HOLIDAYS; i++)
		w_be(w, p->holidays[i], 4);
	w_be(w, (uint32_t)p->utc_offset_s, 4);
	for (i = 0; i < sizeof(p->reserved) / sizeof(p->reserved[0]); i++)
		w_be(w, p->reserved[i], 4);
}

static int serialize(const struct vault_table *tab, uint64_t version,
		     struct wbuf *w)
{
	static const struct safelock_admin_policy none;
	unsigned int id;

	memset(w, 0, sizeof(*w));
	w_put(w, TABLE_MAGIC, 8);
	w_be(w, version, 8);
	w_be(w, (tab->has_policy ? FLAG_POLICY : 0) |
	     (tab->pin.size ? FLAG_PIN : 0) |
	     (tab->has_policy && tab->policy.time_zone[0] ? FLAG_ZONE : 0) |
	     (tab->has_anchor ? FLAG_CLOCK : 0), 4);
	w_policy(w, tab->has_policy ? &tab->policy : &none);
	if (tab->pin.size) {
		w_be(w, tab->pin.size, 2);
		w_put(w, tab->pin.name, tab->pin.size);
	}
	w_slot(w, &tab->recovery);
	w_slot(w, &tab->audit);
	w_be(w, tab->n_users, 2);
	for (id = 1; id <= SAFELOCK_USER_ID_MAX; id++) {
		const struct vault_urec *u = &tab->users[id];

		if (u->role == SAFELOCK_ROLE_NONE)
			continue;
		w_be(w, id, 2);
		w_be(w, u->role, 1);
		w_be(w, u->duress.len ? UFLAG_DURESS : 0, 1);
		w_slot(w, &u->code);
		if (u->duress.len)
			w_slot(w, &u->duress);
	}
	if (tab->has_policy && tab->policy.time_zone[0]) {
		size_t zl = strnlen(tab->policy.time_zone, sizeof(tab->policy.time_zone) - 1);

		w_be(w, zl, 1);
		w_put(w, tab->policy.time_zone, zl);
	}
	if (tab->has_anchor) {
		w_be(w, tab->anchor.wall_s, 8);
		w_be(w, tab->anchor.clock_ms, 8);
	}
	if (w->bad) {
		free(w->p);
		return -ENOMEM;
	}
	return 0;
}

/* Reading ------------------------------------------------------------- */

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *r_get(struct rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t r_be(struct rbuf *r, int n)
{
	const uint8_t *p = r_get(r, (size_t)n);

	return p ? get_be(p, n) : 0;
}

static void r_slot(struct rbuf *r, struct vault_slot *s)
{
	const uint8_t *p;
	size_t n = (size_t)r_be(r, 2);

	memset(s, 0, sizeof(*s));
	if (!n || r->bad)
		return;
	if (n > SLOT_BLOB_MAX) {
		r->bad = true;
		return;
	}
	p = r_get(r, SALT_SIZE);
	if (!p)
		return;
	memcpy(s->salt, p, SALT_SIZE);
	p = r_get(r, n);
	if (!p)
		return;
	s->blob = malloc(n);
	if (!s->blob) {
		r->bad = true;
		return;
	}
	memcpy(s->blob, p, n);
	s->len = (uint16_t)n;
}

static void r_policy(struct rbuf *r, struct safelock_admin_policy *p)
{
	const uint8_t *wk;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->time_delay_s = (uint32_t)r_be(r, 4);
	p->open_window_s = (uint32_t)r_be(r, 4);
	p->dual_window_s = (uint32_t)r_be(r, 4);
	p->relock_ms = (uint32_t)r_be(r, 4);
	p->door_limit_s = (uint32_t)r_be(r, 4);
	p->recovery_delay_s = (uint32_t)r_be(r, 4);
	p->dual_control = (uint8_t)r_be(r, 1);
	p->dual_admin = (uint8_t)r_be(r, 1);
	p->courier_override = (uint8_t)r_be(r, 1);
	p->time_lock = (uint8_t)r_be(r, 1);
	wk = r_get(r, sizeof(p->week));
	if (wk)
		memcpy(p->week, wk, sizeof(p->week));
	for (i = 0; i < SAFELOCK_ADMIN_HOLIDAYS; i++)
		p->holidays[i] = (uint32_t)r_be(r, 4);
	p->utc_offset_s = (int32_t)(uint32_t)r_be(r, 4);
	for (i = 0; i < sizeof(p->reserved) / sizeof(p->reserved[0]); i++)
		p->reserved[i] = (uint32_t)r_be(r, 4);
}

static bool role_valid(unsigned int id, unsigned int role)
{
	if (role <= SAFELOCK_ROLE_NONE || role >= SAFELOCK_ROLE_MAX)
		return false;
	return (id == 1) == (role == SAFELOCK_ROLE_OWNER);
}

/* Parse @buf into @tab: 0 or -EBADMSG. */
static int parse(const uint8_t *buf, size_t len, struct vault_table *tab)
{
	struct rbuf r = { .p = buf, .len = len };
	unsigned int n, i, id, prev = 0, flags;
	const uint8_t *magic;

	memset(tab, 0, sizeof(*tab));
	magic = r_get(&r, 8);
	if (!magic || memcmp(magic, TABLE_MAGIC, 8))
		return -EBADMSG;
	tab->version = r_be(&r, 8);
	flags = (unsigned int)r_be(&r, 4);
	tab->has_policy = flags & FLAG_POLICY;
	r_policy(&r, &tab->policy);
	if (flags & FLAG_PIN) {
		size_t n_pin = (size_t)r_be(&r, 2);
		const uint8_t *pin;

		if (!n_pin || n_pin > sizeof(tab->pin.name))
			r.bad = true;
		pin = r.bad ? NULL : r_get(&r, n_pin);
		if (pin) {
			memcpy(tab->pin.name, pin, n_pin);
			tab->pin.size = (UINT16)n_pin;
		}
	}
	r_slot(&r, &tab->recovery);
	r_slot(&r, &tab->audit);
	n = (unsigned int)r_be(&r, 2);
	for (i = 0; i < n && !r.bad; i++) {
		struct vault_urec *u;
		unsigned int role, uf;

		id = (unsigned int)r_be(&r, 2);
		role = (unsigned int)r_be(&r, 1);
		uf = (unsigned int)r_be(&r, 1);
		if (r.bad || id <= prev || id > SAFELOCK_USER_ID_MAX ||
		    !role_valid(id, role) || (uf & ~UFLAG_DURESS)) {
			r.bad = true;
			break;
		}
		prev = id;
		u = &tab->users[id];
		u->role = (uint8_t)role;
		r_slot(&r, &u->code);
		if (uf & UFLAG_DURESS)
			r_slot(&r, &u->duress);
		if (!u->code.len || !(uf & UFLAG_DURESS) != !u->duress.len)
			r.bad = true;
		tab->n_users++;
	}
	if (flags & FLAG_ZONE) {
		size_t zl = (size_t)r_be(&r, 1);
		const uint8_t *z = r_get(&r, zl);

		if (!z || !zl || zl >= sizeof(tab->policy.time_zone) || memchr(z, 0, zl))
			r.bad = true;
		else
			memcpy(tab->policy.time_zone, z, zl);
	}
	if (flags & FLAG_CLOCK) {
		tab->anchor.wall_s = r_be(&r, 8);
		tab->anchor.clock_ms = r_be(&r, 8);
		tab->has_anchor = true;
	}
	if (r.bad || r.off != r.len || (flags & ~FLAGS_KNOWN)) {
		table_free(tab);
		return -EBADMSG;
	}
	return 0;
}

void table_free(struct vault_table *tab)
{
	unsigned int id;

	slot_free(&tab->recovery);
	slot_free(&tab->audit);
	for (id = 0; id <= SAFELOCK_USER_ID_MAX; id++) {
		slot_free(&tab->users[id].code);
		slot_free(&tab->users[id].duress);
	}
	memset(tab, 0, sizeof(*tab));
}

/* Files --------------------------------------------------------------- */

static int write_file(struct vault *v, const char *name, const uint8_t *buf,
		      size_t len)
{
	struct tpm_vault *t = v->priv;
	size_t off = 0;
	ssize_t n;
	int fd, err;

	unlinkat(t->dirfd, name, 0);
	fd = openat(t->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
	if (fd < 0)
		return sys_fail(v, "create " TABLE_NEW, errno);
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		err = errno;
		goto fail;
	}
	close(fd);
	if (fsync(t->dirfd) < 0)
		return sys_fail(v, "sync the state directory", errno);
	return 0;
fail:
	close(fd);
	unlinkat(t->dirfd, name, 0);
	return sys_fail(v, "write " TABLE_NEW, err);
}

/* 0 and a malloc'ed *buf, -ENOENT, -EFBIG, or -errno (message in v). */
static int read_file(struct vault *v, const char *name, uint8_t **buf,
		     size_t *len)
{
	struct tpm_vault *t = v->priv;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = openat(t->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : sys_fail(v, name, errno);
	if (fstat(fd, &st) < 0) {
		ret = sys_fail(v, name, errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TABLE_MAX) {
		snprintf(v->errmsg, sizeof(v->errmsg),
			 "%s: not a regular file of at most %u bytes", name,
			 TABLE_MAX);
		ret = -EFBIG;
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		ret = sys_fail(v, name, ENOMEM);
		goto out;
	}
	while (off <= (size_t)st.st_size) {
		n = read(fd, *buf + off, (size_t)st.st_size + 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = sys_fail(v, name, errno);
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off > (size_t)st.st_size) {
		snprintf(v->errmsg, sizeof(v->errmsg), "%s: grew while read",
			 name);
		ret = -EBADMSG;
		goto out;
	}
	*len = off;
	ret = 0;
out:
	close(fd);
	if (ret) {
		free(*buf);
		*buf = NULL;
	}
	return ret;
}

static int sha256(const uint8_t *buf, size_t len, uint8_t md[32])
{
	unsigned int n = 0;

	return EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) && n == 32 ?
	       0 : -EIO;
}

void state_record(uint8_t rec[STATE_SIZE], uint32_t flags, uint64_t version,
		  const uint8_t hash[32])
{
	put_be(rec, STATE_MAGIC, 4);
	put_be(rec + 4, flags, 4);
	put_be(rec + 8, version, 8);
	if (hash)
		memcpy(rec + 16, hash, 32);
	else
		memset(rec + 16, 0, 32);
}

/* Commit -------------------------------------------------------------- */

/*
 * Write t->tab as the next version and record it in STATE_NV: 0, or
 * -errno (the caller undoes its change in memory). If the NV write failed
 * it is unknown whether it reached NV: the vault reconnects and resolves
 * the files against the record at its next operation.
 */
int table_commit(struct vault *v)
{
	struct tpm_vault *t = v->priv;
	uint8_t rec[STATE_SIZE], md[32];
	uint64_t version = t->tab.version + 1, now;
	struct vault_clock_anchor old_anchor = t->tab.anchor;
	bool had_anchor = t->tab.has_anchor;
	struct wbuf w;
	TSS2_RC rc;
	int ret;

	ret = nv_index(v, STATE_NV, STATE_SIZE, true, &t->state_nv);
	if (ret < 0)
		return ret;
	/* pin the primary the objects are sealed under (open() checked it) */
	if (!t->tab.pin.size && !t->primary_bad)
		t->tab.pin = t->primary_name;
	/* the owner vouched for the wall clock: anchor it to the TPM's */
	if (t->vouch_wall_s) {
		rc = read_clock(t, &now);
		if (rc)
			return tpm_fail(v, "read the TPM clock to anchor the wall clock", rc);
		t->tab.has_anchor = true;
		t->tab.anchor.wall_s = t->vouch_wall_s;
		t->tab.anchor.clock_ms = now;
	}
	ret = serialize(&t->tab, version, &w);
	if (ret) {
		ret = sys_fail(v, "serialize the vault table", -ret);
		goto undo;
	}
	ret = sha256(w.p, w.len, md);
	if (!ret)
		ret = write_file(v, TABLE_NEW, w.p, w.len);
	free(w.p);
	if (ret)
		goto undo;
	tpm_point("commit:written");
	state_record(rec, t->tab.n_users ? 0 : STATE_UNOWNED, version, md);
	rc = nv_write(t, t->state_nv, rec, sizeof(rec), 0);
	if (rc) {
		ret = tpm_fail(v, "record the vault table in TPM NV", rc);
		t->broken = true;	/* the table is resolved again */
		goto undo;
	}
	tpm_point("commit:recorded");
	t->tab.version = version;
	/* committed; a failure from here on is repaired by the next open() */
	if (renameat(t->dirfd, TABLE_NEW, t->dirfd, TABLE_FILE) == 0)
		fsync(t->dirfd);
	return 0;
undo:
	t->tab.has_anchor = had_anchor;
	t->tab.anchor = old_anchor;
	return ret;
}

/*
 * Choose the table that matches the commit record @rec (STATE_SIZE bytes,
 * or NULL: none ever recorded) and load it into t->tab; see the top of the
 * file. A table that matches nothing: t->refused, with the reason.
 */
int table_resolve(struct vault *v, const uint8_t *rec)
{
	struct tpm_vault *t = v->priv;
	uint64_t version = rec ? get_be(rec + 8, 8) : 0;
	/* the record says an owner's table exists: losing it is damage */
	bool owned = version && !(get_be(rec + 4, 4) & STATE_UNOWNED);
	uint8_t *cur = NULL, *next = NULL, md[32];
	size_t cur_len = 0, next_len = 0;
	int ret, rc_cur, rc_next;
	uint8_t *use = NULL;
	size_t use_len = 0;

	table_free(&t->tab);
	t->refused = 0;
	t->refused_msg[0] = '\0';
	rc_cur = read_file(v, TABLE_FILE, &cur, &cur_len);
	if (rc_cur && rc_cur != -ENOENT && rc_cur != -EFBIG)
		return rc_cur;
	rc_next = read_file(v, TABLE_NEW, &next, &next_len);
	if (rc_next && rc_next != -ENOENT && rc_next != -EFBIG) {
		free(cur);
		return rc_next;
	}
	if (!rc_cur && version && !sha256(cur, cur_len, md) &&
	    !memcmp(md, rec + 16, 32)) {
		use = cur;
		use_len = cur_len;
		if (rc_next != -ENOENT)	/* an uncommitted change */
			unlinkat(t->dirfd, TABLE_NEW, 0);
	} else if (!rc_next && version && !sha256(next, next_len, md) &&
		   !memcmp(md, rec + 16, 32)) {
		/* committed, not yet renamed into place */
		if (renameat(t->dirfd, TABLE_NEW, t->dirfd, TABLE_FILE) < 0) {
			ret = sys_fail(v, "complete the last commit", errno);
			goto out;
		}
		fsync(t->dirfd);
		use = next;
		use_len = next_len;
	} else if (rc_cur == -ENOENT && owned) {
		/* the TPM says an owner's table exists: never a new lock */
		if (rc_next != -ENOENT)
			unlinkat(t->dirfd, TABLE_NEW, 0);
		t->refused = -ENOENT;
		snprintf(t->refused_msg, sizeof(t->refused_msg),
			 "%s is missing but the TPM recorded version %llu: restore it from a backup, or recover",
			 TABLE_FILE, (unsigned long long)version);
		t->tab.version = version;
		ret = 0;
		goto out;
	} else if (rc_cur == -ENOENT) {
		/*
		 * No table, and none recorded, or the record's is one of no
		 * user (no owner was enrolled since the TPM's record began,
		 * so nothing is lost): an unprovisioned vault.
		 */
		if (rc_next != -ENOENT)
			unlinkat(t->dirfd, TABLE_NEW, 0);
		t->tab.version = version;
		ret = 0;
		goto out;
	} else if (!rec) {
		t->refused = -ESTALE;
		snprintf(t->refused_msg, sizeof(t->refused_msg),
			 "%s is present but the TPM holds no record of it: the TPM was cleared, or this is another TPM (a board swap); put the original TPM back, or wipe",
			 TABLE_FILE);
		if (rc_next != -ENOENT)
			unlinkat(t->dirfd, TABLE_NEW, 0);
		ret = 0;
		goto out;
	} else {
		uint64_t found = 0;

		if (!rc_cur && cur_len >= 16 && !memcmp(cur, TABLE_MAGIC, 8))
			found = get_be(cur + 8, 8);
		t->refused = -ESTALE;
		snprintf(t->refused_msg, sizeof(t->refused_msg),
			 "%s (version %llu) is not the table the TPM recorded (version %llu): an edited, truncated or older copy of the state directory is refused; restore the newest copy, or wipe",
			 TABLE_FILE, (unsigned long long)found,
			 (unsigned long long)version);
		if (rc_next != -ENOENT)
			unlinkat(t->dirfd, TABLE_NEW, 0);
		t->tab.version = version;
		ret = 0;
		goto out;
	}
	ret = parse(use, use_len, &t->tab);
	if (ret) {
		t->refused = -EBADMSG;
		snprintf(t->refused_msg, sizeof(t->refused_msg),
			 "%s matches the TPM's record but cannot be parsed",
			 TABLE_FILE);
		t->tab.version = version;
		ret = 0;
	} else if (t->tab.version != version) {
		table_free(&t->tab);
		t->refused = -EBADMSG;
		snprintf(t->refused_msg, sizeof(t->refused_msg),
			 "%s says version %llu, its record %llu", TABLE_FILE,
			 (unsigned long long)t->tab.version,
			 (unsigned long long)version);
		t->tab.version = version;
	}
out:
	free(cur);
	free(next);
	return ret;
}

/* Policy -------------------------------------------------------------- */

/*
 * The defaults of a vault that never stored a policy: those the kernel
 * starts with (driver/fsm.c, the relock-ms property's default): no time
 * delay, no dual control, no time lock, open window 60 s, dual window
 * 60 s, the board's own relock time (0), door alarm after 300 s, no
 * recovery delay.
 */
void table_policy_defaults(struct safelock_admin_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->open_window_s = 60;
	p->dual_window_s = 60;
	p->relock_ms = 0;	/* the board's relock-ms */
	p->door_limit_s = 300;
}

static bool in(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi;
}

#define HOLIDAY_MAX	100000U		/* days since 1970: the year 2243 */
#define UTC_OFFSET_MAX	(14 * 3600)

/*
 * The ranges of admin.h, which are the kernel's (driver/netlink.c). The
 * reserved words are safelockd's own (it keeps a pending recovery's start
 * there) and are stored as they are.
 */
int table_policy_check(const struct safelock_admin_policy *p, char *why,
		       size_t len)
{
	const char *bad = NULL;
	size_t i;

	if (!in(p->time_delay_s, 0, 7200))
		bad = "time delay must be 0 to 7200 s";
	else if (!in(p->open_window_s, 60, 1800))
		bad = "open window must be 60 to 1800 s";
	else if (!in(p->dual_window_s, 10, 300))
		bad = "dual window must be 10 to 300 s";
	else if (p->relock_ms && !in(p->relock_ms, 500, 600000))
		bad = "relock time must be 0 (the board's) or 500 to 600000 ms";
	else if (p->door_limit_s && !in(p->door_limit_s, 5, 3600))
		bad = "door limit must be 0 (never) or 5 to 3600 s";
	else if (!in(p->recovery_delay_s, 0, 604800))
		bad = "recovery delay must be 0 to 604800 s";
	else if (p->dual_control > 1 || p->dual_admin > 1 ||
		 p->courier_override > 1 || p->time_lock > 1)
		bad = "dual_control, dual_admin, courier_override and time_lock are 0 or 1";
	else if (p->utc_offset_s < -UTC_OFFSET_MAX ||
		 p->utc_offset_s > UTC_OFFSET_MAX)
		bad = "UTC offset must be -50400 to 50400 s";
	for (i = 0; !bad && i < SAFELOCK_ADMIN_HOLIDAYS; i++)
		if (p->holidays[i] > HOLIDAY_MAX)
			bad = "a holiday is a day since 1970-01-01, at most 100000";
	if (!bad)
		return 0;
	snprintf(why, len, "%s", bad);
	return -EINVAL;
}

/* The recovery secret's text ------------------------------------------ */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define RECOVERY_SYMBOLS	(SAFELOCK_RECOVERY_BITS / 5)

/* 20 bytes -> 32 symbols, "XXXX-XXXX-...", 39 characters */
void recovery_encode(const uint8_t raw[RECOVERY_BYTES],
		     char text[SAFELOCK_RECOVERY_TEXT_SIZE])
{
	unsigned int i, bit, val, k, o = 0;

	for (i = 0; i < RECOVERY_SYMBOLS; i++) {
		for (val = 0, k = 0; k < 5; k++) {
			bit = i * 5 + k;
			val = (val << 1) | ((raw[bit / 8] >> (7 - bit % 8)) & 1);
		}
		if (i && i % 4 == 0)
			text[o++] = '-';
		text[o++] = crockford[val];
	}
	text[o] = '\0';
}

/* 1 if lo <= c <= hi (values below 2^31), without a branch on c */
static uint32_t ct_in(uint32_t c, uint32_t lo, uint32_t hi)
{
	return (((c - lo) | (hi - c)) >> 31) ^ 1;
}

static uint32_t ct_mask_eq(uint32_t a, uint32_t b)
{
	return 0u - ((((a ^ b) - 1u) >> 31) & 1u);
}

/*
 * Accepts the grouped text with or without dashes (or spaces), in either
 * case, and Crockford's aliases (I and L for 1, O for 0). Each symbol is
 * decoded without branching on its value. 0, or -EINVAL (not 32 symbols
 * of the alphabet).
 */
int recovery_decode(const char *text, uint8_t raw[RECOVERY_BYTES])
{
	uint32_t c = 0, m, val = 0, ok = ~0u;
	unsigned int i, n = 0, bit, k;
	size_t len = strnlen(text, SAFELOCK_RECOVERY_TEXT_SIZE);

	memset(raw, 0, RECOVERY_BYTES);
	if (len >= SAFELOCK_RECOVERY_TEXT_SIZE)
		return -EINVAL;
	for (; *text; text++) {
		if (*text == '-' || *text == ' ')
			continue;
		if (n >= RECOVERY_SYMBOLS) {
			n++;
			break;
		}
		c = (unsigned char)*text;
		c ^= 0x20 & (0u - ct_in(c, 'a', 'z'));	/* upper case */
		val = 0;
		m = ct_mask_eq(c, 'I') | ct_mask_eq(c, 'L');
		val |= m & 1;
		m |= ct_mask_eq(c, 'O');
		for (i = 0; i < 32; i++) {
			uint32_t e = ct_mask_eq(c, (unsigned char)crockford[i]);

			val |= e & i;
			m |= e;
		}
		ok &= m;
		for (k = 0; k < 5; k++) {
			bit = n * 5 + k;
			raw[bit / 8] |= (uint8_t)(((val >> (4 - k)) & 1) <<
						  (7 - bit % 8));
		}
		n++;
	}
	safelock_wipe(&c, sizeof(c));
	safelock_wipe(&val, sizeof(val));
	if (n != RECOVERY_SYMBOLS || !ok) {
		safelock_wipe(raw, RECOVERY_BYTES);
		return -EINVAL;
	}
	return 0;
}
