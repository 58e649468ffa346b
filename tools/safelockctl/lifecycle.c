// SPDX-License-Identifier: GPL-2.0
/*
 * The vault's lifecycle: init (the owner's first code, the recovery secret
 * shown once), recover (a new owner code with the recovery secret, maybe
 * after a delay), wipe (back to unprovisioned).
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

static int read_recovery_into(struct ctl_config *cfg, char *dst,
			      const char *verb, const char *object)
{
	int ret = admin_reach(cfg);

	if (ret)
		return ret;
	ret = read_recovery(cfg->recovery_fd, dst);
	switch (ret) {
	case 0:
		return 0;
	case -EINVAL:
		return ctl_fail(EXIT_USAGE, verb, object,
				"a recovery secret is %d letters and digits (dashes allowed)",
				SAFELOCK_RECOVERY_BITS / 5);
	case -ENOTTY:
		return ctl_fail(EXIT_USAGE, verb, object,
				"no terminal to ask for the recovery secret: use --recovery-fd N");
	default:
		return ctl_fail(EXIT_USAGE, verb, object,
				"reading the recovery secret: %s", strerror(-ret));
	}
}

/* The secret regrouped in fours, whatever grouping the daemon used. */
static void group_secret(const char *in, char *out, size_t len)
{
	size_t n = 0, k = 0;

	for (; *in && n + 2 < len; in++) {
		if (*in == '-')
			continue;
		if (k && k % 4 == 0)
			out[n++] = '-';
		out[n++] = *in;
		k++;
	}
	out[n] = '\0';
}

static int print_recovery(struct ctl_config *cfg,
			  struct safelock_admin_reply *rep, const char *done,
			  const char *verb)
{
	char secret[SAFELOCK_RECOVERY_TEXT_SIZE + 16];
	struct out o;

	if (!rep->recovery[0])
		return ctl_fail(EXIT_FAIL, verb, "the vault",
				"done, but safelockd sent no recovery secret");
	group_secret(rep->recovery, secret, sizeof(secret));
	safelock_wipe(rep->recovery, sizeof(rep->recovery));
	out_init(&o, cfg);
	if (o.json) {
		out_begin(&o);
		out_num(&o, "owner", "", 1, "");
		out_str(&o, "recovery_secret", "", secret);
		out_end(&o);
	} else {
		fprintf(o.f,
			"%s\n"
			"\n"
			"Recovery secret, shown this once:\n"
			"\n"
			"    %s%s%s\n"
			"\n"
			"Write it down now and keep it away from the lock. It is the only way\n"
			"back in if the owner's code is lost: there is no reset code and no\n"
			"manufacturer code. It is never shown again; recover gives a new one.\n",
			done, tone_on(&o, TONE_WARN), secret, tone_off(&o, TONE_WARN));
		fflush(o.f);
	}
	safelock_wipe(secret, sizeof(secret));
	return 0;
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
		ret = admin_run(cfg, req, rep, "initialise", "the vault");
	if (!ret)
		ret = print_recovery(cfg, rep, "Initialised: user 001 is the owner.",
				     "initialise");
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
	ret = read_recovery_into(cfg, req->recovery, "recover", "the vault");
	if (!ret)
		ret = read_new_code_into(cfg, req->new_code, "New code for the owner (user 001)",
					 "recover", "the vault");
	if (!ret)
		ret = admin_run(cfg, req, rep, "recover", "the vault");
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
	} else if (!ret) {
		ret = print_recovery(cfg, rep,
				     "Recovered: the owner (user 001) has a new code.",
				     "recover");
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
		ret = read_recovery_into(cfg, req->recovery, "wipe", "the vault");
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
