// Names of x86 feature bits, as /proc/cpuinfo spells them, for messages
// ("this CPU lacks avx512f"). Bits without a name here are reported as
// "word W bit B". Also the instruction-level set CRIU compares under
// --cpu-cap=ins. Data only.
import { NCAPINTS, feature } from './feature-words.js';

const NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  0: {
    0: 'fpu', 1: 'vme', 2: 'de', 3: 'pse', 4: 'tsc', 5: 'msr', 6: 'pae', 7: 'mce', 8: 'cx8', 9: 'apic', 11: 'sep',
    12: 'mtrr', 13: 'pge', 14: 'mca', 15: 'cmov', 16: 'pat', 17: 'pse36', 19: 'clflush', 23: 'mmx', 24: 'fxsr',
    25: 'sse', 26: 'sse2', 27: 'ss', 28: 'ht',
  },
  1: { 11: 'syscall', 20: 'nx', 22: 'mmxext', 25: 'fxsr_opt', 26: 'pdpe1gb', 27: 'rdtscp', 29: 'lm', 30: '3dnowext', 31: '3dnow' },
  3: { 16: 'rep_good', 20: 'nopl', 25: 'cpuid' },
  4: {
    0: 'pni', 1: 'pclmulqdq', 3: 'monitor', 9: 'ssse3', 12: 'fma', 13: 'cx16', 17: 'pcid', 19: 'sse4_1', 20: 'sse4_2',
    21: 'x2apic', 22: 'movbe', 23: 'popcnt', 25: 'aes', 26: 'xsave', 27: 'osxsave', 28: 'avx', 29: 'f16c', 30: 'rdrand',
    31: 'hypervisor',
  },
  6: { 0: 'lahf_lm', 5: 'abm', 6: 'sse4a', 7: 'misalignsse', 8: '3dnowprefetch', 11: 'xop', 16: 'fma4', 21: 'tbm', 22: 'topoext' },
  9: {
    0: 'fsgsbase', 3: 'bmi1', 4: 'hle', 5: 'avx2', 7: 'smep', 8: 'bmi2', 9: 'erms', 10: 'invpcid', 11: 'rtm', 14: 'mpx',
    16: 'avx512f', 17: 'avx512dq', 18: 'rdseed', 19: 'adx', 20: 'smap', 21: 'avx512ifma', 23: 'clflushopt', 24: 'clwb',
    25: 'intel_pt', 26: 'avx512pf', 27: 'avx512er', 28: 'avx512cd', 29: 'sha_ni', 30: 'avx512bw', 31: 'avx512vl',
  },
  10: { 0: 'xsaveopt', 1: 'xsavec', 2: 'xgetbv1', 3: 'xsaves' },
  11: {
    0: 'prefetchwt1', 1: 'avx512vbmi', 2: 'umip', 3: 'pku', 4: 'ospke', 6: 'avx512_vbmi2', 7: 'shstk', 8: 'gfni', 9: 'vaes',
    10: 'vpclmulqdq', 11: 'avx512_vnni', 12: 'avx512_bitalg', 13: 'tme', 14: 'avx512_vpopcntdq', 16: 'la57', 22: 'rdpid',
    25: 'cldemote',
  },
  13: { 0: 'clzero', 1: 'irperf', 2: 'xsaveerptr' },
  14: { 13: 'hdc' },
  16: { 1: 'cqm_llc' },
  18: { 2: 'avx512_4vnniw', 3: 'avx512_4fmaps', 18: 'pconfig' },
};

/** "avx2", or "word 9 bit 5" for a bit without a name. */
export function featureName(index: number): string {
  const word = Math.floor(index / 32);
  const bit = index % 32;
  return NAMES[word]?.[bit] ?? `word ${word} bit ${bit}`;
}

/** The index of a named feature; throws for a name not in the table. */
export function featureIndex(name: string): number {
  for (const [word, bits] of Object.entries(NAMES)) {
    for (const [bit, known] of Object.entries(bits)) if (known === name) return feature(Number(word), Number(bit));
  }
  throw new Error(`unknown x86 feature name '${name}'`);
}

/** Features an image's FPU state needs on the restoring CPU (--cpu-cap=fpu). */
export const FPU_FEATURES: readonly string[] = ['fpu', 'fxsr', 'osxsave', 'xsaves'];

/** Instruction-set features (--cpu-cap=ins): the restoring CPU must have each the image has. */
export const INS_FEATURES: readonly string[] = [
  'fpu', 'tsc', 'cx8', 'sep', 'cmov', 'clflush', 'mmx', 'fxsr', 'sse', 'sse2',
  'syscall', 'mmxext', 'rdtscp', '3dnowext', '3dnow',
  'rep_good', 'nopl',
  'pni', 'pclmulqdq', 'monitor', 'ssse3', 'cx16', 'sse4_1', 'sse4_2', 'movbe', 'popcnt', 'aes', 'xsave', 'osxsave', 'avx',
  'f16c', 'rdrand',
  'abm', 'sse4a', 'misalignsse', '3dnowprefetch', 'xop', 'fma4', 'tbm',
  'fsgsbase', 'bmi1', 'hle', 'avx2', 'bmi2', 'erms', 'rtm', 'mpx', 'avx512f', 'avx512dq', 'rdseed', 'adx', 'clflushopt',
  'avx512pf', 'avx512er', 'avx512cd', 'sha_ni', 'avx512bw', 'avx512vl',
  'xsaveopt', 'xsavec', 'xgetbv1',
  'avx512vbmi', 'avx512_vbmi2', 'gfni', 'vaes', 'vpclmulqdq', 'avx512_vnni', 'avx512_bitalg', 'tme', 'avx512_vpopcntdq',
  'rdpid',
  'clzero',
  'avx512_4vnniw', 'avx512_4fmaps',
];

/** Per-word masks of a feature list. */
export function wordMasks(names: readonly string[]): number[] {
  const masks = new Array<number>(NCAPINTS).fill(0);
  for (const name of names) {
    const index = featureIndex(name);
    const word = Math.floor(index / 32);
    masks[word] = (masks[word]! | (1 << index % 32)) >>> 0;
  }
  return masks;
}
