#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or find in the cache) the test kernels: tinyconfig + kvm_guest.config
# + selftests/safelock/config, from Debian's kernel source packages.
#
#   scripts/kernels.sh build [SERIES...]   build what is missing (default: all)
#   scripts/kernels.sh path SERIES         print the build tree of a built kernel
#   scripts/kernels.sh source SERIES       print the unpacked source tree
#   scripts/kernels.sh list                the series $SAFELOCK_KERNELS selects
#
# SERIES is 6.1, 6.12 or 7.3.  SAFELOCK_KERNELS="6.1" selects a subset (an
# "arm64" entry there is for scripts/arm64/kernel.sh and ignored here).
# The cache lives in ${XDG_CACHE_HOME:-$HOME/.cache}/safelock, keyed by the
# source package version and the hash of the config fragment, so an unchanged
# second run builds nothing.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SAFELOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/safelock}
FRAGMENT=$TOP/selftests/safelock/config
ALL_SERIES="6.1 6.12 7.3"
# Minutes a build took on 2 cores; only used to tell the user how long is left.
EXPECT_MIN=6
RECIPE=1	# bump when the way a kernel is configured or built changes

say() { printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 1; }

# The x86 series selected; "arm64" (scripts/arm64/kernel.sh) is not ours.
series_list() {
	local s out=
	for s in ${SAFELOCK_KERNELS:-$ALL_SERIES}; do
		[ "$s" = arm64 ] || out="$out $s"
	done
	echo "${out# }"
}

frag_hash() {
	{ echo "recipe $RECIPE"; cat "$FRAGMENT"; } | sha256sum | cut -c1-12
}

# The mirror this machine's apt already uses, read from its own sources.
apt_mirror() {
	local m
	m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $2}' | grep -v -- '-security' | grep -i debian | head -n1)
	[ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}' |
		grep -v -- '-security' | grep -i debian | head -n1)
	[ -n "$m" ] || die "no Debian mirror found in this machine's apt sources"
	echo "$m"
}

# linux-source-7.3 lives in trixie-backports: fetch it through a private
# sources list, lists and cache directory; nothing of the machine's apt
# configuration or state changes.
fetch_backports_source() {
	local series=$1 d=$CACHE/apt deb
	deb=$(ls "$d"/archives/linux-source-"$series"_*.deb 2>/dev/null | tail -n1 || true)
	if [ -n "$deb" ]; then echo "$deb"; return; fi
	mkdir -p "$d"/lists/partial "$d"/cache/archives/partial "$d"/archives
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(apt_mirror) trixie-backports main" \
		>"$d"/sources.list
	local opts=(-o Dir::Etc::SourceList="$d"/sources.list -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists="$d"/lists -o Dir::Cache="$d"/cache
		-o APT::Get::List-Cleanup=0 -q)
	say "fetching linux-source-$series from trixie-backports (private apt state in $d)"
	apt-get "${opts[@]}" update >"$d"/update.log 2>&1 ||
		{ tail -n 20 "$d"/update.log >&2; die "apt-get update for trixie-backports failed"; }
	(cd "$d"/archives && apt-get "${opts[@]}" download "linux-source-$series") >"$d"/download.log 2>&1 ||
		{ tail -n 20 "$d"/download.log >&2; die "apt-get download linux-source-$series failed"; }
	ls "$d"/archives/linux-source-"$series"_*.deb | tail -n1
}

# Echo "VERSION TARBALL-OR-DEB" for a series.
locate_source() {
	local series=$1 ver deb
	case $series in
	6.1|6.12)
		ver=$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null) ||
			die "linux-source-$series is not installed (run scripts/deps.sh)"
		echo "$ver /usr/src/linux-source-$series.tar.xz" ;;
	7.3)
		deb=$(fetch_backports_source "$series")
		ver=$(dpkg-deb -f "$deb" Version)
		echo "$ver $deb" ;;
	*) die "unknown kernel series '$series' (known: $ALL_SERIES)" ;;
	esac
}

src_dir() { echo "$CACHE/linux-$1-$2/src"; }
build_dir() { echo "$CACHE/linux-$1-$2/build-$(frag_hash)"; }

unpack() {
	local series=$1 ver=$2 file=$3 src tmp
	src=$(src_dir "$series" "$ver")
	[ -f "$src/.safelock-unpacked" ] && return 0
	say "$series: unpacking source $ver (about 1 minute)"
	rm -rf "$src" "$src.tmp"; mkdir -p "$src.tmp"
	case $file in
	*.deb) dpkg-deb --fsys-tarfile "$file" |
		tar -xO "./usr/src/linux-source-$series.tar.xz" | tar -xJ -C "$src.tmp" ;;
	*) tar -xJf "$file" -C "$src.tmp" ;;
	esac
	tmp=$(ls -d "$src.tmp"/linux-source-*) || die "unexpected layout in $file"
	mv "$tmp" "$src"; rmdir "$src.tmp"
	touch "$src/.safelock-unpacked"
}

# Every option of the fragment must end up as asked, except options this
# kernel no longer has (7.3 folded PROC_SYSCTL into SYSCTL, for example).
check_config() {
	local src=$1 b=$2 missing= known opt line
	known=$(find "$src" -name 'Kconfig*' -print0 |
		xargs -0 sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/CONFIG_\2/p' |
		sort -u)
	while read -r line; do
		case $line in
		CONFIG_*=*) opt=${line%%=*} ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
		*) continue ;;
		esac
		if ! grep -qx -- "$opt" <<<"$known"; then
			say "note: $opt does not exist in this kernel; skipped"
			continue
		fi
		case $line in
		CONFIG_*=*) grep -qx -- "$line" "$b/.config" || missing="$missing $line" ;;
		*) grep -q "^$opt=" "$b/.config" && missing="$missing $opt=n" ;;
		esac
	done <"$FRAGMENT"
	[ -z "$missing" ] || die "options of the fragment not in the final .config:$missing"
}

# Run make with a progress line every 20 s; the full log goes to a file.
progress_make() {
	local label=$1 log=$2; shift 2
	local start=$SECONDS
	"$@" >"$log" 2>&1 &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		local el=$((SECONDS - start))
		if [ $((el % 20)) -lt 5 ] && [ "$el" -ge 5 ]; then
			local left=$((EXPECT_MIN * 60 - el)) eta
			if [ $left -gt 0 ]; then
				eta="about $(((left + 59) / 60)) min left"
			else
				eta="longer than the usual $EXPECT_MIN min (a busy machine?)"
			fi
			printf 'kernel: %s: building, %d:%02d elapsed, %s (log: %s)\n' \
				"$label" $((el / 60)) $((el % 60)) "$eta" "$log" >&2
		fi
	done
	if ! wait "$pid"; then
		tail -n 30 "$log" >&2
		die "$label: build failed; full log in $log"
	fi
}

build_one() {
	local series=$1 ver file src b
	read -r ver file < <(locate_source "$series")
	src=$(src_dir "$series" "$ver"); b=$(build_dir "$series" "$ver")
	if [ -f "$b/.safelock-built" ]; then
		say "$series: cached ($ver, $b)"
		return 0
	fi
	unpack "$series" "$ver" "$file"
	rm -rf "$b"; mkdir -p "$b"
	say "$series: configuring $ver"
	{
		make -C "$src" O="$b" tinyconfig
		make -C "$src" O="$b" kvm_guest.config
		"$src"/scripts/kconfig/merge_config.sh -m -O "$b" "$b/.config" "$FRAGMENT"
		make -C "$src" O="$b" olddefconfig
	} >"$b/config.log" 2>&1 || { tail -n 20 "$b/config.log" >&2; die "$series: configuration failed"; }
	check_config "$src" "$b"
	local t0=$SECONDS
	progress_make "$series" "$b/build.log" make -C "$src" O="$b" -j"$(nproc)" bzImage modules
	echo "$ver" >"$b/.safelock-version"
	touch "$b/.safelock-built"
	say "$series: built in $(((SECONDS - t0) / 60)) min $(((SECONDS - t0) % 60)) s"
}

cached_build_dir() {
	local series=$1 d
	for d in "$CACHE"/linux-"$series"-*/build-"$(frag_hash)"; do
		[ -f "$d/.safelock-built" ] && { echo "$d"; return 0; }
	done
	return 1
}

cmd=${1:-build}; shift || true
case $cmd in
build)
	[ $# -gt 0 ] || set -- $(series_list)
	n=0; for s in "$@"; do n=$((n + 1)); done
	i=0
	for s in "$@"; do
		i=$((i + 1)); say "[$i/$n] $s"
		build_one "$s"
	done ;;
path)
	[ $# -eq 1 ] || die "usage: $0 path SERIES"
	cached_build_dir "$1" || die "$1: not built yet (run: $0 build $1)" ;;
source)
	[ $# -eq 1 ] || die "usage: $0 source SERIES"
	d=$(cached_build_dir "$1") || die "$1: not built yet"
	readlink -f "$d/source" 2>/dev/null || dirname "$d"/src/. ;;
list) series_list ;;
*) die "unknown command '$cmd' (build, path, source, list)" ;;
esac
