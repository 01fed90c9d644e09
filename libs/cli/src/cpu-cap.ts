// --cpu-cap [cap[,cap...]] from criu(8), as an option descriptor. The
// semantics (defaults, ^ inversion, bare = all, image on/off) live in
// @criu-ts/cpuinfo, which dump, restore and criu-cpuinfo all share.
import { CPU_CAP_DEFAULT, CPU_CAP_NAMES, parseCpuCap, type CpuCaps } from '@criu-ts/cpuinfo';
import type { OptionSpec } from './option-spec.js';

export type { CpuCaps } from '@criu-ts/cpuinfo';

export function cpuCapOption(describe: string): OptionSpec<CpuCaps> {
  return {
    kind: 'optional-value',
    describe: `${describe} (${CPU_CAP_NAMES.join(', ')}; ^ inverts; default fpu,ins; no argument means all)`,
    argName: 'CAP[,CAP...]',
    bare: 'all',
    initial: { ...CPU_CAP_DEFAULT },
    reduce: (previous, raw) => parseCpuCap(raw, previous),
  };
}
