// The dump benchmark: runs the real criu-dump tool (-R, images on tmpfs)
// on three workloads and prints dump time, frozen time and page throughput
// from stats-dump:
//   memory 1024  1 GiB of dirty private anonymous memory
//   threads 64   64 running threads
//   tree 50      a tree of 50 processes
// Each workload runs BENCH_ROUNDS times (default 3); the table shows the
// median of each column; then the --stream and --page-server transfers
// (stream-bench.ts). Run: npm run bench
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { fixturesDir, toolPath } from '../lib/workspace.js';
import { streamBenchmarks } from './stream-bench.js';
import { incrementalBenchmarks } from './incremental-bench.js';

interface Scenario {
  name: string;
  fixture: string;
  args: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'memory 1 GiB', fixture: 'memory', args: ['1024'] },
  { name: '64 threads', fixture: 'threads', args: ['64'] },
  { name: '50 processes', fixture: 'tree', args: ['50'] },
];

interface Row {
  name: string;
  wallMs: number;
  frozenMs: number;
  memdumpMs: number;
  pages: number;
  gbps: number;
}

/** Poll the fixture's output file (bounded) until it prints "ready PID". */
async function waitReady(outFile: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /^ready (\d+)/m.exec(readFileSync(outFile, 'utf8'));
    if (m !== null) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`no "ready" line within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function runScenario(s: Scenario, bin: string): Promise<Row> {
  const images = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'criu-ts-bench-'));
  // stdout to a file: a pipe from spawn is a socket, which the dump does not support
  const outFile = `${bin}.out`;
  const out = openSync(outFile, 'w');
  const child = spawn(bin, s.args, { detached: true, stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  try {
    const pid = await waitReady(outFile, 60_000);
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-R', '-o', 'dump.log'], { timeout: 300_000, stdio: 'inherit' });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const stats = readOne(images, 'stats', 'dump').dump;
    const memdumpMs = Number(stats?.memdump_time ?? 0) / 1000;
    const pages = Number(stats?.pages_written ?? 0);
    return { name: s.name, wallMs, frozenMs: Number(stats?.frozen_time ?? 0) / 1000, memdumpMs, pages, gbps: memdumpMs > 0 ? (pages * 4096) / (memdumpMs / 1000) / 1e9 : 0 };
  } catch (error) {
    const log = join(images, 'dump.log');
    if (existsSync(log)) process.stderr.write(`${s.name}: dump failed, its log:\n${readFileSync(log, 'utf8')}`);
    throw error;
  } finally {
    killTree(child);
    rmSync(images, { recursive: true, force: true });
  }
}

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function medianRow(rows: Row[]): Row {
  const pick = (key: 'wallMs' | 'frozenMs' | 'memdumpMs' | 'pages' | 'gbps'): number => median(rows.map((r) => r[key]));
  return { name: rows[0]!.name, wallMs: pick('wallMs'), frozenMs: pick('frozenMs'), memdumpMs: pick('memdumpMs'), pages: pick('pages'), gbps: pick('gbps') };
}

interface RestoreRow {
  name: string;
  restoreMs: number;
  pages: number;
  gbps: number;
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

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => existsSync(`/proc/${pid}`))) {
    if (Date.now() > deadline) throw new Error(`pids ${pids.join(',')} still exist after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Dump (the tree is killed), then time `criu-restore -d` of the images. */
async function restoreScenario(s: Scenario, bin: string): Promise<RestoreRow> {
  const images = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'criu-ts-bench-'));
  const outFile = `${bin}.out`;
  const out = openSync(outFile, 'w');
  const child = spawn(bin, s.args, { detached: true, stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  let restored: number[] = [];
  try {
    const pid = await waitReady(outFile, 60_000);
    const pids = treePids(pid);
    execFileSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-o', 'dump.log'], { timeout: 300_000, stdio: 'inherit' });
    await waitGone(pids, 30_000);
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [toolPath('criu-restore'), '-D', images, '-d', '-o', 'restore.log', '--pidfile', 'restored.pid'], { timeout: 300_000, stdio: ['ignore', 'ignore', 'inherit'] });
    const restoreMs = Number(process.hrtime.bigint() - t0) / 1e6;
    restored = pids;
    const pages = Number(readOne(images, 'stats', 'dump').dump?.pages_written ?? 0);
    return { name: s.name, restoreMs, pages, gbps: (pages * 4096) / (restoreMs / 1000) / 1e9 };
  } catch (error) {
    const log = join(images, 'restore.log');
    if (existsSync(log)) process.stderr.write(`${s.name}: restore failed, its log:\n${readFileSync(log, 'utf8')}`);
    throw error;
  } finally {
    for (const pid of restored) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    killTree(child);
    rmSync(images, { recursive: true, force: true });
  }
}

function printRestoreTable(rows: RestoreRow[]): void {
  const head = ['workload', 'restore ms', 'pages', 'GB/s'];
  const lines = rows.map((r) => [r.name, r.restoreMs.toFixed(0), String(r.pages), r.gbps.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [head, ...lines]) console.log(line.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

function printTable(rows: Row[]): void {
  const head = ['workload', 'dump ms', 'frozen ms', 'memdump ms', 'pages', 'GB/s'];
  const lines = rows.map((r) => [r.name, r.wallMs.toFixed(0), r.frozenMs.toFixed(0), r.memdumpMs.toFixed(0), String(r.pages), r.gbps.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [head, ...lines]) console.log(line.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

async function main(): Promise<void> {
  const build = mkdtempSync(join(tmpdir(), 'criu-ts-bench-bin-'));
  try {
    const rows: Row[] = [];
    const restoreRows: RestoreRow[] = [];
    for (const s of SCENARIOS) {
      const bin = join(build, s.fixture);
      execFileSync('gcc', ['-O2', '-o', bin, join(fixturesDir, `${s.fixture}.c`), '-lpthread'], { timeout: 60_000 });
      const rounds: Row[] = [];
      for (let i = 0; i < ROUNDS; i++) rounds.push(await runScenario(s, bin));
      rows.push(medianRow(rounds));
      const restores: RestoreRow[] = [];
      for (let i = 0; i < ROUNDS; i++) restores.push(await restoreScenario(s, bin));
      const ms = median(restores.map((r) => r.restoreMs));
      restoreRows.push({ ...restores[0]!, restoreMs: ms, gbps: (restores[0]!.pages * 4096) / (ms / 1000) / 1e9 });
    }
    console.log(`criu-ts dump, images on tmpfs, median of ${ROUNDS} round(s)`);
    printTable(rows);
    console.log(`\ncriu-ts restore (-d), images on tmpfs, median of ${ROUNDS} round(s)`);
    printRestoreTable(restoreRows);
    await streamBenchmarks(join(build, 'memory'), ROUNDS);
    await incrementalBenchmarks(build, ROUNDS);
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

await main();
