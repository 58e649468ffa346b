#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
safelock: conformance of the live "safelock" generic netlink family with its
spec, Documentation/netlink/specs/safelock.yaml, through the kernel's own
YNL client (tools/net/ynl/pyynl: cli.py and its library) of a 7.3 tree.

Runs as root where safelock.ko can be loaded (the test VM: scripts/ynl-check.sh
puts it there).  It builds a simulated board (a gpio-sim bank, a uinput
keypad, safelock_testboard.ko) the way safelock_test.c does, then:

  - asks the kernel (nlctrl, through YNL and the kernel's nlctrl.yaml) which
    commands, flags and multicast groups the family registers, and the
    request policy of every command, and compares them with the spec;
  - runs every operation of the spec, as a CASES entry: status-get (do and
    dump), policy-get and a second verifier-register through cli.py, one
    invocation each (a python start costs about a second in the VM); the
    verifier's side (register, policy-set, the verify and entry-begin
    notifications, verdicts) through the YNL library, one socket kept open;
    every reply and notification must carry exactly the attributes the spec
    lists for it, decoded with the spec's types and enums;
  - listens to the "events" group from the start and checks every event;
    makes every event type of the spec happen (an immediate time lock, a
    jump of the wall clock, a time-delay override, and on the test board
    reloaded with a bolt sensor, confirmed moves of the bolt and a jam's
    fault) and fails if one was never seen;
  - hostile requests (a wrong attribute size, an attribute the command does
    not take, an unprivileged caller) fail with the kernel's extack;
  - self-check: mutated copies of the spec (a type, an operation's value,
    an enum's order, a range, a group's name) must fail the check that
    guards them, so a real drift cannot pass.

A spec operation or multicast group with no entry in CASES fails: a new
operation cannot be added without conformance coverage.  To cover one, write
a function case_<name>(ctx) and add it to CASES in the order of the scenario.

Output: TAP.  Entered codes are made up here and never printed.
"""

import argparse
import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import queue
import random
import select
import struct
import subprocess
import sys
import time
import traceback

import yaml

# Filled in by load_ynl() from the 7.3 tree's tools/net/ynl/pyynl.
YnlFamily = SpecFamily = NlError = YnlException = None

HERE = os.path.dirname(os.path.abspath(__file__))

# ------------------------------------------------------------------ TAP

class Failure(Exception):
    """A check failed; the message says what was expected and what came."""


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Tap:
    def __init__(self, planned):
        self.n = 0
        self.failed = 0
        print('TAP version 13')
        print(f'1..{planned}', flush=True)

    def result(self, ok, name, diag=None, skip=None):
        self.n += 1
        line = f'{"ok" if ok else "not ok"} {self.n} - ynl: {name}'
        if skip:
            line += f' # SKIP {skip}'
        if not ok:
            self.failed += 1
        print(line, flush=True)
        for d in (diag or '').rstrip('\n').split('\n'):
            if d:
                print(f'# {d}', flush=True)

# ------------------------------------------------------------------ the board

GPIO_SIM = '/sys/kernel/config/gpio-sim'
EV_SYN, EV_KEY, SYN_REPORT = 0, 1, 0
KEY_ESC, KEY_ENTER = 1, 28
KEYS = {str(d): 1 + d for d in range(1, 10)}
KEYS.update({'0': 11, 'E': KEY_ENTER, 'C': KEY_ESC})
# <linux/uinput.h>: _IOW('U', 100, int), _IOW('U', 101, int),
# _IOW('U', 3, struct uinput_setup) (92 bytes), _IO('U', 1), _IO('U', 2)
UI_SET_EVBIT, UI_SET_KEYBIT = 0x40045564, 0x40045565
UI_DEV_SETUP, UI_DEV_CREATE, UI_DEV_DESTROY = 0x405c5503, 0x5501, 0x5502
BUS_VIRTUAL = 0x06
BOLT, DOOR, TAMPER, ALARM, BATTERY, SENSOR = 0, 1, 2, 3, 16, 18


def write(path, text):
    with open(path, 'w', encoding='ascii') as f:
        f.write(text)


def read(path):
    with open(path, encoding='ascii') as f:
        return f.read().strip()


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        val = pred()
        if val:
            return val
        if time.monotonic() > deadline:
            raise Failure(f'{what}: not within {timeout} s')
        time.sleep(0.02)


class Board:
    """The simulated safe of safelock_test.c: gpio-sim lines (0 bolt, 1 door,
    2 tamper, 3 alarm, 16 battery-low, 17 feedback, 18 bolt sensor where the
    test board is told to use one), a uinput keypad and safelock_testboard.ko
    describing them to the driver."""

    LABEL = 'safelock-ynl'
    KEYPAD = 'safelock-ynl-keypad'
    PARAMS = {'relock_ms': 1000, 'verify_timeout_ms': 5000,
              'entry_timeout_ms': 5000, 'alarm_ms': 1000}

    def __init__(self, moddir):
        self.moddir = moddir
        self.cfg = f'{GPIO_SIM}/{self.LABEL}'
        self.lines = None
        self.uinput = None
        self.testboard = False

    def insmod(self, name, *params):
        path = os.path.join(self.moddir, name + '.ko')
        p = subprocess.run(['insmod', path, *params], capture_output=True, text=True,
                           check=False)
        check(p.returncode == 0, f'insmod {path}: {p.stderr.strip()}')

    def up(self, **extra):
        """Bring the board up; extra: more safelock_testboard parameters
        (bolt_sensor=1, ...)."""
        check(os.geteuid() == 0, 'needs root')
        if not os.path.exists('/sys/module/safelock'):
            self.insmod('safelock')
        check(os.path.isdir(GPIO_SIM), f'no {GPIO_SIM} (CONFIG_GPIO_SIM, configfs)')
        check(os.path.exists('/dev/uinput'), 'no /dev/uinput (CONFIG_INPUT_UINPUT)')
        self.uinput = os.open('/dev/uinput', os.O_WRONLY | os.O_CLOEXEC)
        fcntl.ioctl(self.uinput, UI_SET_EVBIT, EV_KEY)
        for code in KEYS.values():
            fcntl.ioctl(self.uinput, UI_SET_KEYBIT, code)
        setup = struct.pack('HHHH80sI', BUS_VIRTUAL, 0x5afe, 0x10d, 1,
                            self.KEYPAD.encode(), 0)
        fcntl.ioctl(self.uinput, UI_DEV_SETUP, setup)
        fcntl.ioctl(self.uinput, UI_DEV_CREATE)

        os.mkdir(self.cfg)
        os.mkdir(f'{self.cfg}/bank0')
        write(f'{self.cfg}/bank0/num_lines', '21')	# 0-3, 16-20, as safelock_test.c
        write(f'{self.cfg}/bank0/label', self.LABEL)
        write(f'{self.cfg}/live', '1')
        self.lines = (f'/sys/devices/platform/{read(self.cfg + "/dev_name")}/'
                      f'{read(self.cfg + "/bank0/chip_name")}')
        params = [f'{k}={v}' for k, v in {**self.PARAMS, **extra}.items()]
        self.insmod('safelock_testboard', f'chip={self.LABEL}',
                      f'keypad={self.KEYPAD}', *params)
        self.testboard = True
        wait_until(lambda: os.path.exists('/dev/safelock0'), 5, '/dev/safelock0 appears')

    def down(self):
        if self.testboard:
            p = subprocess.run(['rmmod', 'safelock_testboard'], capture_output=True,
                               text=True, check=False)
            check(p.returncode == 0, f'rmmod safelock_testboard: {p.stderr.strip()}')
            self.testboard = False
        if self.uinput is not None:
            fcntl.ioctl(self.uinput, UI_DEV_DESTROY)
            os.close(self.uinput)
            self.uinput = None
        if os.path.exists(self.cfg):
            if self.lines:
                write(f'{self.cfg}/live', '0')
            os.rmdir(f'{self.cfg}/bank0')
            os.rmdir(self.cfg)

    def type(self, keys):
        for k in keys:
            for value in (1, 0):
                os.write(self.uinput, struct.pack('llHHi', 0, 0, EV_KEY, KEYS[k], value))
                os.write(self.uinput, struct.pack('llHHi', 0, 0, EV_SYN, SYN_REPORT, 0))

    def line(self, n):
        return int(read(f'{self.lines}/sim_gpio{n}/value'))

    def drive(self, n, active):
        write(f'{self.lines}/sim_gpio{n}/pull', 'pull-up' if active else 'pull-down')

# ------------------------------------------------------------------ the spec

def load_ynl(pyynl):
    global YnlFamily, SpecFamily, NlError, YnlException  # pylint: disable=global-statement
    sys.path.insert(0, pyynl)
    # pylint: disable=import-outside-toplevel,import-error
    from lib import YnlFamily as yf, SpecFamily as sf, NlError as ne, YnlException as ye
    YnlFamily, SpecFamily, NlError, YnlException = yf, sf, ne, ye


def const(spec, v):
    """A check's value: a number or the name of a spec constant."""
    if isinstance(v, int):
        return v
    return spec.consts[v]['value']


def enum_value(spec, enum, name):
    """The number of entry name of the spec's enum (for a value attribute,
    which carries one as a plain u32)."""
    return spec.consts[enum].entries[name].value


def s32(v):
    """A u32 that carries a signed 32-bit number, as that number."""
    return v - (1 << 32) if v >= 1 << 31 else v


def op_attrs(spec, op, mode, part=None):
    """The attribute names the spec lists for op's mode ('do', 'dump',
    'event') and part ('request', 'reply', or None for an event)."""
    m = spec.msgs[op].yaml.get(mode, {})
    if part:
        m = m.get(part, {})
    return list(m.get('attributes', []))


def expect_msg(spec, what, msg, op, mode, part=None):
    """msg (YNL-decoded) must carry exactly the attributes the spec lists for
    op's mode and part (see op_attrs), the binary ones with the lengths their
    checks give, the enum ones with names of their enum."""
    check(isinstance(msg, dict), f'{what}: no message, got {msg!r}')
    aset = spec.msgs[op].attr_set
    names = [n for n in op_attrs(spec, op, mode, part) if aset.attrs[n].type != 'pad']
    missing = [n for n in names if n not in msg]
    extra = [n for n in msg if n not in names]
    check(not missing and not extra,
          f'{what}: attributes differ from the spec: missing {missing}, not in the spec {extra}')
    for n in names:
        a = aset.attrs[n]
        chk = a.yaml.get('checks', {})
        if a.type == 'binary':
            ln = len(msg[n])
            if 'exact-len' in chk:
                check(ln == const(spec, chk['exact-len']),
                      f'{what}: {n} has {ln} bytes, the spec says {chk["exact-len"]}')
            if 'min-len' in chk:
                check(ln >= const(spec, chk['min-len']), f'{what}: {n} shorter than min-len')
            if 'max-len' in chk:
                check(ln <= const(spec, chk['max-len']), f'{what}: {n} longer than max-len')
        elif 'enum' in a.yaml:
            enum = spec.consts[a.yaml['enum']]
            vals = msg[n] if isinstance(msg[n], (set, list)) else [msg[n]]
            check(all(v in enum.entries for v in vals),
                  f'{what}: {n} = {msg[n]!r} is not in enum {enum.name}')


def errmsg(e):
    """The extack message of an NlError (or None)."""
    ext = e.nl_msg.extack or {}
    return ext.get('msg')


def expect_nlerror(what, fn, err, msg=None, bad_attr=None, extack=True):
    """fn() must fail with errno err (None: the spec names none, any), with an
    extack message (msg, if given; none needed if not extack) and pointing at
    bad_attr (if given)."""
    try:
        got = fn()
    except NlError as e:
        ext = e.nl_msg.extack or {}
        if err is not None and e.error != err:
            raise Failure(f'{what}: errno {e.error} ({e}), expected {errno.errorcode[err]}')
        check(ext.get('msg') or not extack, f'{what}: no extack message ({e})')
        if msg:
            check(ext.get('msg') == msg, f'{what}: extack "{ext.get("msg")}", expected "{msg}"')
        if bad_attr:
            check(ext.get('bad-attr') == '.' + bad_attr,
                  f'{what}: extack points at {ext.get("bad-attr") or ext.get("bad-attr-offs")},'
                  f' expected {bad_attr}')
        return e
    raise Failure(f'{what}: accepted (reply {got!r}), expected an error')

# ------------------------------------------------------------------ the context

class Inbox:
    """Notifications of one YNL socket, kept in arrival order."""

    def __init__(self, fam):
        self.fam = fam
        self.msgs = []

    def _drain(self):
        while True:
            try:
                self.msgs.append(self.fam.async_msg_queue.get_nowait())
            except queue.Empty:
                return

    def mark(self):
        self._drain()
        return len(self.msgs)

    def pump(self, timeout):
        if select.select([self.fam.sock], [], [], max(timeout, 0))[0]:
            self.fam.check_ntf()
        self._drain()

    def wait(self, since, what, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            for m in self.msgs[since:]:
                if pred(m):
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                got = [(m['name'], m['msg'].get('event')) for m in self.msgs[since:]]
                raise Failure(f'no {what} within {timeout} s (got {got})')
            self.pump(left)


class Ctx:
    def __init__(self, args, spec_path):
        self.args = args
        self.spec_path = spec_path
        self.spec = SpecFamily(spec_path, '')
        self.board = None
        self.ver = None		# the verifier's socket
        self.vin = None		# its notifications (verify, entry-begin)
        self.evs = None		# the events group
        self.q = None		# plain requests
        self.policy = None
        self.code = None
        self.entry = {}

    def family(self):
        return YnlFamily(self.spec_path, schema='')

    def cli(self, *args):
        cmd = [sys.executable, '-S', '-B', self.args.cli, '--spec', self.spec_path,
               '--no-schema', '--output-json', *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              check=False)

    def cli_ok(self, *args):
        p = self.cli(*args)
        check(p.returncode == 0, f'cli.py {" ".join(args)}: exit {p.returncode}: '
              f'{p.stdout.strip()} {p.stderr.strip()[-800:]}')
        return json.loads(p.stdout) if p.stdout.strip() else None

    def cli_msg(self, op, *args):
        """cli_ok(), with the reply's binary attributes (which cli.py prints
        as hex strings in its JSON) back as bytes."""
        got = self.cli_ok(*args)
        aset = self.spec.attr_sets['safelock']
        for n, v in (got or {}).items():
            if n in aset.attrs and aset.attrs[n].type == 'binary' and isinstance(v, str):
                got[n] = bytes.fromhex(v)
        return got

    def cli_fails(self, what, args, text):
        p = self.cli(*args)
        out = p.stdout + p.stderr
        check(p.returncode != 0, f'{what}: cli.py succeeded: {p.stdout.strip()}')
        check(text in out, f'{what}: cli.py said "{out.strip()[-400:]}", expected "{text}"')

    def status(self):
        return self.q.do('status-get', {'device': 0})

    def wait_state(self, state, timeout=5.0):
        wait_until(lambda: self.status()['state'] == state, timeout, f'state {state}')

    def event(self, since, what, timeout=5.0, **attrs):
        def match(m):
            return m['name'] == 'event' and all(m['msg'].get(k) == v for k, v in attrs.items())
        return self.evs.wait(since, what, match, timeout)['msg']

# ------------------------------------------------------------------ static checks

def check_family(ctx):
    """nlctrl: the commands, their flags and the multicast groups the kernel
    registers are exactly those of the spec."""
    spec = ctx.spec
    nl = YnlFamily(ctx.args.nlctrl, schema='')
    fam = nl.do('getfamily', {'family-name': spec['name']})
    nl.close()
    check(fam.get('version') == spec.yaml.get('version', 1),
          f'version {fam.get("version")}, the spec says {spec.yaml.get("version", 1)}')
    kops = {}
    for entry in fam.get('ops', []):
        for o in entry.values():
            kops[o['id']] = set(o.get('flags', ()))
    errs = []
    want = {}
    for op in spec.ops.values():
        want[op.value] = op
        if op.value not in kops:
            errs.append(f'{op.name} ({op.value}): not registered by the kernel')
            continue
        flags = kops[op.value]
        for flag, on in (('cmd-cap-do', 'do' in op.yaml), ('cmd-cap-dump', 'dump' in op.yaml),
                         ('admin-perm', 'admin-perm' in op.yaml.get('flags', ())),
                         ('uns-admin-perm', 'uns-admin-perm' in op.yaml.get('flags', ()))):
            if (flag in flags) != on:
                errs.append(f'{op.name} ({op.value}): kernel flags {sorted(flags)}, '
                            f'spec {"has" if on else "lacks"} {flag}')
    for cmd in sorted(set(kops) - set(want)):
        errs.append(f'the kernel accepts command {cmd}, which is no do/dump operation of the spec')
    kgrps = sorted(g['name'] for e in fam.get('mcast-groups', []) for g in e.values())
    sgrps = sorted(spec.mcast_groups)
    if kgrps != sgrps:
        errs.append(f'multicast groups: kernel {kgrps}, spec {sgrps}')
    check(not errs, '\n'.join(errs))
    return f'{len(kops)} commands, groups {kgrps}'


INT_BITS = {'u8': 8, 'u16': 16, 'u32': 32, 'u64': 64, 's8': 8, 's16': 16, 's32': 32, 's64': 64}
KTYPE = {'nest': 'nested', 'indexed-array': 'nested-array', 'string': 'nul-string'}


def attr_policy_errs(spec, op, a, kpol):
    """Differences between the spec's attribute a and the kernel's policy."""
    errs = []
    where = f'{op.name}: {a.name}'
    want = KTYPE.get(a.type, a.type)
    if kpol.get('type') != want and not (a.type == 'string' and kpol.get('type') == 'string'):
        return [f'{where}: kernel type {kpol.get("type")}, spec {a.type}']
    chk = a.yaml.get('checks', {})
    if a.type in INT_BITS:
        bits = INT_BITS[a.type]
        lo, hi = (0, 2 ** bits - 1) if a.type[0] == 'u' else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
        hi = const(spec, chk.get('max', hi))
        # The spec format allows no negative minimum: a signed attribute
        # with a max and no min is symmetric, -max..max.
        if a.type[0] == 's' and 'max' in chk and 'min' not in chk:
            lo = -hi
        lo = const(spec, chk.get('min', lo))
        if (kpol.get('min-value'), kpol.get('max-value')) != (lo, hi):
            errs.append(f'{where}: kernel range {kpol.get("min-value")}..{kpol.get("max-value")}'
                        f', spec {lo}..{hi}')
    elif a.type in ('binary', 'string'):
        lo = hi = None
        if 'exact-len' in chk:
            lo = hi = const(spec, chk['exact-len'])
        lo = const(spec, chk['min-len']) if 'min-len' in chk else lo
        hi = const(spec, chk['max-len']) if 'max-len' in chk else hi
        if (kpol.get('min-length'), kpol.get('max-length')) != (lo, hi):
            errs.append(f'{where}: kernel length {kpol.get("min-length")}..'
                        f'{kpol.get("max-length")}, spec {lo}..{hi}')
    return errs


def check_policies(ctx):
    """The request policy of every command (policy introspection) against the
    spec: the same attributes, types, ranges and lengths."""
    spec, errs, n = ctx.spec, [], 0
    for op in spec.ops.values():
        pols = {}
        for mode in ('do', 'dump'):
            if mode not in op.yaml:
                continue
            try:
                pol = ctx.q.get_policy(op.name, mode)
            except YnlException as e:	# ENOENT: no such command
                errs.append(f'{op.name} {mode}: no policy from the kernel ({e})')
                continue
            kp = pol.to_dict() if pol is not None else {}
            pols[mode] = kp
            req = op_attrs(spec, op.name, mode, 'request')
            # Hand-written (not split) ops have one policy per command,
            # which a dump with no request attributes of its own shares.
            if mode == 'dump' and not req and kp == pols.get('do'):
                continue
            for name in req:
                if name not in kp:
                    errs.append(f'{op.name} {mode}: the kernel does not accept {name}')
                    continue
                errs += attr_policy_errs(spec, op, op.attr_set.attrs[name], kp[name])
                n += 1
            for name in sorted(set(kp) - set(req)):
                errs.append(f'{op.name} {mode}: the kernel accepts {name}, '
                            'which the spec does not list for it')
    check(not errs, '\n'.join(errs))
    return f'{n} request attributes'

# ------------------------------------------------------------------ operations

def status_check(ctx, state, flags_in=(), flags_out=(), via_cli=True):
    """status-get, do and dump, through cli.py (or the library: a python
    start costs about a second in the VM)."""
    spec = ctx.spec
    if via_cli:
        st = ctx.cli_ok('--do', 'status-get', '--json', '{"device": 0}')
    else:
        st = ctx.q.do('status-get', {'device': 0})
    expect_msg(spec, 'status-get do reply', st, 'status-get', 'do', 'reply')
    check(st['device'] == 0, f'status-get: device {st["device"]}')
    check(st['state'] == state, f'status-get: state {st["state"]}, expected {state}')
    for f in flags_in:
        check(f in st['flags'], f'status-get: flags {st["flags"]} lack {f}')
    for f in flags_out:
        check(f not in st['flags'], f'status-get: flags {st["flags"]} have {f}')
    dump = ctx.cli_ok('--dump', 'status-get') if via_cli else ctx.q.dump('status-get', {})
    check(isinstance(dump, list) and dump, f'status-get dump: {dump!r}')
    for d in dump:
        expect_msg(spec, 'status-get dump reply', d, 'status-get', 'dump', 'reply')
    mine = [d for d in dump if d['device'] == 0]
    check(len(mine) == 1 and mine[0]['state'] == state,
          f'status-get dump: device 0 missing or in another state: {dump}')
    return st


def case_status_get(ctx):
    wait_until(lambda: 'keypad' in ctx.status()['flags'], 5, 'the driver takes the keypad')
    st = status_check(ctx, 'unprovisioned', ['keypad'], ['verifier', 'bolt-open'])
    return f'unprovisioned, flags {sorted(st["flags"])}'


# SAFELOCK_IOC_SET_CODE_KEY: _IOW(0xB7, 0x04, struct safelock_code_key), 64 bytes
SAFELOCK_IOC_SET_CODE_KEY = (1 << 30) | (64 << 16) | (0xB7 << 8) | 0x04


def set_code_key(key, dev='/dev/safelock0'):
    """Give the code key through the character device: never over netlink."""
    fd = os.open(dev, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, SAFELOCK_IOC_SET_CODE_KEY, key + bytes(32))
    finally:
        os.close(fd)


def open_code(key, msg):
    """The digits of a verify's code-sealed, opened with @key: XOR the keyed
    BLAKE2s-256 of the nonce and the little-endian request id."""
    stream = hashlib.blake2s(msg['nonce'] + msg['request-id'].to_bytes(8, 'little'),
                             key=key, digest_size=32).digest()
    return bytes(a ^ b for a, b in zip(msg['code-sealed'], stream))


def register_verifier(ctx, since):
    """A new socket registers as the verifier of a provisioned lock, with
    the hash of a fresh code key, and gives the key through /dev/safelock0:
    no reply, a verifier event (1) and the lock LOCKED, both after @since."""
    ctx.ver = ctx.family()
    ctx.vin = Inbox(ctx.ver)
    ctx.code_key = os.urandom(32)
    check(ctx.ver.do('verifier-register', {
        'provisioned': 1,
        'code-key-hash': hashlib.blake2s(ctx.code_key, digest_size=32).digest()}) is None,
          'verifier-register: a reply, the spec has none')
    set_code_key(ctx.code_key)
    ctx.event(since, 'a verifier event (value 1)', event='verifier', value=1)
    ctx.event(since, 'a state event (locked)', event='state', state='locked')
    # Until its first policy-set the lock takes no entry from it.
    check('policy' not in ctx.status()['flags'], 'policy flag before any policy-set')
    check(ctx.ver.do('policy-set', {'device': 0}) is None, 'policy-set: a reply')
    check('policy' in ctx.status()['flags'], 'no policy flag after policy-set')


def case_verifier_register(ctx):
    # Without a code key hash no code could reach it: refused, with the reason.
    ctx.cli_fails('a verifier without code-key-hash', ['--do', 'verifier-register', '--json',
                                                       '{"provisioned": 1}'],
                  'code-key-hash is required')
    register_verifier(ctx, ctx.evs.mark())
    status_check(ctx, 'locked', ['verifier', 'keypad', 'policy'], ['bolt-open'], via_cli=False)
    # Again from the same socket: allowed; from another: "already registered".
    check(ctx.ver.do('verifier-register', {'provisioned': 1}) is None, 'second register')
    ctx.cli_fails('a second verifier', ['--do', 'verifier-register', '--json',
                                       '{"provisioned": 1}'],
                  'a verifier is already registered')
    return 'registered; a second socket is refused'


# Valid values for every attribute policy-set takes.
def week_far_from_now(offset):
    """A time-lock-week locking only 00:00-00:15 three days from now."""
    wday = (int((time.time() + offset) // 86400) + 4 + 3) % 7   # 1970-01-01: Thursday
    week = bytearray(84)
    week[wday * 96 // 8] |= 1 << (wday * 96 % 8)
    return bytes(week)


POLICY = {'time-delay-s': 0, 'open-window-s': 60, 'dual-control': 0, 'dual-window-s': 10,
          'relock-ms': 500, 'door-limit-s': 5,
          # the time lock on, with a schedule and a holiday that lock nothing
          # now: the first quarter hour of the day three days from today,
          # and 1970-01-02
          'time-lock': 1, 'time-lock-week': week_far_from_now(3600),
          'holidays': (1).to_bytes(4, sys.byteorder), 'utc-offset-s': 3600,
          'time-lock-until': 0, 'override': 1}


def case_policy_set(ctx):
    # time-lock-for-s excludes time-lock-until: case_time_lock sends it
    req = [a for a in op_attrs(ctx.spec, 'policy-set', 'do', 'request')
           if a not in ('device', 'time-lock-for-s')]
    untested = [a for a in req if a not in POLICY]
    check(not untested, f'policy-set attributes without a test value in POLICY: {untested}')
    ctx.policy = {a: POLICY[a] for a in req}
    m = ctx.evs.mark()
    check(ctx.ver.do('policy-set', {'device': 0, **ctx.policy}) is None, 'a reply')
    ctx.event(m, 'a policy event', event='policy')
    # Out of range: refused with the spec's range in the extack's policy.
    chk = ctx.spec.attr_sets['safelock'].attrs['open-window-s'].yaml['checks']
    e = expect_nlerror('open-window-s below its min',
                       lambda: ctx.ver.do('policy-set', {'device': 0, 'open-window-s':
                                                         chk['min'] - 1}),
                       errno.ERANGE, 'integer out of range', 'open-window-s')
    pol = e.nl_msg.extack.get('policy', {})
    check((pol.get('min-value'), pol.get('max-value')) == (chk['min'], chk['max']),
          f'extack policy {pol}, spec {chk}')
    expect_nlerror('policy-set from a socket that is not the verifier',
                   lambda: ctx.q.do('policy-set', {'device': 0, 'relock-ms': 900}),
                   errno.EPERM, 'not the registered verifier')
    return f'set {ctx.policy}; out of range and foreign socket refused'


def case_policy_get(ctx):
    got = ctx.cli_msg('policy-get', '--do', 'policy-get', '--json', '{"device": 0}')
    expect_msg(ctx.spec, 'policy-get reply', got, 'policy-get', 'do', 'reply')
    want = {'device': 0, **ctx.policy}
    check(got == want, f'policy-get: {got}, expected what policy-set set: {want}')
    return 'the values policy-set set'


def begin_entry(ctx, user):
    """Type the first key of an entry: entry-begin to the verifier, an
    entry-started event with the same id."""
    m, e = ctx.vin.mark(), ctx.evs.mark()
    ctx.board.type(f'{user:03d}'[0])
    msg = ctx.vin.wait(m, 'entry-begin', lambda x: x['name'] == 'entry-begin')['msg']
    expect_msg(ctx.spec, 'entry-begin', msg, 'entry-begin', 'event')
    check(msg['device'] == 0 and msg['request-id'] != 0, f'entry-begin: {msg}')
    ctx.event(e, 'entry-started with the same request id', event='entry-started',
              **{'request-id': msg['request-id']})
    return msg


def user_entry(ctx, user, begin):
    """Type the rest of the user id: entry-user to the verifier, with the
    entry's request id and the user id, and no digit of a code."""
    m = ctx.vin.mark()
    ctx.board.type(f'{user:03d}'[1:])
    msg = ctx.vin.wait(m, 'entry-user', lambda x: x['name'] == 'entry-user')['msg']
    expect_msg(ctx.spec, 'entry-user', msg, 'entry-user', 'event')
    check(msg['request-id'] == begin['request-id'] and msg['user-id'] == user,
          f'entry-user: {msg}, entry-begin said {begin["request-id"]}, typed user {user}')
    return msg


def finish_entry(ctx, user, begin, typed_id=False):
    """Type the rest and ENTER: the verify request, checked."""
    code = ''.join(random.choice('0123456789') for _ in range(8))
    m = ctx.vin.mark()
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    ctx.board.type(('' if typed_id else f'{user:03d}'[1:]) + code + 'E')
    msg = ctx.vin.wait(m, 'verify', lambda x: x['name'] == 'verify')['msg']
    expect_msg(ctx.spec, 'verify', msg, 'verify', 'event')
    check(msg['request-id'] == begin['request-id'],
          f'verify: request id {msg["request-id"]}, entry-begin said {begin["request-id"]}')
    check(msg['user-id'] == user, f'verify: user id {msg["user-id"]}, typed {user}')
    # What the verifier's socket gets is what a netlink tap sees: no digit
    # in the clear, only the code sealed with the verifier's key.
    check('code' not in msg, 'verify: the code in the clear')
    check(code.encode() not in msg['code-sealed'], 'verify: the digits in code-sealed')
    check(open_code(ctx.code_key, msg) == code.encode(),
          'verify: code-sealed does not open to the digits typed')
    limit = t0 + (Board.PARAMS['verify_timeout_ms'] + 1000) * 1000000
    check(t0 < msg['deadline-ns'] <= limit,
          f'verify: deadline {msg["deadline-ns"]} not within the verify timeout of now {t0}')
    return msg


def verdict(ctx, req, **attrs):
    return ctx.ver.do('verdict', {'device': 0, 'request-id': req['request-id'],
                                  'nonce': req['nonce'], **attrs})


def case_entry_begin(ctx):
    ctx.entry['begin'] = begin_entry(ctx, 1)
    return f'request id {ctx.entry["begin"]["request-id"]}'


def case_entry_user(ctx):
    msg = user_entry(ctx, 1, ctx.entry['begin'])
    return f'request id {msg["request-id"]}, user id {msg["user-id"]}'


def case_verify(ctx):
    ctx.entry['verify'] = finish_entry(ctx, 1, ctx.entry['begin'], typed_id=True)
    check(ctx.status()['state'] == 'verifying', 'not verifying')
    return 'request id, nonce, deadline, user id and code as the spec says'


def case_verdict(ctx):
    req = ctx.entry['verify']
    wrong = bytes(b ^ 0xff for b in req['nonce'])
    expect_nlerror('a wrong nonce', lambda: verdict(ctx, req, nonce=wrong, result='granted'),
                   None, 'nonce mismatch')
    # The errno differs between kernels (EINVAL on 6.1, ERANGE later).
    expect_nlerror('a nonce one byte short',
                   lambda: verdict(ctx, req, nonce=req['nonce'][:-1], result='granted'),
                   None, None, 'nonce')
    expect_nlerror('a verdict from another socket', lambda: ctx.q.do('verdict', {
        'device': 0, 'request-id': req['request-id'], 'nonce': req['nonce'],
        'result': 'granted'}), errno.EPERM, 'not the registered verifier')
    # granted: attempt, bolt, unlocked, then the relock after relock-ms.
    m = ctx.evs.mark()
    check(verdict(ctx, req, result='granted') is None, 'verdict: a reply')
    ctx.event(m, 'attempt granted', event='attempt', result='granted', **{
        'user-id': 1, 'request-id': req['request-id']})
    ctx.event(m, 'bolt retracted', event='bolt', value=1)
    ctx.event(m, 'state unlocked', event='state', state='unlocked')
    check(ctx.board.line(BOLT) == 1, 'the bolt line did not move')
    st = ctx.status()
    check('bolt-open' in st['flags'], f'flags {st["flags"]} lack bolt-open')
    ctx.event(m, 'bolt thrown again (relock-ms)', event='bolt', value=0, timeout=3)
    ctx.wait_state('locked')
    e = expect_nlerror('a replayed verdict', lambda: verdict(ctx, req, result='granted'), None)
    replay = errmsg(e)
    # denied with a retry-after: the penalty state, then locked again.
    req = finish_entry(ctx, 2, begin_entry(ctx, 2))
    m = ctx.evs.mark()
    verdict(ctx, req, result='denied', **{'retry-after-ms': 300})
    ctx.event(m, 'attempt denied', event='attempt', result='denied', **{'user-id': 2})
    ctx.event(m, 'state penalty', event='state', state='penalty')
    ctx.event(m, 'back to locked', event='state', state='locked', timeout=3)
    # duress: opens as usual, raises the silent alarm.
    req = finish_entry(ctx, 3, begin_entry(ctx, 3))
    m = ctx.evs.mark()
    verdict(ctx, req, result='granted', duress=1)
    ctx.event(m, 'a duress event', event='duress', **{'user-id': 3})
    ctx.event(m, 'the alarm raised', event='alarm', value=1)
    check(ctx.board.line(ALARM) == 1, 'the alarm line was not raised')
    ctx.event(m, 'the alarm dropped', event='alarm', value=0, timeout=3)
    ctx.event(m, 'relocked', event='bolt', value=0, timeout=3)
    ctx.wait_state('locked')
    return f'granted, denied with retry-after, duress; refused: wrong nonce, short nonce, ' \
           f'foreign socket, replay ("{replay}")'


def policy_check(ctx, what):
    """policy-get (through the library) says what ctx.policy says."""
    got = ctx.q.do('policy-get', {'device': 0})
    expect_msg(ctx.spec, f'policy-get {what}', got, 'policy-get', 'do', 'reply')
    want = {'device': 0, **ctx.policy}
    check(got == want, f'policy-get {what}: {got}, expected {want}')


# The immediate time lock's length, about (it ends at a whole second): the
# kernel wants no minimum, only an end ahead of now.
TIME_LOCK_S = 3


def case_time_lock(ctx):
    """An immediate time lock (time-lock-until a few seconds ahead): a
    time-lock event (1) at once, TIME_LOCKED, no shorter end taken; then,
    at its end and not before, a time-lock event (0) and LOCKED again."""
    m = ctx.evs.mark()
    until = int(time.time()) + TIME_LOCK_S
    check(ctx.ver.do('policy-set', {'device': 0, 'time-lock-until': until}) is None, 'a reply')
    ctx.policy['time-lock-until'] = until
    ctx.event(m, 'a policy event', event='policy')
    ev = ctx.event(m, 'a time-lock event (1)', event='time-lock', value=1)
    expect_msg(ctx.spec, 'time-lock event', ev, 'event', 'event')
    check(ev['state'] == 'time-locked', f'time-lock event (1) in state {ev["state"]}')
    ctx.event(m, 'a state event (time-locked)', event='state', state='time-locked')
    check(ctx.status()['state'] == 'time-locked', 'not time-locked')
    policy_check(ctx, 'during the time lock')
    expect_nlerror('an earlier end of the immediate time lock',
                   lambda: ctx.ver.do('policy-set', {'device': 0, 'time-lock-until': until - 1}),
                   errno.EPERM, 'the immediate time lock can only be extended')
    ev = ctx.event(m, 'a time-lock event (0)', event='time-lock', value=0,
                   timeout=until - time.time() + 10)
    ended = time.time()
    check(ended >= until, f'the time lock ended {until - ended:.2f} s before time-lock-until')
    expect_msg(ctx.spec, 'time-lock event', ev, 'event', 'event')
    check(ev['state'] == 'locked', f'time-lock event (0) in state {ev["state"]}')
    ctx.event(m, 'a state event (locked)', event='state', state='locked')
    ctx.wait_state('locked')
    # time-lock-for-s: timed by the kernel alone; policy-get reports its end
    m = ctx.evs.mark()
    check(ctx.ver.do('policy-set', {'device': 0, 'time-lock-for-s': 2}) is None, 'a reply')
    ctx.event(m, 'a time-lock event (1) for time-lock-for-s', event='time-lock', value=1)
    got = ctx.ver.do('policy-get', {'device': 0})
    check(abs(got['time-lock-until'] - (time.time() + 2)) <= 2,
          f'time-lock-for-s 2: time-lock-until {got["time-lock-until"]}, now {time.time()}')
    ctx.policy['time-lock-until'] = got['time-lock-until']
    expect_nlerror('time-lock-for-s with time-lock-until',
                   lambda: ctx.ver.do('policy-set', {'device': 0, 'time-lock-for-s': 5,
                                                     'time-lock-until': got['time-lock-until']}),
                   errno.EINVAL, 'time-lock-for-s and time-lock-until exclude each other')
    ctx.event(m, 'a time-lock event (0) after time-lock-for-s', event='time-lock', value=0,
              timeout=10)
    ctx.wait_state('locked')
    return f'time-locked until {until}, ended {ended - until:.1f} s after it; ' \
           'an earlier end refused; time-lock-for-s timed by the kernel'


def case_duress_alarm(ctx):
    """A duress code used where nothing opens (safelockd's admin socket):
    a duress event for the user and the silent alarm, the bolt untouched."""
    m = ctx.evs.mark()
    check(ctx.ver.do('duress-alarm', {'device': 0, 'user-id': 7}) is None, 'a reply')
    ev = ctx.event(m, 'a duress event', event='duress')
    expect_msg(ctx.spec, 'duress event', ev, 'event', 'event')
    check(ev['user-id'] == 7, f'duress event: user {ev["user-id"]}')
    ctx.event(m, 'an alarm event (1)', event='alarm', value=1)
    expect_nlerror('duress-alarm from a socket that is not the verifier',
                   lambda: ctx.q.do('duress-alarm', {'device': 0, 'user-id': 7}),
                   errno.EPERM, 'not the registered verifier')
    check('bolt-open' not in ctx.status()['flags'], 'the bolt moved')
    return 'duress and alarm events; a foreign socket refused'


CLOCK_JUMP_S = 60


def clock_jump(ctx, since, sign):
    """The clock-jump event of a jump of sign * CLOCK_JUMP_S."""
    what = f'a clock-jump event ({sign * CLOCK_JUMP_S:+d} s)'
    ev = ctx.event(since, what, event='clock-jump', timeout=10)
    expect_msg(ctx.spec, what, ev, 'event', 'event')
    # whole seconds, rounded towards 0, of a jump a little smaller than set
    v = s32(ev['value'])
    check(CLOCK_JUMP_S - 2 <= sign * v <= CLOCK_JUMP_S, f'{what}: value {v}')
    return v


def case_clock_jump(ctx):
    """CLOCK_REALTIME set CLOCK_JUMP_S ahead, then back where it belongs,
    each followed by clock-set from the verifier: one clock-jump event each
    (the value signed), and nothing else changes; the clock is right again
    afterwards; clock-set from another socket is refused."""
    real0 = time.clock_gettime(time.CLOCK_REALTIME)
    boot0 = time.clock_gettime(time.CLOCK_BOOTTIME)

    def right_now():
        return real0 + time.clock_gettime(time.CLOCK_BOOTTIME) - boot0

    m = ctx.evs.mark()
    try:
        time.clock_settime(time.CLOCK_REALTIME, right_now() + CLOCK_JUMP_S)
        # the kernel hears of a clock set from the verifier (safelockd's timerfd)
        check(ctx.ver.do('clock-set', {}) is None, 'a reply')
        fwd = clock_jump(ctx, m, 1)
    finally:
        back = ctx.evs.mark()
        time.clock_settime(time.CLOCK_REALTIME, right_now())
    check(ctx.ver.do('clock-set', {'device': 0}) is None, 'a reply')
    bwd = clock_jump(ctx, back, -1)
    expect_nlerror('clock-set from a socket that is not the verifier',
                   lambda: ctx.q.do('clock-set', {}),
                   errno.EPERM, 'not the registered verifier')
    off = time.clock_gettime(time.CLOCK_REALTIME) - right_now()
    check(abs(off) < 0.5, f'the clock is {off:.3f} s off after the test')
    jumps = [x['msg'] for x in ctx.evs.msgs[m:] if x['msg'].get('event') == 'clock-jump']
    check(len(jumps) == 2, f'{len(jumps)} clock-jump events for two jumps: {jumps}')
    others = [x['msg'].get('event') for x in ctx.evs.msgs[m:]
              if x['msg'].get('event') != 'clock-jump']
    check(not others, f'a clock jump brought more events: {others}')
    check(ctx.status()['state'] == 'locked', 'a clock jump changed the state')
    return f'clock-jump {fwd:+d} s and {bwd:+d} s'


OVERRIDE_POLICY = {'time-delay-s': 600, 'dual-window-s': 60}


def case_override(ctx):
    """With override on and a time delay, two users' grants with
    delay-override "may": the first waits in DUAL_PENDING, the second
    opens at once (no TIME_DELAY) with an override event (user-id the
    second user, value the first).  The policy is put back afterwards."""
    m = ctx.evs.mark()
    check(ctx.ver.do('policy-set', {'device': 0, **OVERRIDE_POLICY}) is None, 'a reply')
    try:
        ctx.event(m, 'a policy event', event='policy')
        first = finish_entry(ctx, 4, begin_entry(ctx, 4))
        e = ctx.evs.mark()
        verdict(ctx, first, result='granted', **{'delay-override': 'may'})
        ctx.event(e, 'attempt granted (the first user)', event='attempt', result='granted',
                  **{'user-id': 4})
        ctx.event(e, 'state dual-pending', event='state', state='dual-pending')
        check(ctx.board.line(BOLT) == 0, 'the first user alone moved the bolt')
        second = finish_entry(ctx, 5, begin_entry(ctx, 5))
        e = ctx.evs.mark()
        verdict(ctx, second, result='granted', **{'delay-override': 'may'})
        ev = ctx.event(e, 'an override event', event='override')
        expect_msg(ctx.spec, 'override event', ev, 'event', 'event')
        check((ev['user-id'], ev['value'], ev['request-id']) == (5, 4, second['request-id']),
              f'override event: user-id {ev["user-id"]}, value {ev["value"]}, request-id '
              f'{ev["request-id"]}; expected 5, 4, {second["request-id"]}')
        ctx.event(e, 'attempt granted (the second user)', event='attempt', result='granted',
                  **{'user-id': 5})
        ctx.event(e, 'bolt retracted', event='bolt', value=1)
        ctx.event(e, 'state unlocked', event='state', state='unlocked')
        delayed = [x for x in ctx.evs.msgs[m:] if x['msg'].get('state') == 'time-delay']
        check(not delayed, 'the override went through the time delay')
        ctx.event(e, 'bolt thrown again (relock-ms)', event='bolt', value=0, timeout=3)
        ctx.wait_state('locked')
    finally:
        ctx.ver.do('policy-set', {'device': 0, **{k: ctx.policy[k] for k in OVERRIDE_POLICY}})
    policy_check(ctx, 'after the override')
    return 'user 5 after user 4: opened at once, override event'


def case_fault_clear(ctx):
    """The conformance board has no bolt sensor, so it never faults: the
    command's attributes and refusals are what is checked here (a fault and
    its clearing, on the board reloaded with a bolt sensor: case_bolt_sensor)."""
    expect_nlerror('fault-clear without a fault',
                   lambda: ctx.ver.do('fault-clear', {'device': 0}),
                   errno.ENOENT, 'no fault to clear')
    expect_nlerror('fault-clear from a socket that is not the verifier',
                   lambda: ctx.q.do('fault-clear', {'device': 0}),
                   errno.EPERM, 'not the registered verifier')
    expect_nlerror('fault-clear for a lock that does not exist',
                   lambda: ctx.ver.do('fault-clear', {'device': 9}),
                   errno.ENODEV, None)
    check(ctx.status()['state'] == 'locked', 'fault-clear changed the state')
    return 'no fault: ENOENT; foreign socket: EPERM; no such lock: ENODEV'


def case_group_events(ctx):
    """The group's hardware events, and the verifier leaving."""
    m = ctx.evs.mark()
    ctx.board.drive(DOOR, True)
    ctx.event(m, 'door open', event='door', value=1)
    t = time.monotonic()
    for line, name in ((TAMPER, 'tamper'), (BATTERY, 'battery')):
        ctx.board.drive(line, True)
        ctx.event(m, f'{name} 1', event=name, value=1)
        ctx.board.drive(line, False)
        ctx.event(m, f'{name} 0', event=name, value=0)
    limit = ctx.policy['door-limit-s']
    ctx.event(m, 'door-ajar after door-limit-s', event='door-ajar', value=limit,
              timeout=limit + 5)
    check(time.monotonic() - t >= limit - 0.5, 'door-ajar came before door-limit-s')
    ctx.board.drive(DOOR, False)
    ctx.event(m, 'door closed', event='door', value=0)
    ctx.ver.close()
    ctx.event(m, 'the verifier gone', event='verifier', value=0)
    wait_until(lambda: 'verifier' not in ctx.status()['flags'], 5, 'verifier flag cleared')
    ctx.event(m, 'the alarm dropped', event='alarm', value=0, timeout=3)
    return 'door, tamper, battery, door-ajar, verifier gone'


def check_events(ctx, since=0):
    """Every event received since the mark since, all of one board: exactly
    the spec's attributes, the sequence numbers from 1 without holes, time
    never going back, and the last one is the status' seq."""
    ctx.evs.pump(0.3)
    msgs = ctx.evs.msgs[since:]
    others = [m['name'] for m in msgs if m['name'] != 'event']
    check(not others, f'the events group carried other messages: {others}')
    evs = [m['msg'] for m in msgs]
    check(len(evs) > 10, f'only {len(evs)} events')
    for i, ev in enumerate(evs):
        expect_msg(ctx.spec, f'event {i} ({ev.get("event")})', ev, 'event', 'event')
        check(ev['device'] == 0, f'event {i}: device {ev["device"]}')
        want = evs[i - 1]['seq'] + 1 if i else 1
        check(ev['seq'] == want, f'event {i}: seq {ev["seq"]}, expected {want}')
        if i:
            check(ev['timestamp-ns'] >= evs[i - 1]['timestamp-ns'], f'event {i}: time went back')
    last = evs[-1]['seq']
    st = ctx.status()
    check(st['seq'] == last, f'status seq {st["seq"]}, last event {last}')
    return f'{len(evs)} events, seq 1..{last}'


def case_event(ctx):
    """Every event of the board since the start (the group was joined before
    the board's first event): see check_events."""
    return check_events(ctx)


def case_hostile(ctx):
    """Attributes the kernel must refuse, with extack: a u32 sent as 8
    bytes (a spec whose device is u64), and one the command does not take."""
    y = load_yaml(ctx.spec_path)
    find_attr(y, 'device')['type'] = 'u64'
    path = write_spec(ctx.spec_path, y, '/tmp/ynl-hostile.yaml')
    bad = YnlFamily(path, schema='')
    expect_nlerror('device sent as u64', lambda: bad.do('status-get', {'device': 0}),
                   errno.EINVAL, 'invalid attribute length', 'device')
    bad.close()
    e = expect_nlerror('status-get with a nonce', lambda: ctx.q.do(
        'status-get', {'device': 0, 'nonce': bytes(16)}), errno.EINVAL, None, 'nonce')
    expect_nlerror('status-get of a lock that does not exist',
                   lambda: ctx.q.do('status-get', {'device': 15}), errno.ENODEV,
                   'no such device', 'device')
    return f'wrong size: "invalid attribute length"; not taken: "{errmsg(e)}"'


NOBODY = 65534


def unprivileged(ctx):
    """In a child that dropped root (and with it every capability): what a
    caller without CAP_NET_ADMIN gets.  Returns a list of complaints."""
    errs = []
    fam = ctx.family()
    try:
        expect_msg(ctx.spec, 'status-get as nobody', fam.do('status-get', {'device': 0}),
                   'status-get', 'do', 'reply')
    except Exception as e:  # pylint: disable=broad-except
        errs.append(f'status-get as nobody: {e}')
    for op in ctx.spec.ops.values():
        if 'admin-perm' not in op.yaml.get('flags', ()):
            continue
        try:
            # genetlink refuses these before the family sees them: no extack
            expect_nlerror(f'{op.name} as nobody', lambda o=op: fam.do(o.name, {}), errno.EPERM,
                           extack=False)
        except Failure as e:
            errs.append(str(e))
    for grp in ctx.spec.mcast_groups.values():
        if 'admin-perm' not in grp.yaml.get('flags', ()):
            continue
        try:
            ctx.family().ntf_subscribe(grp.name)
            errs.append(f'group {grp.name}: a caller without CAP_NET_ADMIN joined it')
        except PermissionError:
            pass
    return errs


def case_unprivileged(ctx):
    """Without CAP_NET_ADMIN: status-get works; admin-perm commands and
    groups are refused (EPERM)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            errs = unprivileged(ctx)
            os.write(wfd, json.dumps(errs).encode())
            code = 0
        finally:
            os._exit(code)  # pylint: disable=protected-access
    os.close(wfd)
    with os.fdopen(rfd) as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    check(status == 0 and out, f'the unprivileged child failed (status {status})')
    errs = json.loads(out)
    check(not errs, '\n'.join(errs))
    n = sum('admin-perm' in o.yaml.get('flags', ()) for o in
            [*ctx.spec.ops.values(), *ctx.spec.mcast_groups.values()])
    return f'status-get allowed; {n} admin-perm operations and groups refused'


# The test board again, with a bolt sensor on line 18: a move counts when the
# sensor confirms it within bolt_confirm_ms, with bolt_retries more drives.
SENSOR_BOARD = {'bolt_sensor': 1, 'bolt_confirm_ms': 2500, 'bolt_retries': 1}


def events_between(ctx, since, last, **attrs):
    """The events from the mark since up to the event last, that have attrs."""
    msgs = [m['msg'] for m in ctx.evs.msgs[since:]]
    msgs = msgs[:msgs.index(last) + 1]
    return [ev for ev in msgs if all(ev.get(k) == v for k, v in attrs.items())]


def case_bolt_sensor(ctx):
    """The test board reloaded with a bolt sensor (the test plays the bolt's
    mechanics on the sensor line).  A grant whose move the sensor confirms:
    UNLOCKED only then, a bolt-confirmed event each way.  A grant whose bolt
    never gets there: driven once per try (a bolt event each), then a fault
    event (jam-open) and FAULT; fault-clear from the verifier (refused onto
    an open door) relocks, the sensor confirms, a fault event (none) says it
    is cleared.  This board's events are checked as case_event checked the
    first board's (the group stays joined: they start at seq 1 again)."""
    tries = SENSOR_BOARD['bolt_retries'] + 1
    confirm_s = SENSOR_BOARD['bolt_confirm_ms'] / 1000
    start = ctx.evs.mark()
    ctx.board.down()
    ctx.board.up(**SENSOR_BOARD)
    ctx.policy = None		# a new lock: the driver's and the board's defaults
    wait_until(lambda: 'keypad' in ctx.status()['flags'], 5, 'the driver takes the keypad')
    st = status_check(ctx, 'unprovisioned', ['keypad'], ['verifier', 'bolt-sensor-open'],
                      via_cli=False)
    check(st['seq'] == 0, f'a new lock whose status seq is {st["seq"]}')
    register_verifier(ctx, start)

    # The sensor follows the bolt: bolt-confirmed 1, UNLOCKED, and 0, LOCKED.
    req = finish_entry(ctx, 6, begin_entry(ctx, 6))
    m = ctx.evs.mark()
    verdict(ctx, req, result='granted')
    drove = ctx.event(m, 'bolt retracted', event='bolt', value=1)
    check(drove['state'] == 'verifying', f'bolt driven in state {drove["state"]}')
    check(ctx.status()['state'] == 'verifying', 'unlocked before the sensor confirmed it')
    ctx.board.drive(SENSOR, True)
    ev = ctx.event(m, 'bolt-confirmed (retracted)', event='bolt-confirmed', value=1)
    expect_msg(ctx.spec, 'bolt-confirmed event', ev, 'event', 'event')
    check(ev['state'] == 'unlocked', f'bolt-confirmed (1) in state {ev["state"]}')
    check(ev['timestamp-ns'] > drove['timestamp-ns'], 'confirmed before it was driven')
    ctx.event(m, 'state unlocked', event='state', state='unlocked')
    check('bolt-sensor-open' in ctx.status()['flags'], 'no bolt-sensor-open flag')
    drove = ctx.event(m, 'the relock drives the bolt', event='bolt', value=0,
                      timeout=Board.PARAMS['relock_ms'] / 1000 + 5)
    check(drove['state'] == 'relocking', f'bolt thrown in state {drove["state"]}')
    ctx.board.drive(SENSOR, False)
    ev = ctx.event(m, 'bolt-confirmed (thrown)', event='bolt-confirmed', value=0)
    check(ev['state'] == 'locked', f'bolt-confirmed (0) in state {ev["state"]}')
    ctx.event(m, 'state locked', event='state', state='locked')
    faults = events_between(ctx, m, ev, event='fault')
    check(not faults, f'fault events on a bolt that moved: {faults}')

    # The sensor stays put: a bolt event per try, then the fault.
    req = finish_entry(ctx, 7, begin_entry(ctx, 7))
    m = ctx.evs.mark()
    verdict(ctx, req, result='granted')
    fault = ctx.event(m, 'a fault event', event='fault', timeout=tries * confirm_s + 10)
    expect_msg(ctx.spec, 'fault event', fault, 'event', 'event')
    check(fault['value'] == enum_value(ctx.spec, 'fault', 'jam-open'),
          f'fault event: value {fault["value"]}, expected jam-open')
    check(fault['state'] == 'fault', f'fault event in state {fault["state"]}')
    drives = events_between(ctx, m, fault, event='bolt')
    check([d['value'] for d in drives] == [1] * tries,
          f'bolt events {[d["value"] for d in drives]}, expected {tries} drives towards 1')
    took = (fault['timestamp-ns'] - drives[0]['timestamp-ns']) / 1e9
    check(took >= tries * confirm_s - 0.05, f'a fault {took:.2f} s after the first drive')
    check(not events_between(ctx, m, fault, event='bolt-confirmed'), 'a confirmation')
    check(not events_between(ctx, m, fault, event='state', state='unlocked'), 'unlocked')
    ctx.event(m, 'state fault', event='state', state='fault')
    st = ctx.status()
    check(st['state'] == 'fault' and 'bolt-open' not in st['flags'] and
          ctx.board.line(BOLT) == 0, f'in fault: {st}, bolt line {ctx.board.line(BOLT)}')

    # Cleared: never onto an open door; then relocked, confirmed, fault none.
    ctx.board.drive(DOOR, True)
    ctx.event(m, 'door open', event='door', value=1)
    expect_nlerror('fault-clear with the door open',
                   lambda: ctx.ver.do('fault-clear', {'device': 0}),
                   errno.EBUSY, 'the door is open')
    ctx.board.drive(DOOR, False)
    ctx.event(m, 'door closed', event='door', value=0)
    check(ctx.status()['state'] == 'fault', 'the fault went away by itself')
    m = ctx.evs.mark()
    check(ctx.ver.do('fault-clear', {'device': 0}) is None,
          'fault-clear: a reply, the spec has none')
    ctx.event(m, 'state relocking', event='state', state='relocking')
    ctx.event(m, 'bolt-confirmed (thrown)', event='bolt-confirmed', value=0)
    ev = ctx.event(m, 'the fault cleared', event='fault',
                   value=enum_value(ctx.spec, 'fault', 'none'))
    check(ev['state'] == 'locked', f'fault cleared in state {ev["state"]}')
    ctx.event(m, 'state locked', event='state', state='locked')

    ctx.ver.close()
    ctx.event(m, 'the verifier gone', event='verifier', value=0)
    wait_until(lambda: 'verifier' not in ctx.status()['flags'], 5, 'verifier flag cleared')
    return f'bolt-confirmed 1 and 0; a jam after {tries} drives: fault jam-open, ' \
           f'cleared by fault-clear; this board: {check_events(ctx, start)}'


# Every operation and multicast group of the spec needs an entry here, in the
# order the scenario runs them: (kind, name, function).
CASES = [
    ('op', 'status-get', case_status_get),
    ('op', 'verifier-register', case_verifier_register),
    ('op', 'policy-set', case_policy_set),
    ('op', 'policy-get', case_policy_get),
    ('op', 'entry-begin', case_entry_begin),
    ('op', 'entry-user', case_entry_user),
    ('op', 'verify', case_verify),
    ('op', 'verdict', case_verdict),
    ('extra', 'immediate time lock: time-lock events', case_time_lock),
    ('op', 'clock-set', case_clock_jump),
    ('extra', 'time-delay override by two users: override event', case_override),
    ('op', 'fault-clear', case_fault_clear),
    ('op', 'duress-alarm', case_duress_alarm),
    ('group', 'events', case_group_events),
    ('op', 'event', case_event),
    ('extra', 'hostile attributes refused with extack', case_hostile),
    ('extra', 'unprivileged caller', case_unprivileged),
    ('extra', 'a board with a bolt sensor: bolt-confirmed and fault events', case_bolt_sensor),
]

# ------------------------------------------------------------------ self-check

def load_yaml(path):
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def write_spec(orig, y, path):
    with open(orig, encoding='utf-8') as f:
        first = f.readline()	# the SPDX line YNL insists on
    with open(path, 'w', encoding='utf-8') as f:
        f.write(first)
        yaml.safe_dump(y, f, sort_keys=False)
    return path


def find_attr(y, name):
    for s in y['attribute-sets']:
        for a in s['attributes']:
            if a['name'] == name:
                return a
    raise Failure(f'mutation: no attribute {name} in the spec')


def find_def(y, name):
    for d in y.get('definitions', []):
        if d['name'] == name:
            return d
    raise Failure(f'mutation: no definition {name} in the spec')


def swap(lst, a, b, key=lambda x: x['name'] if isinstance(x, dict) else x):
    i = [key(x) for x in lst].index(a)
    j = [key(x) for x in lst].index(b)
    lst[i], lst[j] = lst[j], lst[i]


def mut_type(y):
    find_attr(y, 'seq')['type'] = 'u32'


def mut_op_order(y):
    # two commands whose flags differ (policy-set and policy-get both need
    # CAP_NET_ADMIN now): status-get is open to anyone and has a dump
    swap(y['operations']['list'], 'status-get', 'policy-get')


def mut_enum(y):
    swap(find_def(y, 'state')['entries'], 'locked', 'entry')


def mut_range(y):
    find_attr(y, 'open-window-s')['checks']['min'] += 1


def mut_group(y):
    y['mcast-groups']['list'][0]['name'] = 'alerts'
    for op in y['operations']['list']:
        if op.get('mcgrp') == 'events':
            op['mcgrp'] = 'alerts'


def final_status(ctx):
    status_check(ctx, 'locked', ['keypad'], ['verifier'], via_cli=False)


# (what the mutation does, the mutation, the check that must catch it, a
# text its complaint must contain: caught for the right reason)
MUTATIONS = [
    ('attribute seq declared u32 (it is u64)', mut_type, final_status,
     "Error decoding 'seq'"),
    ('status-get and policy-get swapped (their command values)', mut_op_order, check_family,
     'status-get ('),
    ('state entries locked and entry swapped', mut_enum, final_status,
     'state entry, expected locked'),
    ('open-window-s min one above the kernel\'s', mut_range, check_policies,
     'open-window-s: kernel range'),
    ('group events renamed alerts', mut_group, check_family,
     "kernel ['events'], spec ['alerts']"),
]


def self_check(ctx, n, what, mutate, guard, text):
    y = load_yaml(ctx.spec_path)
    mutate(y)
    path = write_spec(ctx.spec_path, y, f'/tmp/ynl-mutated-{n}.yaml')
    mctx = Ctx(ctx.args, path)
    mctx.q = mctx.family()
    said = io.StringIO()	# YNL prints what it failed to decode
    try:
        with contextlib.redirect_stdout(said):
            guard(mctx)
    except Exception as e:  # pylint: disable=broad-except
        why = said.getvalue() + str(e)
        check(text in why, f'{guard.__name__} failed, but not on the mutation '
              f'(no "{text}" in its complaint):\n{why}')
        return f'{guard.__name__} caught it ("{text}")'
    finally:
        mctx.q.close()
    raise Failure(f'a spec with {what} passed {guard.__name__}')

# ------------------------------------------------------------------ main

def run_one(tap, name, fn, *args):
    """One TAP line for fn(*args); what YNL prints meanwhile (what it could
    not decode, say) goes into the line's diagnostics."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            note = fn(*args)
        tap.result(True, f'{name}{": " + note if note else ""}', said.getvalue())
    except Failure as e:
        tap.result(False, name, said.getvalue() + str(e))
    except Exception:  # pylint: disable=broad-except
        tap.result(False, name, said.getvalue() + traceback.format_exc())


def list_modules(args):
    """The files of the modules this test and cli.py import, for a minimal
    guest: import what they import, and what they load only when used."""
    # pylint: disable=import-outside-toplevel,unused-import
    import importlib.util
    import encodings.ascii
    import encodings.latin_1
    import encodings.utf_8
    spec = importlib.util.spec_from_file_location('ynl_cli', args.cli)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    SpecFamily(args.spec, '')
    json.loads(json.dumps({'a': [1]}))
    try:
        raise Failure('x')
    except Failure:
        traceback.format_exc()
    for m in list(sys.modules.values()):
        f = getattr(m, '__file__', None)
        if not f:
            continue
        f = os.path.abspath(f)
        pyc = importlib.util.cache_from_source(f) if f.endswith('.py') else ''
        print(f, pyc)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--spec', default=os.path.join(HERE, 'safelock.yaml'))
    p.add_argument('--ynl', required=True, help="a 7.3 tree's tools/net/ynl/pyynl")
    p.add_argument('--nlctrl', help="the tree's nlctrl.yaml (default: next to --ynl's cli.py)")
    p.add_argument('--moddir', default=HERE, help='where safelock.ko and the test board are')
    p.add_argument('--list-modules', action='store_true')
    args = p.parse_args()
    args.cli = os.path.join(args.ynl, 'cli.py')
    args.nlctrl = args.nlctrl or os.path.join(args.ynl, 'nlctrl.yaml')
    load_ynl(args.ynl)
    if args.list_modules:
        list_modules(args)
        return 0

    t0 = time.monotonic()
    ctx = Ctx(args, args.spec)
    spec = ctx.spec
    calls = [o.name for o in spec.msgs.values() if not o.is_resv]
    covered = {n for k, n, _ in CASES if k == 'op'}
    groups = {n for k, n, _ in CASES if k == 'group'}
    uncovered = [('operation', o) for o in calls if o not in covered]
    uncovered += [('multicast group', g) for g in spec.mcast_groups if g not in groups]
    tap = Tap(2 + len(CASES) + len(uncovered) + 1 + len(MUTATIONS))

    ctx.board = Board(args.moddir)
    board_err = None
    try:
        ctx.board.up()
        ctx.q = ctx.family()
        ctx.evs = Inbox(ctx.family())
        ctx.evs.fam.ntf_subscribe('events')
    except Exception:  # pylint: disable=broad-except
        board_err = traceback.format_exc()

    def guarded(fn):
        def run(*a):
            nonlocal board_err
            if board_err:
                err, board_err = board_err, 'no board or no family (see the first failure)'
                raise Failure(err)
            return fn(*a)
        return run

    run_one(tap, 'family: commands, flags and groups as the spec says (nlctrl)',
            guarded(check_family), ctx)
    run_one(tap, 'request policies as the spec says (policy introspection)',
            guarded(check_policies), ctx)
    for kind, name, fn in CASES:
        label = {'op': 'operation ', 'group': 'multicast group '}.get(kind, '') + name
        if kind == 'op' and name not in calls or kind == 'group' and name not in spec.mcast_groups:
            tap.result(False, label, f'the spec has no {kind} {name}: remove its case')
            continue
        run_one(tap, label, guarded(fn), ctx)
    for kind, name in uncovered:
        tap.result(False, f'{kind} {name}',
                   f'no conformance case: add one to CASES in {os.path.basename(__file__)}')

    types = spec.consts['event-type'].entries
    seen = {m['msg'].get('event') for m in (ctx.evs.msgs if ctx.evs else [])}
    missing = [t for t in types if t not in seen]
    tap.result(not missing, 'every event type seen on the group' +
               ('' if missing else f': all {len(types)}'),
               f'never seen: {", ".join(missing)}' if missing else None)

    for i, (what, mutate, guard, text) in enumerate(MUTATIONS):
        run_one(tap, f'self-check: a spec with {what} fails',
                guarded(self_check), ctx, i, what, mutate, guard, text)

    if ctx.board:
        try:
            ctx.board.down()
        except Exception:  # pylint: disable=broad-except
            print('# board teardown: ' + traceback.format_exc().replace('\n', '\n# '))
    print(f'# {tap.n - tap.failed} passed, {tap.failed} failed in {time.monotonic() - t0:.1f} s')
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
