/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SAFELOCKCTL_H
#define SAFELOCKCTL_H

#include <stdbool.h>

/*
 * Exit status of safelockctl (also in --help):
 *   0  success
 *   1  the operation failed
 *   2  usage error
 *   3  no such device, or the device went away
 *   4  permission denied
 */
enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NODEV = 3,
	EXIT_PERM = 4,
};

struct ctl_config {
	const char *device;
	bool json;
	long count;		/* monitor: stop after this many events; 0: no limit */
	long timeout_s;		/* monitor: stop after this many seconds; -1: none */
	bool count_set, timeout_set;
};

int cmd_status(const struct ctl_config *cfg);
int cmd_monitor(const struct ctl_config *cfg);
int cmd_lock(const struct ctl_config *cfg);

#endif /* SAFELOCKCTL_H */
