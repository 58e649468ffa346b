SUMMARY = "safelock: device tree overlay for the STM32MP157C-DK2 board"
DESCRIPTION = "Declares the lock controller (the matrix keypad and the lock's \
lines) on the STM32MP157 discovery kits as an overlay, built by \
devicetree.bbclass into /boot/devicetree and the deploy directory, for \
U-Boot (or fdtoverlay) to apply to the board's base device tree."

inherit devicetree

# After the inherit: devicetree.bbclass sets S to the unpack directory
# itself, and the require must win with the git tree's S.
require include/safelock-source.inc

DT_FILES_PATH = "${S}/dts"
DT_FILES = "stm32mp157c-dk2-safelock.dtso"

# The overlay is dual licensed (its SPDX line, checksummed here: the tree
# has no LICENSE file yet); devicetree.bbclass's default would be the
# GPL-2.0-only text from COMMON_LICENSE_DIR.
LICENSE = "GPL-2.0-only | BSD-2-Clause"
LIC_FILES_CHKSUM = "file://dts/stm32mp157c-dk2-safelock.dtso;beginline=1;endline=1;md5=1b8f6f8b76c5d744f9db7a4aba38d1fd"

# The overlay's labels (&gpioa, &pinctrl, ...) belong to the STM32MP15 base
# trees: build it only for machines of that family (meta-st-stm32mp sets the
# stm32mp15common override).  Another board: a bbappend with its own
# COMPATIBLE_MACHINE and DT_FILES.
COMPATIBLE_MACHINE = "(stm32mp15common)"
