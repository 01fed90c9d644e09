// Options of `criu cpuinfo dump|check` (criu(8) "cpuinfo dump", "cpuinfo check").
// --cpu-cap follows criu: fpu,ins unless given; a bare --cpu-cap is all;
// `check` with no caps at all (--cpu-cap=none) checks everything.
import { cpuCapOption, type OptionValues } from '@criu-ts/cli';

export const cpuinfoOptions = {
  'cpu-cap': cpuCapOption('CPU capabilities check compares'),
} as const;

export type CpuinfoOptions = OptionValues<typeof cpuinfoOptions>;
