// Turning pagemap entries into runs of pages to dump. The loop works on the
// 32-bit halves of each entry (no BigInt per page): flags live in the high
// word, and a PFN is the low word plus the high word's low 23 bits.
import { PAGE_SIZE } from './pagemap.js';

export interface PageRun {
  /** address of the first page */
  start: bigint;
  pages: number;
  /** bit 63: present in RAM */
  present: boolean;
  /** bit 62: swapped out */
  swapped: boolean;
  /** bit 61: file page or shared anonymous */
  file: boolean;
  /** bit 56: mapped by this process only */
  exclusive: boolean;
  /** bit 55: soft-dirty (always false on this kernel) */
  softDirty: boolean;
}

export interface RunOptions {
  /** the zero page's PFN (readZeroPagePfn): present pages mapped to it are skipped */
  zeroPfn?: bigint;
}

const HI_PRESENT = 0x80000000;
const HI_SWAPPED = 0x40000000;
const HI_FILE = 0x20000000;
const HI_EXCLUSIVE = 0x01000000;
const HI_SOFT_DIRTY = 0x00800000;
const HI_FLAGS = HI_PRESENT | HI_SWAPPED | HI_FILE | HI_EXCLUSIVE | HI_SOFT_DIRTY;
const HI_PFN = 0x007fffff;

function makeRun(start: bigint, first: number, pages: number, hi: number): PageRun {
  return {
    start: start + BigInt(first) * PAGE_SIZE,
    pages,
    present: (hi & HI_PRESENT) !== 0,
    swapped: (hi & HI_SWAPPED) !== 0,
    file: (hi & HI_FILE) !== 0,
    exclusive: (hi & HI_EXCLUSIVE) !== 0,
    softDirty: (hi & HI_SOFT_DIRTY) !== 0,
  };
}

/** Swap type of a PTE marker (SWP_PTE_MARKER: the last of the 5-bit types). */
const SWP_PTE_MARKER = 31;

/**
 * A pte marker, not a page: userfaultfd-WP leaves them on unpopulated ptes
 * it protects, and pagemap shows them as swapped with swap type 31 (the low
 * 5 bits of the frame field, visible to CAP_SYS_ADMIN). No data behind it.
 */
function isMarker(lo: number, hi: number): boolean {
  return (hi & (HI_PRESENT | HI_SWAPPED)) === HI_SWAPPED && (lo & 0x1f) === SWP_PTE_MARKER;
}

/**
 * Maximal runs of pages that are present or swapped (pte markers are neither), split wherever the
 * flags change, leaving out pages mapped to the zero page. `entries` are
 * the pagemap entries for the pages from `startAddr` on (little-endian, as
 * on x86_64).
 */
export function presentRuns(entries: BigUint64Array, startAddr: bigint, options: RunOptions = {}): PageRun[] {
  const words = new Uint32Array(entries.buffer, entries.byteOffset, entries.length * 2);
  const zero = options.zeroPfn;
  // -1 never equals a u32, so without a zero PFN nothing is skipped
  const zeroLo = zero === undefined ? -1 : Number(zero & 0xffffffffn);
  const zeroHi = zero === undefined ? -1 : Number(zero >> 32n);
  const isZero = (i: number): boolean =>
    (words[2 * i] === zeroLo && (words[2 * i + 1] & (HI_PFN | HI_SWAPPED)) === zeroHi) || isMarker(words[2 * i]!, words[2 * i + 1]!);
  const runs: PageRun[] = [];
  const n = entries.length;
  let i = 0;
  while (i < n) {
    const hi = words[2 * i + 1];
    if ((hi & (HI_PRESENT | HI_SWAPPED)) === 0 || isZero(i)) {
      i++;
      continue;
    }
    const key = hi & HI_FLAGS;
    let j = i + 1;
    while (j < n && (words[2 * j + 1] & HI_FLAGS) === key && !isZero(j)) j++;
    runs.push(makeRun(startAddr, i, j - i, hi));
    i = j;
  }
  return runs;
}
