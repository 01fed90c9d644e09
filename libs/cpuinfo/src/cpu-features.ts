// This CPU's features, computed from raw CPUID leaves the way CRIU fills
// its cpuinfo image: the capability words, vendor/family/model/stepping,
// the brand string, and the XSAVE features and frame sizes.
import { CriuError } from '@criu-ts/base';
import { nativeCpuidReader, type CpuidQuery, type CpuidReader, type CpuidRegs } from './cpuid-source.js';
import { CPUID_QUERIES, NCAPINTS, WORD_SOURCES, XFEATURES, XFEATURE_MASK_USER, feature } from './feature-words.js';

export type CpuVendor = 'intel' | 'amd';

export interface CpuFeatures {
  vendor: CpuVendor;
  family: number;
  model: number;
  stepping: number;
  /** brand string, e.g. "AMD EPYC"; '' when the CPU has none */
  modelId: string;
  /** NCAPINTS 32-bit words, bit b of word w = feature w*32+b */
  capability: number[];
  /** XSAVE state components this CPU and kernel use (XCR0 ∩ supported user features) */
  xfeaturesMask: bigint;
  /** XSAVE frame size for the enabled components */
  xsaveSize: number;
  /** XSAVE frame size if every supported component were enabled */
  xsaveSizeMax: number;
}

export const hasFeature = (words: readonly number[], index: number): boolean =>
  ((words[Math.floor(index / 32)] ?? 0) >>> index % 32) % 2 === 1;

function setFeature(words: number[], index: number, on: boolean): void {
  const word = Math.floor(index / 32);
  const bit = 1 << index % 32;
  words[word] = (on ? words[word]! | bit : words[word]! & ~bit) >>> 0;
}

type Leaves = (leaf: number, subleaf?: number) => CpuidRegs;

function leafTable(reader: CpuidReader): Leaves {
  const unique = new Map<string, CpuidQuery>(CPUID_QUERIES.map((q) => [`${q.leaf}:${q.subleaf}`, q]));
  const answers = reader([...unique.values()]);
  const byKey = new Map([...unique.keys()].map((key, i) => [key, answers[i]!]));
  return (leaf, subleaf = 0) => byKey.get(`${leaf}:${subleaf}`) ?? { eax: 0, ebx: 0, ecx: 0, edx: 0 };
}

function vendorOf(leaf0: CpuidRegs): CpuVendor {
  const id = Buffer.alloc(12);
  id.writeUInt32LE(leaf0.ebx, 0);
  id.writeUInt32LE(leaf0.edx, 4);
  id.writeUInt32LE(leaf0.ecx, 8);
  const text = id.toString('latin1');
  if (text === 'GenuineIntel') return 'intel';
  if (text === 'AuthenticAMD' || text === 'HygonGenuine') return 'amd';
  throw new CriuError(`unsupported CPU vendor '${text}' (criu knows Intel and AMD)`, { code: 'ECPUVENDOR' });
}

function brandString(leaves: Leaves, maxExtended: number): string {
  if (maxExtended < 0x80000004) return '';
  const buf = Buffer.alloc(48);
  [0x80000002, 0x80000003, 0x80000004].forEach((leaf, i) => {
    const r = leaves(leaf);
    [r.eax, r.ebx, r.ecx, r.edx].forEach((v, j) => buf.writeUInt32LE(v, i * 16 + j * 4));
  });
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? 48 : end).toString('latin1').replace(/^ +/, '');
}

function readWords(leaves: Leaves, maxBasic: number, maxExtended: number): number[] {
  const words = new Array<number>(NCAPINTS).fill(0);
  for (const source of WORD_SOURCES) {
    const max = source.leaf >= 0x80000000 ? maxExtended : maxBasic;
    if (source.leaf > max) continue;
    if (source.requires !== undefined && !hasFeature(words, source.requires)) continue;
    words[source.word] = leaves(source.leaf, source.subleaf)[source.reg] >>> 0;
  }
  return words;
}

/** The bits CRIU synthesises (Linux's early_init_intel/amd subset). */
function synthesise(words: number[], vendor: CpuVendor, family: number, maxBasic: number, leaf1Eax: number): void {
  setFeature(words, feature(3, 25), true); // cpuid
  setFeature(words, feature(3, 20), true); // nopl: always on x86-64
  if (maxBasic < 0xd) setFeature(words, feature(4, 26), false); // xsave needs leaf 0xd
  const repGood = feature(3, 16);
  if (vendor === 'intel') {
    if (family === 15) [repGood, feature(9, 9)].forEach((f) => setFeature(words, f, false));
    else if (family === 6) setFeature(words, repGood, true);
    return;
  }
  setFeature(words, feature(0, 31), false);
  if (family >= 0x10) setFeature(words, repGood, true);
  if (family === 0xf && ((leaf1Eax >= 0x0f48 && leaf1Eax < 0x0f50) || leaf1Eax >= 0x0f58)) setFeature(words, repGood, true);
}

function xsaveState(leaves: Leaves, words: readonly number[]): Pick<CpuFeatures, 'xfeaturesMask' | 'xsaveSize' | 'xsaveSizeMax'> {
  if (!hasFeature(words, feature(4, 26))) return { xfeaturesMask: 0n, xsaveSize: 0, xsaveSizeMax: 0 };
  const d0 = leaves(0xd, 0);
  let mask = BigInt(d0.eax >>> 0) | (BigInt(d0.edx >>> 0) << 32n);
  XFEATURES.forEach((x, i) => {
    if (!hasFeature(words, x.requires)) mask &= ~(1n << BigInt(i));
  });
  return { xfeaturesMask: mask & XFEATURE_MASK_USER, xsaveSize: d0.ebx >>> 0, xsaveSizeMax: d0.ecx >>> 0 };
}

/** This CPU's features; `reader` defaults to the native cpuid library (in-process). */
export function readCpuFeatures(reader: CpuidReader = nativeCpuidReader()): CpuFeatures {
  const leaves = leafTable(reader);
  const leaf0 = leaves(0);
  const vendor = vendorOf(leaf0);
  const maxBasic = leaf0.eax >>> 0;
  const maxExtended = leaves(0x80000000).eax >>> 0;
  const eax1 = maxBasic >= 1 ? leaves(1).eax >>> 0 : 0;
  let family = maxBasic >= 1 ? (eax1 >>> 8) & 0xf : 4;
  let model = (eax1 >>> 4) & 0xf;
  if (family === 0xf) family += (eax1 >>> 20) & 0xff;
  if (family >= 0x6) model += ((eax1 >>> 16) & 0xf) << 4;
  const extended = ((maxExtended & 0xffff0000) >>> 0) === 0x80000000 ? maxExtended : 0;
  const capability = readWords(leaves, maxBasic, extended);
  synthesise(capability, vendor, family, maxBasic, eax1);
  return {
    vendor,
    family,
    model,
    stepping: eax1 & 0xf,
    modelId: brandString(leaves, extended),
    capability,
    ...xsaveState(leaves, capability),
  };
}
