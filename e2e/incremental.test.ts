// Iterative migration as users run it: criu pre-dump (the task runs on),
// pre-dump again with --prev-images-dir, then criu dump --track-mem
// --prev-images-dir, then criu restore through the chain of parents. The
// last dump writes only what changed (stats-dump and the pages image sizes
// say so), and the restored task holds every page it should.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

interface Run {
  status: number | null;
  log: string;
}

/** criu-dump [pre-dump] -t pid -D dir/name ...; the log's tail when it fails. */
function criuDump(dir: string, name: string, args: string[]): Run {
  const images = join(dir, name);
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), ...args, '-D', images, '-v4', '-o', 'dump.log'], { timeout: 120_000 });
  let log = '';
  try {
    log = readFileSync(join(images, 'dump.log'), 'utf8');
  } catch (error) {
    log = `no log: ${String(error)} ${String(run.stderr)}`;
  }
  return { status: run.status, log: log.slice(-3000) };
}

function dumpStats(images: string): { written: number; skipped: number } {
  const dump = readEntries(images, 'stats', 'dump')[0]!.dump!;
  return { written: Number(dump.pages_written), skipped: Number(dump.pages_skipped_parent) };
}

function pagesBytes(images: string): number {
  return readdirSync(images)
    .filter((name) => /^pages-\d+\.img$/.test(name))
    .reduce((sum, name) => sum + statSync(join(images, name)).size, 0);
}

/** Signal, then the line the task prints in answer. */
function ask(pid: number, out: string, sig: number, re: RegExp, seen: number): RegExpMatchArray {
  kill(pid, sig);
  let match: RegExpMatchArray | undefined;
  waitFor(`pid ${pid} to answer`, () => {
    const all = [...readFileSync(out, 'utf8').matchAll(new RegExp(re.source, 'g'))];
    match = all.length > seen ? all[all.length - 1] : undefined;
    return match !== undefined;
  });
  return match!;
}

t.test('pre-dump, pre-dump, dump --track-mem, restore: 64 MiB, 4 MiB changed each time', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['64', '4']);
  waitOutput(out, /ready \d+ \d+/);
  const first = criuDump(dir, '1', ['pre-dump', '-t', String(pid)]);
  t.equal(first.status, 0, 'first pre-dump', { log: first.status === 0 ? '' : first.log });
  t.ok(alive(pid), 'the task runs on after pre-dump');
  t.ok(dumpStats(join(dir, '1')).written >= 16384, 'the first pre-dump writes all 64 MiB');
  t.same(readdirSync(join(dir, '1')).filter((n) => /^(core|mm|pstree|files)/.test(n)), [], 'pre-dump writes memory only');
  ask(pid, out, SIG.USR2, /dirty 1 \d+/, 0);
  const second = criuDump(dir, '2', ['pre-dump', '-t', String(pid), '--prev-images-dir', '../1']);
  t.equal(second.status, 0, 'second pre-dump', { log: second.status === 0 ? '' : second.log });
  const s2 = dumpStats(join(dir, '2'));
  t.ok(s2.written >= 1024 && s2.written < 2048, `the second pre-dump writes about the 4 MiB changed (${s2.written} pages)`);
  t.ok(s2.skipped >= 15000, `and leaves the rest to the parent (${s2.skipped} pages)`);
  const sum = ask(pid, out, SIG.USR2, /dirty 2 (\d+)/, 0)[1];
  const last = criuDump(dir, '3', ['-t', String(pid), '--track-mem', '--prev-images-dir', '../2']);
  t.equal(last.status, 0, 'dump --track-mem', { log: last.status === 0 ? '' : last.log });
  const s3 = dumpStats(join(dir, '3'));
  t.ok(s3.written >= 1024 && s3.written < 1400, `the dump writes only the changed pages (${s3.written})`);
  t.ok(s3.skipped >= 15000, `the rest is PE_PARENT (${s3.skipped})`);
  t.ok(pagesBytes(join(dir, '3')) < 6 << 20, `its pages image is small (${pagesBytes(join(dir, '3'))} bytes)`);
  t.ok(pagesBytes(join(dir, '1')) >= 64 << 20, 'the first holds everything');
  t.equal(readlinkSync(join(dir, '3', 'parent')), '../2', 'the parent link, as given');
  killAndReap(pid);
  t.equal(runRestore(out, ['-D', join(dir, '3'), '-d', '-v4', '-o', 'restore.log']), 0, 'restore through the parent chain');
  t.teardown(() => killAndReap(pid));
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 0)[0], `verify ok ${sum}`, 'every page is what the task last wrote');
  t.end();
});

t.test('a tree with a forked child: trackers are not dumped as fds, the chain restores', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['16', 'child']);
  const child = Number(waitOutput(out, /child (\d+)/)[1]);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  t.teardown(() => killAndReap(child));
  t.equal(criuDump(dir, '1', ['pre-dump', '-t', String(pid)]).status, 0, 'pre-dump of the tree');
  const last = criuDump(dir, '2', ['-t', String(pid), '--track-mem', '--prev-images-dir', '../1']);
  t.equal(last.status, 0, 'dump', { log: last.status === 0 ? '' : last.log });
  t.ok(dumpStats(join(dir, '2')).skipped >= 4096, 'the parent holds the 16 MiB');
  // both are ours to reap (the test runs as the child's subreaper)
  for (const task of [pid, child]) killAndReap(task);
  waitFor('the tree to be gone', () => !alive(child), 20_000);
  t.equal(runRestore(out, ['-D', join(dir, '2'), '-d', '-v4', '-o', 'restore.log']), 0, 'restored');
  t.teardown(() => killAndReap(pid));
  t.ok(alive(child), 'the child is back');
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 0)[0], `verify ok ${sum}`, 'memory intact');
  t.end();
});

t.test('python3: pre-dump, dump --track-mem, restore', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const script = join(dir, 'work.py');
  writeFileSync(
    script,
    [
      'import hashlib, os, signal, sys, time',
      'data = bytearray(os.urandom(32 << 20))',
      'gen = 0',
      'def usr2(sig, frame):',
      '    global gen',
      '    gen += 1',
      '    data[0:1 << 20] = bytes([gen]) * (1 << 20)',
      '    print("dirty", gen, hashlib.sha256(data).hexdigest(), flush=True)',
      'def usr1(sig, frame):',
      '    print("hash", hashlib.sha256(data).hexdigest(), flush=True)',
      'signal.signal(signal.SIGUSR1, usr1)',
      'signal.signal(signal.SIGUSR2, usr2)',
      'print("ready", os.getpid(), hashlib.sha256(data).hexdigest(), flush=True)',
      'while True: time.sleep(1)',
    ].join('\n'),
  );
  const pid = startBackground(t, out, '/usr/bin/python3', [script]);
  waitOutput(out, /ready \d+ [0-9a-f]+/);
  t.equal(criuDump(dir, '1', ['pre-dump', '-t', String(pid)]).status, 0, 'pre-dump');
  const hash = ask(pid, out, SIG.USR2, /dirty 1 ([0-9a-f]+)/, 0)[1];
  const last = criuDump(dir, '2', ['-t', String(pid), '--track-mem', '--prev-images-dir', '../1']);
  t.equal(last.status, 0, 'dump', { log: last.status === 0 ? '' : last.log });
  const s = dumpStats(join(dir, '2'));
  t.ok(s.skipped > 6000 && s.written < s.skipped, `most pages left to the parent (${s.written} written, ${s.skipped} in the parent)`);
  killAndReap(pid);
  t.equal(runRestore(out, ['-D', join(dir, '2'), '-d', '-v4', '-o', 'restore.log']), 0, 'restored');
  t.teardown(() => killAndReap(pid));
  t.equal(ask(pid, out, SIG.USR1, /hash ([0-9a-f]+)/, 0)[1], hash, 'the data hashes the same');
  t.end();
});

t.test('bad parent: pre-dump fails plainly and the task runs on untouched', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['8', '1']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const run = criuDump(dir, '1', ['pre-dump', '-t', String(pid), '--prev-images-dir', '../nowhere']);
  t.not(run.status, 0, 'non-zero exit');
  t.match(run.log, /parent images directory \.\.\/nowhere/, 'the log names the directory');
  t.same(readdirSync(join(dir, '1')).filter((n) => n !== 'dump.log'), [], 'nothing left in the images dir');
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 0)[0], `verify ok ${sum}`, 'the task runs on as before');
  t.end();
});

/** Disk blocks the pages images of a directory hold, in bytes (holes punched do not count). */
function pagesAllocated(images: string): number {
  return readdirSync(images)
    .filter((name) => /^pages-\d+\.img$/.test(name))
    .reduce((sum, name) => sum + statSync(join(images, name)).blocks * 512, 0);
}

t.test('criu dedup: the parents shrink, the chain still restores', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['32', '8']);
  waitOutput(out, /ready \d+ \d+/);
  t.equal(criuDump(dir, '1', ['pre-dump', '-t', String(pid)]).status, 0, 'pre-dump');
  ask(pid, out, SIG.USR2, /dirty 1 \d+/, 0);
  t.equal(criuDump(dir, '2', ['pre-dump', '-t', String(pid), '--prev-images-dir', '../1']).status, 0, 'pre-dump 2');
  const sum = ask(pid, out, SIG.USR2, /dirty 2 (\d+)/, 0)[1];
  t.equal(criuDump(dir, '3', ['-t', String(pid), '--track-mem', '--prev-images-dir', '../2']).status, 0, 'dump');
  killAndReap(pid);
  const before = pagesAllocated(join(dir, '2'));
  const dedup = spawnSync(process.execPath, [toolPath('criu-dedup'), '-D', join(dir, '3'), '-v4', '-o', 'dedup.log'], { timeout: 60_000 });
  t.equal(dedup.status, 0, 'criu dedup exits 0');
  const after = pagesAllocated(join(dir, '2'));
  t.ok(before - after >= 8 << 20, `the parent lost the 8 MiB its child holds (${before} → ${after} bytes allocated)`);
  t.equal(statSync(join(dir, '2', 'pages-1.img')).size > after, true, 'its size is kept: holes, not truncation');
  t.equal(runRestore(out, ['-D', join(dir, '3'), '-d', '-v4', '-o', 'restore.log']), 0, 'the deduplicated chain restores');
  t.teardown(() => killAndReap(pid));
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 0)[0], `verify ok ${sum}`, 'every page in place');
  t.end();
});

t.test('--auto-dedup on dump and restore', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['32', '8']);
  waitOutput(out, /ready \d+ \d+/);
  t.equal(criuDump(dir, '1', ['pre-dump', '-t', String(pid)]).status, 0, 'pre-dump');
  const sum = ask(pid, out, SIG.USR2, /dirty 1 (\d+)/, 0)[1];
  const before = pagesAllocated(join(dir, '1'));
  t.equal(criuDump(dir, '2', ['-t', String(pid), '--track-mem', '--auto-dedup', '--prev-images-dir', '../1']).status, 0, 'dump --auto-dedup');
  killAndReap(pid);
  t.ok(before - pagesAllocated(join(dir, '1')) >= 8 << 20, 'the parent lost what the dump wrote again');
  t.equal(runRestore(out, ['-D', join(dir, '2'), '-d', '--auto-dedup', '-v4', '-o', 'restore.log']), 0, 'restore --auto-dedup');
  t.teardown(() => killAndReap(pid));
  t.ok(pagesAllocated(join(dir, '2')) + pagesAllocated(join(dir, '1')) < 1 << 20, 'what was restored is gone from the images');
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 0)[0], `verify ok ${sum}`, 'every page in place');
  t.end();
});

t.test('a plain dump -R after a pre-dump: the tracker is not a file of the task, and is taken away', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['8', '1']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  t.equal(criuDump(dir, '1', ['pre-dump', '-t', String(pid)]).status, 0, 'pre-dump');
  const ufds = (): number => readdirSync(`/proc/${pid}/fd`).filter((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[userfaultfd]').length;
  t.equal(ufds(), 1, 'pre-dump leaves one tracker in the task');
  const run = criuDump(dir, '2', ['-t', String(pid), '-R']);
  t.equal(run.status, 0, 'dump -R without a parent', { log: run.status === 0 ? '' : run.log });
  t.equal(ufds(), 0, 'no tracker left in the task');
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 0)[0], `verify ok ${sum}`, 'the task runs on intact');
  t.end();
});
