// The benchmark (npm run bench): every workload of workloads.ts is dumped
// and restored (-d) with our `criu` (node_modules/.bin/criu, the umbrella
// the user runs) and, when upstream CRIU is here ($CRIU_UPSTREAM or
// /usr/local/sbin/criu-upstream), with it in the same run, round by round
// in turn. Images on tmpfs. Printed: the median of BENCH_ROUNDS (default 3)
// of the wall ms of each command, stats-dump's frozen time, and the ratios
// ours/upstream. BENCH_ONLY=REGEX picks workloads; BENCH_STREAM=1 adds the
// --stream and --page-server transfers (stream-bench.ts).
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspaceRoot } from '../lib/workspace.js';
import { incrementalBenchmarks } from './incremental-bench.js';
import { streamBenchmarks } from './stream-bench.js';
import { WORKLOADS, compileFixtures, fits, runRound, type Criu, type Sample } from './workloads.js';

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

function upstream(): Criu | undefined {
  const path = process.env.CRIU_UPSTREAM ?? '/usr/local/sbin/criu-upstream';
  try {
    accessSync(path, constants.X_OK);
    return { name: 'upstream', argv: [path] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EACCES') return undefined;
    throw error;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

type Medians = Record<keyof Sample, number>;

function medians(samples: Sample[]): Medians {
  return { dumpMs: median(samples.map((s) => s.dumpMs)), restoreMs: median(samples.map((s) => s.restoreMs)), frozenMs: median(samples.map((s) => s.frozenMs)) };
}

function printTable(rows: { name: string; ours: Medians; up?: Medians }[]): void {
  const withUp = rows.some((r) => r.up !== undefined);
  const cols: (keyof Sample)[] = ['dumpMs', 'restoreMs', 'frozenMs'];
  const label = { dumpMs: 'dump', restoreMs: 'restore', frozenMs: 'frozen' };
  const head = ['workload', ...cols.flatMap((c) => (withUp ? [`${label[c]} upstream`, `${label[c]} ours`, 'ratio'] : [`${label[c]} ours`]))];
  const lines = rows.map((r) => [
    r.name,
    ...cols.flatMap((c) => {
      const ours = r.ours[c].toFixed(0);
      if (!withUp) return [ours];
      const up = r.up?.[c];
      return up === undefined ? ['—', ours, '—'] : [up.toFixed(0), ours, up > 0 ? (r.ours[c] / up).toFixed(2) : '—'];
    }),
  ]);
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| ${head.map(() => '---').join(' | ')} |`);
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

async function main(): Promise<void> {
  const ours: Criu = { name: 'ours', argv: [join(workspaceRoot, 'node_modules', '.bin', 'criu')] };
  const up = upstream();
  const only = process.env.BENCH_ONLY === undefined ? undefined : new RegExp(process.env.BENCH_ONLY);
  const fixtures = mkdtempSync(join(tmpdir(), 'criu-ts-bench-bin-'));
  try {
    compileFixtures(fixtures);
    const rows: { name: string; ours: Medians; up?: Medians }[] = [];
    for (const w of WORKLOADS.filter((x) => only === undefined || only.test(x.name))) {
      if (!fits(w)) {
        console.log(`(skipped ${w.name}: not enough free memory)`);
        continue;
      }
      const mine: Sample[] = [];
      const theirs: Sample[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        mine.push(await runRound(w, ours, fixtures));
        if (up !== undefined) theirs.push(await runRound(w, up, fixtures));
      }
      rows.push({ name: w.name, ours: medians(mine), ...(up === undefined ? {} : { up: medians(theirs) }) });
      process.stderr.write(`${w.name}: done\n`);
    }
    console.log(`\ncriu dump / criu restore -d, wall ms, images on tmpfs, median of ${ROUNDS}${up === undefined ? ' (no upstream criu found)' : `; upstream: ${up.argv[0]}`}`);
    printTable(rows);
    if (process.env.BENCH_STREAM === '1') await streamBenchmarks(join(fixtures, 'memory'), ROUNDS);
    // the 1 GiB workload's dump after a pre-dump (BENCH_ONLY='1 GiB' or 'pre-dump' picks it)
    if (only === undefined || only.test('1 GiB dirty, dump after pre-dump')) await incrementalBenchmarks(fixtures, ROUNDS);
  } finally {
    rmSync(fixtures, { recursive: true, force: true });
  }
}

await main();
