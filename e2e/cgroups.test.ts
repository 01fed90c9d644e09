// Cgroups through dump and restore (criu(8) --manage-cgroups and friends),
// with python3 in test cgroups (lib/test-cgroups.ts: pids with a child
// cgroup, cpu, memory, freezer, v2), its child in the pids child cgroup:
// dumped (killed), the cgroups removed or kept (and their properties
// changed) as each mode needs, restored, and checked from outside — which
// cgroup each task is in, and the properties each mode promises.
// --cgroup-root moves the tree under another root; --freeze-cgroup dumps a
// frozen cgroup, and a dump that fails leaves it thawed and running. Both
// ways with upstream CRIU.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { dumpAndKill } from './lib/round-trip.js';
import { scratchDir } from './lib/fixtures.js';
import { ownCgroup, prop, skipWithoutHybridCgroups, testCgroups, type TestCgroups } from './lib/test-cgroups.js';
import { DIRECTIONS, dumpWith, logTail, restoreWith, skipWithoutUpstream } from './lib/upstream.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';
import { toolPath } from './lib/workspace.js';
import { spawnSync } from 'node:child_process';

const skip = skipWithoutHybridCgroups();

const WORKLOAD = [
  'import os, sys, time',
  'def join(dirs):',
  '    for d in dirs:',
  '        with open(d + "/cgroup.procs", "w") as f: f.write(str(os.getpid()))',
  'join(sys.argv[1].split(":"))',
  'child = os.fork()',
  'if child == 0:',
  '    join([sys.argv[2]])',
  '    while True: time.sleep(0.05)',
  'print("ready", child, flush=True)',
  'n = 0',
  'while True:',
  '    n += 1',
  '    print("count", n, flush=True)',
  '    time.sleep(0.05)',
].join('\n');

interface Tree {
  dir: string;
  out: string;
  pid: number;
  child: number;
  cgroups: TestCgroups;
}

function startTree(t: Test, extra: string[] = []): Tree {
  const dir = scratchDir(t, 'criu-ts-cg-');
  const cgroups = testCgroups(t, extra);
  const script = join(dir, 'workload.py');
  writeFileSync(script, WORKLOAD);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', [script, cgroups.parentDirs.join(':'), cgroups.dirs.pidsSub]);
  const child = Number(waitOutput(out, /ready (\d+)/, 30_000)[1]);
  t.teardown(() => killAndReap(child));
  waitFor('the child to join its cgroup', () => ownCgroup('pids', child) === cgroups.paths.pidsSub);
  return { dir, out, pid, child, cgroups };
}

const lastCount = (out: string): number => Number(/count (\d+)\s*$/.exec(readFileSync(out, 'utf8').trim())?.[1] ?? -1);

function restore(t: Test, tree: Tree, images: string, args: string[]): number {
  const status = runRestore(tree.out, ['-D', images, '-d', '-v4', '-o', 'restore.log', ...args], 120_000);
  t.teardown(() => readEntries(images, 'pstree').forEach((e) => killAndReap(e.pid)));
  return status;
}

/** The tree runs on in the cgroups it was dumped in (or under `root` for pids). */
function checkPlaces(t: Test, tree: Tree, pidsRoot?: string): void {
  const { paths } = tree.cgroups;
  const pids = pidsRoot === undefined ? paths.pids : pidsRoot;
  t.equal(ownCgroup('pids', tree.pid), pids, 'the parent is in its pids cgroup');
  t.equal(ownCgroup('pids', tree.child), `${pids}/sub`, 'the child is in its pids child cgroup');
  for (const pid of [tree.pid, tree.child]) {
    t.equal(ownCgroup('cpu', pid), paths.cpu, `pid ${pid}: cpu`);
    t.equal(ownCgroup('memory', pid), paths.memory, `pid ${pid}: memory`);
    t.equal(ownCgroup('', pid), paths.v2, `pid ${pid}: v2`);
  }
  const before = lastCount(tree.out);
  waitFor('the counter to go on', () => lastCount(tree.out) > before + 3, 20_000);
}

/** Changes the kept cgroups' properties, so a restore that writes them back shows. */
function changeProps(cgroups: TestCgroups): void {
  writeFileSync(join(cgroups.dirs.pids, 'pids.max'), '40');
  writeFileSync(join(cgroups.dirs.cpu, 'cpu.shares'), '256');
}

function checkProps(t: Test, cgroups: TestCgroups, which: 'dumped' | 'changed'): void {
  t.equal(prop(cgroups.dirs.pids, 'pids.max'), which === 'dumped' ? '50' : '40', `pids.max is the ${which} value`);
  t.equal(prop(cgroups.dirs.cpu, 'cpu.shares'), which === 'dumped' ? '512' : '256', `cpu.shares is the ${which} value`);
  t.equal(prop(cgroups.dirs.pidsSub, 'pids.max'), '20', 'the child cgroup\'s pids.max');
}

t.test('cgroup.img and cg_set are written', { skip }, (t) => {
  const tree = startTree(t);
  const images = dumpAndKill(t, tree.dir, tree.pid);
  const [entry] = readEntries(images, 'cgroup');
  const sets = entry!.sets ?? [];
  t.equal(sets.length, 2, 'two sets: the parent\'s and the child\'s (criu\'s is not written)');
  const pids = sets.map((s) => s.ctls!.find((c) => c.name === 'pids')!.path).sort();
  t.same(pids, [tree.cgroups.paths.pids, tree.cgroups.paths.pidsSub]);
  t.equal(readEntries(images, 'inventory')[0]!.root_cg_set, 1, 'inventory: criu\'s set');
  const cgSet = readEntries(images, 'core', tree.pid)[0]!.thread_core!.cg_set;
  t.ok(sets.some((s) => s.id === cgSet), 'the root\'s core names its set');
  const pidsCtl = entry!.controllers!.find((c) => c.cnames![0] === 'pids')!;
  const head = pidsCtl.dirs!.find((d) => d.dir_name === tree.cgroups.name)!;
  t.equal(head.properties!.find((p) => p.name === 'pids.max')!.value, '50', 'the head keeps pids.max');
  t.equal(head.children![0]!.dir_name, 'sub');
  t.end();
});

t.test('--manage-cgroups=soft makes the missing cgroups with their properties', { skip }, (t) => {
  const tree = startTree(t);
  const images = dumpAndKill(t, tree.dir, tree.pid);
  tree.cgroups.remove();
  t.equal(restore(t, tree, images, ['--manage-cgroups=soft']), 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
  checkPlaces(t, tree);
  checkProps(t, tree.cgroups, 'dumped');
  t.equal(prop(tree.cgroups.dirs.memory, 'memory.limit_in_bytes'), String(256 << 20), 'memory.limit_in_bytes');
  t.equal(prop(tree.cgroups.dirs.v2, 'cgroup.max.descendants'), '5', 'v2 cgroup.max.descendants');
  t.end();
});

t.test('soft and none keep the properties of cgroups that exist; full and props write them', { skip }, async (t) => {
  for (const [mode, which] of [['soft', 'changed'], ['none', 'changed'], ['full', 'dumped'], ['props', 'dumped']] as const) {
    await t.test(`--manage-cgroups=${mode}`, (t) => {
      const tree = startTree(t);
      const images = dumpAndKill(t, tree.dir, tree.pid);
      changeProps(tree.cgroups);
      t.equal(restore(t, tree, images, [`--manage-cgroups=${mode}`]), 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
      checkPlaces(t, tree);
      checkProps(t, tree.cgroups, which);
      t.end();
    });
  }
  t.end();
});

t.test('none and props refuse missing cgroups, strict existing ones; no task is left', { skip }, async (t) => {
  for (const [mode, removed, why] of [['none', true, /does not exist/], ['props', true, /does not exist/], ['strict', false, /exists already/]] as const) {
    await t.test(`--manage-cgroups=${mode}`, (t) => {
      const tree = startTree(t);
      const images = dumpAndKill(t, tree.dir, tree.pid);
      if (removed) tree.cgroups.remove();
      t.not(restore(t, tree, images, [`--manage-cgroups=${mode}`]), 0, 'restore fails');
      t.match(readFileSync(join(images, 'restore.log'), 'utf8'), why, 'the log says why, naming the cgroup');
      t.notOk(alive(tree.pid) || alive(tree.child), 'no task is left');
      t.end();
    });
  }
  t.end();
});

t.test('--manage-cgroups=ignore leaves the tree in criu\'s cgroups', { skip }, (t) => {
  const tree = startTree(t);
  const images = dumpAndKill(t, tree.dir, tree.pid);
  t.equal(restore(t, tree, images, ['--manage-cgroups=ignore']), 0, 'restore exits 0');
  t.equal(ownCgroup('pids', tree.pid), ownCgroup('pids'), 'the parent is in criu\'s pids cgroup');
  t.equal(ownCgroup('pids', tree.child), ownCgroup('pids'), 'so is the child');
  t.end();
});

t.test('--cgroup-props and --cgroup-dump-controller choose what the dump saves', { skip }, (t) => {
  const tree = startTree(t);
  const props = '"pids":\n - "strategy": "replace"\n - "properties": []\n';
  const images = dumpAndKill(t, tree.dir, tree.pid, { args: ['--cgroup-props', props, '--cgroup-dump-controller', 'pids', '--cgroup-dump-controller', 'cpu'] });
  const [entry] = readEntries(images, 'cgroup');
  t.same(entry!.controllers!.map((c) => c.cnames!.join(',')).sort(), ['cpu', 'pids'], 'only the two hierarchies are saved');
  tree.cgroups.remove();
  t.equal(restore(t, tree, images, []), 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
  t.equal(ownCgroup('pids', tree.child), tree.cgroups.paths.pidsSub, 'the child is back in its pids cgroup');
  t.equal(ownCgroup('memory', tree.pid), ownCgroup('memory'), 'memory was not saved: the tree is in criu\'s memory cgroup');
  t.equal(prop(tree.cgroups.dirs.pids, 'pids.max'), 'max', 'pids.max was not saved: the new cgroup has the default');
  t.equal(prop(tree.cgroups.dirs.cpu, 'cpu.shares'), '512', 'cpu.shares (a built-in property) was');
  t.end();
});

t.test('--cgroup-root moves the tree under another root', { skip }, (t) => {
  const moved = `/criu-ts-test-${process.pid}-moved`;
  const tree = startTree(t, [`/sys/fs/cgroup/pids${moved}`]);
  const images = dumpAndKill(t, tree.dir, tree.pid);
  t.equal(restore(t, tree, images, ['--cgroup-root', `pids:${moved}`]), 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
  checkPlaces(t, tree, moved);
  t.equal(prop(`/sys/fs/cgroup/pids${moved}`, 'pids.max'), '50', 'the new root has the dumped pids.max');
  t.end();
});

function freezerState(tree: Tree): string {
  return prop(tree.cgroups.dirs.freezer, 'freezer.state');
}

t.test('--freeze-cgroup: dumped through the freezer; a failed dump leaves it thawed and running', { skip }, (t) => {
  const tree = startTree(t);
  const failed = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(tree.pid), '-D', tree.dir, '-v4', '-o', 'fail.log', '--freeze-cgroup', tree.cgroups.dirs.freezer], {
    env: { ...process.env, CRIU_FAULT: '1003' }, timeout: 60_000,
  });
  t.not(failed.status, 0, 'the dump with a fault fails');
  t.match(readFileSync(join(tree.dir, 'fail.log'), 'utf8'), /--freeze-cgroup .*: frozen \(it was thawed\)/, 'it froze the cgroup first');
  t.equal(freezerState(tree), 'THAWED', 'the cgroup is thawed again');
  const before = lastCount(tree.out);
  waitFor('the tree to run on', () => lastCount(tree.out) > before + 3, 20_000);
  const images = dumpAndKill(t, tree.dir, tree.pid, { args: ['--freeze-cgroup', tree.cgroups.dirs.freezer] });
  t.equal(freezerState(tree), 'THAWED', 'thawed after the dump');
  const freezer = readEntries(images, 'cgroup')[0]!.controllers!.find((c) => c.cnames![0] === 'freezer')!;
  t.equal(freezer.dirs![0]!.properties!.find((p) => p.name === 'freezer.state')?.value, 'THAWED', 'freezer.state saved as it was');
  t.equal(restore(t, tree, images, []), 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
  checkPlaces(t, tree);
  t.equal(ownCgroup('freezer', tree.pid), tree.cgroups.paths.freezer, 'back in its freezer cgroup');
  t.end();
});

t.test('--freeze-cgroup with the cgroup v2 freezer (cgroup.freeze)', { skip }, (t) => {
  const tree = startTree(t);
  const frozen = (): string => prop(tree.cgroups.dirs.v2, 'cgroup.freeze');
  const failed = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(tree.pid), '-D', tree.dir, '-v4', '-o', 'fail.log', '--freeze-cgroup', tree.cgroups.dirs.v2], {
    env: { ...process.env, CRIU_FAULT: '1003' }, timeout: 60_000,
  });
  t.not(failed.status, 0, 'the dump with a fault fails');
  t.match(readFileSync(join(tree.dir, 'fail.log'), 'utf8'), /--freeze-cgroup .*: frozen \(it was thawed\)/, 'it froze the cgroup first');
  t.equal(frozen(), '0', 'cgroup.freeze is 0 again');
  const before = lastCount(tree.out);
  waitFor('the tree to run on', () => lastCount(tree.out) > before + 3, 20_000);
  const images = dumpAndKill(t, tree.dir, tree.pid, { args: ['--freeze-cgroup', tree.cgroups.dirs.v2] });
  t.equal(restore(t, tree, images, []), 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
  checkPlaces(t, tree);
  t.end();
});

t.test('a restore that fails removes the cgroups it made, and none it did not', { skip }, (t) => {
  const tree = startTree(t);
  const images = dumpAndKill(t, tree.dir, tree.pid);
  tree.cgroups.remove();
  // the cpu cgroup is there already: the restore must leave it
  mkdirSync(tree.cgroups.dirs.cpu);
  const run = spawnSync('sh', ['-c', 'exec "$0" "$@" >>"$OUT" 2>&1 </dev/null', process.execPath, toolPath('criu-restore'), '-D', images, '-d', '-v4', '-o', 'restore.log', '--manage-cgroups=soft'], {
    env: { ...process.env, OUT: tree.out, CRIU_FAULT: '2005' }, timeout: 120_000,
  });
  t.teardown(() => readEntries(images, 'pstree').forEach((e) => killAndReap(e.pid)));
  t.not(run.status, 0, 'the restore with a fault fails');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), /created cgroup pids:\/criu-ts-test/, 'it had made the pids cgroups');
  t.notOk(alive(tree.pid) || alive(tree.child), 'no task is left');
  t.notOk(existsSync(tree.cgroups.dirs.pids), 'the pids cgroups it made are gone');
  t.notOk(existsSync(tree.cgroups.dirs.memory), 'so is the memory cgroup');
  t.ok(existsSync(tree.cgroups.dirs.cpu), 'the cpu cgroup that was there is kept');
  t.end();
});

t.test('interop with upstream CRIU', { skip: skip || skipWithoutUpstream() }, async (t) => {
  for (const direction of DIRECTIONS) {
    await t.test(direction.title, (t) => {
      const tree = startTree(t);
      const images = dumpWith(direction.dump, t, tree.dir, tree.pid);
      tree.cgroups.remove();
      const status = restoreWith(direction.restore, tree.out, images, ['--manage-cgroups=soft']);
      t.teardown(() => readEntries(images, 'pstree').forEach((e) => killAndReap(e.pid)));
      t.equal(status, 0, 'restore exits 0', { log: logTail(images, 'restore.log') });
      checkPlaces(t, tree);
      checkProps(t, tree.cgroups, 'dumped');
      t.end();
    });
  }
  t.end();
});
