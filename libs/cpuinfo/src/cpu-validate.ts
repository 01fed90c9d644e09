// The entry points dump, restore and criu-cpuinfo call: write the image
// when the caps ask for one, and refuse to restore on a CPU the image's
// tasks cannot run on, naming what is missing.
import { CriuError, type Logger } from '@criu-ts/base';
import { checkCpuinfo, type CpuCheck } from './compat.js';
import { capsForCpuinfoCheck, formatCpuCaps, type CpuCaps } from './cpu-cap.js';
import { readCpuFeatures, type CpuFeatures } from './cpu-features.js';
import { readCpuinfoImage, writeCpuinfoImage } from './cpuinfo-image.js';

export interface CpuinfoOptions {
  /** this CPU; read with the native helper when absent */
  current?: CpuFeatures;
  log?: Logger;
}

/** Dump: writes dir/cpuinfo.img if caps.image; returns the path written, if any. */
export function dumpCpuinfo(dir: string, caps: Readonly<CpuCaps>, options: CpuinfoOptions = {}): string | undefined {
  if (!caps.image) return undefined;
  const path = writeCpuinfoImage(dir, options.current ?? readCpuFeatures());
  options.log?.info(`cpu: wrote ${path}`);
  return path;
}

/** Compares dir/cpuinfo.img with this CPU under caps (no caps at all = every cap, as `criu cpuinfo check`). */
export function compareCpuinfo(dir: string, caps: Readonly<CpuCaps>, options: CpuinfoOptions = {}): CpuCheck {
  const current = options.current ?? readCpuFeatures();
  return checkCpuinfo(readCpuinfoImage(dir, current), current, capsForCpuinfoCheck(caps));
}

/** The CriuError for a failed check: every difference, and how to override. */
export function cpuMismatchError(check: CpuCheck, caps: Readonly<CpuCaps>): CriuError {
  const lines = check.differences.map((d) => `  ${d.message}`).join('\n');
  return new CriuError(`this CPU cannot run the dumped tasks (--cpu-cap=${formatCpuCaps(caps)}):\n${lines}`, {
    code: 'ECPUCAP',
    hint: 'restore with --cpu-cap=none to skip this check (the tasks may crash on a missing instruction)',
  });
}

/** Restore: if caps.image, throws cpuMismatchError unless this CPU can run the image's tasks. */
export function validateCpuinfo(dir: string, caps: Readonly<CpuCaps>, options: CpuinfoOptions = {}): void {
  if (!caps.image) return;
  const check = compareCpuinfo(dir, caps, options);
  if (!check.ok) throw cpuMismatchError(check, caps);
  options.log?.info(`cpu: this CPU is compatible with the image (${formatCpuCaps(caps)})`);
}
