#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: checkpatch --strict and sparse on the kernel code, cppcheck on
# the tools.  Prints one TAP line per check; exits non-zero on any finding.
# checkpatch comes from the newest cached test-kernel source, sparse runs
# against the first test kernel (scripts/kernels.sh builds them).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
n=0 failed=0
result() {	# result OK|FAIL|SKIP NAME [REASON-OR-OUTPUT]
	n=$((n + 1))
	case $1 in
	OK) echo "ok $n - lint: $2" ;;
	SKIP) echo "ok $n - lint: $2 # SKIP $3" ;;
	*) echo "not ok $n - lint: $2"; failed=$((failed + 1))
	   printf '%s\n' "$3" | sed 's/^/# /' | head -n 60 ;;
	esac
}

KSRC=
for s in 7.3 6.12 6.1; do
	if t=$(scripts/kernels.sh path "$s" 2>/dev/null); then
		KSRC=$(readlink -f "$t/source")
		break
	fi
done

kernel_files=$(ls driver/*.c driver/*.h uapi/linux/*.h selftests/safelock/testboard.c)

if [ -z "$KSRC" ]; then
	result SKIP checkpatch "no test-kernel source yet (run scripts/kernels.sh build)"
else
	# shellcheck disable=SC2086
	out=$("$KSRC/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f $kernel_files 2>&1)
	if echo "$out" | grep -qE '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK)'; then
		result FAIL "checkpatch --strict" "$(echo "$out" | grep -E ': (ERROR|WARNING|CHECK)')"
	else
		result OK "checkpatch --strict"
	fi
	out=$("$KSRC/scripts/kernel-doc" -none uapi/linux/safelock.h 2>&1)
	if [ -n "$out" ]; then result FAIL "kernel-doc uapi/linux/safelock.h" "$out"
	else result OK "kernel-doc uapi/linux/safelock.h"; fi
fi

# The netlink spec must satisfy the kernel's own YNL schema.
if [ -z "$KSRC" ] || [ ! -f "$KSRC/Documentation/netlink/genetlink-c.yaml" ]; then
	result SKIP "netlink spec schema" "no kernel source with Documentation/netlink/genetlink-c.yaml"
else
	out=$(python3 - "$KSRC/Documentation/netlink/genetlink-c.yaml" \
		Documentation/netlink/specs/safelock.yaml 2>&1 <<'PY'
import sys, yaml, jsonschema
schema = yaml.safe_load(open(sys.argv[1]))
spec = yaml.safe_load(open(sys.argv[2]))
jsonschema.validate(spec, schema)
PY
)
	if [ $? -ne 0 ]; then result FAIL "netlink spec schema (genetlink-c)" "$out"
	else result OK "netlink spec schema (genetlink-c)"; fi
fi

# The header and the spec must agree: generate the UAPI header from the spec
# with the kernel's own YNL generator and compare every constant's value.
ynl_compare() {
	local t names n
	t=$(mktemp -d)
	mkdir -p "$t/specs"
	cp Documentation/netlink/specs/safelock.yaml "$t/specs/"
	cp "$KSRC"/Documentation/netlink/genetlink*.yaml "$t/"
	touch "$t/MAINTAINERS"	# the generator looks for one above the spec
	(cd "$t" && timeout 120 python3 "$KSRC/tools/net/ynl/pyynl/ynl_gen_c.py" --mode uapi \
		--header --spec "$t/specs/safelock.yaml" -o "$t/gen.h") || { rm -rf "$t"; return 1; }
	names=$(grep -oE '\bSAFELOCK_[A-Z0-9_]+' "$t/gen.h" | grep -v '_H$' | sort -u)
	{
		echo '#include <stdio.h>'
		echo '#include HDR'
		echo 'static void ps(const char *k, const char *v) { printf("%s %s\n", k, v); }'
		echo 'static void pi(const char *k, long long v) { printf("%s %lld\n", k, v); }'
		echo '#define P(n) _Generic((n), char *: ps, const char *: ps, default: pi)(#n, n)'
		echo 'int main(void) {'
		for n in $names; do echo "P($n);"; done
		echo 'return 0; }'
	} >"$t/cmp.c"
	gcc -DHDR="\"$t/gen.h\"" -o "$t/spec" "$t/cmp.c" &&
		gcc -DHDR="\"$TOP/uapi/linux/safelock.h\"" -o "$t/ours" "$t/cmp.c" &&
		"$t/spec" >"$t/spec.txt" && "$t/ours" >"$t/ours.txt" &&
		diff "$t/spec.txt" "$t/ours.txt" && echo "$(wc -l <"$t/ours.txt") constants agree"
	local rc=$?
	rm -rf "$t"
	return $rc
}
if [ -z "$KSRC" ] || [ ! -f "$KSRC/tools/net/ynl/pyynl/ynl_gen_c.py" ]; then
	result SKIP "netlink spec matches uapi header" "no kernel source with tools/net/ynl/pyynl (7.3)"
elif out=$(ynl_compare 2>&1); then
	result OK "netlink spec matches uapi header ($out)"
else
	result FAIL "netlink spec matches uapi header" "$out"
fi

if ! command -v sparse >/dev/null; then
	result SKIP sparse "sparse not installed"
elif ! ktree=$(scripts/kernels.sh path "$(scripts/kernels.sh list | awk '{print $1}')" 2>/dev/null); then
	result SKIP sparse "no test kernel built yet"
else
	tmp=$(mktemp -d)
	out=$(scripts/build-for.sh "$ktree" "$tmp" C=2 2>&1)
	rc=$?
	rm -rf "$tmp"
	if [ $rc -ne 0 ] || echo "$out" | grep -qE 'warning:|error:'; then
		result FAIL "sparse (C=2) and W=1" "$(echo "$out" | grep -E 'warning:|error:|Error')"
	else
		result OK "sparse (C=2) and W=1"
	fi
fi

if ! command -v cppcheck >/dev/null; then
	result SKIP cppcheck "cppcheck not installed"
else
	out=$(cppcheck -q --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr -I uapi -I tools/lib tools scripts/demo scripts/bench 2>&1)
	if [ $? -ne 0 ] || [ -n "$out" ]; then result FAIL "cppcheck tools/" "$out"
	else result OK "cppcheck tools/"; fi
fi

# The reStructuredText documentation parses without a warning (docutils;
# the Sphinx-only directives toctree and kernel-doc are taken as given), and
# no merge left a conflict marker anywhere in the tree.
if ! python3 -c 'import docutils' 2>/dev/null; then
	result SKIP "Documentation/ reStructuredText" "python3-docutils not installed"
else
	out=$(python3 - $(git ls-files 'Documentation/*.rst' 2>/dev/null || find Documentation -name '*.rst') 2>&1 <<'PY'
import sys
import docutils.core
from docutils.parsers.rst import Directive, directives

class Given(Directive):
    """A Sphinx directive: its content is not ours to check."""
    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = None

    def run(self):
        return []

Given.option_spec = type('AnyOption', (dict,), {'__missing__': lambda self, k: directives.unchanged})()
for name in ('toctree', 'kernel-doc'):
    directives.register_directive(name, Given)
for path in sys.argv[1:]:
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        docutils.core.publish_doctree(text, source_path=path, settings_overrides={
            'report_level': 2, 'halt_level': 5, 'warning_stream': sys.stdout})
    except Exception as e:  # noqa: BLE001 - any failure is a finding
        print(f'{path}: {e}')
PY
)
	if [ -n "$out" ]; then result FAIL "Documentation/ reStructuredText (docutils)" "$out"
	else result OK "Documentation/ reStructuredText (docutils)"; fi
fi
out=$(git grep -nE '^(<<<<<<<|>>>>>>>)( |$)' 2>&1)
if [ -n "$out" ]; then result FAIL "no merge conflict markers" "$out"
else result OK "no merge conflict markers"; fi

out=$(grep -rn --include='*.c' -E '\bsystem[[:space:]]*\(' tools scripts selftests 2>&1)
if [ -n "$out" ]; then result FAIL "no system() in userspace" "$out"
else result OK "no system() in userspace"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
