// Moving page data from a frozen task into pages-N.img in large batches:
// one process_vm_readv (up to IOV_MAX ranges, chunked by the kernel
// library) fills a reused buffer, one positioned write empties it. Areas
// process_vm_readv cannot read (PROT_NONE, some special mappings) are read
// through /proc/PID/mem, which reaches them for a tracer — one read per
// range, never per page.
import { writeSync } from 'node:fs';
import { CriuError, SyscallError } from '@criu-ts/base';
import { PAGE_SIZE, openTaskMemory, processVmReadv, type RemoteRange, type TaskMemory } from '@criu-ts/kernel';
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

function writeAll(fd: number, data: Buffer, position: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Copies the runs' pages of task pid to target, using buf as the batch buffer. */
export function copyRuns(pid: number, runs: readonly DumpRun[], target: CopyTarget, buf: Buffer): CopyTimes {
  let mem: TaskMemory | undefined;
  let position = target.offset;
  let writeNs = 0n;
  try {
    for (const ranges of batches(runs, buf.length)) {
      const len = ranges.reduce((sum, r) => sum + r.len, 0);
      const data = buf.subarray(0, len);
      const got = vmRead(pid, data, ranges);
      if (got < len) {
        mem ??= openTaskMemory(pid);
        memRead(mem, data, ranges, got);
      }
      const t0 = process.hrtime.bigint();
      writeAll(target.fd, data, position);
      writeNs += process.hrtime.bigint() - t0;
      position += len;
    }
  } finally {
    mem?.close();
  }
  return { bytes: position - target.offset, writeNs };
}
