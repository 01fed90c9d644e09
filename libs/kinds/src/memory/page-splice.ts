// Moving page data by reference: the frozen task vmsplice(2)s its own pages
// into a pipe of ours (one injected call per pipe-full, up to IOV_MAX runs
// each), and we splice(2) the pipe into pages-N.img, or into the page
// server's connection (see page-targets.ts). That is one copy in all (pipe
// → page cache or socket), made by the kernel and charged to us rather than
// to the task's memory cgroup — where process_vm_readv + write makes two.
//
// The injector writes its trampoline over a few bytes of a mapping (the
// vDSO), so the pages holding that spot are read before the injector opens
// and go out from that copy, in their place: runs leave in address order.
// A chunk the task cannot vmsplice (PROT_NONE, say) falls back to
// process_vm_readv / /proc/PID/mem for that chunk only.
import { closeSync, readFileSync } from 'node:fs';
import { SyscallError, type Logger } from '@criu-ts/base';
import { F, O, PAGE_SIZE, SPLICE_F, SYS, fcntl, pipe2, signed64 } from '@criu-ts/kernel';
import { TRAMPOLINE, findTrampolineSite, takeOurFd, type Injector, type Scratch } from '@criu-ts/inject';
import type { DumpContext } from '../dump-context.js';
import { readRun, type CopyTimes } from './page-copy.js';
import type { DumpRun } from './page-runs.js';
import type { PageTarget, PlacedRun } from './page-targets.js';
import { memoryTables } from './tables.js';

/** vmsplice takes at most UIO_MAXIOV segments per call. */
const MAX_SEGMENTS = 1024;
const PAGE = BigInt(PAGE_SIZE);

interface Channel {
  readFd: number;
  writeFd: number;
  capacity: number;
}

/** A run to send; `held` when its data was read before the injector opened. */
interface Piece {
  run: PlacedRun;
  held?: Buffer;
}

function place(runs: readonly DumpRun[], offset: number): PlacedRun[] {
  let at = offset;
  return runs.map((run) => {
    const placed = { ...run, offset: at };
    at += run.pages * PAGE_SIZE;
    return placed;
  });
}

/** The pages [from, to) of a run, or undefined if none. */
function slice(run: PlacedRun, from: number, to: number): PlacedRun | undefined {
  if (to <= from) return undefined;
  return { vaddr: run.vaddr + BigInt(from) * PAGE, offset: run.offset + from * PAGE_SIZE, pages: to - from };
}

/** Splits the runs around the pages [lo, hi) (page aligned) and reads those pages now. */
function isolate(pid: number, runs: readonly PlacedRun[], lo: bigint, hi: bigint): Piece[] {
  const pieces: Piece[] = [];
  const pageIndex = (addr: bigint, run: PlacedRun): number => Math.min(run.pages, Math.max(0, Number((addr - run.vaddr) / PAGE)));
  for (const run of runs) {
    const first = pageIndex(lo, run);
    const last = pageIndex(hi, run);
    const before = slice(run, 0, first);
    const inside = slice(run, first, last);
    const after = slice(run, last, run.pages);
    if (before !== undefined) pieces.push({ run: before });
    if (inside !== undefined) pieces.push({ run: inside, held: readRun(pid, inside) });
    if (after !== undefined) pieces.push({ run: after });
  }
  return pieces;
}

function openChannel(): Channel {
  const [readFd, writeFd] = pipe2(O.CLOEXEC);
  let capacity = 64 * 1024;
  try {
    const max = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim());
    capacity = fcntl(writeFd, F.SETPIPE_SZ, max);
  } catch (error) {
    if (!(error instanceof SyscallError || (error instanceof Error && 'code' in error))) throw error;
  }
  return { readFd, writeFd, capacity };
}

/** Chunks of at most `capacity` bytes and MAX_SEGMENTS segments. */
function* chunks(runs: readonly PlacedRun[], capacity: number): Generator<PlacedRun[]> {
  let chunk: PlacedRun[] = [];
  let room = capacity;
  for (const run of runs) {
    let { vaddr, offset, pages } = run;
    while (pages > 0) {
      const take = Math.min(pages, Math.floor(room / PAGE_SIZE));
      chunk.push({ vaddr, offset, pages: take });
      vaddr += BigInt(take) * PAGE;
      offset += take * PAGE_SIZE;
      pages -= take;
      room -= take * PAGE_SIZE;
      if (room < PAGE_SIZE || chunk.length === MAX_SEGMENTS) {
        yield chunk;
        chunk = [];
        room = capacity;
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Consecutive pieces: runs to vmsplice together, or one held piece. */
function* groups(pieces: readonly Piece[]): Generator<PlacedRun[] | Required<Piece>> {
  let runs: PlacedRun[] = [];
  for (const piece of pieces) {
    if (piece.held === undefined) {
      runs.push(piece.run);
      continue;
    }
    if (runs.length > 0) yield runs;
    runs = [];
    yield { run: piece.run, held: piece.held };
  }
  if (runs.length > 0) yield runs;
}

/** Moves exactly `bytes` out of the pipe, run by run. */
function drain(channel: Channel, target: PageTarget, chunk: readonly PlacedRun[], bytes: number): void {
  let left = bytes;
  for (const run of chunk) {
    const len = Math.min(run.pages * PAGE_SIZE, left);
    if (len > 0) target.fromPipe(channel.readFd, run, len);
    left -= len;
    if (left === 0) return;
  }
}

interface TaskEnd {
  pid: number;
  injector: Injector;
  scratch: Scratch;
  /** our pipe's write end, as an fd of the task */
  fd: number;
  channel: Channel;
  target: PageTarget;
  buffer: Buffer;
  log: Logger;
}

/** Gives the task our pipe's write end (one trip: takeOurFd). */
function connect(injector: Injector, channel: Channel): number {
  return Number(takeOurFd(injector, channel.writeFd));
}

/** vmsplice one chunk in the task; the bytes it took (0 if it could not). */
function vmspliceChunk(end: TaskEnd, chunk: readonly PlacedRun[]): number {
  const iov = Buffer.alloc(chunk.length * 16);
  chunk.forEach((run, i) => {
    iov.writeBigUInt64LE(run.vaddr, i * 16);
    iov.writeBigUInt64LE(BigInt(run.pages * PAGE_SIZE), i * 16 + 8);
  });
  end.scratch.write(iov);
  const result = signed64(end.injector.syscall(SYS.vmsplice, end.fd, end.scratch.addr, chunk.length, SPLICE_F.NONBLOCK));
  return result < 0n ? 0 : Number(result);
}

/** The rest of a chunk after its first `done` bytes, as runs. */
function remainder(chunk: readonly PlacedRun[], done: number): PlacedRun[] {
  const out: PlacedRun[] = [];
  let skip = done;
  for (const run of chunk) {
    const bytes = run.pages * PAGE_SIZE;
    if (skip >= bytes) {
      skip -= bytes;
      continue;
    }
    const skipPages = skip / PAGE_SIZE;
    out.push({ vaddr: run.vaddr + BigInt(skipPages) * PAGE, offset: run.offset + skip, pages: run.pages - skipPages });
    skip = 0;
  }
  return out;
}

/** vmsplice + drain, chunk by chunk; what the task cannot vmsplice goes the two-copy way. */
function spliceGroup(end: TaskEnd, runs: readonly PlacedRun[]): void {
  for (const chunk of chunks(runs, end.channel.capacity)) {
    const took = vmspliceChunk(end, chunk);
    if (took > 0) drain(end.channel, end.target, chunk, took);
    const left = remainder(chunk, took);
    if (left.length > 0) {
      end.log.debug(`pid ${end.pid}: ${left.length} run(s) not vmspliced; copying them through process_vm_readv`);
      end.target.fromTask(end.pid, left, end.buffer);
    }
  }
}

export interface SpliceCopyOptions {
  pid: number;
  runs: readonly DumpRun[];
  /** where the data goes (the pages image, or a page sink) */
  target: PageTarget;
  /** offset of the first run's data in the pages image (0 for a sink) */
  offset: number;
  log: Logger;
}

/** Moves the runs' pages to the target with vmsplice + splice, in address order. */
export function spliceRuns(ctx: DumpContext, options: SpliceCopyOptions): CopyTimes {
  const { pid, target, log } = options;
  const placed = place(options.runs, options.offset);
  const bytes = placed.reduce((sum, run) => sum + run.pages * PAGE_SIZE, 0);
  const { buffer } = memoryTables(ctx);
  // the trampoline's spot must be read before the injector writes over it
  const site = findTrampolineSite(pid).addr;
  const lo = (site / PAGE) * PAGE;
  const hi = ((site + BigInt(TRAMPOLINE.length) + PAGE - 1n) / PAGE) * PAGE;
  const pieces = isolate(pid, placed, lo, hi);
  const t0 = process.hrtime.bigint();
  if (pieces.every((piece) => piece.held !== undefined)) {
    for (const piece of pieces) target.fromBuffer(piece.run, piece.held!);
    return { bytes, writeNs: process.hrtime.bigint() - t0 };
  }
  const injector = ctx.injector(pid);
  const scratch = ctx.shared(`memory-scratch-${pid}`, () => injector.scratch(MAX_SEGMENTS * 16));
  const channel = openChannel();
  try {
    const end: TaskEnd = { pid, injector, scratch, fd: connect(injector, channel), channel, target, buffer, log };
    try {
      for (const group of groups(pieces)) {
        if (Array.isArray(group)) spliceGroup(end, group);
        else target.fromBuffer(group.run, group.held);
      }
    } finally {
      injector.syscall(SYS.close, end.fd);
    }
  } finally {
    closeSync(channel.readFd);
    closeSync(channel.writeFd);
  }
  return { bytes, writeNs: process.hrtime.bigint() - t0 };
}
