SUMMARY = "safelock: safe-lock controller kernel module"
DESCRIPTION = "Keypad capture, the lock state machine, actuator drive, door and \
tamper inputs, /dev/safelockN and the 'safelock' generic netlink family. \
The module never sees a stored code: safelockd (safelock-tools) verifies."
SECTION = "kernel/modules"

require include/safelock-source.inc

# The tree has no LICENSE file yet: every source file carries an SPDX line;
# this checksums the one of Kbuild (md5 of line 1, newline included).
LIC_FILES_CHKSUM = "file://Kbuild;beginline=1;endline=1;md5=daad6f7f7a0a286391cd7773ccf79340"

inherit module

# module.bbclass runs `oe_runmake KERNEL_SRC=... O=... CC=${KERNEL_CC} ...
# ${MAKE_TARGETS}` in ${S}; the top-level Makefile then runs
# `make -C $(KERNEL_SRC) M=$(CURDIR) O=... modules`.  Only "modules": the
# default target would build the userspace tools too (safelock-tools does).
# The test-only modules (KUnit suite, test board) are built only with
# SAFELOCK_TESTS=y, so modules_install never installs them.
MAKE_TARGETS = "modules"

# Load at boot (a modules-load.d file in kernel-module-safelock), before
# safelockd starts.
KERNEL_MODULE_AUTOLOAD += "safelock"

# The module package is kernel-module-safelock (from safelock.ko).
RPROVIDES:${PN} += "kernel-module-safelock"
