#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Spec conformance through the kernel's own YNL client: boot a test kernel
# with safelock.ko, the test board, Debian's python3 (the interpreter and
# just the parts of its standard library the test uses), python3-yaml's
# yaml package (with its C loader), and the 7.3 tree's
# tools/net/ynl/pyynl (cli.py, lib/) with nlctrl.yaml, and run
# selftests/safelock/ynl_conformance.py there against
# Documentation/netlink/specs/safelock.yaml.  Prints TAP.
#
#   scripts/ynl-check.sh [--kernel SERIES] [--modules DIR]
#
#   --kernel SERIES   the test kernel to boot (default 7.3); the YNL client
#                     always comes from the 7.3 source
#   --modules DIR     safelock.ko and safelock_testboard.ko built for it
#                     (default: built here with scripts/build-for.sh)
#
# A missing prerequisite (the 7.3 source, Debian's python3, python3-yaml)
# is one "ok ... # SKIP reason".  Exit status non-zero on any failure,
# including a kernel report in the guest (scripts/vm.sh).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
series=7.3 moddir=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) series=$2; shift 2 ;;
	--modules) moddir=$2; shift 2 ;;
	*) echo "usage: $0 [--kernel SERIES] [--modules DIR]" >&2; exit 2 ;;
	esac
done

# Debian's python3 (not one from pyenv or a venv): the guest runs a copy.
PY=$(readlink -f /usr/bin/python3 2>/dev/null)
DIST=/usr/lib/python3/dist-packages
TEST=$TOP/selftests/safelock/ynl_conformance.py
SPEC=$TOP/Documentation/netlink/specs/safelock.yaml

skip() {
	echo "ok 1 - ynl: spec conformance through YNL ($series) # SKIP $1"
	echo "1..1"
	exit 0
}

ksrc=$("$TOP"/scripts/kernels.sh source 7.3 2>/dev/null) ||
	skip "no 7.3 kernel source (scripts/kernels.sh build 7.3)"
PYYNL=$ksrc/tools/net/ynl/pyynl
NLCTRL=$ksrc/Documentation/netlink/specs/nlctrl.yaml
if [ ! -f "$PYYNL/cli.py" ] || [ ! -f "$NLCTRL" ]; then
	skip "no tools/net/ynl/pyynl/cli.py or nlctrl.yaml in $ksrc"
fi
if [ -z "$PY" ] || [ ! -x "$PY" ]; then
	skip "no /usr/bin/python3 (Debian's python3)"
fi
PYTHONPATH=$DIST "$PY" -S -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
ktree=$("$TOP"/scripts/kernels.sh path "$series" 2>/dev/null) ||
	skip "kernel $series is not built (scripts/kernels.sh build $series)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-ynl.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "$moddir" ]; then
	moddir=$WORK/mod
	"$TOP"/scripts/build-for.sh "$ktree" "$moddir" >"$WORK/build.log" 2>&1 ||
		{ cat "$WORK/build.log" >&2; echo "not ok 1 - ynl: modules build for $series"; echo 1..1; exit 1; }
fi

# The guest's python, where Debian has it: the interpreter, the standard
# library modules the test and cli.py import (sources with their compiled
# .pyc, so the guest compiles nothing), yaml in dist-packages.  The list
# comes from the test itself (--list-modules); each line is a module's
# file and its .pyc, if any.
STDLIB=$("$PY" -S -c 'import os; print(os.path.dirname(os.__file__))')
stage_python() {
	local s=$WORK/py f c rel
	mkdir -p "$s/stdlib" "$s/dist" "$s/ynl/lib"
	env -i PYTHONPATH="$DIST" "$PY" -S -B "$TEST" --ynl "$PYYNL" --spec "$SPEC" \
		--list-modules >"$WORK/modules" || return 1
	while read -r f c; do
		case $f in "$STDLIB"/*) ;; *) continue ;; esac
		rel=${f#"$STDLIB"/}
		mkdir -p "$s/stdlib/$(dirname "$rel")"
		cp -p "$f" "$s/stdlib/$rel"
		if [ -n "$c" ] && [ -f "$c" ]; then
			rel=${c#"$STDLIB"/}
			mkdir -p "$s/stdlib/$(dirname "$rel")"
			cp -p "$c" "$s/stdlib/$rel"
		fi
	done <"$WORK/modules"
	cp -a "$DIST/yaml" "$s/dist/"
	cp -p "$PYYNL/cli.py" "$s/ynl/"
	cp -p "$PYYNL"/lib/*.py "$s/ynl/lib/"
	cp -p "$NLCTRL" "$s/ynl/"
	cp -p "$TEST" "$s/"
	"$PY" -S -m compileall -q "$s/ynl" >/dev/null
}
if ! stage_python 2>"$WORK/stage.err"; then
	echo "not ok 1 - ynl: staging python for the guest"
	sed 's/^/# /' "$WORK/stage.err"
	echo 1..1
	exit 1
fi
echo "# guest python: $(du -sk --apparent-size "$WORK/py" | cut -f1) KiB" \
	"($(find "$WORK/py" -type f | wc -l) files) plus $(du -k "$PY" | cut -f1) KiB interpreter"

"$TOP"/scripts/vm.sh --kernel "$series" --timeout 600 \
	--add "$moddir/safelock.ko" --add "$moddir/safelock_testboard.ko" \
	--add "$PY:$PY" --add "$WORK/py/stdlib:$STDLIB" --add "$WORK/py/dist:$DIST" \
	--add "$WORK/py/ynl" --add "$WORK/py/ynl_conformance.py" --add "$SPEC" \
	-- env PYTHONPATH="$DIST" "$PY" -S -B \
	./ynl_conformance.py --ynl /safelock/ynl --spec /safelock/safelock.yaml
