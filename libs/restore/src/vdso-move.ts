// The vDSO area ([vvar], [vvar_vclock], [vdso] on this kernel): a new task
// has the kernel's own, at the helper's addresses; the dumped code expects
// it where it was. Each piece is moved with mremap(2) (the kernel follows
// a moved [vdso]): first parked in a staging range, out of the way of the
// dumped mappings, then, once those are made, to its dumped address. The
// present pieces must fill the dumped areas in order and size (same
// kernel; one dumped area may hold several pieces, as upstream's VVAR
// holds [vvar] and [vvar_vclock]); otherwise we refuse, as a vDSO proxy
// is not written yet.
import { readFileSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { imageFileName } from '@criu-ts/images';
import { MREMAP, SYS } from '@criu-ts/kernel';
import { callsChecked, nsTidOf, type Injector } from '@criu-ts/inject';
import type { TaskArea } from './task-area.js';

export interface Mapping {
  start: bigint;
  end: bigint;
  name: string;
}

const VDSO_NAMES: ReadonlySet<string> = new Set(['[vdso]', '[vvar]', '[vvar_vclock]']);

/** The mappings of /proc/PID/maps text, with their names. */
export function parseMaps(text: string): Mapping[] {
  const found: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (m !== null) found.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), name: m[3] ?? '' });
  }
  return found;
}

export function taskMappings(pid: number): Mapping[] {
  return parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

export const isVdsoPiece = (m: Mapping): boolean => VDSO_NAMES.has(m.name);

export interface VdsoMove {
  from: bigint;
  to: bigint;
  length: bigint;
  name: string;
}

/**
 * Pairs the present pieces with the dumped ones, in order: each dumped
 * area takes the next present pieces whose sizes add up to its own, laid
 * side by side from its start (upstream CRIU dumps [vvar] and
 * [vvar_vclock] as one VVAR area). Throws naming the mismatch.
 */
export function planVdsoMoves(pid: number, present: readonly Mapping[], dumped: readonly { start: bigint; length: bigint }[]): VdsoMove[] {
  if (dumped.length === 0) return [];
  const moves: VdsoMove[] = [];
  let next = 0;
  for (const area of dumped) {
    let at = 0n;
    while (at < area.length && next < present.length) {
      const m = present[next++]!;
      moves.push({ from: m.start, to: area.start + at, length: m.end - m.start, name: m.name });
      at += m.end - m.start;
    }
    if (at !== area.length) break;
  }
  const placed = moves.reduce((sum, m) => sum + m.length, 0n);
  const wanted = dumped.reduce((sum, d) => sum + d.length, 0n);
  if (next !== present.length || placed !== wanted || !fits(moves, dumped)) {
    const sizes = (list: readonly bigint[]): string => list.map((n) => `0x${n.toString(16)}`).join('+');
    const have = sizes(present.map((m) => m.end - m.start));
    throw new CriuError(`task ${pid}: the dumped vDSO area of ${imageFileName('mm', nsTidOf(pid))} (${sizes(dumped.map((d) => d.length))} bytes) does not match this kernel's (${have} bytes)`, {
      code: 'EVDSO',
      hint: 'restore on the kernel the tree was dumped on (a vDSO proxy is not written yet)',
    });
  }
  return moves;
}

/** Every move lies inside one dumped area. */
function fits(moves: readonly VdsoMove[], dumped: readonly { start: bigint; length: bigint }[]): boolean {
  return moves.every((m) => dumped.some((d) => m.to >= d.start && m.to + m.length <= d.start + d.length));
}

interface Move {
  from: bigint;
  to: bigint;
  length: bigint;
}

/** The moves in order, in one trip; each must land where it was sent. */
function remapAll(injector: Injector, moves: readonly Move[]): void {
  const flags = MREMAP.MAYMOVE | MREMAP.FIXED;
  const calls = moves.map((m) => ({ name: `mremap(0x${m.from.toString(16)})`, nr: SYS.mremap, args: [m.from, m.length, m.length, flags, m.to] }));
  callsChecked(injector, calls).forEach((got, i) => {
    const { from, to } = moves[i]!;
    if (got !== to) throw new CriuError(`task ${injector.pid}: mremap moved 0x${from.toString(16)} to 0x${got.toString(16)}, not 0x${to.toString(16)}`);
  });
}

/**
 * Moves the task's vDSO pieces into the staging range, out of the way of
 * the dumped mappings about to be made; returns where they are now.
 */
export function parkVdso(injector: Injector, area: TaskArea): Mapping[] {
  const present = taskMappings(injector.pid).filter(isVdsoPiece);
  const span = present.reduce((sum, m) => sum + (m.end - m.start), 0n);
  if (span > BigInt(area.stagingSize)) throw new CriuError(`task ${injector.pid}: the vDSO area (${span} bytes) exceeds the staging range`);
  let parked = area.staging;
  const moves: Move[] = [];
  const result = present.map((m) => {
    const length = m.end - m.start;
    if (m.start !== parked) moves.push({ from: m.start, to: parked, length });
    const moved = { start: parked, end: parked + length, name: m.name };
    parked += length;
    return moved;
  });
  remapAll(injector, moves);
  return result;
}

/** Moves the parked pieces onto the dumped addresses, or unmaps them if none were dumped. */
export function placeVdso(injector: Injector, parked: readonly Mapping[], dumped: readonly { start: bigint; length: bigint }[]): void {
  if (dumped.length === 0) {
    callsChecked(injector, parked.map((m) => ({ name: `munmap(0x${m.start.toString(16)})`, nr: SYS.munmap, args: [m.start, m.end - m.start] })));
    return;
  }
  remapAll(injector, planVdsoMoves(injector.pid, parked, dumped));
}
