// Post-copy (lazy) restore on real processes: `criu restore --lazy-pages`
// leaves private anonymous memory empty and hands each task's userfaultfd
// to `criu lazy-pages`, which fills it from the images (local) or from a
// page server on loopback (`criu page-server --lazy-pages` serving copied
// images, or `criu dump --lazy-pages` serving from the frozen source). The
// restored task runs on before its pages are in (a relay holds back the
// restore's "finished" word, so the daemon serves faults only until the
// test lets it copy the rest), forks with its memory half there, and ends
// with every page what it was.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { execa, type ResultPromise } from 'execa';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PE_LAZY, PE_PRESENT, createPagemap, openPagemap, readEntries } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { connectPageServerSync } from '@criu-ts/page-server';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { startLazyRelay } from './lib/lazy-relay.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

const MIB64_PAGES = 16384;

// seven restores of 64 MiB and a dump serving its pages: more than tap's default 120 s on a busy machine
t.setTimeout(600_000);

/** A tool in the background (a daemon); its end awaited at the test's end or killed there. */
function background(t: Test, tool: string, args: string[]): ResultPromise {
  const child = execa(process.execPath, [toolPath(tool), ...args], { reject: false, timeout: 120_000, stdin: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

async function run(tool: string, args: string[]): Promise<number> {
  const result = await execa(process.execPath, [toolPath(tool), ...args], { reject: false, timeout: 120_000, stdin: 'ignore' });
  return result.exitCode ?? -1;
}

function logOf(dir: string, name: string): string {
  const path = join(dir, name);
  return existsSync(path) ? readFileSync(path, 'utf8').slice(-3000) : `no ${path}`;
}

/** Signal, then the newest line matching re in out (more of them than `seen`). */
function ask(pid: number, out: string, sig: number, re: RegExp, seen = 0): RegExpMatchArray {
  kill(pid, sig);
  let match: RegExpMatchArray | undefined;
  waitFor(`pid ${pid} to answer ${re}`, () => {
    const all = [...readFileSync(out, 'utf8').matchAll(new RegExp(re.source, 'g'))];
    match = all.length > seen ? all[all.length - 1] : undefined;
    return match !== undefined;
  }, 30_000);
  return match!;
}

/** Resident kB of the task's mapping of exactly `bytes` (the fixture's big area). */
function residentKb(pid: number, bytes: number): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
  for (let i = 0; i < smaps.length; i++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(smaps[i]!);
    if (m === null || Number.parseInt(m[2]!, 16) - Number.parseInt(m[1]!, 16) !== bytes) continue;
    for (let j = i + 1; j < smaps.length && !/^[0-9a-f]+-/.test(smaps[j]!); j++) {
      const rss = /^Rss:\s+(\d+) kB/.exec(smaps[j]!);
      if (rss !== null) return Number(rss[1]);
    }
  }
  throw new Error(`pid ${pid} has no mapping of ${bytes} bytes`);
}

function dumpStats(images: string): { written: number; lazy: number } {
  const dump = readEntries(images, 'stats', 'dump')[0]!.dump!;
  return { written: Number(dump.pages_written), lazy: Number(dump.pages_lazy) };
}

function restoredPages(images: string): number {
  return Number(readEntries(images, 'stats', 'restore')[0]!.restore!.pages_restored);
}

function waitSocket(dir: string): void {
  waitFor(`${dir}/lazy-pages.socket`, () => existsSync(join(dir, 'lazy-pages.socket')), 30_000);
}

/** mem-dirty with 64 MiB, dumped (the tree killed) into dir/img. */
function dumpedFixture(t: Test, dir: string, out: string): { pid: number; sum: string; images: string } {
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['64', '4']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1]!;
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = execaSyncDump(['-t', String(pid), '-D', images, '-v4', '-o', 'dump.log']);
  t.equal(dump, 0, 'dumped', { log: dump === 0 ? '' : logOf(images, 'dump.log') });
  killAndReap(pid);
  waitFor(`pid ${pid} to be gone`, () => !alive(pid));
  return { pid, sum, images };
}

function execaSyncDump(args: string[]): number {
  return spawnSync(process.execPath, [toolPath('criu-dump'), ...args], { timeout: 120_000, stdio: 'ignore' }).status ?? -1;
}

t.test('local: criu lazy-pages -D fills a 64 MiB task restored with --lazy-pages -d', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const { pid, sum, images } = dumpedFixture(t, dir, out);
  t.equal(dumpStats(images).lazy, 0, 'a plain dump writes the lazy pages (pages_lazy 0, as upstream)');
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  t.equal(await run('criu-restore', ['-D', images, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'restore --lazy-pages -d', { log: logOf(images, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.ok(restoredPages(images) < 64, `the restore itself read only the eager pages (${restoredPages(images)})`);
  const ended = await daemon;
  t.equal(ended.exitCode, 0, 'the daemon exits 0 once every page is in place', { log: logOf(images, 'lazy-pages.log') });
  const copied = /pid \d+: uffd \d+, (\d+) page\(s\) to fill[\s\S]*: (\d+) of \1 page\(s\) copied/.exec(logOf(images, 'lazy-pages.log'));
  t.ok(copied !== null && Number(copied[1]) >= MIB64_PAGES && copied[1] === copied[2], `it copied every lazy page (${copied?.[2]} of ${copied?.[1]})`);
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'every page is what was dumped');
  t.equal(ask(pid, out, SIG.USR2, /dirty 1 \d+/)[0].startsWith('dirty 1 '), true, 'and the task writes on');
});

t.test('the task runs on with its pages missing; faults are served, the rest comes once the restore has finished', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const { pid, sum, images } = dumpedFixture(t, dir, out);
  const work = join(dir, 'restore-work');
  mkdirSync(work);
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  const relay = startLazyRelay(work, images);
  t.teardown(() => relay.close());
  t.equal(await run('criu-restore', ['-D', images, '-W', work, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'restored', { log: logOf(work, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.ok(relay.finishedSeen(), 'the restore said it finished; the relay holds that back');
  t.same(relay.pids, [pid], 'one uffd was handed over, for the task');
  const before = residentKb(pid, 64 << 20);
  t.ok(before < 8 << 10, `the running task holds little of its 64 MiB (${before} kB resident)`);
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'it reads all of it right, every page brought in by its faults');
  t.equal(daemon.exitCode, null, 'the daemon is still waiting for the restore to finish');
  relay.release();
  const ended = await daemon;
  t.equal(ended.exitCode, 0, 'once released, the daemon ends', { log: logOf(images, 'lazy-pages.log') });
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 1)[0], `verify ok ${sum}`, 'still every page right');
});

t.test('SIGTERM to the daemon while pages are missing: the task is killed, not left to run on empty pages', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const { pid, images } = dumpedFixture(t, dir, out);
  const work = join(dir, 'restore-work');
  mkdirSync(work);
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  const relay = startLazyRelay(work, images);
  t.teardown(() => relay.close());
  t.equal(await run('criu-restore', ['-D', images, '-W', work, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'restored', { log: logOf(work, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.ok(alive(pid), 'the task runs, most of its memory still missing');
  daemon.kill('SIGTERM');
  const ended = await daemon;
  t.not(ended.exitCode, 0, 'the daemon fails');
  t.match(logOf(images, 'lazy-pages.log'), /interrupted by SIGTERM/, 'and says why');
  t.match(logOf(images, 'lazy-pages.log'), new RegExp(`pid ${pid} still lacks \\d+ page\\(s\\): killed`), 'it names the task it killed');
  waitFor('the task to be killed', () => !alive(pid), 10_000);
  t.pass('the task is gone');
});

t.test('python3 forks while its pages are missing: the child is served through its own uffd (UFFD_EVENT_FORK)', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const script = join(dir, 'work.py');
  writeFileSync(script, [
    'import hashlib, os, signal, time',
    'data = bytearray(os.urandom(32 << 20))',
    'def usr1(sig, frame):',
    '    print("hash", hashlib.sha256(data).hexdigest(), flush=True)',
    'def usr2(sig, frame):',
    '    child = os.fork()',
    '    if child == 0:',
    '        print("child", hashlib.sha256(data).hexdigest(), flush=True)',
    '        os._exit(0)',
    '    os.waitpid(child, 0)',
    '    print("reaped", child, flush=True)',
    'signal.signal(signal.SIGUSR1, usr1)',
    'signal.signal(signal.SIGUSR2, usr2)',
    'print("ready", os.getpid(), hashlib.sha256(data).hexdigest(), flush=True)',
    'while True: time.sleep(1)',
  ].join('\n'));
  const pid = startBackground(t, out, '/usr/bin/python3', [script]);
  const hash = waitOutput(out, /ready \d+ ([0-9a-f]+)/)[1]!;
  const images = join(dir, 'img');
  mkdirSync(images);
  t.equal(execaSyncDump(['-t', String(pid), '-D', images, '-v4', '-o', 'dump.log']), 0, 'dumped');
  killAndReap(pid);
  waitFor('python3 to be gone', () => !alive(pid));
  const work = join(dir, 'restore-work');
  mkdirSync(work);
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  const relay = startLazyRelay(work, images);
  t.teardown(() => relay.close());
  t.equal(await run('criu-restore', ['-D', images, '-W', work, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'restored', { log: logOf(work, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.equal(ask(pid, out, SIG.USR2, /child ([0-9a-f]+)/)[1], hash, 'a child forked with the pages half there sees them all');
  waitOutput(out, /reaped \d+/);
  t.match(logOf(images, 'lazy-pages.log'), /FORK, child uffd/, 'the daemon took the child\'s uffd');
  relay.release();
  const ended = await daemon;
  t.equal(ended.exitCode, 0, 'the daemon ends once the parent has every page and the child is gone', { log: logOf(images, 'lazy-pages.log') });
  t.equal(ask(pid, out, SIG.USR1, /hash ([0-9a-f]+)/)[1], hash, 'the parent hashes the same');
});

t.test('REMOVE, REMAP and UNMAP while the pages are missing: madvise, mremap and munmap see what they should', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('lazy-events', dir), []);
  waitOutput(out, /ready \d+/);
  const images = join(dir, 'img');
  mkdirSync(images);
  t.equal(execaSyncDump(['-t', String(pid), '-D', images, '-v4', '-o', 'dump.log']), 0, 'dumped');
  killAndReap(pid);
  waitFor('the fixture to be gone', () => !alive(pid));
  const work = join(dir, 'restore-work');
  mkdirSync(work);
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  const relay = startLazyRelay(work, images);
  t.teardown(() => relay.close());
  t.equal(await run('criu-restore', ['-D', images, '-W', work, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'restored', { log: logOf(work, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.equal(ask(pid, out, SIG.USR2, /events \S+.*/)[0], 'events ok', 'zeros after MADV_DONTNEED, the moved area intact, the unmapped half gone');
  const log = logOf(images, 'lazy-pages.log');
  for (const event of ['REMOVE', 'REMAP', 'UNMAP']) t.match(log, new RegExp(`: ${event} 0x`), `the daemon followed ${event}`);
  relay.release();
  t.equal((await daemon).exitCode, 0, 'and ends once the rest is in', { log: logOf(images, 'lazy-pages.log') });
});

t.test('remote: criu lazy-pages --page-server fetches from criu page-server --lazy-pages on loopback', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const { pid, sum, images } = dumpedFixture(t, dir, out);
  const port = 27000 + (process.pid % 2000);
  const server = background(t, 'criu-page-server', ['-D', images, '--lazy-pages', '--port', String(port), '-v4', '-o', 'page-server.log']);
  waitFor('the page server to listen', () => /listening on/.test(logOf(images, 'page-server.log')), 30_000);
  const work = join(dir, 'lazy-work');
  mkdirSync(work);
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-W', work, '--page-server', '--address', '127.0.0.1', '--port', String(port), '-v4', '-o', 'lazy-pages.log']);
  waitSocket(work);
  t.equal(await run('criu-restore', ['-D', images, '-W', work, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'restored', { log: logOf(work, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.equal((await daemon).exitCode, 0, 'the daemon ends', { log: logOf(work, 'lazy-pages.log') });
  t.equal((await server).exitCode, 0, 'the page server ends with the session', { log: logOf(images, 'page-server.log') });
  const served = /session over, (\d+) lazy page\(s\) served/.exec(logOf(images, 'page-server.log'));
  t.ok(served !== null && Number(served[1]) >= MIB64_PAGES, `the page server sent every lazy page (${served?.[1]})`);
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'every page right');
});

/**
 * What a lazy-pages daemon on another machine gets: every lazy page of the
 * dump, asked with PS_IOV_GET; here written into a copy of the images as a
 * plain pages image, which then restores.
 */
function fetchAllInto(images: string, copy: string, pid: number, port: number): number {
  for (const name of readdirSync(images)) if (name.endsWith('.img') && !/^(pagemap|pages)-/.test(name)) copyFileSync(join(images, name), join(copy, name));
  const reader = openPagemap(images, pid);
  const runs = [...reader];
  reader.close();
  const client = connectPageServerSync('127.0.0.1', port);
  const writer = createPagemap(copy, pid, 1);
  const local = openPagemap(images, pid);
  const pagesFile = join(images, `pages-${local.pagesId}.img`);
  local.close();
  let fetched = 0;
  try {
    const buf = Buffer.alloc(4 << 20);
    const own = existsSync(pagesFile) ? readFileSync(pagesFile) : Buffer.alloc(0);
    for (const run of runs) {
      const lazyOnly = (run.flags & PE_LAZY) !== 0 && (run.flags & PE_PRESENT) === 0;
      const slot = writer.appendRun({ vaddr: run.vaddr, nrPages: run.nrPages, flags: lazyOnly ? PE_LAZY | PE_PRESENT : run.flags });
      if (slot === undefined) continue;
      if (!lazyOnly) {
        writeAt(slot.fd, own.subarray(run.pagesOffset!, run.pagesOffset! + run.nrPages * 4096), slot.offset);
        continue;
      }
      for (let done = 0; done < run.nrPages; ) {
        const got = client.getPages(pid, run.vaddr + BigInt(done * 4096), Math.min(1024, run.nrPages - done), buf);
        writeAt(slot.fd, buf.subarray(0, got * 4096), slot.offset + done * 4096);
        done += got;
        fetched += got;
      }
    }
    client.flush();
  } finally {
    writer.close();
    client.close();
  }
  return fetched;
}

function writeAt(fd: number, data: Buffer, offset: number): void {
  for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at, offset + at);
}

t.test('dump --lazy-pages -R: the images lack the lazy pages, which the source serves on its port until they are fetched', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['64', '4']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1]!;
  const images = join(dir, 'img');
  mkdirSync(images);
  const port = 29000 + (process.pid % 2000);
  const dump = background(t, 'criu-dump', ['-t', String(pid), '-D', images, '--lazy-pages', '-R', '--port', String(port), '--address', '127.0.0.1', '-v4', '-o', 'dump.log']);
  waitFor('the lazy dump to serve', () => /serving the lazy pages on/.test(logOf(images, 'dump.log')), 60_000);
  const stats = dumpStats(images);
  t.ok(stats.lazy >= MIB64_PAGES, `pages_lazy counts the 64 MiB left in the task (${stats.lazy})`);
  t.ok(stats.written < 64, `pages_written only the eager ones (${stats.written})`);
  const pagesBytes = readdirSync(images).filter((n) => /^pages-/.test(n)).reduce((s, n) => s + statSync(join(images, n)).size, 0);
  t.ok(pagesBytes < 1 << 20, `the pages image holds no lazy data (${pagesBytes} bytes)`);
  const copy = join(dir, 'fetched');
  mkdirSync(copy);
  t.equal(fetchAllInto(images, copy, pid, port), stats.lazy, 'every lazy page came over PS_IOV_GET');
  t.equal((await dump).exitCode, 0, 'the dump ends once the daemon side hung up', { log: logOf(images, 'dump.log') });
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/)[0], `verify ok ${sum}`, '-R: the source runs on, intact');
  killAndReap(pid);
  waitFor('the source to be gone', () => !alive(pid));
  const local = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  t.not(await run('criu-restore', ['-D', images, '--lazy-pages', '-d', '-v4', '-o', 'restore.log']), 0, 'the lazy dump\'s own images do not restore with a local daemon');
  t.equal((await local).exitCode, 1, 'whose daemon fails at the hand-over');
  t.match(logOf(images, 'lazy-pages.log'), /are not in the images \(a dump --lazy-pages\)/, 'saying the pages are not in the images');
  t.notOk(alive(pid), 'and no task runs on without its memory');
  t.equal(await run('criu-restore', ['-D', copy, '-d', '-v4', '-o', 'restore.log']), 0, 'the fetched pages restore', { log: logOf(copy, 'restore.log') });
  t.teardown(() => killAndReap(pid));
  t.equal(ask(pid, out, SIG.USR1, /verify \S+ \d+/, 1)[0], `verify ok ${sum}`, 'every page served was right');
});

t.test('restore --lazy-pages with no daemon listening fails plainly and leaves no task', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['8', '1']);
  waitOutput(out, /ready \d+/);
  const images = join(dir, 'img');
  mkdirSync(images);
  t.equal(execaSyncDump(['-t', String(pid), '-D', images, '-o', 'dump.log']), 0, 'dumped');
  killAndReap(pid);
  waitFor('the fixture to be gone', () => !alive(pid));
  t.equal(await run('criu-restore', ['-D', images, '--lazy-pages', '-d', '-o', 'restore.log']), 1, 'exit 1');
  t.match(logOf(images, 'restore.log'), /cannot reach the lazy-pages daemon at \S+lazy-pages\.socket/, 'the log names the socket');
  t.notOk(alive(pid), 'no task left');
});

t.test('a restore that fails after the hand-over (CRIU_FAULT 2005): no task left, the daemon exits 1', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const { pid, images } = dumpedFixture(t, dir, out);
  const daemon = background(t, 'criu-lazy-pages', ['-D', images, '-v4', '-o', 'lazy-pages.log']);
  waitSocket(images);
  const restore = await execa(process.execPath, [toolPath('criu-restore'), '-D', images, '--lazy-pages', '-d', '-v4', '-o', 'restore.log'], {
    reject: false, timeout: 120_000, stdin: 'ignore', env: { ...process.env, CRIU_FAULT: '2005' },
  });
  t.not(restore.exitCode, 0, 'the restore fails at the resume stage');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), /uffd handed over/, 'after the uffd was handed over');
  t.equal((await daemon).exitCode, 1, 'the daemon exits 1');
  t.match(logOf(images, 'lazy-pages.log'), /closed the connection before it finished/, 'saying the restore went away');
  t.notOk(alive(pid), 'no task left');
});

t.test('criu lazy-pages on a directory that is not a dump fails plainly', async (t) => {
  const dir = scratchDir(t);
  const images = join(dir, 'img');
  mkdirSync(images);
  t.equal(await run('criu-lazy-pages', ['-D', images, '-o', 'lazy.log']), 1, 'lazy-pages on a directory that is no dump fails');
  t.match(logOf(images, 'lazy.log'), /inventory\.img is missing/, 'and says why');
});
