// SPDX-License-Identifier: GPL-2.0
/*
 * safelock selftests.
 *
 * Each test builds its own simulated safe: a gpio-sim bank (line 0 bolt,
 * line 1 door, 18 bolt sensor, 19-20 bolt motor), a uinput keypad and the
 * safelock_testboard module that describes them to the safelock driver; then
 * it plays the verifier itself through raw generic netlink (or runs the real
 * safelockd on the TPM) and checks the bolt line, the state and the events of
 * /dev/safelockN.  The "board" fixture's board has a solenoid and no bolt
 * sensor; the "bolt" fixture's have a bolt sensor, with a solenoid or a
 * motor; the "plain" fixture's none, with a solenoid or a motor.  The test
 * plays the bolt's mechanics itself: it moves the sensor line, or does not
 * (a jam).
 *
 * Runs as root in a VM with gpio-sim, configfs, uinput and devtmpfs.
 * safelock.ko, safelock_testboard.ko, safelockd and safelockctl are looked
 * up in $SAFELOCK_MODDIR (default: the current directory).
 *
 * SAFELOCK_BOARD=dt (the arm64 VM, scripts/arm64/): the boards already exist,
 * described by the device tree (scripts/arm64/safelock-virt.dtso): per
 * fixture a node safelock-<board> ("board", "tpm"), a gpio-sim bank labelled
 * safelock-<board> (line 0 bolt, 1 door, 4-13 keys 0-9, 14 ENTER, 15 ESC) and
 * a gpio-keys keypad on it; the bolt boards (safelock-solenoid,
 * safelock-motor, safelock-motor-plain) share the bank and keypad of
 * safelock-board, with its lines 18-20.  The fixture creates nothing: it binds the
 * driver to its node (and unbinds the other) through
 * /sys/bus/platform/drivers/safelock/{bind,unbind} where the default mode
 * loads and unloads the test board, types by pulling the key lines up and
 * down, and takes the timings from the node's properties, not from its own
 * constants.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/gpio.h>
#include <linux/input.h>
#include <linux/netlink.h>
#include <linux/uinput.h>
#include <linux/safelock.h>

#include "kselftest_harness.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define KEYPAD_NAME	"safelock-test-keypad"
#define GPIO_SIM_DIR	"/sys/kernel/config/gpio-sim"
#define TESTBOARD	"safelock_testboard"

#define RELOCK_MS		1000
#define VERIFY_TIMEOUT_MS	3000
#define ENTRY_TIMEOUT_MS	5000
#define TPM_VERIFY_TIMEOUT_MS	10000

/* SAFELOCK_BOARD=dt */
#define DT_DRIVER_DIR	"/sys/bus/platform/drivers/safelock"
#define DT_DEVICES_DIR	"/sys/bus/platform/devices"
#define DT_KEY_LINE0	4	/* keys 0-9 on lines 4-13, ENTER 14, ESC 15 */
#define DT_KEY_LINES	12
#define DT_KEY_HOLD_US	30000	/* debounce-interval is 1 ms: ample */

static bool dt_mode(void)
{
	const char *m = getenv("SAFELOCK_BOARD");

	return m && !strcmp(m, "dt");
}

/* ------------------------------------------------------------------ */
/* Time and files                                                      */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000ULL;
}

/*
 * wait_for() - true as soon as @cond holds, false if it still does not after
 * @ms milliseconds.  Checks in small steps; never a blind sleep.
 */
#define wait_for(cond, ms) ({						\
	uint64_t __end = now_ms() + (ms);				\
	bool __ok;							\
	for (;;) {							\
		if (cond) {						\
			__ok = true;					\
			break;						\
		}							\
		if (now_ms() >= __end) {				\
			__ok = false;					\
			break;						\
		}							\
		usleep(5000);						\
	}								\
	__ok;								\
})

static int write_str(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return 0;
}

static int read_str(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static const char *moddir(void)
{
	const char *d = getenv("SAFELOCK_MODDIR");

	return d && *d ? d : ".";
}

/* Random bytes from the kernel's generator (at most 64). */
static void random_bytes(void *buf, size_t n)
{
	unsigned char *r = buf;
	size_t i;
	int fd;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, n) != (ssize_t)n) {
		for (i = 0; i < n; i++)
			r[i] = (unsigned char)(rand() ^ now_ns());
	}
	if (fd >= 0)
		close(fd);
}

/* Random digits: a fresh code every run. */
static void random_digits(char *buf, size_t n)
{
	unsigned char r[64];
	size_t i;

	random_bytes(r, n);
	for (i = 0; i < n; i++)
		buf[i] = '0' + r[i] % 10;
	buf[n] = '\0';
}

/* A random code of 6 to 12 digits, different from @other if given. */
static void random_code(char *buf, const char *other)
{
	unsigned char len;

	do {
		random_digits(buf, 1);
		len = SAFELOCK_CODE_MIN_DIGITS +
		      (buf[0] - '0') % (SAFELOCK_CODE_MAX_DIGITS - SAFELOCK_CODE_MIN_DIGITS + 1);
		random_digits(buf, len);
	} while (other && !strcmp(buf, other));
}

/* ------------------------------------------------------------------ */
/* Modules                                                             */

static int load_module(const char *file, const char *params)
{
	char path[PATH_MAX];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", moddir(), file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_module(const char *name)
{
	uint64_t end = now_ms() + 5000;
	int ret;

	for (;;) {
		ret = syscall(__NR_delete_module, name, O_NONBLOCK);
		if (!ret || errno == ENOENT)
			return 0;
		ret = -errno;
		if ((ret != -EAGAIN && ret != -EBUSY) || now_ms() > end)
			return ret;
		usleep(10000);
	}
}

/* ------------------------------------------------------------------ */
/* BLAKE2s (RFC 7693): the code key's hash and keystream               */

static const uint32_t b2s_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

static const uint8_t b2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint32_t b2s_ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static void b2s_g(uint32_t *v, int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] += v[b] + x;
	v[d] = b2s_ror(v[d] ^ v[a], 16);
	v[c] += v[d];
	v[b] = b2s_ror(v[b] ^ v[c], 12);
	v[a] += v[b] + y;
	v[d] = b2s_ror(v[d] ^ v[a], 8);
	v[c] += v[d];
	v[b] = b2s_ror(v[b] ^ v[c], 7);
}

static void b2s_compress(uint32_t h[8], const uint8_t *block, uint64_t count, bool last)
{
	uint32_t v[16], m[16];
	const uint8_t *s;
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
		       (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
	for (i = 0; i < 8; i++) {
		v[i] = h[i];
		v[i + 8] = b2s_iv[i];
	}
	v[12] ^= (uint32_t)count;
	v[13] ^= (uint32_t)(count >> 32);
	if (last)
		v[14] = ~v[14];
	for (r = 0; r < 10; r++) {
		s = b2s_sigma[r];
		b2s_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
		b2s_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
		b2s_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
		b2s_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
		b2s_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
		b2s_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
		b2s_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
		b2s_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
	}
	for (i = 0; i < 8; i++)
		h[i] ^= v[i] ^ v[i + 8];
}

/* BLAKE2s of @in, @outlen (1 to 32) bytes, keyed if @keylen (up to 32). */
static void blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen,
		    const uint8_t *key, size_t keylen)
{
	const uint8_t *p = in;
	uint8_t block[64];
	uint64_t count = 0;
	uint32_t h[8];
	size_t i;

	memcpy(h, b2s_iv, sizeof(h));
	h[0] ^= 0x01010000 | (uint32_t)keylen << 8 | (uint32_t)outlen;
	if (keylen) {
		memset(block, 0, sizeof(block));
		memcpy(block, key, keylen);
		count = 64;
		b2s_compress(h, block, count, !inlen);
	}
	for (; inlen > 64; p += 64, inlen -= 64) {
		count += 64;
		b2s_compress(h, p, count, false);
	}
	if (inlen || !keylen) {
		memset(block, 0, sizeof(block));
		memcpy(block, p, inlen);
		count += inlen;
		b2s_compress(h, block, count, true);
	}
	for (i = 0; i < outlen; i++)
		out[i] = (uint8_t)(h[i / 4] >> (8 * (i % 4)));
	memset(block, 0, sizeof(block));
}

/* ------------------------------------------------------------------ */
/* Raw generic netlink: the fake verifier                              */

struct verify_req {
	uint32_t device;
	uint32_t user_id;
	uint64_t id;
	uint64_t deadline_ns;
	uint8_t nonce[SAFELOCK_NONCE_SIZE];
	char code[SAFELOCK_CODE_MAX_DIGITS + 8];	/* opened with the socket's key */
	int code_len;
	unsigned int seen;	/* bitmap of attributes present (below 32) */
	bool has_sealed;	/* SAFELOCK_A_CODE_SEALED */
	uint8_t sealed[SAFELOCK_CODE_MAX_DIGITS + 8];
	int sealed_len;
	uint8_t raw[512];	/* the message as it came: what a netlink tap sees */
	int raw_len;
};

#define NL_STASH 8

struct nl {
	int fd;
	uint16_t family;
	uint32_t seq;
	uint8_t code_key[SAFELOCK_CODE_KEY_SIZE];	/* fresh for every socket */
	struct verify_req stash[NL_STASH];
	int nstash;
	struct verify_req begun[NL_STASH];	/* ENTRY_BEGIN notices, last ones */
	int nbegun;
	struct verify_req users[NL_STASH];	/* ENTRY_USER notices, last ones */
	int nusers;
};

struct nl_msg {
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	};
};

static void nl_init(struct nl *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->fd = -1;
}

static void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static void msg_start(struct nl_msg *m, uint16_t type, uint8_t cmd, uint8_t version)
{
	struct genlmsghdr *g;

	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_type = type;
	m->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	m->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	g = NLMSG_DATA(&m->nlh);
	g->cmd = cmd;
	g->version = version;
}

static void msg_put(struct nl_msg *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + NLMSG_ALIGN(m->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nlh.nlmsg_len = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void msg_put_u8(struct nl_msg *m, uint16_t type, uint8_t v)
{
	msg_put(m, type, &v, sizeof(v));
}

static void msg_put_u32(struct nl_msg *m, uint16_t type, uint32_t v)
{
	msg_put(m, type, &v, sizeof(v));
}

static void msg_put_u64(struct nl_msg *m, uint16_t type, uint64_t v)
{
	msg_put(m, type, &v, sizeof(v));
}

/* Walk the attributes of a genl message (after the genl header). */
#define for_each_attr(a, start, len)					\
	for (a = (struct nlattr *)(start);				\
	     (char *)a + NLA_HDRLEN <= (char *)(start) + (len) &&	\
	     a->nla_len >= NLA_HDRLEN &&				\
	     (char *)a + a->nla_len <= (char *)(start) + (len);		\
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

/*
 * The keystream a VERIFY's code is sealed with: BLAKE2s-256 keyed with
 * @key over the nonce and the little-endian request id.
 */
static void code_keystream(const uint8_t *key, const uint8_t *nonce, uint64_t id,
			   uint8_t *stream)
{
	uint8_t in[SAFELOCK_NONCE_SIZE + 8];
	int i;

	memcpy(in, nonce, SAFELOCK_NONCE_SIZE);
	for (i = 0; i < 8; i++)
		in[SAFELOCK_NONCE_SIZE + i] = (uint8_t)(id >> (8 * i));
	blake2s(stream, 32, in, sizeof(in), key, SAFELOCK_CODE_KEY_SIZE);
}

/* Open @v's sealed code with @key into @out (NUL-terminated). */
static void code_open(const struct verify_req *v, const uint8_t *key, char *out)
{
	uint8_t stream[32];
	int i;

	code_keystream(key, v->nonce, v->id, stream);
	for (i = 0; i < v->sealed_len && i < 32; i++)
		out[i] = (char)(v->sealed[i] ^ stream[i]);
	out[i] = '\0';
}

static void nl_parse_verify(struct nl *nl, struct nlmsghdr *h)
{
	struct genlmsghdr *g = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	struct verify_req v = { 0 };
	struct nlattr *a;
	void *d;

	if (g->cmd != SAFELOCK_CMD_VERIFY && g->cmd != SAFELOCK_CMD_ENTRY_BEGIN &&
	    g->cmd != SAFELOCK_CMD_ENTRY_USER)
		return;
	if (g->cmd == SAFELOCK_CMD_VERIFY && nl->nstash >= NL_STASH)
		return;
	for_each_attr(a, (char *)g + GENL_HDRLEN, len) {
		int t = a->nla_type & NLA_TYPE_MASK;
		int dl = a->nla_len - NLA_HDRLEN;

		d = (char *)a + NLA_HDRLEN;
		if (t < 32)
			v.seen |= 1U << t;
		switch (t) {
		case SAFELOCK_A_DEVICE:
			if (dl == 4)
				memcpy(&v.device, d, 4);
			break;
		case SAFELOCK_A_USER_ID:
			if (dl == 4)
				memcpy(&v.user_id, d, 4);
			break;
		case SAFELOCK_A_REQUEST_ID:
			if (dl == 8)
				memcpy(&v.id, d, 8);
			break;
		case SAFELOCK_A_DEADLINE_NS:
			if (dl == 8)
				memcpy(&v.deadline_ns, d, 8);
			break;
		case SAFELOCK_A_NONCE:
			if (dl == SAFELOCK_NONCE_SIZE)
				memcpy(v.nonce, d, SAFELOCK_NONCE_SIZE);
			else
				v.seen &= ~(1U << t);
			break;
		case SAFELOCK_A_CODE_SEALED:
			if (dl <= SAFELOCK_CODE_MAX_DIGITS) {
				memcpy(v.sealed, d, dl);
				v.sealed_len = dl;
				v.has_sealed = true;
			}
			break;
		}
	}
	if (v.has_sealed) {
		code_open(&v, nl->code_key, v.code);
		v.code_len = v.sealed_len;
	}
	if (h->nlmsg_len <= sizeof(v.raw)) {
		memcpy(v.raw, h, h->nlmsg_len);
		v.raw_len = h->nlmsg_len;
	}
	if (g->cmd == SAFELOCK_CMD_ENTRY_BEGIN)
		nl->begun[nl->nbegun++ % NL_STASH] = v;
	else if (g->cmd == SAFELOCK_CMD_ENTRY_USER)
		nl->users[nl->nusers++ % NL_STASH] = v;
	else
		nl->stash[nl->nstash++] = v;
}

struct nl_reply {
	uint16_t family_id;	/* CTRL_CMD_GETFAMILY */
	uint64_t attr[64];	/* a safelock reply's u8/u32/u64 attributes */
	uint64_t seen;		/* bitmap of the attributes present */
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE];
	uint32_t holidays[SAFELOCK_HOLIDAYS_MAX];
	int n_holidays;
};

/*
 * Handle one datagram.  Returns 1 when the ACK/error for @seq was seen, with
 * *err and @ext filled; VERIFY requests on the way are stashed.
 */
static int nl_handle(struct nl *nl, char *buf, ssize_t n, uint32_t seq, int *err,
		     char *ext, size_t extlen, struct nl_reply *rep)
{
	struct nlmsghdr *h;
	int done = 0;

	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);
			size_t off = sizeof(*e);
			struct nlattr *a;

			if (h->nlmsg_seq != seq)
				continue;
			*err = e->error;
			done = 1;
			if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || !ext)
				continue;
			if (!(h->nlmsg_flags & NLM_F_CAPPED))
				off += e->msg.nlmsg_len - NLMSG_HDRLEN;
			off = NLMSG_ALIGN(off);
			if (NLMSG_HDRLEN + off > h->nlmsg_len)
				continue;
			for_each_attr(a, (char *)NLMSG_DATA(h) + off,
				      h->nlmsg_len - NLMSG_HDRLEN - off) {
				if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
					snprintf(ext, extlen, "%.*s",
						 (int)(a->nla_len - NLA_HDRLEN),
						 (char *)a + NLA_HDRLEN);
			}
		} else if (h->nlmsg_type == GENL_ID_CTRL && h->nlmsg_seq == seq && rep) {
			struct genlmsghdr *g = NLMSG_DATA(h);
			struct nlattr *a;

			for_each_attr(a, (char *)g + GENL_HDRLEN,
				      (int)(h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN)))
				if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
					memcpy(&rep->family_id, (char *)a + NLA_HDRLEN, 2);
		} else if (nl->family && h->nlmsg_type == nl->family &&
			   h->nlmsg_seq == seq && seq && rep) {
			struct genlmsghdr *g = NLMSG_DATA(h);
			struct nlattr *a;

			for_each_attr(a, (char *)g + GENL_HDRLEN,
				      (int)(h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN))) {
				int t = a->nla_type & NLA_TYPE_MASK;
				int dl = a->nla_len - NLA_HDRLEN;

				if (t >= 64)
					continue;
				rep->seen |= 1ULL << t;
				if (t == SAFELOCK_A_TIME_LOCK_WEEK && dl == (int)sizeof(rep->week))
					memcpy(rep->week, (char *)a + NLA_HDRLEN, dl);
				if (t == SAFELOCK_A_HOLIDAYS && dl <= (int)sizeof(rep->holidays)) {
					memcpy(rep->holidays, (char *)a + NLA_HDRLEN, dl);
					rep->n_holidays = dl / 4;
				}
				if (dl > 8)
					continue;
				rep->attr[t] = 0;
				memcpy(&rep->attr[t], (char *)a + NLA_HDRLEN, dl);
			}
		} else if (nl->family && h->nlmsg_type == nl->family) {
			nl_parse_verify(nl, h);
		}
	}
	return done;
}

/* Receive for up to @ms; returns bytes, 0 on timeout, -errno on error. */
static ssize_t nl_recv(struct nl *nl, char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = nl->fd, .events = POLLIN };
	ssize_t n;
	int ret;

	ret = poll(&p, 1, ms < 0 ? 0 : ms);
	if (ret < 0)
		return -errno;
	if (!ret)
		return 0;
	n = recv(nl->fd, buf, size, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n;
}

/*
 * Send @m and wait for its ACK.  Returns 0 or -errno; @ext gets the extack
 * message ("" when there is none).
 */
static int nl_transact(struct nl *nl, struct nl_msg *m, char *ext, size_t extlen,
		       struct nl_reply *rep)
{
	static char buf[32768];
	uint64_t end = now_ms() + 5000;
	int err = -ETIMEDOUT;
	ssize_t n;

	if (ext && extlen)
		ext[0] = '\0';
	m->nlh.nlmsg_seq = ++nl->seq;
	if (send(nl->fd, m, m->nlh.nlmsg_len, 0) < 0)
		return -errno;
	while (now_ms() < end) {
		n = nl_recv(nl, buf, sizeof(buf), (int)(end - now_ms()));
		if (n < 0)
			return n;
		if (n && nl_handle(nl, buf, n, m->nlh.nlmsg_seq, &err, ext, extlen, rep))
			return err;
	}
	return -ETIMEDOUT;
}

/*
 * Open a genl socket bound to port id @pid (0: the kernel picks one) and
 * resolve "safelock". Returns 0 or -errno.
 */
static int nl_open_as(struct nl *nl, uint32_t pid)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = pid };
	struct nl_reply rep = { 0 };
	struct nl_msg m;
	char ext[256];
	int one = 1, ret;

	nl_init(nl);
	random_bytes(nl->code_key, sizeof(nl->code_key));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		ret = -errno;
		nl_close(nl);
		return ret;
	}
	msg_start(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	msg_put(&m, CTRL_ATTR_FAMILY_NAME, SAFELOCK_GENL_NAME, sizeof(SAFELOCK_GENL_NAME));
	ret = nl_transact(nl, &m, ext, sizeof(ext), &rep);
	if (!ret && !rep.family_id)
		ret = -ENOENT;
	if (ret) {
		nl_close(nl);
		return ret;
	}
	nl->family = rep.family_id;
	return 0;
}

static int nl_open(struct nl *nl)
{
	return nl_open_as(nl, 0);
}

/* The port id the kernel gave the socket. */
static uint32_t nl_portid(struct nl *nl)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	if (getsockname(nl->fd, (struct sockaddr *)&sa, &len))
		return 0;
	return sa.nl_pid;
}

/* Register; @hash (SAFELOCK_CODE_KEY_SIZE bytes) is sent if not NULL. */
static int nl_register_hash(struct nl *nl, int provisioned, const uint8_t *hash, char *ext,
			    size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_VERIFIER_REGISTER, SAFELOCK_GENL_VERSION);
	if (provisioned >= 0)
		msg_put_u8(&m, SAFELOCK_A_PROVISIONED, provisioned);
	if (hash)
		msg_put(&m, SAFELOCK_A_CODE_KEY_HASH, hash, SAFELOCK_CODE_KEY_SIZE);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

/* SAFELOCK_IOC_SET_CODE_KEY with @key on @fd: 0 or -errno. */
static int set_code_key(int fd, const uint8_t *key)
{
	struct safelock_code_key ck = { 0 };

	memcpy(ck.key, key, sizeof(ck.key));
	return ioctl(fd, SAFELOCK_IOC_SET_CODE_KEY, &ck) ? -errno : 0;
}

/* Give @nl's code key through the first /dev/safelockN that opens. */
static int nl_give_key(struct nl *nl)
{
	char path[32];
	int i, fd, ret = -ENODEV;

	for (i = 0; i < 16 && ret == -ENODEV; i++) {
		snprintf(path, sizeof(path), "/dev/safelock%d", i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ret = set_code_key(fd, nl->code_key);
		close(fd);
	}
	return ret;
}

/*
 * Register as the verifier the way safelockd does: with the hash of the
 * socket's code key, then the key itself through the character device.
 */
static int nl_register(struct nl *nl, int provisioned, char *ext, size_t extlen)
{
	uint8_t hash[SAFELOCK_CODE_KEY_SIZE];
	int ret;

	blake2s(hash, sizeof(hash), nl->code_key, sizeof(nl->code_key), NULL, 0);
	ret = nl_register_hash(nl, provisioned, hash, ext, extlen);
	if (ret)
		return ret;
	ret = nl_give_key(nl);
	if (ret && ext)
		snprintf(ext, extlen, "SAFELOCK_IOC_SET_CODE_KEY: %s", strerror(-ret));
	return ret;
}

/* Set the policy attributes given as non-negative values. */
static int nl_policy_set(struct nl *nl, uint32_t device, long delay, long window, int dual,
			 long dual_window, char *ext, size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_POLICY_SET, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	if (delay >= 0)
		msg_put_u32(&m, SAFELOCK_A_TIME_DELAY_S, delay);
	if (window >= 0)
		msg_put_u32(&m, SAFELOCK_A_OPEN_WINDOW_S, window);
	if (dual >= 0)
		msg_put_u8(&m, SAFELOCK_A_DUAL_CONTROL, dual);
	if (dual_window >= 0)
		msg_put_u32(&m, SAFELOCK_A_DUAL_WINDOW_S, dual_window);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

/* Set one u32 policy attribute. */
static int nl_policy_u32(struct nl *nl, uint32_t device, uint16_t attr, uint32_t value,
			 char *ext, size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_POLICY_SET, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	msg_put_u32(&m, attr, value);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

static int nl_policy_get(struct nl *nl, uint32_t device, struct nl_reply *rep)
{
	struct nl_msg m;

	memset(rep, 0, sizeof(*rep));
	msg_start(&m, nl->family, SAFELOCK_CMD_POLICY_GET, SAFELOCK_GENL_VERSION);
	m.nlh.nlmsg_flags |= NLM_F_ACK;
	msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	return nl_transact(nl, &m, NULL, 0, rep);
}

static int nl_status(struct nl *nl, uint32_t device, struct nl_reply *rep)
{
	struct nl_msg m;

	memset(rep, 0, sizeof(*rep));
	msg_start(&m, nl->family, SAFELOCK_CMD_STATUS_GET, SAFELOCK_GENL_VERSION);
	m.nlh.nlmsg_flags |= NLM_F_ACK;
	msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	return nl_transact(nl, &m, NULL, 0, rep);
}

static int nl_duress_alarm(struct nl *nl, uint32_t device, uint32_t user, char *ext,
			   size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_DURESS_ALARM, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	msg_put_u32(&m, SAFELOCK_A_USER_ID, user);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

/* A verdict; @retry_after_ms and @duress are sent only when non-zero. */
static int nl_verdict_ex(struct nl *nl, uint32_t device, uint64_t id, const uint8_t *nonce,
			 uint32_t result, uint32_t retry_after_ms, uint8_t duress,
			 char *ext, size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_VERDICT, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	msg_put_u64(&m, SAFELOCK_A_REQUEST_ID, id);
	msg_put(&m, SAFELOCK_A_NONCE, nonce, SAFELOCK_NONCE_SIZE);
	msg_put_u32(&m, SAFELOCK_A_RESULT, result);
	if (retry_after_ms)
		msg_put_u32(&m, SAFELOCK_A_RETRY_AFTER_MS, retry_after_ms);
	if (duress)
		msg_put_u8(&m, SAFELOCK_A_DURESS, duress);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

static int nl_verdict_retry(struct nl *nl, uint32_t device, uint64_t id, const uint8_t *nonce,
			    uint32_t result, uint32_t retry_after_ms, char *ext, size_t extlen)
{
	return nl_verdict_ex(nl, device, id, nonce, result, retry_after_ms, 0, ext, extlen);
}

static int nl_verdict(struct nl *nl, uint32_t device, uint64_t id, const uint8_t *nonce,
		      uint32_t result, char *ext, size_t extlen)
{
	return nl_verdict_retry(nl, device, id, nonce, result, 0, ext, extlen);
}

/* Wait up to @ms for a VERIFY request. Returns 0 or -ETIMEDOUT/-errno. */
static int nl_wait_verify(struct nl *nl, struct verify_req *v, int ms)
{
	static char buf[32768];
	uint64_t end = now_ms() + ms;
	int err;
	ssize_t n;

	for (;;) {
		if (nl->nstash) {
			*v = nl->stash[0];
			memmove(nl->stash, nl->stash + 1, --nl->nstash * sizeof(*v));
			return 0;
		}
		if (now_ms() >= end)
			return -ETIMEDOUT;
		n = nl_recv(nl, buf, sizeof(buf), (int)(end - now_ms()));
		if (n < 0)
			return n;
		if (n)
			nl_handle(nl, buf, n, 0, &err, NULL, 0, NULL);
	}
}

/* ------------------------------------------------------------------ */
/* The simulated board                                                 */

struct board {
	char label[64];
	char cfg[128];		/* configfs dir of the gpio-sim chip */
	char lines[384];	/* /sys/devices/platform/<dev>/<chip> */
	bool sim_dir, sim_bank, sim_live;
	int uinput;
	bool testboard;
	const char *dt_board;	/* DT mode: which board ("board", "tpm") */
	char pdev[64];		/* DT mode: its platform device */
	bool dt_bound;
	const char *dt_bank;	/* DT mode: whose bank and keypad, if not dt_board's */
	unsigned int relock_ms, verify_ms, entry_ms;	/* what the lock was given */
	bool motor, sensor;	/* the bolt: a motor (else a solenoid); a sensor */
	unsigned int drive_ms, confirm_ms, retries;	/* and its timing */
	bool bolt_params;	/* pass the bolt's timing to the test board */
	char extra[128];	/* more test-board parameters */
	int fd;			/* /dev/safelockN */
	char node[64];
	unsigned int index;
	uint64_t last_seq;	/* of the last event read */
	bool seq_gap;		/* a read event did not follow the previous one */
	char err[1024];
};

static void board_init(struct board *b)
{
	memset(b, 0, sizeof(*b));
	b->uinput = -1;
	b->fd = -1;
	/* The driver's defaults, unless a fixture says otherwise. */
	b->drive_ms = 300;
	b->confirm_ms = 1000;
	b->retries = 2;
}

static int uinput_create(struct board *b)
{
	static const int keys[] = {
		KEY_0, KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9,
		KEY_ENTER, KEY_ESC,
	};
	struct uinput_setup us = {
		.id = { .bustype = BUS_VIRTUAL, .vendor = 0x5afe, .product = 0x10c, .version = 1 },
	};
	unsigned int i;

	b->uinput = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (b->uinput < 0)
		return -errno;
	strcpy(us.name, KEYPAD_NAME);
	if (ioctl(b->uinput, UI_SET_EVBIT, EV_KEY) < 0)
		return -errno;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ioctl(b->uinput, UI_SET_KEYBIT, keys[i]) < 0)
			return -errno;
	if (ioctl(b->uinput, UI_DEV_SETUP, &us) < 0 || ioctl(b->uinput, UI_DEV_CREATE) < 0)
		return -errno;
	return 0;
}

static int emit(int fd, int type, int code, int value)
{
	struct input_event ie = { .type = type, .code = code, .value = value };

	return write(fd, &ie, sizeof(ie)) == sizeof(ie) ? 0 : -errno;
}

/* DT mode: the keypad line of a key code. */
static int dt_key_line(int code)
{
	if (code == KEY_0)
		return DT_KEY_LINE0;
	if (code >= KEY_1 && code <= KEY_9)
		return DT_KEY_LINE0 + 1 + (code - KEY_1);
	if (code == KEY_ENTER)
		return DT_KEY_LINE0 + 10;
	if (code == KEY_ESC)
		return DT_KEY_LINE0 + 11;
	return -1;
}

static int dt_set_line(struct board *b, int line, bool high)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sim_gpio%d/pull", b->lines, line);
	return write_str(path, high ? "pull-up" : "pull-down");
}

/*
 * DT mode: press and release a key on the gpio-keys keypad.  gpio-keys reads
 * the line when its debounce timer fires, so the key stays down, and then
 * up, well beyond the DT's 1 ms debounce-interval.
 */
static int dt_press(struct board *b, int code)
{
	int line = dt_key_line(code), ret;

	if (line < 0)
		return -EINVAL;
	ret = dt_set_line(b, line, true);
	usleep(DT_KEY_HOLD_US);
	if (!ret)
		ret = dt_set_line(b, line, false);
	usleep(DT_KEY_HOLD_US);
	return ret;
}

/* Type @keys: digits, 'E' for ENTER, 'C' for ESC (clear). */
static int type_keys(struct board *b, const char *keys)
{
	const char *k;
	int code, ret;

	for (k = keys; *k; k++) {
		if (*k == '0')
			code = KEY_0;
		else if (*k >= '1' && *k <= '9')
			code = KEY_1 + (*k - '1');
		else if (*k == 'E')
			code = KEY_ENTER;
		else if (*k == 'C')
			code = KEY_ESC;
		else
			return -EINVAL;
		if (b->dt_board) {
			ret = dt_press(b, code);
			if (ret)
				return ret;
			continue;
		}
		ret = emit(b->uinput, EV_KEY, code, 1);
		if (!ret)
			ret = emit(b->uinput, EV_SYN, SYN_REPORT, 0);
		if (!ret)
			ret = emit(b->uinput, EV_KEY, code, 0);
		if (!ret)
			ret = emit(b->uinput, EV_SYN, SYN_REPORT, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int type_entry(struct board *b, unsigned int user, const char *code)
{
	char keys[64];

	snprintf(keys, sizeof(keys), "%03u%sE", user, code);
	return type_keys(b, keys);
}

static int gpio_sim_create(struct board *b)
{
	static int serial;
	char path[512], dev[128], chip[128];
	int ret;

	snprintf(b->label, sizeof(b->label), "slt-%d-%d", getpid(), serial++);
	snprintf(b->cfg, sizeof(b->cfg), GPIO_SIM_DIR "/%s", b->label);
	if (mkdir(b->cfg, 0755))
		return -errno;
	b->sim_dir = true;
	snprintf(path, sizeof(path), "%s/bank0", b->cfg);
	if (mkdir(path, 0755))
		return -errno;
	b->sim_bank = true;
	snprintf(path, sizeof(path), "%s/bank0/num_lines", b->cfg);
	ret = write_str(path, "27");	/* lines 0-3, 16-20 as on the DT board; LEDs 21-26 */
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/bank0/label", b->cfg);
	ret = write_str(path, b->label);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/live", b->cfg);
	ret = write_str(path, "1");
	if (ret)
		return ret;
	b->sim_live = true;
	snprintf(path, sizeof(path), "%s/dev_name", b->cfg);
	ret = read_str(path, dev, sizeof(dev));
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/bank0/chip_name", b->cfg);
	ret = read_str(path, chip, sizeof(chip));
	if (ret)
		return ret;
	snprintf(b->lines, sizeof(b->lines), "/sys/devices/platform/%s/%s", dev, chip);
	snprintf(path, sizeof(path), "%s/sim_gpio0/value", b->lines);
	return exists(path) ? 0 : -ENOENT;
}

static void gpio_sim_destroy(struct board *b)
{
	char path[512];

	if (b->sim_live) {
		snprintf(path, sizeof(path), "%s/live", b->cfg);
		write_str(path, "0");
		b->sim_live = false;
	}
	if (b->sim_bank) {
		snprintf(path, sizeof(path), "%s/bank0", b->cfg);
		rmdir(path);
		b->sim_bank = false;
	}
	if (b->sim_dir) {
		rmdir(b->cfg);
		b->sim_dir = false;
	}
}

/* The bolt line: 1 retracted (open), 0 thrown, -1 unreadable. */
static int bolt(struct board *b)
{
	char path[512], v[16];

	snprintf(path, sizeof(path), "%s/sim_gpio0/value", b->lines);
	if (read_str(path, v, sizeof(v)))
		return -1;
	return v[0] == '1';
}

static int set_door(struct board *b, bool open)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sim_gpio1/pull", b->lines);
	return write_str(path, open ? "pull-up" : "pull-down");
}

/* Line @n of the board's bank: its value (outputs), or drive it (inputs). */
static int line_value(struct board *b, int n)
{
	char path[512], v[16];

	snprintf(path, sizeof(path), "%s/sim_gpio%d/value", b->lines, n);
	if (read_str(path, v, sizeof(v)))
		return -1;
	return v[0] == '1';
}

static int set_line(struct board *b, int n, bool active)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sim_gpio%d/pull", b->lines, n);
	return write_str(path, active ? "pull-up" : "pull-down");
}

#define TAMPER_LINE	2
#define ALARM_LINE	3
#define BATTERY_LINE	16
#define FEEDBACK_LINE	17
#define SENSOR_LINE	18	/* bolt sensor: high = bolt retracted */
#define MOTOR_OPEN_LINE	19
#define MOTOR_CLOSE_LINE 20

/* The bolt sensor reports the bolt retracted (@open) or thrown. */
static int set_sensor(struct board *b, bool open)
{
	return set_line(b, SENSOR_LINE, open);
}

/*
 * What the actuator does now: 1 solenoid raised or motor driving towards
 * retracted, -1 motor driving towards thrown, 0 solenoid down or motor
 * stopped, 2 both motor lines up (never allowed), -3 unreadable.
 */
static int drive(struct board *b)
{
	int o, c;

	if (!b->motor)
		return bolt(b) < 0 ? -3 : bolt(b);
	o = line_value(b, MOTOR_OPEN_LINE);
	c = line_value(b, MOTOR_CLOSE_LINE);
	if (o < 0 || c < 0)
		return -3;
	if (o && c)
		return 2;
	return o ? 1 : c ? -1 : 0;
}

static volatile sig_atomic_t watch_stop;

static void watch_stop_handler(int sig)
{
	(void)sig;
	watch_stop = 1;
}

#define SAW_OPEN	1
#define SAW_CLOSE	2
#define SAW_BOTH	4

/*
 * A child that watches the motor lines until motor_watch_end(): its exit
 * status has SAW_OPEN, SAW_CLOSE for each direction it saw driven, SAW_BOTH
 * if it saw both lines up at once (open, close, open read in a row: only a
 * real overlap, not a reversal between two reads, shows up in all three).
 */
static pid_t motor_watch_start(struct board *b)
{
	struct sigaction sa = { .sa_handler = watch_stop_handler };
	sigset_t block, old;
	uint64_t end;
	int seen = 0, o, c, o2;
	pid_t pid;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return pid;
	}
	sigaction(SIGUSR1, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (end = now_ms() + 120000; !watch_stop && now_ms() < end;) {
		o = line_value(b, MOTOR_OPEN_LINE);
		c = line_value(b, MOTOR_CLOSE_LINE);
		o2 = line_value(b, MOTOR_OPEN_LINE);
		if (o == 1)
			seen |= SAW_OPEN;
		if (c == 1)
			seen |= SAW_CLOSE;
		if (o == 1 && c == 1 && o2 == 1)
			seen |= SAW_BOTH;
	}
	_exit(seen);
}

/* Stop the watcher; what it saw, or -1. */
static int motor_watch_end(pid_t pid)
{
	int status;

	if (pid <= 0)
		return -1;
	kill(pid, SIGUSR1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int get_status(struct board *b, struct safelock_status *st)
{
	memset(st, 0xa5, sizeof(*st));
	return ioctl(b->fd, SAFELOCK_IOC_GET_STATE, st) ? -errno : 0;
}

/* The state, or -1 if it cannot be read. */
static int state(struct board *b)
{
	struct safelock_status st;

	return get_status(b, &st) ? -1 : (int)st.state;
}

static unsigned int flags(struct board *b)
{
	struct safelock_status st;

	return get_status(b, &st) ? 0 : st.flags;
}

static int board_unload(struct board *b)
{
	int ret = 0;

	if (b->testboard) {
		ret = unload_module(TESTBOARD);
		b->testboard = false;
	}
	if (b->dt_bound) {
		ret = write_str(DT_DRIVER_DIR "/unbind", b->pdev);
		b->dt_bound = false;
	}
	return ret;
}

/* DT mode: door closed, no key down. */
static void dt_lines_idle(struct board *b)
{
	int i;

	if (!b->lines[0])
		return;
	dt_set_line(b, 1, false);
	dt_set_line(b, 18, false);	/* bolt sensor: thrown */
	for (i = 0; i < DT_KEY_LINES; i++)
		dt_set_line(b, DT_KEY_LINE0 + i, false);
}

static void board_down(struct board *b)
{
	if (b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	}
	board_unload(b);
	if (b->dt_board)
		dt_lines_idle(b);
	if (b->uinput >= 0) {
		ioctl(b->uinput, UI_DEV_DESTROY);
		close(b->uinput);
		b->uinput = -1;
	}
	gpio_sim_destroy(b);
}

static int board_open(struct board *b);
static int dt_find_node(struct board *b);
static int dt_board_up(struct board *b);

/* Root, and safelock.ko loaded: 0, or KSFT_SKIP or -1 with b->err set. */
static int board_prereq(struct board *b)
{
	int ret;

	if (geteuid() != 0) {
		snprintf(b->err, sizeof(b->err), "needs root");
		return KSFT_SKIP;
	}
	if (!exists("/sys/module/safelock")) {
		ret = load_module("safelock.ko", "");
		if (ret && ret != -EEXIST) {
			snprintf(b->err, sizeof(b->err), "cannot load %s/safelock.ko: %s",
				 moddir(), strerror(-ret));
			return ret == -ENOENT ? KSFT_SKIP : -1;
		}
	}
	return 0;
}

/*
 * The test board on a fresh gpio-sim bank and uinput keypad (not in DT
 * mode).  Returns 0 once the test board is loaded, whether or not the
 * driver took it; KSFT_SKIP or -1 with b->err set, everything undone.
 */
/* The test board module's parameters for @b. */
static void board_params(const struct board *b, unsigned int relock_ms, unsigned int verify_ms,
			 unsigned int entry_ms, char *params, size_t len)
{
	snprintf(params, len,
		 "chip=%s relock_ms=%u verify_timeout_ms=%u entry_timeout_ms=%u leds=0%s%s %s",
		 b->label, relock_ms, verify_ms, entry_ms,
		 b->motor ? " bolt=motor" : "", b->sensor ? " bolt_sensor=1" : "", b->extra);
	if (b->bolt_params)
		snprintf(params + strlen(params), len - strlen(params),
			 " bolt_drive_ms=%u bolt_confirm_ms=%u bolt_retries=%u",
			 b->drive_ms, b->confirm_ms, b->retries);
}

static int board_load(struct board *b, unsigned int relock_ms, unsigned int verify_ms,
		      unsigned int entry_ms)
{
	char params[512];
	int ret;

	if (!exists(GPIO_SIM_DIR)) {
		snprintf(b->err, sizeof(b->err), "no %s (CONFIG_GPIO_SIM, configfs)", GPIO_SIM_DIR);
		return KSFT_SKIP;
	}
	if (!exists("/dev/uinput")) {
		snprintf(b->err, sizeof(b->err), "no /dev/uinput (CONFIG_INPUT_UINPUT)");
		return KSFT_SKIP;
	}
	/* A board left over by a crashed run would take our lines' place. */
	if (exists("/sys/module/" TESTBOARD))
		unload_module(TESTBOARD);

	ret = uinput_create(b);
	if (ret) {
		snprintf(b->err, sizeof(b->err), "uinput keypad: %s", strerror(-ret));
		goto fail;
	}
	ret = gpio_sim_create(b);
	if (ret) {
		snprintf(b->err, sizeof(b->err), "gpio-sim chip %s: %s", b->cfg, strerror(-ret));
		goto fail;
	}
	board_params(b, relock_ms, verify_ms, entry_ms, params, sizeof(params));
	ret = load_module(TESTBOARD ".ko", params);
	if (ret) {
		snprintf(b->err, sizeof(b->err), "cannot load %s/%s.ko: %s",
			 moddir(), TESTBOARD, strerror(-ret));
		board_down(b);
		return ret == -ENOENT ? KSFT_SKIP : -1;
	}
	b->testboard = true;
	b->relock_ms = relock_ms;
	b->verify_ms = verify_ms;
	b->entry_ms = entry_ms;
	return 0;
fail:
	board_down(b);
	return -1;
}

/*
 * Bring a board up.  Returns 0; KSFT_SKIP with b->err set if a prerequisite
 * is missing; -1 with b->err set on failure.  On error everything is undone.
 * In DT mode the timings are the device tree's, not the arguments.
 */
static int board_up(struct board *b, unsigned int relock_ms, unsigned int verify_ms,
		    unsigned int entry_ms)
{
	int ret;

	ret = board_prereq(b);
	if (ret)
		return ret;
	if (b->dt_board)
		return dt_board_up(b);
	ret = board_load(b, relock_ms, verify_ms, entry_ms);
	if (ret)
		return ret;
	snprintf(b->node, sizeof(b->node), "/dev/safelock0");
	return board_open(b);
}

/* The bound lock's /dev node is open: check it and wait for the keypad. */
static int board_open(struct board *b)
{
	struct safelock_info info;

	if (!wait_for((b->fd = open(b->node, O_RDWR | O_CLOEXEC)) >= 0, 5000)) {
		snprintf(b->err, sizeof(b->err), "%s did not appear: %s", b->node, strerror(errno));
		goto fail;
	}
	if (ioctl(b->fd, SAFELOCK_IOC_GET_INFO, &info)) {
		snprintf(b->err, sizeof(b->err), "GET_INFO: %s", strerror(errno));
		goto fail;
	}
	b->index = info.index;
	if (!wait_for(flags(b) & SAFELOCK_STATUS_KEYPAD, 5000)) {
		snprintf(b->err, sizeof(b->err), "the driver did not take the keypad");
		goto fail;
	}
	return 0;
fail:
	board_down(b);
	return -1;
}

/*
 * Unbind the lock and bind it again, as a module reload or a driver
 * rebind does, on the same lines and keypad: 0, or -1 with b->err set.
 */
static int board_rebind(struct board *b)
{
	char params[512];
	int ret;

	if (b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	}
	ret = board_unload(b);
	if (ret) {
		snprintf(b->err, sizeof(b->err), "unbind: %s", strerror(-ret));
		return -1;
	}
	if (b->dt_board) {
		ret = write_str(DT_DRIVER_DIR "/bind", b->pdev);
		if (ret) {
			snprintf(b->err, sizeof(b->err), "bind %s: %s", b->pdev, strerror(-ret));
			return -1;
		}
		b->dt_bound = true;
		if (!wait_for(dt_find_node(b) == 0, 5000)) {
			snprintf(b->err, sizeof(b->err), "%s has no safelock device", b->pdev);
			return -1;
		}
	} else {
		board_params(b, b->relock_ms, b->verify_ms, b->entry_ms, params, sizeof(params));
		ret = load_module(TESTBOARD ".ko", params);
		if (ret) {
			snprintf(b->err, sizeof(b->err), "load %s again: %s", TESTBOARD, strerror(-ret));
			return -1;
		}
		b->testboard = true;
	}
	return board_open(b);
}

/* DT mode: a u32 property of the lock's node; @def if it has none. */
static unsigned int dt_u32(struct board *b, const char *prop, unsigned int def)
{
	char path[512];
	unsigned char v[4];
	int fd, n;

	snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s/of_node/%s", b->pdev, prop);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return def;
	n = read(fd, v, sizeof(v));
	close(fd);
	if (n != 4)
		return def;
	return (unsigned int)v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
}

/* DT mode: the sysfs directory of the gpio-sim bank labelled @label. */
static int dt_find_chip(struct board *b, const char *label)
{
	struct gpiochip_info ci;
	struct dirent *de;
	char path[512];
	int fd, found = 0;
	DIR *d;

	d = opendir("/dev");
	if (!d)
		return -errno;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "gpiochip", 8))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&ci, 0, sizeof(ci));
		if (!ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &ci) && !strcmp(ci.label, label)) {
			snprintf(b->lines, sizeof(b->lines), "/sys/bus/gpio/devices/%s", ci.name);
			found = 1;
		}
		close(fd);
	}
	closedir(d);
	if (!found)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/sim_gpio%d/pull", b->lines, DT_KEY_LINE0 + DT_KEY_LINES - 1);
	return exists(path) ? 0 : -ENODEV;
}

/* DT mode: unbind every lock but ours (the boards share the verifier). */
static void dt_unbind_others(void)
{
	struct dirent *de;
	char path[512];
	struct stat st;
	DIR *d;

	d = opendir(DT_DRIVER_DIR);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "module"))
			continue;
		snprintf(path, sizeof(path), DT_DRIVER_DIR "/%s", de->d_name);
		if (lstat(path, &st) || !S_ISLNK(st.st_mode))
			continue;
		write_str(DT_DRIVER_DIR "/unbind", de->d_name);
	}
	closedir(d);
}

/* DT mode: the N of /dev/safelockN of our bound lock. */
static int dt_find_node(struct board *b)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s/safelock", b->pdev);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "safelock", 8) && strlen(de->d_name) < 32) {
			snprintf(b->node, sizeof(b->node), "/dev/%.32s", de->d_name);
			ret = 0;
			break;
		}
	closedir(d);
	return ret;
}

/*
 * DT mode: the board is in the device tree.  Find its lines, put them at
 * rest, bind the driver to its node alone and open its /dev node.
 */
static int dt_board_up(struct board *b)
{
	char path[512], label[64];
	int ret;

	snprintf(b->pdev, sizeof(b->pdev), "safelock-%s", b->dt_board);
	snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s", b->pdev);
	if (!exists(path)) {
		snprintf(b->err, sizeof(b->err),
			 "SAFELOCK_BOARD=dt but no %s node in the device tree "
			 "(scripts/arm64/safelock-virt.dtso)", b->pdev);
		return KSFT_SKIP;
	}
	snprintf(label, sizeof(label), "safelock-%s", b->dt_bank ? b->dt_bank : b->dt_board);
	ret = dt_find_chip(b, label);
	if (ret) {
		snprintf(b->err, sizeof(b->err), "gpio-sim bank %s with %d lines: %s", label,
			 DT_KEY_LINE0 + DT_KEY_LINES, strerror(-ret));
		b->lines[0] = '\0';
		return -1;
	}
	dt_unbind_others();
	dt_lines_idle(b);
	b->relock_ms = dt_u32(b, "relock-ms", 5000);
	b->verify_ms = dt_u32(b, "verify-timeout-ms", 10000);
	b->entry_ms = dt_u32(b, "entry-timeout-ms", 15000);
	b->drive_ms = dt_u32(b, "bolt-drive-ms", 300);
	b->confirm_ms = dt_u32(b, "bolt-confirm-ms", b->drive_ms > 1000 ? b->drive_ms : 1000);
	b->retries = dt_u32(b, "bolt-retries", 2);
	snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s/of_node/bolt-motor-gpios", b->pdev);
	b->motor = exists(path);
	snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s/of_node/bolt-sensor-gpios", b->pdev);
	b->sensor = exists(path);

	ret = write_str(DT_DRIVER_DIR "/bind", b->pdev);
	if (ret) {
		snprintf(b->err, sizeof(b->err), "bind %s: %s", b->pdev, strerror(-ret));
		goto fail;
	}
	b->dt_bound = true;
	if (!wait_for(dt_find_node(b) == 0, 5000)) {
		snprintf(b->err, sizeof(b->err), "%s has no safelock device", b->pdev);
		goto fail;
	}
	return board_open(b);
fail:
	board_down(b);
	return -1;
}

/*
 * Read the next event within @ms.  Returns 0, -ETIMEDOUT, or -errno.
 * Tracks sequence numbers: any hole sets b->seq_gap.
 */
static int read_event(struct board *b, struct safelock_event *ev, int ms)
{
	struct pollfd p = { .fd = b->fd, .events = POLLIN };
	uint64_t end = now_ms() + ms;
	ssize_t n;
	int ret;

	for (;;) {
		ret = poll(&p, 1, (int)(end > now_ms() ? end - now_ms() : 0));
		if (ret < 0)
			return -errno;
		if (!ret)
			return -ETIMEDOUT;
		if (p.revents & (POLLERR | POLLHUP))
			return -ENODEV;
		n = read(b->fd, ev, sizeof(*ev));
		if (n < 0)
			return -errno;
		if (n != sizeof(*ev))
			return -EIO;
		if (b->last_seq && ev->seq != b->last_seq + 1)
			b->seq_gap = true;
		b->last_seq = ev->seq;
		return 0;
	}
}

/*
 * Skip to the next event of @type (and @st if >= 0) within @ms.
 * Returns 0 or -ETIMEDOUT/-errno.
 */
static int next_event(struct board *b, uint32_t type, int st, struct safelock_event *ev, int ms)
{
	uint64_t end = now_ms() + ms;
	int ret;

	for (;;) {
		ret = read_event(b, ev, (int)(end > now_ms() ? end - now_ms() : 0));
		if (ret)
			return ret;
		if (ev->type == type && (st < 0 || ev->state == (uint32_t)st))
			return 0;
	}
}

static const char *result_name(uint32_t r)
{
	static const char * const names[] = {
		"NONE", "GRANTED", "DENIED", "NO_VERIFIER", "TIMEOUT", "MALFORMED", "CANCELLED",
	};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ------------------------------------------------------------------ */
/* Fixture: a board with the fake verifier                             */

FIXTURE(board) {
	struct board b;
	struct nl v, v2;
	bool up;
	bool clock_saved;		/* a test set CLOCK_REALTIME: put it back */
	struct timespec real0, boot0;
};

static void restore_clock(FIXTURE_DATA(board) *self);

FIXTURE_SETUP(board)
{
	int ret;

	board_init(&self->b);
	if (dt_mode())
		self->b.dt_board = "board";
	nl_init(&self->v);
	nl_init(&self->v2);
	ret = board_up(&self->b, RELOCK_MS, VERIFY_TIMEOUT_MS, ENTRY_TIMEOUT_MS);
	if (ret == KSFT_SKIP)
		SKIP(return, "%s", self->b.err);
	ASSERT_EQ(0, ret) TH_LOG("board setup: %s", self->b.err);
	self->up = true;
}

FIXTURE_TEARDOWN(board)
{
	restore_clock(self);
	nl_close(&self->v);
	nl_close(&self->v2);
	board_down(&self->b);
}

/* On 6.1 a SKIP in setup still runs the body: stop it there. */
#define NEED_BOARD() do { if (!self->up) return; } while (0)

/*
 * Register the fake verifier as provisioned, wait for LOCKED, and set the
 * policy (none of its attributes: the lock's own), without which the lock
 * takes no entry.
 */
#define REGISTER_VERIFIER() do {						\
	char __ext[256];							\
	int __ret = nl_open(&self->v);						\
	ASSERT_EQ(0, __ret) TH_LOG("resolve family: %s", strerror(-__ret));	\
	__ret = nl_register(&self->v, 1, __ext, sizeof(__ext));		\
	ASSERT_EQ(0, __ret) TH_LOG("register: %s (%s)", strerror(-__ret), __ext); \
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000))	\
		TH_LOG("state %d, not LOCKED after registering", state(&self->b)); \
	__ret = nl_policy_set(&self->v, self->b.index, -1, -1, -1, -1,		\
			      __ext, sizeof(__ext));				\
	ASSERT_EQ(0, __ret) TH_LOG("policy: %s (%s)", strerror(-__ret), __ext);	\
	ASSERT_TRUE(flags(&self->b) & SAFELOCK_STATUS_POLICY);			\
} while (0)

/* Type "001" + a fresh code and receive the VERIFY for it. */
#define ENTER_AND_VERIFY(code, vreq) do {					\
	int __ret;								\
	random_code(code, NULL);						\
	ASSERT_EQ(0, type_entry(&self->b, 1, code));				\
	__ret = nl_wait_verify(&self->v, vreq, 5000);				\
	ASSERT_EQ(0, __ret) TH_LOG("no VERIFY: %s", strerror(-__ret));		\
} while (0)

TEST_F(board, unprovisioned)
{
	struct safelock_status st;
	struct safelock_event ev;
	char code[16];

	NEED_BOARD();
	ASSERT_EQ(0, get_status(&self->b, &st));
	ASSERT_FALSE(st.flags & SAFELOCK_STATUS_VERIFIER)
		TH_LOG("a verifier is registered (a safelockd running?)");
	ASSERT_EQ(SAFELOCK_STATE_UNPROVISIONED, st.state);
	ASSERT_EQ(0, bolt(&self->b));

	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(EPERM, errno);

	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	/* Nothing may happen: no event, no state change, bolt thrown. */
	EXPECT_EQ(-ETIMEDOUT, read_event(&self->b, &ev, 500))
		TH_LOG("unexpected event type %u result %s", ev.type, result_name(ev.result));
	EXPECT_EQ(SAFELOCK_STATE_UNPROVISIONED, state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_FALSE(st.flags & SAFELOCK_STATUS_BOLT_OPEN);
}

/*
 * A factory wipe: the registered verifier says its vault has no owner any
 * more. The lock is UNPROVISIONED again and its bolt stays where it is; a
 * registration that does not say (no PROVISIONED) changes nothing.
 */
TEST_F(board, unprovisioned_again)
{
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
				SAFELOCK_RESULT_GRANTED, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_UNLOCKED, 3000));
	ASSERT_EQ(1, bolt(&self->b));

	EXPECT_EQ(0, nl_register(&self->v, -1, ext, sizeof(ext))) TH_LOG("%s", ext);
	usleep(200000);
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));

	/* A wipe needs the door open: with it shut the lock keeps its owner. */
	EXPECT_EQ(-EBUSY, nl_register(&self->v, 0, ext, sizeof(ext)));
	EXPECT_STREQ("the door is not open: a provisioned lock is never made new with its door shut",
		     ext);
	usleep(200000);
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));

	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000));
	EXPECT_EQ(0, nl_register(&self->v, 0, ext, sizeof(ext))) TH_LOG("%s", ext);
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_UNPROVISIONED, 2000))
		TH_LOG("state %d after PROVISIONED=0", state(&self->b));
	EXPECT_EQ(1, bolt(&self->b)) TH_LOG("the bolt moved on an unprovisioning");
	usleep((self->b.relock_ms + 300) * 1000);	/* its relock was dropped */
	EXPECT_EQ(1, bolt(&self->b));
	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(EPERM, errno);

	/* A new owner: secured again. */
	EXPECT_EQ(0, nl_register(&self->v, 1, ext, sizeof(ext))) TH_LOG("%s", ext);
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000))
		TH_LOG("state %d after PROVISIONED=1", state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
	ASSERT_EQ(0, set_door(&self->b, false));
}

/*
 * The policy must land before anything counts: a verifier that registered
 * but could not set the policy gets no VERIFY, and its grant could not
 * open under the lock's defaults.  A new registration starts over.
 */
TEST_F(board, policy_not_landed)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	ASSERT_EQ(0, nl_open(&self->v));
	ASSERT_EQ(0, nl_register(&self->v, 1, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000));
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_POLICY);
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 3000));
	EXPECT_EQ(SAFELOCK_RESULT_NO_POLICY, ev.result) TH_LOG("result %s", result_name(ev.result));
	EXPECT_EQ(0u, ev.user_id);
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 300)) TH_LOG("a VERIFY was sent");
	EXPECT_EQ(0, bolt(&self->b));

	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, -1, -1, -1, -1, ext, sizeof(ext)));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_POLICY);
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_DENIED,
				ext, sizeof(ext))) TH_LOG("%s", ext);

	/* Another registration: its policy has not landed. */
	nl_close(&self->v);
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_VERIFIER), 2000));
	ASSERT_EQ(0, nl_open(&self->v));
	ASSERT_EQ(0, nl_register(&self->v, 1, ext, sizeof(ext))) TH_LOG("%s", ext);
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_POLICY);
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 500)) TH_LOG("a VERIFY was sent");
}

/*
 * A verdict belongs to the registration the request was sent to.  The
 * verifier dies with a request pending; a socket bound to the same port id
 * at once (pinned, real-time, to win against the cancel work) registers and
 * answers with the right nonce: refused, and the bolt never moves.
 */
TEST_F(board, verifier_rebind)
{
	struct sched_param sp = { .sched_priority = 50 };
	struct verify_req vr;
	char code[16], ext[256];
	bool rt = false;
	cpu_set_t cpus;
	uint32_t pid;
	int ret, i;

	NEED_BOARD();
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	for (i = 0; i < 5; i++) {
		REGISTER_VERIFIER();
		ENTER_AND_VERIFY(code, &vr);
		pid = nl_portid(&self->v);
		ASSERT_NE(0u, pid);
		sched_setaffinity(0, sizeof(cpus), &cpus);
		rt = !sched_setscheduler(0, SCHED_FIFO, &sp);
		nl_close(&self->v);
		ret = nl_open_as(&self->v, pid);
		if (!ret)
			ret = nl_register(&self->v, 1, ext, sizeof(ext));
		if (!ret)
			ret = nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
					 SAFELOCK_RESULT_GRANTED, ext, sizeof(ext));
		sp.sched_priority = 0;
		sched_setscheduler(0, SCHED_OTHER, &sp);
		sp.sched_priority = 50;
		EXPECT_NE(0, ret) TH_LOG("round %d (%s): a new socket's verdict was accepted",
					 i, rt ? "real-time" : "not real-time");
		EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300)) TH_LOG("the bolt opened");
		ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 2000));
		nl_close(&self->v);
		ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_VERIFIER), 2000));
	}
}

/* The hash a verifier registers for @key. */
static void code_key_hash(const uint8_t *key, uint8_t *hash)
{
	blake2s(hash, SAFELOCK_CODE_KEY_SIZE, key, SAFELOCK_CODE_KEY_SIZE, NULL, 0);
}

/* Type a code; the attempt must end NO_VERIFIER with no VERIFY sent. */
#define ENTRY_GOES_NOWHERE() do {						\
	struct safelock_event __ev;						\
	struct verify_req __vr;							\
	char __code[16];							\
	while (!read_event(&self->b, &__ev, 0))	/* what came before */		\
		;								\
	random_code(__code, NULL);						\
	ASSERT_EQ(0, type_entry(&self->b, 1, __code));				\
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &__ev, 3000)); \
	EXPECT_EQ(SAFELOCK_RESULT_NO_VERIFIER, __ev.result)			\
		TH_LOG("result %s", result_name(__ev.result));			\
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &__vr, 300))		\
		TH_LOG("a VERIFY was sent without a code key");			\
	EXPECT_EQ(0, bolt(&self->b));						\
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 2000));	\
} while (0)

/*
 * The VERIFY the verifier's socket receives is exactly what a netlink tap
 * (nlmon) in the initial namespace sees: it must hold no digit in the
 * clear, only the code sealed with the verifier's key, which opens to the
 * digits typed.
 */
TEST_F(board, code_sealed)
{
	uint8_t other[SAFELOCK_CODE_KEY_SIZE];
	char code[16], opened[40], ext[256];
	struct verify_req vr;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_FALSE(vr.seen & (1U << SAFELOCK_A_CODE)) TH_LOG("SAFELOCK_A_CODE in a VERIFY");
	ASSERT_TRUE(vr.has_sealed) TH_LOG("no SAFELOCK_A_CODE_SEALED");
	ASSERT_NE(0, vr.raw_len);
	EXPECT_EQ(NULL, memmem(vr.raw, vr.raw_len, code, strlen(code)))
		TH_LOG("the digits typed are in the message in the clear");
	EXPECT_EQ((int)strlen(code), vr.sealed_len);
	EXPECT_NE(0, memcmp(vr.sealed, code, strlen(code)));
	EXPECT_EQ((int)strlen(code), vr.code_len);
	EXPECT_EQ(0, memcmp(code, vr.code, strlen(code)))
		TH_LOG("typed %s, the key opens the sealed code to %.*s", code, vr.code_len,
		       vr.code);
	/* Another key opens it to something else. */
	random_bytes(other, sizeof(other));
	code_open(&vr, other, opened);
	EXPECT_NE(0, memcmp(code, opened, strlen(code)));
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_DENIED,
				ext, sizeof(ext))) TH_LOG("%s", ext);
}

/*
 * The code key: refused without a registration, with a hash that does not
 * match, with padding set; without it no VERIFY is sent and the entry ends
 * NO_VERIFIER; a registration without a hash is refused.
 */
TEST_F(board, code_key_refused)
{
	uint8_t hash[SAFELOCK_CODE_KEY_SIZE], wrong[SAFELOCK_CODE_KEY_SIZE];
	struct safelock_code_key ck = { 0 };
	struct verify_req vr;
	char code[16], ext[256];
	struct nl_msg m;

	NEED_BOARD();
	ASSERT_EQ(0, nl_open(&self->v));
	EXPECT_EQ(-ENOTCONN, set_code_key(self->b.fd, self->v.code_key))
		TH_LOG("a code key taken with no verifier registered");

	EXPECT_EQ(-EINVAL, nl_register_hash(&self->v, 1, NULL, ext, sizeof(ext)));
	EXPECT_STREQ("code-key-hash is required: without a code key no code can reach the verifier",
		     ext);
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_VERIFIER);
	code_key_hash(self->v.code_key, hash);
	/* A hash one byte short: the policy's length check (errno by kernel). */
	msg_start(&m, self->v.family, SAFELOCK_CMD_VERIFIER_REGISTER, SAFELOCK_GENL_VERSION);
	msg_put(&m, SAFELOCK_A_CODE_KEY_HASH, hash, SAFELOCK_CODE_KEY_SIZE - 1);
	EXPECT_NE(0, nl_transact(&self->v, &m, ext, sizeof(ext), NULL));
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_VERIFIER);

	ASSERT_EQ(0, nl_register_hash(&self->v, 1, hash, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000));
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, -1, -1, -1, -1, ext, sizeof(ext)));

	memcpy(wrong, self->v.code_key, sizeof(wrong));
	wrong[0] ^= 1;
	EXPECT_EQ(-EPERM, set_code_key(self->b.fd, wrong));
	memcpy(ck.key, self->v.code_key, sizeof(ck.key));
	ck.padding[7] = 1;
	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_SET_CODE_KEY, &ck));
	EXPECT_EQ(EINVAL, errno);

	/* Registered, policy landed, no key: nothing is sent. */
	ENTRY_GOES_NOWHERE();

	ASSERT_EQ(0, set_code_key(self->b.fd, self->v.code_key));
	EXPECT_EQ(0, set_code_key(self->b.fd, self->v.code_key)) TH_LOG("the same key again");
	EXPECT_EQ(-EPERM, set_code_key(self->b.fd, wrong)) TH_LOG("a key replaced");
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(0, memcmp(code, vr.code, strlen(code)))
		TH_LOG("typed %s, opened %.*s", code, vr.code_len, vr.code);
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_DENIED,
				ext, sizeof(ext))) TH_LOG("%s", ext);
}

/*
 * A key belongs to one registration: after the verifier's socket closes
 * and a new one registers, the old key is refused and the new one seals.
 * A new hash from the same socket drops the key given for the old one.
 */
TEST_F(board, code_key_new_registration)
{
	uint8_t old_key[SAFELOCK_CODE_KEY_SIZE], hash[SAFELOCK_CODE_KEY_SIZE];
	char code[16], opened[40], ext[256];
	struct verify_req vr;

	NEED_BOARD();
	REGISTER_VERIFIER();
	memcpy(old_key, self->v.code_key, sizeof(old_key));
	nl_close(&self->v);
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_VERIFIER), 2000));
	EXPECT_EQ(-ENOTCONN, set_code_key(self->b.fd, old_key));

	ASSERT_EQ(0, nl_open(&self->v));
	code_key_hash(self->v.code_key, hash);
	ASSERT_EQ(0, nl_register_hash(&self->v, 1, hash, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, -1, -1, -1, -1, ext, sizeof(ext)));
	EXPECT_EQ(-EPERM, set_code_key(self->b.fd, old_key))
		TH_LOG("the last registration's key was taken");
	ENTRY_GOES_NOWHERE();
	ASSERT_EQ(0, set_code_key(self->b.fd, self->v.code_key));
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(0, memcmp(code, vr.code, strlen(code)));
	code_open(&vr, old_key, opened);
	EXPECT_NE(0, memcmp(code, opened, strlen(code))) TH_LOG("the old key opens the code");
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_DENIED,
				ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 2000));

	/* The same socket, a new key: the one given before is dropped. */
	memcpy(old_key, self->v.code_key, sizeof(old_key));
	random_bytes(self->v.code_key, sizeof(self->v.code_key));
	code_key_hash(self->v.code_key, hash);
	ASSERT_EQ(0, nl_register_hash(&self->v, 1, hash, ext, sizeof(ext))) TH_LOG("%s", ext);
	EXPECT_EQ(-EPERM, set_code_key(self->b.fd, old_key));
	ENTRY_GOES_NOWHERE();
	ASSERT_EQ(0, set_code_key(self->b.fd, self->v.code_key));
	/* The same hash again keeps the key. */
	ASSERT_EQ(0, nl_register_hash(&self->v, 1, hash, ext, sizeof(ext))) TH_LOG("%s", ext);
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(0, memcmp(code, vr.code, strlen(code)));
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_DENIED,
				ext, sizeof(ext))) TH_LOG("%s", ext);
}

/*
 * A verifier that registers the old way, with no code key, is refused; a
 * kernel that took it anyway must still never put the digits typed on
 * netlink in the clear.
 */
TEST_F(board, code_never_clear)
{
	char code[16], ext[256];
	struct verify_req vr;
	int ret;

	NEED_BOARD();
	ASSERT_EQ(0, nl_open(&self->v));
	ret = nl_register_hash(&self->v, 1, NULL, ext, sizeof(ext));
	EXPECT_EQ(-EINVAL, ret) TH_LOG("a registration without a code key hash: %d (%s)", ret,
				       ext);
	if (ret)
		return;
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000));
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, -1, -1, -1, -1, ext, sizeof(ext)));
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	if (nl_wait_verify(&self->v, &vr, 3000))
		return;
	EXPECT_FALSE(vr.seen & (1U << SAFELOCK_A_CODE)) TH_LOG("SAFELOCK_A_CODE in a VERIFY");
	EXPECT_EQ(NULL, memmem(vr.raw, vr.raw_len, code, strlen(code)))
		TH_LOG("the digits typed (%s) are in the VERIFY in the clear", code);
}

TEST_F(board, granted)
{
	struct safelock_event ev, bolt_open;
	struct verify_req vr;
	char code[16], ext[256];
	uint64_t t0;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, bolt(&self->b));

	random_code(code, NULL);
	t0 = now_ns();
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	ASSERT_EQ(0, nl_wait_verify(&self->v, &vr, 5000));
	EXPECT_EQ(self->b.index, vr.device);
	EXPECT_EQ(1, vr.user_id);
	EXPECT_EQ((int)strlen(code), vr.code_len);
	EXPECT_EQ(0, memcmp(code, vr.code, strlen(code)))
		TH_LOG("typed %s, verifier got %.*s", code, vr.code_len, vr.code);
	EXPECT_NE(0, vr.id);
	EXPECT_GT(vr.deadline_ns, now_ns());
	EXPECT_LE(vr.deadline_ns, t0 + (self->b.verify_ms + 1000) * 1000000ULL);
	ASSERT_TRUE(vr.seen & (1U << SAFELOCK_A_NONCE));
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
	/* The verifier heard of the entry at its first key, by the same id, without a digit. */
	ASSERT_EQ(1, self->v.nbegun) TH_LOG("ENTRY_BEGIN notices: %d", self->v.nbegun);
	EXPECT_EQ(vr.id, self->v.begun[0].id);
	EXPECT_EQ(self->b.index, self->v.begun[0].device);
	EXPECT_EQ((1U << SAFELOCK_A_DEVICE) | (1U << SAFELOCK_A_REQUEST_ID),
		  self->v.begun[0].seen & ~(1U << SAFELOCK_A_PAD));
	/* and of its user id once typed: the same id, no digit of the code */
	ASSERT_EQ(1, self->v.nusers) TH_LOG("ENTRY_USER notices: %d", self->v.nusers);
	EXPECT_EQ(vr.id, self->v.users[0].id);
	EXPECT_EQ(1, self->v.users[0].user_id);
	EXPECT_EQ((1U << SAFELOCK_A_DEVICE) | (1U << SAFELOCK_A_REQUEST_ID) |
		  (1U << SAFELOCK_A_USER_ID), self->v.users[0].seen & ~(1U << SAFELOCK_A_PAD));

	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
				SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)))
		TH_LOG("verdict refused: %s", ext);
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 2000));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_BOLT_OPEN);

	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ENTRY_STARTED, -1, &ev, 1000));
	EXPECT_EQ(0, ev.user_id);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 1000));
	EXPECT_EQ(SAFELOCK_RESULT_GRANTED, ev.result)
		TH_LOG("attempt result %s", result_name(ev.result));
	EXPECT_EQ(1, ev.user_id);
	EXPECT_EQ(vr.id, ev.request_id);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_STATE, SAFELOCK_STATE_UNLOCKED, &ev, 1000));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_BOLT, -1, &bolt_open, 1000));
	EXPECT_EQ(1, bolt_open.value);

	/* Relock after relock_ms. */
	ASSERT_TRUE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 3000));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_BOLT, -1, &ev, 1000));
	EXPECT_EQ(0, ev.value);
	EXPECT_GE(ev.timestamp_ns - bolt_open.timestamp_ns, (self->b.relock_ms - 50) * 1000000ULL)
		TH_LOG("bolt open only %llu ms",
		       (unsigned long long)(ev.timestamp_ns - bolt_open.timestamp_ns) / 1000000);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_STATE, SAFELOCK_STATE_LOCKED, &ev, 1000));
	EXPECT_FALSE(self->b.seq_gap);
}

TEST_F(board, denied)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
				SAFELOCK_RESULT_DENIED, ext, sizeof(ext)))
		TH_LOG("verdict refused: %s", ext);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_RESULT_DENIED, ev.result)
		TH_LOG("attempt result %s", result_name(ev.result));
	EXPECT_EQ(vr.id, ev.request_id);
	EXPECT_EQ(1, ev.user_id);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
}

/* A denial with a retry-after mirrors the verifier's lockout. */
TEST_F(board, penalty)
{
	struct safelock_status st;
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], ext[256];
	uint64_t start;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	/* A grant cannot carry a penalty: refused, the request stays open. */
	EXPECT_EQ(-EINVAL, nl_verdict_retry(&self->v, vr.device, vr.id, vr.nonce,
					    SAFELOCK_RESULT_GRANTED, 2000, ext, sizeof(ext)));
	EXPECT_NE(NULL, strstr(ext, "retry-after only goes with a denial")) TH_LOG("extack: %s", ext);
	EXPECT_EQ(0, bolt(&self->b));

	start = now_ms();
	ASSERT_EQ(0, nl_verdict_retry(&self->v, vr.device, vr.id, vr.nonce,
				      SAFELOCK_RESULT_DENIED, 2000, ext, sizeof(ext)))
		TH_LOG("verdict refused: %s", ext);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_RESULT_DENIED, ev.result);
	EXPECT_EQ(2000, ev.value);
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_EQ(SAFELOCK_STATE_PENALTY, st.state);
	EXPECT_LT(0, st.penalty_ms);
	EXPECT_GE(2000, st.penalty_ms);

	/* The keypad is quiet: nothing reaches the verifier, nothing starts. */
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 300))
		TH_LOG("an entry typed during the penalty reached the verifier");
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_ENTRY_STARTED, -1, &ev, 100));
	/* Locking does not shorten it. */
	EXPECT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(SAFELOCK_STATE_PENALTY, state(&self->b));

	/* It ends by itself, on time, and keys count again. */
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 4000));
	EXPECT_LE(start + 1900, now_ms()) TH_LOG("the penalty ended early");
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_EQ(0, st.penalty_ms);
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(0, bolt(&self->b));
}

TEST_F(board, no_verifier)
{
	struct safelock_event ev;
	char code[16];

	NEED_BOARD();
	REGISTER_VERIFIER();
	nl_close(&self->v);
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_VERIFIER), 3000))
		TH_LOG("the verifier is still registered after its socket closed");
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));

	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 3000));
	EXPECT_EQ(SAFELOCK_RESULT_NO_VERIFIER, ev.result)
		TH_LOG("attempt result %s", result_name(ev.result));
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
}

TEST_F(board, unknown_request)
{
	uint8_t nonce[SAFELOCK_NONCE_SIZE] = { 1, 2, 3 };
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	/* Nothing pending. */
	EXPECT_EQ(-ENOENT, nl_verdict(&self->v, self->b.index, UINT64_MAX - 7, nonce,
				      SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)));
	EXPECT_STREQ("no such request", ext);
	EXPECT_EQ(0, bolt(&self->b));

	/* A request pending, the verdict names another one. */
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(-ENOENT, nl_verdict(&self->v, vr.device, vr.id + 1000, vr.nonce,
				      SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)));
	EXPECT_STREQ("no such request", ext);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, state(&self->b));
}

TEST_F(board, expired_request)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, self->b.verify_ms + 3000))
		TH_LOG("no TIMEOUT attempt event");
	EXPECT_EQ(SAFELOCK_RESULT_TIMEOUT, ev.result)
		TH_LOG("attempt result %s", result_name(ev.result));
	EXPECT_EQ(vr.id, ev.request_id);
	EXPECT_GE(ev.timestamp_ns, vr.deadline_ns);
	ASSERT_TRUE(wait_for(now_ns() > vr.deadline_ns, 1000));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));

	EXPECT_EQ(-ETIMEDOUT, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
					 SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)));
	EXPECT_STREQ("request expired", ext);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
}

TEST_F(board, replay)
{
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
				SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)))
		TH_LOG("verdict refused: %s", ext);
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 2000));
	ASSERT_TRUE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 3000));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));

	EXPECT_EQ(-EALREADY, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
					SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)));
	EXPECT_STREQ("request already answered", ext);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
}

TEST_F(board, wrong_nonce)
{
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	vr.nonce[SAFELOCK_NONCE_SIZE - 1] ^= 0x01;
	EXPECT_EQ(-EINVAL, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
				      SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)));
	EXPECT_STREQ("nonce mismatch", ext);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_NE(SAFELOCK_STATE_UNLOCKED, state(&self->b));
}

/* Child: drop to nobody, then try to register and to answer @vr. */
static int unprivileged_child(const struct verify_req *vr)
{
	struct nl_reply rep;
	char ext[256];
	struct nl nl;
	int ret, fails = 0;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		fprintf(stderr, "# cannot drop privileges: %s\n", strerror(errno));
		return 100;
	}
	ret = nl_open(&nl);
	if (ret) {
		fprintf(stderr, "# unprivileged: cannot resolve family: %s\n", strerror(-ret));
		return 101;
	}
	ret = nl_register(&nl, 1, ext, sizeof(ext));
	if (ret != -EPERM) {
		fprintf(stderr, "# unprivileged register: %d (%s), expected EPERM\n", ret, ext);
		fails |= 1;
	}
	ret = nl_verdict(&nl, vr->device, vr->id, vr->nonce, SAFELOCK_RESULT_GRANTED,
			 ext, sizeof(ext));
	if (ret != -EPERM) {
		fprintf(stderr, "# unprivileged verdict: %d (%s), expected EPERM\n", ret, ext);
		fails |= 2;
	}
	/* The schedule and the silent alarm are not anyone's business. */
	ret = nl_policy_get(&nl, vr->device, &rep);
	if (ret != -EPERM) {
		fprintf(stderr, "# unprivileged policy-get: %d, expected EPERM\n", ret);
		fails |= 4;
	}
	ret = nl_status(&nl, vr->device, &rep);
	if (ret || !(rep.seen & (1ULL << SAFELOCK_A_FLAGS)) ||
	    !(rep.attr[SAFELOCK_A_FLAGS] & SAFELOCK_STATUS_VERIFIER) ||
	    (rep.attr[SAFELOCK_A_FLAGS] & (SAFELOCK_STATUS_ALARM | SAFELOCK_STATUS_TAMPER))) {
		fprintf(stderr, "# unprivileged status-get: %d, flags 0x%llx\n", ret,
			(unsigned long long)rep.attr[SAFELOCK_A_FLAGS]);
		fails |= 8;
	}
	nl_close(&nl);
	return fails;
}

TEST_F(board, unprivileged)
{
	struct verify_req vr;
	char code[16];
	int status;
	pid_t pid;

	struct nl_reply rep;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	/* A silent alarm is up: root sees it, nobody else. */
	ASSERT_EQ(0, nl_duress_alarm(&self->v, self->b.index, 1, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_EQ(0, nl_status(&self->v, self->b.index, &rep));
	EXPECT_TRUE(rep.attr[SAFELOCK_A_FLAGS] & SAFELOCK_STATUS_ALARM);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(unprivileged_child(&vr));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: %d (1: register, 2: verdict accepted, 4: policy read, 8: alarm seen)",
		       WEXITSTATUS(status));
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, state(&self->b));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_VERIFIER);
}

TEST_F(board, second_verifier)
{
	uint8_t nonce[SAFELOCK_NONCE_SIZE] = { 0 };
	char ext[256];
	int ret;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ret = nl_open(&self->v2);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EBUSY, nl_register(&self->v2, 1, ext, sizeof(ext)));
	EXPECT_STREQ("a verifier is already registered", ext);
	EXPECT_EQ(-EPERM, nl_verdict(&self->v2, self->b.index, 1, nonce,
				     SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)));
	/* The first one is still the verifier. */
	EXPECT_EQ(0, nl_register(&self->v, 1, ext, sizeof(ext))) TH_LOG("%s", ext);
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_VERIFIER);
}

TEST_F(board, other_netns)
{
	struct nl nl;
	int status;
	pid_t pid;

	NEED_BOARD();
	ASSERT_EQ(0, nl_open(&nl)) TH_LOG("the family is not there in the initial namespace");
	nl_close(&nl);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ret;

		if (unshare(CLONE_NEWNET))
			_exit(errno == EINVAL ? KSFT_SKIP : 100);
		ret = nl_open(&nl);
		if (!ret)
			nl_close(&nl);
		_exit(ret == -ENOENT ? 0 : ret == 0 ? 1 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == KSFT_SKIP)
		SKIP(return, "no network namespaces (CONFIG_NET_NS)");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("resolving the family in a new netns: %s",
		       WEXITSTATUS(status) == 1 ? "found it" : "failed other than ENOENT");
}

TEST_F(board, verifier_dies)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	nl_close(&self->v);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 3000));
	EXPECT_EQ(SAFELOCK_RESULT_CANCELLED, ev.result)
		TH_LOG("attempt result %s", result_name(ev.result));
	EXPECT_EQ(vr.id, ev.request_id);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_VERIFIER);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
}

/*
 * The keypad disappears mid-entry (a cable pulled): the entry ends at
 * once, its digits wiped, nothing is sent, and a keypad plugged back in
 * starts a fresh entry: no digit typed before the unplug joins it.
 */
TEST_F(board, keypad_unplugged)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], keys[16];
	uint64_t t0;

	NEED_BOARD();
	if (self->b.dt_board)
		SKIP(return, "the DT board's keypad is gpio-keys on fixed lines; the uinput board unplugs its keypad");
	REGISTER_VERIFIER();
	random_code(code, NULL);
	snprintf(keys, sizeof(keys), "001%.3s", code);
	ASSERT_EQ(0, type_keys(&self->b, keys));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_ENTRY, 2000));

	t0 = now_ms();
	ASSERT_EQ(0, ioctl(self->b.uinput, UI_DEV_DESTROY));
	close(self->b.uinput);
	self->b.uinput = -1;
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_KEYPAD), 2000))
		TH_LOG("status still shows a keypad");
	/* abandoned now, well before the entry timeout */
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, ENTRY_TIMEOUT_MS / 2))
		TH_LOG("the entry was not abandoned within %d ms of the unplug", ENTRY_TIMEOUT_MS / 2);
	EXPECT_LT(now_ms() - t0, ENTRY_TIMEOUT_MS / 2);
	EXPECT_EQ(SAFELOCK_RESULT_CANCELLED, ev.result)
		TH_LOG("attempt result %s", result_name(ev.result));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 300))
		TH_LOG("a request went out for the unplugged entry");

	/* back within the old entry's timeout: a whole entry, that entry alone */
	ASSERT_EQ(0, uinput_create(&self->b));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_KEYPAD, 5000))
		TH_LOG("the keypad plugged back in was not taken");
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(1, vr.user_id);
	EXPECT_EQ((int)strlen(code), vr.code_len);
	EXPECT_EQ(0, memcmp(code, vr.code, strlen(code)))
		TH_LOG("typed %s, verifier got %.*s", code, vr.code_len, vr.code);
	EXPECT_EQ(0, bolt(&self->b));
}

TEST_F(board, malformed_entry)
{
	static const char * const bad[] = {
		"00112345E",		/* code of 5 digits */
		"0011234567890123E",	/* code of 13 digits */
	};
	struct safelock_event ev;
	struct verify_req vr;
	unsigned int i;

	NEED_BOARD();
	REGISTER_VERIFIER();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, type_keys(&self->b, bad[i]));
		ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 3000))
			TH_LOG("no attempt event for %s", bad[i]);
		EXPECT_EQ(SAFELOCK_RESULT_MALFORMED, ev.result)
			TH_LOG("%s: attempt result %s", bad[i], result_name(ev.result));
		/* No request went out for it, */
		EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 300))
			TH_LOG("%s was sent to the verifier", bad[i]);
		/* but the attempt names its entry, as told at the first key. */
		EXPECT_NE(0, ev.request_id);
		EXPECT_EQ(ev.request_id, self->v.begun[(self->v.nbegun - 1) % NL_STASH].id);
		EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	}
	EXPECT_EQ(0, bolt(&self->b));
}

TEST_F(board, door_events)
{
	struct safelock_event ev;

	NEED_BOARD();
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DOOR, -1, &ev, 3000))
		TH_LOG("no door event when the door opened");
	EXPECT_EQ(1, ev.value);
	ASSERT_EQ(0, set_door(&self->b, false));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DOOR, -1, &ev, 3000))
		TH_LOG("no door event when the door closed");
	EXPECT_EQ(0, ev.value);
	EXPECT_EQ(0, bolt(&self->b));
}

/* A duress grant opens as usual and raises the silent alarm, for alarm_ms. */
TEST_F(board, duress)
{
	struct safelock_info info;
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	ASSERT_TRUE(info.lines & SAFELOCK_LINE_ALARM) TH_LOG("the test board has no alarm line");
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	EXPECT_EQ(-EINVAL, nl_verdict_ex(&self->v, vr.device, vr.id, vr.nonce,
					 SAFELOCK_RESULT_DENIED, 0, 1, ext, sizeof(ext)));
	EXPECT_STREQ("duress only goes with a grant", ext);
	ASSERT_EQ(0, nl_verdict_ex(&self->v, vr.device, vr.id, vr.nonce,
				   SAFELOCK_RESULT_GRANTED, 0, 1, ext, sizeof(ext)))
		TH_LOG("verdict refused: %s", ext);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DURESS, -1, &ev, 2000));
	EXPECT_EQ(1, ev.user_id);
	EXPECT_EQ(vr.id, ev.request_id);
	EXPECT_TRUE(wait_for(bolt(&self->b) == 1, 2000)) TH_LOG("a duress entry must open");
	EXPECT_TRUE(wait_for(line_value(&self->b, ALARM_LINE) == 1, 1000));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_ALARM);
	/* Silent: it drops by itself after alarm_ms. */
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ALARM, -1, &ev, info.alarm_ms + 2000));
	if (ev.value == 1)
		ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ALARM, -1, &ev,
					info.alarm_ms + 2000));
	EXPECT_EQ(0, ev.value);
	EXPECT_EQ(0, line_value(&self->b, ALARM_LINE));
}

/* Tampering is reported and raises the alarm; it never opens. */
TEST_F(board, tamper)
{
	struct safelock_info info;
	struct safelock_event ev;

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	ASSERT_TRUE(info.lines & SAFELOCK_LINE_TAMPER) TH_LOG("the test board has no tamper line");
	REGISTER_VERIFIER();
	ASSERT_EQ(0, set_line(&self->b, TAMPER_LINE, true));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TAMPER, -1, &ev, 2000));
	EXPECT_EQ(1, ev.value);
	EXPECT_TRUE(wait_for(line_value(&self->b, ALARM_LINE) == 1, 1000));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_TAMPER);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	ASSERT_EQ(0, set_line(&self->b, TAMPER_LINE, false));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TAMPER, -1, &ev, 2000));
	EXPECT_EQ(0, ev.value);
	EXPECT_TRUE(wait_for(line_value(&self->b, ALARM_LINE) == 0, info.alarm_ms + 2000));
	EXPECT_EQ(0, bolt(&self->b));
}

/* Type an entry for @user on @b and grant it as @v; the request id or 0. */
static uint64_t grant_on(struct __test_metadata *_metadata, struct board *b, struct nl *v,
			 unsigned int user)
{
	struct verify_req vr;
	char code[16], ext[256];
	int ret;

	random_code(code, NULL);
	if (type_entry(b, user, code))
		return 0;
	ret = nl_wait_verify(v, &vr, 5000);
	if (ret)
		return 0;
	EXPECT_EQ(user, vr.user_id);
	ret = nl_verdict(v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_GRANTED,
			 ext, sizeof(ext));
	EXPECT_EQ(0, ret) TH_LOG("verdict refused: %s", ext);
	return ret ? 0 : vr.id;
}

/* Type an entry for @user and grant it; returns the request id or 0. */
static uint64_t grant_entry(struct __test_metadata *_metadata, FIXTURE_DATA(board) *self,
			    unsigned int user)
{
	return grant_on(_metadata, &self->b, &self->v, user);
}

/*
 * A vault the verifier cannot read is "damaged", never "empty": the lock
 * is secured (an open bolt relocks on schedule, LOCK_NOW works) and says
 * so; a lock that was never provisioned is secured by it too.
 */
TEST_F(board, vault_damaged)
{
	struct safelock_status st;
	char ext[256];

	NEED_BOARD();
	ASSERT_EQ(0, nl_open(&self->v));
	ASSERT_EQ(0, nl_register(&self->v, SAFELOCK_VAULT_DAMAGED, ext, sizeof(ext)))
		TH_LOG("register damaged: %s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000))
		TH_LOG("state %d with a damaged vault", state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_TRUE(st.flags & SAFELOCK_STATUS_VAULT_DAMAGED);
	EXPECT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("%s", strerror(errno));

	/* Owned, opened; the vault fails while the bolt is open: it relocks. */
	ASSERT_EQ(0, nl_register(&self->v, SAFELOCK_VAULT_OWNED, ext, sizeof(ext)));
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_VAULT_DAMAGED);
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, -1, -1, -1, -1, ext, sizeof(ext)));
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_UNLOCKED, 3000));
	ASSERT_EQ(0, nl_register(&self->v, SAFELOCK_VAULT_DAMAGED, ext, sizeof(ext)));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_VAULT_DAMAGED);
	EXPECT_TRUE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 2000))
		TH_LOG("the bolt stayed open after the vault failed");
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 2000))
		TH_LOG("state %d", state(&self->b));

	/* An "empty" vault with the door shut is refused: still not new. */
	EXPECT_EQ(-EBUSY, nl_register(&self->v, SAFELOCK_VAULT_EMPTY, ext, sizeof(ext)));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	EXPECT_EQ(-ERANGE, nl_register(&self->v, SAFELOCK_VAULT_MAX, ext, sizeof(ext)));
}

/* Policy: only the verifier sets it, within its ranges, all or nothing. */
TEST_F(board, policy_time_delay)
{
	struct safelock_status st;
	struct safelock_event ev;
	struct nl_reply rep;
	struct nl other;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	nl_init(&other);
	ASSERT_EQ(0, nl_open(&other));
	EXPECT_EQ(-EPERM, nl_policy_set(&other, self->b.index, 2, -1, -1, -1, ext, sizeof(ext)));
	EXPECT_STREQ("not the registered verifier", ext);
	nl_close(&other);
	/* An open window of 30 s is out of range: nothing changes. */
	EXPECT_EQ(-ERANGE, nl_policy_set(&self->v, self->b.index, 2, 30, -1, -1, ext, sizeof(ext)));
	EXPECT_NE(0, ext[0]) TH_LOG("no extack for an out-of-range window");
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(0, rep.attr[SAFELOCK_A_TIME_DELAY_S]);

	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, 2, 60, -1, -1, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_POLICY, -1, &ev, 2000));
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(2, rep.attr[SAFELOCK_A_TIME_DELAY_S]);
	EXPECT_EQ(60, rep.attr[SAFELOCK_A_OPEN_WINDOW_S]);
	EXPECT_EQ(0, rep.attr[SAFELOCK_A_DUAL_CONTROL]);
	EXPECT_TRUE(rep.seen & (1U << SAFELOCK_A_DUAL_WINDOW_S));

	/* A right code starts the delay; the bolt stays. */
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_DELAY, 2000));
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_LT(0, st.timer_ms);
	EXPECT_GE(2000, st.timer_ms);
	EXPECT_EQ(0, bolt(&self->b));
	/* Then the window opens, and a right code in it opens the lock. */
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_OPEN_WINDOW, 4000));
	EXPECT_EQ(0, bolt(&self->b));
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_LT(2000, st.timer_ms);
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	EXPECT_TRUE(wait_for(bolt(&self->b) == 1, 2000)) TH_LOG("the window did not open the lock");
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));
}

/* The verifier sets the relock time; the board's property is the default. */
TEST_F(board, policy_relock)
{
	struct safelock_info info;
	struct nl_reply rep;
	char ext[256];
	uint64_t t0;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	EXPECT_EQ(self->b.relock_ms, info.relock_ms);
	EXPECT_EQ(-ERANGE, nl_policy_u32(&self->v, self->b.index, SAFELOCK_A_RELOCK_MS, 100,
					 ext, sizeof(ext)));
	ASSERT_EQ(0, nl_policy_u32(&self->v, self->b.index, SAFELOCK_A_RELOCK_MS, 2500,
				   ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(2500, rep.attr[SAFELOCK_A_RELOCK_MS]);
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	EXPECT_EQ(2500, info.relock_ms);

	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 2000));
	t0 = now_ms();
	ASSERT_TRUE(wait_for(bolt(&self->b) == 0, 5000));
	EXPECT_LE(t0 + 2000, now_ms()) TH_LOG("relocked after %llu ms, not 2500",
					      (unsigned long long)(now_ms() - t0));
}

/* A door left open past the limit is reported, once. */
TEST_F(board, door_ajar)
{
	struct safelock_event ev;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	EXPECT_EQ(-ERANGE, nl_policy_u32(&self->v, self->b.index, SAFELOCK_A_DOOR_LIMIT_S, 2,
					 ext, sizeof(ext)));
	EXPECT_STREQ("door limit is 0 (never) or 5 to 3600 s", ext);
	ASSERT_EQ(0, nl_policy_u32(&self->v, self->b.index, SAFELOCK_A_DOOR_LIMIT_S, 5,
				   ext, sizeof(ext))) TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DOOR, -1, &ev, 2000));
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_DOOR_AJAR, -1, &ev, 3500))
		TH_LOG("door-ajar before the limit");
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DOOR_AJAR, -1, &ev, 4000));
	EXPECT_EQ(5, ev.value);
	ASSERT_EQ(0, set_door(&self->b, false));
}

/*
 * A door that reads "open" for ever (its wire cut) never keeps the bolt
 * retracted: at the door limit the lock throws it and says so.  Both ways
 * round: the door opens after the unlock, or already read open before it.
 */
TEST_F(board, door_held_relocks)
{
	struct safelock_event ev;
	char ext[256];
	int before_grant;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, nl_policy_u32(&self->v, self->b.index, SAFELOCK_A_DOOR_LIMIT_S, 5,
				   ext, sizeof(ext))) TH_LOG("policy refused: %s", ext);
	for (before_grant = 0; before_grant < 2; before_grant++) {
		if (before_grant)
			ASSERT_EQ(0, set_door(&self->b, true));
		ASSERT_NE(0, grant_entry(_metadata, self, 1));
		ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 3000));
		if (!before_grant)
			ASSERT_EQ(0, set_door(&self->b, true));
		/* past the relock delay, the open door holds it... */
		EXPECT_FALSE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 500))
			TH_LOG("thrown onto the open door before the door limit");
		/* ...until the door limit: then it is thrown anyway */
		ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DOOR_AJAR, -1, &ev, 6000))
			TH_LOG("no door-ajar (door open %s the grant)",
			       before_grant ? "before" : "after");
		EXPECT_TRUE(wait_for(bolt(&self->b) == 0, 2000))
			TH_LOG("the bolt stayed retracted past the door limit");
		EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000))
			TH_LOG("state %d", state(&self->b));
		ASSERT_EQ(0, set_door(&self->b, false));
		usleep(200000);
		EXPECT_EQ(0, bolt(&self->b));
	}
}

/*
 * The door is open when the grant comes, stays open past the relock time,
 * then closes: the bolt is thrown at once, not left retracted (found by the
 * fault soak).
 */
TEST_F(board, door_open_at_grant)
{
	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000));
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 3000));
	EXPECT_FALSE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 500))
		TH_LOG("thrown onto the open door");
	ASSERT_EQ(0, set_door(&self->b, false));
	EXPECT_TRUE(wait_for(bolt(&self->b) == 0, 2000))
		TH_LOG("the door closed and the bolt stayed retracted");
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000))
		TH_LOG("state %d", state(&self->b));
}

/*
 * The door has read "open" since long before the grant (its door limit
 * already passed, as after a module reload with the door open): no door
 * edge will come, and the bolt must still be thrown at the door limit
 * (found by a 25-minute fault soak).
 */
TEST_F(board, door_open_long_before_grant)
{
	struct safelock_event ev;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, nl_policy_u32(&self->v, self->b.index, SAFELOCK_A_DOOR_LIMIT_S, 5,
				   ext, sizeof(ext))) TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DOOR_AJAR, -1, &ev, 8000));
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 3000));
	EXPECT_TRUE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 5000 + 3000))
		TH_LOG("the bolt stayed retracted past relock time + door limit");
	ASSERT_EQ(0, set_door(&self->b, false));
}

/* A duress code used where nothing opens: the silent alarm, nothing else. */
TEST_F(board, duress_alarm)
{
	struct safelock_event ev;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, nl_open(&self->v2));
	EXPECT_EQ(-EPERM, nl_duress_alarm(&self->v2, self->b.index, 1, ext, sizeof(ext)));
	EXPECT_STREQ("not the registered verifier", ext);
	EXPECT_EQ(-ERANGE, nl_duress_alarm(&self->v, self->b.index, 0, ext, sizeof(ext)));
	EXPECT_STREQ("a user id is 1 to 999", ext);
	EXPECT_EQ(-ERANGE, nl_duress_alarm(&self->v, self->b.index, 1000, ext, sizeof(ext)));
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_ALARM);
	ASSERT_EQ(0, nl_duress_alarm(&self->v, self->b.index, 7, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DURESS, -1, &ev, 2000));
	EXPECT_EQ(7u, ev.user_id);
	EXPECT_TRUE(wait_for(line_value(&self->b, ALARM_LINE) == 1, 1000));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_ALARM);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
}

TEST_F(board, dual_control)
{
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, -1, -1, 1, 20, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_DUAL_PENDING, 2000));
	EXPECT_EQ(0, bolt(&self->b));
	/* The same user again is not a second person. */
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 500));
	EXPECT_EQ(SAFELOCK_STATE_DUAL_PENDING, state(&self->b));
	ASSERT_NE(0, grant_entry(_metadata, self, 2));
	EXPECT_TRUE(wait_for(bolt(&self->b) == 1, 2000)) TH_LOG("two users did not open the lock");
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));
}

/* A low battery is reported and never stops a valid code. */
TEST_F(board, battery_low)
{
	struct safelock_info info;
	struct safelock_event ev;

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	ASSERT_TRUE(info.lines & SAFELOCK_LINE_BATTERY) TH_LOG("the test board has no battery line");
	REGISTER_VERIFIER();
	ASSERT_EQ(0, set_line(&self->b, BATTERY_LINE, true));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_BATTERY, -1, &ev, 2000));
	EXPECT_EQ(1, ev.value);
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_BATTERY_LOW);
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	EXPECT_TRUE(wait_for(bolt(&self->b) == 1, 2000)) TH_LOG("a low battery stopped a valid code");
	ASSERT_EQ(0, set_line(&self->b, BATTERY_LINE, false));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_BATTERY, -1, &ev, 2000));
	EXPECT_EQ(0, ev.value);
}

/* Each key taken gives the same short pulse on the feedback line. */
TEST_F(board, key_feedback)
{
	struct safelock_info info;
	bool high = false;
	int status = 0;
	uint64_t end;
	pid_t child;

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	ASSERT_TRUE(info.lines & SAFELOCK_LINE_FEEDBACK) TH_LOG("the test board has no feedback line");
	REGISTER_VERIFIER();
	EXPECT_EQ(0, line_value(&self->b, FEEDBACK_LINE));
	/* Watch the line from a child while the key is typed: the pulse is short. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		for (end = now_ms() + 2000; !high && now_ms() < end;)
			high = line_value(&self->b, FEEDBACK_LINE) == 1;
		_exit(high ? 0 : 1);
	}
	ASSERT_EQ(0, type_keys(&self->b, "0"));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("no feedback pulse for a key");
	EXPECT_TRUE(wait_for(line_value(&self->b, FEEDBACK_LINE) == 0, 1000))
		TH_LOG("the feedback pulse did not end");
	ASSERT_EQ(0, type_keys(&self->b, "C"));
}

/* ---- the lock's signals: LED triggers, on gpio-sim lines behind leds-gpio ---- */

#define LED_LINE0	21	/* ok, denied, penalty, delay, window, battery: 21-26 */

enum { SIG_OK, SIG_DENIED, SIG_PENALTY, SIG_DELAY, SIG_WINDOW, SIG_BATTERY, NSIGS };

static const char * const sig_names[NSIGS] = {
	"ok", "denied", "penalty", "delay", "window", "battery",
};

struct led_edge {
	uint8_t sig;
	uint8_t level;
	uint32_t ms;		/* since the recorder started */
};

/* What a child saw on the LED lines, in memory the parent shares. */
struct led_rec {
	volatile int stop;
	volatile unsigned int n;
	pid_t pid;
	uint64_t t0_ms;
	struct led_edge e[2048];
};

/* The LED that follows signal @sig, in /sys/class/leds; false if none. */
static bool led_dir(struct board *b, int sig, char *path, size_t len)
{
	snprintf(path, len, "/sys/class/leds/%s:%s",
		 b->dt_board ? "safelock-board" : "safelock-tb", sig_names[sig]);
	return exists(path);
}

/* Make signal @sig's LED follow this lock's trigger, as a user could. */
static int led_follow(struct board *b, int sig)
{
	char path[256], trig[64];

	if (!led_dir(b, sig, path, sizeof(path) - 8))
		return -ENOENT;
	strcat(path, "/trigger");
	snprintf(trig, sizeof(trig), "safelock%u-%s", b->index, sig_names[sig]);
	return write_str(path, trig);
}

/* Start recording every edge of the six LED lines, every ~2 ms. */
static struct led_rec *led_watch(struct board *b)
{
	struct led_rec *r;
	int last[NSIGS], i, v;

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->t0_ms = now_ms();
	for (i = 0; i < NSIGS; i++)
		last[i] = 0;
	r->pid = fork();
	if (r->pid < 0) {
		munmap(r, sizeof(*r));
		return NULL;
	}
	if (r->pid)
		return r;
	while (!r->stop && now_ms() < r->t0_ms + 120000) {
		for (i = 0; i < NSIGS; i++) {
			v = line_value(b, LED_LINE0 + i);
			if (v < 0 || v == last[i] || r->n >= ARRAY_SIZE(r->e))
				continue;
			r->e[r->n] = (struct led_edge){ i, v, now_ms() - r->t0_ms };
			__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
			last[i] = v;
		}
		usleep(2000);
	}
	_exit(0);
}

static void led_watch_end(struct led_rec *r)
{
	if (!r)
		return;
	r->stop = 1;
	waitpid(r->pid, NULL, 0);
	munmap(r, sizeof(*r));
}

/* Edges of @sig seen so far, from @from_ms on (recorder time). */
static unsigned int led_edges(const struct led_rec *r, int sig, uint32_t from_ms)
{
	unsigned int i, n = 0, end = __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);

	for (i = 0; i < end; i++)
		n += r->e[i].sig == sig && r->e[i].ms >= from_ms;
	return n;
}

/*
 * The pulses of @sig: on[k] the length of the k-th time on, off[k] the
 * time off after it (0 for the last, still running or never ended).
 * Returns how many pulses ended; a line still on at the end is @on_now.
 */
static unsigned int led_pulses(const struct led_rec *r, int sig, uint32_t *on, uint32_t *off,
			       unsigned int max, bool *on_now)
{
	unsigned int i, k = 0, end = __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);
	uint32_t rise = 0, fall = 0;
	bool up = false, seen_fall = false;

	for (i = 0; i < end; i++) {
		const struct led_edge *e = &r->e[i];

		if (e->sig != sig)
			continue;
		if (e->level) {
			if (seen_fall && k > 0 && k <= max)
				off[k - 1] = e->ms - fall;
			rise = e->ms;
			up = true;
		} else if (up) {
			if (k < max) {
				on[k] = e->ms - rise;
				off[k] = 0;
			}
			k++;
			fall = e->ms;
			seen_fall = true;
			up = false;
		}
	}
	if (on_now)
		*on_now = up;
	return k;
}

/* Under TCG a timer is late by tens of ms, never early by much. */
#define NEAR(ms, want) ((ms) + 60 >= (want) && (ms) <= (want) * 3 / 2 + 150)

static void led_dump(struct __test_metadata *_metadata, const struct led_rec *r)
{
	unsigned int i, end = __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);

	for (i = 0; i < end && i < 40; i++)
		TH_LOG("  %6u ms %s %s", r->e[i].ms, sig_names[r->e[i].sig],
		       r->e[i].level ? "on" : "off");
}

/* Say what was measured: the note and the docs quote these lines. */
static void led_report(int sig, const uint32_t *on, const uint32_t *off, unsigned int n,
		       unsigned int max)
{
	char buf[256];
	size_t len = 0;
	unsigned int k;

	len += snprintf(buf + len, sizeof(buf) - len, "signal %s: %u pulses, on", sig_names[sig], n);
	for (k = 0; k < n && k < max && len < sizeof(buf); k++)
		len += snprintf(buf + len, sizeof(buf) - len, " %u", on[k]);
	if (len < sizeof(buf))
		len += snprintf(buf + len, sizeof(buf) - len, " ms; off");
	for (k = 0; k + 1 < n && k < max && len < sizeof(buf); k++)
		len += snprintf(buf + len, sizeof(buf) - len, " %u", off[k]);
	ksft_print_msg("%s ms\n", buf);
}

#define NEED_LEDS() do {							\
	char __p[256];								\
	if (!led_dir(&self->b, SIG_OK, __p, sizeof(__p)))			\
		SKIP(return, "no LED %s (CONFIG_LEDS_GPIO, CONFIG_LEDS_TRIGGERS)", __p); \
} while (0)

/*
 * The lock registers one trigger per signal, named after its index, and
 * none for the silent alarm; the test board's LEDs name them as their
 * default trigger, as a board's linux,default-trigger does.
 */
TEST_F(board, signal_triggers)
{
	char path[256], buf[4096], want[64];
	int s;

	NEED_BOARD();
	NEED_LEDS();
	for (s = 0; s < NSIGS; s++) {
		ASSERT_TRUE(led_dir(&self->b, s, path, sizeof(path) - 8));
		strcat(path, "/trigger");
		ASSERT_EQ(0, read_str(path, buf, sizeof(buf)));
		snprintf(want, sizeof(want), "[safelock%u-%s]", self->b.index, sig_names[s]);
		if (!self->b.dt_board)
			EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("%s: %s", path, buf);
		snprintf(want, sizeof(want), "safelock%u-alarm", self->b.index);
		EXPECT_EQ(NULL, strstr(buf, want)) TH_LOG("a trigger for the silent alarm");
		EXPECT_EQ(0, led_follow(&self->b, s));
		EXPECT_EQ(0, line_value(&self->b, LED_LINE0 + s)) TH_LOG("%s lit at rest", sig_names[s]);
	}
	/* A reload brings them back, and the LEDs follow again. */
	ASSERT_EQ(0, board_rebind(&self->b)) TH_LOG("%s", self->b.err);
	ASSERT_TRUE(led_dir(&self->b, SIG_OK, path, sizeof(path) - 8));
	strcat(path, "/trigger");
	ASSERT_EQ(0, read_str(path, buf, sizeof(buf)));
	snprintf(want, sizeof(want), self->b.dt_board ? "safelock%u-ok" : "[safelock%u-ok]",
		 self->b.index);
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("after a reload: %s", buf);
}

/* Follow every signal, start recording: a test's first steps. */
#define LEDS_UP(rec) do {							\
	int __s;								\
	NEED_LEDS();								\
	for (__s = 0; __s < NSIGS; __s++)					\
		ASSERT_EQ(0, led_follow(&self->b, __s));			\
	rec = led_watch(&self->b);						\
	ASSERT_NE(NULL, rec);							\
} while (0)

/*
 * One verdict's signals: nothing from the first key until the verdict,
 * then exactly one pulse of the expected length on one LED, and nothing
 * on the others.  @duress grants with the duress flag.
 */
static void verdict_signal(struct __test_metadata *_metadata, FIXTURE_DATA(board) *self,
			   uint32_t result, bool duress, int sig, uint32_t want_ms)
{
	uint32_t on[4] = { 0 }, off[4], verdict_ms;
	struct verify_req vr;
	struct led_rec *r;
	char code[16], ext[256];
	bool on_now;
	int s;

	LEDS_UP(r);
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	ASSERT_EQ(0, nl_wait_verify(&self->v, &vr, 5000));
	usleep(300000);		/* VERIFYING a while: still nothing */
	verdict_ms = now_ms() - r->t0_ms;
	for (s = 0; s < NSIGS; s++)
		EXPECT_EQ(0, led_edges(r, s, 0)) TH_LOG("%s moved before the verdict", sig_names[s]);
	ASSERT_EQ(0, nl_verdict_ex(&self->v, vr.device, vr.id, vr.nonce, result, 0, duress,
				   ext, sizeof(ext))) TH_LOG("verdict refused: %s", ext);
	usleep((want_ms + 800) * 1000);
	EXPECT_EQ(1, led_pulses(r, sig, on, off, 4, &on_now)) led_dump(_metadata, r);
	ksft_print_msg("signal %s%s: one pulse, on %u ms (documented %u)\n", sig_names[sig],
		       duress ? " (duress)" : "", on[0], want_ms);
	EXPECT_FALSE(on_now);
	EXPECT_TRUE(NEAR(on[0], want_ms)) TH_LOG("%s on for %u ms, want %u", sig_names[sig],
						   on[0], want_ms);
	for (s = 0; s < NSIGS; s++)
		if (s != sig)
			EXPECT_EQ(0, led_edges(r, s, verdict_ms))
				TH_LOG("%s moved at a %s verdict", sig_names[s], result_name(result));
	led_watch_end(r);
}

TEST_F(board, signal_granted)
{
	NEED_BOARD();
	REGISTER_VERIFIER();
	verdict_signal(_metadata, self, SAFELOCK_RESULT_GRANTED, false, SIG_OK, 1000);
}

/* A duress code opens exactly as a normal one does: the same one pulse. */
TEST_F(board, signal_duress)
{
	struct safelock_event ev;

	NEED_BOARD();
	REGISTER_VERIFIER();
	verdict_signal(_metadata, self, SAFELOCK_RESULT_GRANTED, true, SIG_OK, 1000);
	EXPECT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_DURESS, -1, &ev, 1000))
		TH_LOG("not a duress grant");
}

TEST_F(board, signal_denied)
{
	NEED_BOARD();
	REGISTER_VERIFIER();
	verdict_signal(_metadata, self, SAFELOCK_RESULT_DENIED, false, SIG_DENIED, 250);
}

/* A lockout blinks 250/750 while it lasts, then goes dark. */
TEST_F(board, signal_penalty)
{
	uint32_t on[8], off[8];
	struct verify_req vr;
	struct led_rec *r;
	char code[16], ext[256];
	unsigned int n, k;
	bool on_now;

	NEED_BOARD();
	REGISTER_VERIFIER();
	LEDS_UP(r);
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, nl_verdict_retry(&self->v, vr.device, vr.id, vr.nonce,
				      SAFELOCK_RESULT_DENIED, 3500, ext, sizeof(ext))) TH_LOG("%s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_PENALTY, 2000));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 6000));
	usleep(1200000);
	n = led_pulses(r, SIG_PENALTY, on, off, 8, &on_now);
	led_report(SIG_PENALTY, on, off, n, 8);
	EXPECT_LE(3, n) led_dump(_metadata, r);
	EXPECT_GE(5, n) led_dump(_metadata, r);
	/* the last pulse may be cut short where the lockout ends */
	for (k = 0; k + 1 < n && k < 8; k++) {
		EXPECT_TRUE(NEAR(on[k], 250)) TH_LOG("pulse %u on %u ms", k, on[k]);
		EXPECT_TRUE(NEAR(off[k], 750)) TH_LOG("pulse %u off %u ms", k, off[k]);
	}
	EXPECT_FALSE(on_now) TH_LOG("still lit after the lockout");
	EXPECT_EQ(0, line_value(&self->b, LED_LINE0 + SIG_PENALTY));
	led_watch_end(r);
}

/*
 * A time delay blinks 500/500 while it runs; the open window is steadily
 * lit while it is open and goes dark when a code opens the lock.
 */
TEST_F(board, signal_delay_window)
{
	uint32_t on[8], off[8], t_window, t_open;
	struct led_rec *r;
	char ext[256];
	unsigned int n, k;
	bool on_now;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, 3, 60, -1, -1, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	LEDS_UP(r);
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_DELAY, 2000));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_OPEN_WINDOW, 6000));
	t_window = now_ms() - r->t0_ms;
	n = led_pulses(r, SIG_DELAY, on, off, 8, &on_now);
	led_report(SIG_DELAY, on, off, n, 8);
	EXPECT_LE(2, n) led_dump(_metadata, r);
	for (k = 0; k + 1 < n && k < 8; k++) {
		EXPECT_TRUE(NEAR(on[k], 500)) TH_LOG("delay pulse %u on %u ms", k, on[k]);
		EXPECT_TRUE(NEAR(off[k], 500)) TH_LOG("delay pulse %u off %u ms", k, off[k]);
	}
	EXPECT_TRUE(wait_for(line_value(&self->b, LED_LINE0 + SIG_WINDOW) == 1, 500));
	EXPECT_TRUE(wait_for(line_value(&self->b, LED_LINE0 + SIG_DELAY) == 0, 700))
		TH_LOG("the delay still shows in the window");
	usleep(1000000);
	EXPECT_EQ(1, line_value(&self->b, LED_LINE0 + SIG_WINDOW)) TH_LOG("the window light is not steady");
	EXPECT_EQ(0, led_pulses(r, SIG_WINDOW, on, off, 8, &on_now)) led_dump(_metadata, r);
	EXPECT_TRUE(on_now);
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 2000));
	t_open = now_ms() - r->t0_ms;
	ksft_print_msg("signal window: on steadily for %u ms, until the opening\n",
		       t_open - t_window);
	EXPECT_TRUE(wait_for(line_value(&self->b, LED_LINE0 + SIG_WINDOW) == 0, 500));
	EXPECT_EQ(0, led_edges(r, SIG_DELAY, t_window + 700));
	EXPECT_GT(t_open, t_window);
	led_watch_end(r);
}

/*
 * A low battery flashes 100 ms every 2 s while it lasts; an LED that
 * starts to follow it then flashes at once; a good battery goes dark.
 */
TEST_F(board, signal_battery)
{
	uint32_t on[8], off[8], t_follow;
	struct led_rec *r;
	char path[256];
	unsigned int n, k;
	bool on_now;

	NEED_BOARD();
	REGISTER_VERIFIER();
	LEDS_UP(r);
	ASSERT_EQ(0, set_line(&self->b, BATTERY_LINE, true));
	usleep(4600000);
	n = led_pulses(r, SIG_BATTERY, on, off, 8, &on_now);
	led_report(SIG_BATTERY, on, off, n, 8);
	EXPECT_LE(2, n) led_dump(_metadata, r);
	EXPECT_GE(3, n) led_dump(_metadata, r);
	for (k = 0; k < n && k < 8; k++) {
		EXPECT_TRUE(NEAR(on[k], 100)) TH_LOG("battery pulse %u on %u ms", k, on[k]);
		if (k + 1 < n)
			EXPECT_TRUE(NEAR(off[k], 1900)) TH_LOG("battery pulse %u off %u ms", k, off[k]);
	}
	/* An LED taken off the trigger and put back shows it again. */
	ASSERT_TRUE(led_dir(&self->b, SIG_BATTERY, path, sizeof(path) - 8));
	strcat(path, "/trigger");
	ASSERT_EQ(0, write_str(path, "none"));
	t_follow = now_ms() - r->t0_ms;
	ASSERT_EQ(0, led_follow(&self->b, SIG_BATTERY));
	EXPECT_TRUE(wait_for(led_edges(r, SIG_BATTERY, t_follow) > 0, 2500))
		TH_LOG("an LED that follows the trigger late does not show the low battery");
	ASSERT_EQ(0, set_line(&self->b, BATTERY_LINE, false));
	usleep(300000);
	t_follow = now_ms() - r->t0_ms;
	usleep(2500000);
	EXPECT_EQ(0, led_edges(r, SIG_BATTERY, t_follow)) led_dump(_metadata, r);
	EXPECT_EQ(0, line_value(&self->b, LED_LINE0 + SIG_BATTERY));
	led_watch_end(r);
}

/* Once the door has been opened, closing it relocks; the timer waits. */
TEST_F(board, door_close_relocks)
{
	struct safelock_info info;
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);
	ASSERT_EQ(0, nl_verdict(&self->v, vr.device, vr.id, vr.nonce,
				SAFELOCK_RESULT_GRANTED, ext, sizeof(ext)))
		TH_LOG("verdict refused: %s", ext);
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 2000));
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000));
	/* Past the relock delay the bolt stays back: it would hit the frame. */
	EXPECT_FALSE(wait_for(bolt(&self->b) == 0, info.relock_ms + 500))
		TH_LOG("the bolt was thrown with the door open");
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));
	ASSERT_EQ(0, set_door(&self->b, false));
	EXPECT_TRUE(wait_for(bolt(&self->b) == 0, 1000))
		TH_LOG("closing the door did not relock");
	/* No bolt sensor: RELOCKING lasts the drive time, then LOCKED. */
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, self->b.drive_ms + 1000));
}

TEST_F(board, chardev)
{
	struct safelock_event evs[8];
	struct safelock_status st;
	struct safelock_info info;
	uint64_t first = 0, prev = 0;
	unsigned int i, total = 0;
	char small[sizeof(struct safelock_event) - 1];
	ssize_t n;

	NEED_BOARD();
	EXPECT_EQ(-1, ioctl(self->b.fd, _IO(SAFELOCK_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->b.fd, _IOR('x', 0x02, struct safelock_status), &st));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, read(self->b.fd, small, sizeof(small)));
	EXPECT_EQ(EINVAL, errno);

	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	EXPECT_EQ(SAFELOCK_ABI_VERSION, info.abi_version);
	EXPECT_EQ(SAFELOCK_LINE_BOLT | SAFELOCK_LINE_DOOR | SAFELOCK_LINE_KEYPAD,
		  info.lines & (SAFELOCK_LINE_BOLT | SAFELOCK_LINE_DOOR | SAFELOCK_LINE_KEYPAD));
	/* What the board (module parameters, or the device tree) gave it. */
	EXPECT_EQ(self->b.relock_ms, info.relock_ms);
	EXPECT_EQ(self->b.verify_ms, info.verify_timeout_ms);
	EXPECT_EQ(self->b.entry_ms, info.entry_timeout_ms);
	EXPECT_NE(0, info.name[0]);
	EXPECT_LT(strnlen(info.name, sizeof(info.name)), sizeof(info.name));
	for (i = 0; i < sizeof(info.padding) / sizeof(info.padding[0]); i++)
		EXPECT_EQ(0, info.padding[i]);
	/* The driver's features; a solenoid without a bolt sensor. */
	EXPECT_EQ(SAFELOCK_CAP_PENALTY | SAFELOCK_CAP_TIME_DELAY | SAFELOCK_CAP_DUAL_CONTROL |
		  SAFELOCK_CAP_DURESS | SAFELOCK_CAP_FAULT_CLEAR | SAFELOCK_CAP_TIME_LOCK |
		  SAFELOCK_CAP_OVERRIDE, info.caps);
	EXPECT_FALSE(info.lines & (SAFELOCK_LINE_BOLT_SENSOR | SAFELOCK_LINE_BOLT_MOTOR));

	REGISTER_VERIFIER();

	/* Door open: LOCK_NOW refuses; closed: it works. */
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000));
	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, set_door(&self->b, false));
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN), 2000));
	EXPECT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("%s", strerror(errno));

	/* Some events: an entry abandoned with ESC and a malformed one. */
	ASSERT_EQ(0, type_keys(&self->b, "0012C"));
	ASSERT_EQ(0, type_keys(&self->b, "0011E"));
	ASSERT_TRUE(wait_for(get_status(&self->b, &st) == 0 && st.state == SAFELOCK_STATE_LOCKED &&
			     st.last_seq >= 6, 3000));
	/* Several records per read, whole records only, no holes. */
	while (wait_for(!get_status(&self->b, &st), 10)) {
		struct pollfd p = { .fd = self->b.fd, .events = POLLIN };

		if (poll(&p, 1, 200) <= 0)
			break;
		n = read(self->b.fd, evs, sizeof(evs) - 3);
		ASSERT_LT(0, n) TH_LOG("read: %s", strerror(errno));
		ASSERT_EQ(0, n % sizeof(evs[0]));
		for (i = 0; i < n / sizeof(evs[0]); i++, total++) {
			if (!first)
				first = evs[i].seq;
			else
				EXPECT_EQ(prev + 1, evs[i].seq);
			prev = evs[i].seq;
			EXPECT_NE(0, evs[i].timestamp_ns);
			EXPECT_LT(0, evs[i].type);
			EXPECT_GT(SAFELOCK_EVENT_MAX, evs[i].type);
		}
	}
	ASSERT_LE(6, total);
	ASSERT_EQ(0, get_status(&self->b, &st));
	EXPECT_EQ(st.last_seq, prev);
	EXPECT_EQ(0, bolt(&self->b));
}

TEST_F(board, unbind_while_open)
{
	struct safelock_event ev[4];
	struct safelock_status st;
	struct pollfd p;
	struct verify_req vr;
	char code[16], ext[256];
	int i, ret = 0;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ENTER_AND_VERIFY(code, &vr);

	ASSERT_EQ(0, board_unload(&self->b)) TH_LOG("cannot unload the test board");
	ASSERT_TRUE(wait_for(!exists(self->b.node), 3000)) TH_LOG("%s still there", self->b.node);

	p = (struct pollfd){ .fd = self->b.fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&p, 1, 1000));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLHUP | POLLERR));

	/* Events queued before the unbind may still be read; then ENODEV. */
	for (i = 0; i < 100; i++) {
		ret = read(self->b.fd, ev, sizeof(ev));
		if (ret < 0)
			break;
		ASSERT_EQ(0, ret % sizeof(ev[0]));
	}
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_GET_STATE, &st));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(ENODEV, errno);

	/* The pending request died with the device. */
	ret = nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_GRANTED,
			 ext, sizeof(ext));
	EXPECT_EQ(-ENODEV, ret) TH_LOG("verdict after unbind: %d (%s)", ret, ext);

	EXPECT_EQ(0, close(self->b.fd));
	self->b.fd = -1;
}

/* ------------------------------------------------------------------ */
/* The time lock and the time-delay override                           */

#define DAY_S		86400ULL
#define QUARTER_S	900ULL

/* CLOCK_REALTIME, whole seconds. */
static uint64_t real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* The first day (since 1970-01-01) from 2027-01-02 on that is a @wday (0 Sunday). */
static uint64_t day_on(unsigned int wday)
{
	uint64_t d = 20820;

	while ((d + 4) % 7 != wday)
		d++;
	return d;
}

/* Set CLOCK_REALTIME to @sec; the fixture's teardown puts it back. */
static int set_clock(FIXTURE_DATA(board) *self, uint64_t sec)
{
	struct timespec ts = { .tv_sec = (time_t)sec };

	if (!self->clock_saved) {
		clock_gettime(CLOCK_REALTIME, &self->real0);
		clock_gettime(CLOCK_BOOTTIME, &self->boot0);
		self->clock_saved = true;
	}
	return clock_settime(CLOCK_REALTIME, &ts) ? -errno : 0;
}

/* Back to the time it was, plus the time that passed since. */
static void restore_clock(FIXTURE_DATA(board) *self)
{
	struct timespec now, ts;
	int64_t ns;

	if (!self->clock_saved)
		return;
	clock_gettime(CLOCK_BOOTTIME, &now);
	ns = (int64_t)(now.tv_sec - self->boot0.tv_sec) * 1000000000LL +
	     (now.tv_nsec - self->boot0.tv_nsec) +
	     (int64_t)self->real0.tv_sec * 1000000000LL + self->real0.tv_nsec;
	ts.tv_sec = ns / 1000000000LL;
	ts.tv_nsec = ns % 1000000000LL;
	if (clock_settime(CLOCK_REALTIME, &ts))
		fprintf(stderr, "# cannot put the clock back: %s\n", strerror(errno));
	self->clock_saved = false;
}

/* CLOCK_SET, as safelockd sends it when its timerfd sees the clock set. */
static int nl_clock_set(struct nl *nl, int64_t device, char *ext, size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_CLOCK_SET, SAFELOCK_GENL_VERSION);
	if (device >= 0)
		msg_put_u32(&m, SAFELOCK_A_DEVICE, (uint32_t)device);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

/* Set the clock and nobody says so: the lock notices at its next reading. */
#define SET_CLOCK_UNTOLD(sec) do {						\
	int __ret = set_clock(self, (sec));					\
	if (__ret == -EPERM)							\
		SKIP(return, "cannot set CLOCK_REALTIME (CAP_SYS_TIME)");	\
	ASSERT_EQ(0, __ret) TH_LOG("clock_settime: %s", strerror(-__ret));	\
} while (0)

/* Set the clock, and the registered verifier says so, as safelockd does. */
#define SET_CLOCK(sec) do {							\
	char __cext[256];							\
	int __cret;								\
	SET_CLOCK_UNTOLD(sec);							\
	if (self->v.fd >= 0) {							\
		__cret = nl_clock_set(&self->v, -1, __cext, sizeof(__cext));	\
		ASSERT_EQ(0, __cret) TH_LOG("CLOCK_SET: %s (%s)",		\
					    strerror(-__cret), __cext);		\
	}									\
} while (0)

static void week_lock(uint8_t *week, unsigned int wday, unsigned int quarter)
{
	unsigned int bit = wday * 96 + quarter;

	week[bit / 8] |= 1U << (bit % 8);
}

static void policy_start(struct nl_msg *m, struct nl *nl, uint32_t device)
{
	msg_start(m, nl->family, SAFELOCK_CMD_POLICY_SET, SAFELOCK_GENL_VERSION);
	msg_put_u32(m, SAFELOCK_A_DEVICE, device);
}

/* Time lock on, with @week, @n holidays and @offset (local = UTC + offset). */
static int nl_time_lock(struct nl *nl, uint32_t device, const uint8_t *week,
			const uint32_t *holidays, int n, int32_t offset, char *ext, size_t extlen)
{
	struct nl_msg m;

	policy_start(&m, nl, device);
	msg_put_u8(&m, SAFELOCK_A_TIME_LOCK, 1);
	msg_put(&m, SAFELOCK_A_TIME_LOCK_WEEK, week, SAFELOCK_TIME_LOCK_WEEK_SIZE);
	msg_put(&m, SAFELOCK_A_HOLIDAYS, holidays, n * sizeof(uint32_t));
	msg_put(&m, SAFELOCK_A_UTC_OFFSET_S, &offset, sizeof(offset));
	return nl_transact(nl, &m, ext, extlen, NULL);
}

static int nl_lock_until(struct nl *nl, uint32_t device, uint64_t until, char *ext, size_t extlen)
{
	struct nl_msg m;

	policy_start(&m, nl, device);
	msg_put_u64(&m, SAFELOCK_A_TIME_LOCK_UNTIL, until);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

static uint32_t timer_ms(struct board *b)
{
	struct safelock_status st;

	return get_status(b, &st) ? 0 : st.timer_ms;
}

/* The keypad is quiet: an entry reaches neither the verifier nor the events. */
static bool keypad_quiet(struct __test_metadata *_metadata, FIXTURE_DATA(board) *self)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16];

	random_code(code, NULL);
	EXPECT_EQ(0, type_entry(&self->b, 1, code));
	return nl_wait_verify(&self->v, &vr, 500) == -ETIMEDOUT &&
	       next_event(&self->b, SAFELOCK_EVENT_ENTRY_STARTED, -1, &ev, 100) == -ETIMEDOUT;
}

/* A locked quarter hour begins on time; a jump forward does not end it. */
TEST_F_TIMEOUT(board, time_lock_schedule, 60)
{
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE] = { 0 };
	uint64_t wed = day_on(3) * DAY_S, t22 = wed + 22 * 3600;
	struct safelock_event ev;
	struct nl_reply rep;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	week_lock(week, 3, 88);			/* Wednesday 22:00-22:15 */
	ASSERT_EQ(0, nl_time_lock(&self->v, self->b.index, week, NULL, 0, 0, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(1, rep.attr[SAFELOCK_A_TIME_LOCK]);
	EXPECT_EQ(0, memcmp(week, rep.week, sizeof(week)));
	EXPECT_EQ(0, rep.n_holidays);
	EXPECT_TRUE(rep.seen & (1ULL << SAFELOCK_A_HOLIDAYS));

	SET_CLOCK(t22 - 3);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_LOCKED, 8000))
		TH_LOG("not time-locked at 22:00 (state %d)", state(&self->b));
	EXPECT_LE(t22, real_s()) TH_LOG("time-locked before 22:00");
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1000));
	EXPECT_EQ(1, ev.value);
	EXPECT_LT(14 * 60 * 1000, timer_ms(&self->b));
	EXPECT_GE(15 * 60 * 1000, timer_ms(&self->b));

	EXPECT_TRUE(keypad_quiet(_metadata, self)) TH_LOG("an entry was taken in TIME_LOCKED");
	EXPECT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b));

	/* To 22:20, past the period's end: reported, and no shorter. */
	SET_CLOCK(t22 + QUARTER_S + 300);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 3000));
	EXPECT_LT(1150, (int32_t)ev.value);
	EXPECT_GT(1200, (int32_t)ev.value);
	EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_TIME_LOCKED, 5000))
		TH_LOG("a jump of the clock ended the time lock (state %d)", state(&self->b));
	EXPECT_LT(10 * 60 * 1000, timer_ms(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
}

/* A period that runs out: LOCKED, and the keypad counts again. */
TEST_F_TIMEOUT(board, time_lock_ends, 60)
{
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE] = { 0 };
	uint64_t end = day_on(3) * DAY_S + 22 * 3600 + QUARTER_S;
	struct safelock_event ev;
	struct verify_req vr;
	char code[16], ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	week_lock(week, 3, 88);
	ASSERT_EQ(0, nl_time_lock(&self->v, self->b.index, week, NULL, 0, 0, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	SET_CLOCK(end - 3);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_LOCKED, 3000));
	EXPECT_GE(3000, timer_ms(&self->b));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 6000))
		TH_LOG("the period did not end");
	EXPECT_LE(end, real_s()) TH_LOG("the period ended early");
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1000));
	EXPECT_EQ(1, ev.value);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1000));
	EXPECT_EQ(0, ev.value);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, ev.state);
	ENTER_AND_VERIFY(code, &vr);
}

/* Saturday 23:45 and Sunday 00:00 make one period, across the week's end. */
TEST_F(board, time_lock_week_wrap)
{
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE] = { 0 };
	uint64_t sun = day_on(0) * DAY_S;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	week_lock(week, 6, 95);
	week_lock(week, 0, 0);
	EXPECT_EQ(0x80, week[SAFELOCK_TIME_LOCK_WEEK_SIZE - 1]);
	EXPECT_EQ(0x01, week[0]);
	ASSERT_EQ(0, nl_time_lock(&self->v, self->b.index, week, NULL, 0, 0, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	SET_CLOCK(sun - 60);			/* Saturday 23:59 */
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_LOCKED, 3000));
	EXPECT_LT(15 * 60 * 1000, timer_ms(&self->b)) TH_LOG("Sunday 00:00 did not join");
	EXPECT_GE(16 * 60 * 1000, timer_ms(&self->b));
}

/* A holiday is locked all day in local time (here UTC + 1 h). */
TEST_F(board, time_lock_holiday)
{
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE] = { 0 };
	uint32_t holidays[3];
	struct nl_reply rep;
	uint64_t midnight;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	holidays[0] = day_on(2) + 70;
	holidays[1] = day_on(2);
	holidays[2] = day_on(2) + 200;
	ASSERT_EQ(0, nl_time_lock(&self->v, self->b.index, week, holidays, 3, 3600,
				  ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	ASSERT_EQ(3, rep.n_holidays);
	EXPECT_EQ(0, memcmp(holidays, rep.holidays, sizeof(holidays)));
	EXPECT_EQ(3600, (int32_t)rep.attr[SAFELOCK_A_UTC_OFFSET_S]);

	midnight = holidays[1] * DAY_S - 3600;	/* local midnight, in UTC */
	SET_CLOCK(midnight - 2);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_LOCKED, 6000))
		TH_LOG("not time-locked on the holiday");
	EXPECT_LE(midnight, real_s()) TH_LOG("time-locked before the holiday");
	EXPECT_LT(86390 * 1000U, timer_ms(&self->b));
	EXPECT_GE(86400 * 1000U, timer_ms(&self->b));
	EXPECT_TRUE(keypad_quiet(_metadata, self));
}

/* The immediate time lock: at once, extended, never shortened, lifted or moved by a jump. */
TEST_F_TIMEOUT(board, time_lock_immediate, 60)
{
	struct safelock_event ev;
	struct nl_reply rep;
	uint64_t now, t0;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	SET_CLOCK(day_on(1) * DAY_S + 9 * 3600);	/* a Monday, 09:00 */
	now = real_s();
	ASSERT_EQ(0, nl_lock_until(&self->v, self->b.index, now + 4, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1000));
	EXPECT_EQ(1, ev.value);
	EXPECT_GE(4000, timer_ms(&self->b));
	EXPECT_TRUE(keypad_quiet(_metadata, self));

	t0 = now_ms();
	ASSERT_EQ(0, nl_lock_until(&self->v, self->b.index, now + 8, ext, sizeof(ext)))
		TH_LOG("extension refused: %s", ext);
	EXPECT_LT(5000, timer_ms(&self->b));
	EXPECT_EQ(-EPERM, nl_lock_until(&self->v, self->b.index, now + 6, ext, sizeof(ext)));
	EXPECT_STREQ("the immediate time lock can only be extended", ext);
	EXPECT_EQ(-EPERM, nl_lock_until(&self->v, self->b.index, 0, ext, sizeof(ext)));
	EXPECT_STREQ("the immediate time lock can only be extended", ext);
	EXPECT_EQ(-ERANGE, nl_lock_until(&self->v, self->b.index, now + 7 * DAY_S + 60,
					 ext, sizeof(ext)));
	EXPECT_STREQ("the immediate time lock ends at most 7 days ahead", ext);
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(now + 8, rep.attr[SAFELOCK_A_TIME_LOCK_UNTIL]);

	/* An hour forward: the wall clock is past its end, the lock holds. */
	SET_CLOCK(real_s() + 3600);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 3000));
	EXPECT_LE(3598, (int32_t)ev.value);
	EXPECT_GE(3602, (int32_t)ev.value);
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b));
	EXPECT_EQ(-EPERM, nl_lock_until(&self->v, self->b.index, 0, ext, sizeof(ext)))
		TH_LOG("lifted after a jump: %s", ext);

	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 10000));
	EXPECT_LE(t0 + 5000, now_ms()) TH_LOG("ended %llu ms after the extension",
					      (unsigned long long)(now_ms() - t0));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1000));
	EXPECT_EQ(0, ev.value);
	EXPECT_EQ(0, bolt(&self->b));
}

/* A jump back lengthens a running period measured by the wall clock. */
TEST_F(board, time_lock_jump_back)
{
	struct safelock_event ev;
	uint64_t now;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	SET_CLOCK(day_on(1) * DAY_S + 9 * 3600);
	now = real_s();
	ASSERT_EQ(0, nl_lock_until(&self->v, self->b.index, now + 5, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	EXPECT_GE(5000, timer_ms(&self->b));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1000));
	SET_CLOCK(now - 60);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 3000));
	EXPECT_GE(-58, (int32_t)ev.value);
	EXPECT_LE(-62, (int32_t)ev.value);
	EXPECT_LT(60 * 1000, timer_ms(&self->b)) TH_LOG("not lengthened: %u ms", timer_ms(&self->b));
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b));
}

/* Without any time lock a jump is reported, and changes nothing else. */
TEST_F(board, clock_jump)
{
	struct safelock_event ev;
	uint64_t now;

	NEED_BOARD();
	REGISTER_VERIFIER();
	now = real_s();
	SET_CLOCK(now + 100);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 3000));
	EXPECT_LE(98, (int32_t)ev.value);
	EXPECT_GE(102, (int32_t)ev.value);
	SET_CLOCK(now - 100);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 3000));
	EXPECT_GE(-198, (int32_t)ev.value);
	EXPECT_LE(-202, (int32_t)ev.value);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_TIME_LOCK, -1, &ev, 1500));
	EXPECT_EQ(0, bolt(&self->b));
}

/*
 * No tick reads the clocks: a set nobody reports is not seen while the lock
 * idles; CLOCK_SET from the verifier reports it at once, from anyone else
 * it is refused.
 */
TEST_F(board, clock_set_told)
{
	struct safelock_event ev;
	struct nl other;
	char ext[256];
	uint64_t now;

	NEED_BOARD();
	REGISTER_VERIFIER();
	now = real_s();
	SET_CLOCK_UNTOLD(now + 100);
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 2500))
		TH_LOG("the clocks were read with nothing due (a tick?)");
	ASSERT_EQ(0, nl_clock_set(&self->v, -1, ext, sizeof(ext))) TH_LOG("CLOCK_SET: %s", ext);
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 300))
		TH_LOG("CLOCK_SET did not read the clocks");
	EXPECT_LE(98, (int32_t)ev.value);
	EXPECT_GE(102, (int32_t)ev.value);
	/* told twice: no second jump */
	ASSERT_EQ(0, nl_clock_set(&self->v, self->b.index, ext, sizeof(ext)));
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 300));
	EXPECT_EQ(-ENODEV, nl_clock_set(&self->v, 15, ext, sizeof(ext)));

	nl_init(&other);
	ASSERT_EQ(0, nl_open(&other));
	EXPECT_EQ(-EPERM, nl_clock_set(&other, -1, ext, sizeof(ext)));
	EXPECT_STREQ("not the registered verifier", ext);
	nl_close(&other);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
}

/* Wednesday 22:00-22:15 locked; the clock set to @told, and told. */
#define QUARTER_AT_22(told) do {						\
	uint8_t __week[SAFELOCK_TIME_LOCK_WEEK_SIZE] = { 0 };			\
	struct safelock_event __ev;						\
	char __ext[256];							\
	week_lock(__week, 3, 88);						\
	ASSERT_EQ(0, nl_time_lock(&self->v, self->b.index, __week, NULL, 0, 0,	\
				  __ext, sizeof(__ext)))				\
		TH_LOG("policy refused: %s", __ext);				\
	SET_CLOCK(told);							\
	ASSERT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));			\
	/* the told jump's event, reported at once: not the one looked for */	\
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1,	\
				&__ev, 1000));					\
} while (0)

/*
 * Set forward past a period's beginning, untold: the beginning is timed on
 * CLOCK_REALTIME, so it fires at once all the same.
 */
TEST_F(board, time_lock_untold_forward)
{
	uint64_t t22 = day_on(3) * DAY_S + 22 * 3600;
	struct safelock_event ev;

	NEED_BOARD();
	REGISTER_VERIFIER();
	QUARTER_AT_22(t22 - 600);
	SET_CLOCK_UNTOLD(t22 + 60);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_LOCKED, 1000))
		TH_LOG("a set past 22:00 did not begin the period (state %d)", state(&self->b));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 500));
	EXPECT_LT(600, (int32_t)ev.value);
	EXPECT_TRUE(keypad_quiet(_metadata, self));
}

/*
 * Set back into a period, untold: no timer is due, but the first key reads
 * the clocks before it counts.  The entry never reaches the verifier.
 */
TEST_F(board, time_lock_untold_key)
{
	uint64_t t22 = day_on(3) * DAY_S + 22 * 3600;
	struct safelock_event ev;

	NEED_BOARD();
	REGISTER_VERIFIER();
	QUARTER_AT_22(t22 + QUARTER_S + 600);
	SET_CLOCK_UNTOLD(t22 + 60);
	/* nothing reads the clocks until something could open */
	EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_LOCKED, 1500));
	ASSERT_EQ(0, type_keys(&self->b, "0"));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_CLOCK_JUMP, -1, &ev, 1000))
		TH_LOG("the jump was not reported at the key");
	EXPECT_GT(-600, (int32_t)ev.value);
	ASSERT_EQ(0, read_event(&self->b, &ev, 500));
	EXPECT_EQ(SAFELOCK_EVENT_TIME_LOCK, ev.type) TH_LOG("event %u after the jump", ev.type);
	EXPECT_EQ(1, ev.value);
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b));
	EXPECT_TRUE(keypad_quiet(_metadata, self)) TH_LOG("an entry was taken in a locked period");
	EXPECT_EQ(0, bolt(&self->b));
}

/*
 * Set back into a period while a request is with the verifier, untold: the
 * grant is read against the clocks first, and opens nothing.
 */
TEST_F(board, time_lock_untold_verdict)
{
	uint64_t t22 = day_on(3) * DAY_S + 22 * 3600;
	struct verify_req vr;
	char code[16], ext[256];
	int ret;

	NEED_BOARD();
	REGISTER_VERIFIER();
	QUARTER_AT_22(t22 + QUARTER_S + 600);
	ENTER_AND_VERIFY(code, &vr);
	SET_CLOCK_UNTOLD(t22 + 60);
	ret = nl_verdict(&self->v, vr.device, vr.id, vr.nonce, SAFELOCK_RESULT_GRANTED,
			 ext, sizeof(ext));
	EXPECT_EQ(-ENOENT, ret) TH_LOG("grant in a locked period: %d (%s)", ret, ext);
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b));
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 1000)) TH_LOG("the bolt opened");
}

/*
 * Set back into a period during a time delay, untold: the delay's end reads
 * the clocks, and no window opens.
 */
TEST_F_TIMEOUT(board, time_lock_untold_delay, 60)
{
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE] = { 0 };
	uint64_t t22 = day_on(3) * DAY_S + 22 * 3600;
	struct nl_msg m;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	week_lock(week, 3, 88);
	policy_start(&m, &self->v, self->b.index);
	msg_put_u32(&m, SAFELOCK_A_TIME_DELAY_S, 3);
	msg_put_u32(&m, SAFELOCK_A_OPEN_WINDOW_S, 60);
	msg_put_u8(&m, SAFELOCK_A_TIME_LOCK, 1);
	msg_put(&m, SAFELOCK_A_TIME_LOCK_WEEK, week, SAFELOCK_TIME_LOCK_WEEK_SIZE);
	ASSERT_EQ(0, nl_transact(&self->v, &m, ext, sizeof(ext), NULL)) TH_LOG("policy: %s", ext);
	SET_CLOCK(t22 + QUARTER_S + 600);
	ASSERT_NE(0, grant_entry(_metadata, self, 1));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_DELAY, 2000));
	SET_CLOCK_UNTOLD(t22 + 60);
	ASSERT_TRUE(wait_for(state(&self->b) != SAFELOCK_STATE_TIME_DELAY, 6000));
	EXPECT_EQ(SAFELOCK_STATE_TIME_LOCKED, state(&self->b))
		TH_LOG("the delay ended in state %d", state(&self->b));
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 500));
}

/* Every new policy attribute, wrong: refused with a reason, nothing changed. */
TEST_F(board, time_lock_hostile)
{
	uint8_t week[SAFELOCK_TIME_LOCK_WEEK_SIZE + 1] = { 0xff };
	uint32_t holidays[SAFELOCK_HOLIDAYS_MAX + 1] = { 1 };
	static const struct {
		uint16_t attr;
		uint16_t len;
		int64_t value;		/* for len <= 8 */
		int err;
		const char *ext;
	} bad[] = {
		{ SAFELOCK_A_TIME_LOCK_WEEK, SAFELOCK_TIME_LOCK_WEEK_SIZE - 1, 0, -ERANGE,
		  "binary attribute size out of range" },
		{ SAFELOCK_A_TIME_LOCK_WEEK, SAFELOCK_TIME_LOCK_WEEK_SIZE + 1, 0, -ERANGE,
		  "binary attribute size out of range" },
		{ SAFELOCK_A_HOLIDAYS, 6, 0, -EINVAL, "holidays are 0 to 32 day numbers of 4 bytes" },
		{ SAFELOCK_A_HOLIDAYS, 4 * (SAFELOCK_HOLIDAYS_MAX + 1), 0, -EINVAL,
		  "holidays are 0 to 32 day numbers of 4 bytes" },
		{ SAFELOCK_A_UTC_OFFSET_S, 4, SAFELOCK_UTC_OFFSET_MAX_S + 1, -ERANGE,
		  "integer out of range" },
		{ SAFELOCK_A_UTC_OFFSET_S, 4, -SAFELOCK_UTC_OFFSET_MAX_S - 1, -ERANGE,
		  "integer out of range" },
		{ SAFELOCK_A_UTC_OFFSET_S, 1, 1, -EINVAL, "invalid attribute length" },
		{ SAFELOCK_A_TIME_LOCK, 1, 2, -ERANGE, "integer out of range" },
		{ SAFELOCK_A_TIME_LOCK, 4, 1, -EINVAL, "invalid attribute length" },
		{ SAFELOCK_A_TIME_LOCK_UNTIL, 4, 1, -EINVAL, "invalid attribute length" },
		{ SAFELOCK_A_OVERRIDE, 1, 2, -ERANGE, "integer out of range" },
	};
	uint8_t nonce[SAFELOCK_NONCE_SIZE] = { 0 };
	struct verify_req vr;
	struct nl_reply rep;
	struct nl_msg m;
	struct nl other;
	char ext[256], code[16];
	unsigned int i;
	int ret;

	NEED_BOARD();
	REGISTER_VERIFIER();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		policy_start(&m, &self->v, self->b.index);
		msg_put_u8(&m, SAFELOCK_A_TIME_LOCK, 1);	/* valid: must not stick */
		msg_put_u8(&m, SAFELOCK_A_OVERRIDE, 1);
		if (bad[i].attr == SAFELOCK_A_TIME_LOCK_WEEK)
			msg_put(&m, bad[i].attr, week, bad[i].len);
		else if (bad[i].attr == SAFELOCK_A_HOLIDAYS)
			msg_put(&m, bad[i].attr, holidays, bad[i].len);
		else
			msg_put(&m, bad[i].attr, &bad[i].value, bad[i].len);
		ret = nl_transact(&self->v, &m, ext, sizeof(ext), NULL);
		EXPECT_EQ(bad[i].err, ret) TH_LOG("case %u (attribute %u, %u bytes)", i,
						  bad[i].attr, bad[i].len);
		EXPECT_STREQ(bad[i].ext, ext) TH_LOG("case %u", i);
	}
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(0, rep.attr[SAFELOCK_A_TIME_LOCK]) TH_LOG("a refused policy changed the lock");
	EXPECT_EQ(0, rep.attr[SAFELOCK_A_OVERRIDE]);
	EXPECT_EQ(0, rep.attr[SAFELOCK_A_TIME_LOCK_UNTIL]);
	EXPECT_EQ(0, (int32_t)rep.attr[SAFELOCK_A_UTC_OFFSET_S]);
	EXPECT_EQ(0, rep.n_holidays);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));

	/* Only the verifier sets a time lock. */
	nl_init(&other);
	ASSERT_EQ(0, nl_open(&other));
	EXPECT_EQ(-EPERM, nl_lock_until(&other, self->b.index, real_s() + 60, ext, sizeof(ext)));
	EXPECT_STREQ("not the registered verifier", ext);
	nl_close(&other);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));

	/* The verdict's override flag: only with a grant, only 0 to 2. */
	ENTER_AND_VERIFY(code, &vr);
	msg_start(&m, self->v.family, SAFELOCK_CMD_VERDICT, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, vr.device);
	msg_put_u64(&m, SAFELOCK_A_REQUEST_ID, vr.id);
	msg_put(&m, SAFELOCK_A_NONCE, vr.nonce, SAFELOCK_NONCE_SIZE);
	msg_put_u32(&m, SAFELOCK_A_RESULT, SAFELOCK_RESULT_DENIED);
	msg_put_u8(&m, SAFELOCK_A_DELAY_OVERRIDE, SAFELOCK_OVERRIDE_MAY);
	EXPECT_EQ(-EINVAL, nl_transact(&self->v, &m, ext, sizeof(ext), NULL));
	EXPECT_STREQ("delay override only goes with a grant", ext);
	msg_start(&m, self->v.family, SAFELOCK_CMD_VERDICT, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, vr.device);
	msg_put_u64(&m, SAFELOCK_A_REQUEST_ID, vr.id);
	msg_put(&m, SAFELOCK_A_NONCE, nonce, SAFELOCK_NONCE_SIZE);
	msg_put_u32(&m, SAFELOCK_A_RESULT, SAFELOCK_RESULT_GRANTED);
	msg_put_u8(&m, SAFELOCK_A_DELAY_OVERRIDE, SAFELOCK_OVERRIDE_MAX);
	EXPECT_EQ(-ERANGE, nl_transact(&self->v, &m, ext, sizeof(ext), NULL));
	EXPECT_STREQ("integer out of range", ext);
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
}

/* Grant an entry of @user with the override flag @ovr; the request id or 0. */
/*
 * An immediate time lock timed by the kernel alone: one clock reading, and
 * it only ever extends what is in force.
 */
TEST_F(board, time_lock_for)
{
	struct nl_reply rep;
	struct nl_msg m;
	uint64_t t0 = real_s();
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	policy_start(&m, &self->v, self->b.index);
	msg_put_u32(&m, SAFELOCK_A_TIME_LOCK_FOR_S, 30);
	msg_put_u64(&m, SAFELOCK_A_TIME_LOCK_UNTIL, t0 + 30);
	EXPECT_EQ(-EINVAL, nl_transact(&self->v, &m, ext, sizeof(ext), NULL));
	EXPECT_STREQ("time-lock-for-s and time-lock-until exclude each other", ext);
	policy_start(&m, &self->v, self->b.index);
	msg_put_u32(&m, SAFELOCK_A_TIME_LOCK_FOR_S, SAFELOCK_TIME_LOCK_MAX_S + 1);
	EXPECT_EQ(-ERANGE, nl_transact(&self->v, &m, ext, sizeof(ext), NULL));

	policy_start(&m, &self->v, self->b.index);
	msg_put_u32(&m, SAFELOCK_A_TIME_LOCK_FOR_S, 30);
	ASSERT_EQ(0, nl_transact(&self->v, &m, ext, sizeof(ext), NULL)) TH_LOG("%s", ext);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_LOCKED, 2000));
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_LE(t0 + 30, rep.attr[SAFELOCK_A_TIME_LOCK_UNTIL]);
	EXPECT_GE(real_s() + 30, rep.attr[SAFELOCK_A_TIME_LOCK_UNTIL]);
	EXPECT_LT(25000u, timer_ms(&self->b));

	/* A shorter one does not shorten it. */
	policy_start(&m, &self->v, self->b.index);
	msg_put_u32(&m, SAFELOCK_A_TIME_LOCK_FOR_S, 1);
	ASSERT_EQ(0, nl_transact(&self->v, &m, ext, sizeof(ext), NULL)) TH_LOG("%s", ext);
	EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_TIME_LOCKED, 2000));
	EXPECT_LT(20000u, timer_ms(&self->b));
}

/*
 * The time delay and the penalty run on the kernel's monotonic clock: the
 * wall clock set a year ahead (or back) shortens neither.
 */
TEST_F(board, timers_ignore_clock)
{
	struct verify_req vr;
	char code[16], ext[256];
	int64_t jump;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(0, nl_policy_set(&self->v, self->b.index, 5, 60, -1, -1, ext, sizeof(ext)))
		TH_LOG("policy refused: %s", ext);
	for (jump = -365 * 86400LL; jump <= 365 * 86400LL; jump += 2 * 365 * 86400LL) {
		ASSERT_NE(0, grant_entry(_metadata, self, 1));
		ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_DELAY, 2000));
		ASSERT_EQ(0, set_clock(self, real_s() + jump));
		EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_TIME_DELAY, 2000))
			TH_LOG("a clock jump of %lld s ended the time delay", (long long)jump);
		EXPECT_LT(2000u, timer_ms(&self->b));
		EXPECT_EQ(0, bolt(&self->b));
		restore_clock(self);
		ASSERT_EQ(0, type_keys(&self->b, "C"));
		ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 2000));

		ENTER_AND_VERIFY(code, &vr);
		ASSERT_EQ(0, nl_verdict_retry(&self->v, vr.device, vr.id, vr.nonce,
					      SAFELOCK_RESULT_DENIED, 5000, ext, sizeof(ext)));
		ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_PENALTY, 2000));
		ASSERT_EQ(0, set_clock(self, real_s() + jump));
		EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_PENALTY, 2000))
			TH_LOG("a clock jump of %lld s ended the penalty", (long long)jump);
		restore_clock(self);
		ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 6000));
	}
}

static uint64_t grant_override(struct __test_metadata *_metadata, FIXTURE_DATA(board) *self,
			       unsigned int user, uint8_t ovr)
{
	struct verify_req vr;
	struct nl_msg m;
	char code[16], ext[256];
	int ret;

	random_code(code, NULL);
	if (type_entry(&self->b, user, code) || nl_wait_verify(&self->v, &vr, 5000))
		return 0;
	msg_start(&m, self->v.family, SAFELOCK_CMD_VERDICT, SAFELOCK_GENL_VERSION);
	msg_put_u32(&m, SAFELOCK_A_DEVICE, vr.device);
	msg_put_u64(&m, SAFELOCK_A_REQUEST_ID, vr.id);
	msg_put(&m, SAFELOCK_A_NONCE, vr.nonce, SAFELOCK_NONCE_SIZE);
	msg_put_u32(&m, SAFELOCK_A_RESULT, SAFELOCK_RESULT_GRANTED);
	msg_put_u8(&m, SAFELOCK_A_DELAY_OVERRIDE, ovr);
	ret = nl_transact(&self->v, &m, ext, sizeof(ext), NULL);
	EXPECT_EQ(0, ret) TH_LOG("verdict refused: %s", ext);
	return ret ? 0 : vr.id;
}

/* Two override users skip the time delay; one alone, or without the policy, does not. */
TEST_F_TIMEOUT(board, delay_override, 60)
{
	struct safelock_event ev;
	struct nl_reply rep;
	struct nl_msg m;
	uint64_t id;
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	policy_start(&m, &self->v, self->b.index);
	msg_put_u32(&m, SAFELOCK_A_TIME_DELAY_S, 600);
	msg_put_u32(&m, SAFELOCK_A_DUAL_WINDOW_S, 30);
	msg_put_u8(&m, SAFELOCK_A_OVERRIDE, 1);
	ASSERT_EQ(0, nl_transact(&self->v, &m, ext, sizeof(ext), NULL))
		TH_LOG("policy refused: %s", ext);
	ASSERT_EQ(0, nl_policy_get(&self->v, self->b.index, &rep));
	EXPECT_EQ(1, rep.attr[SAFELOCK_A_OVERRIDE]);

	ASSERT_NE(0, grant_override(_metadata, self, 1, SAFELOCK_OVERRIDE_MAY));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_DUAL_PENDING, 2000));
	EXPECT_EQ(0, bolt(&self->b));
	EXPECT_LT(25000, timer_ms(&self->b));	/* the dual window */
	/* The same user again is still one. */
	ASSERT_NE(0, grant_override(_metadata, self, 1, SAFELOCK_OVERRIDE_ONLY));
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_DUAL_PENDING, state(&self->b));
	/* A second one: open at once, no time delay. */
	id = grant_override(_metadata, self, 2, SAFELOCK_OVERRIDE_ONLY);
	ASSERT_NE(0, id);
	EXPECT_TRUE(wait_for(bolt(&self->b) == 1, 2000)) TH_LOG("the override did not open");
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_OVERRIDE, -1, &ev, 2000));
	EXPECT_EQ(2, ev.user_id);
	EXPECT_EQ(1, ev.value);
	EXPECT_EQ(id, ev.request_id);
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	/* RELOCKING for the throw's drive time: the keypad is quiet until LOCKED */
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000));

	/* Without the policy: a manager's is an ordinary grant, a courier's nothing. */
	policy_start(&m, &self->v, self->b.index);
	msg_put_u8(&m, SAFELOCK_A_OVERRIDE, 0);
	ASSERT_EQ(0, nl_transact(&self->v, &m, ext, sizeof(ext), NULL)) TH_LOG("%s", ext);
	ASSERT_NE(0, grant_override(_metadata, self, 3, SAFELOCK_OVERRIDE_ONLY));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_RESULT_GRANTED, ev.result);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	EXPECT_EQ(3, ev.user_id);
	ASSERT_NE(0, grant_override(_metadata, self, 1, SAFELOCK_OVERRIDE_MAY));
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_TIME_DELAY, 2000))
		TH_LOG("state %d, not TIME_DELAY", state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
	ASSERT_EQ(0, type_keys(&self->b, "C"));
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 2000));
}

/* ------------------------------------------------------------------ */
/* The bolt: sensor, jams, FAULT, RELOCKING, motor                     */

static int nl_fault_clear(struct nl *nl, int device, char *ext, size_t extlen)
{
	struct nl_msg m;

	msg_start(&m, nl->family, SAFELOCK_CMD_FAULT_CLEAR, SAFELOCK_GENL_VERSION);
	if (device >= 0)
		msg_put_u32(&m, SAFELOCK_A_DEVICE, device);
	return nl_transact(nl, &m, ext, extlen, NULL);
}

/* What went by while waiting for an event. */
struct trail {
	unsigned int bolt[2];		/* BOLT events, by value */
	unsigned int confirmed[2];	/* BOLT_CONFIRMED events, by value */
	unsigned int faults;		/* FAULT events */
	uint64_t bolt_ts[8];		/* the BOLT events' timestamps, in order */
	unsigned int nbolt;
	uint32_t entered;		/* the states STATE events entered, as bits */
};

/*
 * Read events for up to @ms until one of @type (with value @value and state
 * @st where those are >= 0) arrives, noting every event read in @t.
 * Returns 0 or -ETIMEDOUT/-errno.
 */
static int until_event(struct board *b, struct trail *t, uint32_t type, int value, int st,
		       struct safelock_event *ev, int ms)
{
	uint64_t end = now_ms() + ms;
	int ret;

	for (;;) {
		ret = read_event(b, ev, (int)(end > now_ms() ? end - now_ms() : 0));
		if (ret)
			return ret;
		switch (ev->type) {
		case SAFELOCK_EVENT_BOLT:
			t->bolt[!!ev->value]++;
			if (t->nbolt < 8)
				t->bolt_ts[t->nbolt++] = ev->timestamp_ns;
			break;
		case SAFELOCK_EVENT_BOLT_CONFIRMED:
			t->confirmed[!!ev->value]++;
			break;
		case SAFELOCK_EVENT_FAULT:
			t->faults++;
			break;
		case SAFELOCK_EVENT_STATE:
			if (ev->state < 32)
				t->entered |= 1U << ev->state;
			break;
		}
		if (ev->type == type && (value < 0 || ev->value == (uint32_t)value) &&
		    (st < 0 || ev->state == (uint32_t)st))
			return 0;
	}
}

#define MS(x)	((uint64_t)(x) * 1000000ULL)

FIXTURE(bolt) {
	struct board b;
	struct nl v, v2;
	bool up;
	pid_t watch;	/* the motor-line watcher */
};

FIXTURE_VARIANT(bolt) {
	bool motor;
	const char *dt_board;
};

/* A solenoid and a bolt sensor. */
FIXTURE_VARIANT_ADD(bolt, solenoid) {
	.motor = false,
	.dt_board = "solenoid",
};

/* A motor (open and close lines) and a bolt sensor. */
FIXTURE_VARIANT_ADD(bolt, motor) {
	.motor = true,
	.dt_board = "motor",
};

/* The bolt boards' timing (x86; the DT boards carry the same). */
#define BOLT_DRIVE_MS	500
#define BOLT_CONFIRM_MS	1000
#define BOLT_RETRIES	2

FIXTURE_SETUP(bolt)
{
	struct safelock_info info;
	int ret;

	board_init(&self->b);
	self->watch = 0;
	self->b.motor = variant->motor;
	self->b.sensor = true;
	self->b.drive_ms = BOLT_DRIVE_MS;
	self->b.confirm_ms = BOLT_CONFIRM_MS;
	self->b.retries = BOLT_RETRIES;
	self->b.bolt_params = true;
	if (dt_mode()) {
		self->b.dt_board = variant->dt_board;
		self->b.dt_bank = "board";
	}
	nl_init(&self->v);
	nl_init(&self->v2);
	ret = board_up(&self->b, RELOCK_MS, VERIFY_TIMEOUT_MS, ENTRY_TIMEOUT_MS);
	if (ret == KSFT_SKIP)
		SKIP(return, "%s", self->b.err);
	ASSERT_EQ(0, ret) TH_LOG("board setup: %s", self->b.err);
	self->up = true;
	/* The board is what the variant says (in DT mode, what the tree says). */
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	ASSERT_TRUE(self->b.sensor && (info.lines & SAFELOCK_LINE_BOLT_SENSOR))
		TH_LOG("the board has no bolt sensor");
	ASSERT_EQ(variant->motor, self->b.motor);
	ASSERT_EQ(variant->motor, !!(info.lines & SAFELOCK_LINE_BOLT_MOTOR));
	if (self->b.motor)
		self->watch = motor_watch_start(&self->b);
}

FIXTURE_TEARDOWN(bolt)
{
	int seen;

	if (self->watch > 0) {
		seen = motor_watch_end(self->watch);
		EXPECT_EQ(0, seen & SAW_BOTH) TH_LOG("both motor lines were up at once");
	}
	nl_close(&self->v);
	nl_close(&self->v2);
	board_down(&self->b);
}

/* Stop the watcher: what it saw (SAW_*), or -1. */
static int motor_seen(FIXTURE_DATA(bolt) *self)
{
	int seen = motor_watch_end(self->watch);

	self->watch = 0;
	return seen;
}

TEST_F(bolt, info)
{
	struct safelock_info info;
	unsigned int i;

	NEED_BOARD();
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	EXPECT_TRUE(info.lines & SAFELOCK_LINE_BOLT);
	EXPECT_TRUE(info.caps & SAFELOCK_CAP_BOLT_SENSOR);
	EXPECT_TRUE(info.caps & SAFELOCK_CAP_FAULT_CLEAR);
	EXPECT_EQ(self->b.motor, !!(info.caps & SAFELOCK_CAP_BOLT_MOTOR));
	EXPECT_EQ(SAFELOCK_CAP_PENALTY | SAFELOCK_CAP_TIME_DELAY | SAFELOCK_CAP_DUAL_CONTROL |
		  SAFELOCK_CAP_DURESS, info.caps & (SAFELOCK_CAP_PENALTY | SAFELOCK_CAP_TIME_DELAY |
		  SAFELOCK_CAP_DUAL_CONTROL | SAFELOCK_CAP_DURESS));
	for (i = 0; i < sizeof(info.padding) / sizeof(info.padding[0]); i++)
		EXPECT_EQ(0, info.padding[i]);
	/* At rest: thrown, the sensor agrees. */
	EXPECT_FALSE(flags(&self->b) & (SAFELOCK_STATUS_BOLT_OPEN | SAFELOCK_STATUS_BOLT_SENSOR_OPEN));
	ASSERT_EQ(0, set_sensor(&self->b, true));
	EXPECT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_BOLT_SENSOR_OPEN, 1000));
	ASSERT_EQ(0, set_sensor(&self->b, false));
}

/* UNLOCKED only once the sensor confirms the bolt back; LOCKED likewise. */
TEST_F(bolt, open_confirmed)
{
	struct safelock_event ev, driven, confirmed;
	struct trail t = { 0 };

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &driven, 2000));
	/* Driven, not confirmed: not UNLOCKED yet. */
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, driven.state);
	EXPECT_FALSE(wait_for(state(&self->b) == SAFELOCK_STATE_UNLOCKED, 300))
		TH_LOG("UNLOCKED before the sensor confirmed the bolt retracted");
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_BOLT_OPEN);
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_BOLT_SENSOR_OPEN);
	if (!self->b.motor)
		EXPECT_EQ(1, drive(&self->b));

	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT_CONFIRMED, -1, -1,
				 &confirmed, 2000));
	EXPECT_EQ(1, confirmed.value);
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, confirmed.state);
	EXPECT_GT(confirmed.timestamp_ns, driven.timestamp_ns);
	/* A motor stops at the confirmation; a solenoid holds the bolt back. */
	EXPECT_EQ(self->b.motor ? 0 : 1, drive(&self->b));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_UNLOCKED,
				 &ev, 1000));
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_BOLT_SENSOR_OPEN);

	/* The relock: RELOCKING until the sensor confirms the bolt thrown. */
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_RELOCKING,
				 &ev, self->b.relock_ms + 2000));
	EXPECT_EQ(1, t.bolt[0]) TH_LOG("the relock was not driven");
	EXPECT_FALSE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 300))
		TH_LOG("LOCKED before the sensor confirmed the bolt thrown");
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_BOLT_OPEN);
	ASSERT_EQ(0, set_sensor(&self->b, false));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT_CONFIRMED, 0, -1,
				 &confirmed, 2000));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, confirmed.state);
	EXPECT_EQ(0, drive(&self->b));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_LOCKED,
				 &ev, 1000));
	EXPECT_EQ(0, t.faults);
	EXPECT_EQ(1, t.bolt[1]);
	EXPECT_FALSE(self->b.seq_gap);
	if (self->b.motor)
		EXPECT_EQ(SAW_OPEN | SAW_CLOSE, motor_seen(self));
}

/* No confirmation, after every retry: FAULT, the bolt stopped, never UNLOCKED. */
TEST_F(bolt, jam_open)
{
	struct safelock_event ev;
	struct trail t = { 0 };
	struct verify_req vr;
	unsigned int tries = self->b.retries + 1;
	char code[16];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev,
				 tries * self->b.confirm_ms + 3000));
	EXPECT_EQ(SAFELOCK_FAULT_JAM_OPEN, ev.value);
	EXPECT_EQ(SAFELOCK_STATE_FAULT, ev.state);
	/* Driven once and once per retry, a confirm time apart; never UNLOCKED. */
	EXPECT_EQ(tries, t.bolt[1]);
	EXPECT_EQ(0, t.bolt[0]);
	EXPECT_FALSE(t.entered & (1U << SAFELOCK_STATE_UNLOCKED));
	EXPECT_EQ(0, t.confirmed[1]);
	ASSERT_LE(1, t.nbolt);
	EXPECT_LE(MS(tries * self->b.confirm_ms - 50), ev.timestamp_ns - t.bolt_ts[0]);
	if (t.nbolt >= 2)
		EXPECT_LE(MS(self->b.confirm_ms - 50), t.bolt_ts[1] - t.bolt_ts[0]);
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_FAULT,
				 &ev, 1000));
	/* Stopped: the bolt is not driven. */
	EXPECT_EQ(0, drive(&self->b));
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_BOLT_OPEN);

	/* The keypad is quiet. */
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 300))
		TH_LOG("an entry typed in FAULT reached the verifier");
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_ENTRY_STARTED, -1, &ev, 100));
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b));

	/* A relock the sensor confirms clears it: LOCK_NOW, never onto an open door. */
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000));
	EXPECT_EQ(-1, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b));
	ASSERT_EQ(0, set_door(&self->b, false));
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN), 2000));
	memset(&t, 0, sizeof(t));
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev, 3000));
	EXPECT_EQ(SAFELOCK_FAULT_NONE, ev.value);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, ev.state);
	EXPECT_EQ(1, t.confirmed[0]);
	EXPECT_TRUE(t.entered & (1U << SAFELOCK_STATE_RELOCKING));
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));
	/* Keys count again. */
	ENTER_AND_VERIFY(code, &vr);
}

/*
 * Reloaded in FAULT, the bolt still jammed open: probe throws it, the
 * sensor still says retracted, and the lock is in FAULT again, never
 * LOCKED; keys count for nothing. A relock the sensor confirms clears it.
 */
TEST_F(bolt, reload_in_fault)
{
	unsigned int tries = self->b.retries + 1;
	struct safelock_event ev;
	struct verify_req vr;
	struct trail t = { 0 };
	char code[16];
	int d;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &ev, 2000));
	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, SAFELOCK_FAULT_JAM_CLOSE, -1,
				 &ev, self->b.relock_ms + tries * self->b.confirm_ms + 3000));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_FAULT, 1000));

	ASSERT_EQ(0, board_rebind(&self->b)) TH_LOG("%s", self->b.err);
	/* probe drives towards thrown (a motor's close line), never open */
	d = drive(&self->b);
	EXPECT_TRUE(d == 0 || d == -1) TH_LOG("drive %d after the reload", d);
	memset(&t, 0, sizeof(t));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev,
				 tries * self->b.confirm_ms + 3000))
		TH_LOG("no fault after the reload, state %d", state(&self->b));
	EXPECT_NE(SAFELOCK_FAULT_NONE, ev.value);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_FAULT, 2000))
		TH_LOG("state %d after the reload, not FAULT", state(&self->b));
	EXPECT_FALSE(t.entered & (1U << SAFELOCK_STATE_LOCKED)) TH_LOG("LOCKED on a jammed bolt");
	EXPECT_EQ(0, drive(&self->b));
	/* keys count for nothing in FAULT */
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 1000))
		TH_LOG("an entry was sent from FAULT");
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b));

	/* the way back: the jam cleared, a relock the sensor confirms */
	ASSERT_EQ(0, set_sensor(&self->b, false));
	memset(&t, 0, sizeof(t));
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, SAFELOCK_FAULT_NONE, -1, &ev,
				 3000));
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));
}

/* One retry, then the sensor confirms: UNLOCKED, no fault. */
TEST_F(bolt, retry_then_success)
{
	struct safelock_event ev, first, retry;
	struct trail t = { 0 };

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &first, 2000));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &retry,
				 self->b.confirm_ms + 2000)) TH_LOG("no retry");
	EXPECT_LE(MS(self->b.confirm_ms - 50), retry.timestamp_ns - first.timestamp_ns);
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, retry.state);
	EXPECT_EQ(0, t.faults);
	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT_CONFIRMED, 1, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, ev.state);
	EXPECT_EQ(0, t.faults);
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_RELOCKING,
				 &ev, self->b.relock_ms + 2000));
	ASSERT_EQ(0, set_sensor(&self->b, false));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_LOCKED,
				 &ev, 2000));
	EXPECT_EQ(0, t.faults);
}

/* A jam on the relock: FAULT; only the verifier's FAULT_CLEAR (or a relock) clears it. */
TEST_F(bolt, jam_close_fault_clear)
{
	unsigned int tries = self->b.retries + 1;
	struct safelock_event ev;
	struct trail t = { 0 };
	char ext[256];
	int status;
	pid_t pid;

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &ev, 2000));
	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_UNLOCKED,
				 &ev, 2000));
	/* The bolt never leaves the retracted end. */
	memset(&t, 0, sizeof(t));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev,
				 self->b.relock_ms + tries * self->b.confirm_ms + 3000));
	EXPECT_EQ(SAFELOCK_FAULT_JAM_CLOSE, ev.value);
	EXPECT_TRUE(t.entered & (1U << SAFELOCK_STATE_RELOCKING));
	EXPECT_FALSE(t.entered & (1U << SAFELOCK_STATE_LOCKED)) TH_LOG("LOCKED on a jammed bolt");
	EXPECT_EQ(0, t.confirmed[0]);
	/* A motor drives again for each retry; a released solenoid has no more to give. */
	EXPECT_EQ(self->b.motor ? tries : 1, t.bolt[0]);
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_FAULT,
				 &ev, 1000));
	EXPECT_EQ(0, drive(&self->b));

	/* Only the registered verifier clears a fault: not another root socket, */
	ASSERT_EQ(0, nl_open(&self->v2));
	EXPECT_EQ(-EPERM, nl_fault_clear(&self->v2, self->b.index, ext, sizeof(ext)));
	EXPECT_STREQ("not the registered verifier", ext);
	/* nor anyone without CAP_NET_ADMIN, */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct nl nl;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534) || nl_open(&nl))
			_exit(100);
		_exit(nl_fault_clear(&nl, self->b.index, ext, sizeof(ext)) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("unprivileged FAULT_CLEAR: child status %d", status);
	/* and it names a lock that exists, */
	EXPECT_EQ(-EINVAL, nl_fault_clear(&self->v, -1, ext, sizeof(ext)));
	EXPECT_EQ(-ENODEV, nl_fault_clear(&self->v, 15, ext, sizeof(ext)));
	EXPECT_STREQ("no such device", ext);
	EXPECT_EQ(-ERANGE, nl_fault_clear(&self->v, 99, ext, sizeof(ext)));
	EXPECT_NE(0, ext[0]) TH_LOG("no extack for an out-of-range device");
	/* never onto an open door. */
	ASSERT_EQ(0, set_door(&self->b, true));
	ASSERT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000));
	EXPECT_EQ(-EBUSY, nl_fault_clear(&self->v, self->b.index, ext, sizeof(ext)));
	EXPECT_STREQ("the door is open", ext);
	ASSERT_EQ(0, set_door(&self->b, false));
	ASSERT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN), 2000));
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b));

	memset(&t, 0, sizeof(t));
	ASSERT_EQ(0, nl_fault_clear(&self->v, self->b.index, ext, sizeof(ext)))
		TH_LOG("FAULT_CLEAR refused: %s", ext);
	EXPECT_EQ(SAFELOCK_STATE_RELOCKING, state(&self->b));
	EXPECT_EQ(-EALREADY, nl_fault_clear(&self->v, self->b.index, ext, sizeof(ext)));
	EXPECT_STREQ("the relock that clears the fault is under way", ext);
	EXPECT_FALSE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 300))
		TH_LOG("LOCKED before the sensor confirmed");
	ASSERT_EQ(0, set_sensor(&self->b, false));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev, 3000));
	EXPECT_EQ(SAFELOCK_FAULT_NONE, ev.value);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, ev.state);
	EXPECT_EQ(1, t.confirmed[0]);
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));
	EXPECT_EQ(-ENOENT, nl_fault_clear(&self->v, self->b.index, ext, sizeof(ext)));
	EXPECT_STREQ("no fault to clear", ext);
}

/* The bolt moved with nobody driving it: FAULT and the silent alarm. */
TEST_F(bolt, sensor_fault)
{
	struct safelock_info info;
	struct safelock_event ev;
	struct trail t = { 0 };
	struct verify_req vr;
	char code[16];

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	ASSERT_TRUE(info.lines & SAFELOCK_LINE_ALARM) TH_LOG("the board has no alarm line");
	REGISTER_VERIFIER();
	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_FAULT_SENSOR, ev.value);
	EXPECT_EQ(SAFELOCK_STATE_FAULT, ev.state);
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_ALARM, 1, -1, &ev, 2000));
	EXPECT_TRUE(wait_for(line_value(&self->b, ALARM_LINE) == 1, 1000));
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b));
	EXPECT_EQ(0, drive(&self->b));
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 300));
	/* Once in fault, the sensor is not news until a relock. */
	ASSERT_EQ(0, set_sensor(&self->b, false));
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_FAULT, -1, &ev, 300));
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b));
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_FAULT, -1, &ev, 3000));
	EXPECT_EQ(SAFELOCK_FAULT_NONE, ev.value);
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));
}

/* LOCK_NOW while the bolt is on its way back: thrown again, never UNLOCKED. */
TEST_F(bolt, lock_now_during_unlock)
{
	struct safelock_event ev;
	struct trail t = { 0 };

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_STATE_VERIFYING, state(&self->b));
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("%s", strerror(errno));
	/* The sensor never left "thrown": the throw is confirmed at once. */
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_LOCKED,
				 &ev, 2000));
	EXPECT_EQ(1, t.bolt[0]);
	EXPECT_EQ(1, t.confirmed[0]);
	EXPECT_TRUE(t.entered & (1U << SAFELOCK_STATE_RELOCKING));
	EXPECT_FALSE(t.entered & (1U << SAFELOCK_STATE_UNLOCKED));
	EXPECT_EQ(0, drive(&self->b));
	/* Nothing of the abandoned opening comes back. */
	EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_LOCKED, self->b.confirm_ms + 300));
	EXPECT_EQ(-ETIMEDOUT, next_event(&self->b, SAFELOCK_EVENT_BOLT, -1, &ev, 100));
}

/*
 * The door opens mid-relock: only a fresh grant retracts the bolt, so the
 * throw goes on (a flapping or forced door line must not undo a relock).
 */
TEST_F(bolt, door_opens_mid_relock)
{
	struct safelock_event ev;
	struct trail t = { 0 };

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &ev, 2000));
	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_UNLOCKED,
				 &ev, 2000));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_RELOCKING,
				 &ev, self->b.relock_ms + 2000));
	/* The bolt has not moved yet (the sensor says retracted) when the door opens. */
	ASSERT_EQ(0, set_door(&self->b, true));
	EXPECT_EQ(-ETIMEDOUT, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &ev, 500))
		TH_LOG("the bolt was retracted again for the open door");
	EXPECT_EQ(SAFELOCK_STATE_RELOCKING, state(&self->b));
	ASSERT_EQ(0, set_sensor(&self->b, false));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_LOCKED,
				 &ev, 2000));
	EXPECT_EQ(1u, t.bolt[1]) TH_LOG("the bolt was driven open more than once");
	EXPECT_EQ(0, t.faults);
	ASSERT_EQ(0, set_door(&self->b, false));
	EXPECT_FALSE(wait_for(state(&self->b) != SAFELOCK_STATE_LOCKED, 500));
}

/*
 * The bolt sensor flips while the lock is open: a fault and the alarm, but
 * never a reason not to relock: the bolt is thrown at the relock time.
 */
TEST_F(bolt, sensor_flip_unlocked)
{
	struct safelock_event ev;
	struct trail t = { 0 };

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &ev, 2000));
	ASSERT_EQ(0, set_sensor(&self->b, true));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_UNLOCKED,
				 &ev, 2000));
	ASSERT_EQ(0, set_sensor(&self->b, false));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_FAULT, -1, -1, &ev, 2000));
	EXPECT_EQ(SAFELOCK_FAULT_SENSOR, ev.value);
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_ALARM, 1, -1, &ev, 2000));
	/* the relock goes on as planned: driven closed, then LOCKED */
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_RELOCKING,
				 &ev, self->b.relock_ms + 2000))
		TH_LOG("no relock after the sensor fault (state %d)", state(&self->b));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_LOCKED,
				 &ev, 3000));
	EXPECT_EQ(0, drive(&self->b));
}

/* Boards without a bolt sensor: a solenoid, and a motor with a drive time. */
FIXTURE(plain) {
	struct board b;
	struct nl v;
	bool up;
	pid_t watch;
};

FIXTURE_VARIANT(plain) {
	bool motor;
	const char *dt_board;
	const char *dt_bank;
};

FIXTURE_VARIANT_ADD(plain, solenoid) {
	.motor = false,
	.dt_board = "board",
};

FIXTURE_VARIANT_ADD(plain, motor) {
	.motor = true,
	.dt_board = "motor-plain",
	.dt_bank = "board",
};

FIXTURE_SETUP(plain)
{
	int ret;

	board_init(&self->b);
	self->watch = 0;
	self->b.motor = variant->motor;
	self->b.drive_ms = BOLT_DRIVE_MS;
	self->b.bolt_params = true;
	if (dt_mode()) {
		self->b.dt_board = variant->dt_board;
		self->b.dt_bank = variant->dt_bank;
	}
	nl_init(&self->v);
	ret = board_up(&self->b, RELOCK_MS, VERIFY_TIMEOUT_MS, ENTRY_TIMEOUT_MS);
	if (ret == KSFT_SKIP)
		SKIP(return, "%s", self->b.err);
	ASSERT_EQ(0, ret) TH_LOG("board setup: %s", self->b.err);
	self->up = true;
	ASSERT_EQ(variant->motor, self->b.motor);
	ASSERT_FALSE(self->b.sensor);
	if (self->b.motor)
		self->watch = motor_watch_start(&self->b);
}

FIXTURE_TEARDOWN(plain)
{
	if (self->watch > 0)
		EXPECT_EQ(0, motor_watch_end(self->watch) & SAW_BOTH)
			TH_LOG("both motor lines were up at once");
	nl_close(&self->v);
	board_down(&self->b);
}

/* No sensor: UNLOCKED when driven (as ever), RELOCKING for the drive time. */
TEST_F(plain, open_and_relock)
{
	struct safelock_event ev, unlocked, driven, relocking;
	struct safelock_info info;
	struct trail t = { 0 };
	int seen;

	NEED_BOARD();
	ASSERT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_GET_INFO, &info));
	EXPECT_FALSE(info.caps & SAFELOCK_CAP_BOLT_SENSOR);
	EXPECT_FALSE(info.lines & SAFELOCK_LINE_BOLT_SENSOR);
	EXPECT_EQ(self->b.motor, !!(info.lines & SAFELOCK_LINE_BOLT_MOTOR));
	EXPECT_EQ(self->b.motor, !!(info.caps & SAFELOCK_CAP_BOLT_MOTOR));
	REGISTER_VERIFIER();
	ASSERT_NE(0, grant_on(_metadata, &self->b, &self->v, 1));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_UNLOCKED,
				 &unlocked, 2000));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_BOLT, 1, -1, &driven, 1000));
	EXPECT_GE(MS(50), driven.timestamp_ns - unlocked.timestamp_ns);
	EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_BOLT_OPEN);
	if (self->b.motor) {
		/* The motor runs for its drive time, then stops; still UNLOCKED. */
		EXPECT_TRUE(wait_for(drive(&self->b) == 0, self->b.drive_ms + 1000));
		EXPECT_EQ(SAFELOCK_STATE_UNLOCKED, state(&self->b));
		EXPECT_TRUE(flags(&self->b) & SAFELOCK_STATUS_BOLT_OPEN);
	} else {
		EXPECT_EQ(1, drive(&self->b));
	}
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_RELOCKING,
				 &relocking, self->b.relock_ms + 2000));
	ASSERT_EQ(0, until_event(&self->b, &t, SAFELOCK_EVENT_STATE, -1, SAFELOCK_STATE_LOCKED,
				 &ev, self->b.drive_ms + 2000));
	EXPECT_LE(MS(self->b.drive_ms - 20), ev.timestamp_ns - relocking.timestamp_ns)
		TH_LOG("LOCKED %llu ms after RELOCKING, the drive time is %u ms",
		       (unsigned long long)(ev.timestamp_ns - relocking.timestamp_ns) / 1000000,
		       self->b.drive_ms);
	EXPECT_EQ(1, t.bolt[0]);
	EXPECT_EQ(0, t.confirmed[0] + t.confirmed[1]);
	EXPECT_EQ(0, t.faults);
	EXPECT_TRUE(wait_for(drive(&self->b) == 0, 1000));
	if (self->b.motor) {
		seen = motor_watch_end(self->watch);
		self->watch = 0;
		EXPECT_EQ(SAW_OPEN | SAW_CLOSE, seen);
	}
}

/* Read the kernel log from @fd (opened at its end) for a record with @text. */
static bool kmsg_has(int fd, const char *text)
{
	char rec[2048];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten records: go on */
			continue;
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (strstr(rec, text))
			return true;
	}
}

/*
 * Bad bolt descriptions fail the probe, and say why: test-board parameters,
 * or in DT mode the overlay's safelock-bad-* nodes, bound one by one.
 */
static const struct {
	const char *params, *dt_node, *msg;
} bad_boards[] = {
	{ "bolt=both", "bad-both", "bolt-gpios and bolt-motor-gpios are exclusive" },
	{ "bolt=motor motor_lines=1", "bad-motor", "bolt-motor-gpios has 1 lines, needs 2" },
	{ "bolt_retries=6", "bad-retries", "bolt-retries = 6 out of range 0..5" },
	{ "bolt_drive_ms=10", "bad-drive", "bolt-drive-ms = 10 out of range 20..5000" },
	{ "bolt_drive_ms=600 bolt_confirm_ms=500", "bad-confirm",
	  "bolt-confirm-ms = 500 is shorter than bolt-drive-ms = 600" },
};

/* Bring up bad board @i; true if the driver refused it. */
static bool bad_board_refused(struct __test_metadata *_metadata, struct board *b, unsigned int i)
{
	char path[512];
	int ret;

	if (dt_mode()) {
		snprintf(b->pdev, sizeof(b->pdev), "safelock-%s", bad_boards[i].dt_node);
		snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s", b->pdev);
		ASSERT_TRUE(exists(path)) TH_LOG("no %s node in the device tree", b->pdev);
		dt_unbind_others();
		ret = write_str(DT_DRIVER_DIR "/bind", b->pdev);
		snprintf(path, sizeof(path), DT_DEVICES_DIR "/%s/driver", b->pdev);
		if (!ret || exists(path)) {
			write_str(DT_DRIVER_DIR "/unbind", b->pdev);
			return false;
		}
		return true;
	}
	snprintf(b->extra, sizeof(b->extra), "%s", bad_boards[i].params);
	ret = board_load(b, RELOCK_MS, VERIFY_TIMEOUT_MS, ENTRY_TIMEOUT_MS);
	ASSERT_EQ(0, ret) TH_LOG("%s", b->err);
	ret = !wait_for(exists("/dev/safelock0"), 500);
	board_down(b);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Lines that cannot be read (the test board's faulty chip)            */

FIXTURE(faulty) {
	struct board b;
	struct nl v;
	bool up;
};

/* Write a parameter of the test board's faulty chip. */
static int tb_param(const char *name, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/" TESTBOARD "/parameters/%s", name);
	return write_str(path, value);
}

FIXTURE_SETUP(faulty)
{
	int ret;

	board_init(&self->b);
	nl_init(&self->v);
	if (dt_mode())
		SKIP(return, "the DT boards' lines are all gpio-sim lines; the x86 test board has lines whose reads fail");
	/* a solenoid, the door and the bolt sensor on lines that can fail */
	self->b.sensor = true;
	snprintf(self->b.extra, sizeof(self->b.extra), "faulty=1");
	ret = board_up(&self->b, RELOCK_MS, VERIFY_TIMEOUT_MS, ENTRY_TIMEOUT_MS);
	if (ret == KSFT_SKIP)
		SKIP(return, "%s", self->b.err);
	ASSERT_EQ(0, ret) TH_LOG("board setup: %s", self->b.err);
	self->up = true;
}

FIXTURE_TEARDOWN(faulty)
{
	nl_close(&self->v);
	board_down(&self->b);
}

/*
 * A door line that cannot be read counts as shut: it never stands in for
 * an open door (a wipe is refused), and LOCK_NOW still throws the bolt.
 */
TEST_F(faulty, door_unreadable)
{
	char ext[256];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	ASSERT_EQ(0, tb_param("read_error", "1"));
	ASSERT_EQ(0, tb_param("door_open", "1"));	/* an edge: the driver reads it */
	usleep(500000);
	EXPECT_FALSE(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN)
		TH_LOG("a door line that cannot be read reads as open");
	EXPECT_EQ(-EBUSY, nl_register(&self->v, 0, ext, sizeof(ext)))
		TH_LOG("a wipe with the door unreadable: %s", ext);
	EXPECT_STREQ("the door is not open: a provisioned lock is never made new with its door shut",
		     ext);
	usleep(200000);
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	EXPECT_EQ(0, ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW)) TH_LOG("LOCK_NOW: %s", strerror(errno));
	EXPECT_EQ(0, bolt(&self->b));

	/* readable again: the door is open after all */
	ASSERT_EQ(0, tb_param("read_error", "0"));
	EXPECT_TRUE(wait_for(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN, 2000))
		TH_LOG("the door read again is not open");
	ASSERT_EQ(0, tb_param("door_open", "0"));
	EXPECT_TRUE(wait_for(!(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN), 2000));
}

/*
 * A bolt sensor that cannot be read counts as "retracted": on a locked
 * lock that is a sensor fault (FAULT, keys ignored, the bolt not driven),
 * and no relock is confirmed while it lasts; readable again, a confirmed
 * relock clears it.
 */
TEST_F(faulty, sensor_unreadable)
{
	struct safelock_event ev;
	struct verify_req vr;
	char code[16];

	NEED_BOARD();
	REGISTER_VERIFIER();
	ASSERT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
	ASSERT_EQ(0, tb_param("read_error", "2"));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_FAULT, -1, &ev, 3000))
		TH_LOG("no fault for an unreadable sensor, state %d", state(&self->b));
	EXPECT_EQ(SAFELOCK_FAULT_SENSOR, ev.value);
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_FAULT, 2000));
	EXPECT_EQ(0, bolt(&self->b));
	random_code(code, NULL);
	ASSERT_EQ(0, type_entry(&self->b, 1, code));
	EXPECT_EQ(-ETIMEDOUT, nl_wait_verify(&self->v, &vr, 1000))
		TH_LOG("an entry was sent from FAULT");
	/* a relock cannot be confirmed by a sensor that cannot be read */
	ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW);
	usleep((self->b.confirm_ms * (self->b.retries + 1) + 1000) * 1000);
	EXPECT_EQ(SAFELOCK_STATE_FAULT, state(&self->b))
		TH_LOG("left FAULT with the sensor unreadable");
	EXPECT_EQ(0, bolt(&self->b));

	/* readable again (thrown): a confirmed relock clears the fault */
	ASSERT_EQ(0, tb_param("read_error", "0"));
	ioctl(self->b.fd, SAFELOCK_IOC_LOCK_NOW);
	EXPECT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 3000))
		TH_LOG("state %d with the sensor readable again", state(&self->b));
	EXPECT_EQ(0, bolt(&self->b));
}

TEST(bad_boards_refused)
{
	struct board b;
	unsigned int i;
	int ret, kmsg;

	board_init(&b);
	ret = board_prereq(&b);
	if (ret == KSFT_SKIP)
		SKIP(return, "%s", b.err);
	ASSERT_EQ(0, ret) TH_LOG("%s", b.err);
	if (!dt_mode() && (!exists(GPIO_SIM_DIR) || !exists("/dev/uinput")))
		SKIP(return, "no gpio-sim or uinput");
	for (i = 0; i < sizeof(bad_boards) / sizeof(bad_boards[0]); i++) {
		board_init(&b);
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ASSERT_LE(0, kmsg) TH_LOG("/dev/kmsg: %s", strerror(errno));
		lseek(kmsg, 0, SEEK_END);
		EXPECT_TRUE(bad_board_refused(_metadata, &b, i))
			TH_LOG("%s: the driver took the board",
			       dt_mode() ? bad_boards[i].dt_node : bad_boards[i].params);
		EXPECT_TRUE(kmsg_has(kmsg, bad_boards[i].msg))
			TH_LOG("%s: no \"%s\" in the kernel log",
			       dt_mode() ? bad_boards[i].dt_node : bad_boards[i].params,
			       bad_boards[i].msg);
		close(kmsg);
	}
}

/* ------------------------------------------------------------------ */
/* Fixture: the real verifier, safelockd, on the TPM                   */

/*
 * The vault is provisioned the way an owner does it, never behind the
 * kernel's back: safelockd runs with its admin socket, the door is opened,
 * "safelockctl init" enrols the owner (user 001) with a code made up now,
 * the door is closed.  The daemon then serves the test.
 */
FIXTURE(tpm) {
	struct board b;
	bool up;
	char dir[64];		/* mkdtemp: vault/ (the state dir), run/admin.sock */
	char vault[96];
	char sock[96];
	char bin[256];
	char ctl[256];
	char code[16];
	pid_t daemon;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/*
 * Run @bin with @argv, feeding @code on fd 3 if given, its standard output
 * to /dev/null if @quiet (safelockctl init prints the recovery secret); its
 * pid, or -1.
 */
static pid_t spawn(const char *bin, char *const argv[], const char *code, bool quiet)
{
	int pfd[2] = { -1, -1 };
	pid_t pid;

	if (code && pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			if (null >= 0 && null != STDOUT_FILENO) {
				dup2(null, STDOUT_FILENO);
				close(null);
			}
		}
		if (code) {
			close(pfd[1]);
			if (pfd[0] != 3) {
				dup2(pfd[0], 3);
				close(pfd[0]);
			}
		}
		execv(bin, argv);
		fprintf(stderr, "# exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	if (code) {
		close(pfd[0]);
		if (write(pfd[1], code, strlen(code)) != (ssize_t)strlen(code) ||
		    write(pfd[1], "\n", 1) != 1)
			fprintf(stderr, "# cannot write the code to the pipe\n");
		close(pfd[1]);
	}
	return pid;
}

/* Wait for @pid up to @ms; its exit status, or -1 if it did not end. */
static int wait_exit(pid_t pid, int ms)
{
	int status = 0;

	if (!wait_for(waitpid(pid, &status, WNOHANG) == pid, ms))
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Undo a half-done setup: the daemon, the board, the directory. */
static void tpm_down(FIXTURE_DATA(tpm) *self)
{
	if (self->daemon > 0) {
		kill(self->daemon, SIGTERM);
		if (wait_exit(self->daemon, 10000) < 0) {
			fprintf(stderr, "# safelockd ignored SIGTERM\n");
			kill(self->daemon, SIGKILL);
			waitpid(self->daemon, NULL, 0);
		}
		self->daemon = 0;
	}
	board_down(&self->b);
	if (self->dir[0])
		nftw(self->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	self->dir[0] = '\0';
}

/* Open or close the door and wait until the kernel reports it. */
static bool tpm_door(FIXTURE_DATA(tpm) *self, bool open)
{
	return !set_door(&self->b, open) &&
	       wait_for(!!(flags(&self->b) & SAFELOCK_STATUS_DOOR_OPEN) == open, 2000);
}

/* safelockd with its admin socket, then init with the door open: LOCKED. */
static const char *tpm_provision(FIXTURE_DATA(tpm) *self)
{
	char *run[] = { self->bin, "--foreground", "--tcti", "device:/dev/tpmrm0",
			"--state-dir", self->vault, "--admin-socket", self->sock, NULL };
	char *init[] = { self->ctl, "--socket", self->sock, "init", "--new-code-fd", "3",
			 NULL };
	int ret;

	self->daemon = spawn(self->bin, run, NULL, false);
	if (self->daemon < 0)
		return "cannot start safelockd";
	if (!wait_for((flags(&self->b) & SAFELOCK_STATUS_VERIFIER) && exists(self->sock), 30000))
		return "safelockd did not register or open its admin socket";
	if (state(&self->b) != SAFELOCK_STATE_UNPROVISIONED)
		return "a fresh vault left the lock provisioned";
	if (!tpm_door(self, true))
		return "the door did not open";
	ret = wait_exit(spawn(self->ctl, init, self->code, true), 60000);
	if (ret)
		return ret < 0 ? "safelockctl init did not end" : "safelockctl init failed";
	if (!tpm_door(self, false))
		return "the door did not close";
	if (!wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 10000))
		return "the lock did not become LOCKED after init";
	return NULL;
}

FIXTURE_SETUP(tpm)
{
	const char *err;
	int ret;

	board_init(&self->b);
	if (dt_mode())
		self->b.dt_board = "tpm";
	self->daemon = 0;
	self->dir[0] = '\0';
	snprintf(self->bin, sizeof(self->bin), "%s/safelockd", moddir());
	snprintf(self->ctl, sizeof(self->ctl), "%s/safelockctl", moddir());
	if (!exists("/dev/tpmrm0"))
		SKIP(return, "no /dev/tpmrm0");
	if (access(self->bin, X_OK))
		SKIP(return, "no %s", self->bin);
	if (access(self->ctl, X_OK))
		SKIP(return, "no %s", self->ctl);

	ret = board_up(&self->b, RELOCK_MS, TPM_VERIFY_TIMEOUT_MS, ENTRY_TIMEOUT_MS);
	if (ret == KSFT_SKIP)
		SKIP(return, "%s", self->b.err);
	ASSERT_EQ(0, ret) TH_LOG("board setup: %s", self->b.err);

	/* safelockd drops to its user: it must reach the state dir */
	strcpy(self->dir, "/tmp/safelock-test-XXXXXX");
	if (!mkdtemp(self->dir) || chmod(self->dir, 0755)) {
		self->dir[0] = '\0';
		tpm_down(self);
		ASSERT_TRUE(false) TH_LOG("mkdtemp: %s", strerror(errno));
	}
	snprintf(self->vault, sizeof(self->vault), "%s/vault", self->dir);
	snprintf(self->sock, sizeof(self->sock), "%s/run/admin.sock", self->dir);
	random_code(self->code, NULL);
	err = tpm_provision(self);
	if (err) {
		tpm_down(self);
		ASSERT_TRUE(false) TH_LOG("%s", err);
	}
	self->up = true;
}

FIXTURE_TEARDOWN(tpm)
{
	tpm_down(self);
}

/*
 * One test, one wrong code: every wrong code raises the TPM's dictionary-attack
 * counter, and swtpm locks out after 3 (recovery 1000 s).  The right code goes
 * first so that failures left by earlier runs on the same TPM matter less.
 */
TEST_F_TIMEOUT(tpm, right_then_wrong_code, 180)
{
	struct safelock_event ev;
	char wrong[16];

	if (!self->up)
		return;

	ASSERT_EQ(0, type_entry(&self->b, 1, self->code));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev,
				self->b.verify_ms + 5000));
	EXPECT_EQ(SAFELOCK_RESULT_GRANTED, ev.result)
		TH_LOG("right code: attempt result %s", result_name(ev.result));
	EXPECT_EQ(1, ev.user_id);
	ASSERT_TRUE(wait_for(bolt(&self->b) == 1, 2000));
	ASSERT_TRUE(wait_for(bolt(&self->b) == 0, self->b.relock_ms + 3000));
	ASSERT_TRUE(wait_for(state(&self->b) == SAFELOCK_STATE_LOCKED, 1000));

	random_code(wrong, self->code);
	ASSERT_EQ(0, type_entry(&self->b, 1, wrong));
	ASSERT_EQ(0, next_event(&self->b, SAFELOCK_EVENT_ATTEMPT, -1, &ev,
				self->b.verify_ms + 5000));
	EXPECT_EQ(SAFELOCK_RESULT_DENIED, ev.result)
		TH_LOG("wrong code: attempt result %s", result_name(ev.result));
	EXPECT_EQ(1, ev.user_id);
	EXPECT_FALSE(wait_for(bolt(&self->b) != 0, 300));
	EXPECT_EQ(SAFELOCK_STATE_LOCKED, state(&self->b));
}

TEST_HARNESS_MAIN
