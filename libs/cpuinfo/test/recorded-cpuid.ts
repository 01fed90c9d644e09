// Test support: CPUID leaves recorded on an AMD EPYC (family 0x1a) VM with
// the native cpuid reader, served by a fake CpuidReader, and small helpers to
// doctor a CpuFeatures.
import type { CpuFeatures, CpuidReader, CpuidRegs } from '../src/index.js';
import { featureIndex } from '../src/index.js';

export const AMD_EPYC_LEAVES = `
0x00000000 0x00000000 0x0000001c 0x68747541 0x444d4163 0x69746e65
0x80000000 0x00000000 0x80000021 0x68747541 0x444d4163 0x69746e65
0x0000000d 0x00000000 0x000000e7 0x00000980 0x00000980 0x00000000
0x80000002 0x00000000 0x20444d41 0x43595045 0x00000000 0x00000000
0x80000003 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
0x80000004 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
0x00000001 0x00000000 0x00b00f21 0x01020800 0xfffa3203 0x178bfbff
0x00000006 0x00000000 0x00000004 0x00000000 0x00000000 0x00000000
0x00000007 0x00000000 0x00000001 0xf1bf07ab 0x00405fc6 0x00000110
0x0000000d 0x00000001 0x0000000f 0x000009a8 0x00001800 0x00000000
0x0000000f 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
0x0000000f 0x00000001 0x00000000 0x00000000 0x00000000 0x00000000
0x80000001 0x00000000 0x00b00f21 0x40000000 0x004003f3 0x2fd3fbff
0x80000007 0x00000000 0x00000000 0x00000000 0x00000000 0x00000100
0x8000000a 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
0x80000008 0x00000000 0x00303030 0x50020005 0x00007001 0x00000000
`;

/** A reader answering from recorded lines (zeros for leaves not recorded), with overrides. */
export function recordedReader(text: string, overrides: Record<string, Partial<CpuidRegs>> = {}): CpuidReader {
  const table = new Map<string, CpuidRegs>();
  for (const line of text.trim().split('\n')) {
    const [leaf, sub, eax, ebx, ecx, edx] = line.trim().split(/\s+/).map((w) => Number.parseInt(w, 16));
    table.set(`${leaf}:${sub}`, { eax: eax!, ebx: ebx!, ecx: ecx!, edx: edx! });
  }
  return (queries) =>
    queries.map((q) => {
      const key = `${q.leaf}:${q.subleaf}`;
      return { eax: 0, ebx: 0, ecx: 0, edx: 0, ...table.get(key), ...overrides[key] };
    });
}

/** A copy of `cpu` with named features switched on or off. */
export function withFeatures(cpu: CpuFeatures, on: readonly string[], off: readonly string[] = []): CpuFeatures {
  const capability = [...cpu.capability];
  const set = (name: string, value: boolean): void => {
    const i = featureIndex(name);
    const word = Math.floor(i / 32);
    capability[word] = (value ? capability[word]! | (1 << i % 32) : capability[word]! & ~(1 << i % 32)) >>> 0;
  };
  on.forEach((name) => set(name, true));
  off.forEach((name) => set(name, false));
  return { ...cpu, capability };
}
