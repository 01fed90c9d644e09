// Fuzz target for the pagemap/pages pair as restore uses it: a mutated
// pagemap-PID.img is read with PagemapReader, its runs are matched against
// the task's mappings (runsToRead) and grouped into preadv batches
// (planReads). Whatever the image says, every batch must read inside the
// mappings and inside the page data the runs account for in pages-N.img.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT, encodeEntry, encodeHeader, imageKind, openPagemap, pagemapEntry, type PageRun } from '@criu-ts/images';
import { planReads, runsToRead } from '@criu-ts/restore';
import { mutatedFrom } from './mutate.js';
import { FuzzFinding, expectImageError, type FuzzTarget } from './target.js';

interface Range {
  start: bigint;
  end: bigint;
}

function pagemapImage(pagesId: number, runs: readonly { vaddr: bigint; nrPages: number; flags: number }[]): Buffer {
  const kind = imageKind('pagemap');
  const parts: Uint8Array[] = [encodeHeader(kind), ...encodeEntry(kind, 0, { message: { pages_id: pagesId } }).parts];
  runs.forEach((run, i) => parts.push(...encodeEntry(kind, i + 1, { message: { ...pagemapEntry(run) } }).parts));
  return Buffer.concat(parts);
}

const seeds = [
  pagemapImage(1, [
    { vaddr: 0x400000n, nrPages: 2, flags: PE_PRESENT },
    { vaddr: 0x600000n, nrPages: 16, flags: PE_PRESENT },
    { vaddr: 0x7ffff000n, nrPages: 1, flags: PE_PRESENT },
  ]),
  pagemapImage(3, [
    { vaddr: 0x10000n, nrPages: 1, flags: PE_PARENT },
    { vaddr: 0x20000n, nrPages: 300, flags: PE_PRESENT },
    { vaddr: 0x7f0000000000n, nrPages: 4, flags: PE_LAZY | PE_PRESENT },
  ]),
];

/** Mappings at page-aligned addresses below 2^40, each up to 64 MiB. */
const mappedArbitrary = fc.array(
  fc.record({ page: fc.bigInt({ min: 0n, max: (1n << 28n) - 1n }), pages: fc.integer({ min: 1, max: 1 << 14 }) }).map(({ page, pages }) => {
    const start = page * BigInt(PAGE_SIZE);
    return { start, end: start + BigInt(pages * PAGE_SIZE) };
  }),
  { maxLength: 6 },
);

const fixedMappings: Range[] = [
  { start: 0x400000n, end: 0x800000n },
  { start: 0x10000n, end: 0x200000n },
  { start: 0x7ffff000n, end: 0x80000000n },
];

function inside(addr: bigint, len: number, ranges: readonly Range[]): boolean {
  return ranges.some((r) => addr >= r.start && addr + BigInt(len) <= r.end);
}

function checkBatches(runs: readonly PageRun[], mapped: readonly Range[], presentBytes: number): void {
  let total = 0;
  for (const batch of planReads(runs)) {
    if (batch.fileOffset < 0 || batch.fileOffset + batch.bytes > presentBytes) {
      throw new FuzzFinding(`a batch reads ${batch.bytes} bytes at ${batch.fileOffset}, past the ${presentBytes} bytes the runs hold`);
    }
    for (const iov of batch.iovecs) {
      if (!inside(iov.addr, iov.len, mapped)) throw new FuzzFinding(`a batch writes 0x${iov.addr.toString(16)}+${iov.len} outside the mappings`);
    }
    total += batch.bytes;
  }
  const expected = runs.reduce((sum, run) => sum + run.nrPages * PAGE_SIZE, 0);
  if (total !== expected) throw new FuzzFinding(`batches read ${total} bytes, the runs hold ${expected}`);
}

export function pagemapTarget(): FuzzTarget<{ bytes: Buffer; mapped: Range[] }> {
  return {
    name: 'pagemap+pages',
    weight: 4,
    arbitrary: fc.record({ bytes: mutatedFrom(seeds, { keep: 8, maxEdits: 3 }), mapped: mappedArbitrary.map((extra) => [...fixedMappings, ...extra]) }),
    check({ bytes, mapped }, scratch) {
      writeFileSync(join(scratch, 'pagemap-1.img'), bytes);
      let runs: PageRun[];
      let presentBytes: number;
      try {
        const reader = openPagemap(scratch, 1);
        try {
          runs = [...reader].filter((run) => (run.flags & PE_PRESENT) !== 0);
          presentBytes = reader.presentBytes;
        } finally {
          reader.close();
        }
        runs = runsToRead(runs, { private: mapped, shared: [], skipped: [] }, 'pagemap-1.img');
      } catch (error) {
        expectImageError(error, bytes.length);
        return 'rejected';
      }
      checkBatches(runs, mapped, presentBytes);
      return 'accepted';
    },
  };
}
