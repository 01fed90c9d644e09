// Start workload processes for tests and make sure every one of them is
// gone when the test ends, even on failure. Waits are always bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
 * terminal or process group) and register its cleanup on the test.
 */
export function startWorkload(t: Test, command: string, args: string[] = [], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Workload {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'], ...options });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  t.teardown(() => killAndWait(pid));
  return { pid, child, output: () => out };
}

/** Wait until the workload printed a line matching `pattern` (bounded). */
export async function waitForOutput(w: Workload, pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  await waitFor(() => pattern.test(w.output()), timeoutMs, `output matching ${pattern}`);
  return w.output().match(pattern) as RegExpMatchArray;
}
