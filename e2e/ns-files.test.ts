// Open namespace files (/proc/self/ns/*) end to end, held by an unmodified
// python3: dumped as files.img NS entries naming the dump's namespace ids
// (what upstream writes), restored as the same namespaces, by ours and —
// in both directions — by upstream CRIU 4.2; a namespace file of a
// namespace the tree does not live in is refused by name, the tree left
// running.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { alive, startBackground, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

// opens three namespace files, says which fds, and on each SIGUSR1 prints what they are
const HOLDER = `
import os, signal, sys
kinds = ['net', 'uts', 'ipc']
fds = [os.open('/proc/self/ns/' + k, os.O_RDONLY) for k in kinds]
def report(*_):
    same = all(os.fstat(fd).st_ino == os.stat('/proc/self/ns/' + k).st_ino for fd, k in zip(fds, kinds))
    print('now', ' '.join(os.readlink('/proc/self/fd/%d' % fd) for fd in fds), 'same' if same else 'different', flush=True)
signal.signal(signal.SIGUSR1, report)
print('ready', os.getpid(), ' '.join(map(str, fds)), ' '.join(os.readlink('/proc/self/fd/%d' % fd) for fd in fds), flush=True)
while True:
    signal.pause()
`;

function startHolder(t: Teardowns, dir: string, extra = ''): { pid: number; out: string; fds: number[]; links: string } {
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', extra + HOLDER]);
  const m = waitOutput(out, /ready (\d+) (\d+ \d+ \d+) (.*)/);
  return { pid, out, fds: m[2]!.split(' ').map(Number), links: m[3]! };
}

function checkRestored(t: Test, holder: { pid: number; out: string; links: string }): void {
  signalWhenAsleep(holder.pid, SIG.USR1);
  t.equal(waitOutput(holder.out, /now .*/)[0], `now ${holder.links} same`, 'the restored fds are the namespaces python3 is in, as before');
}

t.test('namespace files: dumped as NS entries, restored as the same namespaces', (t) => {
  const dir = scratchDir(t);
  const holder = startHolder(t, dir);
  const images = dumpWith('ours', t, dir, holder.pid);
  const ids = readEntries(images, 'ids', holder.pid)[0]!;
  const ns = readEntries(images, 'files').filter((entry) => entry.type === 14).map((entry) => entry.nsf!);
  t.same(ns.map((f) => [f.ns_id, f.ns_cflag]), [[ids.net_ns_id, 0x40000000], [ids.uts_ns_id, 0x04000000], [ids.ipc_ns_id, 0x08000000]], 'three NS entries naming the task\'s net, uts and ipc namespace ids');
  if (restoreChecked(t, 'ours', holder.out, images)) checkRestored(t, holder);
  t.end();
});

for (const way of DIRECTIONS) {
  t.test(`namespace files, ${way.title}`, { skip: skipWithoutUpstream() }, (t) => {
    const dir = scratchDir(t);
    const holder = startHolder(t, dir);
    const images = dumpWith(way.dump as Side, t, dir, holder.pid);
    if (restoreChecked(t, way.restore as Side, holder.out, images)) checkRestored(t, holder);
    t.end();
  });
}

t.test('a namespace file of a namespace the tree is not in is refused by name; the tree keeps running', (t) => {
  const dir = scratchDir(t);
  // a uts namespace of a child that has unshared one, held open after it exits
  const extra = `
import os, subprocess
child = subprocess.Popen(['unshare', '--uts', 'sleep', '1000'])
import time
for _ in range(500):
    try:
        if os.readlink('/proc/%d/ns/uts' % child.pid) != os.readlink('/proc/self/ns/uts'): break
    except OSError: pass
    time.sleep(0.01)
other = os.open('/proc/%d/ns/uts' % child.pid, os.O_RDONLY)
child.kill(); child.wait()
print('other', other, os.readlink('/proc/self/fd/%d' % other), flush=True)
`;
  const holder = startHolder(t, dir, extra);
  const [, fd, link] = waitOutput(holder.out, /other (\d+) (uts:\[\d+\])/);
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(holder.pid), '-D', images, '-o', 'dump.log'], { timeout: 120_000 });
  t.not(run.status, 0, 'criu-dump fails');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), new RegExp(`pid ${holder.pid} fd ${fd}: uts namespace file of a namespace the dumped tree does not live in \\(${link.replace(/[[\]]/g, '\\$&')}\\)`), 'the file is named');
  t.ok(alive(holder.pid), 'the tree is still there');
  t.equal(readlinkSync(`/proc/${holder.pid}/fd/${fd}`), link, 'holding its file');
  signalWhenAsleep(holder.pid, SIG.USR1);
  t.equal(waitOutput(holder.out, /now .*/)[0], `now ${holder.links} same`, 'and running as before');
  t.end();
});
