SUMMARY = "safelock: everything a lock controller image needs"
LICENSE = "MIT"

# kernel-module-safelock is machine specific: so is this group (set before
# the inherit, or packagegroup.bbclass makes it allarch).
PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit packagegroup

RDEPENDS:${PN} = " \
    safelock-tools \
    kernel-module-safelock \
"

# The firmware TPM in OP-TEE when the kernel builds it as a module (absent
# from the image without a warning when it is built in or not built).
RRECOMMENDS:${PN} = "kernel-module-tpm-ftpm-tee"

# The board overlay, on the board family it is written for.
RDEPENDS:${PN}:append:stm32mp15common = " safelock-dt"
