#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS: build and install safelock.ko with dkms.conf, as a Debian or Ubuntu
# user would, against Debian's linux-headers-amd64, then undo every step.
#
#   /usr/src/safelock-VER   the module sources only (Kbuild, Makefile,
#                           dkms.conf, driver/, uapi/): no tools
#   dkms add, build -k K, install -k K; the .ko must land in
#   /lib/modules/K/updates/dkms and modinfo -k K must find it there;
#   dkms remove --all; everything gone again.
#
# The cleanup runs on every exit (trap), and also removes the MOK key pair
# that dkms generates in /var/lib/dkms for module signing if it was not
# there before.  A dkms package or /usr/src directory of this name that
# exists before the run is never touched: the check skips instead.
#
# Debian's headers try to sign the module with the kernel's own key, which
# an out-of-tree build does not have: an SSL error from sign-file in the
# build log is expected and not a failure.  TAP on stdout; exits 1 on any
# failure.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
NAME=safelock
VER=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$TOP/dkms.conf")
SRC=/usr/src/$NAME-$VER
DKMS_LIB=/var/lib/dkms
W=$(mktemp -d "${TMPDIR:-/tmp}/safelock-dkms.XXXXXX")

N=0 FAILED=0 OURS=0 MOK_BEFORE='' DEP_BEFORE=''
ok() { N=$((N + 1)); echo "ok $N - dkms: $1"; }
skip() { N=$((N + 1)); echo "ok $N - dkms: $1 # SKIP $2"; }
notok() {
	N=$((N + 1)); FAILED=1; echo "not ok $N - dkms: $1"
	if [ -n "${2:-}" ] && [ -s "$2" ]; then tail -n 30 "$2" | sed 's/^/# /'; fi
}
finish() { echo "1..$N"; exit $FAILED; }

# Undo whatever this run did, and only that.
# shellcheck disable=SC2317  # runs from the trap
cleanup() {
	local f
	if [ "$OURS" = 1 ]; then
		dkms status -m "$NAME" -v "$VER" 2>/dev/null | grep -q . &&
			dkms remove "$NAME/$VER" --all >/dev/null 2>&1
		rm -rf "$SRC"
		rmdir "$DKMS_LIB/$NAME" 2>/dev/null
		for f in mok.key mok.pub; do
			case " $MOK_BEFORE " in *" $f "*) ;; *) rm -f "${DKMS_LIB:?}/$f" ;; esac
		done
		# depmod's index of a headers-only kernel did not exist before.
		for f in "/lib/modules/$KVER"/modules.*; do
			[ -e "$f" ] || continue
			case " $DEP_BEFORE " in *" ${f##*/} "*) ;; *) rm -f "$f" ;; esac
		done
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The kernel release Debian's linux-headers-amd64 stands for.
headers_release() {
	dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p'
}

[ -n "$VER" ] || { notok "dkms.conf has a PACKAGE_VERSION"; finish; }
if ! command -v dkms >/dev/null; then
	skip "add, build, install, remove" "dkms is not installed (apt-get install dkms)"; finish
fi
KVER=$(headers_release)
if [ -z "$KVER" ] || [ ! -d "/lib/modules/$KVER/build" ]; then
	skip "add, build, install, remove" "linux-headers-amd64 is not installed"; finish
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "add, build, install, remove" "needs root (dkms installs into /usr/src and /lib/modules)"; finish
fi
if [ -e "$SRC" ] || dkms status -m "$NAME" 2>/dev/null | grep -q .; then
	skip "add, build, install, remove" "$NAME is already known to dkms or $SRC exists: not touching it"
	finish
fi
echo "# dkms $(dkms --version 2>/dev/null | awk '{print $NF}'), headers $KVER, $NAME $VER"

OURS=1
for f in mok.key mok.pub; do [ -e "$DKMS_LIB/$f" ] && MOK_BEFORE="$MOK_BEFORE $f"; done
for f in "/lib/modules/$KVER"/modules.*; do [ -e "$f" ] && DEP_BEFORE="$DEP_BEFORE ${f##*/}"; done

# The module sources only; never the tools nor build products of the tree.
mkdir -p "$SRC/driver" "$SRC/uapi/linux"
cp "$TOP/Kbuild" "$TOP/Makefile" "$TOP/dkms.conf" "$SRC/"
cp "$TOP"/driver/*.[ch] "$SRC/driver/"
cp "$TOP"/uapi/linux/*.h "$SRC/uapi/linux/"

run() {	# NAME LOG CMD...
	local name=$1 log=$2; shift 2
	if "$@" >"$log" 2>&1; then ok "$name"; else notok "$name" "$log"; return 1; fi
}

if run "dkms add $NAME/$VER" "$W/add.log" dkms add "$NAME/$VER" &&
	run "dkms build -k $KVER" "$W/build.log" dkms build "$NAME/$VER" -k "$KVER"; then
	built=$DKMS_LIB/$NAME/$VER/$KVER/$(uname -m)/module/$NAME.ko
	if [ -f "$built" ] && [ "$(modinfo -F vermagic "$built" | awk '{print $1}')" = "$KVER" ]; then
		ok "the built module is for $KVER"
	else
		notok "the built module is for $KVER" "$W/build.log"
	fi
	# DKMS keeps the build log, not the build tree: the tools never appear in it.
	mlog=$DKMS_LIB/$NAME/$VER/$KVER/$(uname -m)/log/make.log
	if [ -f "$mlog" ] && grep -q "LD \[M\] .*/$NAME.ko\$" "$mlog" &&
		! grep -q -e safelockd -e safelockctl -e '/tools/' "$mlog"; then
		ok "only the module was built, no tools"
	else
		notok "only the module was built, no tools" "$mlog"
	fi
	if run "dkms install -k $KVER" "$W/install.log" dkms install "$NAME/$VER" -k "$KVER"; then
		ko=$(find "/lib/modules/$KVER/updates/dkms" -name "$NAME.ko*" 2>/dev/null | head -n1)
		found=$(modinfo -k "$KVER" -F filename "$NAME" 2>/dev/null)
		if [ -n "$ko" ] && [ "$found" = "$ko" ]; then
			ok "installed as $ko, and modinfo finds it there"
		else
			echo "installed: ${ko:-nothing}; modinfo -k $KVER: ${found:-nothing}" >>"$W/install.log"
			notok "installed in /lib/modules/$KVER/updates/dkms, and modinfo finds it" "$W/install.log"
		fi
	fi
fi

run "dkms remove $NAME/$VER --all" "$W/remove.log" dkms remove "$NAME/$VER" --all
rm -rf "$SRC"
left=
ls "/lib/modules/$KVER/updates/dkms/$NAME".ko* >/dev/null 2>&1 && left="$left the .ko,"
[ -e "$DKMS_LIB/$NAME/$VER" ] && left="$left $DKMS_LIB/$NAME/$VER,"
dkms status -m "$NAME" 2>/dev/null | grep -q . && left="$left a dkms status entry,"
if [ -z "$left" ]; then
	ok "nothing of $NAME is left behind"
else
	echo "left:$left" >"$W/left"
	notok "nothing of $NAME is left behind" "$W/left"
fi
finish
