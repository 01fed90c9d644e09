import t from 'tap';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageKinds, type ImageKindSpec } from './kinds.js';
import { imagePath, readEntries, readImageEntries, readOne, writeEntries, writeImage } from './image-files.js';
import { openImage } from './image-reader.js';
import { createImage } from './image-writer.js';
import { openImageStream } from './stream-reader.js';
import { kindHasSchema, sampleEntries } from './sample-image.js';
import type { EntryInput } from './entry-encode.js';
import type { ImageEntry } from './entry-steps.js';

const dir = mkdtempSync(join(tmpdir(), 'images-codec-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const kinds: ImageKindSpec[] = imageKinds.filter(kindHasSchema);

function expected(input: EntryInput): Partial<ImageEntry> {
  const out: Partial<ImageEntry> = { message: input.message };
  if (input.payload !== undefined) out.payload = Buffer.from(input.payload);
  if (input.records !== undefined) out.records = input.records;
  return out;
}

function strip(entry: ImageEntry): Partial<ImageEntry> {
  const out: Partial<ImageEntry> = { message: entry.message };
  if (entry.payload !== undefined) out.payload = entry.payload;
  if (entry.records !== undefined) out.records = entry.records;
  return out;
}

t.test('every kind with a schema round-trips through files and streams', async (t) => {
  t.ok(kinds.length >= 10, `${kinds.length} kinds`);
  for (const kind of kinds) {
    for (const seed of [0, 1]) {
      const entries = sampleEntries(kind, seed);
      const path = join(dir, `${kind.name}-${seed}.img`);
      writeImage(path, kind.name as never, entries as never);
      t.equal(statSync(path).mode & 0o777, 0o600, `${kind.name}: created 0600`);
      t.strictSame(readImageEntries(path).map(strip), entries.map(expected), `${kind.name} ${seed}: file reader`);
      const stream = await openImageStream(createReadStream(path, { highWaterMark: 7 }), kind);
      const streamed: Partial<ImageEntry>[] = [];
      for await (const entry of stream) streamed.push(strip(entry));
      t.strictSame(streamed, entries.map(expected), `${kind.name} ${seed}: stream reader`);
    }
  }
});

t.test('small readers and writers: tiny buffers, skipped payloads, payload slots', async (t) => {
  const kind = imageKinds.find((k) => k.name === 'pipes-data');
  if (kind === undefined || !kindHasSchema(kind)) {
    t.plan(0, 'no pipe_data_entry schema');
    return;
  }
  const entries = sampleEntries(kind);
  const path = join(dir, 'slots.img');
  const writer = createImage(path, kind, { bufferSize: 16 });
  for (const entry of entries) {
    const slot = writer.write({ message: entry.message });
    t.ok(slot, 'a slot for the missing payload');
    if (slot !== undefined) writeSync(slot.fd, entry.payload ?? Buffer.alloc(0), 0, slot.length, slot.offset);
  }
  writer.close();
  const small = openImage(path, kind, { bufferSize: 8 });
  t.strictSame([...small].map(strip), entries.map(expected), 'written through slots, read with an 8-byte buffer');
  small.close();
  const skipping = openImage(path, 'pipes-data', { skipPayloads: true });
  const skipped = [...skipping];
  skipping.close();
  const file = readFileSync(path);
  skipped.forEach((entry, i) => {
    t.equal(entry.payload, undefined, 'payload not loaded');
    const at = entry.payloadOffset ?? -1;
    t.strictSame(file.subarray(at, at + (entry.payloadLength ?? 0)), entries[i]?.payload, 'offset and length point at the data');
  });
});

t.test('directory helpers name files by kind and id', async (t) => {
  const path = writeEntries(dir, 'pstree', [{ pid: 7, ppid: 0, pgid: 7, sid: 7, threads: [7] }]);
  t.equal(path, join(dir, 'pstree.img'));
  t.strictSame(readEntries(dir, 'pstree'), [{ pid: 7, ppid: 0, pgid: 7, sid: 7, threads: [7] }]);
  t.equal(imagePath(dir, 'core', 42), join(dir, 'core-42.img'));
  t.equal(imagePath(dir, 'ghost-file', 255), join(dir, 'ghost-file-ff.img'));
  writeEntries(dir, 'ids', [{ vm_id: 1, files_id: 2, fs_id: 3, sighand_id: 4 }], 42);
  t.strictSame(readOne(dir, 'ids', 42), { vm_id: 1, files_id: 2, fs_id: 3, sighand_id: 4 });
  writeEntries(dir, 'ids', [{ vm_id: 1, files_id: 2, fs_id: 3, sighand_id: 4 }, { vm_id: 1, files_id: 2, fs_id: 3, sighand_id: 4 }], 43);
  t.throws(() => readOne(dir, 'ids', 43), { name: 'ImageError', message: /expected one entry, found more/ });
  writeEntries(dir, 'ids', [], 44);
  t.throws(() => readOne(dir, 'ids', 44), { name: 'ImageError', offset: 8 });
});

t.test('ipcns-shm: an entry with in_pagemaps has no inline bytes (upstream 4.2 layout), one without has them', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-ipcshm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const desc = { key: 1, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600, id: 7 };
  const data = Buffer.from('hello');
  const third = { message: { desc: { ...desc, id: 9 }, size: 0n, in_pagemaps: true } };
  writeEntries(dir, 'ipcns-shm', [{ message: { desc, size: 8192n, in_pagemaps: true } }, { message: { desc: { ...desc, id: 8 }, size: 5n }, payload: data }, third], 3);
  const entries = readImageEntries(imagePath(dir, 'ipcns-shm', 3), 'ipcns-shm');
  t.same(entries.map((e) => e.message.desc), [desc, { ...desc, id: 8 }, { ...desc, id: 9 }], 'every entry read back (the padding after the inline bytes skipped)');
  t.equal(entries[0]!.payload, undefined, 'no payload after the in_pagemaps entry');
  t.same(entries[1]!.payload, data, 'the inline bytes of the other');
  t.end();
});
