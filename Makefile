# SPDX-License-Identifier: GPL-2.0
#
# safelock: the lock controller module and its userspace tools.
#
#   make                     module (against KDIR) and tools
#   make modules             the module only
#   make tools               safelockd and safelockctl
#   make man                 the man pages (scdoc), into tools/man/
#   make modules_install     honours INSTALL_MOD_PATH
#   make install             tools, man pages, bash completion, udev rule,
#                            modules-load.d file, safelockd's systemd unit and
#                            sysusers.d file; honours DESTDIR, PREFIX, UDEVDIR,
#                            MODULESLOADDIR, SYSTEMDUNITDIR, SYSUSERSDIR
#   make check               every test: host, lint, then the VM suites
#   make demo                a short scenario on a simulated board in a VM
#   make lint                checkpatch, sparse, cppcheck, spec vs header
#   make bench               in the VM: ENTER-to-verdict latency (prepared,
#                            unprepared, /dev/tpm0, a single-process
#                            baseline), NV writes per entry, idle wakeups,
#                            safelockd's memory (scripts/bench.sh)
#   make soak MINUTES=N      the fault soak in the VM, N minutes (default 30)
#
# Yocto's module.bbclass calls `make -C $(KERNEL_SRC) M=$(S) O=...`
# through this file with KERNEL_SRC set; that works the same.

# A kernel build tree: KERNEL_SRC (Yocto), else KDIR, else the running kernel's.
KERNEL_SRC ?=
KDIR ?= $(if $(KERNEL_SRC),$(KERNEL_SRC),/lib/modules/$(shell uname -r)/build)
M ?= $(CURDIR)
INSTALL_MOD_PATH ?=
PREFIX ?= /usr/local
DESTDIR ?=
UDEVDIR ?= $(PREFIX)/lib/udev/rules.d
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

ifneq ($(O),)
KBUILD_OUT := O=$(O)
endif

.PHONY: all modules modules_install clean tools man install check demo lint \
	bench deps soak

all: modules tools man

modules:
	@if [ ! -d "$(KDIR)" ]; then \
		echo "safelock: no kernel build tree at $(KDIR): install linux-headers-$$(uname -r) or set KDIR=" >&2; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(M) $(KBUILD_OUT) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(M) $(KBUILD_OUT) INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) modules_install

tools:
	$(MAKE) -C tools

man:
	$(MAKE) -C tools man

# The tools, their man pages (share/man/man8) and bash completion
# (share/bash-completion/completions), the device node's udev rule (group
# "safelock", which the sysusers.d file creates) and the modules-load.d
# file; safelockd's unit (its ExecStart pointing into PREFIX) and its user;
# nothing a test uses.
install:
	$(MAKE) -C tools install install-doc DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	install -D -m 0644 udev/60-safelock.rules $(DESTDIR)$(UDEVDIR)/60-safelock.rules
	install -D -m 0644 udev/safelock.conf $(DESTDIR)$(MODULESLOADDIR)/safelock.conf
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|^ExecStart=/usr/sbin/|ExecStart=$(PREFIX)/sbin/|' tools/safelockd/safelockd.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/safelockd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/safelockd.service
	install -D -m 0644 tools/safelockd/safelock.sysusers $(DESTDIR)$(SYSUSERSDIR)/safelock.conf

deps:
	@scripts/deps.sh

check: deps
	@scripts/check.sh

demo: deps
	@scripts/demo.sh

lint:
	@scripts/lint.sh

# What a person waits for and what the lock costs, in the test VM (see
# scripts/bench.sh): about 10 minutes.
bench: deps
	@scripts/bench.sh

# Random faults of the fault model against right, wrong and duress codes
# for MINUTES minutes; SEED replays a run (see scripts/soak.sh).
MINUTES ?= 30
SEED ?=
soak: deps
	@scripts/soak.sh --minutes $(MINUTES) $(if $(SEED),--seed $(SEED))

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(M) $(KBUILD_OUT) clean; fi
	$(MAKE) -C tools clean
	$(MAKE) -C selftests/safelock clean
