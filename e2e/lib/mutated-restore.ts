// Helpers of the mutated-image restore test: the sentinel directory it
// watches, one bounded criu-restore run, what it left (descendants of this
// process, which is their subreaper), and the names criu(8) may bind a
// socket at for a given image set.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { killAndReap, restoreTool, waitFor } from '../../libs/restore/test/live.js';
import { descendantsOf } from './faults.js';

/** The size and mode of the fixture's "reg": a canary like it passes a file's validation. */
export const REG_SIZE = 3000;
export const REG_MODE = 0o640;

/** A sentinel directory: files no restore of the fixture's images may create, write, move or remove. */
export function makeOutside(outside: string): void {
  mkdirSync(outside);
  writeFileSync(join(outside, 'canary'), 'c'.repeat(REG_SIZE));
  chmodSync(join(outside, 'canary'), REG_MODE);
  writeFileSync(join(outside, 'canary.criu-sk-ghost'), 'a name a deleted socket is parked under\n');
  writeFileSync(join(outside, 'link_remap.1'), 'named like a link remap\n');
  mkdirSync(join(outside, 'dir'));
  writeFileSync(join(outside, 'dir', 'inner'), 'inner\n');
  execFileSync('mkfifo', [join(outside, 'fifo')]);
  symlinkSync('canary', join(outside, 'link'));
}

export interface RestoreRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** the log's Error lines */
  errors: string[];
}

/** criu-restore -d of images, its own output to toolOut, killed (SIGKILL) after timeoutMs. */
export function restoreOnce(images: string, toolOut: string, timeoutMs = 60_000): RestoreRun {
  const run = spawnSync('sh', ['-c', 'exec "$0" "$@" >"$OUT" 2>&1 </dev/null', process.execPath, restoreTool, '-D', images, '-d', '-v4', '-o', 'restore.log'], {
    env: { ...process.env, OUT: toolOut },
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const log = join(images, 'restore.log');
  const errors = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => /\bError\b/.test(line)) : [];
  return { status: run.status, signal: run.signal, errors };
}

/** Kills every descendant of this process and reaps them (bounded); returns those there were. */
export function killDescendants(): number[] {
  const found = descendantsOf(process.pid);
  waitFor('every descendant to be gone', () => {
    const now = descendantsOf(process.pid);
    now.forEach(killAndReap);
    return descendantsOf(process.pid).length === 0;
  }, 20_000);
  return found;
}

/** The path a bind(2) of `name` from `dir` makes, its directory's symlinks resolved (undefined if that directory is missing). */
function resolvedBindPath(name: string, dir: string | undefined): string | undefined {
  const path = isAbsolute(name) || dir === undefined ? name : join(dir, name);
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Where the unix sockets of an image set that restored are bound (what criu(8) binds: the saved names). */
export function boundSocketPaths(images: string): string[] {
  const files = readEntries(images, 'files');
  return files.flatMap((entry) => {
    const sk = entry.usk;
    if (sk === undefined || sk.name.length === 0 || sk.name[0] === 0 || sk.deleted === true) return [];
    const cut = Buffer.from(sk.name).indexOf(0);
    const path = resolvedBindPath(Buffer.from(sk.name).subarray(0, cut < 0 ? undefined : cut).toString('latin1'), sk.name_dir);
    return path === undefined ? [] : [path];
  });
}

/** rm -rf: names that are not UTF-8 (a restore may bind one) defeat fs.rmSync's walk. */
export function removeTree(path: string): void {
  execFileSync('rm', ['-rf', '--', path], { timeout: 60_000 });
}

/** A snapshot without the names `skip` matches. */
export function without(snapshot: Map<string, string>, skip: (name: string, what: string) => boolean): Map<string, string> {
  return new Map([...snapshot].filter(([name, what]) => !skip(name, what)));
}
