#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The man pages: scdoc renders them, man renders the result without a
# warning, they have the usual sections, and they document every command,
# option and exit status that the programs' --help lists.
#
# Usage: test_man.sh TOOLS_DIR
set -u
dir=${1:-.}
src=$dir/../Documentation/man
n=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The commands of safelockctl --help, without their arguments: "user add".
commands() {
	"$dir/safelockctl/safelockctl" --help | awk '/^Commands:/{on=1; next} /^$/{on=0}
		on { lhs = substr($0, 3, 27); out = "";
		     n = split(lhs, w, " ");
		     for (i = 1; i <= n; i++) if (w[i] ~ /^[a-z-]+$/) out = out (out ? " " : "") w[i];
		     if (out != "help") print out }'
}

ok() {	# ok STATUS NAME [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"
	else echo "not ok $n - $2"; failed=$((failed + 1)); [ -n "${3:-}" ] && printf '# %s\n' "$3"; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# Pages of SEE ALSO that are not ours, each with the Debian package that
# ships it: a page is real if man finds it here, or is one of these.
known_pages="modprobe.d(5):kmod journalctl(1):systemd systemd.exec(5):systemd
tpm2(1):tpm2-tools tpm2_getcap(1):tpm2-tools"

echo "1..11"
for page in safelockctl safelockd; do
	if ! command -v scdoc >/dev/null; then
		skip "$page.8: scdoc renders it" "scdoc not installed (scripts/deps.sh installs it)"
		skip "$page.8: man renders it" "scdoc not installed"
		skip "$page.8: documents its --help" "scdoc not installed"
		continue
	fi
	out=$(scdoc <"$src/$page.8.scd" 2>&1 >"$tmp/$page.8")
	ok $? "$page.8: scdoc renders it" "$out"
	if ! command -v man >/dev/null; then
		skip "$page.8: man renders it" "man not installed"
	else
		warn=$(MANWIDTH=80 man --nh --nj -l --warnings -E UTF-8 "$tmp/$page.8" 2>&1 >"$tmp/$page.txt")
		rc=$?
		[ $rc -eq 0 ] && [ -z "$warn" ] && grep -q '^NAME' "$tmp/$page.txt" &&
			grep -q '^SYNOPSIS' "$tmp/$page.txt" && grep -q '^OPTIONS\|^GLOBAL OPTIONS' "$tmp/$page.txt" &&
			grep -q '^EXIT STATUS' "$tmp/$page.txt" && grep -q '^SEE ALSO' "$tmp/$page.txt"
		ok $? "$page.8: man renders it without warnings, with NAME, SYNOPSIS, OPTIONS, EXIT STATUS, SEE ALSO" "$warn"
	fi
	bin=$dir/$page/$page
	missing=
	for o in $("$bin" --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do
		grep -qE -- "\*[^*]*$o([^a-z0-9-][^*]*)?\*" "$src/$page.8.scd" || missing="$missing $o"
	done
	[ -x "$bin" ] && [ -z "$missing" ]
	ok $? "$page.8: every option of $page --help is documented" "missing:$missing"
done

# SEE ALSO names pages that exist (tpm2-tools(1) did not: the package's
# pages are tpm2(1) and one per tool).
missing=
for page in safelockctl safelockd; do
	for ref in $(awk '/^# SEE ALSO/{on=1; next} /^# /{on=0} on' "$src/$page.8.scd" |
		     grep -oE '\*[a-z0-9_.-]+\*\([0-9]\)' | tr -d '*'); do
		name=${ref%(*} sec=${ref#*(}
		sec=${sec%)}
		case $name in safelockctl|safelockd) [ -f "$src/$name.$sec.scd" ] && continue ;; esac
		command -v man >/dev/null && man -w "$sec" "$name" >/dev/null 2>&1 && continue
		grep -qF "$ref:" <<<"$known_pages" || missing="$missing $page.8:$ref"
	done
done
[ -z "$missing" ]
ok $? "SEE ALSO: every page named exists (man -w, or a known Debian page)" "unknown:$missing"

if [ -f "$tmp/safelockctl.txt" ]; then
	missing=
	while read -r cmd; do
		grep -q "^       $cmd" "$tmp/safelockctl.txt" || missing="$missing [$cmd]"
	done < <(commands)
	[ -z "$missing" ]
	ok $? "safelockctl.8: every command of --help has its entry" "missing:$missing"
	missing=
	for o in $(for c in "user add" "policy set" "audit show" "audit export" doctor wipe recover monitor; do
		"$dir/safelockctl/safelockctl" $c --help; done | grep -oE -- '--[a-z0-9-]+' | sort -u); do
		grep -qE -- "\*[^*]*$o([^a-z0-9-][^*]*)?\*" "$src/safelockctl.8.scd" || missing="$missing $o"
	done
	[ -z "$missing" ]
	ok $? "safelockctl.8: every command option is documented" "missing:$missing"
	# the exit status table: the same codes and words as --help
	"$dir/safelockctl/safelockctl" --help | awk '/^Exit status:/{on=1; next} /^$/{on=0} on {print $1}' >"$tmp/codes-help"
	grep -oE '^\|? *\*[0-9]+\*$|^\[\[ \*[0-9]+\*$' "$src/safelockctl.8.scd" | grep -oE '[0-9]+' >"$tmp/codes-man"
	diff "$tmp/codes-help" "$tmp/codes-man" >"$tmp/codes.diff"
	ok $? "safelockctl.8: the exit status table lists the codes of --help, in order" "$(cat "$tmp/codes.diff")"
	man_words=$(awk '/^EXIT STATUS/{on=1; next} /^[A-Z]/{on=0} on' "$tmp/safelockctl.txt" | tr -s ' \n│' ' ')
	missing=
	while read -r code words; do
		w=$(echo "$words" | cut -d' ' -f1-3)
		[[ $man_words == *"$w"* ]] || missing="$missing [$code: $w]"
	done < <("$dir/safelockctl/safelockctl" --help | awk '/^Exit status:/{on=1; next} /^$/{on=0} on')
	[ -z "$missing" ]
	ok $? "safelockctl.8: each exit status says what --help says" "missing:$missing"
else
	for t in commands options "exit codes" "exit words"; do skip "safelockctl.8: $t" "not rendered"; done
fi
[ "$failed" -eq 0 ]
