// The iterative-migration benchmark: 1 GiB of dirty anonymous memory
// (mem-dirty 1024 16), `criu pre-dump`, then 16 MiB rewritten, then
// `criu dump --track-mem --prev-images-dir ../pre -R`: the frozen time of
// each, the pages each wrote and the pages the dump left to its parent.
// Images on tmpfs; median of `rounds`. Part of `npm run bench`; alone:
// node --import @tapjs/typescript/import e2e/bench/incremental-bench.ts
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { fixturesDir, toolPath } from '../lib/workspace.js';

interface Round {
  preFrozenMs: number;
  prePages: number;
  dumpFrozenMs: number;
  dumpPages: number;
  skipped: number;
}

async function waitLine(file: string, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(readFileSync(file, 'utf8'));
    if (m !== null) return m;
    if (Date.now() > deadline) throw new Error(`no ${re.source} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function dump(images: string, args: string[]): { frozenMs: number; pages: number; skipped: number } {
  mkdirSync(images);
  execFileSync(process.execPath, [toolPath('criu-dump'), ...args, '-D', images, '-o', 'dump.log'], { timeout: 300_000, stdio: 'inherit' });
  const stats = readOne(images, 'stats', 'dump').dump;
  return { frozenMs: Number(stats?.frozen_time ?? 0) / 1000, pages: Number(stats?.pages_written ?? 0), skipped: Number(stats?.pages_skipped_parent ?? 0) };
}

async function round(bin: string): Promise<Round> {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'criu-ts-bench-inc-'));
  const outFile = join(dir, 'out');
  const out = openSync(outFile, 'w');
  const child = spawn(bin, ['1024', '16'], { detached: true, stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  try {
    const pid = Number((await waitLine(outFile, /^ready (\d+)/m, 120_000))[1]);
    const pre = dump(join(dir, 'pre'), ['pre-dump', '-t', String(pid)]);
    process.kill(pid, 'SIGUSR2');
    await waitLine(outFile, /^dirty 1 /m, 60_000);
    const last = dump(join(dir, 'dump'), ['-t', String(pid), '-R', '--track-mem', '--prev-images-dir', '../pre']);
    return { preFrozenMs: pre.frozenMs, prePages: pre.pages, dumpFrozenMs: last.frozenMs, dumpPages: last.pages, skipped: last.skipped };
  } finally {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Runs the benchmark and prints its table. */
export async function incrementalBenchmarks(buildDir: string, rounds: number): Promise<void> {
  const bin = join(buildDir, 'mem-dirty');
  execFileSync('gcc', ['-O2', '-o', bin, join(fixturesDir, 'mem-dirty.c')], { timeout: 60_000 });
  const all: Round[] = [];
  for (let i = 0; i < rounds; i++) all.push(await round(bin));
  const pick = (key: keyof Round): string => median(all.map((r) => r[key])).toFixed(0);
  console.log(`\ncriu-ts pre-dump, then dump --track-mem after 16 MiB changed (1 GiB workload), tmpfs, median of ${rounds} round(s)`);
  const head = ['run', 'frozen ms', 'pages written', 'pages in parent'];
  const lines = [
    ['pre-dump', pick('preFrozenMs'), pick('prePages'), '0'],
    ['dump after pre-dump', pick('dumpFrozenMs'), pick('dumpPages'), pick('skipped')],
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [head, ...lines]) console.log(line.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

if (process.argv[1]?.endsWith('incremental-bench.ts')) {
  const build = mkdtempSync(join(tmpdir(), 'criu-ts-bench-bin-'));
  try {
    await incrementalBenchmarks(build, Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3)));
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}
