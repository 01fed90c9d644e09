import t from 'tap';
import { mkdtempSync, readFileSync, readSync, closeSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPagemap, openPagemap, openPagesImage, PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT } from './pagemap.js';
import { readImageEntries, writeEntries } from './image-files.js';

const dir = mkdtempSync(join(tmpdir(), 'images-pagemap-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const page = (fill: number, pages = 1): Buffer => Buffer.alloc(pages * PAGE_SIZE, fill);

t.test('runs and page data round-trip, with offsets into pages-N.img', async (t) => {
  const writer = createPagemap(dir, 42, 7);
  t.equal(writer.appendRun({ vaddr: 0x400000n, nrPages: 2, flags: PE_PRESENT, data: page(1, 2) }), undefined);
  t.equal(writer.appendRun({ vaddr: 0x7f0000000000n, nrPages: 3, flags: PE_PARENT }), undefined, 'parent runs have no data here');
  const slot = writer.appendRun({ vaddr: 0xfffffffffffff000n, nrPages: 1, flags: PE_PRESENT });
  t.strictSame(slot && { offset: slot.offset, length: slot.length }, { offset: 2 * PAGE_SIZE, length: PAGE_SIZE });
  if (slot !== undefined) writeSync(slot.fd, page(3), 0, slot.length, slot.offset);
  writer.appendRun({ vaddr: 0x500000n, nrPages: 4, flags: PE_LAZY });
  writer.appendRun({ vaddr: 0x600000n, nrPages: 1, flags: PE_PRESENT, data: page(4) });
  writer.close();

  const reader = openPagemap(dir, 42);
  t.equal(reader.pagesId, 7);
  const runs = [...reader];
  reader.close();
  t.strictSame(runs, [
    { vaddr: 0x400000n, nrPages: 2, flags: PE_PRESENT, pagesOffset: 0 },
    { vaddr: 0x7f0000000000n, nrPages: 3, flags: PE_PARENT },
    { vaddr: 0xfffffffffffff000n, nrPages: 1, flags: PE_PRESENT, pagesOffset: 2 * PAGE_SIZE },
    { vaddr: 0x500000n, nrPages: 4, flags: PE_LAZY },
    { vaddr: 0x600000n, nrPages: 1, flags: PE_PRESENT, pagesOffset: 3 * PAGE_SIZE },
  ]);
  t.strictSame(readFileSync(join(dir, 'pages-7.img')), Buffer.concat([page(1, 2), page(3), page(4)]));
  const fd = openPagesImage(dir, 7);
  t.teardown(() => closeSync(fd));
  const buf = Buffer.alloc(PAGE_SIZE);
  readSync(fd, buf, 0, PAGE_SIZE, runs[4]?.pagesOffset ?? 0);
  t.strictSame(buf, page(4), 'offset leads to the run data');
});

t.test('both page-count fields are written; either is read', async (t) => {
  const writer = createPagemap(dir, 1, 1);
  writer.appendRun({ vaddr: 0x1000n, nrPages: 5, flags: PE_PRESENT, data: page(9, 5) });
  writer.close();
  const [, entry] = readImageEntries(join(dir, 'pagemap-1.img'));
  t.equal(entry?.message.compat_nr_pages, 5, 'field 2 (CRIU 3.x nr_pages)');
  t.equal(entry?.message.nr_pages, 5n, 'field 5 (CRIU 4.x nr_pages)');

  writeEntries(dir, 'pagemap', [{ pages_id: 3 }, { vaddr: 0x2000n, compat_nr_pages: 6, flags: PE_PRESENT }, { vaddr: 0x9000n, compat_nr_pages: 1, in_parent: true }], 2);
  const old = openPagemap(dir, 2);
  t.strictSame([...old], [
    { vaddr: 0x2000n, nrPages: 6, flags: PE_PRESENT, pagesOffset: 0 },
    { vaddr: 0x9000n, nrPages: 1, flags: PE_PARENT },
  ], 'a 3.x entry: count from field 2, flags from in_parent when absent');
  old.close();
});

t.test('a hostile pagemap: each bad run is an ImageError naming the image and the entry', async (t) => {
  const bad = [
    { run: { vaddr: 0x400001n, nrPages: 1, flags: PE_PRESENT }, message: /address not page aligned/ },
    { run: { vaddr: 0x400000n, nrPages: 0, flags: PE_PRESENT }, message: /bad page count/ },
    { run: { vaddr: 0xfffffffffffff000n, nrPages: 2, flags: PE_PRESENT }, message: /past the end of the address space/ },
    { run: { vaddr: 0x400000n, nrPages: 2 ** 41, flags: PE_PARENT }, message: /bad page count/ },
  ];
  for (const [i, { run, message }] of bad.entries()) {
    const id = 100 + i;
    const writer = createPagemap(dir, id, id);
    writer.appendRun({ vaddr: 0x1000n, nrPages: 1, flags: PE_PRESENT, data: page(9) });
    writer.appendRun(run);
    writer.close();
    const reader = openPagemap(dir, id);
    t.throws(() => [...reader], { name: 'ImageError', image: `pagemap-${id}.img`, message }, message.source);
    reader.close();
  }
});
