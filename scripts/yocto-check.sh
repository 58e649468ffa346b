#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Yocto layer (meta-safelock/) without bitbake: build and install exactly
# as its recipes would, and check that what lands in ${D} is what they package.
#
#   scripts/yocto-check.sh            TAP on stdout, exit 1 on any "not ok"
#
#   - layer.conf and the recipes, read the way bitbake reads them at the
#     shallow level: every variable has a value, LAYERSERIES_COMPAT, BBFILES
#     finds every recipe, local SRC_URI files exist, LIC_FILES_CHKSUM md5s
#     match the tree (computed as insane.bbclass does);
#   - safelock-mod: module.bbclass's do_compile and do_install, reproduced
#     below, against the cached 6.12 test kernel (KERNEL_SRC = its source,
#     O = its build tree, as STAGING_KERNEL_DIR/STAGING_KERNEL_BUILDDIR) and
#     against Debian's linux-headers (KERNEL_SRC only, no O=);
#   - safelock-tools: the recipe's own do_compile/do_install bodies, run with
#     bitbake-style CC/CFLAGS/LDFLAGS/PKG_CONFIG and an oe_runmake, then the
#     installed files against the recipe's FILES:${PN}, and the unit against
#     `systemd-analyze verify`;
#   - safelock-dt: the overlay through devicetree.bbclass's cpp + dtc steps;
#   - packagegroup-safelock: every runtime dependency is produced here.
#
# Sources are copied (git ls-files + untracked, without build products) to a
# temporary directory, the way do_unpack gives a recipe its own tree; nothing
# is built in the checkout.  SAFELOCK_KERNEL_SERIES (default 6.12) picks the
# cached test kernel; SAFELOCK_YOCTO_KEEP=1 keeps the work directory.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LAYER=$TOP/meta-safelock
SERIES=${SAFELOCK_KERNEL_SERIES:-6.12}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/safelock-yocto.XXXXXX")
# SAFELOCK_YOCTO_KEEP=1 keeps the work directory (logs, images) for a look.
trap 'if [ -n "${SAFELOCK_YOCTO_KEEP:-}" ]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi' EXIT
N=0 FAILS=0

ok() { N=$((N + 1)); echo "ok $N - yocto: $1"; }
notok() {
	N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - yocto: $1"
	if [ -n "${2:-}" ] && [ -s "$2" ]; then tail -n 20 "$2" | sed 's/^/#   /'; fi
}
skip() { N=$((N + 1)); echo "ok $N - yocto: $1 # SKIP $2"; }
# check NAME LOG CMD...: one test from one command
check() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then ok "$name"; else notok "$name" "$log"; fi
}

# ---------------------------------------------------------------------------
# A shallow BitBake reader: assignments (= ?= ??= := += =+ .= =. and
# :append/:prepend/:remove overrides), continuation lines, inherit, require,
# shell functions.  ${VAR} expands from what was read plus the defaults below;
# ${@...} is left alone.  Enough for these recipes, not a bitbake.
cat >"$WORK/bb.py" <<'PY'
import fnmatch, glob, hashlib, os, re, sys

DEFAULTS = {  # bitbake.conf values for a non-usrmerge target
    "prefix": "/usr", "exec_prefix": "/usr", "base_prefix": "",
    "bindir": "${exec_prefix}/bin", "sbindir": "${exec_prefix}/sbin",
    "libdir": "${exec_prefix}/lib", "includedir": "${exec_prefix}/include",
    "datadir": "${prefix}/share", "sysconfdir": "/etc",
    "mandir": "${datadir}/man",
    "nonarch_base_libdir": "${base_prefix}/lib",
    "nonarch_libdir": "${exec_prefix}/lib",
    "systemd_unitdir": "${nonarch_base_libdir}/systemd",
    "systemd_system_unitdir": "${nonarch_base_libdir}/systemd/system",
}

ASSIGN = re.compile(r'^(export\s+)?([A-Za-z0-9_\-${}.:+/@]+?)(\[[^\]]+\])?\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*"(.*)"\s*$', re.S)

def logical_lines(path):
    buf = ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if buf == "" and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        yield buf
        buf = ""
    if buf:
        yield buf

def expand(val, vs, depth=0):
    if depth > 20:
        return val
    def rep(m):
        k = m.group(1)
        v = vs.get(k, DEFAULTS.get(k))
        return m.group(0) if v is None else expand(v, vs, depth + 1)
    return re.sub(r"\$\{([A-Za-z0-9_\-]+)\}", rep, val)

class Recipe:
    def __init__(self, path, bbpath=(), variables=None):
        self.path, self.vars, self.ops, self.inherits, self.funcs = path, dict(variables or {}), [], [], {}
        self.errors, self.requires = [], []
        self.bbpath = list(bbpath)
        self.read(path)

    def read(self, path):
        lines = list(logical_lines(path))
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            i += 1
            if not line:
                continue
            m = re.match(r"^(python\s+)?([A-Za-z0-9_\-:${}]+)\s*\(\)\s*\{\s*$", line)
            if m:
                body = []
                while i < len(lines) and lines[i].rstrip() != "}":
                    body.append(lines[i]); i += 1
                i += 1
                self.funcs[m.group(2)] = "\n".join(body)
                continue
            if line.startswith("inherit "):
                self.inherits += line.split()[1:]
                continue
            if line.startswith(("require ", "include ")):
                fn = line.split(None, 1)[1]
                found = None
                for d in [os.path.dirname(path)] + self.bbpath:
                    if os.path.exists(os.path.join(d, fn)):
                        found = os.path.join(d, fn); break
                if found:
                    self.requires.append(found)
                    self.read(found)
                elif line.startswith("require "):
                    self.errors.append("%s: require %s: not found" % (path, fn))
                continue
            if re.match(r"^(addtask|deltask|EXPORT_FUNCTIONS|addhandler|BBCLASSEXTEND)\b", line):
                continue
            m = ASSIGN.match(line)
            if not m:
                self.errors.append("%s: cannot parse: %s" % (path, line[:80]))
                continue
            name, flag, op, val = m.group(2), m.group(3), m.group(4), m.group(5)
            if val.count('"') % 2:
                self.errors.append("%s: unbalanced quotes: %s" % (path, line[:80]))
            self.ops.append((name, op, val))
            if flag:
                continue
            base, _, ovr = name.partition(":")
            if ovr.startswith(("append", "prepend", "remove")) and ":" not in ovr:
                cur = self.vars.get(base, "")
                self.vars[base] = cur + val if ovr == "append" else (val + cur if ovr == "prepend" else cur)
                continue
            if ovr and not ovr.startswith("${PN}") and ":" not in ovr and ovr not in ("append", "prepend", "remove"):
                key = name                          # a machine/override-specific value: keep apart
            else:
                key = name
            cur = self.vars.get(key)
            if op in ("=", ":="):
                self.vars[key] = expand(val, self.vars) if op == ":=" else val
            elif op == "?=":
                self.vars.setdefault(key, val)
            elif op == "??=":
                self.vars.setdefault(key, val)
            elif op == "+=":
                self.vars[key] = (cur + " " + val) if cur else val
            elif op == "=+":
                self.vars[key] = (val + " " + cur) if cur else val
            elif op == ".=":
                self.vars[key] = (cur or "") + val
            elif op == "=.":
                self.vars[key] = val + (cur or "")

    def get(self, name, extra=None):
        vs = dict(self.vars); vs.update(extra or {})
        v = vs.get(name)
        return None if v is None else expand(v, vs)

def pn_of(path):
    return os.path.basename(path).rsplit(".", 1)[0].split("_")[0]

def layer_recipes(layer):
    return sorted(glob.glob(os.path.join(layer, "recipes-*", "*", "*.bb")))

def load(layer, path):
    pn = pn_of(path)
    return Recipe(path, bbpath=[layer], variables={"PN": pn, "BPN": pn, "PV": "0.1", "BP": pn + "-0.1"})

def cmd_layerconf(layer):
    conf = os.path.join(layer, "conf", "layer.conf")
    r = Recipe(conf, variables={"LAYERDIR": layer})
    bad = list(r.errors)
    for name, op, val in r.ops:
        if not val.strip():
            bad.append("%s has no value" % name)
    cols = (r.get("BBFILE_COLLECTIONS") or "").split()
    if not cols:
        bad.append("BBFILE_COLLECTIONS is empty")
    for c in cols:
        for v in ("BBFILE_PATTERN_", "BBFILE_PRIORITY_", "LAYERSERIES_COMPAT_", "LAYERDEPENDS_"):
            if not r.get(v + c):
                bad.append("%s%s missing" % (v, c))
        pat = r.get("BBFILE_PATTERN_" + c) or ""
        try:
            rx = re.compile(pat)
        except re.error as e:
            bad.append("BBFILE_PATTERN_%s: %s" % (c, e)); rx = None
        compat = (r.get("LAYERSERIES_COMPAT_" + c) or "").split()
        for rel in ("scarthgap", "wrynose"):
            if rel not in compat:
                bad.append("LAYERSERIES_COMPAT_%s lacks %s" % (c, rel))
        try:
            int(r.get("BBFILE_PRIORITY_" + c) or "x")
        except ValueError:
            bad.append("BBFILE_PRIORITY_%s is not a number" % c)
    if layer not in (r.get("BBPATH") or "").replace(":", " ").split():
        bad.append("BBPATH does not contain the layer")
    found = set()
    for g in (r.get("BBFILES") or "").split():
        found |= {p for p in glob.glob(g) if p.endswith(".bb")}
    every = {p for p in glob.glob(os.path.join(layer, "**", "*.bb"), recursive=True)}
    for p in sorted(every - found):
        bad.append("BBFILES does not find %s" % os.path.relpath(p, layer))
    for p in sorted(found):
        if cols and rx and not rx.match(p):
            bad.append("BBFILE_PATTERN does not match %s" % p)
    print("collections: %s; compat: %s; depends: %s; recipes: %d" % (
        " ".join(cols), r.get("LAYERSERIES_COMPAT_" + cols[0]) if cols else "-",
        r.get("LAYERDEPENDS_" + cols[0]) if cols else "-", len(found)))
    for b in bad:
        print("error:", b)
    return 1 if bad else 0

def cmd_recipes(layer, tree):
    bad = []
    for path in layer_recipes(layer):
        r = load(layer, path)
        rel = os.path.relpath(path, layer)
        bad += r.errors
        for v in ("SUMMARY", "LICENSE"):
            if not r.get(v) and not (v == "LICENSE" and "packagegroup" in r.inherits):
                bad.append("%s: %s is empty" % (rel, v))
        # local SRC_URI files, searched the way FILESPATH does by default
        pn = pn_of(path)
        d = os.path.dirname(path)
        for u in (r.get("SRC_URI") or "").split():
            if u.startswith("file://"):
                f = u[7:].split(";")[0]
                cands = [os.path.join(d, s, f) for s in (pn + "-0.1", pn, "files")]
                if not any(os.path.exists(c) for c in cands):
                    bad.append("%s: SRC_URI %s: no such file in %s/{%s-0.1,%s,files}" % (rel, f, os.path.relpath(d, layer), pn, pn))
        # LIC_FILES_CHKSUM, relative to S = the source tree; md5 as insane.bbclass computes it
        for u in (r.get("LIC_FILES_CHKSUM") or "").split():
            if not u.startswith("file://"):
                bad.append("%s: LIC_FILES_CHKSUM %s is not file://" % (rel, u)); continue
            parts = u[7:].split(";")
            parm = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            if "${" in parts[0]:
                continue                         # COMMON_LICENSE_DIR and friends
            f = os.path.join(tree, parts[0])
            if not os.path.exists(f):
                bad.append("%s: LIC_FILES_CHKSUM file %s missing" % (rel, parts[0])); continue
            b, e = int(parm.get("beginline", 0)), int(parm.get("endline", 0))
            m = hashlib.md5()
            with open(f, "rb") as fh:
                for n, line in enumerate(fh, 1):
                    if (not b and not e) or (n >= b and (not e or n <= e)):
                        m.update(line)
            if m.hexdigest() != parm.get("md5"):
                bad.append("%s: LIC_FILES_CHKSUM %s: md5 is %s, recipe says %s" % (rel, parts[0], m.hexdigest(), parm.get("md5")))
        print("%s: PN %s, inherits %s" % (rel, pn, " ".join(r.inherits) or "-"))
    for b in bad:
        print("error:", b)
    return 1 if bad else 0

def find(layer, pn):
    for p in layer_recipes(layer):
        if pn_of(p) == pn:
            return load(layer, p)
    sys.exit("no recipe %s" % pn)

def cmd_get(layer, pn, var):
    v = find(layer, pn).get(var)
    print(v if v is not None else "")

def cmd_func(layer, pn, fn):
    print(find(layer, pn).funcs.get(fn, ""))

def cmd_inherits(layer, pn):
    print(" ".join(find(layer, pn).inherits))

def cmd_files(layer, pn, destdir, *pkgvars):
    """every file in destdir must fall under one pattern of the FILES:<pkg> given"""
    r = find(layer, pn)
    pats = []
    for pkgvar in pkgvars:
        p = (r.get(pkgvar.replace("${PN}", pn)) or r.get(pkgvar) or "").split()
        if not p:
            print("error: %s is empty" % pkgvar); return 1
        pats += p
    bad = 0
    for root, _, files in os.walk(destdir):
        for f in files:
            p = "/" + os.path.relpath(os.path.join(root, f), destdir)
            hit = [q for q in pats if fnmatch.fnmatch(p, q) or p.startswith(q.rstrip("/") + "/")]
            print("%s %s" % (p, "<- " + hit[0] if hit else "NOT PACKAGED"))
            bad += not hit
            seen = True
    if not locals().get("seen"):
        print("error: nothing installed in %s" % destdir); return 1
    return 1 if bad else 0

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit(globals()["cmd_" + cmd](*args) or 0)
PY
bb() { local c=$1; shift; python3 "$WORK/bb.py" "$c" "$LAYER" "$@"; }

# ---------------------------------------------------------------------------
# The source tree, as do_unpack would give it: tracked and untracked files,
# no build products (.gitignore), no layer.
SRC=$WORK/src
mkdir -p "$SRC"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard -- . ':!meta-safelock' |
	xargs -0 cp --parents -t "$SRC" 2>/dev/null)

# --- the layer, read ---------------------------------------------------------
check "layer.conf: every variable set, collection, LAYERSERIES_COMPAT scarthgap+wrynose, BBFILES finds every recipe" \
	"$WORK/layer.log" bb layerconf
check "recipes parse; local SRC_URI files exist; LIC_FILES_CHKSUM md5s match the tree" \
	"$WORK/recipes.log" bb recipes "$SRC"

recipe_has() {	# PN: what the issue asks of each recipe
	local inh
	inh=" $(bb inherits safelock-mod) "
	[[ $inh == *" module "* ]] || { echo "safelock-mod: no inherit module"; return 1; }
	[ "$(bb get safelock-mod MAKE_TARGETS)" = modules ] || { echo "safelock-mod: MAKE_TARGETS is not 'modules'"; return 1; }
	[[ " $(bb get safelock-mod KERNEL_MODULE_AUTOLOAD) " == *" safelock "* ]] || { echo "safelock-mod: no KERNEL_MODULE_AUTOLOAD"; return 1; }
	inh=" $(bb inherits safelock-tools) "
	[[ $inh == *" pkgconfig "* && $inh == *" systemd "* ]] || { echo "safelock-tools: inherit pkgconfig systemd"; return 1; }
	local dep
	for dep in libnl kmod tpm2-tss; do
		[[ " $(bb get safelock-tools DEPENDS) " == *" $dep "* ]] || { echo "safelock-tools: DEPENDS lacks $dep"; return 1; }
	done
	[ "$(bb get safelock-tools 'SYSTEMD_SERVICE:${PN}')" = safelockd.service ] || { echo "safelock-tools: SYSTEMD_SERVICE"; return 1; }
	[[ " $(bb get safelock-tools 'RDEPENDS:${PN}') " == *" libtss2-tcti-device "* ]] || { echo "safelock-tools: no RDEPENDS on the dlopen()ed TCTI"; return 1; }
	[[ " $(bb inherits safelock-dt) " == *" devicetree "* ]] || { echo "safelock-dt: no inherit devicetree"; return 1; }
	[[ " $(bb inherits packagegroup-safelock) " == *" packagegroup "* ]] || { echo "packagegroup-safelock: no inherit packagegroup"; return 1; }
	echo "all present"
}
check "recipes: inherit module + MAKE_TARGETS + KERNEL_MODULE_AUTOLOAD; pkgconfig systemd + DEPENDS + SYSTEMD_SERVICE; devicetree; packagegroup" \
	"$WORK/has.log" recipe_has

# --- safelock-mod: module.bbclass ------------------------------------------
# module.bbclass (openembedded-core meta/classes-recipe/module.bbclass,
# module-base.bbclass, kernel-arch.bbclass), as of 2025: tasks run in ${B}
# (= ${S}) with ARCH, CROSS_COMPILE, KBUILD_OUTPUT, KERNEL_VERSION exported,
# EXTRA_OEMAKE = "KERNEL_SRC=${STAGING_KERNEL_DIR}", and the target's
# CFLAGS/LDFLAGS in the environment until the class unsets them.
# $1 log, $2 source copy (= S = B), $3 STAGING_KERNEL_DIR, $4 STAGING_KERNEL_BUILDDIR ("" = none), $5 D
module_bbclass() {
	local log=$1 S=$2 KSRC=$3 KBUILD=$4 D=$5 KVER kcc
	KVER=$(cat "${KBUILD:-$KSRC}/include/config/kernel.release") || return 1
	kcc="gcc -fuse-ld=bfd -fdebug-prefix-map=$KSRC=/usr/src/kernel${KBUILD:+ -fdebug-prefix-map=$KBUILD=/usr/src/kernel}"
	(
		set -e
		cd "$S"
		export ARCH=x86 CROSS_COMPILE= KERNEL_VERSION=$KVER
		[ -z "$KBUILD" ] || export KBUILD_OUTPUT=$KBUILD
		export CFLAGS="-O2 -pipe -g" LDFLAGS="-Wl,-O1 -Wl,--as-needed" CPPFLAGS= CXXFLAGS=
		oe_runmake() { make -j"$(nproc)" KERNEL_SRC="$KSRC" "$@"; }
		# module_do_compile
		unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS
		oe_runmake KERNEL_PATH="$KSRC" KERNEL_VERSION="$KVER" \
			CC="$kcc" LD="ld.bfd" AR="ar" OBJCOPY="objcopy" STRIP="strip" \
			${KBUILD:+O=$KBUILD} KBUILD_EXTRA_SYMBOLS="" \
			"$(bb get safelock-mod MAKE_TARGETS)"
		# module_do_install
		oe_runmake DEPMOD=echo MODLIB="$D/lib/modules/$KVER" \
			INSTALL_FW_PATH="$D/lib/firmware" \
			CC="$kcc" LD="ld.bfd" OBJCOPY="objcopy" STRIP="strip" \
			${KBUILD:+O=$KBUILD} KBUILD_EXTRA_SYMBOLS="" modules_install
		install -Dm0644 "$S/Module.symvers" "$D/usr/include/safelock-mod/Module.symvers"
		sed -e "s:$S/::g" -i "$D/usr/include/safelock-mod/Module.symvers"
	) >"$log" 2>&1 || return 1
	echo "$KVER"
}

# What kernel-module-split and the -dev package take: the module under
# updates/ (or extra/ on old kernels), Module.symvers; nothing else, and no
# test-only module.
module_files() {
	local D=$1 KVER=$2 got want
	got=$(cd "$D" && find . -type f | sed 's|^\./||' | sort)
	echo "$got"
	for f in safelock_testboard.ko safelock_fsm_kunit.ko; do
		if grep -q "$f" <<<"$got"; then echo "test module $f installed"; return 1; fi
	done
	want="lib/modules/$KVER/updates/safelock.ko"
	grep -qx "lib/modules/$KVER/extra/safelock.ko" <<<"$got" && want="lib/modules/$KVER/extra/safelock.ko"
	want=$(printf '%s\nusr/include/safelock-mod/Module.symvers\n' "$want" | sort)
	[ "$got" = "$want" ] || { echo "expected:"; echo "$want"; return 1; }
	grep -q "safelock" "$D/usr/include/safelock-mod/Module.symvers" || [ ! -s "$D/usr/include/safelock-mod/Module.symvers" ]
}

module_case() {	# $1 label, $2 KERNEL_SRC, $3 O ("" = none)
	local label=$1 S=$WORK/mod-$1 D=$WORK/image-mod-$1 kver
	cp -a "$SRC" "$S"
	if kver=$(module_bbclass "$WORK/mod-$label.log" "$S" "$2" "$3" "$D"); then
		ok "safelock-mod ($label): module.bbclass do_compile + do_install (KERNEL_SRC=$2${3:+ O=$3})"
		check "safelock-mod ($label): \${D} holds lib/modules/$kver/updates/safelock.ko + Module.symvers, no test module" \
			"$WORK/modfiles-$label.log" module_files "$D" "$kver"
	else
		notok "safelock-mod ($label): module.bbclass do_compile + do_install" "$WORK/mod-$label.log"
		notok "safelock-mod ($label): installed files (not built)"
	fi
}

KBUILD=$("$TOP/scripts/kernels.sh" path "$SERIES" 2>/dev/null || true)
if [ -n "$KBUILD" ] && [ -f "$KBUILD/include/config/kernel.release" ] && [ -L "$KBUILD/source" ]; then
	module_case "$SERIES" "$(readlink -f "$KBUILD/source")" "$KBUILD"
else
	skip "safelock-mod ($SERIES): module.bbclass build" "test kernel $SERIES not built (scripts/kernels.sh build $SERIES)"
	skip "safelock-mod ($SERIES): installed files" "test kernel $SERIES not built"
fi
HDRPKG=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null | sed 's/[ ,].*//')
if [ -n "$HDRPKG" ] && [ -d "/usr/src/$HDRPKG" ]; then
	module_case debian-headers "/usr/src/$HDRPKG" ""
else
	skip "safelock-mod (debian-headers): module.bbclass build" "linux-headers-amd64 not installed"
	skip "safelock-mod (debian-headers): installed files" "linux-headers-amd64 not installed"
fi

# --- safelock-tools: the recipe's own tasks ---------------------------------
# bitbake runs do_compile/do_install in ${B} (= ${S}) under `set -e`, with
# the target toolchain exported (CC with --sysroot, security flags) and
# oe_runmake = ${MAKE} ${EXTRA_OEMAKE} "$@".  Local SRC_URI files are in
# ${SAFELOCK_UNPACKDIR} (do_unpack copies them there).
TS=$WORK/tools-src TD=$WORK/image-tools TU=$WORK/unpack
cp -a "$SRC" "$TS"
mkdir -p "$TU" "$TD"
# local SRC_URI files (none today: the unit comes from the tree)
if [ -d "$LAYER"/recipes-security/safelock/files ]; then
	cp "$LAYER"/recipes-security/safelock/files/* "$TU"/
fi
{
	echo 'set -e'
	printf 'S=%q B=%q D=%q SAFELOCK_UNPACKDIR=%q UNPACKDIR=%q WORKDIR=%q\n' "$TS" "$TS" "$TD" "$TU" "$TU" "$WORK"
	echo 'prefix=/usr exec_prefix=/usr bindir=/usr/bin sbindir=/usr/sbin sysconfdir=/etc datadir=/usr/share mandir=/usr/share/man'
	echo 'nonarch_base_libdir=/lib nonarch_libdir=/usr/lib systemd_system_unitdir=/lib/systemd/system systemd_unitdir=/lib/systemd'
	echo 'export CC="gcc --sysroot=/" AR=ar PKG_CONFIG=pkg-config'
	echo 'export CFLAGS="-O2 -pipe -g -feliminate-unused-debug-types -fstack-protector-strong -O2 -D_FORTIFY_SOURCE=2 -Wformat -Wformat-security -Werror=format-security"'
	echo 'export LDFLAGS="-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed -fstack-protector-strong -Wl,-z,relro,-z,now"'
	printf 'oe_runmake() { make -j%s %s "$@"; }\n' "$(nproc)" "$(bb get safelock-tools EXTRA_OEMAKE)"
	echo 'cd "$B"'
	echo 'echo "## do_compile"'
	bb func safelock-tools do_compile
	echo 'echo "## do_install"'
	bb func safelock-tools do_install
} >"$WORK/tools-tasks.sh"
if bash "$WORK/tools-tasks.sh" >"$WORK/tools.log" 2>&1; then
	ok "safelock-tools: recipe do_compile + do_install (CC=\"gcc --sysroot=/\", target CFLAGS/LDFLAGS, PKG_CONFIG)"
	check "safelock-tools: every file in \${D} is in FILES:\${PN}, -doc or -bash-completion (nothing unpackaged)" \
		"$WORK/toolsfiles.log" bb files safelock-tools "$TD" 'FILES:${PN}' 'FILES:${PN}-doc' \
		'FILES:${PN}-bash-completion'
	tools_required() {
		local f rc=0
		for f in usr/sbin/safelockd usr/bin/safelockctl lib/systemd/system/safelockd.service; do
			if [ -f "$TD/$f" ]; then echo "present: $f"; else echo "missing: $f"; rc=1; fi
		done
		[ -x "$TD/usr/sbin/safelockd" ] && [ -x "$TD/usr/bin/safelockctl" ] || rc=1
		"$TD/usr/bin/safelockctl" --version || rc=1
		return $rc
	}
	check "safelock-tools: safelockd in /usr/sbin, safelockctl in /usr/bin, the unit in \${systemd_system_unitdir}" \
		"$WORK/toolsreq.log" tools_required
	unit_verify() {
		# verify the unit as installed, with ExecStart pointing into ${D}
		# (the host has no /usr/sbin/safelockd); any output is a finding.
		local u=$WORK/unit/safelockd.service out
		mkdir -p "$WORK/unit"
		sed "s|^ExecStart=/usr/sbin/|ExecStart=$TD/usr/sbin/|" "$TD/lib/systemd/system/safelockd.service" >"$u"
		out=$(systemd-analyze verify "$u" 2>&1)
		echo "$out"
		[ -z "$out" ] || return 1
		grep -qx 'ExecStart=/usr/sbin/safelockd --foreground' "$TD/lib/systemd/system/safelockd.service"
	}
	if command -v systemd-analyze >/dev/null; then
		check "safelockd.service: systemd-analyze verify is silent" "$WORK/unit.log" unit_verify
	else
		skip "safelockd.service: systemd-analyze verify" "no systemd-analyze on this host"
	fi
else
	notok "safelock-tools: recipe do_compile + do_install" "$WORK/tools.log"
	notok "safelock-tools: installed files (not built)"
	notok "safelock-tools: required files (not built)"
	notok "safelockd.service: systemd-analyze verify (not built)"
fi

# --- safelock-dt: devicetree.bbclass ------------------------------------------
# devicetree_do_compile: a DT_FILES entry that does not end in .dts is built
# only when a line of the raw file starts with "/plugin/;"; then
# ${BUILD_CPP} ${DTC_PPFLAGS} -I<includes> and
# dtc ${DTC_FLAGS} ${DTC_OFLAGS} -i<includes> -o NAME.dtbo -I dts -O dtb;
# devicetree_do_install puts it in /boot/devicetree (FILES:${PN}).
dt_case() (
	f=$1 d=$WORK/dt
	name=${f##*/}; name=${name%.*}
	mkdir -p "$d/image" && cd "$d" || exit 1
	if [[ $f != *.dts ]] && ! grep -q '^/plugin/;' "$f"; then
		echo "$f: no line starting with /plugin/; -- devicetree.bbclass would skip it silently"
		exit 1
	fi
	ksrc=$(readlink -f "$KBUILD/source" 2>/dev/null || true)
	inc=("$(dirname "$f")")
	[ -z "$ksrc" ] || inc+=("$ksrc/arch/arm/boot/dts" "$ksrc/arch/arm/boot/dts/st" "$ksrc/scripts/dtc/include-prefixes")
	set -e
	cpp -nostdinc -undef -D__DTS__ -x assembler-with-cpp "${inc[@]/#/-I}" -o "$name.pp" "$f"
	dtc -R 8 -b 0 -p 0 -@ -H epapr "${inc[@]/#/-i}" -o "$name.dtbo" -I dts -O dtb "$name.pp"
	install -Dm 0644 "$name.dtbo" "image/boot/devicetree/$name.dtbo"
	# FILES:${PN} comes from devicetree.bbclass: /boot/devicetree/*.dtb *.dtbo
	got=$(cd image && find . -type f)
	echo "$got"
	[ "$got" = "./boot/devicetree/$name.dtbo" ]
)
DTFILES=$(bb get safelock-dt DT_FILES)
if [ -z "$(find "$SRC/dts" -maxdepth 1 \( -name '*.dts' -o -name '*.dtso' \) 2>/dev/null)" ]; then
	skip "safelock-dt: overlay through devicetree.bbclass" "no overlay in dts/ yet"
else
	for f in $DTFILES; do
		if [ ! -f "$SRC/dts/$f" ]; then
			echo "# dts/ holds: $(cd "$SRC/dts" && ls)" >"$WORK/dt.log"
			notok "safelock-dt: DT_FILES names dts/$f, which does not exist" "$WORK/dt.log"
		else
			check "safelock-dt: dts/$f builds as devicetree.bbclass does, lands in /boot/devicetree" \
				"$WORK/dt-$f.log" dt_case "$SRC/dts/$f"
		fi
	done
fi

# --- packagegroup-safelock ----------------------------------------------------
pg_resolves() {
	local dep rc=0 provided=" safelock-tools safelock-mod safelock-dt kernel-module-safelock $(bb get safelock-mod 'RPROVIDES:${PN}') "
	for dep in $(bb get packagegroup-safelock 'RDEPENDS:${PN}') $(bb get packagegroup-safelock 'RDEPENDS:${PN}:append:stm32mp15common'); do
		if [[ $provided == *" $dep "* ]]; then echo "$dep: from this layer"; else echo "$dep: nothing here provides it"; rc=1; fi
	done
	[ "$(bb get packagegroup-safelock PACKAGE_ARCH)" = '${MACHINE_ARCH}' ] ||
		{ echo "PACKAGE_ARCH must be MACHINE_ARCH (kernel-module-safelock is machine specific)"; rc=1; }
	return $rc
}
check "packagegroup-safelock: every RDEPENDS is built by this layer; MACHINE_ARCH" "$WORK/pg.log" pg_resolves

echo "1..$N"
[ "$FAILS" -eq 0 ]
