// Many system calls in one trip into the task. Each call becomes a small
// piece of x86-64 code — load rax and the six argument registers, `syscall`,
// store rax into a results slot — and an int3 ends the sequence, so one
// PTRACE_CONT runs them all (where one injected call each costs a ptrace
// round trip). The code lives in a read+exec mapping of the task, written
// through /proc/PID/mem; the results in a read-write one. Signals stay
// blocked as for single calls, so the calls run back to back.
import { MAP, PROT, SYS, type TaskMemory } from '@criu-ts/kernel';
import type { Scratch } from './scratch.js';

export interface BatchCall {
  nr: number;
  args?: readonly (bigint | number)[];
}

/** mov r64, imm64 opcodes (REX.W + B8+r) for rax, rdi, rsi, rdx, r10, r8, r9. */
const LOAD = [
  [0x48, 0xb8],
  [0x48, 0xbf],
  [0x48, 0xbe],
  [0x48, 0xba],
  [0x49, 0xba],
  [0x49, 0xb8],
  [0x49, 0xb9],
] as const;
const SYSCALL = [0x0f, 0x05];
/** movabs [moffs64], rax */
const STORE_RAX = [0x48, 0xa3];
const INT3 = 0xcc;
/** bytes of code per call: seven loads, syscall, store */
export const CALL_CODE_BYTES = LOAD.length * 10 + SYSCALL.length + 10;

function imm64(value: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)));
  return b;
}

/** The machine code for `calls`, storing call i's rax at results + 8*i, ending in int3. */
export function assembleBatch(calls: readonly BatchCall[], results: bigint): Buffer {
  const parts: Buffer[] = [];
  calls.forEach((call, i) => {
    const args = call.args ?? [];
    if (args.length > 6) throw new RangeError(`a syscall takes at most 6 arguments, got ${args.length}`);
    const values = [call.nr, ...args, ...Array<number>(6 - args.length).fill(0)];
    LOAD.forEach((opcode, r) => parts.push(Buffer.from(opcode), imm64(values[r]!)));
    parts.push(Buffer.from(SYSCALL), Buffer.from(STORE_RAX), imm64(results + BigInt(8 * i)));
  });
  parts.push(Buffer.from([INT3]));
  return Buffer.concat(parts);
}

export interface BatchArea {
  code: { addr: bigint; size: number };
  results: Scratch;
}

type Call = (name: string, nr: number, args?: (bigint | number)[]) => bigint;

/** An executable (not writable) mapping for batch code; we write it through /proc/PID/mem. */
export function mapBatchCode(size: number, call: Call): { addr: bigint; size: number } {
  const mapped = Math.ceil(size / 4096) * 4096;
  const addr = call('mmap', SYS.mmap, [0, mapped, PROT.READ | PROT.EXEC, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0]);
  return { addr, size: mapped };
}

export function writeBatchCode(mem: TaskMemory, area: BatchArea, code: Buffer): void {
  if (code.length > area.code.size) throw new RangeError(`batch code of ${code.length} bytes does not fit ${area.code.size}`);
  if (mem.write(area.code.addr, code) !== code.length) {
    throw new Error(`task ${mem.pid}: short write of batch code at 0x${area.code.addr.toString(16)}`);
  }
}
