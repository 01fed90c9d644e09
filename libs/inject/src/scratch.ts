// Scratch memory inside the task: an anonymous private mapping made by an
// injected mmap, to carry structs in and out of injected calls. Reads and
// writes go through /proc/PID/mem, one positioned call each.
import { CriuError } from '@criu-ts/base';
import { MAP, PAGE_SIZE, PROT, SYS, type TaskMemory } from '@criu-ts/kernel';

export interface Scratch {
  readonly addr: bigint;
  /** the mapped size: the request rounded up to whole pages */
  readonly size: number;
  write(buf: Buffer, offset?: number): void;
  read(len: number, offset?: number): Buffer;
}

type Call = (name: string, nr: number, args?: (bigint | number)[]) => bigint;

function checkRange(scratch: Scratch, offset: number, len: number): void {
  if (offset < 0 || len < 0 || offset + len > scratch.size) {
    throw new RangeError(`scratch at 0x${scratch.addr.toString(16)} holds ${scratch.size} bytes, not ${offset}+${len}`);
  }
}

/** Maps `size` bytes (rounded up to pages) in the task through `call`. */
export function mapScratch(size: number, call: Call, mem: TaskMemory): Scratch {
  const mapped = Math.max(PAGE_SIZE, Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
  const addr = call('mmap', SYS.mmap, [0, mapped, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0]);
  return scratchAt(addr, mapped, mem);
}

/** Scratch on memory the task already has mapped read-write (`size` bytes at `addr`). */
export function scratchAt(addr: bigint, size: number, mem: TaskMemory): Scratch {
  const scratch: Scratch = {
    addr,
    size,
    write(buf, offset = 0) {
      checkRange(scratch, offset, buf.length);
      if (mem.write(addr + BigInt(offset), buf) !== buf.length) {
        throw new CriuError(`task ${mem.pid}: short write to scratch at 0x${addr.toString(16)}`);
      }
    },
    read(len, offset = 0) {
      checkRange(scratch, offset, len);
      const buf = Buffer.alloc(len);
      if (mem.read(addr + BigInt(offset), buf) !== len) {
        throw new CriuError(`task ${mem.pid}: short read from scratch at 0x${addr.toString(16)}`);
      }
      return buf;
    },
  };
  return scratch;
}
