import t from 'tap';
import { PE_PARENT, PE_PRESENT } from '@criu-ts/images';
import { intersect, normalize, piecesInside, splitRuns, subtract } from './page-parent.js';

const P = 0x1000n;
const span = (a: number, b: number): { start: bigint; end: bigint } => ({ start: BigInt(a) * P, end: BigInt(b) * P });

t.test('span algebra', async (t) => {
  t.strictSame(normalize([span(5, 6), span(1, 3), span(2, 4), span(7, 7)]), [span(1, 4), span(5, 6)], 'sorted, joined, empty dropped');
  t.strictSame(intersect([span(0, 10)], [span(2, 3), span(5, 12)]), [span(2, 3), span(5, 10)]);
  t.strictSame(intersect([span(0, 2), span(4, 6)], [span(1, 5)]), [span(1, 2), span(4, 5)]);
  t.strictSame(subtract([span(0, 10)], [span(2, 3), span(5, 12)]), [span(0, 2), span(3, 5)]);
  t.strictSame(subtract([span(0, 2), span(4, 8)], [span(1, 5)]), [span(0, 1), span(5, 8)]);
  t.strictSame(subtract([span(0, 4)], []), [span(0, 4)]);
});

t.test('splitRuns: PE_PARENT inside the clean spans, PE_PRESENT elsewhere, in order', async (t) => {
  const runs = [{ vaddr: 0n, pages: 10 }, { vaddr: 20n * P, pages: 2 }];
  t.strictSame(splitRuns(runs, [span(2, 4), span(8, 21)]), [
    { vaddr: 0n, pages: 2, flags: PE_PRESENT },
    { vaddr: 2n * P, pages: 2, flags: PE_PARENT },
    { vaddr: 4n * P, pages: 4, flags: PE_PRESENT },
    { vaddr: 8n * P, pages: 2, flags: PE_PARENT },
    { vaddr: 20n * P, pages: 1, flags: PE_PARENT },
    { vaddr: 21n * P, pages: 1, flags: PE_PRESENT },
  ]);
  t.strictSame(splitRuns(runs, []), runs.map((r) => ({ ...r, flags: PE_PRESENT })), 'nothing clean: all present');
  t.strictSame(splitRuns([{ vaddr: 0n, pages: 3 }], [span(0, 100)]), [{ vaddr: 0n, pages: 3, flags: PE_PARENT }], 'all clean');
});

t.test('piecesInside: one walk, pieces with their offset into the run', async (t) => {
  const runs = [{ vaddr: 0n, nrPages: 4 }, { vaddr: 6n * P, nrPages: 4 }];
  const got = piecesInside(runs, [span(1, 2), span(3, 7), span(9, 20)]).map((p) => [Number(p.start / P), Number(p.end / P), p.skip]);
  t.strictSame(got, [[1, 2, 1], [3, 4, 3], [6, 7, 0], [9, 10, 3]]);
  const many = Array.from({ length: 50_000 }, (_, i) => ({ vaddr: BigInt(i * 2) * P, nrPages: 1 }));
  t.equal(piecesInside(many, many.map((r) => ({ start: r.vaddr, end: r.vaddr + P }))).length, 50_000, '50k runs against 50k spans');
});
