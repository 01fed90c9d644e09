// The shared-fdt fixture (e2e/fixtures/shared-fdt.c) and what a test
// checks of it from outside after a restore: P, C and G share one fd table
// (kcmp KCMP_FILES), N has its own, and every task's fds — numbers,
// targets, flags, offsets — are what /proc showed before the dump. Every
// task it starts is killed and reaped on teardown.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { KCMP, KCMP_RESULT, kcmp } from '@criu-ts/kernel';
import { fdTable } from './fd-table.js';
import { compileFixture } from './fixtures.js';
import { killAndReap, startBackground, waitOutput } from '../../libs/restore/test/live.js';

export interface SharedFdt {
  /** P, C (CLONE_FILES from P), G (CLONE_FILES from C), N (forked by P: its own table) */
  pids: { parent: number; child: number; grandchild: number; forked: number };
  work: string;
  out: string;
}

export interface Sibling {
  /** P; A, forked by P; B, cloned by A with CLONE_PARENT|CLONE_FILES (P's child on A's table) */
  pids: { parent: number; a: number; b: number };
  out: string;
}

function fixture(t: Test, dir: string, args: string[]): { out: string; work: string } {
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  startBackground(t, out, compileFixture('shared-fdt', dir), [work, ...args]);
  return { out, work };
}

/** Starts the fixture in dir; returns once it is ready. */
export function startSharedFdt(t: Test, dir: string): SharedFdt {
  const { out, work } = fixture(t, dir, []);
  const [parent, child, grandchild, forked] = waitOutput(out, /^ready (\d+) (\d+) (\d+) (\d+)$/m).slice(1).map(Number) as [number, number, number, number];
  for (const pid of [child, grandchild, forked]) t.teardown(() => killAndReap(pid));
  return { pids: { parent, child, grandchild, forked }, work, out };
}

/** Starts the fixture's "sibling" mode in dir; returns once it is ready. */
export function startSibling(t: Test, dir: string): Sibling {
  const { out } = fixture(t, dir, ['sibling']);
  const [parent, a, b] = waitOutput(out, /^ready (\d+) (\d+) (\d+)$/m).slice(1).map(Number) as [number, number, number];
  for (const pid of [a, b]) t.teardown(() => killAndReap(pid));
  return { pids: { parent, a, b }, out };
}

export type Tables = Record<keyof SharedFdt['pids'], [number, string][]>;

export function tablesOf(fx: SharedFdt): Tables {
  const { parent, child, grandchild, forked } = fx.pids;
  return { parent: fdTable(parent), child: fdTable(child), grandchild: fdTable(grandchild), forked: fdTable(forked) };
}

const shares = (a: number, b: number): boolean => kcmp(a, b, KCMP.FILES) === KCMP_RESULT.EQUAL;

/** The checks from outside once restored: the sharing (kcmp) and every table as before. */
export function checkRestored(t: Test, fx: SharedFdt, before: Tables): void {
  const { parent, child, grandchild, forked } = fx.pids;
  t.ok(shares(parent, child), 'kcmp KCMP_FILES: the child shares the parent\'s fd table again');
  t.ok(shares(parent, grandchild), 'kcmp KCMP_FILES: so does the grandchild (a chain of CLONE_FILES)');
  t.notOk(shares(parent, forked), 'kcmp KCMP_FILES: the forked child has a table of its own');
  t.same(tablesOf(fx), before, 'every task\'s fds: numbers, targets, flags, offsets');
}

/** Asks the fixture to check itself (SIGUSR1 to P, by `signal`); the verdicts of P and C. */
export function verdicts(fx: SharedFdt, signal: (pid: number) => void): { parent: string; child: string; bad: string[] } {
  signal(fx.pids.parent);
  const child = waitOutput(fx.out, /^child-verdict .*$/m, 15_000)[0];
  const parent = waitOutput(fx.out, /^verdict .*$/m, 15_000)[0];
  return { parent, child, bad: readFileSync(fx.out, 'utf8').split('\n').filter((line) => line.startsWith('bad:')) };
}
