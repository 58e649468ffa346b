/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libsafelock: what safelockd and safelockctl share.
 *
 *  - name tables for the enums of <linux/safelock.h>;
 *  - event formatting (one human line, or one JSON object per line);
 *  - code handling: validation, constant-time comparison, wiping;
 *  - text from outside: UTF-8 decoding, the JSON string escaper;
 *  - a small generic netlink client over libnl-genl-3.
 */
#ifndef LIBSAFELOCK_H
#define LIBSAFELOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/safelock.h>

#define SAFELOCK_TOOLS_VERSION	"0.1"
#define SAFELOCK_DEFAULT_DEVICE	"/dev/safelock0"
#define SAFELOCK_USER_ID_MAX	999

/* Name tables: never NULL; "unknown" for values outside the enum. */
const char *safelock_state_name(uint32_t state);
const char *safelock_event_name(uint32_t type);
const char *safelock_result_name(uint32_t result);
const char *safelock_fault_name(uint32_t fault);

/*
 * One line (no newline) describing @ev, e.g.
 * "12.345678  #17  attempt      user 001  denied          state LOCKED".
 * Returns the length written, or -1 if @len is too small (buf then holds "").
 */
int format_event_human(const struct safelock_event *ev, char *buf, size_t len);
/* One JSON object (no newline); same return convention. */
int format_event_json(const struct safelock_event *ev, char *buf, size_t len);

/* Buffer large enough for any code plus a newline and a NUL. */
#define SAFELOCK_CODE_BUF	(SAFELOCK_CODE_MAX_DIGITS + 2)

/* True if @code[0..len) is SAFELOCK_CODE_MIN..MAX_DIGITS ASCII digits. */
bool safelock_code_valid(const char *code, size_t len);
/* True if a and b hold the same @len bytes; time independent of the data. */
bool safelock_ct_equal(const void *a, const void *b, size_t len);
/* explicit_bzero under a name the tools use everywhere. */
void safelock_wipe(void *p, size_t len);
/*
 * Read a code from @fd until EOF: digits, one trailing newline allowed.
 * @buf must hold SAFELOCK_CODE_BUF bytes. Returns 0 and the digit count in
 * *@len, -EINVAL if it is not 6 to 12 digits, or -errno of read().
 * The buffer is wiped on any error.
 */
int safelock_read_code(int fd, char *buf, size_t *len);

/* Text on its way out (text.c) ---------------------------------------- */

/*
 * Length of the valid UTF-8 sequence at @s (@n bytes left), its code point
 * in *@cp if @cp is not NULL; 0 if the bytes are not UTF-8 (an overlong
 * form, a surrogate, beyond U+10FFFF, cut short).
 */
size_t safelock_utf8_len(const unsigned char *s, size_t n, uint32_t *cp);
/*
 * A character that must not reach a terminal or a log line as it is: C0
 * and C1 controls, DEL, the line and paragraph separators U+2028/9 and
 * the bidirectional overrides (U+202A-E, U+2066-9), which can make text
 * look like something else.
 */
bool safelock_unsafe_char(uint32_t cp);
/*
 * @s as the inside of a JSON string into @out (@len bytes): '"' and '\'
 * escaped, \n \t \r, every other unsafe character as \u00XX (\u2028...),
 * each byte that is not UTF-8 as \ufffd. The length, or -1 if @len is
 * too small (6 * strlen(s) + 1 always does).
 */
int safelock_json_escape(const char *s, char *out, size_t len);

/* Generic netlink client ---------------------------------------------- */

struct nl_sock;
struct nl_msg;
struct nl_cb;

struct sl_genl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	/* last error from the kernel: -errno and the extack text ("" if none) */
	int err;
	char extack[256];
	/* handler for every valid (non-error, non-ack) message */
	int (*on_msg)(struct nl_msg *msg, void *arg);
	void *on_msg_arg;
	/* called for an error that is not the answer of an ack wait */
	void (*on_async_err)(struct sl_genl *g, int err, uint32_t seq, void *arg);
	/* ack wait state */
	uint32_t wait_seq;
	bool waiting;
	bool done;
	/* the raw datagram being dispatched (see sl_genl_wipe_attr()) */
	unsigned char *raw;
	size_t raw_len;
};

/*
 * Open a socket and resolve the "safelock" family. -ENOENT if the module is
 * not loaded (see sl_genl_strerror()), other -errno otherwise.
 */
int sl_genl_open(struct sl_genl *g);
/* The same for another family (tests use "nlctrl"). */
int sl_genl_open_family(struct sl_genl *g, const char *name);
void sl_genl_close(struct sl_genl *g);
int sl_genl_fd(const struct sl_genl *g);
/* Join the multicast group @group of family @family ("safelock", "events"). */
int sl_genl_subscribe(struct sl_genl *g, const char *family, const char *group);
/* A new request of command @cmd; NULL on allocation failure. */
struct nl_msg *sl_genl_msg(struct sl_genl *g, uint8_t cmd);
/* Send @msg with NLM_F_ACK and wait for the answer: 0 or -errno, extack text in g->extack. Frees @msg. */
int sl_genl_request(struct sl_genl *g, struct nl_msg *msg);
/* Send @msg without waiting; a kernel error comes later to on_async_err. Frees @msg. */
int sl_genl_send(struct sl_genl *g, struct nl_msg *msg, uint32_t *seq);
/* Receive what is pending and dispatch it; -errno on socket failure. */
int sl_genl_receive(struct sl_genl *g);
/* Wipe attribute @a of @msg, in the message and in libnl's raw copy. */
struct nlattr;
void sl_genl_wipe_attr(struct sl_genl *g, struct nl_msg *msg, struct nlattr *a);
/* Text for an error of sl_genl_*(): "safelock module not loaded" for -ENOENT. */
const char *sl_genl_strerror(int err);

#endif /* LIBSAFELOCK_H */
