// Moving page data from a frozen task into pages-N.img in large batches:
// one process_vm_readv (up to IOV_MAX ranges, chunked by the kernel
// library) fills a reused buffer, one positioned write empties it (or, for
// --page-server, one run per range goes to the page sink). Areas
// process_vm_readv cannot read (PROT_NONE, some special mappings) are read
// through /proc/PID/mem, which reaches them for a tracer — one read per
// range, never per page.
import { writeSync } from 'node:fs';
import { CriuError, SyscallError } from '@criu-ts/base';
import { PE_PRESENT } from '@criu-ts/images';
import { PAGE_SIZE, openTaskMemory, processVmReadv, type RemoteRange, type TaskMemory } from '@criu-ts/kernel';
import type { PageSink } from '../dump-context.js';
import type { DumpRun } from './page-runs.js';

/** Where the runs' data goes: `fd` from byte `offset` on, runs back to back. */
export interface CopyTarget {
  fd: number;
  offset: number;
}

export interface CopyTimes {
  bytes: number;
  /** nanoseconds spent writing */
  writeNs: bigint;
}

/** Splits runs into batches of at most `limit` bytes, as remote ranges. */
export function* batches(runs: readonly DumpRun[], limit: number): Generator<RemoteRange[]> {
  let batch: RemoteRange[] = [];
  let room = limit;
  for (const run of runs) {
    let addr = run.vaddr;
    let left = run.pages * PAGE_SIZE;
    while (left > 0) {
      const len = Math.min(left, room);
      batch.push({ addr, len });
      addr += BigInt(len);
      left -= len;
      room -= len;
      if (room === 0) {
        yield batch;
        batch = [];
        room = limit;
      }
    }
  }
  if (batch.length > 0) yield batch;
}

function vmRead(pid: number, buf: Buffer, ranges: readonly RemoteRange[]): number {
  try {
    return processVmReadv(pid, [buf], ranges);
  } catch (error) {
    if (error instanceof SyscallError && (error.code === 'EFAULT' || error.code === 'EIO')) return 0;
    throw error;
  }
}

/** Reads what process_vm_readv left, from byte `done` of the batch on, through /proc/PID/mem. */
function memRead(mem: TaskMemory, buf: Buffer, ranges: readonly RemoteRange[], done: number): void {
  let at = 0;
  for (const range of ranges) {
    const end = at + range.len;
    if (end > done) {
      const skip = Math.max(0, done - at);
      const want = buf.subarray(at + skip, end);
      const addr = range.addr + BigInt(skip);
      if (mem.read(addr, want) !== want.length) {
        throw new CriuError(`pid ${mem.pid}: cannot read memory at 0x${addr.toString(16)} (${want.length} bytes)`, { code: 'EIO' });
      }
    }
    at = end;
  }
}

export function writeAll(fd: number, data: Buffer, position: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Reads the runs' pages of task pid batch by batch into buf; `use` gets each filled batch. */
function readBatches(pid: number, runs: readonly DumpRun[], buf: Buffer, use: (data: Buffer, ranges: RemoteRange[]) => void): void {
  let mem: TaskMemory | undefined;
  try {
    for (const ranges of batches(runs, buf.length)) {
      const len = ranges.reduce((sum, r) => sum + r.len, 0);
      const data = buf.subarray(0, len);
      const got = vmRead(pid, data, ranges);
      if (got < len) {
        mem ??= openTaskMemory(pid);
        memRead(mem, data, ranges, got);
      }
      use(data, ranges);
    }
  } finally {
    mem?.close();
  }
}

/** The pages of one run, read now into a buffer of their own (for a few pages: the trampoline's spot). */
export function readRun(pid: number, run: DumpRun): Buffer {
  const buf = Buffer.alloc(run.pages * PAGE_SIZE);
  readBatches(pid, [run], buf, () => undefined);
  return buf;
}

/** Copies the runs' pages of task pid to target, using buf as the batch buffer. */
export function copyRuns(pid: number, runs: readonly DumpRun[], target: CopyTarget, buf: Buffer): CopyTimes {
  let position = target.offset;
  let writeNs = 0n;
  readBatches(pid, runs, buf, (data) => {
    const t0 = process.hrtime.bigint();
    writeAll(target.fd, data, position);
    writeNs += process.hrtime.bigint() - t0;
    position += data.length;
  });
  return { bytes: position - target.offset, writeNs };
}

/** Sends the runs' pages of task pid to a page sink as present runs (one per range of each batch), in order. */
export function sendRuns(pid: number, runs: readonly DumpRun[], sink: PageSink, buf: Buffer): CopyTimes {
  let bytes = 0;
  let writeNs = 0n;
  readBatches(pid, runs, buf, (data, ranges) => {
    const t0 = process.hrtime.bigint();
    let at = 0;
    for (const range of ranges) {
      sink.addRun({ vaddr: range.addr, nrPages: range.len / PAGE_SIZE, flags: PE_PRESENT }, { data: data.subarray(at, at + range.len) });
      at += range.len;
    }
    writeNs += process.hrtime.bigint() - t0;
    bytes += data.length;
  });
  return { bytes, writeNs };
}
