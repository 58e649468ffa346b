/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the verifier loop (verifier.c) decides before and around the vault,
 * kept apart from its netlink plumbing so the host tests can drive it
 * (gate.c): which messages are the kernel's, whether a lock's VERIFY may
 * be checked at all, and the verdict.
 */
#ifndef SAFELOCKD_GATE_H
#define SAFELOCKD_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adminsrv.h"

struct sockaddr_nl;
struct nlmsghdr;

/* Why a message on the verifier's socket is not acted on. */
enum kmsg_check {
	KMSG_KERNEL = 0,	/* the kernel's: act on it */
	KMSG_FORGED,		/* not sent by the kernel (source port not 0) */
	KMSG_OTHER_FAMILY,	/* not our family's nor nlctrl's */
};

/*
 * Is @nlh, received from @src, the kernel's message of generic netlink
 * family @family (or of nlctrl)? A VERIFY, ENTRY_BEGIN or ENTRY_USER is
 * acted on only when this says KMSG_KERNEL: any process with CAP_NET_ADMIN
 * can unicast a message to safelockd's port, but only the kernel sends from
 * port 0.
 */
enum kmsg_check kernel_msg_check(const struct sockaddr_nl *src,
				 const struct nlmsghdr *nlh, int family);

/*
 * A simple log limiter: at most @burst lines per @window_ms; the lines
 * held back are counted, and reported with the next one let through.
 */
struct ratelimit {
	uint64_t window_ms;
	unsigned int burst;
	uint64_t start_ms;
	unsigned int n;
	unsigned long suppressed;
};

/*
 * May a line be written at @now_ms? If so, *@suppressed is how many were
 * held back since the last one (then reset to 0).
 */
bool ratelimit_ok(struct ratelimit *rl, uint64_t now_ms,
		  unsigned long *suppressed);

/*
 * What vault_ops.provisioned() said (enum safelock_vault, or -errno), as
 * SAFELOCK_A_PROVISIONED tells the kernel: an error is DAMAGED, never
 * EMPTY: a vault that cannot be read must not make the lock look new.
 */
uint8_t vault_state(int provisioned);
const char *vault_state_name(uint8_t state);

/* One VERIFY, as parsed. */
struct verify_in {
	uint32_t dev;
	uint64_t req;
	uint32_t user;
	const char *code;	/* may be NULL with len 0 */
	size_t len;
};

struct verify_out {
	uint32_t result;		/* SAFELOCK_RESULT_* */
	unsigned int retry_after_ms;	/* with DENIED */
	bool duress;			/* with GRANTED */
	uint8_t override;		/* enum safelock_override */
	int vault_ret;			/* what the vault said; -EINVAL bad code */
	bool vault_asked;		/* verify() was called */
	bool no_policy;			/* refused: the lock lacks the policy */
	/*
	 * Not CLOCK_TRUSTED: refused unchecked, the wall clock is below the
	 * vault's lower bound by clock_behind_s (CLOCK_BEHIND) or no bound
	 * can be known (CLOCK_UNVERIFIABLE), and the schedule applies.
	 */
	enum clock_trust clock;
	uint64_t clock_behind_s;
	struct vault_result res;
};

/*
 * Is the vault's policy in force on lock @dev? @pushed: the locks whose
 * POLICY_SET succeeded since registration (bit = device index).
 */
bool policy_in_force(uint32_t pushed, uint32_t dev, bool policy_ready);

/*
 * The verdict for one VERIFY. @in_force: policy_in_force() for its lock.
 * Without it the vault is not asked at all (no count, no check): DENIED,
 * no retry-after, out->no_policy. When the policy's schedule locks
 * anything (policy_schedules()) and the wall clock (admin->now_s()) is
 * not trusted (policy_clock_check()), the same: DENIED unchecked and
 * uncounted, out->clock says why. Otherwise the vault checks the code
 * and the role decides (policy_verdict()). A malformed code is DENIED
 * with vault_ret -EINVAL and nothing asked of the vault.
 */
void verify_decide(struct vault *v, struct admin_server *admin, bool in_force,
		   const struct verify_in *in, struct verify_out *out);

/*
 * The audit record of a VERIFY refused unchecked (no policy, clock not
 * trusted): true, with its type (enum audit_vault_event), value and text;
 * false for a VERIFY that was checked (its verdict record says it all).
 */
bool verify_unchecked_record(const struct verify_in *in,
			     const struct verify_out *out, uint32_t *type,
			     uint32_t *value, char *text, size_t len);

#endif /* SAFELOCKD_GATE_H */
