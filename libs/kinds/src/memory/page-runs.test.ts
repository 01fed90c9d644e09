import t from 'tap';
import { appendMerged, countMapped, privateRuns, wholeRun } from './page-runs.js';
import { batches } from './page-copy.js';

const PRESENT = 1n << 63n;
const SWAPPED = 1n << 62n;
const FILE = 1n << 61n;
const ZERO_PFN = 0x1234n;

function entries(...e: bigint[]): BigUint64Array {
  return BigUint64Array.from(e);
}

t.test('private runs skip absent and zero pages, keep swapped ones', async (t) => {
  const e = entries(PRESENT | 5n, PRESENT | 6n, 0n, PRESENT | ZERO_PFN, SWAPPED | 3n, PRESENT | 9n, 0n);
  const { runs, counts } = privateRuns(e, 0x10000n, { zeroPfn: ZERO_PFN, skipFilePages: false });
  t.same(runs, [{ vaddr: 0x10000n, pages: 2 }, { vaddr: 0x14000n, pages: 2 }]);
  t.same(counts, { scanned: 7, zero: 1 });
});

t.test('private file mappings leave page-cache pages out', async (t) => {
  const e = entries(PRESENT | FILE | 5n, PRESENT | 6n, PRESENT | FILE | 7n);
  t.same(privateRuns(e, 0n, { zeroPfn: ZERO_PFN, skipFilePages: true }).runs, [{ vaddr: 0x1000n, pages: 1 }]);
  t.same(privateRuns(e, 0n, { zeroPfn: ZERO_PFN, skipFilePages: false }).runs, [{ vaddr: 0n, pages: 3 }], 'kept and merged when not a file mapping');
});

t.test('merging and whole runs', async (t) => {
  const out = wholeRun(0x2000n, 0x4000n);
  appendMerged(out, [{ vaddr: 0x4000n, pages: 1 }, { vaddr: 0x8000n, pages: 1 }]);
  t.same(out, [{ vaddr: 0x2000n, pages: 3 }, { vaddr: 0x8000n, pages: 1 }]);
  t.equal(countMapped(entries(PRESENT, 0n, SWAPPED, PRESENT | FILE)), 3);
});

t.test('batches split runs at the buffer size', async (t) => {
  const got = [...batches([{ vaddr: 0n, pages: 3 }, { vaddr: 0x10000n, pages: 2 }], 8192)];
  t.same(got, [
    [{ addr: 0n, len: 8192 }],
    [{ addr: 0x2000n, len: 4096 }, { addr: 0x10000n, len: 4096 }],
    [{ addr: 0x11000n, len: 4096 }],
  ]);
});
