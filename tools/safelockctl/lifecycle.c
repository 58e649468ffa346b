// SPDX-License-Identifier: GPL-2.0
/*
 * The vault's lifecycle: init (the owner's first code, the recovery secret
 * shown once, maybe split among trustees), recover (a new owner code with
 * the recovery secret or M trustees' shares, maybe after a delay), recovery
 * split (a new secret by the owner's code), wipe (back to unprovisioned).
 */
#include <errno.h>
#include <string.h>

#include "libsafelock.h"
#include "safelockctl.h"

/* A new code into the request's new_code: 0 or an exit status. */
int read_new_code_into(struct ctl_config *cfg, char *dst, const char *what,
		       const char *verb, const char *object)
{
	char code[SAFELOCK_CODE_BUF], why[256];
	int ret = admin_reach(cfg);

	if (ret)
		return ret;
	ret = read_new_code(cfg->new_code_fd, what, code, why, sizeof(why));
	switch (ret) {
	case 0:
		memcpy(dst, code, strlen(code) + 1);
		safelock_wipe(code, sizeof(code));
		return 0;
	case -EINVAL:
		return ctl_fail(EXIT_USAGE, verb, object, "%s", why);
	case -EBADMSG:
		return ctl_fail(EXIT_USAGE, verb, object, "the two new codes differ");
	case -ENOTTY:
		return ctl_fail(EXIT_USAGE, verb, object,
				"no terminal to ask for the new code: use --new-code-fd N");
	default:
		return ctl_fail(EXIT_USAGE, verb, object, "reading the new code: %s",
				strerror(-ret));
	}
}

/*
 * The recovery secret, or M trustees' shares combined, into @dst in its
 * canonical form; the split typed (m, n), 0/0 for a secret. Each line is
 * checked as it comes: a bad one is refused at once, naming it, and
 * nothing is sent. 0 or an exit status.
 */
static int read_recovery_into(struct ctl_config *cfg, char *dst, unsigned int *m,
			      unsigned int *n, const char *verb, const char *object)
{
	struct recovery_share sh[SHARE_MAX_N];
	char line[RECOVERY_LINE_MAX], why[256], prompt[64];
	unsigned int k = 0, need = 1;
	int ret;

	*m = *n = 0;
	ret = admin_reach(cfg);
	if (ret)
		return ret;
	while (k < need && !ret) {
		if (k)
			snprintf(prompt, sizeof(prompt), "Share %u of the %u needed: ", k + 1, need);
		else
			snprintf(prompt, sizeof(prompt), "Recovery secret, or a trustee's share: ");
		ret = read_recovery(cfg->recovery_fd, prompt, line, sizeof(line));
		if (ret == -ENOTTY)
			ret = ctl_fail(EXIT_USAGE, verb, object,
				       "no terminal to ask for the recovery secret: use --recovery-fd N");
		else if (ret == -ENODATA && k)
			ret = ctl_fail(EXIT_USAGE, verb, object,
				       "%u shares are needed, %u given", need, k);
		else if (ret == -ENODATA)
			ret = ctl_fail(EXIT_USAGE, verb, object, "no recovery secret given");
		else if (ret == -EINVAL)
			ret = ctl_fail(EXIT_USAGE, verb, object,
				       "the recovery secret or share %u is longer than %d characters",
				       k + 1, RECOVERY_LINE_MAX - 2);
		else if (ret)
			ret = ctl_fail(EXIT_USAGE, verb, object,
				       "reading the recovery secret: %s", strerror(-ret));
		if (ret)
			break;
		ret = recovery_parse(line, dst, &sh[k], why, sizeof(why));
		safelock_wipe(line, sizeof(line));
		if (ret == RECOVERY_IS_SECRET && k) {
			ret = ctl_fail(EXIT_USAGE, verb, object,
				       "share %u (as typed) is a whole recovery secret, not a share", k + 1);
		} else if (ret == -EBADMSG || (ret < 0 && need > 1)) {
			ret = ctl_fail(EXIT_USAGE, verb, object, "share %u (as typed): %s", k + 1, why);
		} else if (ret < 0) {
			ret = ctl_fail(EXIT_USAGE, verb, object, "the recovery secret: %s", why);
		} else if (ret == RECOVERY_IS_SHARE) {
			if (!k)
				need = sh[0].m;
			k++;
			ret = 0;
		} else {
			ret = 0;	/* a secret: done */
			need = 0;
		}
	}
	if (!ret && k) {
		ret = recovery_combine(sh, k, dst, why, sizeof(why));
		if (ret)
			ret = ctl_fail(EXIT_USAGE, verb, object, "%s", why);
		*m = sh[0].m;
		*n = sh[0].n;
	}
	safelock_wipe(sh, sizeof(sh));
	safelock_wipe(line, sizeof(line));
	if (ret)
		safelock_wipe(dst, SAFELOCK_RECOVERY_TEXT_SIZE);
	return ret;
}

/* The secret regrouped in fours, whatever grouping the daemon used. */
static void group_secret(const char *in, char out[SAFELOCK_RECOVERY_TEXT_SIZE + 16])
{
	struct recovery_share unused;
	char why[128];

	if (recovery_parse(in, out, &unused, why, sizeof(why)) != RECOVERY_IS_SECRET)
		snprintf(out, SAFELOCK_RECOVERY_TEXT_SIZE + 16, "%s", in);
}

static void print_secret(struct out *o, const char *secret)
{
	if (o->json) {
		out_str(o, "recovery_secret", "", secret);
		return;
	}
	fprintf(o->f,
		"Recovery secret, shown this once:\n"
		"\n"
		"    %s%s%s\n"
		"\n"
		"Write it down now and keep it away from the lock. It is the only way\n"
		"back in if the owner's code is lost: there is no reset code and no\n"
		"manufacturer code. It is never shown again; recover gives a new one.\n",
		tone_on(o, TONE_WARN), secret, tone_off(o, TONE_WARN));
}

static void print_shares(struct out *o, const struct recovery_share *sh)
{
	char text[SHARE_TEXT_SIZE];
	unsigned int i, m = sh[0].m, n = sh[0].n;

	if (o->json) {
		out_obj_begin(o, "recovery_shares", "");
		out_num(o, "needed", "", m, "");
		out_list_begin(o, "shares", "");
	} else {
		fprintf(o->f, "Recovery shares, shown this once: any %u of these %u recover the lock.\n\n",
			m, n);
	}
	for (i = 0; i < n; i++) {
		recovery_share_text(&sh[i], text);
		if (o->json)
			out_list_item(o, text);
		else
			fprintf(o->f, "    share %u of %u:  %s%s%s\n", i + 1, n,
				tone_on(o, TONE_WARN), text, tone_off(o, TONE_WARN));
		safelock_wipe(text, sizeof(text));
	}
	if (o->json) {
		out_list_end(o, "");
		out_obj_end(o);
		return;
	}
	fprintf(o->f,
		"\n"
		"Give each share to a different trustee, and keep none near the lock.\n"
		"Fewer than %u shares reveal nothing of the recovery secret; any %u are\n"
		"the only way back in if the owner's code is lost: there is no reset\n"
		"code and no manufacturer code. They are never shown again; recover and\n"
		"recovery split make new ones, and then these stop working.\n", m, m);
}

/*
 * The secret safelockd made, shown once: as it is, or split by @sp
 * (prepared before the request was sent; NULL: no split).
 */
static int print_recovery(struct ctl_config *cfg,
			  struct safelock_admin_reply *rep, const char *done,
			  const char *verb, struct recovery_split *sp)
{
	char secret[SAFELOCK_RECOVERY_TEXT_SIZE + 16], why[256];
	struct recovery_share sh[SHARE_MAX_N];
	struct out o;
	int ret = 0;

	if (!rep->recovery[0])
		return ctl_fail(EXIT_FAIL, verb, "the vault",
				"done, but safelockd sent no recovery secret");
	group_secret(rep->recovery, secret);
	safelock_wipe(rep->recovery, sizeof(rep->recovery));
	if (sp && recovery_split_do(sp, secret, sh, why, sizeof(why))) {
		ret = ctl_fail(EXIT_FAIL, verb, "the vault",
			       "done, but the new recovery secret could not be split (%s): nothing is shown; the owner makes new shares with safelockctl recovery split",
			       why);
		goto out;
	}
	out_init(&o, cfg);
	if (o.json) {
		out_begin(&o);
		out_num(&o, "owner", "", 1, "");
	} else {
		fprintf(o.f, "%s\n\n", done);
	}
	if (sp)
		print_shares(&o, sh);
	else
		print_secret(&o, secret);
	if (o.json)
		out_end(&o);
	fflush(o.f);
out:
	safelock_wipe(sh, sizeof(sh));
	safelock_wipe(secret, sizeof(secret));
	return ret;
}

/* --shares M/N (or @m/@n typed, when not given) into @sp: NULL for none. */
static int prepare_split(struct ctl_config *cfg, unsigned int m, unsigned int n,
			 struct recovery_split *sp, struct recovery_split **use,
			 const char *verb)
{
	char why[256];

	*use = NULL;
	if (cfg->shares_m) {
		m = cfg->shares_m;
		n = cfg->shares_n;
	}
	if (m <= 1)
		return 0;
	if (recovery_split_prepare(sp, m, n, why, sizeof(why)))
		return ctl_fail(EXIT_FAIL, verb, "the vault", "%s", why);
	*use = sp;
	return 0;
}

/*
 * Everything for the split first (--shares, or @m of @n), then @req; on
 * success the new secret shown once, split or not. 0 or an exit status
 * (EXIT_PENDING: a recovery delay started, nothing shown).
 */
static int send_and_show(struct ctl_config *cfg, struct safelock_admin_req *req,
			 struct safelock_admin_reply *rep, unsigned int m, unsigned int n,
			 const char *verb, const char *object, const char *done)
{
	struct recovery_split split, *sp = NULL;
	int ret;

	ret = prepare_split(cfg, m, n, &split, &sp, verb);
	if (!ret)
		ret = admin_run(cfg, req, rep, verb, object);
	if (!ret)
		ret = print_recovery(cfg, rep, done, verb, sp);
	if (sp)
		recovery_split_free(sp);
	return ret;
}

int cmd_init(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = admin_req_new(ADMIN_OP_INIT);
	struct safelock_admin_reply *rep = admin_reply_new();
	int ret;

	if (!req || !rep) {
		ret = ctl_fail(EXIT_FAIL, "initialise", "the vault", "out of memory");
		goto out;
	}
	ret = read_new_code_into(cfg, req->new_code, "New code for the owner (user 001)",
				 "initialise", "the vault");
	if (!ret)
		ret = send_and_show(cfg, req, rep, 1, 1, "initialise", "the vault",
				    "Initialised: user 001 is the owner.");
out:
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

/*
 * A new recovery secret, authorised by the owner's code: the old secret
 * and every share of it stop working; the new one is shown once, split
 * as --shares says (1/1: one secret).
 */
int cmd_recovery_split(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	int ret;

	if (!cfg->shares_m)
		return usage_error("recovery split needs --shares M/N (1/1: one secret, no trustees)");
	if (cfg->as_user != 1)
		return usage_error("recovery split needs --as 1: only the owner makes a new recovery secret");
	req = admin_req_new(ADMIN_OP_RECOVERY_NEW);
	rep = admin_reply_new();
	if (!req || !rep) {
		ret = ctl_fail(EXIT_FAIL, "split", "the recovery secret", "out of memory");
		goto out;
	}
	ret = admin_fill_auth(cfg, req, "split", "the recovery secret");
	if (!ret)
		ret = send_and_show(cfg, req, rep, 1, 1, "split", "the recovery secret",
				    "A new recovery secret: the old one, and every share of it, no longer work.");
out:
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

static int recover_cancel(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = admin_req_new(ADMIN_OP_RECOVER_CANCEL);
	struct safelock_admin_reply *rep = admin_reply_new();
	struct out o;
	int ret;

	if (!cfg->as_user) {
		ret = usage_error("recover --cancel needs --as USER (any user)");
		goto out;
	}
	if (cfg->new_code_fd >= 0 || cfg->use_recovery) {
		ret = usage_error("recover --cancel takes no new code or recovery secret");
		goto out;
	}
	if (!req || !rep) {
		ret = ctl_fail(EXIT_FAIL, "cancel", "the recovery", "out of memory");
		goto out;
	}
	ret = admin_fill_auth(cfg, req, "cancel", "the recovery");
	if (!ret)
		ret = admin_run(cfg, req, rep, "cancel", "the recovery");
	if (!ret) {
		out_init(&o, cfg);
		if (o.json) {
			out_begin(&o);
			out_bool(&o, "recovery_cancelled", "", true, "", "");
			out_end(&o);
		} else {
			printf("Recovery cancelled.\n");
		}
	}
out:
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_recover(struct ctl_config *cfg)
{
	struct safelock_admin_req *req;
	struct safelock_admin_reply *rep;
	unsigned int m, n;
	char wait[64];
	struct out o;
	int ret;

	if (cfg->cancel)
		return recover_cancel(cfg);
	if (cfg->as_user)
		return usage_error("recover takes --as only with --cancel");
	req = admin_req_new(ADMIN_OP_RECOVER);
	rep = admin_reply_new();
	if (!req || !rep) {
		ret = ctl_fail(EXIT_FAIL, "recover", "the vault", "out of memory");
		goto out;
	}
	ret = read_recovery_into(cfg, req->recovery, &m, &n, "recover", "the vault");
	if (!ret)
		ret = read_new_code_into(cfg, req->new_code, "New code for the owner (user 001)",
					 "recover", "the vault");
	/* the new secret is split as the old one was, unless --shares says */
	if (!ret)
		ret = send_and_show(cfg, req, rep, m, n, "recover", "the vault",
				    "Recovered: the owner (user 001) has a new code.");
	if (ret == EXIT_PENDING) {
		out_init(&o, cfg);
		format_duration_ms(rep->retry_after_ms, wait, sizeof(wait));
		if (o.json) {
			out_begin(&o);
			out_bool(&o, "pending", "", true, "", "");
			out_ms(&o, "retry_after_ms", "", rep->retry_after_ms);
			out_end(&o);
		} else {
			/* the first run starts the delay, a run too early finds it */
			printf("Recovery waits for its delay: run the same command again in %s\n"
			       "to complete it. Any user's code cancels it meanwhile\n"
			       "(safelockctl recover --cancel --as USER).\n", wait);
		}
	}
out:
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_wipe(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	unsigned int m, n;
	struct out o;
	int ret;

	if (cfg->as_user && cfg->use_recovery)
		return usage_error("wipe takes --as or --recovery, not both");
	if (!cfg->as_user && !cfg->use_recovery)
		return usage_error("wipe needs --as 1 (the owner) or --recovery");
	ret = admin_reach(cfg);
	if (ret)
		return ret;
	ret = confirm(cfg, "This erases every user, code, recovery secret and key of the vault:\n"
		      "the lock becomes unprovisioned, and only init makes it usable again.",
		      "wipe");
	if (ret == -ENOTTY)
		return usage_error("no terminal to confirm the wipe: add --yes");
	if (ret != 1)
		return ctl_fail(EXIT_USAGE, "wipe", "the vault", "not confirmed");
	req = admin_req_new(ADMIN_OP_WIPE);
	rep = admin_reply_new();
	if (!req || !rep) {
		ret = ctl_fail(EXIT_FAIL, "wipe", "the vault", "out of memory");
		goto out;
	}
	if (cfg->use_recovery)
		ret = read_recovery_into(cfg, req->recovery, &m, &n, "wipe", "the vault");
	else
		ret = admin_fill_auth(cfg, req, "wipe", "the vault");
	if (!ret)
		ret = admin_run(cfg, req, rep, "wipe", "the vault");
	if (!ret) {
		out_init(&o, cfg);
		if (o.json) {
			out_begin(&o);
			out_bool(&o, "wiped", "", true, "", "");
			out_end(&o);
		} else {
			printf("Wiped: the lock is unprovisioned.\n");
		}
	}
out:
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}
