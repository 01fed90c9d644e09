// The load run: dump and restore (images on tmpfs, the tree killed after
// the dump, restored with -d) of a 500-process tree, a task with 10,000 fds
// and one with 100,000 VMAs; prints wall time and the tool's max RSS (GNU
// time's %M) for each, and checks the restored workload (its own verify, or
// the tree's size). vm.max_map_count is raised for the VMA case and put
// back. Run: npm run bench:load [-- NAME...]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { fixturesDir, toolPath } from '../lib/workspace.js';

interface Load {
  name: string;
  fixture: string;
  args: string[];
  /** how the restored workload proves it is whole */
  verify: 'usr1' | 'tree';
  maxMapCount?: number;
}

const LOADS: Load[] = [
  { name: 'tree of 500 tasks', fixture: 'tree', args: ['500'], verify: 'tree' },
  { name: '10,000 fds', fixture: 'many-fds', args: ['10000'], verify: 'usr1' },
  { name: '100,000 VMAs', fixture: 'many-vmas', args: ['100000'], verify: 'usr1', maxMapCount: 131072 },
];

interface Measure {
  status: number | null;
  ms: number;
  maxRssMiB: number;
}

function timed(tool: string, args: string[], dir: string): Measure {
  const rssFile = join(dir, `${tool}.rss`);
  const started = Date.now();
  const run = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, toolPath(tool), ...args], { stdio: 'ignore', timeout: 600_000 });
  const ms = Date.now() - started;
  const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
  return { status: run.status, ms, maxRssMiB: kib / 1024 };
}

async function waitFor(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; !ready(); await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Whether pid still holds its pid (a zombie does too, until reaped: a restore needs it gone). */
const present = (pid: number): boolean => existsSync(`/proc/${pid}`);

function descendants(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return [pid, ...(children === '' ? [] : children.split(' ').map(Number)).flatMap(descendants)];
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

async function runLoad(load: Load, work: string): Promise<string> {
  const exe = join(work, load.fixture);
  execFileSync('gcc', ['-O1', '-o', exe, join(fixturesDir, `${load.fixture}.c`)]);
  const outFile = join(work, `${load.fixture}.out`);
  const out = openSync(outFile, 'w');
  const child = spawn(exe, load.args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  let pids = [pid];
  try {
    await waitFor('the workload', () => /^ready /m.test(readFileSync(outFile, 'utf8')), 300_000);
    pids = descendants(pid);
    const images = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'criu-ts-load-'));
    try {
      const dump = timed('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log'], work);
      if (dump.status !== 0) return `${load.name}: dump failed (${dump.status}): ${readFileSync(join(images, 'dump.log'), 'utf8').slice(-800)}`;
      const tids = readEntries(images, 'pstree').flatMap((entry) => entry.threads ?? []);
      // the root is our child: its zombie is reaped by our event loop, which must turn before the (synchronous) restore
      await waitFor('the dumped tasks to be gone and reaped', () => tids.every((tid) => !present(tid)), 60_000);
      const restore = timed('criu-restore', ['-D', images, '-d', '-o', 'restore.log'], work);
      if (restore.status !== 0) return `${load.name}: restore failed (${restore.status}): ${readFileSync(join(images, 'restore.log'), 'utf8').slice(-800)}`;
      const verdict = await verify(load, pid, outFile, pids.length);
      const row = (m: Measure): string => `${String(m.ms).padStart(7)} ms ${m.maxRssMiB.toFixed(0).padStart(5)} MiB`;
      return `${load.name.padEnd(20)} dump ${row(dump)} | restore ${row(restore)} | ${verdict}`;
    } finally {
      rmSync(images, { recursive: true, force: true });
    }
  } finally {
    killAll(pids);
  }
}

async function verify(load: Load, pid: number, outFile: string, count: number): Promise<string> {
  if (load.verify === 'tree') {
    const now = descendants(pid).length;
    return now === count ? `${now} tasks restored` : `BAD: ${now} of ${count} tasks`;
  }
  process.kill(pid, 'SIGUSR1');
  await waitFor('the verdict', () => /^verify /m.test(readFileSync(outFile, 'utf8')), 120_000);
  return /^verify ok/m.test(readFileSync(outFile, 'utf8')) ? 'verify ok' : 'BAD: verify failed';
}

const wanted = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), 'criu-ts-load-work-'));
const mapCountPath = '/proc/sys/vm/max_map_count';
const mapCount = readFileSync(mapCountPath, 'utf8').trim();
try {
  for (const load of LOADS.filter((l) => wanted.length === 0 || wanted.some((w) => l.fixture.startsWith(w)))) {
    if (load.maxMapCount !== undefined && Number(mapCount) < load.maxMapCount) writeFileSync(mapCountPath, String(load.maxMapCount));
    try {
      process.stdout.write(`${await runLoad(load, work)}\n`);
    } catch (error) {
      process.stdout.write(`${load.name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    } finally {
      writeFileSync(mapCountPath, mapCount);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
