import t from 'tap';
import { PE_LAZY, PE_PRESENT } from '@criu-ts/images';
import { appendMerged, canBeLazy, countMapped, markLazy, privateRuns, runFlags, wholeRun } from './page-runs.js';
import { VMA } from './vma-flags.js';
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

t.test('lazy runs: private anonymous memory but the stack pages, as upstream flags them', async (t) => {
  const PG = 0x1000n;
  const runs = [{ vaddr: 0x10000n, pages: 8 }, { vaddr: 0x20000n, pages: 2 }];
  const marked = markLazy(runs, [0x13000n, 0x13000n, 0x17000n, 0x20000n, 0x90000n]);
  t.same(marked, [
    { vaddr: 0x10000n, pages: 3, lazy: true },
    { vaddr: 0x13000n, pages: 1 },
    { vaddr: 0x14000n, pages: 3, lazy: true },
    { vaddr: 0x17000n, pages: 1 },
    { vaddr: 0x20000n, pages: 1 },
    { vaddr: 0x20000n + PG, pages: 1, lazy: true },
  ], 'each stack page is a run of its own, not lazy; pages elsewhere are ignored');
  t.same(markLazy(runs, []), runs.map((r) => ({ ...r, lazy: true })));
  const merged: { vaddr: bigint; pages: number; lazy?: boolean }[] = [];
  appendMerged(merged, [{ vaddr: 0x10000n, pages: 1, lazy: true }, { vaddr: 0x11000n, pages: 1 }, { vaddr: 0x12000n, pages: 1 }, { vaddr: 0x13000n, pages: 2, lazy: true }]);
  t.same(merged, [{ vaddr: 0x10000n, pages: 1, lazy: true }, { vaddr: 0x11000n, pages: 2 }, { vaddr: 0x13000n, pages: 2, lazy: true }], 'lazy and eager runs are not merged');
  t.equal(runFlags({ vaddr: 0n, pages: 1, lazy: true }), PE_LAZY | PE_PRESENT);
  t.equal(runFlags({ vaddr: 0n, pages: 1 }), PE_PRESENT);
  const anon = { flags: 0x22, status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE };
  t.ok(canBeLazy(anon), 'MAP_PRIVATE|MAP_ANONYMOUS');
  t.notOk(canBeLazy({ ...anon, flags: 0x02 }), 'a private file mapping');
  t.notOk(canBeLazy({ ...anon, flags: 0x21 }), 'shared anonymous');
  t.notOk(canBeLazy({ ...anon, flags: 0x2022 }), 'MAP_LOCKED');
  t.notOk(canBeLazy({ ...anon, flags: 0x40022 }), 'MAP_HUGETLB');
  t.notOk(canBeLazy({ ...anon, status: anon.status | VMA.AREA_VDSO }), 'the vDSO');
});
