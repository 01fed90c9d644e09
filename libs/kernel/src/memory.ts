// Moving memory between the tool and a task in bulk: process_vm_readv and
// process_vm_writev (many iovecs per call, chunked at IOV_MAX), and
// positioned reads/writes on /proc/PID/mem (which also reach read-only
// and PROT_NONE mappings of a stopped, traced task).
//
// Both report the bytes moved. Like the kernel, they stop at the first
// range that cannot be accessed and return what was moved before it; they
// throw SyscallError only when not a single byte could be moved.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { SyscallError } from '@criu-ts/base';
import { bufferAddresses } from './ffi.js';
import { IOV_MAX } from './mm-constants.js';
import { invoke, invokeInt } from './syscall.js';
import { SYS } from './sys-numbers.js';

/** A range of the task's address space. */
export interface RemoteRange {
  addr: bigint;
  len: number;
}

interface Segment {
  local: Buffer;
  addr: bigint;
}

/** Pairs the local and remote streams into pieces lying in one buffer and one range. */
function pairSegments(local: readonly Buffer[], remote: readonly RemoteRange[]): Segment[] {
  const segments: Segment[] = [];
  let li = 0;
  let offset = 0;
  for (const range of remote) {
    let addr = range.addr;
    let left = range.len;
    while (left > 0 && li < local.length) {
      const room = local[li]!.length - offset;
      if (room === 0) {
        li += 1;
        offset = 0;
        continue;
      }
      const n = Math.min(room, left);
      segments.push({ local: local[li]!.subarray(offset, offset + n), addr });
      addr += BigInt(n);
      left -= n;
      offset += n;
    }
  }
  return segments;
}

function iovecs(addrs: readonly bigint[], lens: readonly number[]): Buffer {
  const buf = Buffer.alloc(addrs.length * 16);
  addrs.forEach((addr, i) => {
    buf.writeBigUInt64LE(addr, i * 16);
    buf.writeBigUInt64LE(BigInt(lens[i]!), i * 16 + 8);
  });
  return buf;
}

function transfer(nr: number, pid: number, local: readonly Buffer[], remote: readonly RemoteRange[]): number {
  const segments = pairSegments(local, remote);
  let moved = 0;
  for (let start = 0; start < segments.length; start += IOV_MAX) {
    const chunk = segments.slice(start, start + IOV_MAX);
    const lens = chunk.map((s) => s.local.length);
    const localIov = iovecs(bufferAddresses(chunk.map((s) => s.local)), lens);
    const remoteIov = iovecs(chunk.map((s) => s.addr), lens);
    const want = lens.reduce((a, b) => a + b, 0);
    let got: number;
    try {
      got = invokeInt(nr, [pid, localIov, chunk.length, remoteIov, chunk.length, 0], { pid });
    } catch (error) {
      if (moved > 0 && error instanceof SyscallError) return moved;
      throw error;
    }
    moved += got;
    if (got < want) return moved;
  }
  return moved;
}

/** Copies task memory into local buffers, streams paired in order; returns bytes moved. */
export function processVmReadv(pid: number, local: readonly Buffer[], remote: readonly RemoteRange[]): number {
  return transfer(SYS.process_vm_readv, pid, local, remote);
}

/** Copies local buffers into task memory (writable mappings only); returns bytes moved. */
export function processVmWritev(pid: number, local: readonly Buffer[], remote: readonly RemoteRange[]): number {
  return transfer(SYS.process_vm_writev, pid, local, remote);
}

/** An open /proc/PID/mem: positioned reads and writes at virtual addresses. */
export interface TaskMemory {
  readonly pid: number;
  read(addr: bigint, buf: Buffer): number;
  write(addr: bigint, buf: Buffer): number;
  close(): void;
}

function systemErrno(error: unknown): number | undefined {
  if (error instanceof Error && 'errno' in error && typeof error.errno === 'number') return Math.abs(error.errno);
  return undefined;
}

function position(addr: bigint): number {
  if (addr < 0n || addr > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`address 0x${addr.toString(16)} is outside user space`);
  return Number(addr);
}

type PositionedIo = (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;

function moveAll(io: PositionedIo, fd: number, pid: number, addr: bigint, buf: Buffer, what: string): number {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      n = io(fd, buf, done, buf.length - done, position(addr + BigInt(done)));
    } catch (error) {
      const errno = systemErrno(error);
      if (errno === undefined) throw error;
      if (done > 0) return done;
      throw new SyscallError({ syscall: `${what}(/proc/PID/mem)`, errno, pid, path: `0x${addr.toString(16)}`, cause: error });
    }
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Opens /proc/PID/mem once for many reads/writes; close() it when done. */
export function openTaskMemory(pid: number, options: { write?: boolean } = {}): TaskMemory {
  const path = `/proc/${pid}/mem`;
  let fd: number;
  try {
    fd = openSync(path, options.write === true ? 'r+' : 'r');
  } catch (error) {
    const errno = systemErrno(error);
    if (errno === undefined) throw error;
    throw new SyscallError({ syscall: 'open', errno, pid, path, cause: error });
  }
  return {
    pid,
    read: (addr, buf) => moveAll(readSync, fd, pid, addr, buf, 'pread'),
    write: (addr, buf) => moveAll(writeSync, fd, pid, addr, buf, 'pwrite'),
    close: () => closeSync(fd),
  };
}

/** Fills buf from the task's memory at addr; returns bytes read. */
export function readTaskMemory(pid: number, addr: bigint, buf: Buffer): number {
  const mem = openTaskMemory(pid);
  try {
    return mem.read(addr, buf);
  } finally {
    mem.close();
  }
}

/** Writes buf into the task's memory at addr, even into read-only mappings; returns bytes written. */
export function writeTaskMemory(pid: number, addr: bigint, buf: Buffer): number {
  const mem = openTaskMemory(pid, { write: true });
  try {
    return mem.write(addr, buf);
  } finally {
    mem.close();
  }
}

/** mmap(2) of a whole file read-only and private in this process: its address (for calls that take one, such as UFFDIO_COPY). */
export function mapFileReadOnly(fd: number, length: number): bigint {
  const PROT_READ = 1;
  const MAP_PRIVATE = 2;
  return invoke(SYS.mmap, [0, length, PROT_READ, MAP_PRIVATE, fd, 0], { call: 'mmap', path: `fd ${fd}` });
}

export function unmapRange(addr: bigint, length: number): void {
  invoke(SYS.munmap, [addr, length], { call: 'munmap' });
}
