import t from 'tap';
import { collectIovs, dropRange, findIov, pagesOf, pieceAt, remapRange } from './lazy-iovs.js';

const P = 4096n;
const at = (page: number): bigint => BigInt(page) * P;

t.test('runs are cut at VMA ends and what lies outside every VMA is left out', async (t) => {
  const vmas = [{ start: at(10), end: at(20) }, { start: at(20), end: at(30) }, { start: at(40), end: at(50) }];
  const iovs = collectIovs([{ vaddr: at(15), nrPages: 10 }, { vaddr: at(35), nrPages: 10 }], vmas);
  t.same(iovs, [
    { start: at(15), end: at(20), imgStart: at(15) },
    { start: at(20), end: at(25), imgStart: at(20) },
    { start: at(40), end: at(45), imgStart: at(40) },
  ]);
  t.equal(pagesOf(iovs), 15);
  t.equal(findIov(iovs, at(22) + 5n)?.start, at(20));
  t.equal(findIov(iovs, at(30)), undefined);
});

t.test('dropping a range splits the iov and keeps image addresses', async (t) => {
  const iovs = [{ start: at(0), end: at(10), imgStart: at(100) }];
  dropRange(iovs, at(3), at(5));
  t.same(iovs, [{ start: at(0), end: at(3), imgStart: at(100) }, { start: at(5), end: at(10), imgStart: at(105) }]);
  dropRange(iovs, at(0), at(10));
  t.same(iovs, []);
});

t.test('a remap moves ranges and what was at the target is gone', async (t) => {
  const iovs = [{ start: at(0), end: at(4), imgStart: at(0) }, { start: at(10), end: at(12), imgStart: at(10) }];
  remapRange(iovs, at(2), at(10), at(2));
  t.same(iovs, [{ start: at(0), end: at(2), imgStart: at(0) }, { start: at(10), end: at(12), imgStart: at(2) }]);
  t.same(pieceAt(iovs[1]!, at(11), at(8)), { start: at(11), end: at(12), imgStart: at(3) });
});
