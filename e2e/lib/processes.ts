// Start workload processes for tests and make sure every one of them is
// gone when the test ends, even on failure. Waits are always bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export interface Workload {
  pid: number;
  child: ChildProcess;
  /** everything the process wrote to stdout so far */
  output(): string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Kill a pid (and, if it leads one, its process group) and wait until it is gone. */
export async function killAndWait(pid: number, timeoutMs = 5000): Promise<void> {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  await waitFor(() => !alive(pid) || isZombie(pid), timeoutMs, `pid ${pid} to die`);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** Poll `ready` every 20 ms until it is true; throw after timeoutMs. */
export async function waitFor(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Start a workload in its own session (so it is not tied to the test's
 * terminal or process group) and register its cleanup on the test. Its
 * stdout and stderr go to a file (not to a socket, as Node's pipes are:
 * a dump would have to deal with a socket connected outside the tree),
 * stdin is /dev/null.
 */
export function startWorkload(t: Test, command: string, args: string[] = [], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Workload {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-out-'));
  const outPath = join(dir, 'output');
  const out = openSync(outPath, 'w+', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], ...options });
  } finally {
    closeSync(out);
  }
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  t.teardown(async () => {
    await killAndWait(pid);
    rmSync(dir, { recursive: true, force: true });
  });
  return { pid, child, output: () => readFileSync(outPath, 'utf8') };
}

/** Wait until the workload printed a line matching `pattern` (bounded). */
export async function waitForOutput(w: Workload, pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  await waitFor(() => pattern.test(w.output()), timeoutMs, `output matching ${pattern}`);
  return w.output().match(pattern) as RegExpMatchArray;
}
