// SPDX-License-Identifier: GPL-2.0
/*
 * safelock: the generic netlink family "safelock"
 * (Documentation/netlink/specs/safelock.yaml).
 *
 * The kernel asks the one registered verifier to check an entry (VERIFY,
 * unicast to the verifier's socket) and acts only on a VERDICT that comes
 * back from that socket for its own pending request.  The verifier is
 * dropped when its socket closes.  The family lives in the initial network
 * namespace only: a physical lock has one.
 *
 * Generic netlink is on the kernel's list of families a netlink tap
 * (nlmon) sees, so the digits never go in the clear: the verifier registers
 * with the hash of a code key, hands the key itself over the character
 * device (safelock_netlink_set_code_key()), and VERIFY carries the code
 * sealed with it.
 */
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/net_namespace.h>
#include <crypto/algapi.h>

#include "compat.h"
#include "safelock.h"

/* Protects the next six; taken inside safelock.lock, never around it. */
static DEFINE_SPINLOCK(safelock_verifier_lock);
static u32 safelock_verifier_portid;	/* 0: no verifier */
static int safelock_vault = -1;		/* PROVISIONED: enum safelock_vault, -1 not said */
/*
 * Changes at every registration and every release: a request or a policy
 * belongs to one registration, and a socket that later binds the same port
 * id is another verifier.
 */
static u64 safelock_verifier_gen;
/*
 * The registration's code key: the hash it registered with, and the key
 * once given through the character device.  Both end with the registration.
 */
static u8 safelock_code_key_hash[SAFELOCK_CODE_KEY_SIZE];
static u8 safelock_code_key[SAFELOCK_CODE_KEY_SIZE];
static bool safelock_code_key_set;

/* Forget the code key and its hash; safelock_verifier_lock held. */
static void safelock_code_key_drop(bool hash_too)
{
	lockdep_assert_held(&safelock_verifier_lock);
	memzero_explicit(safelock_code_key, sizeof(safelock_code_key));
	safelock_code_key_set = false;
	if (hash_too)
		memzero_explicit(safelock_code_key_hash, sizeof(safelock_code_key_hash));
}

static void safelock_verifier_work_fn(struct work_struct *work)
{
	safelock_verifier_changed();
}

static DECLARE_WORK(safelock_verifier_work, safelock_verifier_work_fn);

static struct genl_family safelock_genl_family;

enum safelock_mcgrps {
	SAFELOCK_MCGRP_EVENTS,
};

static const struct genl_multicast_group safelock_mcgrps[] = {
	[SAFELOCK_MCGRP_EVENTS] = {
		.name = SAFELOCK_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

/**
 * safelock_verifier_present() - is a verifier registered, and which?
 * @vault: set to what the verifier last said of its vault (&enum
 *	safelock_vault), or -1 if it did not say
 * @id: set to the registration now (port id 0 if none)
 *
 * Return: true if a verifier is registered.
 */
bool safelock_verifier_present(int *vault, struct safelock_verifier_id *id)
{
	bool present;

	spin_lock(&safelock_verifier_lock);
	present = safelock_verifier_portid != 0;
	*vault = safelock_vault;
	id->portid = safelock_verifier_portid;
	id->gen = safelock_verifier_gen;
	spin_unlock(&safelock_verifier_lock);
	return present;
}

/*
 * Is @portid the registered verifier's socket?  If so, @id is set to the
 * registration, for the handler to bind what it does to it.
 */
static bool safelock_is_verifier(u32 portid, struct safelock_verifier_id *id)
{
	bool ret;

	spin_lock(&safelock_verifier_lock);
	ret = safelock_verifier_portid && safelock_verifier_portid == portid;
	id->portid = portid;
	id->gen = safelock_verifier_gen;
	spin_unlock(&safelock_verifier_lock);
	return ret;
}

/* Would an empty vault make a provisioned lock with its door shut new? */
static bool safelock_unprovision_refused(void)
{
	struct safelock *sl;
	unsigned int i;
	bool refused = false;

	for (i = 0; i < SAFELOCK_MAX_DEVICES && !refused; i++) {
		sl = safelock_get_by_index(i);
		if (!sl)
			continue;
		refused = !safelock_may_unprovision(sl);
		safelock_put(sl);
	}
	return refused;
}

static const struct nla_policy safelock_register_policy[SAFELOCK_A_CODE_KEY_HASH + 1] = {
	[SAFELOCK_A_PROVISIONED] = NLA_POLICY_MAX(NLA_U8, SAFELOCK_VAULT_MAX - 1),
	[SAFELOCK_A_CODE_KEY_HASH] = NLA_POLICY_EXACT_LEN(SAFELOCK_CODE_KEY_SIZE),
};

/*
 * Record the registration of @portid with @hash (NULL: keep the hash, only
 * for the registered socket); safelock_verifier_lock held.
 */
static int safelock_register_locked(u32 portid, const struct nlattr *hash, int vault,
				    struct netlink_ext_ack *extack)
{
	lockdep_assert_held(&safelock_verifier_lock);
	if (safelock_verifier_portid && safelock_verifier_portid != portid) {
		NL_SET_ERR_MSG(extack, "a verifier is already registered");
		return -EBUSY;
	}
	if (!hash && safelock_verifier_portid != portid) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, SAFELOCK_A_CODE_KEY_HASH);
		NL_SET_ERR_MSG(extack,
			       "code-key-hash is required: without a code key no code can reach the verifier");
		return -EINVAL;
	}
	if (safelock_verifier_portid != portid) {
		safelock_verifier_gen++;
		safelock_code_key_drop(true);
	}
	safelock_verifier_portid = portid;
	if (vault >= 0)
		safelock_vault = vault;
	/* Another hash from the same socket: the key given for the old one goes. */
	if (hash && crypto_memneq(nla_data(hash), safelock_code_key_hash,
				  SAFELOCK_CODE_KEY_SIZE)) {
		safelock_code_key_drop(false);
		nla_memcpy(safelock_code_key_hash, hash, SAFELOCK_CODE_KEY_SIZE);
	}
	return 0;
}

static int safelock_nl_register(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *prov = info->attrs[SAFELOCK_A_PROVISIONED];
	u32 portid = info->snd_portid;
	int vault = prov ? nla_get_u8(prov) : -1;
	int ret = 0;

	spin_lock(&safelock_verifier_lock);
	if (safelock_verifier_portid && safelock_verifier_portid != portid)
		ret = -EBUSY;
	spin_unlock(&safelock_verifier_lock);
	/* A wipe needs the door open; the state machine checks it again. */
	if (!ret && vault == SAFELOCK_VAULT_EMPTY && safelock_unprovision_refused()) {
		NL_SET_ERR_MSG_ATTR(info->extack, prov,
				    "the door is not open: a provisioned lock is never made new with its door shut");
		return -EBUSY;
	}
	spin_lock(&safelock_verifier_lock);
	ret = safelock_register_locked(portid, info->attrs[SAFELOCK_A_CODE_KEY_HASH], vault,
				       info->extack);
	spin_unlock(&safelock_verifier_lock);
	if (!ret)
		safelock_verifier_changed();
	return ret;
}

static const struct nla_policy safelock_verdict_policy[SAFELOCK_A_DELAY_OVERRIDE + 1] = {
	[SAFELOCK_A_DEVICE] = NLA_POLICY_MAX(NLA_U32, SAFELOCK_MAX_DEVICES - 1),
	[SAFELOCK_A_REQUEST_ID] = { .type = NLA_U64 },
	[SAFELOCK_A_NONCE] = NLA_POLICY_EXACT_LEN(SAFELOCK_NONCE_SIZE),
	[SAFELOCK_A_RESULT] = NLA_POLICY_RANGE(NLA_U32, SAFELOCK_RESULT_GRANTED,
					       SAFELOCK_RESULT_DENIED),
	[SAFELOCK_A_RETRY_AFTER_MS] = { .type = NLA_U32 },
	[SAFELOCK_A_DURESS] = NLA_POLICY_MAX(NLA_U8, 1),
	[SAFELOCK_A_DELAY_OVERRIDE] = NLA_POLICY_MAX(NLA_U8, SAFELOCK_OVERRIDE_MAX - 1),
};

static int safelock_nl_verdict(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct safelock_verifier_id from;
	enum safelock_result result;
	u32 retry_after = 0;
	bool duress = false;
	u8 override = 0;
	struct safelock *sl;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_DEVICE) ||
	    GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_REQUEST_ID) ||
	    GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_NONCE) ||
	    GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_RESULT))
		return -EINVAL;

	result = nla_get_u32(attrs[SAFELOCK_A_RESULT]);
	if (attrs[SAFELOCK_A_RETRY_AFTER_MS])
		retry_after = nla_get_u32(attrs[SAFELOCK_A_RETRY_AFTER_MS]);
	if (retry_after && result != SAFELOCK_RESULT_DENIED) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[SAFELOCK_A_RETRY_AFTER_MS],
				    "retry-after only goes with a denial");
		return -EINVAL;
	}
	if (attrs[SAFELOCK_A_DURESS])
		duress = nla_get_u8(attrs[SAFELOCK_A_DURESS]);
	if (duress && result != SAFELOCK_RESULT_GRANTED) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[SAFELOCK_A_DURESS],
				    "duress only goes with a grant");
		return -EINVAL;
	}
	if (attrs[SAFELOCK_A_DELAY_OVERRIDE])
		override = nla_get_u8(attrs[SAFELOCK_A_DELAY_OVERRIDE]);
	if (override && result != SAFELOCK_RESULT_GRANTED) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[SAFELOCK_A_DELAY_OVERRIDE],
				    "delay override only goes with a grant");
		return -EINVAL;
	}

	if (!safelock_is_verifier(info->snd_portid, &from)) {
		NL_SET_ERR_MSG(info->extack, "not the registered verifier");
		return -EPERM;
	}

	sl = safelock_get_by_index(nla_get_u32(attrs[SAFELOCK_A_DEVICE]));
	if (!sl) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[SAFELOCK_A_DEVICE], "no such device");
		return -ENODEV;
	}
	ret = safelock_verdict(sl, &from, nla_get_u64(attrs[SAFELOCK_A_REQUEST_ID]),
			       nla_data(attrs[SAFELOCK_A_NONCE]), result, retry_after,
			       duress, override, info->extack);
	safelock_put(sl);
	return ret;
}

/* Not const: 6.1's struct nla_policy points to a non-const one. */
static struct netlink_range_validation safelock_relock_range = {
	.min = 500,
	.max = 600000,
};

static struct netlink_range_validation safelock_lock_for_range = {
	.min = 1,
	.max = SAFELOCK_TIME_LOCK_MAX_S,
};

static struct netlink_range_validation_signed safelock_utc_offset_range = {
	.min = -SAFELOCK_UTC_OFFSET_MAX_S,
	.max = SAFELOCK_UTC_OFFSET_MAX_S,
};

/* Holidays: a whole number of u32 day numbers, at most SAFELOCK_HOLIDAYS_MAX. */
static int safelock_validate_holidays(const struct nlattr *attr, struct netlink_ext_ack *extack)
{
	int len = nla_len(attr);

	if (len % sizeof(u32) || len > SAFELOCK_HOLIDAYS_MAX * sizeof(u32)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "holidays are 0 to 32 day numbers of 4 bytes");
		return -EINVAL;
	}
	return 0;
}

static const struct nla_policy safelock_policy_policy[SAFELOCK_A_TIME_LOCK_FOR_S + 1] = {
	[SAFELOCK_A_DEVICE] = NLA_POLICY_MAX(NLA_U32, SAFELOCK_MAX_DEVICES - 1),
	[SAFELOCK_A_TIME_DELAY_S] = NLA_POLICY_MAX(NLA_U32, 7200),
	[SAFELOCK_A_OPEN_WINDOW_S] = NLA_POLICY_RANGE(NLA_U32, 60, 1800),
	[SAFELOCK_A_DUAL_CONTROL] = NLA_POLICY_MAX(NLA_U8, 1),
	[SAFELOCK_A_DUAL_WINDOW_S] = NLA_POLICY_RANGE(NLA_U32, 10, 300),
	[SAFELOCK_A_RELOCK_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &safelock_relock_range),
	[SAFELOCK_A_DOOR_LIMIT_S] = NLA_POLICY_MAX(NLA_U32, 3600),
	[SAFELOCK_A_TIME_LOCK] = NLA_POLICY_MAX(NLA_U8, 1),
	[SAFELOCK_A_TIME_LOCK_WEEK] = NLA_POLICY_EXACT_LEN(SAFELOCK_TIME_LOCK_WEEK_SIZE),
	[SAFELOCK_A_HOLIDAYS] = NLA_POLICY_VALIDATE_FN(NLA_BINARY, safelock_validate_holidays),
	[SAFELOCK_A_UTC_OFFSET_S] = NLA_POLICY_FULL_RANGE_SIGNED(NLA_S32,
								 &safelock_utc_offset_range),
	[SAFELOCK_A_TIME_LOCK_UNTIL] = { .type = NLA_U64 },
	[SAFELOCK_A_OVERRIDE] = NLA_POLICY_MAX(NLA_U8, 1),
	[SAFELOCK_A_TIME_LOCK_FOR_S] = NLA_POLICY_FULL_RANGE(NLA_U32, &safelock_lock_for_range),
};

/* The time lock's and the override's attributes, onto @p. */
static void safelock_nl_time_lock_attrs(struct nlattr **attrs, struct safelock_policy *p)
{
	if (attrs[SAFELOCK_A_TIME_LOCK])
		p->time_lock = nla_get_u8(attrs[SAFELOCK_A_TIME_LOCK]);
	if (attrs[SAFELOCK_A_TIME_LOCK_WEEK])
		nla_memcpy(p->week, attrs[SAFELOCK_A_TIME_LOCK_WEEK], sizeof(p->week));
	if (attrs[SAFELOCK_A_HOLIDAYS]) {
		memset(p->holidays, 0, sizeof(p->holidays));
		p->n_holidays = nla_memcpy(p->holidays, attrs[SAFELOCK_A_HOLIDAYS],
					   sizeof(p->holidays)) / sizeof(u32);
	}
	if (attrs[SAFELOCK_A_UTC_OFFSET_S])
		p->utc_offset_s = nla_get_s32(attrs[SAFELOCK_A_UTC_OFFSET_S]);
	if (attrs[SAFELOCK_A_TIME_LOCK_UNTIL])
		p->time_lock_until_s = nla_get_u64(attrs[SAFELOCK_A_TIME_LOCK_UNTIL]);
	if (attrs[SAFELOCK_A_OVERRIDE])
		p->override = nla_get_u8(attrs[SAFELOCK_A_OVERRIDE]);
}

static int safelock_nl_put_time_lock(struct sk_buff *msg, const struct safelock_policy *p)
{
	if (nla_put_u8(msg, SAFELOCK_A_TIME_LOCK, p->time_lock) ||
	    nla_put(msg, SAFELOCK_A_TIME_LOCK_WEEK, sizeof(p->week), p->week) ||
	    nla_put(msg, SAFELOCK_A_HOLIDAYS, p->n_holidays * sizeof(u32), p->holidays) ||
	    nla_put_s32(msg, SAFELOCK_A_UTC_OFFSET_S, p->utc_offset_s) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_TIME_LOCK_UNTIL, p->time_lock_until_s,
			      SAFELOCK_A_PAD) ||
	    nla_put_u8(msg, SAFELOCK_A_OVERRIDE, p->override))
		return -EMSGSIZE;
	return 0;
}

static struct safelock *safelock_nl_device(struct genl_info *info)
{
	struct safelock *sl;

	if (GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_DEVICE))
		return NULL;
	sl = safelock_get_by_index(nla_get_u32(info->attrs[SAFELOCK_A_DEVICE]));
	if (!sl)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SAFELOCK_A_DEVICE],
				    "no such device");
	return sl;
}

static int safelock_nl_policy_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct safelock_verifier_id from;
	struct safelock_policy p;
	struct safelock *sl;
	u32 lock_for_s = 0;
	int ret;

	if (!safelock_is_verifier(info->snd_portid, &from)) {
		NL_SET_ERR_MSG(info->extack, "not the registered verifier");
		return -EPERM;
	}
	if (attrs[SAFELOCK_A_TIME_LOCK_FOR_S]) {
		if (attrs[SAFELOCK_A_TIME_LOCK_UNTIL]) {
			NL_SET_ERR_MSG_ATTR(info->extack, attrs[SAFELOCK_A_TIME_LOCK_FOR_S],
					    "time-lock-for-s and time-lock-until exclude each other");
			return -EINVAL;
		}
		lock_for_s = nla_get_u32(attrs[SAFELOCK_A_TIME_LOCK_FOR_S]);
	}
	sl = safelock_nl_device(info);
	if (!sl)
		return info->attrs[SAFELOCK_A_DEVICE] ? -ENODEV : -EINVAL;
	safelock_policy_get(sl, &p);
	if (attrs[SAFELOCK_A_TIME_DELAY_S])
		p.time_delay_s = nla_get_u32(attrs[SAFELOCK_A_TIME_DELAY_S]);
	if (attrs[SAFELOCK_A_OPEN_WINDOW_S])
		p.open_window_s = nla_get_u32(attrs[SAFELOCK_A_OPEN_WINDOW_S]);
	if (attrs[SAFELOCK_A_DUAL_CONTROL])
		p.dual_control = nla_get_u8(attrs[SAFELOCK_A_DUAL_CONTROL]);
	if (attrs[SAFELOCK_A_DUAL_WINDOW_S])
		p.dual_window_s = nla_get_u32(attrs[SAFELOCK_A_DUAL_WINDOW_S]);
	if (attrs[SAFELOCK_A_RELOCK_MS])
		p.relock_ms = nla_get_u32(attrs[SAFELOCK_A_RELOCK_MS]);
	if (attrs[SAFELOCK_A_DOOR_LIMIT_S]) {
		p.door_limit_s = nla_get_u32(attrs[SAFELOCK_A_DOOR_LIMIT_S]);
		if (p.door_limit_s && p.door_limit_s < 5) {
			NL_SET_ERR_MSG_ATTR(info->extack, attrs[SAFELOCK_A_DOOR_LIMIT_S],
					    "door limit is 0 (never) or 5 to 3600 s");
			safelock_put(sl);
			return -ERANGE;
		}
	}
	safelock_nl_time_lock_attrs(attrs, &p);
	ret = safelock_policy_set(sl, &from, &p, lock_for_s, info->extack);
	safelock_put(sl);
	return ret;
}

static int safelock_nl_policy_get(struct sk_buff *skb, struct genl_info *info)
{
	struct safelock_policy p;
	struct safelock *sl;
	struct sk_buff *msg;
	u32 index;
	void *hdr;

	sl = safelock_nl_device(info);
	if (!sl)
		return info->attrs[SAFELOCK_A_DEVICE] ? -ENODEV : -EINVAL;
	safelock_policy_get(sl, &p);
	index = sl->index;
	safelock_put(sl);

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &safelock_genl_family, 0, SAFELOCK_CMD_POLICY_GET);
	if (!hdr ||
	    nla_put_u32(msg, SAFELOCK_A_DEVICE, index) ||
	    nla_put_u32(msg, SAFELOCK_A_TIME_DELAY_S, p.time_delay_s) ||
	    nla_put_u32(msg, SAFELOCK_A_OPEN_WINDOW_S, p.open_window_s) ||
	    nla_put_u8(msg, SAFELOCK_A_DUAL_CONTROL, p.dual_control) ||
	    nla_put_u32(msg, SAFELOCK_A_DUAL_WINDOW_S, p.dual_window_s) ||
	    nla_put_u32(msg, SAFELOCK_A_RELOCK_MS, p.relock_ms) ||
	    nla_put_u32(msg, SAFELOCK_A_DOOR_LIMIT_S, p.door_limit_s) ||
	    safelock_nl_put_time_lock(msg, &p)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* What only an administrator may see: a silent alarm stays silent. */
#define SAFELOCK_STATUS_PRIVATE	(SAFELOCK_STATUS_ALARM | SAFELOCK_STATUS_TAMPER)

static int safelock_fill_status(struct sk_buff *skb, struct safelock *sl, u32 portid,
				u32 seq, int flags, bool admin)
{
	void *hdr;
	u32 state, st_flags;
	u64 ev_seq;

	mutex_lock(&sl->lock);
	state = sl->fsm.state;
	st_flags = safelock_status_flags(sl);
	if (!admin)
		st_flags &= ~SAFELOCK_STATUS_PRIVATE;
	spin_lock(&sl->ev_lock);
	ev_seq = sl->seq;
	spin_unlock(&sl->ev_lock);
	mutex_unlock(&sl->lock);

	hdr = genlmsg_put(skb, portid, seq, &safelock_genl_family, flags,
			  SAFELOCK_CMD_STATUS_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SAFELOCK_A_DEVICE, sl->index) ||
	    nla_put_u32(skb, SAFELOCK_A_STATE, state) ||
	    nla_put_u32(skb, SAFELOCK_A_FLAGS, st_flags) ||
	    nla_put_u64_64bit(skb, SAFELOCK_A_SEQ, ev_seq, SAFELOCK_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static const struct nla_policy safelock_status_policy[SAFELOCK_A_DEVICE + 1] = {
	[SAFELOCK_A_DEVICE] = NLA_POLICY_MAX(NLA_U32, SAFELOCK_MAX_DEVICES - 1),
};

static int safelock_nl_status_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct safelock *sl;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_DEVICE))
		return -EINVAL;
	sl = safelock_get_by_index(nla_get_u32(info->attrs[SAFELOCK_A_DEVICE]));
	if (!sl) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SAFELOCK_A_DEVICE],
				    "no such device");
		return -ENODEV;
	}
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		safelock_put(sl);
		return -ENOMEM;
	}
	ret = safelock_fill_status(msg, sl, info->snd_portid, info->snd_seq, 0,
				   netlink_capable(skb, CAP_NET_ADMIN));
	safelock_put(sl);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int safelock_nl_status_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct safelock *sl;
	unsigned long i;
	int ret = 0;

	for (i = cb->args[0]; i < SAFELOCK_MAX_DEVICES; i++) {
		sl = safelock_get_by_index(i);
		if (!sl)
			continue;
		ret = safelock_fill_status(skb, sl, NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq, NLM_F_MULTI,
					   netlink_capable(cb->skb, CAP_NET_ADMIN));
		safelock_put(sl);
		if (ret)
			break;
	}
	cb->args[0] = i;
	/* A full message ends this part of the dump; the rest comes next call. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

/* The verifier, after a manager authorised it: relock a lock in FAULT. */
static int safelock_nl_fault_clear(struct sk_buff *skb, struct genl_info *info)
{
	struct safelock_verifier_id from;
	struct safelock *sl;
	int ret;

	if (!safelock_is_verifier(info->snd_portid, &from)) {
		NL_SET_ERR_MSG(info->extack, "not the registered verifier");
		return -EPERM;
	}
	sl = safelock_nl_device(info);
	if (!sl)
		return info->attrs[SAFELOCK_A_DEVICE] ? -ENODEV : -EINVAL;
	ret = safelock_fault_clear(sl, info->extack);
	safelock_put(sl);
	return ret;
}

static const struct nla_policy safelock_duress_policy[SAFELOCK_A_USER_ID + 1] = {
	[SAFELOCK_A_DEVICE] = NLA_POLICY_MAX(NLA_U32, SAFELOCK_MAX_DEVICES - 1),
	/* u32 as the spec has it; the range is checked below, with extack */
	[SAFELOCK_A_USER_ID] = { .type = NLA_U32 },
};

/* The verifier saw a duress code where nothing opens: the silent alarm. */
static int safelock_nl_duress_alarm(struct sk_buff *skb, struct genl_info *info)
{
	struct safelock_verifier_id from;
	struct safelock *sl;
	u32 user;

	if (!safelock_is_verifier(info->snd_portid, &from)) {
		NL_SET_ERR_MSG(info->extack, "not the registered verifier");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, SAFELOCK_A_USER_ID))
		return -EINVAL;
	user = nla_get_u32(info->attrs[SAFELOCK_A_USER_ID]);
	if (!user || user > SAFELOCK_USER_ID_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SAFELOCK_A_USER_ID],
				    "a user id is 1 to 999");
		return -ERANGE;
	}
	sl = safelock_nl_device(info);
	if (!sl)
		return info->attrs[SAFELOCK_A_DEVICE] ? -ENODEV : -EINVAL;
	safelock_duress_alarm(sl, user);
	safelock_put(sl);
	return 0;
}

/* The verifier says the wall clock was set: read the clocks now. */
static int safelock_nl_clock_set(struct sk_buff *skb, struct genl_info *info)
{
	struct safelock_verifier_id from;
	struct safelock *sl;
	unsigned int i;

	if (!safelock_is_verifier(info->snd_portid, &from)) {
		NL_SET_ERR_MSG(info->extack, "not the registered verifier");
		return -EPERM;
	}
	if (info->attrs[SAFELOCK_A_DEVICE]) {
		sl = safelock_nl_device(info);
		if (!sl)
			return -ENODEV;
		safelock_clock_set(sl);
		safelock_put(sl);
		return 0;
	}
	for (i = 0; i < SAFELOCK_MAX_DEVICES; i++) {
		sl = safelock_get_by_index(i);
		if (!sl)
			continue;
		safelock_clock_set(sl);
		safelock_put(sl);
	}
	return 0;
}

static const struct genl_ops safelock_genl_ops[] = {
	{
		.cmd = SAFELOCK_CMD_VERIFIER_REGISTER,
		.doit = safelock_nl_register,
		.policy = safelock_register_policy,
		.maxattr = ARRAY_SIZE(safelock_register_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SAFELOCK_CMD_VERDICT,
		.doit = safelock_nl_verdict,
		.policy = safelock_verdict_policy,
		.maxattr = ARRAY_SIZE(safelock_verdict_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SAFELOCK_CMD_POLICY_SET,
		.doit = safelock_nl_policy_set,
		.policy = safelock_policy_policy,
		.maxattr = ARRAY_SIZE(safelock_policy_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SAFELOCK_CMD_POLICY_GET,
		.doit = safelock_nl_policy_get,
		/* Its spec takes the device only: the status-get policy. */
		.policy = safelock_status_policy,
		.maxattr = ARRAY_SIZE(safelock_status_policy) - 1,
		/* The schedule says when the safe can be opened. */
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SAFELOCK_CMD_STATUS_GET,
		.doit = safelock_nl_status_get,
		.dumpit = safelock_nl_status_dump,
		.policy = safelock_status_policy,
		.maxattr = ARRAY_SIZE(safelock_status_policy) - 1,
	},
	{
		.cmd = SAFELOCK_CMD_FAULT_CLEAR,
		.doit = safelock_nl_fault_clear,
		.policy = safelock_status_policy,
		.maxattr = ARRAY_SIZE(safelock_status_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SAFELOCK_CMD_DURESS_ALARM,
		.doit = safelock_nl_duress_alarm,
		.policy = safelock_duress_policy,
		.maxattr = ARRAY_SIZE(safelock_duress_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SAFELOCK_CMD_CLOCK_SET,
		.doit = safelock_nl_clock_set,
		/* the device only, and optional */
		.policy = safelock_status_policy,
		.maxattr = ARRAY_SIZE(safelock_status_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family safelock_genl_family __ro_after_init = {
	.name = SAFELOCK_GENL_NAME,
	.version = SAFELOCK_GENL_VERSION,
	.maxattr = SAFELOCK_A_MAX,
	.netnsok = false,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = safelock_genl_ops,
	.n_ops = ARRAY_SIZE(safelock_genl_ops),
	.resv_start_op = SAFELOCK_CMD_VERIFIER_REGISTER,
	.mcgrps = safelock_mcgrps,
	.n_mcgrps = ARRAY_SIZE(safelock_mcgrps),
};

/**
 * safelock_netlink_set_code_key() - the verifier gives its code key
 * @key: %SAFELOCK_CODE_KEY_SIZE bytes, from %SAFELOCK_IOC_SET_CODE_KEY
 *
 * Only the process that made the key could have registered its hash, so a
 * match is the proof that the registered verifier sent it.
 *
 * Return: 0 if it is the key of the registration in force, -ENOTCONN if no
 * verifier is registered, -EPERM if its hash is not the registered one.
 */
int safelock_netlink_set_code_key(const u8 *key)
{
	u8 hash[SAFELOCK_CODE_KEY_SIZE];
	int ret = 0;

	safelock_blake2s(hash, sizeof(hash), key, SAFELOCK_CODE_KEY_SIZE, NULL, 0);
	spin_lock(&safelock_verifier_lock);
	if (!safelock_verifier_portid) {
		ret = -ENOTCONN;
	} else if (crypto_memneq(hash, safelock_code_key_hash, sizeof(hash))) {
		ret = -EPERM;
	} else if (!safelock_code_key_set) {
		memcpy(safelock_code_key, key, SAFELOCK_CODE_KEY_SIZE);
		safelock_code_key_set = true;
	}
	spin_unlock(&safelock_verifier_lock);
	memzero_explicit(hash, sizeof(hash));
	return ret;
}

/*
 * Put @out's code into @msg sealed with @key: the digits XOR the keyed
 * BLAKE2s-256 of the request's nonce and id.  Only the sealed bytes are
 * ever in the skb.
 */
static int safelock_nl_put_sealed(struct sk_buff *msg, const struct safelock *sl,
				  const struct safelock_fsm_out *out, const u8 *key)
{
	u8 stream[BLAKE2S_HASH_SIZE];
	u8 in[SAFELOCK_NONCE_SIZE + sizeof(__le64)];
	__le64 id = cpu_to_le64(sl->req.id);
	struct nlattr *nla;
	u8 *sealed;
	unsigned int i;

	BUILD_BUG_ON(sizeof(stream) < SAFELOCK_CODE_MAX_DIGITS);
	if (out->code_len > sizeof(stream))
		return -EINVAL;
	nla = nla_reserve(msg, SAFELOCK_A_CODE_SEALED, out->code_len);
	if (!nla)
		return -EMSGSIZE;
	memcpy(in, sl->req.nonce, SAFELOCK_NONCE_SIZE);
	memcpy(in + SAFELOCK_NONCE_SIZE, &id, sizeof(id));
	safelock_blake2s(stream, sizeof(stream), in, sizeof(in), key, SAFELOCK_CODE_KEY_SIZE);
	sealed = nla_data(nla);
	for (i = 0; i < out->code_len; i++)
		sealed[i] = out->code[i] ^ stream[i];
	memzero_explicit(stream, sizeof(stream));
	memzero_explicit(in, sizeof(in));
	return 0;
}

/**
 * safelock_netlink_verify() - send a VERIFY request to the verifier
 * @sl: the lock, with its request filled in; sl->lock held
 * @out: the entry's user id and code; the caller wipes the code
 *
 * The code goes only sealed with the registration's code key; without a
 * key nothing is sent.
 *
 * Return: 0 if the verifier's socket took the request, -ENOKEY if the
 * verifier has not given its code key, else a negative errno.
 */
int safelock_netlink_verify(struct safelock *sl, const struct safelock_fsm_out *out)
{
	u8 key[SAFELOCK_CODE_KEY_SIZE];
	struct sk_buff *msg;
	bool keyed;
	void *hdr;
	u32 portid;
	int ret;

	lockdep_assert_held(&sl->lock);
	spin_lock(&safelock_verifier_lock);
	portid = safelock_verifier_portid;
	sl->req.gen = safelock_verifier_gen;
	keyed = safelock_code_key_set;
	if (keyed)
		memcpy(key, safelock_code_key, sizeof(key));
	spin_unlock(&safelock_verifier_lock);
	/* Only to the registration this lock took in, whose policy it has. */
	if (!portid || sl->req.gen != sl->verifier_gen) {
		ret = -ENOTCONN;
		goto out;
	}
	if (!keyed) {
		dev_warn_ratelimited(sl->dev,
				     "the verifier has not given its code key: entry not sent\n");
		ret = -ENOKEY;
		goto out;
	}
	sl->req.portid = portid;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out;
	}
	hdr = genlmsg_put(msg, 0, 0, &safelock_genl_family, 0, SAFELOCK_CMD_VERIFY);
	if (!hdr ||
	    nla_put_u32(msg, SAFELOCK_A_DEVICE, sl->index) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_REQUEST_ID, sl->req.id, SAFELOCK_A_PAD) ||
	    nla_put(msg, SAFELOCK_A_NONCE, SAFELOCK_NONCE_SIZE, sl->req.nonce) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_DEADLINE_NS, sl->req.deadline_ns, SAFELOCK_A_PAD) ||
	    nla_put_u32(msg, SAFELOCK_A_USER_ID, out->user_id) ||
	    safelock_nl_put_sealed(msg, sl, out, key)) {
		nlmsg_free(msg);
		ret = -EMSGSIZE;
		goto out;
	}
	genlmsg_end(msg, hdr);
	ret = genlmsg_unicast(&init_net, msg, portid);
out:
	memzero_explicit(key, sizeof(key));
	return ret;
}

/*
 * A notice to the verifier about the entry under way (ENTRY_BEGIN,
 * ENTRY_USER): best effort, no verifier or one that does not listen
 * changes nothing.  @user_id 0: none in the notice.
 */
static void safelock_netlink_entry_notice(struct safelock *sl, u8 cmd, u64 entry_id,
					  u32 user_id)
{
	struct sk_buff *msg;
	void *hdr;
	u32 portid;

	lockdep_assert_held(&sl->lock);
	spin_lock(&safelock_verifier_lock);
	portid = safelock_verifier_gen == sl->verifier_gen ? safelock_verifier_portid : 0;
	spin_unlock(&safelock_verifier_lock);
	if (!portid)
		return;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &safelock_genl_family, 0, cmd);
	if (!hdr ||
	    nla_put_u32(msg, SAFELOCK_A_DEVICE, sl->index) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_REQUEST_ID, entry_id, SAFELOCK_A_PAD) ||
	    (user_id && nla_put_u32(msg, SAFELOCK_A_USER_ID, user_id))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_unicast(&init_net, msg, portid);
}

/**
 * safelock_netlink_entry_begin() - tell the verifier an entry has begun
 * @sl: the lock; sl->lock held
 * @entry_id: the id the entry's VERIFY will carry
 */
void safelock_netlink_entry_begin(struct safelock *sl, u64 entry_id)
{
	safelock_netlink_entry_notice(sl, SAFELOCK_CMD_ENTRY_BEGIN, entry_id, 0);
}

/**
 * safelock_netlink_entry_user() - tell the verifier the entry's user id
 * @sl: the lock; sl->lock held
 * @entry_id: the id of the entry (its ENTRY_BEGIN's)
 * @user_id: the user id typed, 1 and up
 */
void safelock_netlink_entry_user(struct safelock *sl, u64 entry_id, u32 user_id)
{
	safelock_netlink_entry_notice(sl, SAFELOCK_CMD_ENTRY_USER, entry_id, user_id);
}

/**
 * safelock_netlink_event() - copy an event to the "events" multicast group
 * @sl: the lock
 * @ev: the event; it never carries a digit
 */
void safelock_netlink_event(struct safelock *sl, const struct safelock_event *ev)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&safelock_genl_family, &init_net, SAFELOCK_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &safelock_genl_family, 0, SAFELOCK_CMD_EVENT);
	if (!hdr ||
	    nla_put_u32(msg, SAFELOCK_A_DEVICE, sl->index) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_SEQ, ev->seq, SAFELOCK_A_PAD) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_TIMESTAMP_NS, ev->timestamp_ns, SAFELOCK_A_PAD) ||
	    nla_put_u32(msg, SAFELOCK_A_EVENT, ev->type) ||
	    nla_put_u32(msg, SAFELOCK_A_STATE, ev->state) ||
	    nla_put_u32(msg, SAFELOCK_A_RESULT, ev->result) ||
	    nla_put_u32(msg, SAFELOCK_A_USER_ID, ev->user_id) ||
	    nla_put_u64_64bit(msg, SAFELOCK_A_REQUEST_ID, ev->request_id, SAFELOCK_A_PAD) ||
	    nla_put_u32(msg, SAFELOCK_A_VALUE, ev->value)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&safelock_genl_family, msg, 0, SAFELOCK_MCGRP_EVENTS, GFP_KERNEL);
}

/* The verifier's socket closed: it is no longer the verifier. */
static int safelock_netlink_notify(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;
	bool dropped = false;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !net_eq(n->net, &init_net))
		return NOTIFY_DONE;

	spin_lock(&safelock_verifier_lock);
	if (n->portid && n->portid == safelock_verifier_portid) {
		safelock_verifier_portid = 0;
		safelock_vault = -1;
		safelock_code_key_drop(true);
		/* from now on no verdict matches what this socket was asked */
		safelock_verifier_gen++;
		dropped = true;
	}
	spin_unlock(&safelock_verifier_lock);
	if (dropped)
		schedule_work(&safelock_verifier_work);
	return NOTIFY_DONE;
}

static struct notifier_block safelock_netlink_nb = {
	.notifier_call = safelock_netlink_notify,
};

int safelock_netlink_init(void)
{
	int ret;

	ret = netlink_register_notifier(&safelock_netlink_nb);
	if (ret)
		return ret;
	ret = genl_register_family(&safelock_genl_family);
	if (ret)
		netlink_unregister_notifier(&safelock_netlink_nb);
	return ret;
}

void safelock_netlink_exit(void)
{
	genl_unregister_family(&safelock_genl_family);
	netlink_unregister_notifier(&safelock_netlink_nb);
	flush_work(&safelock_verifier_work);
	spin_lock(&safelock_verifier_lock);
	safelock_code_key_drop(true);
	spin_unlock(&safelock_verifier_lock);
}
