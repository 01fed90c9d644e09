// The raw layer: positional calls into libc (and our own native/build/lib*.so) through ffi-rs. This is the only
// file in the project that imports ffi-rs. Nothing here validates or throws
// on a failed call: it returns the value and errno as the C library gave
// them; the typed wrappers in the other files turn -1 into SyscallError.
//
// Arguments are bigint/number (passed as a 64-bit integer register) or a
// Buffer (passed as a pointer to the Buffer's own memory, so the kernel can
// fill it: an output argument). Measured cost: ~3 µs per call with errno.
//
// The calls go straight to ffi-rs' native binding for this platform (a
// package ffi-rs depends on): ffi-rs' own entry first asks
// process.report.getReport() whether libc is musl (5-12 ms at every start
// of every tool) and then re-maps each call's parameter types; we pass the
// array descriptors it would build ourselves. Elsewhere (musl), ffi-rs'
// entry is used.
import { createRequire } from 'node:module';
import type { DataType as DataTypeEnum, load as loadFn, open as openFn } from 'ffi-rs';

interface Binding {
  DataType: typeof DataTypeEnum;
  /** the binding's tags (ffi-rs' typings list only some): Array marks a buffer parameter */
  FFITypeTag: { Array: number };
  load: typeof loadFn;
  open: typeof openFn;
}

function loadBinding(): Binding {
  const require = createRequire(import.meta.url);
  const fromFfiRs = createRequire(require.resolve('ffi-rs'));
  if (process.platform === 'linux' && process.arch === 'x64') {
    try {
      return fromFfiRs('@yuuang/ffi-rs-linux-x64-gnu') as Binding;
    } catch {
      // not a glibc build of ffi-rs: its entry chooses
    }
  }
  return require('ffi-rs') as Binding;
}

const { DataType, FFITypeTag, load, open } = loadBinding();

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

type ParamType = DataTypeEnum | { ffiTypeTag: number; type: DataTypeEnum; length: number };

function typeOf(arg: RawArg): ParamType {
  return Buffer.isBuffer(arg) ? { ffiTypeTag: FFITypeTag.Array, type: DataType.U8Array, length: arg.length } : DataType.BigInt;
}

function valueOf(arg: RawArg): bigint | Buffer {
  if (Buffer.isBuffer(arg)) return arg;
  return typeof arg === 'bigint' ? BigInt.asIntN(64, arg) : BigInt(arg);
}

/** The call of funcName in `library` (a key open() was given), its arguments as integers or buffers, returning a long. */
function longCall(library: string, funcName: string, args: readonly RawArg[]) {
  return {
    library,
    funcName,
    retType: DataType.BigInt as DataTypeEnum.BigInt,
    paramsType: args.map(typeOf) as DataTypeEnum[],
    paramsValue: args.map(valueOf),
    freeResultMemory: false,
  };
}

/** Calls a libc function taking integers/pointers and returning a long. */
export function callLibc(funcName: string, args: readonly RawArg[]): RawResult {
  const result = load<DataTypeEnum.BigInt, true>({ ...longCall(LIBC, funcName, args), errno: true });
  return { value: BigInt(result.value as bigint), errno: result.errnoCode };
}

const openedLibraries = new Set<string>();

/**
 * Calls a function of a shared object of ours (native/build/lib*.so), taking
 * integers/pointers and returning a long; the library is dlopen'ed on first
 * use. Throws ffi-rs' error if it cannot be loaded.
 */
export function callLibrary(path: string, funcName: string, args: readonly RawArg[]): bigint {
  if (!openedLibraries.has(path)) {
    open({ library: path, path });
    openedLibraries.add(path);
  }
  return BigInt(load<DataTypeEnum.BigInt, false>(longCall(path, funcName, args)) as bigint);
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
