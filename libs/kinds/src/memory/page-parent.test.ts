import t from 'tap';
import { PE_PARENT, PE_PRESENT } from '@criu-ts/images';
import { intersect, normalize, splitRuns, subtract } from './page-parent.js';

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
