// A task in a network namespace of its own (unshare -n): an unmodified
// python3 program with loopback up and an extra address on it, a veth to
// the host's namespace with an address and a route, an iptables rule,
// sysctls, a TCP listener and an established connection on that address, a
// UDP socket and a unix socketpair (lib/netns-fixture.ts). Dumped with
// --tcp-established (the namespace locked as a whole meanwhile), killed —
// its namespace goes with it — and restored into a new one: the
// namespace's links, addresses, routes, firewall and sysctls are as they
// were, the veth's outer end is back in the host under the name given
// (--external veth[vin]:NAME, or --veth-pair vin=NAME), no lock is left,
// and the conversation goes on over the same connection with no byte lost
// or repeated. Both ways with upstream CRIU 4.2 too.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries, readOne } from '@criu-ts/images';
import { alive, killAndReap, waitFor } from '../libs/restore/test/live.js';
import { hostUp, inNs, lastGot, netNsState, startNetNsProgram, waitProgress, type NetNsProgram } from './lib/netns-fixture.js';
import { toolPath } from './lib/workspace.js';
import { dumpWith, logTail, restoreWith, skipWithoutUpstream, type Side } from './lib/upstream.js';

t.setTimeout(300_000);

function checkImages(t: Test, images: string, method: 'iptables' | 'nftables'): void {
  const ids = readOne(images, 'ids', readEntries(images, 'pstree')[0]!.pid);
  const criuNet = readOne(images, 'inventory').root_ids?.net_ns_id;
  t.ok(ids.net_ns_id !== undefined && ids.net_ns_id !== criuNet, `the task's network namespace (${ids.net_ns_id}) is its own, not criu's (${criuNet})`);
  const id = ids.net_ns_id!;
  const links = readEntries(images, 'netdev', id);
  t.same(links.map((l) => l.name).sort(), ['lo', 'vin'], 'netdev image: lo and the veth');
  t.equal(links.find((l) => l.name === 'vin')?.mtu, 1400, "the veth's MTU");
  for (const kind of ['netns', 'ifaddr', 'route', 'route6', 'rule', 'nftables'] as const) t.ok(existsSync(join(images, `${kind}-${id}.img`)), `${kind}-${id}.img`);
  t.match(readFileSync(join(images, `nftables-${id}.img`), 'utf8'), method === 'iptables' ? /jump CRIU/ : /table inet CRIU-[\s\S]*policy drop/, `the namespace's lock (${method}) is in its saved rules`);
  t.match(readFileSync(join(images, `nftables-${id}.img`), 'utf8'), /192\.0\.2\.99/, "the namespace's own rule is saved");
}

function hostLink(name: string): boolean {
  return spawnSync('ip', ['link', 'show', name], { timeout: 10_000 }).status === 0;
}

function roundTrip(t: Test, dump: Side, restore: Side, outerOption: (outer: string) => string[], method: 'iptables' | 'nftables' = 'iptables'): void {
  const program: NetNsProgram = startNetNsProgram(t, dump === restore ? 'a' : dump === 'ours' ? 'b' : 'c');
  const before = netNsState(program.pid);
  const images = dumpWith(dump, t, program.dir, program.pid, ['--tcp-established', '--network-lock', method, `--external=veth[vin]:${program.outer}`]);
  checkImages(t, images, method);
  // the kernel takes a dead namespace's links down asynchronously
  waitFor("the veth's outer end to go with the killed namespace", () => !hostLink(program.outer), 10_000);
  t.notOk(hostLink(program.outer), "the veth's outer end went with the killed namespace");
  const got = lastGot(program.out);
  const status = restoreWith(restore, program.out, images, ['--tcp-established', ...outerOption(program.outer)]);
  t.equal(status, 0, `restored by ${restore}`, { diagnostic: status !== 0, log: logTail(images, 'restore.log', 40) });
  t.teardown(() => killAndReap(program.pid));
  if (status !== 0) return;
  t.ok(hostLink(program.outer), `the veth's outer end is back in the host as ${program.outer}`);
  hostUp(program.outer);
  waitFor('the veth to have a carrier', () => !netNsState(program.pid).routes.some((route) => /linkdown/.test(route)), 10_000);
  waitProgress(program, got, 'the conversation to go on after the restore');
  t.same(netNsState(program.pid), before, 'links, addresses, routes, firewall and sysctls as they were (the lock removed)');
  const out = readFileSync(program.out, 'utf8');
  t.notMatch(out, /BAD|eof|Error|Traceback/, 'every line came back once and in order, the unix pair works');
  t.ok(lastGot(program.out) > got, `the conversation went on (${got} → ${lastGot(program.out)} lines)`);
  t.ok(alive(program.pid), 'the program runs');
}

t.test('ours both ways, the outer end named by --external veth[vin]:NAME', async (t) => roundTrip(t, 'ours', 'ours', (outer) => [`--external=veth[vin]:${outer}`]));
t.test('ours both ways, the outer end named by --veth-pair vin=NAME, --network-lock nftables', async (t) => roundTrip(t, 'ours', 'ours', (outer) => ['--veth-pair', `vin=${outer}`], 'nftables'));

for (const [dump, restore] of [['ours', 'upstream'], ['upstream', 'ours']] as const) {
  t.test(`dumped by ${dump}, restored by ${restore}`, { skip: skipWithoutUpstream() }, async (t) => roundTrip(t, dump, restore, (outer) => [`--external=veth[vin]:${outer}`]));
}

t.test('a veth whose outer end is not named is refused on restore, leaving nothing', async (t) => {
  const program = startNetNsProgram(t, 'd');
  const images = dumpWith('ours', t, program.dir, program.pid, ['--tcp-established']);
  const status = restoreWith('ours', program.out, images, ['--tcp-established']);
  t.not(status, 0, 'restore fails');
  t.match(logTail(images, 'restore.log', 40), /veth vin: its peer was outside the dumped network namespace; name the outer end with --external veth\[vin\]:NAME/, 'the error names the veth and the option');
  t.notOk(alive(program.pid), 'no task is left');
  waitFor('the namespace of the failed restore to go', () => !hostLink(program.outer), 10_000);
  t.notOk(hostLink(program.outer), 'no veth end is left in the host');
});

t.test('a dump that fails once the namespace is locked leaves it unlocked and the program running', async (t) => {
  const program = startNetNsProgram(t, 'e');
  const before = netNsState(program.pid);
  for (const method of ['iptables', 'nftables']) {
    const images = join(program.dir, `img-${method}`);
    mkdirSync(images);
    const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(program.pid), '-D', images, '-o', 'dump.log', '-v4', '--tcp-established', '--network-lock', method], {
      env: { ...process.env, CRIU_FAULT: '1004' }, timeout: 120_000,
    });
    t.not(run.status, 0, `the dump fails (CRIU_FAULT=1004, ${method})`);
    t.match(logTail(images, 'dump.log', 40), /locked/, 'the namespace had been locked');
    const got = lastGot(program.out);
    waitProgress(program, got, `the program to go on after the failed dump (${method})`, 200);
    t.same(netNsState(program.pid), before, `no lock left in the namespace, the rest as it was (${method})`);
    t.notMatch(inNs(program.pid, ['nft', 'list', 'ruleset']), /CRIU/, 'no CRIU chain or table in the namespace');
  }
  t.notMatch(readFileSync(program.out, 'utf8'), /BAD|eof|Error|Traceback/, 'the conversation went on unharmed');
});
