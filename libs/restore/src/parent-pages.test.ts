import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAGE_SIZE, PE_PARENT, PE_PRESENT, createPagemap } from '@criu-ts/images';
import { clipRuns, resolveChain } from './parent-pages.js';

const P = BigInt(PAGE_SIZE);
const root = mkdtempSync(join(tmpdir(), 'restore-parent-pages-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** An images dir with pagemap-7.img holding the runs (present ones get data). */
function level(name: string, parent: string | undefined, runs: { at: number; pages: number; flags: number }[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  if (parent !== undefined) symlinkSync(`../${parent}`, join(dir, 'parent'));
  const writer = createPagemap(dir, 7, 1);
  for (const run of runs) {
    const data = run.flags === PE_PRESENT ? Buffer.alloc(run.pages * PAGE_SIZE, run.at) : undefined;
    writer.appendRun({ vaddr: BigInt(run.at) * P, nrPages: run.pages, flags: run.flags, data });
  }
  writer.close();
  return dir;
}

t.test('clipRuns keeps data offsets', async (t) => {
  const runs = [{ vaddr: 0n, nrPages: 4, flags: PE_PRESENT, pagesOffset: 8192 }];
  t.strictSame(clipRuns(runs, [{ start: P, end: 3n * P }]), [{ vaddr: P, nrPages: 2, flags: PE_PRESENT, pagesOffset: 8192 + PAGE_SIZE }]);
});

t.test('a chain of three: each page from the level that holds it', async (t) => {
  level('a', undefined, [{ at: 0, pages: 8, flags: PE_PRESENT }]);
  level('b', 'a', [{ at: 0, pages: 2, flags: PE_PARENT }, { at: 2, pages: 2, flags: PE_PRESENT }, { at: 4, pages: 4, flags: PE_PARENT }]);
  const c = level('c', 'b', [{ at: 0, pages: 3, flags: PE_PARENT }, { at: 3, pages: 1, flags: PE_PRESENT }, { at: 4, pages: 4, flags: PE_PARENT }]);
  const chain = resolveChain(c, 7);
  t.strictSame(chain.map((l) => l.dir), [c, join(c, 'parent'), join(c, 'parent', 'parent')]);
  t.strictSame(chain[0]!.runs.map((r) => [Number(r.vaddr / P), r.nrPages, r.pagesOffset]), [[3, 1, 0]]);
  t.strictSame(chain[1]!.runs.map((r) => [Number(r.vaddr / P), r.nrPages, r.pagesOffset]), [[2, 1, 0]], 'b: page 2 only (3 is in c)');
  t.strictSame(chain[2]!.runs.map((r) => [Number(r.vaddr / P), r.nrPages, r.pagesOffset]), [[0, 2, 0], [4, 4, 4 * PAGE_SIZE]]);
});

t.test('pages the chain does not hold are an image error', async (t) => {
  level('x', undefined, [{ at: 0, pages: 2, flags: PE_PRESENT }]);
  const y = level('y', 'x', [{ at: 0, pages: 4, flags: PE_PARENT }]);
  t.throws(() => resolveChain(y, 7), /pages at 0x2000 are in no image of the parent chain/);
  const z = level('z', undefined, [{ at: 0, pages: 1, flags: PE_PARENT }]);
  t.throws(() => resolveChain(z, 7), /in a parent image, but .*parent has no pagemap of pid 7/);
});
