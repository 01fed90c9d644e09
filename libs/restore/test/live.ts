// Test support (not built): C workloads started in the background (not as
// node's children), the restore tool run from a shell so that restored
// tasks inherit a file as stdout, and cleanup that kills and reaps.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyscallError } from '@criu-ts/base';
import { PR, kill, prctl, sleepSync } from '@criu-ts/kernel';
import { killAndReap } from '../../kernel/test/target.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const restoreTool = join(root, 'tools/criu-restore/dist/main.cjs');

export interface Teardowns {
  teardown(fn: () => void | Promise<void>): void;
}

export function tempDir(t: Teardowns, prefix = 'criu-ts-restore-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function compile(dir: string, source: string): string {
  const out = join(dir, source.replace(/.*\//, '').replace(/\.c$/, ''));
  execFileSync('gcc', ['-O1', '-o', out, join(root, source), '-lpthread'], { stdio: 'pipe' });
  return out;
}

export function alive(pid: number): boolean {
  try {
    kill(pid, 0);
  } catch (error) {
    if (error instanceof SyscallError && error.errno === 3) return false;
    throw error;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat[stat.lastIndexOf(')') + 2] !== 'Z';
}

/** SIGKILL pid and reap it once it is our child (bounded): the kernel tests' helper. */
export { killAndReap };

/** Starts `command args` in a new session in the background, stdout to outFile; its pid. */
export function startBackground(t: Teardowns, outFile: string, command: string, args: string[] = []): number {
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  const sh = spawnSync('sh', ['-c', 'setsid "$0" "$@" >>"$OUT" 2>&1 </dev/null & echo $!', command, ...args], {
    env: { ...process.env, OUT: outFile },
    encoding: 'utf8',
  });
  const pid = Number(sh.stdout.trim());
  if (!(pid > 0)) throw new Error(`could not start ${command}: ${sh.stderr}`);
  t.teardown(() => killAndReap(pid));
  return pid;
}

export function waitFor(what: string, ready: () => boolean, timeoutMs = 10_000): void {
  for (const end = Date.now() + timeoutMs; !ready(); sleepSync(10)) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

export function waitOutput(file: string, re: RegExp, timeoutMs = 10_000): RegExpMatchArray {
  let m: RegExpMatchArray | null = null;
  waitFor(`${re} in ${file}`, () => (m = readFileSync(file, 'utf8').match(re)) !== null, timeoutMs);
  return m!;
}

/** Runs criu-restore from a shell with stdout/stderr appended to outFile; its exit status. */
export function runRestore(outFile: string, args: string[], timeoutMs = 60_000): number {
  const run = spawnSync('sh', ['-c', 'exec "$0" "$@" >>"$OUT" 2>&1 </dev/null', process.execPath, restoreTool, ...args], {
    env: { ...process.env, OUT: outFile },
    timeout: timeoutMs,
  });
  return run.status ?? -1;
}
