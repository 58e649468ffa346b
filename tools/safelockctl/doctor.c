// SPDX-License-Identifier: GPL-2.0
/*
 * doctor: what stands between this machine and a working lock, in the
 * order one depends on the other, each with what to do about it:
 *
 *   module     libkmod: loaded, built in, available, blacklisted or
 *              not installed (each a different answer and exit status)
 *   netlink    the "safelock" generic netlink family is registered
 *   device     /dev/safelockN exists: the driver is bound to the board,
 *              and which of the board's lines it found
 *   verifier   a verifier is registered with the kernel (STATUS_GET)
 *   safelockd  the admin socket answers
 *   vault      safelockd's TPM answers
 *
 * The exit status is the first failing check's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <libkmod.h>
#include <netlink/genl/genl.h>

#include "libsafelock.h"
#include "safelockctl.h"

#define MODULE_NAME "safelock"

struct check {
	const char *name;
	const char *result;	/* "ok", "FAIL", "warn", "skip" */
	char detail[320];
	char fix[320];
	int exit;		/* non-zero for FAIL */
};

struct doctor {
	struct ctl_config *cfg;
	struct out o;
	int exit;
	bool have_info;
	struct safelock_info info;
};

static void report(struct doctor *d, struct check *c)
{
	int tone = !strcmp(c->result, "ok") ? TONE_GOOD :
		   !strcmp(c->result, "FAIL") ? TONE_BAD :
		   !strcmp(c->result, "warn") ? TONE_WARN : TONE_NONE;

	out_row_begin(&d->o);
	out_cell(&d->o, "check", 9, c->name);
	out_cell_tone(&d->o, "result", 4, c->result, tone);
	out_cell(&d->o, "detail", 0, c->detail);
	if (d->o.json) {
		out_cell(&d->o, "fix", 0, c->fix);
		out_cell_num(&d->o, "exit", 0, (unsigned long long)c->exit);
	}
	out_row_end(&d->o);
	if (!d->o.json && c->fix[0]) {
		fprintf(d->o.f, "%-15sfix: ", "");
		out_text(d->o.f, c->fix);
		fputc('\n', d->o.f);
	}
	if (c->exit && !d->exit)
		d->exit = c->exit;
}

#define SET(field, ...) snprintf(c.field, sizeof(c.field), __VA_ARGS__)

static void check_module(struct doctor *d)
{
	struct check c = { .name = "module", .result = "ok" };
	const char *cfgpaths[] = { d->cfg->modprobe_dir, NULL };
	struct kmod_list *list = NULL, *allowed = NULL;
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	char path[256] = "";
	struct utsname u;
	int state = -ENOENT;

	uname(&u);
	ctx = kmod_new(d->cfg->modules_dir, d->cfg->modprobe_dir ? cfgpaths : NULL);
	if (!ctx) {
		c.result = "FAIL";
		c.exit = EXIT_FAIL;
		SET(detail, "libkmod could not start");
		report(d, &c);
		return;
	}
	if (kmod_module_new_from_name(ctx, MODULE_NAME, &mod) == 0)
		state = kmod_module_get_initstate(mod);
	kmod_module_new_from_lookup(ctx, MODULE_NAME, &list);
	if (list) {
		struct kmod_module *m = kmod_module_get_module(list);

		if (kmod_module_get_path(m))
			snprintf(path, sizeof(path), "%s", kmod_module_get_path(m));
		kmod_module_unref(m);
		kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, list, &allowed);
	}

	if (state == KMOD_MODULE_BUILTIN) {
		SET(detail, "built into the kernel");
	} else if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING) {
		SET(detail, "loaded%s%s", path[0] ? " from " : "", path);
	} else if (state == KMOD_MODULE_GOING) {
		c.result = "FAIL";
		c.exit = EXIT_NOMODULE;
		SET(detail, "being unloaded");
		SET(fix, "wait, then modprobe " MODULE_NAME);
	} else if (!list) {
		c.result = "FAIL";
		c.exit = EXIT_NOTINSTALLED;
		SET(detail, "not installed in %s",
		    d->cfg->modules_dir ? d->cfg->modules_dir : kmod_get_dirname(ctx));
		SET(fix, "install the module for kernel %s (DKMS: the safelock-dkms package; from source: make modules_install; depmod)",
		    u.release);
	} else if (!allowed) {
		c.result = "FAIL";
		c.exit = EXIT_BLACKLISTED;
		SET(detail, "blacklisted in modprobe.d: the board's device will not load it");
		SET(fix, "remove 'blacklist " MODULE_NAME "' from %s",
		    d->cfg->modprobe_dir ? d->cfg->modprobe_dir :
		    "/etc/modprobe.d, /run/modprobe.d or /lib/modprobe.d");
	} else {
		c.result = "FAIL";
		c.exit = EXIT_NOMODULE;
		SET(detail, "available but not loaded (%s)", path);
		SET(fix, "modprobe " MODULE_NAME " (and list it in /etc/modules-load.d to load it at boot)");
	}
	kmod_module_unref_list(allowed);
	kmod_module_unref_list(list);
	if (mod)
		kmod_module_unref(mod);
	kmod_unref(ctx);
	report(d, &c);
}

static void check_device(struct doctor *d)
{
	struct check c = { .name = "device", .result = "ok" };
	size_t n = 0;
	int fd, err;

	fd = open(d->cfg->device, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, SAFELOCK_IOC_GET_INFO, &d->info) == 0) {
		d->have_info = true;
		n = (size_t)snprintf(c.detail, sizeof(c.detail), "%s (%.*s): lines", d->cfg->device,
				     SAFELOCK_NAME_SIZE, d->info.name);
#define LINE(bit, s) do { if ((d->info.lines & (bit)) && n < sizeof(c.detail)) \
	n += (size_t)snprintf(c.detail + n, sizeof(c.detail) - n, " %s", s); } while (0)
		LINE(SAFELOCK_LINE_BOLT, "bolt");
		LINE(SAFELOCK_LINE_DOOR, "door");
		LINE(SAFELOCK_LINE_KEYPAD, "keypad");
		LINE(SAFELOCK_LINE_ALARM, "alarm");
		LINE(SAFELOCK_LINE_TAMPER, "tamper");
		LINE(SAFELOCK_LINE_BATTERY, "battery");
		LINE(SAFELOCK_LINE_FEEDBACK, "feedback");
#undef LINE
		if (!(d->info.lines & SAFELOCK_LINE_DOOR)) {
			c.result = "warn";
			SET(fix, "no door sensor: init and wipe need the door reported open");
		}
		close(fd);
		report(d, &c);
		return;
	}
	err = errno;
	if (fd >= 0)
		close(fd);
	c.result = "FAIL";
	c.exit = errno_exit(err);
	SET(detail, "%s: %s", d->cfg->device, strerror(err));
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		SET(fix, "the driver is not bound to a board: check the device tree overlay (or ACPI description) and dmesg | grep safelock");
	else if (err == EACCES || err == EPERM)
		SET(fix, "run as root or as a member of the device's group (udev rule 60-safelock.rules)");
	else
		SET(fix, "%s is not a safelock device", d->cfg->device);
	report(d, &c);
}

struct status_reply {
	bool got;
	uint32_t flags;
};

static int on_status(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[SAFELOCK_A_MAX + 1];
	struct status_reply *r = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, SAFELOCK_A_MAX, NULL) < 0)
		return NL_SKIP;
	if (tb[SAFELOCK_A_FLAGS]) {
		r->flags = nla_get_u32(tb[SAFELOCK_A_FLAGS]);
		r->got = true;
	}
	return NL_OK;
}

static void check_netlink(struct doctor *d, struct sl_genl *g, bool *open)
{
	struct check c = { .name = "netlink", .result = "ok" };
	int ret = sl_genl_open(g);

	*open = ret == 0;
	if (!ret) {
		SET(detail, "generic netlink family '" SAFELOCK_GENL_NAME "' registered");
	} else {
		c.result = "FAIL";
		c.exit = ret == -ENOENT ? EXIT_NOMODULE : errno_exit(ret);
		SET(detail, "%s", ret == -ENOENT ?
		    "no generic netlink family '" SAFELOCK_GENL_NAME "': the safelock module is not loaded" :
		    sl_genl_strerror(ret));
		if (ret == -ENOENT)
			SET(fix, "modprobe " MODULE_NAME);
	}
	report(d, &c);
}

static void check_verifier(struct doctor *d, struct sl_genl *g, bool open)
{
	struct check c = { .name = "verifier", .result = "ok" };
	struct status_reply r = { 0 };
	struct nl_msg *msg;
	int ret;

	if (!open || !d->have_info) {
		c.result = "skip";
		SET(detail, "needs the netlink family and the device");
		report(d, &c);
		return;
	}
	g->on_msg = on_status;
	g->on_msg_arg = &r;	/* cppcheck-suppress autoVariables ; reset below */
	msg = sl_genl_msg(g, SAFELOCK_CMD_STATUS_GET);
	if (!msg || nla_put_u32(msg, SAFELOCK_A_DEVICE, d->info.index) < 0) {
		if (msg)
			nlmsg_free(msg);
		ret = -ENOMEM;
	} else {
		ret = sl_genl_request(g, msg);
	}
	g->on_msg = NULL;
	g->on_msg_arg = NULL;	/* r lives on this stack only */
	if (ret || !r.got) {
		c.result = "FAIL";
		c.exit = ret ? errno_exit(ret) : EXIT_FAIL;
		SET(detail, "STATUS_GET: %s%s%s", ret ? sl_genl_strerror(ret) : "no reply",
		    g->extack[0] ? ": " : "", g->extack);
	} else if (!(r.flags & SAFELOCK_STATUS_VERIFIER)) {
		c.result = "FAIL";
		c.exit = EXIT_NODAEMON;
		SET(detail, "no verifier registered: no code can open the lock");
		SET(fix, "start safelockd (systemctl start safelockd) and see its log (journalctl -u safelockd)");
	} else if (r.flags & SAFELOCK_STATUS_VAULT_DAMAGED) {
		c.result = "FAIL";
		c.exit = EXIT_NOVAULT;
		SET(detail, "registered; vault: damaged: safelockd cannot read its vault, no code can be checked");
		SET(fix, "see journalctl -u safelockd and safelockctl audit show; restore the newest state directory, or recover");
	} else if (!(r.flags & SAFELOCK_STATUS_POLICY)) {
		c.result = "FAIL";
		c.exit = EXIT_NODAEMON;
		SET(detail, "registered; vault: ok; policy: NOT in force: the kernel refused safelockd's policy, nothing opens");
		SET(fix, "see journalctl -u safelockd (unable to push the policy) and safelockctl policy get");
	} else {
		SET(detail, "registered; vault: ok; policy: in force");
	}
	report(d, &c);
}

static void check_daemon(struct doctor *d)
{
	struct check c = { .name = "safelockd", .result = "ok" };
	struct check v = { .name = "vault", .result = "ok" };
	struct safelock_admin_req *req = admin_req_new(ADMIN_OP_STATUS);
	struct safelock_admin_reply *rep = admin_reply_new();
	char why[256];
	int ret = -ENOMEM;

	if (req && rep)
		ret = admin_call(d->cfg->socket, req, rep, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "out of memory");
	if (!ret && rep->status) {
		ret = rep->status;
		snprintf(why, sizeof(why), "%s", rep->message[0] ? rep->message :
			 strerror(-ret));
	}
	if (ret) {
		c.result = "FAIL";
		c.exit = ret == -EACCES || ret == -EPERM ? EXIT_PERM : EXIT_NODAEMON;
		SET(detail, "%s: %s", d->cfg->socket, why[0] ? why : strerror(-ret));
		SET(fix, c.exit == EXIT_PERM ?
		    "run as root or as a member of safelockd's admin group" :
		    "start safelockd (systemctl start safelockd)");
		report(d, &c);
		v.result = "skip";
		snprintf(v.detail, sizeof(v.detail), "needs safelockd");
		report(d, &v);
		goto out;
	}
	SET(detail, "answers at %s; %s, %u users%s", d->cfg->socket,
	    rep->status_info.provisioned ? "provisioned" : "UNPROVISIONED",
	    rep->status_info.n_users,
	    rep->status_info.registered ? "" : "; not registered with the kernel");
	if (!rep->status_info.provisioned) {
		c.result = "warn";
		SET(fix, "no owner yet: open the door and run safelockctl init");
	}
	report(d, &c);
	if (rep->status_info.vault_ok) {
		snprintf(v.detail, sizeof(v.detail), "TPM answers (%s)", rep->status_info.tcti);
	} else {
		v.result = "FAIL";
		v.exit = EXIT_NOVAULT;
		snprintf(v.detail, sizeof(v.detail), "the TPM did not answer safelockd's last command (%s)",
			 rep->status_info.tcti);
		snprintf(v.fix, sizeof(v.fix),
			 "check the TPM device (ls -l /dev/tpmrm0; dmesg | grep -i tpm) and journalctl -u safelockd");
	}
	report(d, &v);
out:
	admin_req_free(req);
	admin_reply_free(rep);
}

int cmd_doctor(struct ctl_config *cfg)
{
	struct doctor d = { .cfg = cfg };
	struct sl_genl g = { .family = -1 };
	bool open;

	out_init(&d.o, cfg);
	out_begin(&d.o);
	out_table_begin(&d.o, "checks", NULL);
	check_module(&d);
	check_netlink(&d, &g, &open);
	check_device(&d);
	check_verifier(&d, &g, open);
	if (open)
		sl_genl_close(&g);
	check_daemon(&d);
	out_table_end(&d.o);
	if (d.o.json)
		out_num(&d.o, "exit", "", (unsigned long long)d.exit, "");
	out_end(&d.o);
	return d.exit;
}
