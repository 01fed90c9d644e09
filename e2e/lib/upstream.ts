// Upstream CRIU 4.2 as an oracle for image interoperability: where it is
// ($CRIU_UPSTREAM, else /usr/local/sbin/criu-upstream), and dumps and
// restores made by either side as users run them, so that a test can dump
// with one and restore with the other. Every wait is bounded; every dumped
// task is killed again on teardown.
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Test } from 'tap';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEntries } from '@criu-ts/images';
import { kill } from '@criu-ts/kernel';
import { alive, killAndReap, runRestore, waitFor, type Teardowns } from '../../libs/restore/test/live.js';
import { dumpAndKill } from './round-trip.js';

const DEFAULT_UPSTREAM = '/usr/local/sbin/criu-upstream';

/** The upstream criu binary, or undefined when there is none. */
export function upstreamCriu(): string | undefined {
  const path = process.env.CRIU_UPSTREAM ?? DEFAULT_UPSTREAM;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EACCES') return undefined;
    throw error;
  }
}

/** tap's skip option: a plain reason when upstream CRIU is absent. */
export function skipWithoutUpstream(): string | false {
  if (upstreamCriu() !== undefined) return false;
  return `skipped: upstream CRIU not found (set CRIU_UPSTREAM or build ${DEFAULT_UPSTREAM} with shared/tools/upstream-criu.sh)`;
}

export type Side = 'ours' | 'upstream';

/** Both directions, named for test titles. */
export const DIRECTIONS: readonly { dump: Side; restore: Side; title: string }[] = [
  { dump: 'ours', restore: 'upstream', title: 'dumped by ours, restored by upstream' },
  { dump: 'upstream', restore: 'ours', title: 'dumped by upstream, restored by ours' },
];

/** The last lines of a log in the images directory. */
export function logTail(images: string, name: string, lines = 30): string {
  try {
    return readFileSync(join(images, name), 'utf8').split('\n').slice(-lines).join('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `(no ${name})`;
    throw error;
  }
}

function upstreamDump(t: Teardowns, dir: string, pid: number, args: readonly string[]): string {
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(upstreamCriu()!, ['dump', '-t', String(pid), '-D', images, '-v4', '-o', 'dump.log', ...args], { timeout: 120_000 });
  if (run.status !== 0) throw new Error(`criu-upstream dump failed (${run.status}): ${logTail(images, 'dump.log', 40)}`);
  // our reader on upstream's pstree: the tids to wait for (upstream lists a zombie's thread as 0)
  const tids = readEntries(images, 'pstree').flatMap((entry) => [entry.pid, ...(entry.threads ?? []).filter((tid) => tid > 0 && tid !== entry.pid)]);
  for (const tid of tids) killAndReap(tid);
  waitFor('the dumped tasks to be gone', () => tids.every((tid) => !alive(tid)), 20_000);
  t.teardown(() => tids.forEach(killAndReap));
  return images;
}

/** Dumps pid's tree into dir/img with one side's criu (the tree is killed); the images dir. */
export function dumpWith(side: Side, t: Teardowns, dir: string, pid: number, args: readonly string[] = []): string {
  return side === 'ours' ? dumpAndKill(t, dir, pid, { args }) : upstreamDump(t, dir, pid, args);
}

/**
 * Restores images with one side's criu, detached (-d), from a shell whose
 * stdout and stderr append to outFile (restored tasks inherit nothing of
 * ours); its exit status. The log is restore.log in the images dir.
 */
export function restoreWith(side: Side, outFile: string, images: string, args: readonly string[] = []): number {
  const common = ['-D', images, '-d', '-v4', '-o', 'restore.log', ...args];
  if (side === 'ours') return runRestore(outFile, common);
  const run = spawnSync('sh', ['-c', 'exec "$0" restore "$@" >>"$OUT" 2>&1 </dev/null', upstreamCriu()!, ...common], {
    env: { ...process.env, OUT: outFile },
    timeout: 60_000,
  });
  return run.status ?? -1;
}

/**
 * Signals a restored task once its main thread sleeps in a system call
 * again: a signal that lands while it is still on its way back (restored
 * registers re-running the interrupted call) would run its handler before
 * the call, which then waits for the next signal.
 */
export function signalWhenAsleep(pid: number, signal: number, timeoutMs = 10_000): void {
  waitFor(`pid ${pid} to sleep in a system call`, () => {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state === 'S' && /^\d+ /.test(readFileSync(`/proc/${pid}/syscall`, 'utf8'));
  }, timeoutMs);
  kill(pid, signal);
}

/** Lines of an upstream log that say Error, less the one every restore here prints (no CAP_SYS_RESOURCE). */
export function upstreamErrors(log: string): string[] {
  return log.split('\n').filter((line) => /Error/.test(line) && !/Can't setup RLIMIT_NOFILE for self/.test(line));
}

/** Where upstream's source tree (and its crit) is: $CRIU_UPSTREAM_SRC, else /opt/criu-upstream. */
const upstreamSrc = (): string => process.env.CRIU_UPSTREAM_SRC ?? '/opt/criu-upstream';

/** Upstream's crit, run from its source tree with the system python (which has protobuf), or undefined. */
export function upstreamCrit(): { command: string; args: string[]; env: NodeJS.ProcessEnv } | undefined {
  const src = upstreamSrc();
  try {
    accessSync(join(src, 'crit', 'crit', '__main__.py'), constants.R_OK);
    accessSync(join(src, 'lib', 'pycriu', 'images'), constants.R_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return { command: '/usr/bin/python3', args: ['-m', 'crit'], env: { ...process.env, PYTHONPATH: `${join(src, 'lib')}:${join(src, 'crit')}` } };
}

export interface CritRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** `crit decode -i path` with Debian's crit or upstream's. */
export function critDecode(which: 'debian' | 'upstream', path: string): CritRun {
  const crit = which === 'debian' ? { command: '/usr/bin/crit', args: [], env: process.env } : upstreamCrit()!;
  const run = spawnSync(crit.command, [...crit.args, 'decode', '-i', path], { env: crit.env, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20 });
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

export interface Decoded {
  ok: boolean;
  error?: string;
  /** a pagemap's run page counts */
  nr_pages?: number[];
}

/**
 * Decodes many images in one python process with the library `crit decode`
 * uses (pycriu.images.load), Debian's or upstream's: file → result. Throws
 * if the wrong pycriu answered.
 */
export function critDecodeAll(which: 'debian' | 'upstream', paths: readonly string[]): Map<string, Decoded> {
  const env = which === 'debian' ? { ...process.env, PYTHONPATH: '' } : upstreamCrit()!.env;
  const run = spawnSync('/usr/bin/python3', [join(dirname(fileURLToPath(import.meta.url)), 'crit-decode.py'), ...paths], { env, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`crit-decode.py (${which}) failed (${run.status}): ${run.stderr.slice(-2000)}`);
  const [head, ...lines] = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Decoded & { file?: string; pycriu?: string });
  const expected = which === 'debian' ? '/usr/lib/python3/dist-packages/' : upstreamSrc();
  if (!head?.pycriu?.startsWith(expected)) throw new Error(`crit-decode.py (${which}) loaded ${head?.pycriu}, not pycriu from ${expected}`);
  return new Map(lines.map((line) => [line.file!, line]));
}

/**
 * restoreWith, checked: it exits 0 and its log has no line saying Error
 * (upstream's less the one every restore prints here); false if it failed.
 */
export function restoreChecked(t: Test, side: Side, out: string, images: string, args: readonly string[] = []): boolean {
  const status = restoreWith(side, out, images, args);
  t.equal(status, 0, `restore by ${side} exits 0`, status === 0 ? {} : { log: logTail(images, 'restore.log') });
  if (status !== 0) return false;
  const errors = upstreamErrors(readFileSync(join(images, 'restore.log'), 'utf8'));
  t.same(errors, [], `the ${side} restore logs no error`);
  return true;
}
