// cpuinfo.img: one cpuinfo_entry holding one cpuinfo_x86_entry, as CRIU
// writes it (capability_ver 2, 19 words, XSAVE mask and sizes). Reading
// accepts version 1 images (12 words; the newer words are taken from the
// running CPU, as CRIU does) and images without the XSAVE fields.
import { CriuError, ImageError } from '@criu-ts/base';
import { CpuinfoX86EntryVendor, imagePath, readOne, writeEntries, type CpuinfoEntry, type CpuinfoX86Entry } from '@criu-ts/images';
import { readCpuFeatures, type CpuFeatures } from './cpu-features.js';
import { CAPABILITY_VERSION, CAPABILITY_WORDS, NCAPINTS } from './feature-words.js';

/** The image message describing `features`. */
export function cpuinfoEntry(features: CpuFeatures): CpuinfoEntry {
  const x86: CpuinfoX86Entry = {
    vendor_id: features.vendor === 'intel' ? CpuinfoX86EntryVendor.INTEL : CpuinfoX86EntryVendor.AMD,
    cpu_family: features.family,
    model: features.model,
    stepping: features.stepping,
    capability_ver: CAPABILITY_VERSION,
    capability: [...features.capability],
    xfeatures_mask: features.xfeaturesMask,
    xsave_size: features.xsaveSize,
    xsave_size_max: features.xsaveSizeMax,
  };
  if (features.modelId !== '') x86.model_id = features.modelId;
  return { x86_entry: [x86] };
}

/** Writes dir/cpuinfo.img for `features` (this CPU by default; 0600, fsynced); returns its path. */
export function writeCpuinfoImage(dir: string, features: CpuFeatures = readCpuFeatures()): string {
  return writeEntries(dir, 'cpuinfo', [cpuinfoEntry(features)]);
}

function bad(dir: string, message: string): ImageError {
  return new ImageError(message, { image: imagePath(dir, 'cpuinfo'), offset: 0 });
}

/**
 * The CPU an image describes. `current` fills what older images lack
 * (words 12-18 of a version 1 image, missing XSAVE fields).
 */
export function cpuFeaturesFromEntry(entry: CpuinfoEntry, current: CpuFeatures, dir = '.'): CpuFeatures {
  const entries = entry.x86_entry ?? [];
  if (entries.length !== 1) throw bad(dir, `expected one x86 cpuinfo entry, found ${entries.length} (not an x86 image, or corrupted)`);
  const x86 = entries[0]!;
  if (x86.vendor_id !== CpuinfoX86EntryVendor.INTEL && x86.vendor_id !== CpuinfoX86EntryVendor.AMD) {
    throw bad(dir, `unknown CPU vendor ${x86.vendor_id} in the image`);
  }
  const words = CAPABILITY_WORDS[x86.capability_ver];
  if (words === undefined) throw bad(dir, `unknown capability version ${x86.capability_ver}`);
  const capability = x86.capability ?? [];
  if (capability.length !== words) throw bad(dir, `capability version ${x86.capability_ver} needs ${words} words, the image has ${capability.length}`);
  return {
    vendor: x86.vendor_id === CpuinfoX86EntryVendor.INTEL ? 'intel' : 'amd',
    family: x86.cpu_family,
    model: x86.model,
    stepping: x86.stepping,
    modelId: x86.model_id ?? '',
    capability: [...capability.map((w) => w >>> 0), ...current.capability.slice(words, NCAPINTS)],
    xfeaturesMask: x86.xfeatures_mask ?? current.xfeaturesMask,
    xsaveSize: x86.xsave_size ?? current.xsaveSize,
    xsaveSizeMax: x86.xsave_size_max ?? current.xsaveSizeMax,
  };
}

/** Reads dir/cpuinfo.img; a missing image is a CriuError naming it. */
export function readCpuinfoImage(dir: string, current: CpuFeatures): CpuFeatures {
  let entry: CpuinfoEntry;
  try {
    entry = readOne(dir, 'cpuinfo');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      throw new CriuError(`no cpuinfo image ${imagePath(dir, 'cpuinfo')}`, {
        code: 'ENOENT',
        hint: 'dump with --cpu-cap (or run criu cpuinfo dump) to write it, or restore with --cpu-cap=none',
        cause: error,
      });
    }
    throw error;
  }
  return cpuFeaturesFromEntry(entry, current, dir);
}
