// SPDX-License-Identifier: GPL-2.0
/*
 * safelockctl: the owner's and administrator's tool for safelock.
 * The command table and the parser are in cli.c; each group of commands
 * has its file: device.c (status, monitor, lock), lifecycle.c (init,
 * recover, wipe), user.c (users, codes, duress), policy.c (policy, time
 * lock, fault), audit.c, doctor.c.
 */
#include "safelockctl.h"

int main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
