// --cpu-cap [cap[,cap...]] as criu(8) defines it. Caps: fpu (compatible
// FPU/XSAVE frames), ins (every instruction-set feature of the image is
// here), cpu (capability words match exactly), all (the three), none
// (nothing: no image on dump, no check on restore). '^' inverts the cap
// it precedes (each '^' toggles; ',' resets). Without --cpu-cap the caps
// are fpu,ins but no image is written or checked (criu's default); giving
// --cpu-cap with anything but none also turns the image on; a bare
// --cpu-cap means all.

export interface CpuCaps {
  fpu: boolean;
  ins: boolean;
  cpu: boolean;
  /** dump writes cpuinfo.img, restore checks it */
  image: boolean;
}

export const CPU_CAP_NAMES = ['fpu', 'ins', 'cpu', 'all', 'none'] as const;

/** No --cpu-cap given: fpu and ins, no image (criu(8): "by default ... fpu and ins"). */
export const CPU_CAP_DEFAULT: Readonly<CpuCaps> = { fpu: true, ins: true, cpu: false, image: false };
export const CPU_CAP_NONE: Readonly<CpuCaps> = { fpu: false, ins: false, cpu: false, image: false };
export const CPU_CAP_ALL: Readonly<CpuCaps> = { fpu: true, ins: true, cpu: true, image: true };

const anyCap = (caps: CpuCaps): boolean => caps.fpu || caps.ins || caps.cpu;

function applyWord(caps: CpuCaps, word: string, inverse: boolean): CpuCaps {
  if (word === 'none') return inverse ? { ...CPU_CAP_ALL, image: false } : { ...CPU_CAP_NONE };
  const single = (['fpu', 'ins', 'cpu'] as const).find((key) => key === word);
  const keys = word === 'all' ? (['fpu', 'ins', 'cpu'] as const) : single === undefined ? undefined : [single];
  if (keys === undefined) throw new Error(`unknown CPU capability '${word}' (expected ${CPU_CAP_NAMES.join(', ')})`);
  const next = { ...caps };
  for (const key of keys) next[key] = !inverse;
  return next;
}

/**
 * Applies one --cpu-cap argument on top of `previous` (occurrences
 * accumulate, as in criu). `text` undefined is the bare option: all.
 * Throws an Error naming the bad word.
 */
export function parseCpuCap(text: string | undefined, previous: Readonly<CpuCaps> = CPU_CAP_DEFAULT): CpuCaps {
  if (text === undefined) return { ...CPU_CAP_ALL };
  let caps: CpuCaps = { ...previous };
  for (const item of text.split(',')) {
    const word = item.replace(/^\^+/, '');
    if (word === '') throw new Error(`empty CPU capability in '${text}'`);
    caps = applyWord(caps, word, (item.length - word.length) % 2 === 1);
  }
  return { ...caps, image: caps.image || anyCap(caps) };
}

/** "fpu,ins" — the caps that are on, for messages. */
export function formatCpuCaps(caps: Readonly<CpuCaps>): string {
  const on = (['fpu', 'ins', 'cpu'] as const).filter((key) => caps[key]);
  return on.length === 0 ? 'none' : on.join(',');
}

/** `criu cpuinfo check` with no caps at all checks everything (as criu does). */
export function capsForCpuinfoCheck(caps: Readonly<CpuCaps>): CpuCaps {
  return anyCap(caps) ? { ...caps } : { ...CPU_CAP_ALL };
}
