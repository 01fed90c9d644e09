// Helpers for the fault-injection tests: run a tool with CRIU_FAULT set (or
// a signal sent to it mid-way), and snapshot what a tree looks like from
// outside (state, tracer, mappings, fds) to compare before and after.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { toolPath } from './workspace.js';

/**
 * Every tool this test file starts carries this mark in its environment (set
 * here in the test process's own, so any spawn inherits it), and so does every
 * helper those tools start: tests running side by side (tap runs files in
 * parallel) then count only their own leftovers.
 */
const RUN_MARK_NAME = 'CRIU_TS_TEST_RUN';
const RUN_MARK_VALUE = `${process.pid}-${Date.now()}`;
const RUN_MARK = `${RUN_MARK_NAME}=${RUN_MARK_VALUE}`;
process.env[RUN_MARK_NAME] = RUN_MARK_VALUE;

export interface ToolExit {
  status: number | null;
  signal: NodeJS.Signals | null;
}

/** Run criu-dump / criu-restore with CRIU_FAULT=fault (undefined: none); bounded. */
export function runWithFault(tool: 'criu-dump' | 'criu-restore', args: readonly string[], fault: string | undefined, timeoutMs = 120_000): ToolExit {
  const env = { ...process.env };
  delete env.CRIU_FAULT;
  if (fault !== undefined) env.CRIU_FAULT = fault;
  const run = spawnSync(process.execPath, [toolPath(tool), ...args], { env, timeout: timeoutMs, stdio: ['ignore', 'ignore', 'ignore'] });
  return { status: run.status, signal: run.signal };
}

/** Start a tool, send it `signal` once `ready()` holds (polled), and wait for it to end; bounded. */
export async function signalMidway(tool: 'criu-dump' | 'criu-restore', args: readonly string[], signal: NodeJS.Signals, ready: () => boolean, timeoutMs = 600_000): Promise<ToolExit & { sent: boolean }> {
  const child = spawn(process.execPath, [toolPath(tool), ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
  const ended = new Promise<ToolExit>((resolve) => child.on('exit', (status, sig) => resolve({ status, signal: sig })));
  let sent = false;
  const deadline = Date.now() + timeoutMs;
  const poll = setInterval(() => {
    if (!sent && ready()) {
      sent = child.kill(signal);
    }
    if (Date.now() > deadline) child.kill('SIGKILL');
  }, 2);
  try {
    return { ...(await ended), sent };
  } finally {
    clearInterval(poll);
  }
}

export interface TaskSnapshot {
  pid: number;
  state: string;
  tracerPid: number;
  maps: string;
  fds: string[];
}

function status(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw error;
  }
}

/** One task seen from outside, or undefined if it is gone (or a zombie). */
export function snapshot(pid: number): TaskSnapshot | undefined {
  const text = status(pid);
  if (text === undefined) return undefined;
  const state = /^State:\s*(\S)/m.exec(text)?.[1] ?? '?';
  if (state === 'Z' || state === 'X') return undefined;
  const tracerPid = Number(/^TracerPid:\s*(\d+)/m.exec(text)?.[1] ?? 0);
  const fdDir = `/proc/${pid}/fd`;
  const fds = readdirSync(fdDir).sort((a, b) => Number(a) - Number(b)).map((fd) => `${fd} ${readlinkSync(join(fdDir, fd))}`);
  return { pid, state, tracerPid, maps: readFileSync(`/proc/${pid}/maps`, 'utf8'), fds };
}

/** Pids of live processes running the executable at `exe` that this test file's tools started. */
export function processesOf(exe: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/exe`) !== exe) continue;
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(RUN_MARK)) found.push(Number(name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ESRCH' && code !== 'EACCES') throw error;
    }
  }
  return found;
}

/** Every descendant of pid (children of any of its threads, zombies too), parents first. */
export function descendantsOf(pid: number): number[] {
  const children: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') children.push(...text.split(' ').map(Number));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}
