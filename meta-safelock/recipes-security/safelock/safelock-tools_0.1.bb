SUMMARY = "safelock: the verifier daemon (safelockd) and the owner's tool (safelockctl)"
DESCRIPTION = "safelockd answers the safelock kernel module's verify requests \
over generic netlink from a TPM 2.0 vault (tpm2-tss); safelockctl manages \
status, events, users, codes, policy and audit."
SECTION = "security"

require include/safelock-source.inc

# No LICENSE file in the tree yet: the SPDX line of tools/Makefile.
LIC_FILES_CHKSUM = "file://tools/Makefile;beginline=1;endline=1;md5=daad6f7f7a0a286391cd7773ccf79340"

# libnl: libnl-genl-3.0; kmod: libkmod (safelockctl doctor); tpm2-tss:
# tss2-esys, tss2-tctildr, tss2-mu, tss2-rc; openssl: libcrypto;
# libseccomp: safelockd's sandbox; scdoc: the man pages, rendered at build
# time; libgfshare: safelockctl splits the recovery secret among trustees
# (Shamir over GF(256)). No libgfshare recipe was found in oe-core or
# meta-oe:
# the layer that builds this one must provide it (Debian's source,
# autotools, one library and a pkg-config file).
DEPENDS = "libnl kmod tpm2-tss openssl libseccomp scdoc-native libgfshare"

# bash-completion.bbclass: the completion goes to ${PN}-bash-completion.
inherit pkgconfig systemd bash-completion

# tools/Makefile honours CC, CFLAGS, LDFLAGS, AR and PKG_CONFIG from the
# environment, which bitbake exports for the target.
EXTRA_OEMAKE = "PREFIX=${prefix}"

do_compile() {
	oe_runmake -C tools
}

# `make install` puts safelockd's unit (tools/safelockd/safelockd.service)
# and its sysusers.d file (the user "safelock", in group "tss") where
# systemd looks for them.
do_install() {
	oe_runmake install DESTDIR=${D} PREFIX=${prefix} \
		SYSTEMDUNITDIR=${systemd_system_unitdir} SYSUSERSDIR=${nonarch_libdir}/sysusers.d
	# Autoloading belongs to the module's package (KERNEL_MODULE_AUTOLOAD in
	# safelock-mod): a modules-load.d file from `make install` would clash
	# with it, and would load nothing on an image without the module.
	rm -rf ${D}${sysconfdir}/modules-load.d ${D}${prefix}/lib/modules-load.d \
		${D}${nonarch_base_libdir}/modules-load.d
}

SYSTEMD_SERVICE:${PN} = "safelockd.service"

# Everything do_install puts in ${D}; scripts/yocto-check.sh compares these
# patterns with what `make install` really installs.  The udev rule's
# directory depends on the Makefile and on usrmerge: all three are covered.
FILES:${PN} = " \
    ${sbindir}/safelockd \
    ${bindir}/safelockctl \
    ${systemd_system_unitdir}/safelockd.service \
    ${nonarch_libdir}/sysusers.d/safelock.conf \
    ${nonarch_base_libdir}/udev/rules.d/*.rules \
    ${prefix}/lib/udev/rules.d/*.rules \
    ${sysconfdir}/udev/rules.d/*.rules \
"

# Tss2_TctiLdr dlopen()s libtss2-tcti-device.so.0 for "device:/dev/tpmrm0":
# no shlib dependency finds that.  tpm2-tss itself carries the udev rule
# that gives /dev/tpmrm0 to the tss group, and creates that group, which
# safelockd.service joins (SupplementaryGroups=tss).
# The man pages, in ${PN}-doc as everywhere.
FILES:${PN}-doc = "${mandir}"
FILES:${PN}-bash-completion = "${datadir}/bash-completion"

RDEPENDS:${PN} = "libtss2-tcti-device tpm2-tss"
# The module is what safelockd talks to; recommended, not required, so the
# tools can be installed on their own (safelockctl help, doctor).
RRECOMMENDS:${PN} = "kernel-module-safelock"
