// SPDX-License-Identifier: GPL-2.0
/*
 * Helper of tests/test_journal_remote.sh: writes an audit log of N events
 * into DIR (a software key, as in test_audit.c), then prints the log in
 * the Journal Export Format ("export") or as JSON lines ("json"), read
 * back with audit_read() the way safelockctl audit export does.
 *
 *   audit_feed DIR N     make the log (N events: kernel and vault, some
 *                        with a newline or UTF-8 in their text)
 *   audit_feed DIR export|json
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit.h"
#include "journal.h"
#include "libsafelock.h"

static uint8_t master[32];

static int soft_key(void *ctx, const uint8_t id[16], uint8_t key[32])
{
	unsigned int len = 0;

	(void)ctx;
	if (!HMAC(EVP_sha256(), master, 32, id, 16, key, &len) || len != 32)
		return -EIO;
	return 0;
}

static int json_cb(void *ctx, const struct audit_record *rec)
{
	char buf[1024];

	(void)ctx;
	if (audit_format_json(rec, buf, sizeof(buf)) < 0)
		return -ENOSPC;
	return puts(buf) < 0 ? -EIO : 0;
}

static int make(const char *dir, unsigned long n)
{
	struct audit_options o = { .dir = dir, .key = soft_key,
				   .max_file_records = 64 };
	struct audit_log *log;
	char err[256];
	unsigned long i;
	int ret;

	if (getrandom(master, sizeof(master), 0) != sizeof(master))
		return 1;
	ret = audit_open(&log, &o, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "audit_feed: unable to open %s: %s\n", dir, err);
		return 1;
	}
	for (i = 0; i < n && !ret; i++) {
		struct audit_record r = {
			.kseq = i + 1, .mono_ns = 1000000000ULL + i * 1000,
			.source = AUDIT_SRC_KERNEL,
			.type = 1 + i % (SAFELOCK_EVENT_MAX - 1),
			.state = i % SAFELOCK_STATE_MAX,
			.result = i % SAFELOCK_RESULT_MAX,
			.user_id = (uint32_t)(i % 101), .value = (uint32_t)(i * 7),
		};

		if (i % 10 == 3) {
			r.source = AUDIT_SRC_VAULT;
			r.type = 1 + i % (AUDIT_V_MAX - 1);
			r.kseq = 0;
		}
		if (i % 5 == 1)
			snprintf(r.text, sizeof(r.text), "line one %lu\nline two \"%s\"",
				 i, "caf\xc3\xa9");
		else if (i % 5 == 2)
			snprintf(r.text, sizeof(r.text), "plain %lu", i);
		ret = audit_append(log, &r);
	}
	audit_close(log);
	if (ret) {
		fprintf(stderr, "audit_feed: unable to append: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[256];
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: audit_feed DIR N | audit_feed DIR export|json\n");
		return 2;
	}
	if (!strcmp(argv[2], "export"))
		ret = audit_read(argv[1], journal_export_cb, stdout, err, sizeof(err));
	else if (!strcmp(argv[2], "json"))
		ret = audit_read(argv[1], json_cb, NULL, err, sizeof(err));
	else
		return make(argv[1], strtoul(argv[2], NULL, 10));
	if (ret) {
		fprintf(stderr, "audit_feed: unable to read %s: %s\n", argv[1], err);
		return 1;
	}
	return fflush(stdout) ? 1 : 0;
}
