#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The bash completion of safelockctl: source it, complete command lines
# the way bash does (COMP_WORDS, COMP_CWORD), check COMPREPLY; and check
# that it offers every command and every option that --help lists.
#
# Usage: test_completion.sh TOOLS_DIR
set -u
dir=${1:-.}
ctl=$dir/safelockctl/safelockctl
n=0 failed=0

ok() {	# ok COND-STATUS NAME [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"
	else echo "not ok $n - $2"; failed=$((failed + 1)); [ -n "${3:-}" ] && echo "# $3"; fi
}

# shellcheck source=../completion/safelockctl.bash
. "$dir/completion/safelockctl.bash"

# complete LINE: the sorted candidates for the last word of LINE (a
# trailing space starts a new, empty word)
complete_line() {
	local line=$1
	read -r -a COMP_WORDS <<<"$line"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_safelockctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

check() {	# check LINE WANT
	local got
	got=$(complete_line "$1")
	[ "$got" = "$2" ]
	ok $? "'$1' completes to '$2'" "got '$got'"
}

echo "1..17"
check "safelockctl us" "user"
check "safelockctl user " "add del list set-role"
check "safelockctl audit s" "show"
check "safelockctl --json user set-role 5 " "auditor courier manager user"
check "safelockctl user add 5 --r" "--role"
check "safelockctl user add 5 --role " "auditor courier manager user"
check "safelockctl --color " "always auto never"
check "safelockctl policy set --dual-control " "off on"
check "safelockctl policy set --relock " "board"
check "safelockctl -d /dev/null monitor --c" "--color --count"
check "safelockctl --as 1 user list --c" "--code-fd --code2-fd --color"
check "safelockctl help user " "add del list set-role"
check "safelockctl status --a" ""

# Everything --help lists, the completion offers.
cmds=$("$ctl" --help | awk '/^Commands:/{on=1; next} /^$/{on=0} on {print $1}' | sort -u | tr '\n' ' ')
got=$(complete_line "safelockctl ")
missing=
for c in $cmds; do [[ " $got " == *" $c "* ]] || missing="$missing $c"; done
[ -n "$cmds" ] && [ -z "$missing" ]
ok $? "every command of --help is completed" "missing:$missing"

missing=
while read -r group sub; do
	line="safelockctl $group${sub:+ $sub} --"
	got=$(complete_line "$line")
	for o in $("$ctl" $group $sub --help | awk '/^Options:/{on=1; next} /^$/{on=0} on' |
		grep -oE -- '--[a-z0-9-]+'); do
		[[ " $got " == *" $o "* ]] || missing="$missing [$group $sub] $o"
	done
done < <("$ctl" --help | awk '/^Commands:/{on=1; next} /^$/{on=0}
	on { lhs = substr($0, 3, 27); out = "";
	     n = split(lhs, w, " ");
	     for (i = 1; i <= n; i++) if (w[i] ~ /^[a-z-]+$/) out = out (out ? " " : "") w[i];
	     if (out != "help") print out }')
[ -z "$missing" ]
ok $? "every option of every command's --help is completed" "missing:$missing"

missing=
got=$(complete_line "safelockctl --")
for o in $("$ctl" --help | awk '/^Global options:/{on=1; next} /^$/{on=0} on' | grep -oE -- '--[a-z0-9-]+'); do
	[[ " $got " == *" $o "* ]] || missing="$missing $o"
done
[ -z "$missing" ]
ok $? "every global option is completed" "missing:$missing"

# and nothing that the command does not take
got=$(complete_line "safelockctl policy get --")
[[ " $got " != *" --as "* ]]
ok $? "'policy get' is not offered --as"
[ "$failed" -eq 0 ]
