// A thread's restartable-sequences registration (rseq(2)) into
// thread_core.rseq_entry, as upstream CRIU 4.x saves it: the ABI pointer,
// size and signature from PTRACE_GET_RSEQ_CONFIGURATION, and — when the
// thread sits inside a critical section — what upstream does about it: if
// the section may be restarted, the saved instruction pointer becomes the
// section's abort handler (as the kernel would do on preemption); if it is
// flagged NO_RESTART_ON_SIGNAL, its rseq_cs pointer is saved so restore puts
// it back. The live thread is never changed. struct rseq and struct
// rseq_cs are read from the thread's memory (/proc/PID/mem).
import { CriuError } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';
import { ptraceGetRseqConfiguration, readTaskMemory } from '@criu-ts/kernel';

export type RseqEntry = Messages['rseq_entry'];

/** RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL */
const NO_RESTART_ON_SIGNAL = 1;

/** The parts of struct rseq_cs (32 bytes) that matter here. */
export interface RseqCs {
  version: number;
  flags: number;
  startIp: bigint;
  postCommitOffset: bigint;
  abortIp: bigint;
}

export function parseRseqCs(buf: Buffer): RseqCs {
  return {
    version: buf.readUInt32LE(0),
    flags: buf.readUInt32LE(4),
    startIp: buf.readBigUInt64LE(8),
    postCommitOffset: buf.readBigUInt64LE(16),
    abortIp: buf.readBigUInt64LE(24),
  };
}

export interface RseqState {
  entry: RseqEntry;
  /** the ip the thread must resume at, when it differs from its own (in a restartable section) */
  abortIp?: bigint;
}

/**
 * The image's view of a critical section: `rseqFlags` are struct rseq's own
 * flags (combined with the section's as the kernel does), `ip` the thread's.
 */
export function rseqDecision(entry: RseqEntry, rseqCsPointer: bigint, rseqFlags: number, cs: RseqCs | null, ip: bigint): RseqState {
  if (cs === null || cs.startIp === 0n) return { entry };
  if (cs.version !== 0) throw new CriuError(`unsupported rseq_cs ABI version ${cs.version}`, { code: 'ERSEQ' });
  const flags = cs.flags | rseqFlags;
  const result: RseqState = { entry: { ...entry } };
  if ((flags & NO_RESTART_ON_SIGNAL) !== 0) result.entry.rseq_cs_pointer = rseqCsPointer;
  else if (ip >= cs.startIp && ip < cs.startIp + cs.postCommitOffset) result.abortIp = cs.abortIp;
  return result;
}

function readExactly(tid: number, addr: bigint, size: number): Buffer {
  const buf = Buffer.alloc(size);
  if (readTaskMemory(tid, addr, buf) !== size) throw new CriuError(`thread ${tid}: cannot read ${size} bytes of rseq state at 0x${addr.toString(16)}`, { code: 'ERSEQ' });
  return buf;
}

/** rseq_entry of a stopped thread whose instruction pointer is `ip`. */
export function dumpRseq(tid: number, ip: bigint): RseqState {
  const config = ptraceGetRseqConfiguration(tid);
  if (config.flags !== 0) throw new CriuError(`thread ${tid}: unexpected rseq configuration flags 0x${config.flags.toString(16)}`, { code: 'ERSEQ' });
  const entry: RseqEntry = { rseq_abi_pointer: config.rseqAbiPointer, rseq_abi_size: config.rseqAbiSize, signature: config.signature };
  if (config.rseqAbiPointer === 0n) return { entry };
  const rseq = readExactly(tid, config.rseqAbiPointer, 20);
  const csPointer = rseq.readBigUInt64LE(8);
  const cs = csPointer === 0n ? null : parseRseqCs(readExactly(tid, csPointer, 32));
  return rseqDecision(entry, csPointer, rseq.readUInt32LE(16), cs, ip);
}
