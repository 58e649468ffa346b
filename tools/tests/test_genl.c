// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink client against the kernel's own "nlctrl" family:
 * resolving a family, a request with its ack, a refused request with the
 * kernel's extack text, and the "module not loaded" answer.
 */
#include <errno.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/genetlink.h>

#include "libsafelock.h"
#include "tap.h"

#define NTESTS 4

static int replies;

static int count_reply(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	replies++;
	return NL_OK;
}

int main(void)
{
	struct sl_genl g = { .family = -1 };
	struct nl_msg *msg;
	int ret, i;

	tap_plan(NTESTS);
	ret = sl_genl_open_family(&g, "nlctrl");
	if (!tap_ok(ret == 0 && g.family == GENL_ID_CTRL,
		    "resolve the nlctrl family by name")) {
		tap_diag("%s", sl_genl_strerror(ret));
		for (i = 1; i < NTESTS; i++)
			tap_skip("genl", "no generic netlink here");
		return tap_exit();
	}
	g.on_msg = count_reply;

	msg = sl_genl_msg(&g, CTRL_CMD_GETFAMILY);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	ret = sl_genl_request(&g, msg);
	tap_ok(ret == 0 && replies == 1, "request, reply and ack");

	/* a name without its NUL fails nlctrl's NLA_NUL_STRING policy */
	msg = sl_genl_msg(&g, CTRL_CMD_GETFAMILY);
	nla_put(msg, CTRL_ATTR_FAMILY_NAME, 6, "nlctrl");
	ret = sl_genl_request(&g, msg);
	if (!tap_ok(ret == -EINVAL && g.extack[0],
		    "refused request gives -EINVAL and the extack text"))
		tap_diag("ret %d extack '%s'", ret, g.extack);
	else
		tap_diag("extack: %s", g.extack);
	sl_genl_close(&g);

	ret = sl_genl_open(&g);
	if (ret == 0) {
		tap_skip("missing module is reported", "safelock module is loaded");
		sl_genl_close(&g);
	} else {
		tap_ok(ret == -ENOENT &&
		       !strcmp(sl_genl_strerror(ret), "safelock module not loaded"),
		       "missing family: \"safelock module not loaded\"");
	}
	return tap_exit();
}
