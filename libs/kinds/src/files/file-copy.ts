// Kernel-side copies of file data into an image slot (copy_file_range(2)),
// and the data runs of a sparse file (lseek SEEK_DATA / SEEK_HOLE), so file
// contents never pass through JS buffers; and copyRange, the way back
// (ghost files, memfd contents) from an image into a file.
import { CriuError, SyscallError } from '@criu-ts/base';
import { SEEK, SYS, syscall, trySyscall } from '@criu-ts/kernel';
import type { PayloadSlot } from '@criu-ts/images';

const ENXIO = 6;

function offsetBox(value: number): Buffer {
  const box = Buffer.alloc(8);
  box.writeBigInt64LE(BigInt(value), 0);
  return box;
}

/**
 * Copy `slot.length` bytes from `src` at srcOffset into the slot; `what`
 * names the source. Across filesystems copy_file_range says EXDEV (a shared
 * anonymous mapping's file on the kernel's internal shm mount, say: zdtm
 * shmemfd) and copyRange goes on with sendfile; the image writer writes by
 * position, so the slot fd's file position is free to move.
 */
export function copyIntoSlot(src: number, srcOffset: number, slot: PayloadSlot, what: string): void {
  copyRange(src, srcOffset, slot.fd, slot.offset, slot.length, `${what} (into the image)`);
}

export interface DataRun {
  offset: number;
  length: number;
}

function seek(fd: number, offset: number, whence: number): number | undefined {
  const { value, errno } = trySyscall(SYS.lseek, fd, offset, whence);
  if (errno === ENXIO) return undefined;
  if (errno !== 0) throw new SyscallError({ syscall: 'lseek', errno, path: `fd ${fd}` });
  return Number(value);
}

/** The runs of [0, size) that hold data; holes are left out. */
export function dataRuns(fd: number, size: number): DataRun[] {
  const runs: DataRun[] = [];
  let at = 0;
  while (at < size) {
    const data = seek(fd, at, SEEK.DATA);
    if (data === undefined || data >= size) break;
    const hole = Math.min(seek(fd, data, SEEK.HOLE) ?? size, size);
    runs.push({ offset: data, length: hole - data });
    at = hole;
  }
  return runs;
}

const EXDEV = 18;

/** sendfile(2) from src at srcOffset to dst at its position: the cross-filesystem path. */
function sendRange(src: number, srcOffset: number, dst: number, dstOffset: number, length: number, what: string): void {
  syscall(SYS.lseek, dst, dstOffset, SEEK.SET);
  const inOff = offsetBox(srcOffset);
  for (let left = length; left > 0; ) {
    const n = Number(syscall(SYS.sendfile, dst, src, inOff, left));
    if (n === 0) throw new CriuError(`${what}: ended ${left} bytes early`, { code: 'EIO' });
    left -= n;
  }
}

/** Copy `length` bytes from src at srcOffset to dst at dstOffset, kernel-side; `what` names the data. */
export function copyRange(src: number, srcOffset: number, dst: number, dstOffset: number, length: number, what: string): void {
  const inOff = offsetBox(srcOffset);
  const outOff = offsetBox(dstOffset);
  for (let left = length; left > 0; ) {
    const { value, errno } = trySyscall(SYS.copy_file_range, src, inOff, dst, outOff, left, 0);
    if (errno === EXDEV) {
      sendRange(src, Number(inOff.readBigInt64LE(0)), dst, Number(outOff.readBigInt64LE(0)), left, what);
      return;
    }
    if (errno !== 0) throw new SyscallError({ syscall: 'copy_file_range', errno, path: what });
    if (value === 0n) throw new CriuError(`${what}: ended ${left} bytes early`, { code: 'EIO' });
    left -= Number(value);
  }
}
