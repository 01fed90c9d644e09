// A task's network namespace that the restore does not fill from the
// images, as container runtimes use it (lib/netns-fixture.ts's python3
// program, a TCP connection on the namespace's loopback):
// - an external namespace, as runc passes one: dumped with --external
//   net[INODE]:KEY (netns-ID.img holds only the key), kept alive by its
//   bind mount (ip netns), given back to the restore with --inherit-fd
//   fd[N]:KEY; the task is back in that very namespace, its state as it was
//   and unlocked — ours both ways, and with upstream CRIU 4.2 both ways;
// - --empty-ns net: a new, empty namespace that the setup-namespaces action
//   script sets up (loopback and the address), locked again after it and
//   unlocked at the end; the connection goes on.
// And the action-script stages criu(8) runs for a namespace: network-lock
// on dump, setup-namespaces, post-setup-namespaces and network-unlock on
// restore.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries, readOne } from '@criu-ts/images';
import { alive, killAndReap, waitFor } from '../libs/restore/test/live.js';
import { actionScript, inNs, lastGot, namedNetNs, netNsState, startNetNsProgram, waitProgress } from './lib/netns-fixture.js';
import { dumpWith, logTail, skipWithoutUpstream, upstreamCriu, type Side } from './lib/upstream.js';
import { toolPath } from './lib/workspace.js';

t.setTimeout(300_000);

/** criu restore (ours or upstream's) with the namespace file open as its fd 3 and --inherit-fd fd[3]:KEY. */
function restoreWithNs(side: Side, out: string, images: string, nsPath: string, args: readonly string[]): number {
  const criu = side === 'ours' ? [process.execPath, toolPath('criu-restore')] : [upstreamCriu()!, 'restore'];
  const run = spawnSync('sh', ['-c', 'exec "$@" 3<"$NS" >>"$OUT" 2>&1 </dev/null', 'sh', ...criu, '-D', images, '-d', '-v4', '-o', 'restore.log', ...args], {
    env: { ...process.env, OUT: out, NS: nsPath }, timeout: 120_000,
  });
  return run.status ?? -1;
}

for (const [dump, restore] of [['ours', 'ours'], ['ours', 'upstream'], ['upstream', 'ours']] as const) {
  const skip = dump === 'ours' && restore === 'ours' ? false : skipWithoutUpstream();
  t.test(`an external namespace (--external net[INODE]:KEY, --inherit-fd): dumped by ${dump}, restored by ${restore}`, { skip }, async (t) => {
    const nsPath = namedNetNs(t, `ext${dump[0]}${restore[0]}`);
    const program = startNetNsProgram(t, `x${dump[0]}${restore[0]}`, nsPath);
    const inode = statSync(nsPath).ino;
    const before = netNsState(program.pid);
    const actions = actionScript(program.dir);
    const images = dumpWith(dump, t, program.dir, program.pid, ['--tcp-established', `--external=net[${inode}]:extRootNetNS`, '--action-script', actions.script]);
    const id = readOne(images, 'ids', readEntries(images, 'pstree')[0]!.pid).net_ns_id!;
    t.same(readEntries(images, 'netns', id), [{ ext_key: 'extRootNetNS' }], 'netns image: only the key');
    t.notOk(existsSync(join(images, `netdev-${id}.img`)), 'no links saved');
    t.ok(actions.stages().includes('network-lock'), 'network-lock ran on dump');
    const locked = spawnSync('nsenter', [`--net=${nsPath}`, 'nft', 'list', 'ruleset'], { encoding: 'utf8', timeout: 10_000 }).stdout;
    t.match(locked, /jump CRIU/, 'the namespace stays locked between dump and restore');
    const got = lastGot(program.out);
    const status = restoreWithNs(restore, program.out, images, nsPath, ['--tcp-established', '--inherit-fd', 'fd[3]:extRootNetNS', '--action-script', actions.script]);
    t.equal(status, 0, `restored by ${restore}`, { diagnostic: status !== 0, log: logTail(images, 'restore.log', 40) });
    t.teardown(() => killAndReap(program.pid));
    if (status !== 0) return;
    t.equal(statSync(`/proc/${program.pid}/ns/net`).ino, inode, 'the task is back in that namespace');
    waitProgress(program, got, 'the conversation to go on after the restore');
    t.same(netNsState(program.pid), before, 'its state as it was, the lock removed');
    t.notMatch(readFileSync(program.out, 'utf8'), /BAD|eof|Error|Traceback/, 'every line came back once and in order');
    if (restore === 'ours') t.ok(actions.stages().includes('network-unlock'), 'network-unlock ran on restore');
    t.ok(alive(program.pid), 'the program runs');
  });
}

t.test('--empty-ns net: the setup-namespaces script sets the new namespace up; locked after it, unlocked at the end', async (t) => {
  const program = startNetNsProgram(t, 'em');
  const images = dumpWith('ours', t, program.dir, program.pid, ['--tcp-established']);
  const actions = actionScript(program.dir, 'ip link set lo up; ip addr add 10.9.9.9/32 dev lo');
  const got = lastGot(program.out);
  const run = spawnSync('sh', ['-c', 'exec "$@" >>"$OUT" 2>&1 </dev/null', 'sh', process.execPath, toolPath('criu-restore'), '-D', images, '-d', '-v4', '-o', 'restore.log',
    '--tcp-established', '--empty-ns', 'net', '--action-script', actions.script], { env: { ...process.env, OUT: program.out }, timeout: 120_000 });
  t.equal(run.status, 0, 'restored', { diagnostic: run.status !== 0, log: logTail(images, 'restore.log', 40) });
  t.teardown(() => killAndReap(program.pid));
  if (run.status !== 0) return;
  const stages = actions.stages();
  t.ok(stages.indexOf('setup-namespaces') >= 0 && stages.indexOf('setup-namespaces') < stages.indexOf('post-setup-namespaces'), 'setup-namespaces, then post-setup-namespaces');
  t.ok(stages.indexOf('post-setup-namespaces') < stages.indexOf('network-unlock'), 'network-unlock after them');
  t.match(logTail(images, 'restore.log', 400), /network namespace \S+ locked/, 'the lock put back after the script');
  waitProgress(program, got, 'the conversation to go on after the restore');
  const links = (JSON.parse(inNs(program.pid, ['ip', '-j', 'link'])) as { ifname: string }[]).map((l) => l.ifname);
  t.same(links, ['lo'], 'only what the script made: no link from the images');
  t.notMatch(inNs(program.pid, ['nft', 'list', 'ruleset']), /CRIU/, 'no lock left');
  t.notMatch(readFileSync(program.out, 'utf8'), /BAD|eof|Error|Traceback/, 'every line came back once and in order');
  waitFor('the program to run on', () => alive(program.pid), 1000);
});
