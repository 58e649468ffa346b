#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/check.sh puts it there): the kselftests,
# then the KUnit suite, each between markers the host parses.
cd /safelock || exit 1

echo "SECTION-BEGIN kselftest"
./safelock_test
echo "SECTION-END kselftest $?"

echo "SECTION-BEGIN kunit"
if insmod ./safelock_fsm_kunit.ko; then
	# KUnit reports to the kernel log; strip the timestamps.
	dmesg | sed 's/^\[[^]]*\] //' |
		awk '/# Subtest: safelock_fsm/ { on = 1 } on { print } on && /^(not )?ok [0-9]+ .*safelock_fsm/ { exit }'
	rmmod safelock_fsm_kunit
fi
echo "SECTION-END kunit 0"
