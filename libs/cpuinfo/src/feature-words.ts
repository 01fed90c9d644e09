// The x86 capability words as CRIU's cpuinfo.img holds them: the Linux
// kernel's feature-word numbering (arch/x86/include/asm/cpufeatures.h),
// frozen by CRIU as image ABI (compel's enum cpuid_leafs). Version 1
// images carry 12 words, version 2 (what CRIU writes now) 19. Data only.
import type { CpuidRegs } from './cpuid-source.js';

export const NCAPINTS = 19;
export const NCAPINTS_V1 = 12;
/** capability_ver → how many words such an image carries */
export const CAPABILITY_WORDS: Readonly<Record<number, number>> = { 1: NCAPINTS_V1, 2: NCAPINTS };
export const CAPABILITY_VERSION = 2;

/** A feature's index: word * 32 + bit, as X86_FEATURE_* values. */
export const feature = (word: number, bit: number): number => word * 32 + bit;

export interface WordSource {
  word: number;
  leaf: number;
  subleaf: number;
  reg: keyof CpuidRegs;
  /** read only if this feature is present in the words read so far */
  requires?: number;
}

/**
 * Which CPUID register fills which word. Words 2, 5 (Transmeta, VIA), 3, 7
 * and 8 (Linux-synthesised) are not read from a leaf; CRIU leaves them
 * zero except for a few synthesised bits (see cpu-features.ts).
 */
export const WORD_SOURCES: readonly WordSource[] = [
  { word: 0, leaf: 0x1, subleaf: 0, reg: 'edx' },
  { word: 4, leaf: 0x1, subleaf: 0, reg: 'ecx' },
  { word: 14, leaf: 0x6, subleaf: 0, reg: 'eax' },
  { word: 9, leaf: 0x7, subleaf: 0, reg: 'ebx' },
  { word: 11, leaf: 0x7, subleaf: 0, reg: 'ecx' },
  { word: 18, leaf: 0x7, subleaf: 0, reg: 'edx' },
  { word: 10, leaf: 0xd, subleaf: 1, reg: 'eax' },
  { word: 16, leaf: 0xf, subleaf: 0, reg: 'edx' },
  { word: 12, leaf: 0xf, subleaf: 1, reg: 'edx', requires: feature(16, 1) /* cqm_llc */ },
  { word: 1, leaf: 0x80000001, subleaf: 0, reg: 'edx' },
  { word: 6, leaf: 0x80000001, subleaf: 0, reg: 'ecx' },
  { word: 17, leaf: 0x80000007, subleaf: 0, reg: 'ebx' },
  { word: 15, leaf: 0x8000000a, subleaf: 0, reg: 'edx' },
  { word: 13, leaf: 0x80000008, subleaf: 0, reg: 'ebx' },
];

/** XSAVE state components (bit i of XCR0) and the CPUID feature each depends on. */
export const XFEATURES: readonly { name: string; requires: number }[] = [
  { name: 'x87 floating point registers', requires: feature(0, 0) },
  { name: 'SSE registers', requires: feature(0, 25) },
  { name: 'AVX registers', requires: feature(4, 28) },
  { name: 'MPX bounds registers', requires: feature(9, 14) },
  { name: 'MPX CSR', requires: feature(9, 14) },
  { name: 'AVX-512 opmask', requires: feature(9, 16) },
  { name: 'AVX-512 Hi256', requires: feature(9, 16) },
  { name: 'AVX-512 ZMM_Hi256', requires: feature(9, 16) },
  { name: 'Processor Trace', requires: feature(9, 25) },
  { name: 'Protection Keys User registers', requires: feature(11, 3) },
  { name: 'Hardware Duty Cycling', requires: feature(14, 13) },
];

/** User state components CRIU keeps in the mask: FP, SSE, YMM, BNDREGS, BNDCSR, OPMASK, ZMM_Hi256, Hi16_ZMM, PKRU. */
export const XFEATURE_MASK_USER = 0x2ffn;

/** The leaves to ask for in one helper run: every source leaf, vendor, brand string, XSAVE sizes. */
export const CPUID_QUERIES = [
  { leaf: 0x0, subleaf: 0 },
  { leaf: 0x80000000, subleaf: 0 },
  { leaf: 0xd, subleaf: 0 },
  { leaf: 0x80000002, subleaf: 0 },
  { leaf: 0x80000003, subleaf: 0 },
  { leaf: 0x80000004, subleaf: 0 },
  ...WORD_SOURCES.map(({ leaf, subleaf }) => ({ leaf, subleaf })),
] as const;
