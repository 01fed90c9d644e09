// The raw layer: positional calls into libc through ffi-rs. This is the only
// file in the project that imports ffi-rs. Nothing here validates or throws
// on a failed call: it returns the value and errno as the C library gave
// them; the typed wrappers in the other files turn -1 into SyscallError.
//
// Arguments are bigint/number (passed as a 64-bit integer register) or a
// Buffer (passed as a pointer to the Buffer's own memory, so the kernel can
// fill it: an output argument). Measured cost: ~3 µs per call with errno.
import { DataType, load, open } from 'ffi-rs';

const LIBC = 'libc';

/** An argument for a raw call: an integer, or a Buffer passed by pointer. */
export type RawArg = bigint | number | Buffer;

export interface RawResult {
  value: bigint;
  /** errno after the call; meaningful only when value is -1 */
  errno: number;
}

// dlopen(NULL): the main program's handle, which carries libc. Done once at
// import; ffi-rs keeps it under the key for every later load().
open({ library: LIBC, path: '' });

function typeOf(arg: RawArg): DataType {
  return Buffer.isBuffer(arg) ? DataType.U8Array : DataType.BigInt;
}

function valueOf(arg: RawArg): bigint | Buffer {
  if (Buffer.isBuffer(arg)) return arg;
  return typeof arg === 'bigint' ? BigInt.asIntN(64, arg) : BigInt(arg);
}

/** Calls a libc function taking integers/pointers and returning a long. */
export function callLibc(funcName: string, args: readonly RawArg[]): RawResult {
  const result = load<DataType.BigInt, true>({
    library: LIBC,
    funcName,
    retType: DataType.BigInt,
    paramsType: args.map(typeOf),
    paramsValue: args.map(valueOf),
    errno: true,
  });
  return { value: BigInt(result.value as bigint), errno: result.errnoCode };
}

/** syscall(2) through libc: -1 and errno on failure, as glibc reports it. */
export function rawSyscall(nr: number, args: readonly RawArg[]): RawResult {
  return callLibc('syscall', [nr, ...args]);
}

/**
 * The address of a Buffer's first byte, for structs that carry pointers
 * (iovec, prctl_mm_map, clone_args). The Buffer must stay referenced while
 * the kernel uses the address. An empty Buffer has no memory: 0n.
 */
export function bufferAddress(buf: Buffer): bigint {
  if (buf.length === 0) return 0n;
  // memcpy(dst, src, 0) copies nothing and returns dst: the pointer ffi-rs passed
  return callLibc('memcpy', [buf, buf, 0]).value;
}

/**
 * Addresses of many Buffers with one native call per distinct backing
 * ArrayBuffer (a Buffer's byteOffset gives the rest), so slices of one big
 * Buffer cost a single call.
 */
export function bufferAddresses(bufs: readonly Buffer[]): bigint[] {
  const bases = new Map<ArrayBufferLike, bigint>();
  return bufs.map((buf) => {
    if (buf.length === 0) return 0n;
    let base = bases.get(buf.buffer);
    if (base === undefined) {
      base = bufferAddress(buf) - BigInt(buf.byteOffset);
      bases.set(buf.buffer, base);
    }
    return base + BigInt(buf.byteOffset);
  });
}
