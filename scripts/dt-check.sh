#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The device tree checks, with Debian's dt-schema (2022.08) and dtc 1.6.1:
#
#   the binding    dt-doc-validate, dt-mk-schema, the example compiled with
#                  the kernel's dt-bindings headers and checked with
#                  dt-validate; a self-test shows a misspelled property is
#                  rejected.
#   the overlay    the board's base DTB built from the kernel source, the
#                  overlay compiled with dtc -@ and applied with fdtoverlay;
#                  the merged tree has the safelock node, its GPIO and
#                  keypad phandles resolve, and the node passes the binding
#                  (with a self-test that the binding is applied to it).
#
# dt-validate and dt-mk-schema report errors but exit 0, so a check fails
# on any output at all.  The kernel source comes from scripts/kernels.sh
# (6.12, else 6.1).  Works in a temporary directory; writes nothing in the
# tree.  TAP on stdout; exits 1 if any check failed.
# shellcheck disable=SC2317  # the check functions run through loud and quiet
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BINDINGS=$TOP/Documentation/devicetree/bindings
BINDING=$BINDINGS/misc/safelock,lock-controller.yaml
OVERLAY=$TOP/dts/stm32mp157c-dk2-safelock.dtso
BOARD=stm32mp157c-dk2		# the overlay's board: every check
ALSO_BOARDS=stm32mp157a-dk1	# same connectors: the overlay must apply
COMPAT=safelock,lock-controller

W=$(mktemp -d "${TMPDIR:-/tmp}/safelock-dt.XXXXXX")
trap 'rm -rf "$W"' EXIT

N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - dt: $1"; }
skip() { N=$((N + 1)); echo "ok $N - dt: $1 # SKIP $2"; }
notok() {
	N=$((N + 1)); FAILED=1; echo "not ok $N - dt: $1"
	if [ -n "${2:-}" ] && [ -s "$2" ]; then sed 's/^/# /' "$2" | head -n 40; fi
}
# quiet NAME CMD...: passes if CMD succeeds and prints nothing.
quiet() {
	local name=$1; shift
	if "$@" >"$W/out" 2>&1 && [ ! -s "$W/out" ]; then ok "$name"; else notok "$name" "$W/out"; return 1; fi
}
# loud NAME CMD...: passes if CMD succeeds; output is shown only on failure.
loud() {
	local name=$1; shift
	if "$@" >"$W/out" 2>&1; then ok "$name"; else notok "$name" "$W/out"; return 1; fi
}

have() { command -v "$1" >/dev/null 2>&1; }

# The kernel source that provides include/dt-bindings and the board's dts.
find_ksrc() {
	local s d
	for s in 6.12 6.1; do
		d=$("$TOP"/scripts/kernels.sh source "$s" 2>/dev/null) || continue
		[ -d "$d/include/dt-bindings" ] && { echo "$d"; return 0; }
	done
	return 1
}

dtcpp() {
	cpp -nostdinc -undef -x assembler-with-cpp -D__DTS__ \
		-I "$KSRC/include" -I "$KSRC/scripts/dtc/include-prefixes" "$@"
}

# The kernel moved the ARM boards into vendor directories in 6.5.
board_dts() {
	local f
	for f in "$KSRC/arch/arm/boot/dts/st/$1.dts" "$KSRC/arch/arm/boot/dts/$1.dts"; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

build_base() {	# BOARD OUT.dtb
	local dts
	dts=$(board_dts "$1") || { echo "no $1.dts in $KSRC"; return 1; }
	dtcpp -I "$(dirname "$dts")" "$dts" -o "$W/$1.pre.dts" &&
		dtc -q -@ -I dts -O dtb -o "$2" "$W/$1.pre.dts"
}

# Every "phandle path" of a DTB, and the path of the node with $COMPAT.
index_dtb() {	# DTB
	dtc -q -I dtb -O dts "$1" | awk -v compat="$COMPAT" '
		/^[ \t]*[^ \t]+ \{$/ { d++; name[d] = $1; next }
		/^[ \t]*\};$/ { d--; next }
		{
			p = ""
			for (i = 2; i <= d; i++) p = p "/" name[i]
			if (p == "") p = "/"
		}
		/^[ \t]*phandle = </ { v = $3; gsub(/[<>;]/, "", v); print "phandle", v, p }
		index($0, "compatible = \"" compat "\"") { print "node", p }'
}

path_of() { awk -v v="0x$1" '$1 == "phandle" && $2 == v { print $3; exit }' "$W/index"; }

# Every specifier of a -gpios property must point at a GPIO controller and
# carry exactly that controller's #gpio-cells.
check_gpios() {	# DTB NODE PROP
	local cells i=1 ph ctl n
	read -r -a cells < <(fdtget -t x "$1" "$2" "$3") || { echo "$2: no $3"; return 1; }
	while [ "$i" -le ${#cells[@]} ]; do
		ph=${cells[$((i - 1))]}
		ctl=$(path_of "$ph")
		[ -n "$ctl" ] || { echo "$2 $3: phandle 0x$ph resolves to no node"; return 1; }
		fdtget "$1" "$ctl" gpio-controller >/dev/null 2>&1 ||
			{ echo "$2 $3: $ctl is not a gpio-controller"; return 1; }
		n=$(fdtget -t u "$1" "$ctl" '#gpio-cells') || { echo "$ctl: no #gpio-cells"; return 1; }
		echo "$2 $3: -> $ctl line $((16#${cells[$i]}))"
		i=$((i + n + 1))
	done
	[ $((i - 1)) -eq ${#cells[@]} ] || { echo "$2 $3: specifier length does not match #gpio-cells"; return 1; }
}

check_node() {	# DTB NODE
	local p
	for p in compatible bolt-gpios door-gpios keypad relock-ms verify-timeout-ms entry-timeout-ms; do
		fdtget "$1" "$2" "$p" >/dev/null 2>&1 || { echo "$2: no $p"; return 1; }
	done
	check_gpios "$1" "$2" bolt-gpios && check_gpios "$1" "$2" door-gpios
}

check_keypad() {	# DTB NODE
	local ph kp
	ph=$(fdtget -t x "$1" "$2" keypad) || return 1
	kp=$(path_of "$ph")
	[ -n "$kp" ] || { echo "keypad phandle 0x$ph resolves to no node"; return 1; }
	[ "$(fdtget "$1" "$kp" compatible)" = gpio-matrix-keypad ] ||
		{ echo "keypad -> $kp is not a gpio-matrix-keypad"; return 1; }
	echo "keypad -> $kp"
	check_gpios "$1" "$kp" row-gpios && check_gpios "$1" "$kp" col-gpios
}

# dt-validate on a whole board tree: the safelock node must draw no
# complaint; complaints about the board's own nodes are shown, not counted
# (the processed schema holds only dt-schema's core schemas and ours).
validate_node() {	# DTB NODE-NAME
	dt-validate -s "$W/processed.json" "$1" >"$W/val" 2>&1
	if grep -qF -e "$BINDING" -e ": $2:" "$W/val"; then cat "$W/val"; return 1; fi
	sed 's/^/note (board, not ours): /' "$W/val" >&2
	return 0
}

# reject NAME SED-EXPR PATTERN: the example edited by SED-EXPR must draw a
# dt-validate complaint matching PATTERN (a self-test of the binding's rules).
reject() {
	sed "$2" "$W/example.pre.dts" >"$W/bad.pre.dts"
	if cmp -s "$W/example.pre.dts" "$W/bad.pre.dts"; then
		notok "binding: self-test: $1 is rejected (the edit changed nothing)"
	elif dtc -q -@ -I dts -O dtb -o "$W/bad.dtb" "$W/bad.pre.dts" &&
		dt-validate -s "$W/processed.json" "$W/bad.dtb" >"$W/bad.out" 2>&1 &&
		grep -Eq "$3" "$W/bad.out"; then
		ok "binding: self-test: $1 is rejected"
	else
		notok "binding: self-test: $1 is rejected" "$W/bad.out"
	fi
}

# ---- the binding ----------------------------------------------------------
if ! have dt-doc-validate || ! have dt-mk-schema || ! have dt-validate || ! have dt-extract-example; then
	NOSCHEMA="dt-schema is not installed (apt-get install dt-schema)"
	skip "binding checks" "$NOSCHEMA"
	DTSCHEMA=0
else
	DTSCHEMA=1
	quiet "binding: dt-doc-validate" dt-doc-validate -u "$BINDINGS" "$BINDING"
	quiet "binding: dt-mk-schema" dt-mk-schema -j "$BINDINGS" -o "$W/processed.json"
	if ! grep -qF "$COMPAT" "$W/processed.json" 2>/dev/null; then
		DTSCHEMA=0 NOSCHEMA="the binding did not process (failed above)"
		notok "binding: the processed schema holds $COMPAT"
	fi
fi

KSRC=
if ! have dtc || ! have fdtoverlay || ! have fdtget || ! have cpp; then
	NOTOOLS="dtc, fdtoverlay, fdtget or cpp missing (apt-get install device-tree-compiler cpp)"
elif ! KSRC=$(find_ksrc); then
	NOTOOLS="no kernel source with include/dt-bindings (scripts/kernels.sh build 6.12)"
else
	NOTOOLS=
	echo "# kernel source: $KSRC"
fi

if [ "$DTSCHEMA" = 1 ] && [ -z "$NOTOOLS" ]; then
	dt-extract-example "$BINDING" >"$W/example.dts"
	# The extractor wraps the example in a node with #address-cells.
	if dtcpp "$W/example.dts" -o "$W/example.pre.dts" >"$W/out" 2>&1 &&
		dtc -Wno-avoid_unnecessary_addr_size -@ -I dts -O dtb \
			-o "$W/example.dtb" "$W/example.pre.dts" >>"$W/out" 2>&1 && [ ! -s "$W/out" ]; then
		ok "binding: the example compiles"
		quiet "binding: the example passes dt-validate" \
			dt-validate -s "$W/processed.json" "$W/example.dtb"
		# Self-test: the same check must reject a misspelled property.
		sed 's/relock-ms = </relock-msec = </' "$W/example.pre.dts" >"$W/bad.pre.dts"
		if ! grep -q 'relock-msec' "$W/bad.pre.dts"; then
			notok "binding: self-test: the example has no relock-ms to misspell"
		elif dtc -q -@ -I dts -O dtb -o "$W/bad.dtb" "$W/bad.pre.dts" &&
			dt-validate -s "$W/processed.json" "$W/bad.dtb" >"$W/bad.out" 2>&1 &&
			grep -q "relock-msec" "$W/bad.out"; then
			ok "binding: self-test: a misspelled property is rejected"
		else
			notok "binding: self-test: a misspelled property is rejected"
		fi
		reject "a second bolt actuator" 's/bolt-motor-gpios = </bolt-gpios = <\&gpio3 9 0>; &/' \
			"More than one condition true in oneOf"
		reject "a node without a bolt actuator" 's/bolt-gpios = <&gpio1 12 0>;//' \
			"'bolt-gpios' is a required property"
		reject "a motor of three lines" 's/<&gpio3 5 0>;/<\&gpio3 5 0>, <\&gpio3 8 0>;/' \
			"bolt-motor-gpios: .* is too long"
		reject "bolt-retries out of range" 's/bolt-retries = <1>/bolt-retries = <6>/' \
			"6 is greater than the maximum of 5"
	else
		notok "binding: the example compiles" "$W/out"
	fi
elif [ "$DTSCHEMA" = 1 ]; then
	skip "binding: the example" "$NOTOOLS"
fi

# ---- the board overlay ----------------------------------------------------
if [ -n "$NOTOOLS" ]; then
	skip "overlay for $BOARD" "$NOTOOLS"
else
	overlay_ok=0 merged_ok=0
	loud "overlay: base tree $BOARD.dtb builds from $(basename "$(dirname "$KSRC")")" \
		build_base "$BOARD" "$W/base.dtb"
	if dtcpp "$OVERLAY" -o "$W/overlay.pre.dts" >"$W/out" 2>&1 &&
		dtc -@ -I dts -O dtb -o "$W/overlay.dtbo" "$W/overlay.pre.dts" >>"$W/out" 2>&1 &&
		[ ! -s "$W/out" ]; then
		ok "overlay: $(basename "$OVERLAY") compiles with dtc -@"; overlay_ok=1
	else
		notok "overlay: $(basename "$OVERLAY") compiles with dtc -@" "$W/out"
	fi
	if [ $overlay_ok = 1 ] && [ -s "$W/base.dtb" ]; then
		loud "overlay: fdtoverlay applies it to $BOARD (every label resolves)" \
			fdtoverlay -i "$W/base.dtb" -o "$W/merged.dtb" "$W/overlay.dtbo" &&
			merged_ok=1
	else
		skip "overlay: fdtoverlay applies it to $BOARD" "nothing to apply (failed above)"
	fi
	if [ $merged_ok = 1 ]; then
		index_dtb "$W/merged.dtb" >"$W/index"
		NODE=$(awk '$1 == "node" { print $2; exit }' "$W/index")
		if [ -z "$NODE" ]; then
			notok "merged: a node with compatible $COMPAT exists"
		else
			loud "merged: $NODE has its properties; bolt and door GPIOs resolve" \
				check_node "$W/merged.dtb" "$NODE"
			loud "merged: the keypad phandle resolves to the matrix keypad and its GPIOs" \
				check_keypad "$W/merged.dtb" "$NODE"
			if [ "$DTSCHEMA" = 1 ]; then
				loud "merged: $NODE passes the binding (dt-validate)" \
					validate_node "$W/merged.dtb" "${NODE##*/}"
				# Self-test: the binding is really applied to the merged node.
				cp "$W/merged.dtb" "$W/merged-bad.dtb"
				fdtput -t u "$W/merged-bad.dtb" "$NODE" relock-ms 100
				if ! validate_node "$W/merged-bad.dtb" "${NODE##*/}" >/dev/null 2>&1; then
					ok "merged: self-test: an out-of-range relock-ms is rejected"
				else
					notok "merged: self-test: an out-of-range relock-ms is rejected"
				fi
			else
				skip "merged: $NODE passes the binding" "$NOSCHEMA"
			fi
		fi
	fi
	for b in $ALSO_BOARDS; do
		if [ $overlay_ok = 1 ] && build_base "$b" "$W/$b.dtb" >"$W/out" 2>&1; then
			loud "overlay: fdtoverlay applies it to $b too" \
				fdtoverlay -i "$W/$b.dtb" -o "$W/$b-merged.dtb" "$W/overlay.dtbo"
		else
			notok "overlay: fdtoverlay applies it to $b too" "$W/out"
		fi
	done
fi

echo "1..$N"
exit $FAILED
