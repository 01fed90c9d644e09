// Shared by the sockets e2e tests: start the sockets fixture with its stdout
// on a pipe (Node hands a child a socketpair for stdout, whose peer lives
// outside the dumped tree), decode images with Debian's crit, and read
// /proc/net/unix as the independent view of unix sockets.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { Test } from 'tap';
import { compileFixture } from './fixtures.js';
import { startWorkload, waitFor, waitForOutput, type Workload } from './processes.js';

/** An entry as crit prints it (JSON objects all the way down). */
export type Json = { readonly [key: string]: unknown };

/** A nested field of a crit entry: field(e, 'usk', 'name'). */
export function field(entry: Json, ...path: string[]): unknown {
  let value: unknown = entry;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Json)[key] : undefined;
  return value;
}

export function crit(path: string): Json[] {
  const out = execFileSync('/usr/bin/crit', ['decode', '-i', path], { encoding: 'utf8', timeout: 30_000 });
  return (JSON.parse(out) as { entries: Json[] }).entries;
}

export interface SocketsFixture {
  w: Workload;
  pid: number;
}

/** Start `sockets MODE ARGS...` (compiled into dir) and wait for "ready PID". */
export async function startSockets(t: Test, dir: string, args: string[]): Promise<SocketsFixture> {
  const bin = compileFixture('sockets', dir);
  const w = startWorkload(t, 'sh', ['-c', 'exec "$0" "$@" 2>&1 | cat', bin, ...args]);
  const m = await waitForOutput(w, /^ready (\d+)$/m);
  return { w, pid: Number(m[1]) };
}

/** Socket inode of fd N of pid. */
export function socketInode(pid: number, fd: number): number {
  const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
  if (m === null) throw new Error(`pid ${pid} fd ${fd} is not a socket`);
  return Number(m[1]);
}

export interface ProcNetUnix {
  type: number;
  state: number;
  path: string | undefined;
}

/** /proc/net/unix: inode → type, st (1 unconnected, 3 connected), path ('@' for abstract). */
export function procNetUnix(): Map<number, ProcNetUnix> {
  const table = new Map<number, ProcNetUnix>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    table.set(Number(f[6]), { type: parseInt(f[4], 16), state: parseInt(f[5], 16), path: f[7] });
  }
  return table;
}

/** SIGUSR1: the fixture drains its queues and prints them; returns what it printed. */
export async function drainOutput(fx: SocketsFixture): Promise<string> {
  const before = fx.w.output().length;
  process.kill(fx.pid, 'SIGUSR1');
  await waitFor(() => /^drained$/m.test(fx.w.output().slice(before)), 10_000, 'the fixture to drain its sockets');
  return fx.w.output().slice(before);
}
