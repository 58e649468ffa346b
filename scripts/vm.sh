#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a test kernel under qemu with a fresh swtpm and a busybox initramfs,
# run one command in the guest, and report its output and exit status.
#
#   scripts/vm.sh [--arch x86_64|arm64] [--kernel SERIES|--bzimage PATH]
#                 [--dtb FILE|--overlay FILE.dtso] [--timeout SEC]
#                 [--add PATH[:GUESTPATH]]... [--tpm-state DIR] [--save DIR]
#                 [--shell] [--quiet] [-- COMMAND...]
#
#   --arch ARCH       x86_64 (default, or $SAFELOCK_ARCH): qemu-system-x86_64,
#                     tpm-crb; arm64: qemu-system-aarch64 -M virt (TCG,
#                     cortex-a57), PL011 console, tpm-tis-device, the board
#                     from a device tree, arm64 busybox (scripts/arm64/)
#   --kernel SERIES   6.1 (default, or $SAFELOCK_KERNEL), 6.12, 7.3: a tree
#                     built by scripts/kernels.sh; with --arch arm64 only
#                     6.12, built by scripts/arm64/kernel.sh
#   --bzimage PATH    boot this kernel image instead (--image is the same)
#   --dtb FILE        arm64: boot with this device tree blob
#   --overlay FILE.dtso
#                     arm64: dump the virt machine's DTB with the run's own
#                     machine options (TPM included), compile FILE with
#                     dtc -@, apply it with fdtoverlay and boot with the
#                     result (cached); without --dtb or --overlay, qemu's
#                     own DTB
#   --timeout SEC     kill the guest after SEC seconds (default 300; none
#                     with --shell unless given)
#   --add PATH[:GUESTPATH]
#                     copy a file or directory into the guest, by default to
#                     /safelock/<basename> (a relative GUESTPATH is relative
#                     to /safelock, one ending in / is a directory).  ELF
#                     files bring their shared libraries and the loader; a
#                     binary linking libtss2-tctildr also gets the device TCTI.
#   --tpm-state DIR   keep the TPM's state in DIR (created if missing) across
#                     runs, as a board's TPM keeps it across power cycles;
#                     default: a fresh TPM for every run
#   --save DIR        unpack into DIR what the command saved with the guest
#                     helper "vm-save GUESTDIR" (the last save wins): a
#                     board's flash, carried to the next boot with --add
#   --shell           an interactive shell on the serial console instead of
#                     COMMAND; leaving it powers the guest off
#   --quiet           print nothing but the command's output
#
# The guest: PATH=/safelock:/bin:/sbin, cwd /safelock, /proc, /sys, /dev,
# configfs, debugfs, tmpfs on /tmp and /run, /dev/tpm0 and /dev/tpmrm0 backed
# by swtpm (tpm-crb; tpm-tis-device on arm64).  COMMAND runs with stdin from
# /dev/null.  Guest helpers: "vm-save DIR" (see --save); "vm-powercut
# STATUS" cuts the power at once (no TPM2_Shutdown, no sync: what a pulled
# battery does) and makes STATUS the run's exit status.  arm64 has a single serial port: no live kmsg stream, the dmesg
# dump at the end is the guest's kernel log.
#
# Exit status: COMMAND's; but 1 when the guest kernel log has a report
# (WARNING:, BUG:, Oops, lockdep, hung task, ...) and COMMAND exited 0 or 4
# (skip); 124 on timeout; 125 when the guest never reported an exit status
# (crash) or the VM could not be started; 2 on bad usage.
#
# Environment: SAFELOCK_ACCEL=tcg|kvm (default: kvm only if a probe boot
# works, cached in ${XDG_CACHE_HOME:-$HOME/.cache}/safelock/kvm-probe),
# SAFELOCK_VM_LOG=FILE (keep the full log there: console, the guest's dmesg,
# the TPM shutdown check), SAFELOCK_VM_MEM (MiB, default 512),
# SAFELOCK_VM_TPM_LOG=FILE (keep swtpm's log there: every TPM command and
# response in hex, for counting what the TPM executed, scripts/bench.sh),
# SAFELOCK_VM_APPEND (extra kernel command line), SAFELOCK_VM_KEEP=1 (keep the
# run's directory: initramfs, console, kmsg and swtpm logs).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
VMDIR=$TOP/scripts/vm
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/safelock
PATTERNS='WARNING:|BUG:|Oops|general protection|possible circular locking|possible recursive locking|inconsistent lock state|INFO: task .* blocked|KASAN|UBSAN|lockdep is turned off|turning off the locking correctness validator|Call Trace:|Kernel panic|soft lockup|hard LOCKUP|detected stalls? on CPU|INFO: rcu'

series=${SAFELOCK_KERNEL:-} bzimage= timeout= shell=0 quiet=0
arch=${SAFELOCK_ARCH:-x86_64} dtb= overlay=
adds=() cmd=() tpm_state= save_dir=

usage() {
	sed -n '/^#   scripts\/vm.sh/,/^#   --quiet/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
say() { [ "$quiet" = 1 ] || printf 'vm: %s\n' "$*" >&2; }
err() { printf 'vm: %s\n' "$*" >&2; }
die() { err "error: $*"; exit 125; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; series=$2; bzimage=; shift 2 ;;
	--kernel=*) series=${1#*=}; bzimage=; shift ;;
	--bzimage|--image) [ $# -ge 2 ] || usage; bzimage=$2; shift 2 ;;
	--bzimage=*|--image=*) bzimage=${1#*=}; shift ;;
	--arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
	--arch=*) arch=${1#*=}; shift ;;
	--dtb) [ $# -ge 2 ] || usage; dtb=$2; overlay=; shift 2 ;;
	--dtb=*) dtb=${1#*=}; overlay=; shift ;;
	--overlay) [ $# -ge 2 ] || usage; overlay=$2; dtb=; shift 2 ;;
	--overlay=*) overlay=${1#*=}; dtb=; shift ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--add) [ $# -ge 2 ] || usage; adds+=("$2"); shift 2 ;;
	--add=*) adds+=("${1#*=}"); shift ;;
	--tpm-state) [ $# -ge 2 ] || usage; tpm_state=$2; shift 2 ;;
	--tpm-state=*) tpm_state=${1#*=}; shift ;;
	--save) [ $# -ge 2 ] || usage; save_dir=$2; shift 2 ;;
	--save=*) save_dir=${1#*=}; shift ;;
	--shell) shell=1; shift ;;
	--quiet|-q) quiet=1; shift ;;
	-h|--help) usage ;;
	--) shift; cmd=("$@"); break ;;
	*) err "unknown argument '$1'"; usage ;;
	esac
done
if [ "$shell" = 1 ]; then
	[ ${#cmd[@]} -eq 0 ] || { err "--shell takes no COMMAND"; usage; }
else
	[ ${#cmd[@]} -gt 0 ] || { err "no COMMAND (or --shell) given"; usage; }
	timeout=${timeout:-300}
fi
case ${timeout:-1} in ''|*[!0-9]*|0) err "--timeout wants a positive number of seconds"; usage ;; esac
case $arch in
x86_64|x86|amd64) arch=x86_64
	[ -z "$dtb$overlay" ] || { err "--dtb and --overlay are for --arch arm64"; usage; } ;;
arm64|aarch64) arch=arm64 ;;
*) err "unknown --arch '$arch' (x86_64, arm64)"; usage ;;
esac
[ -z "$dtb" ] || [ -f "$dtb" ] || die "no device tree blob $dtb"
[ -z "$overlay" ] || [ -f "$overlay" ] || die "no overlay $overlay"

if [ "$arch" = x86_64 ]; then
	series=${series:-6.1}
	for t in qemu-system-x86_64 swtpm swtpm_ioctl cpio gzip ldd; do
		command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
	done
	BUSYBOX=/bin/busybox
	case $(LC_ALL=C ldd "$BUSYBOX" 2>&1) in *'not a dynamic executable'*) ;; *) false ;; esac ||
		die "$BUSYBOX is missing or not static (install busybox-static)"
	LIBDIR=usr/lib/x86_64-linux-gnu
else
	series=${series:-6.12}
	[ "$series" = 6.12 ] || [ -n "$bzimage" ] ||
		die "arm64 kernels: only 6.12 (scripts/arm64/kernel.sh), or --bzimage PATH"
	for t in qemu-system-aarch64 swtpm swtpm_ioctl cpio gzip readelf; do
		command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
	done
	[ -z "$overlay" ] || for t in dtc fdtoverlay; do
		command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
	done
	BUSYBOX=$("$TOP"/scripts/arm64/busybox.sh) || die "no arm64 busybox"
	LIBDIR=usr/lib/aarch64-linux-gnu
fi

if [ -n "$bzimage" ]; then
	[ -f "$bzimage" ] || die "no kernel image $bzimage"
	klabel=$(basename "$bzimage")
elif [ "$arch" = arm64 ]; then
	tree=$("$TOP"/scripts/arm64/kernel.sh path) ||
		die "the arm64 kernel is not built (scripts/arm64/kernel.sh build)"
	bzimage=$tree/arch/arm64/boot/Image
	[ -f "$bzimage" ] || die "no $bzimage"
	klabel="$series arm64"
else
	tree=$("$TOP"/scripts/kernels.sh path "$series") ||
		die "kernel $series is not built (scripts/kernels.sh build $series)"
	bzimage=$tree/arch/x86/boot/bzImage
	[ -f "$bzimage" ] || die "no $bzimage"
	klabel=$series
fi

T0=$(now)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-vm.XXXXXX") || die "mktemp failed"
LOG=$WORK/console.log KMSG=$WORK/kmsg.log
TOKEN=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
QPID= SWPID= PRINTER= keep_log=0

stop_swtpm() {
	local i
	[ -n "$SWPID" ] || return 0
	# After a clean guest shutdown qemu stops the TPM and swtpm exits.
	[ "${1:-}" = now ] ||
		for i in $(seq 20); do kill -0 "$SWPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SWPID" 2>/dev/null; then
		swtpm_ioctl -s --unix "$WORK/swtpm.ctrl" >/dev/null 2>&1
		for i in $(seq 20); do kill -0 "$SWPID" 2>/dev/null || break; sleep 0.1; done
	fi
	kill -0 "$SWPID" 2>/dev/null && { kill "$SWPID"; sleep 0.2; kill -9 "$SWPID" 2>/dev/null; }
	SWPID=
}
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$QPID" ] && kill -9 "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	[ -n "$PRINTER" ] && kill "$PRINTER" 2>/dev/null
	stop_swtpm
	[ -z "${SAFELOCK_VM_TPM_LOG:-}" ] || cp "$WORK/swtpm.log" "$SAFELOCK_VM_TPM_LOG" 2>/dev/null
	if [ -n "${SAFELOCK_VM_KEEP:-}" ]; then err "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'err "interrupted"; exit 130' INT TERM HUP

# ---------------------------------------------------------------- initramfs
R=$WORK/root
declare -A LIBS=()

# Queue the shared libraries and the loader of an ELF file.
need_libs() {
	local f=$1 out line lib
	[ "$(head -c4 "$f" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || return 0
	[ "$arch" = arm64 ] && { need_libs_cross "$f"; return; }
	out=$(LC_ALL=C ldd "$f" 2>/dev/null) || return 0
	case $out in *'not a dynamic executable'*|*'statically linked'*) return 0 ;; esac
	while read -r line; do
		case $line in
		*'=> not found'*) die "$f needs ${line%% *}, which is not on this host" ;;
		*'=> /'*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		LIBS[$lib]=1
		case $lib in
		*/libtss2-tctildr.so*)	# dlopen()s the device TCTI
			local d
			for d in "$(dirname "$lib")"/libtss2-tcti-device.so.0; do
				[ -e "$d" ] || continue
				LIBS[$d]=1; need_libs "$d"
			done ;;
		esac
	done <<<"$out"
}

# arm64: the host's ldd cannot run the binaries; read the ELF instead.  The
# loader from PT_INTERP, each DT_NEEDED from Debian's arm64 multiarch
# directories, recursively.  Every ELF file must be AArch64.
ARM64_LIBDIRS="/usr/lib/aarch64-linux-gnu /lib/aarch64-linux-gnu"
need_libs_cross() {
	local f=$1 hdr interp n d lib found
	hdr=$(LC_ALL=C readelf -h "$f" 2>/dev/null) || die "$f: unreadable ELF"
	case $hdr in *'Machine:'*AArch64*) ;; *)
		die "$f is not an AArch64 file ($(printf '%s\n' "$hdr" | sed -n 's/^ *Machine: *//p'))" ;;
	esac
	interp=$(LC_ALL=C readelf -l "$f" 2>/dev/null |
		sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	[ -z "$interp" ] || [ -n "${LIBS[$interp]:-}" ] || {
		[ -e "$interp" ] || die "$f needs the loader $interp, which is not on this host (libc6:arm64)"
		LIBS[$interp]=1
	}
	for n in $(LC_ALL=C readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		found=
		for d in $ARM64_LIBDIRS; do
			[ -e "$d/$n" ] && { found=$d/$n; break; }
		done
		[ -n "$found" ] || die "$f needs $n, which is not in $ARM64_LIBDIRS (install its :arm64 package)"
		[ -n "${LIBS[$found]:-}" ] && continue
		LIBS[$found]=1
		need_libs_cross "$found"
		case $n in
		libtss2-tctildr.so*)	# dlopen()s the device TCTI
			lib=$(dirname "$found")/libtss2-tcti-device.so.0
			[ -e "$lib" ] && [ -z "${LIBS[$lib]:-}" ] && { LIBS[$lib]=1; need_libs_cross "$lib"; } ;;
		esac
	done
	return 0
}

add_one() {
	local spec=$1 src dst
	src=${spec%%:*}
	if [ "$src" != "$spec" ]; then dst=${spec#*:}; else dst=; fi
	[ -e "$src" ] || die "--add: no such file or directory: $src"
	case $dst in
	'') dst=/safelock/$(basename "$src") ;;
	*/) dst=$dst$(basename "$src") ;;
	esac
	case $dst in /*) ;; *) dst=/safelock/$dst ;; esac
	mkdir -p "$R$(dirname "$dst")"
	if [ -d "$src" ]; then
		cp -a "$src" "$R$dst" || die "cannot copy $src"
		local f
		while IFS= read -r -d '' f; do need_libs "$f"; done < <(find "$src" -type f -print0)
	else
		cp -L --preserve=mode "$src" "$R$dst" || die "cannot copy $src"
		need_libs "$src"
	fi
}

# The busybox part never changes between runs: built once into an
# uncompressed cpio in the cache; each run appends its own archive (the
# kernel unpacks concatenated newc archives in order).
base_cpio() {
	local key base b d a
	key=$(cat "$BUSYBOX" "$VMDIR/init" "$VMDIR/vm-save" "$VMDIR/vm-powercut" | sha256sum | cut -c1-16)
	base=$CACHE/vm/base-$key.cpio
	[ "$arch" = x86_64 ] || base=$CACHE/vm/base-$arch-$key.cpio
	[ -s "$base" ] && { echo "$base"; return; }
	b=$WORK/base
	for d in bin sbin usr/bin usr/sbin "$LIBDIR" usr/lib64 etc/vm \
		proc sys dev tmp run root safelock var mnt; do
		mkdir -p "$b/$d"
	done
	ln -s usr/lib "$b/lib"; ln -s usr/lib64 "$b/lib64"; ln -s ../run "$b/var/run"
	cp "$BUSYBOX" "$b/bin/busybox"
	# An arm64 busybox cannot run here: its applets are those of the host's
	# busybox-static, the same Debian version and configuration.
	for a in $( ([ "$arch" = x86_64 ] && "$BUSYBOX" --list-full) || /bin/busybox --list-full); do
		[ -e "$b/$a" ] || ln -s /bin/busybox "$b/$a"
	done
	cp "$VMDIR/init" "$b/init"; chmod 755 "$b/init"
	cp "$VMDIR/vm-save" "$VMDIR/vm-powercut" "$b/bin/" && chmod 755 "$b/bin/vm-save" "$b/bin/vm-powercut"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$b/etc/passwd"
	printf 'root:x:0:\n' >"$b/etc/group"
	mkdir -p "$CACHE/vm"
	(cd "$b" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$base.tmp.$$" &&
		mv "$base.tmp.$$" "$base" || die "cannot build the base initramfs"
	rm -rf "$b"
	echo "$base"
}

build_initramfs() {
	local a lib g base
	base=$(base_cpio) || exit 125
	mkdir -p "$R/etc/vm" "$R/safelock"
	printf 'MODE=%s\nTOKEN=%s\n' "$([ "$shell" = 1 ] && echo shell || echo run)" "$TOKEN" >"$R/etc/vm/conf"
	{
		printf '# generated by scripts/vm.sh\n'
		for a in "${cmd[@]}"; do printf "'%s' " "${a//\'/\'\\\'\'}"; done
		printf '\n'
	} >"$R/etc/vm/run.sh"
	for a in "${adds[@]}"; do add_one "$a"; done
	for lib in "${!LIBS[@]}"; do
		case $lib in
		/lib/*|/lib64/*) g=/usr$lib ;;
		*) g=$lib ;;
		esac
		mkdir -p "$R$(dirname "$g")"
		[ -e "$R$g" ] || cp -L "$lib" "$R$g" || die "cannot copy $lib"
	done
	{ cat "$base"; (cd "$R" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet); } |
		gzip -1 >"$WORK/initramfs.gz" || die "cannot build the initramfs"
}

# ---------------------------------------------------------------- qemu
if [ "$arch" = x86_64 ]; then
	APPEND="console=ttyS0,115200 loglevel=4 panic=-1 no_timer_check ${SAFELOCK_VM_APPEND:-}"
else
	APPEND="console=ttyAMA0 loglevel=4 panic=-1 ${SAFELOCK_VM_APPEND:-}"
fi
# arm64: everything that shapes the virt machine's device tree.
ARM64_M=virt,gic-version=3
ARM64_MACHINE=(-cpu cortex-a57 -m "${SAFELOCK_VM_MEM:-512}" -smp 2 -nodefaults -display none)
ARM64_TPM=(-device tpm-tis-device,tpmdev=tpm0)
qemu_base() {
	if [ "$arch" = arm64 ]; then
		QEMU=(qemu-system-aarch64 -M "$ARM64_M" "${ARM64_MACHINE[@]}" -no-reboot -accel tcg
			-kernel "$bzimage" -initrd "$WORK/initramfs.gz")
		[ -z "$dtb" ] || QEMU+=(-dtb "$dtb")
		return
	fi
	QEMU=(qemu-system-x86_64 -nodefaults -no-reboot -m "${SAFELOCK_VM_MEM:-512}" -smp 2
		-display none -kernel "$bzimage" -initrd "$WORK/initramfs.gz")
	if [ "$1" = kvm ]; then QEMU+=(-accel kvm -cpu host); else QEMU+=(-accel tcg); fi
}

# arm64 --overlay: qemu's DTB for exactly this machine (with the TPM: the
# device adds a node), the overlay applied; cached by qemu version, machine
# options and overlay.  The dump needs a TPM backend: a throwaway swtpm.
make_dtb() {
	local key out d pid i
	key=$({ qemu-system-aarch64 --version | head -n1; echo "$ARM64_M ${ARM64_MACHINE[*]} ${ARM64_TPM[*]}"
		cat "$overlay"; } | sha256sum | cut -c1-16)
	out=$CACHE/vm/arm64-$key.dtb
	if [ ! -s "$out" ]; then
		d=$WORK/dtb; mkdir -p "$d/tpm" "$CACHE/vm"
		swtpm socket --tpm2 --tpmstate dir="$d/tpm" --ctrl type=unixio,path="$d/ctrl" \
			--flags startup-clear --pid file="$d/pid" -d >"$d/swtpm.out" 2>&1 ||
			{ cat "$d/swtpm.out" >&2; die "swtpm (for the DTB dump) did not start"; }
		for i in $(seq 50); do [ -S "$d/ctrl" ] && break; sleep 0.1; done
		qemu-system-aarch64 -M "$ARM64_M,dumpdtb=$d/virt.dtb" "${ARM64_MACHINE[@]}" \
			-chardev socket,id=chrtpm,path="$d/ctrl" -tpmdev emulator,id=tpm0,chardev=chrtpm \
			"${ARM64_TPM[@]}" >"$d/dump.out" 2>&1
		pid=$(cat "$d/pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
		[ -s "$d/virt.dtb" ] || { cat "$d/dump.out" >&2; die "qemu did not dump the virt DTB"; }
		dtc -@ -q -I dts -O dtb -o "$d/overlay.dtbo" "$overlay" 2>"$d/dtc.out" ||
			{ cat "$d/dtc.out" >&2; die "dtc failed on $overlay"; }
		fdtoverlay -i "$d/virt.dtb" -o "$d/merged.dtb" "$d/overlay.dtbo" 2>"$d/fdtoverlay.out" ||
			{ cat "$d/fdtoverlay.out" >&2; die "fdtoverlay failed on $overlay"; }
		mv "$d/merged.dtb" "$out.tmp.$$" && mv "$out.tmp.$$" "$out"
		say "device tree: $(basename "$overlay") on qemu's virt DTB -> $out"
	fi
	dtb=$out
}

# KVM only if a short boot with it works (on some machines qemu hangs).
pick_accel() {
	# KVM cannot run an arm64 guest on this x86 host.
	[ "$arch" = arm64 ] && { ACCEL=tcg; return; }
	case ${SAFELOCK_ACCEL:-} in
	tcg|kvm) ACCEL=$SAFELOCK_ACCEL; return ;;
	'') ;;
	*) die "SAFELOCK_ACCEL must be tcg or kvm" ;;
	esac
	ACCEL=tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 0
	local key cf=$CACHE/kvm-probe plog=$WORK/probe.log t
	key="$(uname -r) $(qemu-system-x86_64 --version | head -n1)"
	if [ -f "$cf" ] && [ "$(sed -n 1p "$cf")" = "$key" ]; then
		ACCEL=$(sed -n 2p "$cf"); [ "$ACCEL" = kvm ] || ACCEL=tcg
		return
	fi
	say "probing KVM (at most 10 s, once; cached in $cf)"
	t=$(now)
	qemu_base kvm
	( timeout -k 2 10 "${QEMU[@]}" -serial "file:$plog" \
		-append "$APPEND safelockvm=probe" </dev/null >/dev/null 2>&1; exit 0 ) 2>/dev/null
	if grep -q "SAFELOCK-VM-PROBE-OK $TOKEN" "$plog" 2>/dev/null; then ACCEL=kvm; fi
	say "KVM probe: $([ $ACCEL = kvm ] && echo works || echo 'no answer, using TCG') ($(since "$t") s)"
	mkdir -p "$CACHE" && printf '%s\n%s\n' "$key" "$ACCEL" >"$cf"
}

start_swtpm() {
	local i dir=${tpm_state:-$WORK/tpm}
	mkdir -p "$dir" || die "cannot create $dir"
	swtpm socket --tpm2 --tpmstate dir="$dir" --ctrl type=unixio,path="$WORK/swtpm.ctrl" \
		--flags startup-clear --log file="$WORK/swtpm.log",level=20 \
		--pid file="$WORK/swtpm.pid" -d >"$WORK/swtpm.out" 2>&1 ||
		{ cat "$WORK/swtpm.out" >&2; die "swtpm did not start"; }
	for i in $(seq 50); do
		[ -s "$WORK/swtpm.pid" ] && [ -S "$WORK/swtpm.ctrl" ] && break
		sleep 0.1
	done
	SWPID=$(cat "$WORK/swtpm.pid" 2>/dev/null)
	[ -n "$SWPID" ] && [ -S "$WORK/swtpm.ctrl" ] || die "swtpm did not come up"
}

# Did the guest send TPM2_Shutdown (command code 0x145)?  swtpm's log at
# level 20 dumps each command: "80 01 00 00 00 0C 00 00 01 45 00 00" or
# with tag 0x8002 when sent in a session.
tpm_shutdown_seen() {
	grep -A2 -i 'SWTPM_IO_Read' "$WORK/swtpm.log" 2>/dev/null | tr -d ' \n' |
		grep -Eiq '8001000000..00000145|8002000000..00000145'
}

# ---------------------------------------------------------------- log views
strip_cr() { tr -d '\r' <"$1"; }
# The command's output: between the start and the end marker, without
# kernel lines ("[    1.234567] ...").
command_output() {
	awk -v tok="$TOKEN" '
		{ sub(/\r+$/, "") }
		state == 0 { if (index($0, "SAFELOCK-VM-START " tok)) state = 1; next }
		state == 1 {
			if (match($0, "SAFELOCK-VM-EXIT [0-9]+ " tok)) {
				if (RSTART > 1) print substr($0, 1, RSTART - 1)
				fflush(); state = 2; next
			}
			if ($0 ~ /^\[ *[0-9]+\.[0-9]+\] /) next
			if (index($0, "SAFELOCK-VM-SAVE-BEGIN " tok)) { saving = 1; n = 0; next }
			if (index($0, "SAFELOCK-VM-SAVE-END " tok)) {
				saving = 0; printf "vm: the guest saved %d KiB\n", int((n * 57 + 1023) / 1024); fflush(); next
			}
			if (saving) { n++; next }
			if (index($0, "SAFELOCK-VM-POWERCUT ")) next
			print; fflush()
		}'
}
# The guest's kernel log: the dmesg dump at the end, or else the live kmsg
# stream from ttyS1 ("LEVEL,SEQ,USEC,FLAGS;text"), or else the console.
kernel_log() {
	if grep -q "SAFELOCK-VM-DMESG-END $TOKEN" "$LOG"; then
		strip_cr "$LOG" | sed -n "/SAFELOCK-VM-DMESG-BEGIN $TOKEN/,/SAFELOCK-VM-DMESG-END $TOKEN/p" |
			sed '1d;$d'
	else
		strip_cr "$KMSG" | awk -F';' 'NF > 1 && $1 ~ /^[0-9]+,/ {
			split($1, h, ","); t = $0; sub(/^[^;]*;/, "", t)
			printf "[%5d.%06d] %s\n", h[3] / 1000000, h[3] % 1000000, t; next }
			/^ / { next } { print }'
		strip_cr "$LOG" | grep -E '^\[ *[0-9]+\.[0-9]+\] ' || true
	fi | awk '!seen[$0]++'
}

# ---------------------------------------------------------------- run
build_initramfs
say "initramfs: $(du -k "$WORK/initramfs.gz" | cut -f1) KiB in $(since "$T0") s"
pick_accel
[ -z "$overlay" ] || make_dtb
start_swtpm
qemu_base "$ACCEL"
QEMU+=(-chardev socket,id=chrtpm,path="$WORK/swtpm.ctrl" -tpmdev emulator,id=tpm0,chardev=chrtpm)
if [ "$arch" = arm64 ]; then
	QEMU+=("${ARM64_TPM[@]}" -append "$APPEND")
	KMSG_SERIAL=()
else
	QEMU+=(-device tpm-crb,tpmdev=tpm0 -chardev file,id=kmsg,path="$KMSG" -append "$APPEND")
	KMSG_SERIAL=(-serial chardev:kmsg)
fi

say "booting $klabel ($ACCEL)$([ "$shell" = 1 ] || echo ", timeout ${timeout} s") ..."
TB=$(now)
timed_out=0
if [ "$shell" = 1 ]; then
	QEMU+=(-chardev stdio,id=con,mux=on,signal=off,logfile="$LOG"
		-serial chardev:con "${KMSG_SERIAL[@]}" -mon chardev=con,mode=readline)
	say "console: Ctrl-A x kills the VM, Ctrl-A h for help"
	if [ -n "$timeout" ]; then
		timeout --foreground -k 5 "$timeout" "${QEMU[@]}"
		[ $? -eq 124 ] && timed_out=1
	else
		"${QEMU[@]}"
	fi
else
	: >"$LOG"; : >"$KMSG"
	"${QEMU[@]}" -chardev file,id=con,path="$LOG" -serial chardev:con "${KMSG_SERIAL[@]}" \
		</dev/null >"$WORK/qemu.out" 2>&1 &
	QPID=$!
	tail -n +1 -s 0.1 -f --pid="$QPID" "$LOG" 2>/dev/null | command_output &
	PRINTER=$!
	up=
	while kill -0 "$QPID" 2>/dev/null; do
		if [ -z "$up" ] && grep -q "SAFELOCK-VM-START $TOKEN" "$LOG"; then
			up=$(since "$TB"); say "guest up after $up s"
		fi
		# vm-powercut: the battery is pulled, nothing in the guest runs on.
		if grep -aq "SAFELOCK-VM-POWERCUT [0-9]* $TOKEN" "$LOG"; then
			kill -9 "$QPID" 2>/dev/null
			say "power cut by the guest's command"
			break
		fi
		if awk -v a="$TB" -v b="$(now)" -v t="$timeout" 'BEGIN { exit !(b - a >= t) }'; then
			timed_out=1
			kill -9 "$QPID" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$QPID" 2>/dev/null; QPID=
	wait "$PRINTER" 2>/dev/null; PRINTER=
fi
if [ "$timed_out" = 1 ]; then stop_swtpm now; else stop_swtpm; fi

# ---------------------------------------------------------------- verdict
rc=
if [ "$timed_out" = 1 ]; then
	err "timed out after $timeout s"
	rc=124
fi
status=$(strip_cr "$LOG" | grep -aoE "SAFELOCK-VM-(EXIT|POWERCUT) [0-9]+ $TOKEN" | awk '{ print $2 }' | tail -n1)
powercut=0
strip_cr "$LOG" | grep -aqE "SAFELOCK-VM-POWERCUT [0-9]+ $TOKEN" && powercut=1
if [ -n "$save_dir" ]; then
	if strip_cr "$LOG" | grep -aq "SAFELOCK-VM-SAVE-END $TOKEN"; then
		mkdir -p "$save_dir" &&
			strip_cr "$LOG" | awk -v tok="$TOKEN" '
				$0 ~ "SAFELOCK-VM-SAVE-BEGIN " tok { buf = ""; on = 1; next }
				$0 ~ "SAFELOCK-VM-SAVE-END " tok { on = 0; last = buf; next }
				on { buf = buf $0 "\n" }
				END { printf "%s", last }' | base64 -d | tar xzf - -C "$save_dir" ||
			{ err "cannot unpack the guest's save into $save_dir"; [ -n "$status" ] && [ "$status" = 0 ] && status=1; }
	else
		err "the guest saved nothing (vm-save was not run)"
	fi
fi
if [ -z "$rc" ] && [ -z "$status" ]; then
	err "the guest never reported an exit status (crash?)"
	[ -s "$WORK/qemu.out" ] && sed 's/^/vm: qemu: /' "$WORK/qemu.out" >&2
	rc=125
fi
[ -n "$rc" ] || rc=$status

klog=$(kernel_log)
reports=$(printf '%s\n' "$klog" | grep -E "$PATTERNS" || true)
if [ -n "$reports" ]; then
	err "the guest kernel reported problems:"
	printf '%s\n' "$reports" | head -n 40 | sed 's/^/vm:   /' >&2
	case $rc in 0|4) rc=1 ;; esac
fi

if tpm_shutdown_seen; then tpmsd=yes; else tpmsd=no; fi
if [ "$tpmsd" = no ] && [ -n "$status" ] && [ "$powercut" = 0 ]; then
	err "warning: the guest did not send TPM2_Shutdown (swtpm would count a DA failure)"
fi
if [ "$rc" = 124 ] || [ "$rc" = 125 ] && [ "$shell" = 0 ]; then
	err "last console lines:"
	sed -n '/^=== vm.sh:/q;p' "$LOG" | tr -d '\r' | grep -avF "$TOKEN" | tail -n 30 | sed 's/^/vm: | /' >&2
	err "last kernel log lines:"
	printf '%s\n' "$klog" | tail -n 10 | sed 's/^/vm: k /' >&2
fi
{
	echo "=== vm.sh: kernel $klabel ($bzimage), accel $ACCEL, exit status ${status:-none}, result $rc"
	echo "=== vm.sh: TPM2_Shutdown received by swtpm: $tpmsd"
	if ! grep -q "SAFELOCK-VM-DMESG-END $TOKEN" "$LOG"; then
		echo "=== vm.sh: guest kernel log (live stream from ttyS1)"
		printf '%s\n' "$klog"
	fi
} >>"$LOG"

if [ -n "${SAFELOCK_VM_LOG:-}" ]; then
	cp "$LOG" "$SAFELOCK_VM_LOG" && LOGOUT=$SAFELOCK_VM_LOG
elif [ "$rc" != 0 ]; then
	LOGOUT=$(mktemp "${TMPDIR:-/tmp}/safelock-vm-XXXXXX.log") && cp "$LOG" "$LOGOUT"
fi
[ "$rc" != 0 ] && [ -n "${LOGOUT:-}" ] && err "full console log: $LOGOUT"
say "done in $(since "$T0") s (exit $rc)"
exit "$rc"
