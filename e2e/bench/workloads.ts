// The benchmark's workloads and one round of each: start the workload,
// `criu dump` it (the tree is killed), `criu restore -d` it, kill what was
// restored. The same round runs with our criu and with upstream CRIU, and
// reports the wall time of both commands and stats-dump's frozen_time.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { fixturesDir } from '../lib/workspace.js';

export interface Workload {
  name: string;
  /** argv of the workload; FIXTURE/NAME is a compiled e2e/fixtures/NAME.c, SCRATCH a private directory */
  argv: string[];
  /** bytes of free memory it needs (the process, its images on tmpfs and the restored copy) */
  needs?: number;
}

const GiB = 1024 ** 3;
const PY_THREADS = 'import os, threading, time\nfor _ in range(8): threading.Thread(target=lambda: [time.sleep(0.05) for _ in iter(int, 1)], daemon=True).start()\nprint("ready", os.getpid(), flush=True)\nwhile True: time.sleep(0.05)\n';

export const WORKLOADS: Workload[] = [
  { name: 'tiny process', argv: ['/bin/sh', '-c', 'echo ready $$; exec sleep 100000'] },
  { name: '64 threads', argv: ['FIXTURE/threads', '64'] },
  { name: 'python3 8 threads', argv: ['/usr/bin/python3', '-c', PY_THREADS] },
  { name: '50-process tree', argv: ['FIXTURE/tree', '50'] },
  { name: '1000 open files', argv: ['FIXTURE/open-files', '1000', 'SCRATCH'] },
  { name: '256 MiB dirty', argv: ['FIXTURE/memory', '256'] },
  { name: '1 GiB dirty', argv: ['FIXTURE/memory', '1024'], needs: 4 * GiB },
  { name: '4 GiB dirty', argv: ['FIXTURE/memory', '4096'], needs: 14 * GiB },
];

/** Whether the machine has the memory a workload needs now. */
export function fits(w: Workload): boolean {
  return w.needs === undefined || freemem() >= w.needs;
}

/** Compile the C fixtures the workloads use into dir. */
export function compileFixtures(dir: string): void {
  for (const name of new Set(WORKLOADS.flatMap((w) => w.argv.filter((a) => a.startsWith('FIXTURE/')).map((a) => a.slice(8))))) {
    execFileSync('gcc', ['-O2', '-o', join(dir, name), join(fixturesDir, `${name}.c`), '-lpthread'], { timeout: 60_000 });
  }
}

export interface Criu {
  name: string;
  /** the command and the words before dump/restore */
  argv: string[];
}

export interface Sample {
  dumpMs: number;
  restoreMs: number;
  frozenMs: number;
}

async function waitReady(outFile: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /^ready (\d+)/m.exec(readFileSync(outFile, 'utf8'));
    if (m !== null) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`no "ready" line within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** pids of the tree rooted at pid (from /proc children lists) */
function treePids(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
      const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
      if (kids !== '') out.push(...kids.split(' ').map(Number));
    }
  }
  return out;
}

/** Gone and reaped (a zombie still holds its pid, which restore needs free). */
function gone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`);
}

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pids.every(gone)) {
    if (Date.now() > deadline) throw new Error(`pids ${pids.join(',')} still exist after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

function timed(argv: string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  execFileSync(argv[0]!, argv.slice(1), { cwd, timeout: 600_000, stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function showLog(dir: string, name: string): void {
  const log = join(dir, name);
  if (existsSync(log)) process.stderr.write(`--- ${log} (last lines)\n${readFileSync(log, 'utf8').split('\n').slice(-25).join('\n')}\n`);
}

/** One round: start w, dump it with criu (killing it), restore it with -d, kill it. */
export async function runRound(w: Workload, criu: Criu, fixtures: string): Promise<Sample> {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'criu-ts-bench-'));
  const images = join(root, 'images');
  const scratch = join(root, 'scratch');
  mkdirSync(images);
  mkdirSync(scratch);
  const outFile = join(root, 'out');
  const out = openSync(outFile, 'w');
  const argv = w.argv.map((a) => (a === 'SCRATCH' ? scratch : a.replace(/^FIXTURE\//, `${fixtures}/`)));
  let child: ChildProcess | undefined;
  let pids: number[] = [];
  try {
    child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, 'inherit'] });
    const pid = await waitReady(outFile, 120_000);
    pids = treePids(pid);
    let step = 'dump';
    try {
      const dumpMs = timed([...criu.argv, 'dump', '-t', String(pid), '-D', images, '-o', 'dump.log'], images);
      await waitGone(pids, 30_000);
      const frozenMs = Number(readOne(images, 'stats', 'dump').dump?.frozen_time ?? 0) / 1000;
      step = 'restore';
      const restoreMs = timed([...criu.argv, 'restore', '-D', images, '-d', '-o', 'restore.log'], images);
      return { dumpMs, restoreMs, frozenMs };
    } catch (error) {
      process.stderr.write(`${w.name} (${criu.name}): ${step} failed\n`);
      showLog(images, `${step}.log`);
      throw error;
    }
  } finally {
    closeSync(out);
    killAll(pids);
    if (child?.pid !== undefined) killAll([-child.pid]);
    await waitGone(pids, 30_000).catch((error: unknown) => process.stderr.write(`${String(error)}\n`));
    rmSync(root, { recursive: true, force: true });
  }
}
