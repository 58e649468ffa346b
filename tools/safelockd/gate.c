// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier's decisions, apart from its netlink plumbing (gate.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>

#include "libsafelock.h"
#include "audit.h"
#include "gate.h"

enum kmsg_check kernel_msg_check(const struct sockaddr_nl *src,
				 const struct nlmsghdr *nlh, int family)
{
	/*
	 * The kernel sends from port 0; a process cannot (its port is
	 * assigned at bind, never 0). No source known: not trusted.
	 */
	if (!src || src->nl_family != AF_NETLINK || src->nl_pid != 0)
		return KMSG_FORGED;
	if (family < 0 || (nlh->nlmsg_type != (unsigned int)family &&
			   nlh->nlmsg_type != GENL_ID_CTRL))
		return KMSG_OTHER_FAMILY;
	return KMSG_KERNEL;
}

bool ratelimit_ok(struct ratelimit *rl, uint64_t now_ms,
		  unsigned long *suppressed)
{
	if (!rl->start_ms || now_ms >= rl->start_ms + rl->window_ms ||
	    now_ms < rl->start_ms) {
		rl->start_ms = now_ms ? now_ms : 1;
		rl->n = 0;
	}
	if (rl->n >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->n++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

uint8_t vault_state(int provisioned)
{
	if (provisioned < 0 || provisioned >= SAFELOCK_VAULT_MAX)
		return SAFELOCK_VAULT_DAMAGED;
	return (uint8_t)provisioned;
}

const char *vault_state_name(uint8_t state)
{
	switch (state) {
	case SAFELOCK_VAULT_EMPTY:	return "empty (no owner)";
	case SAFELOCK_VAULT_OWNED:	return "owned";
	case SAFELOCK_VAULT_DAMAGED:	return "DAMAGED";
	default:			return "unknown";
	}
}

bool policy_in_force(uint32_t pushed, uint32_t dev, bool policy_ready)
{
	return policy_ready && dev < 32 && (pushed & (1u << dev));
}

void verify_decide(struct vault *v, struct admin_server *admin, bool in_force,
		   const struct verify_in *in, struct verify_out *out)
{
	memset(out, 0, sizeof(*out));
	out->result = SAFELOCK_RESULT_DENIED;
	out->res.role = SAFELOCK_ROLE_NONE;
	/*
	 * The lock runs on the kernel's defaults (no dual control, no time
	 * delay, no time lock): no code is checked, so none can open it, and
	 * none is counted, so a lock without its policy is neither an oracle
	 * nor a way to lock users out.
	 */
	if (!in_force) {
		out->no_policy = true;
		return;
	}
	/*
	 * The kernel keeps the schedule on the wall clock it is given: a
	 * clock set back (or an RTC that lost its time) would put a locked
	 * period ahead. Below the bound the vault's clock gives, nothing is
	 * checked, so nothing opens and nothing is counted; setting the
	 * clock right ends it.
	 */
	if (policy_schedules(admin_policy(admin))) {
		out->clock = policy_clock_check(v, admin->now_s(),
						&out->clock_behind_s);
		if (out->clock != CLOCK_TRUSTED)
			return;
	}
	if (!in->code || !safelock_code_valid(in->code, in->len)) {
		out->vault_ret = -EINVAL;
		snprintf(v->errmsg, sizeof(v->errmsg), "malformed code");
		return;
	}
	out->vault_asked = true;
	out->vault_ret = v->ops->verify(v, in->req, in->user, in->code, in->len,
					&out->retry_after_ms, &out->res);
	admin_vault_result(admin, out->vault_ret);
	/* the role decides what a right code earns */
	if (out->vault_ret == VAULT_GRANTED)
		out->result = policy_verdict(out->res.role, admin_policy(admin),
					     &out->override);
	/* only a verdict that opens resets the lock-wide count */
	if (out->result == SAFELOCK_RESULT_GRANTED && v->ops->opened)
		v->ops->opened(v);
	out->duress = out->result == SAFELOCK_RESULT_GRANTED && out->res.duress;
	if (out->result == SAFELOCK_RESULT_GRANTED)
		out->retry_after_ms = 0;
}

bool verify_unchecked_record(const struct verify_in *in,
			     const struct verify_out *out, uint32_t *type,
			     uint32_t *value, char *text, size_t len)
{
	if (out->no_policy) {
		*type = AUDIT_V_NO_POLICY;
		*value = in->dev;
		snprintf(text, len, "policy not in force on the lock: code not checked");
		return true;
	}
	if (out->clock == CLOCK_BEHIND) {
		*type = AUDIT_V_CLOCK_BEHIND;
		*value = out->clock_behind_s > UINT32_MAX ? UINT32_MAX :
			 (uint32_t)out->clock_behind_s;
		snprintf(text, len, "clock behind the TPM's lower bound by %llu s: code not checked",
			 (unsigned long long)out->clock_behind_s);
		return true;
	}
	if (out->clock == CLOCK_UNVERIFIABLE) {
		*type = AUDIT_V_CLOCK_BEHIND;
		*value = 0;
		snprintf(text, len, "TPM clock unreadable: the wall clock cannot be checked: code not checked");
		return true;
	}
	return false;
}
