// Which pagemap runs the restore reads: PE_PRESENT ones, with or without
// PE_LAZY (upstream CRIU 4.2 marks private anonymous pages PE_LAZY|PE_PRESENT
// in every dump, the data still in pages-N.img); lazy runs whose data is not
// in the image, and runs in a parent image, are refused.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '@criu-ts/base';
import { PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT, createPagemap } from '@criu-ts/images';
import { readRuns } from './page-fill.js';

function images(t: Test, runs: { vaddr: bigint; nrPages: number; flags: number }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-pagefill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const writer = createPagemap(dir, 7, 1);
  for (const run of runs) writer.appendRun({ ...run, data: (run.flags & PE_PRESENT) !== 0 ? Buffer.alloc(run.nrPages * PAGE_SIZE, 1) : undefined });
  writer.close();
  return dir;
}

t.test('PE_LAZY|PE_PRESENT runs are read from the pages image like PE_PRESENT ones', (t) => {
  const dir = images(t, [
    { vaddr: 0x10000n, nrPages: 2, flags: PE_PRESENT },
    { vaddr: 0x20000n, nrPages: 3, flags: PE_LAZY | PE_PRESENT },
    { vaddr: 0x30000n, nrPages: 1, flags: PE_PRESENT },
  ]);
  const { runs } = readRuns(dir, 7);
  t.same(runs.map((r) => [r.vaddr, r.nrPages, r.pagesOffset]), [[0x10000n, 2, 0], [0x20000n, 3, 2 * PAGE_SIZE], [0x30000n, 1, 5 * PAGE_SIZE]]);
  t.end();
});

t.test('lazy runs not in the image are refused; parent runs are left to the parent chain', (t) => {
  t.throws(() => readRuns(images(t, [{ vaddr: 0x10000n, nrPages: 2, flags: PE_LAZY }]), 7), UnsupportedError);
  const parent = readRuns(images(t, [{ vaddr: 0x10000n, nrPages: 2, flags: PE_PARENT }]), 7);
  t.same([parent.inParent, parent.runs.length], [true, 0], 'a PE_PARENT run holds no data here: the parent images have it');
  t.end();
});
