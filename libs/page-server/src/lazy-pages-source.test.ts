// What a lazy page server answers PS_IOV_GET with: the pages of a lazy run,
// from the pages image or from a live task, clamped at the run's end;
// anything else is refused.
import t from 'tap';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PE_LAZY, PE_PRESENT, createPagemap } from '@criu-ts/images';
import { bufferAddress } from '@criu-ts/kernel';
import { frozenTaskLazyPages, imagesLazyPages } from './lazy-pages-source.js';

const P = 4096;

function pattern(pages: number, seed: number): Buffer {
  const buf = Buffer.alloc(pages * P);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return buf;
}

t.test('from the images: the asked pages, fewer at a run end, refused outside lazy runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-src-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const eager = pattern(1, 1);
  const lazy = pattern(8, 2);
  const writer = createPagemap(dir, 7, 1);
  const a = writer.appendRun({ vaddr: 0x10000n, nrPages: 1, flags: PE_PRESENT })!;
  writeSync(a.fd, eager, 0, eager.length, a.offset);
  const b = writer.appendRun({ vaddr: 0x20000n, nrPages: 8, flags: PE_PRESENT | PE_LAZY })!;
  writeSync(b.fd, lazy, 0, lazy.length, b.offset);
  writer.close();
  const source = imagesLazyPages(dir);
  t.teardown(() => source.close());
  t.ok(source.get(7, 0x22000n, 2).equals(lazy.subarray(2 * P, 4 * P)), 'two pages from the middle');
  t.equal(source.get(7, 0x26000n, 100).length, 2 * P, 'clamped at the run end');
  t.throws(() => source.get(7, 0x10000n, 1), /no lazy pages at 0x10000/, 'an eager run is not served');
  t.throws(() => source.get(7, 0x22001n, 1), /no lazy pages/, 'an unaligned address is refused');
  t.throws(() => source.get(8, 0x20000n, 1), /pagemap-8\.img|ENOENT|no such/i, 'an unknown pid names what is missing');
});

t.test('from a live task: the bytes its memory holds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-src-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const area = Buffer.alloc(6 * P);
  const addr = bufferAddress(area);
  const start = (addr + BigInt(P - 1)) & ~BigInt(P - 1);
  const skip = Number(start - addr);
  pattern(4, 3).copy(area, skip);
  const writer = createPagemap(dir, process.pid, 1);
  writer.appendRun({ vaddr: start, nrPages: 4, flags: PE_LAZY });
  writer.close();
  const got = frozenTaskLazyPages(dir).get(process.pid, start + BigInt(P), 3);
  t.ok(got.equals(area.subarray(skip + P, skip + 4 * P)), 'three pages read from the task');
});
