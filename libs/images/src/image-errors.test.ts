import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImageError } from '@criu-ts/base';
import { IMG_COMMON_MAGIC, type KindName } from './kinds.js';
import { imageKind } from './kind-lookup.js';
import { openImage } from './image-reader.js';
import { openImageStream } from './stream-reader.js';
import { encodeEntry, encodeHeader } from './entry-encode.js';
import { messageType } from './schema.js';
import { encodeMessage } from './wire.js';

const dir = mkdtempSync(join(tmpdir(), 'images-errors-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const u32 = (...values: number[]): Buffer => Buffer.concat(values.map((v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; }));
const header = (kind: KindName): Buffer => encodeHeader(imageKind(kind));
const entry = (kind: KindName, message: Record<string, unknown>, payload?: Buffer): Buffer =>
  Buffer.concat(encodeEntry(imageKind(kind), 0, payload === undefined ? { message } : { message, payload }).parts);
const ids = { vm_id: 1, files_id: 2, fs_id: 3, sighand_id: 4 };

interface Case {
  name: string;
  kind?: KindName;
  bytes: Buffer;
  offset: number;
  message: RegExp;
}

const idsEntry = entry('ids', ids);
const cases: Case[] = [
  { name: 'empty file', kind: 'ids', bytes: Buffer.alloc(0), offset: 0, message: /too short for a magic/ },
  { name: 'bad magic', kind: 'ids', bytes: u32(0x12345678, 0), offset: 0, message: /unknown magic 0x12345678, expected IDS/ },
  { name: 'unknown magic, no kind', bytes: u32(IMG_COMMON_MAGIC, 0x11111111), offset: 4, message: /unknown magic 0x11111111/ },
  { name: 'wrong kind', kind: 'ids', bytes: Buffer.concat([header('core'), idsEntry]), offset: 4, message: /a CORE image .*expected IDS/ },
  { name: 'wrong header', kind: 'inventory', bytes: u32(IMG_COMMON_MAGIC, 0x58313116), offset: 0, message: /common header, expected single/ },
  { name: 'truncated magic', kind: 'ids', bytes: u32(IMG_COMMON_MAGIC).subarray(0, 4), offset: 4, message: /truncated image magic/ },
  { name: 'truncated length', kind: 'ids', bytes: Buffer.concat([header('ids'), idsEntry, Buffer.from([5, 0])]), offset: 8 + idsEntry.length, message: /truncated entry length \(2 of 4 bytes\)/ },
  { name: 'truncated entry', kind: 'ids', bytes: Buffer.concat([header('ids'), idsEntry.subarray(0, idsEntry.length - 2)]), offset: 8, message: /truncated task_kobj_ids_entry/ },
  { name: 'absurd length', kind: 'ids', bytes: Buffer.concat([header('ids'), u32(0xfffffff0)]), offset: 8, message: /over the \d+-byte limit/ },
  { name: 'length beyond the file', kind: 'ids', bytes: Buffer.concat([header('ids'), u32(1000), Buffer.alloc(10)]), offset: 8, message: /truncated task_kobj_ids_entry \(10 of 1000 bytes\)/ },
  { name: 'undecodable protobuf', kind: 'ids', bytes: Buffer.concat([header('ids'), u32(3), Buffer.from([0x0f, 0xff, 0xff])]), offset: 12, message: /cannot decode task_kobj_ids_entry/ },
  { name: 'missing required field', kind: 'ids', bytes: Buffer.concat([header('ids'), u32(2), Buffer.from([0x08, 0x01])]), offset: 12, message: /cannot decode task_kobj_ids_entry: missing required/ },
];

const pipeEntry = entry('pipes-data', { pipe_id: 1, bytes: 100 }, Buffer.alloc(100, 1));
cases.push({
  name: 'truncated payload', kind: 'pipes-data',
  bytes: Buffer.concat([header('pipes-data'), pipeEntry.subarray(0, pipeEntry.length - 40)]),
  offset: 8 + pipeEntry.length - 100, message: /truncated payload \(60 of 100 bytes\)/,
});

// a payload size no payload can have (an uint64 beyond 2^53): an ImageError, not a bare CriuError
const framed = (type: string, message: Record<string, unknown>): Buffer => {
  const body = encodeMessage(messageType(type), message);
  return Buffer.concat([u32(body.length), body]);
};
const shmDesc = { key: 1, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600, id: 1 };
cases.push({
  name: 'payload size beyond any file', kind: 'ipcns-shm',
  bytes: Buffer.concat([header('ipcns-shm'), framed('ipc_shm_entry', { desc: shmDesc, size: 1n << 60n })]),
  offset: 8 + framed('ipc_shm_entry', { desc: shmDesc, size: 1n << 60n }).length, message: /payload size field size is 1152921504606846976/,
});

function readAll(path: string, kind?: KindName): void {
  const reader = openImage(path, kind);
  try {
    for (const item of reader) void item;
  } finally {
    reader.close();
  }
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const path = join(dir, `${c.name.replace(/\W+/g, '-')}.img`);
    writeFileSync(path, c.bytes);
    const image = path.slice(dir.length + 1);
    t.throws(() => readAll(path, c.kind), { name: 'ImageError', image, offset: c.offset, message: c.message }, 'file reader');
    await t.rejects(
      (async () => {
        const stream = await openImageStream(Readable.from([c.bytes]), c.kind, { name: image });
        for await (const item of stream) void item;
      })(),
      { name: 'ImageError', image, offset: c.offset, message: c.message },
      'stream reader',
    );
  });
}

t.test('errors are ImageError from @criu-ts/base with the file in the message', async (t) => {
  const path = join(dir, 'bad.img');
  writeFileSync(path, u32(1, 2));
  try {
    readAll(path, 'core');
    t.fail('no error');
  } catch (error) {
    t.ok(error instanceof ImageError);
    t.match((error as Error).message, /^bad\.img at offset 0: /);
  }
});

t.test('a missing image is a typed error naming it, not a bare ENOENT', async (t) => {
  const path = join(dir, 'ghost-file-f.img');
  t.throws(() => openImage(path, 'ghost-file'), { name: 'CriuError', code: 'ENOENT', message: `image ${path} cannot be opened: it is missing` });
  t.throws(() => openImage(dir, 'core'), { name: 'CriuError', code: 'EISDIR', message: new RegExp(`^image ${dir} cannot be opened: .*EISDIR`) });
});
