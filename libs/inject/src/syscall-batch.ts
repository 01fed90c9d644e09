// Many system calls in one trip into the task. Each call becomes a small
// piece of x86-64 code — load rax and the six argument registers, `syscall`,
// store rax into a results slot — and an int3 ends the sequence, so one
// PTRACE_CONT runs them all (where one injected call each costs a ptrace
// round trip). The code lives in a read+exec mapping of the task, written
// through /proc/PID/mem; the results in a read-write one. Signals stay
// blocked as for single calls, so the calls run back to back.
import { MAP, PROT, SYS, type TaskMemory } from '@criu-ts/kernel';
import type { Scratch } from './scratch.js';

/**
 * An argument that is the result (rax) of an earlier call of the same
 * batch, e.g. the fd an openat returned, for a read: `{ result: i }`.
 */
export interface ResultRef {
  readonly result: number;
}

export type BatchArg = bigint | number | ResultRef;

export interface BatchCall {
  nr: number;
  args?: readonly BatchArg[];
}

export const isResultRef = (arg: BatchArg): arg is ResultRef => typeof arg === 'object';

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
/** movabs rax, [moffs64] */
const LOAD_RAX = [0x48, 0xa1];
/** mov rdi|rsi|rdx|r10|r8|r9, rax */
const FROM_RAX = [
  [0x48, 0x89, 0xc7],
  [0x48, 0x89, 0xc6],
  [0x48, 0x89, 0xc2],
  [0x49, 0x89, 0xc2],
  [0x49, 0x89, 0xc0],
  [0x49, 0x89, 0xc1],
] as const;
/** bytes of code per call without result references: seven loads, syscall, store */
export const CALL_CODE_BYTES = LOAD.length * 10 + SYSCALL.length + 10;
/** bytes of code per call at most: every argument a result reference (load, move), then rax, syscall, store */
export const MAX_CALL_CODE_BYTES = 6 * (LOAD_RAX.length + 8 + 3) + 10 + SYSCALL.length + 10;

/**
 * The machine code for `calls`, storing call i's rax at results + 8*i,
 * ending in int3. A call whose arguments are all numbers loads rax (its
 * number) and the six argument registers; one with result references
 * loads its arguments first — a reference through rax, from the earlier
 * call's result slot — and rax last.
 */
export function assembleBatch(calls: readonly BatchCall[], results: bigint): Buffer {
  const code = Buffer.allocUnsafe(calls.length * MAX_CALL_CODE_BYTES + 1);
  let at = 0;
  const bytes = (opcode: readonly number[]): void => {
    for (const byte of opcode) code[at++] = byte;
  };
  const imm = (value: bigint | number): void => {
    code.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)), at);
    at += 8;
  };
  calls.forEach((call, i) => {
    const args = call.args ?? [];
    if (args.length > 6) throw new RangeError(`a syscall takes at most 6 arguments, got ${args.length}`);
    const slot = (arg: ResultRef): bigint => {
      if (!Number.isInteger(arg.result) || arg.result < 0 || arg.result >= i) throw new RangeError(`call ${i} refers to the result of call ${arg.result}, not an earlier one`);
      return results + BigInt(8 * arg.result);
    };
    const value = (r: number): BatchArg => args[r] ?? 0;
    if (!args.some(isResultRef)) {
      bytes(LOAD[0]);
      imm(call.nr);
      for (let r = 0; r < 6; r++) {
        bytes(LOAD[r + 1]!);
        imm(value(r) as bigint | number);
      }
    } else {
      for (let r = 0; r < 6; r++) {
        const arg = value(r);
        if (isResultRef(arg)) {
          bytes(LOAD_RAX);
          imm(slot(arg));
          bytes(FROM_RAX[r]!);
        } else {
          bytes(LOAD[r + 1]!);
          imm(arg);
        }
      }
      bytes(LOAD[0]);
      imm(call.nr);
    }
    bytes(SYSCALL);
    bytes(STORE_RAX);
    imm(results + BigInt(8 * i));
  });
  code[at++] = INT3;
  return code.subarray(0, at);
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
