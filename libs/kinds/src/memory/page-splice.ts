// Moving page data by reference: the frozen task vmsplice(2)s its own pages
// into a pipe of ours (one injected call per pipe-full, up to IOV_MAX runs
// each), and we splice(2) the pipe into pages-N.img. That is one copy in all
// (pipe → page cache), made by the kernel and charged to us rather than to
// the task's memory cgroup — where process_vm_readv + write makes two.
//
// The injector writes its trampoline over the first bytes of a mapping (the
// vDSO), so runs covering that spot are copied before the injector opens.
// A chunk the task cannot vmsplice (PROT_NONE, say) falls back to
// process_vm_readv / /proc/PID/mem for that chunk only.
import { closeSync, readFileSync } from 'node:fs';
import { SyscallError, type Logger } from '@criu-ts/base';
import { F, O, PAGE_SIZE, SPLICE_F, SYS, fcntl, pipe2, signed64, splice } from '@criu-ts/kernel';
import { findTrampolineSite, type Injector, type Scratch } from '@criu-ts/inject';
import type { DumpContext } from '../dump-context.js';
import { copyRuns, type CopyTimes } from './page-copy.js';
import type { DumpRun } from './page-runs.js';
import { memoryTables } from './tables.js';

/** vmsplice takes at most UIO_MAXIOV segments per call. */
const MAX_SEGMENTS = 1024;
const PAGE = BigInt(PAGE_SIZE);

/** A run with where its data goes in the pages image. */
interface PlacedRun extends DumpRun {
  offset: number;
}

interface Channel {
  readFd: number;
  writeFd: number;
  capacity: number;
}

function place(runs: readonly DumpRun[], offset: number): PlacedRun[] {
  let at = offset;
  return runs.map((run) => {
    const placed = { ...run, offset: at };
    at += run.pages * PAGE_SIZE;
    return placed;
  });
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

/** Drains exactly `bytes` from the pipe into the pages image, run by run. */
function drain(channel: Channel, pagesFd: number, chunk: readonly PlacedRun[], bytes: number): void {
  let left = bytes;
  for (const run of chunk) {
    let done = 0;
    const len = Math.min(run.pages * PAGE_SIZE, left);
    while (done < len) done += splice(channel.readFd, null, pagesFd, BigInt(run.offset + done), len - done, SPLICE_F.MOVE);
    left -= len;
    if (left === 0) return;
  }
}

interface TaskEnd {
  injector: Injector;
  scratch: Scratch;
  /** our pipe's write end, as an fd of the task */
  fd: number;
}

/** Gives the task our pipe's write end: pidfd_open(us) + pidfd_getfd, injected. */
function connect(injector: Injector, channel: Channel): number {
  const pidfd = Number(injector.call('pidfd_open', SYS.pidfd_open, [process.pid, 0]));
  try {
    return Number(injector.call('pidfd_getfd', SYS.pidfd_getfd, [pidfd, channel.writeFd, 0]));
  } finally {
    injector.syscall(SYS.close, pidfd);
  }
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

/** Copies placed runs the two-copy way (process_vm_readv + write), each at its own offset. */
function copyPlaced(pid: number, runs: readonly PlacedRun[], pagesFd: number, buffer: Buffer): number {
  let writeNs = 0n;
  for (const run of runs) writeNs += copyRuns(pid, [run], { fd: pagesFd, offset: run.offset }, buffer).writeNs;
  return Number(writeNs);
}

export interface SpliceCopyOptions {
  pid: number;
  runs: readonly DumpRun[];
  pagesFd: number;
  /** offset of the first run's data in the pages image */
  offset: number;
  log: Logger;
}

/** Copies the runs' pages into the pages image with vmsplice + splice. */
export function spliceRuns(ctx: DumpContext, options: SpliceCopyOptions): CopyTimes {
  const { pid, pagesFd } = options;
  const placed = place(options.runs, options.offset);
  const bytes = placed.reduce((sum, run) => sum + run.pages * PAGE_SIZE, 0);
  const { buffer } = memoryTables(ctx);
  // the trampoline's spot must be read before the injector writes over it
  const site = findTrampolineSite(pid).addr;
  const covers = (run: PlacedRun): boolean => run.vaddr <= site && site < run.vaddr + BigInt(run.pages) * PAGE;
  let writeNs = BigInt(copyPlaced(pid, placed.filter(covers), pagesFd, buffer));
  const rest = placed.filter((run) => !covers(run));
  if (rest.length === 0) return { bytes, writeNs };
  const channel = openChannel();
  const injector = ctx.injector(pid);
  const end: TaskEnd = { injector, scratch: ctx.shared(`memory-scratch-${pid}`, () => injector.scratch(MAX_SEGMENTS * 16)), fd: connect(injector, channel) };
  try {
    const t0 = process.hrtime.bigint();
    for (const chunk of chunks(rest, channel.capacity)) {
      const took = vmspliceChunk(end, chunk);
      if (took > 0) drain(channel, pagesFd, chunk, took);
      const left = remainder(chunk, took);
      if (left.length > 0) {
        options.log.debug(`pid ${pid}: ${left.length} run(s) not vmspliced; copying them through process_vm_readv`);
        copyPlaced(pid, left, pagesFd, buffer);
      }
    }
    writeNs += process.hrtime.bigint() - t0;
  } finally {
    injector.syscall(SYS.close, end.fd);
    closeSync(channel.readFd);
    closeSync(channel.writeFd);
  }
  return { bytes, writeNs };
}
