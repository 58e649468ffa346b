#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Ship audit records to a systemd-journal-remote listening on loopback, with
# systemd-journal-upload reading the Journal Export Format that
# lib/journal.c writes (what `safelockctl audit export --format=journal`
# prints), and check with journalctl that every record arrived, intact and
# in order. TAP; SKIP if the systemd tools or python3 are missing.
#
#   tests/test_journal_remote.sh [TOOLS_DIR]     (make -C tools test)
set -u

tools=${1:-$(cd "$(dirname "$0")/.." && pwd)}
feed=$tools/tests/audit_feed
remote=/lib/systemd/systemd-journal-remote
upload=/lib/systemd/systemd-journal-upload
N=200

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ -x "$remote" ] || skip "no $remote (Debian package systemd-journal-remote)"
[ -x "$upload" ] || skip "no $upload (Debian package systemd-journal-remote)"
command -v journalctl >/dev/null || skip "no journalctl"
command -v python3 >/dev/null || skip "no python3"
[ -x "$feed" ] || skip "no $feed: run make -C tools test"

echo "1..8"
t=0
fail=0
ok() {
	t=$((t + 1))
	if [ "$1" = 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; fail=1; fi
}

dir=$(mktemp -d /tmp/safelock-jremote-XXXXXX)
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

"$feed" "$dir/log" "$N" && "$feed" "$dir/log" export >"$dir/export" &&
	"$feed" "$dir/log" json >"$dir/expected.jsonl"
ok $? "audit log of $N events written and exported ($(wc -l <"$dir/expected.jsonl") records)"

# A free port: journal-remote exits at once if the one tried is taken.
listening=1
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 20000))
	"$remote" --listen-http="127.0.0.1:$port" --output="$dir/remote.journal" \
		--split-mode=none >"$dir/remote.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			listening=0
			break 2
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
done
ok $listening "systemd-journal-remote listens on 127.0.0.1:${port}"

"$upload" --url="http://127.0.0.1:$port" - <"$dir/export" >"$dir/upload.log" 2>&1
ok $? "systemd-journal-upload shipped the export stream"
[ $fail = 0 ] || sed 's/^/# /' "$dir/upload.log" "$dir/remote.log"

# Stop the receiver so the journal file is complete, then read it back.
if [ -n "$pid" ]; then
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
fi
journalctl --file "$dir/remote.journal" -o json >"$dir/got.jsonl" 2>"$dir/journalctl.err"
ok $? "journalctl reads the received journal"

python3 - "$dir/expected.jsonl" "$dir/got.jsonl" "$t" <<'EOF' || fail=1
import json, re, sys

exp = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
t = int(sys.argv[3])

failed = 0

def tap(ok, what, why=""):
    global t, failed
    t += 1
    failed += not ok
    print(("ok" if ok else "not ok"), t, "-", what)
    if not ok:
        print("#", why)

def text(v):
    # journalctl prints a field that is not plain text as an array of bytes
    return bytes(v).decode("utf-8") if isinstance(v, list) else v

idx = [int(g.get("SAFELOCK_INDEX", -1)) for g in got]
tap(len(got) == len(exp), "every record arrived (%d of %d)" % (len(got), len(exp)))
tap(idx == list(range(idx[0] if idx else 0, (idx[0] if idx else 0) + len(idx))) and
    idx == [e["index"] for e in exp][:len(idx)],
    "in order, no gaps (SAFELOCK_INDEX %s..%s)" % (idx[:1], idx[-1:]))

bad = []
ids = {}
for e, g in zip(exp, got):
    want = {
        "SAFELOCK_INDEX": str(e["index"]), "SAFELOCK_SEQ": str(e["kseq"]),
        "SAFELOCK_USER": str(e["user"]), "SAFELOCK_EVENT": e["event"],
        "SAFELOCK_STATE": e["state"], "SAFELOCK_RESULT": e["result"],
        "SAFELOCK_SOURCE": e["source"], "SAFELOCK_VALUE": str(e["value"]),
        "SYSLOG_IDENTIFIER": "safelockd",
        "__REALTIME_TIMESTAMP": str(e["real_ns"] // 1000),
    }
    if e["text"]:
        want["SAFELOCK_TEXT"] = e["text"]
    for k, v in want.items():
        if text(g.get(k)) != v:
            bad.append("record %d: %s is %r, want %r" % (e["index"], k, g.get(k), v))
    msg = text(g.get("MESSAGE", ""))
    if not msg or "\n" in msg or not re.fullmatch(r"[0-7]", g.get("PRIORITY", "")):
        bad.append("record %d: MESSAGE %r PRIORITY %r" % (e["index"], msg, g.get("PRIORITY")))
    mid = g.get("MESSAGE_ID", "")
    if not re.fullmatch(r"[0-9a-f]{32}", mid):
        bad.append("record %d: MESSAGE_ID %r" % (e["index"], mid))
    ids.setdefault((e["source"], e["event"]), set()).add(mid)
tap(not bad, "every field intact (text with newlines and UTF-8 too)", "; ".join(bad[:3]))
one = all(len(v) == 1 for v in ids.values())
distinct = len({next(iter(v)) for v in ids.values()}) == len(ids)
tap(one and distinct, "one fixed MESSAGE_ID per event type (%d types)" % len(ids))
sys.exit(1 if failed else 0)
EOF
exit $fail
