// A python3 program in a network namespace of its own (unshare -n), for
// the network namespace tests: the test sets the namespace up from outside
// (nsenter) — loopback up with an extra address, a veth whose other end is
// in the host's namespace, an address and a route on it, an iptables rule,
// sysctls — then lets the program go: it listens on the extra address,
// connects to itself and talks over that connection, checking every line
// comes back once and in order, and holds a UDP socket and a unix
// socketpair too. Plus a snapshot of the namespace's state (addresses,
// routes, rules, firewall, sysctls) to compare before and after, and a
// teardown that removes the host's veth end whatever happened.
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackground, waitFor, waitOutput } from '../../libs/restore/test/live.js';
import { scratchDir } from './fixtures.js';

const PROGRAM = `
import os, select, socket, sys, time
d = sys.argv[1]
while not os.path.exists(os.path.join(d, 'go')):
    time.sleep(0.01)
ls = socket.socket()
ls.bind(('10.9.9.9', 7000))
ls.listen(4)
c = socket.create_connection(('10.9.9.9', 7000))
s, _ = ls.accept()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 7001))
a, b = socket.socketpair()
print('ready', flush=True)
n, expect, buf, pad = 0, 0, b'', b'.' * 100
while True:
    c.sendall(b''.join(b'%d %s\\n' % (i, pad) for i in range(n, n + 50)))
    n += 50
    while expect < n:
        select.select([s], [], [], 5)
        data = s.recv(65536)
        if not data:
            print('eof', flush=True)
            sys.exit(1)
        buf += data
        lines = buf.split(b'\\n')
        buf = lines.pop()
        for line in lines:
            if int(line.split(b' ')[0]) != expect:
                print('BAD', line[:20], 'expected', expect, flush=True)
                sys.exit(1)
            expect += 1
    a.send(b'x')
    if b.recv(1) != b'x':
        print('BAD unix', flush=True)
        sys.exit(1)
    print('got', expect, flush=True)
    time.sleep(0.01)
`;

export interface NetNsProgram {
  dir: string;
  pid: number;
  out: string;
  /** the veth's end in the host's namespace */
  outer: string;
}

/** Runs a command in pid's network namespace; throws unless it exits 0. */
export function inNs(pid: number, argv: readonly string[], input?: string): string {
  const run = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...argv], { encoding: 'utf8', timeout: 30_000, input });
  if (run.status !== 0) throw new Error(`${argv.join(' ')} in pid ${pid}'s namespace: ${run.stderr}`);
  return run.stdout;
}

/** Brings the host's end of the veth up (restore leaves it down, as upstream: its state is the host's). */
export function hostUp(name: string): void {
  const run = spawnSync('ip', ['link', 'set', name, 'up'], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) throw new Error(`ip link set ${name} up: ${run.stderr}`);
}

function removeLink(name: string): void {
  spawnSync('ip', ['link', 'del', name], { timeout: 10_000 });
}

const SETUP: readonly (readonly string[])[] = [
  ['ip', 'link', 'set', 'lo', 'up'],
  ['ip', 'addr', 'add', '10.9.9.9/32', 'dev', 'lo'],
  ['ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'vin'],
  ['ip', 'link', 'set', 'vin', 'mtu', '1400', 'up'],
  ['ip', 'route', 'add', '10.78.0.0/16', 'via', '10.77.0.1'],
  ['iptables', '-w', '-A', 'INPUT', '-s', '192.0.2.99', '-j', 'DROP'],
  ['sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=1'],
  ['sysctl', '-q', '-w', 'net.ipv4.conf.vin.rp_filter=2'],
  ['sysctl', '-q', '-w', 'net.ipv6.conf.default.hop_limit=33'],
  ['sysctl', '-q', '-w', 'net.unix.max_dgram_qlen=42'],
  ['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 100'],
];

/**
 * Starts the program in its namespace — a new one (unshare -n), or the one
 * at `netnsPath` (nsenter) — sets the namespace up, lets it run; waits for
 * its conversation.
 */
export function startNetNsProgram(t: Test, tag: string, netnsPath?: string): NetNsProgram {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'prog.py'), PROGRAM);
  const out = join(dir, 'prog.out');
  const outer = `cr${tag}${process.pid % 10000}`.slice(0, 15);
  removeLink(outer);
  t.teardown(() => removeLink(outer));
  const enter = netnsPath === undefined ? ['/usr/bin/unshare', '-n'] : ['/usr/bin/nsenter', `--net=${netnsPath}`];
  const pid = startBackground(t, out, enter[0]!, [...enter.slice(1), '/usr/bin/python3', join(dir, 'prog.py'), dir]);
  // setsid and unshare exec in turn: the program is there once python3 runs in a namespace other than ours
  const own = readlinkSync('/proc/self/ns/net');
  waitFor('the program in its namespace', () => readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python3') && readlinkSync(`/proc/${pid}/ns/net`) !== own, 20_000);
  inNs(pid, ['ip', 'link', 'add', 'vin', 'type', 'veth', 'peer', 'name', outer, 'netns', String(process.pid)]);
  for (const argv of SETUP) inNs(pid, argv);
  // the outer end up: the veth has a carrier (ip cannot restore a route saved as linkdown, upstream neither)
  hostUp(outer);
  writeFileSync(join(dir, 'go'), '');
  waitOutput(out, /got \d+/, 30_000);
  return { dir, pid, out, outer };
}

export const lastGot = (out: string): number => Number([...readFileSync(out, 'utf8').matchAll(/got (\d+)/g)].pop()?.[1] ?? -1);

/** Waits until the program got `more` lines beyond `since`. */
export function waitProgress(program: NetNsProgram, since: number, what: string, more = 500): void {
  waitFor(what, () => lastGot(program.out) >= since + more || /BAD|eof|Error/.test(readFileSync(program.out, 'utf8')), 60_000);
}

const SYSCTLS = [
  'net.ipv4.conf.all.forwarding', 'net.ipv4.conf.vin.rp_filter', 'net.ipv6.conf.default.hop_limit', 'net.unix.max_dgram_qlen',
  'net.ipv4.ping_group_range', 'net.ipv4.conf.lo.rp_filter', 'net.ipv6.conf.vin.mtu',
];

interface JsonLink {
  ifname: string;
  mtu: number;
  flags: string[];
  address?: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

/** What the namespace holds, in a form that survives a restore (no counters, no peer indexes). */
export function netNsState(pid: number): { links: unknown[]; routes: string[]; firewall: string[]; sysctls: Record<string, string> } {
  const links = (JSON.parse(inNs(pid, ['ip', '-j', 'addr'])) as JsonLink[]).map((l) => ({
    name: l.ifname, mtu: l.mtu, flags: [...l.flags].sort(), address: l.address,
    addresses: l.addr_info.map((a) => `${a.family} ${a.local}/${a.prefixlen} ${a.scope}`).sort(),
  }));
  const routes = inNs(pid, ['ip', 'route']).trim().split('\n').sort();
  const firewall = inNs(pid, ['iptables-save']).split('\n').filter((line) => !line.startsWith('#')).map((line) => line.replace(/\[\d+:\d+\]/, '')).filter((line) => line !== '');
  const sysctls = Object.fromEntries(SYSCTLS.map((name) => [name, inNs(pid, ['sysctl', '-n', name]).trim().replace(/\s+/g, ' ')]));
  return { links, routes, firewall, sysctls };
}

/** A named network namespace (ip netns add), deleted on teardown; its path. */
export function namedNetNs(t: Test, tag: string): string {
  const name = `criu-ts-${tag}-${process.pid}`;
  spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
  const run = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) throw new Error(`ip netns add ${name}: ${run.stderr}`);
  t.teardown(() => spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 }));
  return `/run/netns/${name}`;
}

/** An --action-script that appends each stage to FILE and, at setup-namespaces, runs SETUP in the root's namespace. */
export function actionScript(dir: string, setup = ''): { script: string; stages: () => string[] } {
  const log = join(dir, 'stages');
  const script = join(dir, 'action.sh');
  writeFileSync(script, `#!/bin/sh\necho "$CRTOOLS_SCRIPT_ACTION" >> ${log}\n[ "$CRTOOLS_SCRIPT_ACTION" = setup-namespaces ] && nsenter --net=/proc/$CRTOOLS_INIT_PID/ns/net sh -c '${setup}'\nexit 0\n`, { mode: 0o755 });
  return { script, stages: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}
