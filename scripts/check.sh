#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test, in order.
#   1. host: the tools and their unit tests, the module against Debian's
#      linux-headers-amd64 (W=1, warning-free), lint;
#   2. per test kernel (SAFELOCK_KERNELS, default "6.1 6.12 7.3 arm64"): build
#      the kernel if it is not cached, the modules (W=1) and the kselftests,
#      boot the VM and run the kselftests and the KUnit suite there; a kernel
#      report in the guest fails the run.  "arm64" is the 6.12 arm64 kernel in
#      qemu-system-aarch64 -M virt, the board described by a device tree.
#      For the kernels in SAFELOCK_YNL_KERNELS (default "7.3"), the netlink
#      spec's conformance through the kernel's own YNL client, in a VM boot
#      of its own (scripts/ynl-check.sh).  For the kernels in
#      SAFELOCK_E2E_KERNELS (default "6.1"), the end-to-end scenarios
#      (scripts/e2e.sh: safelockctl and safelockd on the real module and
#      TPM, the audit trail, a power cut), in three VM boots of their own,
#      then a short fault soak (scripts/soak.sh: 2 minutes of random faults
#      against right, wrong and duress codes, one boot, no power cut;
#      SAFELOCK_SOAK_SECONDS changes the length, 0 skips it).
# Ends with the line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

if [ -t 1 ]; then BOLD='\033[1m' NORM='\033[0m'; else BOLD= NORM=; fi
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
export SAFELOCK_KERNELS=${SAFELOCK_KERNELS:-6.1 6.12 7.3 arm64}
X86_KERNELS=$(echo "$SAFELOCK_KERNELS" | tr ' ' '\n' | grep -vx arm64 | tr '\n' ' ')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
T0=$SECONDS
PASSED=0 FAILED=0 SKIPPED=0
FAILURES=()

step() { printf '\n%b==> %s%b  [%s elapsed]\n' "$BOLD" "$*" "$NORM" "$(elapsed)"; }
elapsed() { local s=$((SECONDS - T0)); printf '%d:%02d' $((s / 60)) $((s % 60)); }
pass() {
	PASSED=$((PASSED + 1))
	[ "${QUIET_PASS:-0}" = 1 ] || printf 'ok      %s\n' "$1"
}

# Show the guest's progress while it runs: each test as it starts and ends.
live() {
	local line
	while IFS= read -r line; do
		case $line in
		"#  RUN "*) printf '        %s: running %s\n' "$1" "${line#\#  RUN }" ;;
		"ok "*|"    ok "*) printf 'ok      %s: %s\n' "$1" "${line#"${line%%ok *}"ok }" ;;
		"not ok "*|"    not ok "*) ;;	# reported with its log below
		"vm: "*|"arm64: "*|"kernel: "*|"arm64-kernel: "*) printf '        %s\n' "$line" ;;
		esac
	done
}
skip() { SKIPPED=$((SKIPPED + 1)); printf 'skip    %s # %s\n' "$1" "$2"; }
fail() {
	FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf 'FAIL    %s\n' "$1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then tail -n 25 "$2" | sed 's/^/        | /'; fi
}

# Run a command as one test; its output goes to a log shown on failure.
run() {
	local name=$1 log
	shift
	log=$WORK/$(echo "$name" | tr -c 'A-Za-z0-9.-' _).log
	if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi
}

# Count the TAP results in a file.  $3 is the indentation of the lines that
# count ("" top level, "    " for KUnit cases).  A plan that promises more
# results than arrived counts the missing ones as failures.
tap() {
	local base=$1 label=$1 file=$2 indent=${3:-} line name planned=0 seen=0
	while IFS= read -r line; do
		case $line in
		"# tests/"*)	# the tools' test programs announce themselves
			label="$base ${line#\# tests/}" ;;
		"${indent}ok "*"# SKIP"*|"${indent}ok "*"# skip"*)
			seen=$((seen + 1)); name=${line#"${indent}"ok }
			skip "$label: ${name%%#*}" "${line##*# [Ss][Kk][Ii][Pp]}" ;;
		"${indent}ok "*)
			seen=$((seen + 1)); pass "$label: ${line#"${indent}"ok }" ;;
		"${indent}not ok "*)
			seen=$((seen + 1)); fail "$label: ${line#"${indent}"not ok }" ;;
		"${indent}1.."*)
			planned=$((planned + ${line#"${indent}"1..})) ;;
		esac
	done <"$file"
	if [ "$planned" -gt "$seen" ]; then
		fail "$label: $((planned - seen)) planned results never reported" "$file"
	fi
	[ "$seen" -gt 0 ] || fail "$label: no results at all" "$file"
}

# Extract one SECTION of a guest run; echo its exit status.
section() {
	awk -v s="$2" '$0 == "SECTION-BEGIN " s { on = 1; next }
		on && $1 == "SECTION-END" && $2 == s { exit } on { print }' "$1"
}
section_rc() {
	awk -v s="$2" '$1 == "SECTION-END" && $2 == s { print $3 }' "$1"
}

debian_headers() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null | sed 's/[ ,(].*//')
	[ -n "$dep" ] && [ -d "/usr/src/$dep" ] && echo "/usr/src/$dep"
}

# The build must be silent: any warning fails it.
build_quiet() {
	"$@" >"$WORK/build.out" 2>&1
	local rc=$?
	cat "$WORK/build.out"
	[ $rc -eq 0 ] && ! grep -qE 'warning:|error:' "$WORK/build.out"
}

# Compare the files under $1 with the expected list $2 (relative, sorted).
same_files() {
	local got
	got=$(cd "$1" && find . -type f | sed 's|^\./||' | sort)
	if [ "$got" != "$2" ]; then
		printf 'expected:\n%s\ngot:\n%s\n' "$2" "$got"
		return 1
	fi
}

install_layout() {
	local d=$WORK/destdir
	make -s install DESTDIR="$d" PREFIX=/usr &&
		same_files "$d" "$(printf '%s\n' usr/bin/safelockctl usr/lib/modules-load.d/safelock.conf \
			usr/lib/systemd/system/safelockd.service usr/lib/sysusers.d/safelock.conf \
			usr/lib/udev/rules.d/60-safelock.rules usr/sbin/safelockd \
			usr/share/bash-completion/completions/safelockctl \
			usr/share/man/man8/safelockctl.8 usr/share/man/man8/safelockd.8 | sort)"
}

modules_install_layout() {
	local d=$WORK/modroot ver
	ver=$(basename "$1" | sed 's/^linux-headers-//')
	make -s modules_install KDIR="$1" M="$WORK/distro" INSTALL_MOD_PATH="$d" &&
		same_files "$d" "lib/modules/$ver/extra/safelock.ko"
}

# A script that prints TAP: count its results; a non-zero exit with no
# "not ok" line is a failure of its own.
tap_script() {
	local title=$1 script=$2 log rc
	step "$title"
	log=$WORK/$(basename "$script").log
	"$script" >"$log" 2>&1
	rc=$?
	tap "host" "$log"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log"; then
		fail "host: $script exited $rc" "$log"
	fi
}

host_tests() {
	step "host: tools"
	run "host: tools build (-Wall -Wextra -Werror)" make -C tools
	make -C tools test >"$WORK/tools-test.log" 2>&1
	local rc=$?
	tap "host" "$WORK/tools-test.log"
	[ $rc -eq 0 ] || fail "host: make -C tools test exited $rc" "$WORK/tools-test.log"

	step "host: safelock.ko against Debian's linux-headers-amd64 (a distribution user's build)"
	local hdr=
	if hdr=$(debian_headers); then
		run "host: module builds against $(basename "$hdr"), W=1, no warnings" \
			env SAFELOCK_TESTS=n "$TOP/scripts/build-for.sh" "$hdr" "$WORK/distro"
	else
		fail "host: linux-headers-amd64 is not installed (scripts/deps.sh installs it)"
	fi

	step "host: install layouts (make install DESTDIR= PREFIX=, make modules_install INSTALL_MOD_PATH=)"
	run "host: make install puts exactly the shipped files under DESTDIR/PREFIX" install_layout
	if [ -n "$hdr" ]; then
		run "host: make modules_install puts exactly safelock.ko under INSTALL_MOD_PATH" \
			modules_install_layout "$hdr"
	fi

	tap_script "board: device tree binding and overlay (dt-schema, dtc, fdtoverlay)" scripts/dt-check.sh
	tap_script "board: DKMS build and install against linux-headers-amd64" scripts/dkms-check.sh
	tap_script "board: Yocto layer, built and installed as its recipes would" scripts/yocto-check.sh

	step "host: lint (checkpatch --strict, kernel-doc, sparse, cppcheck)"
	scripts/lint.sh >"$WORK/lint.log" 2>&1
	tap "host" "$WORK/lint.log"
}

kernel_tests() {
	local k=$1 ktree ksrc mod=$WORK/mod-$1 out=$WORK/vm-$1.log
	step "kernel $k: modules and kselftests"
	if ! ktree=$(scripts/kernels.sh path "$k" 2>"$WORK/path.err"); then
		fail "$k: test kernel missing" "$WORK/path.err"
		return
	fi
	ksrc=$(readlink -f "$ktree/source")
	run "$k: modules build with W=1, no warnings" build_quiet scripts/build-for.sh "$ktree" "$mod"
	mkdir -p "$WORK/ksft-$k"
	run "$k: kselftests build" make -C selftests/safelock KDIR="$ksrc" OUTPUT="$WORK/ksft-$k"
	if [ ! -f "$mod/safelock.ko" ] || [ ! -x "$WORK/ksft-$k/safelock_test" ]; then
		fail "$k: nothing to run in the VM"
		return
	fi

	step "kernel $k: kselftests and KUnit in the VM (about a minute under TCG)"
	SAFELOCK_VM_LOG=$WORK/console-$k.log scripts/vm.sh --kernel "$k" --timeout 900 \
		--add "$mod/safelock.ko" --add "$mod/safelock_testboard.ko" \
		--add "$mod/safelock_fsm_kunit.ko" --add "$WORK/ksft-$k/safelock_test" \
		--add "$TOP/tools/safelockd/safelockd" --add "$TOP/tools/safelockctl/safelockctl" \
		--add "$TOP/selftests/safelock/settings" \
		--add "$TOP/scripts/check-guest.sh" -- ./check-guest.sh 2>&1 |
		tee "$out" | live "$k"
	guest_results "$k" "$out" "${PIPESTATUS[0]}"
	case " ${SAFELOCK_YNL_KERNELS:-7.3} " in *" $k "*) ynl_tests "$k" "$mod" ;; esac
	case " ${SAFELOCK_E2E_KERNELS:-6.1} " in *" $k "*) e2e_tests "$k" "$mod"; soak_tests "$k" "$mod" ;; esac
}

# Count a guest run's kselftest and KUnit results; its exit status says
# whether the guest kernel log stayed clean (vm.sh fails on any report).
guest_results() {
	local k=$1 out=$2 rc=$3
	section "$out" kselftest >"$WORK/ksft-$k.tap"
	section "$out" kunit >"$WORK/kunit-$k.tap"
	QUIET_PASS=1 tap "$k kselftest" "$WORK/ksft-$k.tap"
	QUIET_PASS=1 tap "$k kunit" "$WORK/kunit-$k.tap" "    "
	# what each failed test said, between its RUN and its "not ok"
	awk '/^#  RUN /{ n = 0 } { buf[++n] = $0 }
		/^not ok /{ for (i = 1; i <= n && i <= 40; i++) print buf[i]; n = 0 }' \
		"$WORK/ksft-$k.tap" | sed 's/^/        | /'
	awk '/^ *# Subtest|^ *ok /{ n = 0; next } { buf[++n] = $0 }
		/^ *not ok /{ for (i = 1; i <= n && i <= 40; i++) print buf[i]; n = 0 }' \
		"$WORK/kunit-$k.tap" | sed 's/^/        | /'
	if [ "$rc" -eq 0 ]; then
		pass "$k: builds warning-free, guest kernel log clean (no WARNING, BUG, lockdep or KASAN report)"
	else
		fail "$k: build or VM run failed (exit $rc; a warning, kernel report, crash or timeout)" "$out"
	fi
}

# The live family against Documentation/netlink/specs/safelock.yaml through
# the 7.3 tree's YNL client (scripts/ynl-check.sh: its own VM boot with a
# copy of python3); a failure shows its diagnostics.
ynl_tests() {
	local k=$1 log=$WORK/ynl-$1.log rc
	step "kernel $k: netlink spec conformance through YNL in the VM (about a minute)"
	scripts/ynl-check.sh --kernel "$k" --modules "$2" 2>&1 | tee "$log" | live "$k ynl"
	rc=${PIPESTATUS[0]}
	QUIET_PASS=1 tap "$k ynl" "$log"
	awk '/^not ok /{ on = 1; print; next } /^(ok|not ok) |^1\.\./{ on = 0 } on' "$log" |
		head -n 60 | sed 's/^/        | /'
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log"; then
		fail "$k ynl: scripts/ynl-check.sh exited $rc (a kernel report, crash or timeout)" "$log"
	fi
}

# The end-to-end scenarios of the vault, safelockctl and the audit trail
# (scripts/e2e.sh: three VM boots of their own, the real safelockd on the
# TPM, a power cut between two of them); a failure shows its reasons.
e2e_tests() {
	local k=$1 log=$WORK/e2e-$1.log rc
	step "kernel $k: end to end: safelockctl, safelockd on the TPM, the audit trail, a power cut (about 4 min)"
	scripts/e2e.sh --kernel "$k" --modules "$2" 2>&1 | tee "$log" | live "$k e2e"
	rc=${PIPESTATUS[0]}
	QUIET_PASS=1 tap "$k e2e" "$log"
	awk '/^not ok /{ on = 1; print; next } /^(ok|not ok) |^1\.\./{ on = 0 } on' "$log" |
		head -n 60 | sed 's/^/        | /'
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log"; then
		fail "$k e2e: scripts/e2e.sh exited $rc (a kernel report, crash or timeout)" "$log"
	fi
}

# The short fault soak (scripts/soak.sh): its rules as TAP results, the five
# counters on its last line; a failure shows its reasons and the seed.
soak_tests() {
	local k=$1 log=$WORK/soak-$1.log rc s=${SAFELOCK_SOAK_SECONDS:-120}
	[ "$s" != 0 ] || { skip "$k soak" "SAFELOCK_SOAK_SECONDS=0"; return; }
	step "kernel $k: fault soak, $s s of random faults against right, wrong and duress codes (about $((s / 60 + 2)) min)"
	scripts/soak.sh --kernel "$k" --modules "$2" --seconds "$s" --cuts 0 2>&1 | tee "$log" |
		grep --line-buffered -E '^# soak: step |^soak: |^not ok ' | sed -u 's/^/        /'
	rc=${PIPESTATUS[0]}
	QUIET_PASS=1 tap "$k soak" "$log"
	awk '/^not ok /{ on = 1; print; next } /^(ok|not ok) |^1\.\./{ on = 0 } on' "$log" |
		head -n 60 | sed 's/^/        | /'
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log"; then
		fail "$k soak: scripts/soak.sh exited $rc (a kernel report, crash or timeout)" "$log"
	fi
}

# The arm64 suite: its own script builds (or finds) the arm64 kernel, the
# modules, the cross-built tools and test, and runs the guest.
arm64_tests() {
	local out=$WORK/vm-arm64.log
	step "arm64 (6.12, device tree board): kernel, modules, cross-built tools, VM (the kernel build takes about 4 min when not cached)"
	scripts/arm64/check.sh 2>&1 | tee "$out" | live arm64
	guest_results arm64 "$out" "${PIPESTATUS[0]}"
}

step "test kernels: $X86_KERNELS(cached in ${XDG_CACHE_HOME:-$HOME/.cache}/safelock; about 7 min each when not)"
kernels_ok=1
if [ -n "${X86_KERNELS// /}" ]; then
	# shellcheck disable=SC2086
	scripts/kernels.sh build $X86_KERNELS || kernels_ok=0
fi
host_tests
for k in $SAFELOCK_KERNELS; do
	if [ "$k" = arm64 ]; then arm64_tests; else kernel_tests "$k"; fi
done
# The demo is what a newcomer runs first: it must keep working.
first=$(echo "$X86_KERNELS" | awk '{print $1}')
if [ -n "$first" ]; then
	step "make demo on $first: init with the door open, a user added, wrong and right codes, the audit log"
	run "demo: the scenario plays to its end ($first)" env SAFELOCK_KERNELS="$first" scripts/demo.sh
fi
[ $kernels_ok = 1 ] || fail "test kernels: a build failed (see above)"

printf '\n%b==> summary%b  [%s total]\n' "$BOLD" "$NORM" "$(elapsed)"
for f in "${FAILURES[@]}"; do printf 'FAILED: %s\n' "$f"; done
echo "$SKIPPED skipped"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
