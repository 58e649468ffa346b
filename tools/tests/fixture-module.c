// SPDX-License-Identifier: GPL-2.0
/*
 * Not a module: an ELF object with the .modinfo that depmod reads, so
 * test_cli can build fake /lib/modules trees for safelockctl doctor.
 */
#define MODINFO(n, s) \
	static const char n[] __attribute__((section(".modinfo"), used, aligned(1))) = s

MODINFO(fixture_name, "name=safelock");
MODINFO(fixture_license, "license=GPL");
MODINFO(fixture_alias, "alias=of:N*T*Csafelock,lock");
