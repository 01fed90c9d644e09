// --cpu-cap [cap[,cap...]] from criu(8): which CPU capabilities dump writes
// to the cpuinfo image and restore checks. Occurrences accumulate, as in
// criu: each one sets (or, after '^', clears) bits on top of the previous.
import type { OptionSpec } from './option-spec.js';

export interface CpuCap {
  /** FPU frame format compatible (xsave features) */
  fpu: boolean;
  /** instruction set compatible */
  ins: boolean;
  /** every CPU capability matches exactly */
  cpu: boolean;
  /** produce (dump) or require (restore) the cpuinfo image */
  image: boolean;
}

export const cpuCapNames = ['fpu', 'ins', 'cpu', 'all', 'none'] as const;

const none: CpuCap = { fpu: false, ins: false, cpu: false, image: false };
const all: CpuCap = { fpu: true, ins: true, cpu: true, image: false };

function apply(cap: CpuCap, word: string, inverse: boolean): CpuCap {
  if (word === 'none') return inverse ? { ...all } : { ...none };
  const bits = word === 'all' ? all : word === 'fpu' || word === 'ins' || word === 'cpu' ? { ...none, [word]: true } : undefined;
  if (bits === undefined) throw new Error(`unknown CPU capability '${word}' (expected ${cpuCapNames.join(', ')})`);
  const next = { ...cap };
  for (const key of ['fpu', 'ins', 'cpu'] as const) if (bits[key]) next[key] = !inverse;
  return next;
}

/** Apply one --cpu-cap argument ("fpu,^ins", "all", "none", ...) to `previous`. */
export function parseCpuCap(previous: CpuCap, raw: string): CpuCap {
  let cap = previous;
  for (const item of raw.split(',')) {
    const word = item.replace(/^\^+/, '');
    const inverse = (item.length - word.length) % 2 === 1;
    cap = apply(cap, word, inverse);
  }
  const any = cap.fpu || cap.ins || cap.cpu;
  return { ...cap, image: any };
}

export function cpuCapOption(describe: string, initial: CpuCap): OptionSpec<CpuCap> {
  return {
    kind: 'optional-value',
    describe: `${describe} (${cpuCapNames.join(', ')}; ^ inverts; no argument means all)`,
    argName: 'CAP[,CAP...]',
    bare: 'all',
    initial,
    reduce: parseCpuCap,
  };
}
