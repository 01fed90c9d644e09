// Test helper: start a process to read /proc of, and always kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface LiveTask {
  pid: number;
  child: ChildProcess;
  /** the first stdout line, when waitForLine was asked */
  line: string;
}

const WAIT_MS = 10_000;

async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timeout = sleep(WAIT_MS, undefined, { signal: ac.signal }).then(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    ac.abort();
    timeout.catch(() => undefined); // the aborted timer rejects with AbortError: expected
  }
}

/** Kills the child (SIGKILL) and waits, bounded, until it has been reaped. */
export async function killTask(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await within(`pid ${child.pid} to exit`, exited);
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(text.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before printing a line`)));
  });
}

/** Spawns command; killed in t's teardown. */
export async function startTask(t: Teardown, command: string, args: string[], waitForLine = false): Promise<LiveTask> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => killTask(child));
  const line = waitForLine ? firstLine(child) : Promise.resolve('');
  await within(`${command} to start`, once(child, 'spawn'));
  if (child.pid === undefined) throw new Error(`${command} has no pid`);
  return { pid: child.pid, child, line: await within(`${command} to print`, line) };
}

const NR_CLOCK_NANOSLEEP = 230; // x86_64

/**
 * Starts `sleep 60` and waits (bounded) until it is blocked in
 * clock_nanosleep, so its maps and files no longer change.
 */
export async function startSleep(t: Teardown): Promise<LiveTask> {
  const task = await startTask(t, 'sleep', ['60']);
  const path = `/proc/${task.pid}/syscall`;
  const deadline = Date.now() + WAIT_MS;
  while (!readFileSync(path, 'utf8').startsWith(`${NR_CLOCK_NANOSLEEP} `)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for pid ${task.pid} to sleep`);
    await sleep(5);
  }
  return task;
}

/** What fn throws (a test fails on undefined: fn did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
