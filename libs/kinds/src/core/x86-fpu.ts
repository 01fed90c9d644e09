// x86 FPU/SSE/AVX state as core-PID.img holds it (user_x86_fpregs_entry with
// its user_x86_xsave_entry), decoded from the NT_X86_XSTATE regset: the
// legacy FXSAVE area (first 512 bytes), the XSAVE header (xstate_bv at 512)
// and the extended components at the offsets CPUID leaf 0xd gives (the
// regset is in the standard, uncompacted format). As upstream CRIU 4.x:
// one array per component this CPU enables (YMM, MPX BNDREGS/BNDCSR, AVX-512
// opmask/ZMM_Hi256/Hi16_ZMM, PKRU), copied verbatim; components the proto
// has no field for (AMX tiles, ...) are not saved. Pure conversions.
import type { Messages } from '@criu-ts/images';

export type UserX86Fpregs = Messages['user_x86_fpregs_entry'];
export type UserX86Xsave = Messages['user_x86_xsave_entry'];

/** An XSAVE component: its bit in XCR0, where the image keeps it, its size. */
export interface XFeature {
  bit: number;
  field: 'ymmh_space' | 'bndreg_state' | 'bndcsr_state' | 'opmask_reg' | 'zmm_upper' | 'hi16_zmm' | 'pkru';
  /** bytes in the XSAVE area, as the image's array holds them */
  size: number;
  /** element width in the image's repeated field */
  word: 32 | 64;
}

export const XFEATURES: readonly XFeature[] = [
  { bit: 2, field: 'ymmh_space', size: 256, word: 32 },
  { bit: 3, field: 'bndreg_state', size: 64, word: 64 },
  { bit: 4, field: 'bndcsr_state', size: 64, word: 64 },
  { bit: 5, field: 'opmask_reg', size: 64, word: 64 },
  { bit: 6, field: 'zmm_upper', size: 512, word: 64 },
  { bit: 7, field: 'hi16_zmm', size: 1024, word: 64 },
  { bit: 9, field: 'pkru', size: 8, word: 32 },
];

/** Where each enabled component sits in the uncompacted XSAVE area: bit → offset. */
export type XsaveLayout = ReadonlyMap<number, number>;

/** The FXSAVE area size; the XSAVE header follows it. */
export const FXSAVE_SIZE = 512;
const XSAVE_HEADER_SIZE = 64;

function words32(buf: Buffer, at: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => buf.readUInt32LE(at + i * 4));
}

function words64(buf: Buffer, at: number, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => buf.readBigUInt64LE(at + i * 8));
}

/** user_x86_fpregs_entry from the 512-byte FXSAVE layout (PTRACE_GETFPREGS or the regset's start). */
export function fxsaveEntry(area: Buffer): UserX86Fpregs {
  if (area.length < FXSAVE_SIZE) throw new RangeError(`FXSAVE area needs ${FXSAVE_SIZE} bytes, got ${area.length}`);
  return {
    cwd: area.readUInt16LE(0),
    swd: area.readUInt16LE(2),
    twd: area.readUInt16LE(4),
    fop: area.readUInt16LE(6),
    rip: area.readBigUInt64LE(8),
    rdp: area.readBigUInt64LE(16),
    mxcsr: area.readUInt32LE(24),
    mxcsr_mask: area.readUInt32LE(28),
    st_space: words32(area, 32, 32),
    xmm_space: words32(area, 160, 64),
  };
}

/** user_x86_xsave_entry: xstate_bv and every enabled component of `layout`. */
export function xsaveEntry(xstate: Buffer, layout: XsaveLayout): UserX86Xsave {
  if (xstate.length < FXSAVE_SIZE + XSAVE_HEADER_SIZE) {
    throw new RangeError(`XSAVE area needs at least ${FXSAVE_SIZE + XSAVE_HEADER_SIZE} bytes, got ${xstate.length}`);
  }
  const entry: UserX86Xsave = { xstate_bv: xstate.readBigUInt64LE(FXSAVE_SIZE) };
  for (const feature of XFEATURES) {
    const offset = layout.get(feature.bit);
    if (offset === undefined) continue;
    if (offset + feature.size > xstate.length) {
      throw new RangeError(`XSAVE component ${feature.field} at ${offset}+${feature.size} is past the ${xstate.length}-byte area`);
    }
    const words = feature.word === 32 ? words32(xstate, offset, feature.size / 4) : words64(xstate, offset, feature.size / 8);
    Object.assign(entry, { [feature.field]: words });
  }
  return entry;
}

/** The whole fpregs entry from an NT_X86_XSTATE regset. */
export function fpregsFromXstate(xstate: Buffer, layout: XsaveLayout): UserX86Fpregs {
  return { ...fxsaveEntry(xstate), xsave: xsaveEntry(xstate, layout) };
}

/**
 * Restore side: writes every extended component the image holds (AVX,
 * AVX-512 opmask/ZMM_Hi256/Hi16_ZMM, MPX, PKRU) into an uncompacted XSAVE
 * buffer at this CPU's offsets; returns their XCR0 bits. A component the
 * image holds in xstate_bv but this CPU lacks is refused.
 */
export function putXsaveComponents(buf: Buffer, xsave: UserX86Xsave, layout: XsaveLayout): bigint {
  let written = 0n;
  for (const feature of XFEATURES) {
    const words = xsave[feature.field];
    if (words === undefined || words.length === 0) continue;
    const bit = 1n << BigInt(feature.bit);
    const offset = layout.get(feature.bit);
    if (offset === undefined) {
      if ((BigInt.asUintN(64, xsave.xstate_bv) & bit) === 0n) continue;
      throw new RangeError(`the image holds XSAVE state ${feature.field} (bit ${feature.bit}) that this CPU does not have`);
    }
    const width = feature.word / 8;
    if (words.length * width !== feature.size) throw new RangeError(`XSAVE ${feature.field} holds ${words.length * width} bytes, not ${feature.size}`);
    if (offset + feature.size > buf.length) throw new RangeError(`XSAVE component ${feature.field} at ${offset}+${feature.size} is past the ${buf.length}-byte area`);
    words.forEach((word, i) => {
      if (width === 4) buf.writeUInt32LE(Number(word) >>> 0, offset + i * 4);
      else buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(word)), offset + i * 8);
    });
    written |= bit;
  }
  return written;
}
