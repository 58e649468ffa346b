# SPDX-License-Identifier: GPL-2.0
# bash completion for safelockctl(8): commands, subcommands, options and
# their values. tools/tests/test_completion.sh checks it against --help.

_safelockctl_global="-d --device --socket -j --json --color -h --help -V --version"
_safelockctl_auth="--as --code-fd --as2 --code2-fd"

# The options of each command (besides the global ones).
_safelockctl_opts() {
	case $1 in
	monitor) echo "-n --count -t --timeout" ;;
	init) echo "--new-code-fd --shares" ;;
	recover) echo "--recovery-fd --new-code-fd --cancel --as --code-fd --shares" ;;
	"recovery split") echo "--as --code-fd --shares" ;;
	wipe) echo "--as --code-fd --recovery --recovery-fd -y --yes" ;;
	"user add") echo "$_safelockctl_auth --role --new-code-fd" ;;
	"user del"|"user list"|"user set-role") echo "$_safelockctl_auth" ;;
	"code change"|"duress set") echo "--as --code-fd --new-code-fd" ;;
	"duress clear") echo "--as --code-fd" ;;
	"policy set")
		echo "$_safelockctl_auth --time-delay --open-window --dual-control"
		echo "--dual-window --dual-admin --courier-override --relock --door-limit"
		echo "--recovery-delay --time-lock --lock --unlock --clear-schedule"
		echo "--holiday --no-holiday --clear-holidays --zone" ;;
	"time-lock now"|"fault clear"|"audit verify") echo "$_safelockctl_auth" ;;
	"audit show") echo "--audit-dir --since -n --count --user" ;;
	"audit export") echo "--audit-dir --since --user --format" ;;
	doctor) echo "--modules-dir --modprobe-dir" ;;
	esac
}

_safelockctl_subs() {
	case $1 in
	user) echo "add del list set-role" ;;
	recovery) echo "split" ;;
	code) echo "change" ;;
	duress) echo "set clear" ;;
	policy) echo "get set" ;;
	time-lock) echo "now" ;;
	fault) echo "clear" ;;
	audit) echo "show export verify" ;;
	esac
}

# Options that take a value (the next word).
_safelockctl_takes_arg() {
	case $1 in
	-d|--device|--socket|--color|-n|--count|-t|--timeout|--as|--as2|--code-fd|\
	--code2-fd|--new-code-fd|--recovery-fd|--role|--time-delay|--open-window|\
	--dual-control|--dual-window|--dual-admin|--courier-override|--relock|\
	--door-limit|--recovery-delay|--time-lock|--lock|--unlock|--holiday|\
	--no-holiday|--audit-dir|--since|--user|--format|--modules-dir|--modprobe-dir|\
	--shares)
		return 0 ;;
	esac
	return 1
}

_safelockctl() {
	local cur prev words=() i w cmd="" group="" nargs=0
	local commands="status monitor lock init recover recovery wipe user code duress policy time-lock fault audit doctor help"
	local roles="manager user auditor courier"

	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# the command so far, skipping options and their values
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			[[ $w != *=* ]] && _safelockctl_takes_arg "$w" && ((i++))
			continue
		fi
		if [ -z "$cmd" ]; then
			cmd=$w
			[ -n "$(_safelockctl_subs "$w")" ] && group=$w
		elif [ -n "$group" ] && [ "$cmd" = "$group" ]; then
			cmd="$group $w"
		else
			nargs=$((nargs + 1))
		fi
	done

	case $prev in
	-d|--device)
		COMPREPLY=($(compgen -f -- "${cur:-/dev/safelock}")); return ;;
	--socket)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--color)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	--role)
		COMPREPLY=($(compgen -W "$roles" -- "$cur")); return ;;
	--dual-control|--dual-admin|--courier-override|--time-lock)
		COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
	--door-limit)
		COMPREPLY=($(compgen -W "off" -- "$cur")); return ;;
	--relock)
		COMPREPLY=($(compgen -W "board" -- "$cur")); return ;;
	--format)
		COMPREPLY=($(compgen -W "json" -- "$cur")); return ;;
	--shares)
		COMPREPLY=($(compgen -W "2/3 3/5 1/1" -- "$cur")); return ;;
	--lock|--unlock)
		COMPREPLY=($(compgen -W "'mon-fri 18:00-08:00' 'sat,sun all' daily" -- "$cur")); return ;;
	--audit-dir|--modules-dir|--modprobe-dir)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	esac
	_safelockctl_takes_arg "$prev" && return

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_safelockctl_global $(_safelockctl_opts "$cmd")" -- "$cur"))
		return
	fi
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [ "$cmd" = "$group" ]; then
		COMPREPLY=($(compgen -W "$(_safelockctl_subs "$group")" -- "$cur"))
	elif [ "$cmd" = help ]; then
		if [ "$nargs" -eq 0 ]; then
			COMPREPLY=($(compgen -W "${commands% help}" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_safelockctl_subs "${COMP_WORDS[COMP_CWORD - 1]}")" -- "$cur"))
		fi
	elif [ "$cmd" = "user set-role" ] && [ "$nargs" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$roles" -- "$cur"))
	fi
}

complete -F _safelockctl safelockctl
