// Can a task dumped on the image's CPU run on this one? A pure comparison
// of two CpuFeatures under the --cpu-cap caps, listing every difference
// (criu stops at the first; we name all, so one run tells the whole story).
//   fpu: the image's fpu/fxsr/osxsave/xsaves are here, its XSAVE components
//        are a subset of ours and the XSAVE frame sizes are equal;
//   ins: every instruction-set feature of the image is here;
//   cpu: the capability words are identical.
import type { CpuCaps } from './cpu-cap.js';
import { hasFeature, type CpuFeatures } from './cpu-features.js';
import { FPU_FEATURES, INS_FEATURES, featureIndex, featureName, wordMasks } from './feature-names.js';
import { NCAPINTS, XFEATURES } from './feature-words.js';

export type DifferenceKind = 'fpu' | 'xfeatures' | 'xsave_size' | 'xsave_size_max' | 'ins' | 'cpu';

export interface CpuDifference {
  kind: DifferenceKind;
  /** one line for the user, naming what differs */
  message: string;
  /** features the image has and this CPU lacks */
  missing: string[];
  /** features this CPU has and the image lacks (cpu mode only) */
  extra: string[];
}

export interface CpuCheck {
  ok: boolean;
  differences: CpuDifference[];
}

function bitsOf(words: readonly number[]): number[] {
  const bits: number[] = [];
  for (let i = 0; i < NCAPINTS * 32; i++) if (hasFeature(words, i)) bits.push(i);
  return bits;
}

function missingIn(image: readonly number[], current: readonly number[], mask?: readonly number[]): string[] {
  const masked = (words: readonly number[]): number[] => words.map((w, i) => (mask === undefined ? w : w & (mask[i] ?? 0)) >>> 0);
  const cur = masked(current);
  return bitsOf(masked(image)).filter((bit) => !hasFeature(cur, bit)).map(featureName);
}

function xfeatureNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let i = 0n; mask >> i !== 0n; i++) if (((mask >> i) & 1n) === 1n) names.push(XFEATURES[Number(i)]?.name ?? `xfeature ${i}`);
  return names;
}

function fpuDifferences(image: CpuFeatures, current: CpuFeatures): CpuDifference[] {
  const out: CpuDifference[] = [];
  const lacking = FPU_FEATURES.filter((name) => hasFeature(image.capability, featureIndex(name)) && !hasFeature(current.capability, featureIndex(name)));
  if (lacking.length > 0) {
    out.push({ kind: 'fpu', message: `FPU feature${lacking.length > 1 ? 's' : ''} required by the image not on this CPU: ${lacking.join(', ')}`, missing: lacking, extra: [] });
  }
  const extraX = image.xfeaturesMask & ~current.xfeaturesMask;
  if (extraX !== 0n) {
    const names = xfeatureNames(extraX);
    out.push({ kind: 'xfeatures', message: `XSAVE components of the image not on this CPU (0x${extraX.toString(16)}): ${names.join(', ')}`, missing: names, extra: [] });
  }
  for (const [kind, a, b] of [['xsave_size', image.xsaveSize, current.xsaveSize], ['xsave_size_max', image.xsaveSizeMax, current.xsaveSizeMax]] as const) {
    if (a !== b) out.push({ kind, message: `XSAVE frame ${kind === 'xsave_size' ? 'size' : 'maximum size'} differs: image ${a} bytes, this CPU ${b}`, missing: [], extra: [] });
  }
  return out;
}

function insDifference(image: CpuFeatures, current: CpuFeatures): CpuDifference[] {
  const missing = missingIn(image.capability, current.capability, wordMasks(INS_FEATURES));
  if (missing.length === 0) return [];
  return [{ kind: 'ins', message: `this CPU lacks instructions the image's tasks may use: ${missing.join(', ')}`, missing, extra: [] }];
}

function cpuDifference(image: CpuFeatures, current: CpuFeatures): CpuDifference[] {
  const missing = missingIn(image.capability, current.capability);
  const extra = missingIn(current.capability, image.capability);
  if (missing.length === 0 && extra.length === 0) return [];
  const parts = [missing.length > 0 ? `missing here: ${missing.join(', ')}` : '', extra.length > 0 ? `only here: ${extra.join(', ')}` : ''];
  return [{ kind: 'cpu', message: `CPU capabilities do not match the image (${parts.filter((p) => p !== '').join('; ')})`, missing, extra }];
}

/** Compares the image's CPU with `current` under `caps`. */
export function checkCpuinfo(image: CpuFeatures, current: CpuFeatures, caps: Readonly<CpuCaps>): CpuCheck {
  const differences = [
    ...(caps.fpu ? fpuDifferences(image, current) : []),
    ...(caps.ins ? insDifference(image, current) : []),
    ...(caps.cpu ? cpuDifference(image, current) : []),
  ];
  return { ok: differences.length === 0, differences };
}
