// SPDX-License-Identifier: GPL-2.0
/*
 * Users and their codes: user add|del|list|set-role, code change,
 * duress set|clear. Each is one request to safelockd, authorised by the
 * codes of --as (and --as2 under dual administration).
 */
#include <errno.h>
#include <string.h>

#include "libsafelock.h"
#include "safelockctl.h"

/* A request of @op with its authorisers filled: 0 or an exit status. */
static int prepare(struct ctl_config *cfg, uint32_t op, const char *verb,
		   const char *object, struct safelock_admin_req **reqp,
		   struct safelock_admin_reply **repp)
{
	*reqp = admin_req_new(op);
	*repp = admin_reply_new();
	if (!*reqp || !*repp)
		return ctl_fail(EXIT_FAIL, verb, object, "out of memory");
	return admin_fill_auth(cfg, *reqp, verb, object);
}

static int need_as(const struct ctl_config *cfg)
{
	if (cfg->as_user)
		return 0;
	return usage_error("'%s%s%s' needs --as USER", cfg->cmd->group ? cfg->cmd->group : "",
			   cfg->cmd->group ? " " : "", cfg->cmd->name);
}

/* "Done." for people, {"key":true,"user_id":N} for programs. */
static void done(const struct ctl_config *cfg, const char *key,
		 unsigned int user, const char *role, const char *text)
{
	struct out o;

	out_init(&o, cfg);
	if (!o.json) {
		printf("%s\n", text);
		return;
	}
	out_begin(&o);
	out_bool(&o, key, "", true, "", "");
	out_num(&o, "user_id", "", user, "");
	if (role)
		out_str(&o, "role", "", role);
	out_end(&o);
}

static int target_user(const struct ctl_config *cfg, unsigned int *user)
{
	*user = parse_user(cfg->args[0]);
	if (!*user)
		return usage_error("USER_ID must be a number from 1 to %d, not '%s'",
				   SAFELOCK_USER_ID_MAX, cfg->args[0]);
	return 0;
}

int cmd_user_add(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	uint32_t role = cfg->role ? cfg->role : SAFELOCK_ROLE_USER;
	char object[32], text[96], what[48];
	unsigned int user;
	int ret;

	ret = target_user(cfg, &user);
	if (!ret)
		ret = need_as(cfg);
	if (!ret && user == 1)
		ret = usage_error("user 001 is the owner, enrolled by init");
	if (ret)
		return ret;
	snprintf(object, sizeof(object), "user %03u", user);
	ret = prepare(cfg, ADMIN_OP_USER_ADD, "add", object, &req, &rep);
	if (!ret) {
		snprintf(what, sizeof(what), "New code for user %03u", user);
		ret = read_new_code_into(cfg, req->new_code, what, "add", object);
	}
	if (!ret) {
		req->target_user = user;
		req->role = role;
		ret = admin_run(cfg, req, rep, "add", object);
	}
	if (!ret) {
		snprintf(text, sizeof(text), "Added user %03u as %s.", user, role_name(role));
		done(cfg, "added", user, role_name(role), text);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_user_del(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	char object[32], text[64];
	unsigned int user;
	int ret;

	ret = target_user(cfg, &user);
	if (!ret)
		ret = need_as(cfg);
	if (!ret && user == 1)
		ret = usage_error("user 001 is the owner and cannot be removed (wipe erases everything)");
	if (ret)
		return ret;
	snprintf(object, sizeof(object), "user %03u", user);
	ret = prepare(cfg, ADMIN_OP_USER_DEL, "remove", object, &req, &rep);
	if (!ret) {
		req->target_user = user;
		ret = admin_run(cfg, req, rep, "remove", object);
	}
	if (!ret) {
		snprintf(text, sizeof(text), "Removed user %03u.", user);
		done(cfg, "removed", user, NULL, text);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_user_list(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	char id[8], retry[48];
	struct out o;
	uint32_t i;
	int ret;

	ret = need_as(cfg);
	if (ret)
		return ret;
	ret = prepare(cfg, ADMIN_OP_USER_LIST, "list", "the users", &req, &rep);
	if (!ret)
		ret = admin_run(cfg, req, rep, "list", "the users");
	if (!ret) {
		out_init(&o, cfg);
		out_begin(&o);
		out_table_begin(&o, "users", "USER  ROLE      FAILURES  RETRY IN      DURESS");
		for (i = 0; i < rep->n_users; i++) {
			const struct safelock_admin_user *u = &rep->users[i];

			snprintf(id, sizeof(id), "%03u", u->user_id);
			if (u->retry_after_ms == UINT32_MAX)
				snprintf(retry, sizeof(retry), "disabled");
			else if (u->retry_after_ms)
				format_duration_ms(u->retry_after_ms, retry, sizeof(retry));
			else
				snprintf(retry, sizeof(retry), "-");
			out_row_begin(&o);
			if (o.json)
				out_cell_num(&o, "user_id", 5, u->user_id);
			else
				out_cell(&o, "user_id", 5, id);
			out_cell(&o, "role", 9, role_name(u->role));
			out_cell_num(&o, "failures", 9, u->failures);
			if (o.json)
				out_cell_num(&o, "retry_after_ms", 13, u->retry_after_ms);
			else
				out_cell(&o, "retry_after_ms", 13, retry);
			out_cell_bool(&o, "duress", 6, u->has_duress, "yes", "no");
			out_row_end(&o);
		}
		out_table_end(&o);
		out_end(&o);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_user_set_role(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	char object[48], text[64];
	unsigned int user;
	uint32_t role;
	int ret;

	ret = target_user(cfg, &user);
	if (ret)
		return ret;
	role = parse_role(cfg->args[1]);
	if (!role)
		return usage_error("ROLE must be manager, user, auditor or courier, not '%s'",
				   cfg->args[1]);
	if (role == SAFELOCK_ROLE_OWNER || user == 1)
		return usage_error("the owner is user 001 and stays the owner");
	ret = need_as(cfg);
	if (ret)
		return ret;
	snprintf(object, sizeof(object), "the role of user %03u", user);
	ret = prepare(cfg, ADMIN_OP_USER_SET_ROLE, "set", object, &req, &rep);
	if (!ret) {
		req->target_user = user;
		req->role = role;
		ret = admin_run(cfg, req, rep, "set", object);
	}
	if (!ret) {
		snprintf(text, sizeof(text), "User %03u is now %s.", user, role_name(role));
		done(cfg, "role_set", user, role_name(role), text);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_code_change(struct ctl_config *cfg)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	char object[48], text[64], what[48];
	int ret;

	ret = need_as(cfg);
	if (ret)
		return ret;
	snprintf(object, sizeof(object), "the code of user %03u", cfg->as_user);
	ret = prepare(cfg, ADMIN_OP_CODE_CHANGE, "change", object, &req, &rep);
	if (!ret) {
		snprintf(what, sizeof(what), "New code for user %03u", cfg->as_user);
		ret = read_new_code_into(cfg, req->new_code, what, "change", object);
	}
	if (!ret) {
		req->target_user = cfg->as_user;
		ret = admin_run(cfg, req, rep, "change", object);
	}
	if (!ret) {
		snprintf(text, sizeof(text), "Changed the code of user %03u.", cfg->as_user);
		done(cfg, "changed", cfg->as_user, NULL, text);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

static int duress(struct ctl_config *cfg, bool set)
{
	struct safelock_admin_req *req = NULL;
	struct safelock_admin_reply *rep = NULL;
	const char *verb = set ? "set" : "clear";
	char object[48], text[128], what[48];
	int ret;

	ret = need_as(cfg);
	if (ret)
		return ret;
	snprintf(object, sizeof(object), "the duress code of user %03u", cfg->as_user);
	ret = prepare(cfg, ADMIN_OP_DURESS_SET, verb, object, &req, &rep);
	if (!ret && set) {
		snprintf(what, sizeof(what), "Duress code for user %03u", cfg->as_user);
		ret = read_new_code_into(cfg, req->new_code, what, verb, object);
	}
	if (!ret) {
		req->target_user = cfg->as_user;
		ret = admin_run(cfg, req, rep, verb, object);
	}
	if (!ret) {
		if (set)
			snprintf(text, sizeof(text),
				 "Set the duress code of user %03u: it opens as usual and raises the silent alarm.",
				 cfg->as_user);
		else
			snprintf(text, sizeof(text), "Removed the duress code of user %03u.",
				 cfg->as_user);
		done(cfg, set ? "duress_set" : "duress_cleared", cfg->as_user, NULL, text);
	}
	admin_req_free(req);
	admin_reply_free(rep);
	return ret;
}

int cmd_duress_set(struct ctl_config *cfg)
{
	return duress(cfg, true);
}

int cmd_duress_clear(struct ctl_config *cfg)
{
	return duress(cfg, false);
}
