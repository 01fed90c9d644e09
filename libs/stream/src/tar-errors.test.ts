// Corrupt, truncated and hostile streams: each is refused with an
// ImageError naming the member (or the header after which it went wrong)
// and the offset, and extraction leaves nothing behind.
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImageError } from '@criu-ts/base';
import { BLOCK, encodeHeader, paxRecord, parsePaxRecords } from './tar-header.js';
import { extractTar } from './tar-extract.js';
import { readTar } from './tar-reader.js';
import { extractImageStream } from './image-stream.js';

const root = mkdtempSync(join(tmpdir(), 'stream-errors-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

function member(name: string, data: Buffer, typeflag = '0'): Buffer {
  const pad = Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK);
  return Buffer.concat([encodeHeader({ name, size: data.length, typeflag, mode: 0o600, mtime: 0 }), data, pad]);
}

const END = Buffer.alloc(2 * BLOCK);
const good = Buffer.concat([member('inventory.img', Buffer.alloc(10, 1)), member('core-1.img', Buffer.alloc(700, 2)), member('pages-1.img', Buffer.alloc(3000, 3)), END]);

/** Feed the bytes in small chunks, as a pipe would. */
function source(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 333) chunks.push(bytes.subarray(at, at + 333));
  return Readable.from(chunks);
}

let dirs = 0;
function freshDir(): string {
  const dir = join(root, `x${(dirs += 1)}`);
  mkdirSync(dir);
  return dir;
}

async function refused(t: Test, bytes: Buffer, expect: { image: RegExp; offset?: number; message: RegExp }): Promise<void> {
  const dir = freshDir();
  const error = await extractTar(source(bytes), dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, ImageError, 'an ImageError');
  if (!(error instanceof ImageError)) return;
  t.match(error.image, expect.image, `names ${error.image}`);
  t.match(error.message, expect.message, error.message);
  if (expect.offset !== undefined) t.equal(error.offset, expect.offset, 'at the offset');
  t.strictSame(readdirSync(dir), [], 'nothing left in the directory');
}

t.test('a good stream extracts', async (t) => {
  const dir = freshDir();
  const members = await extractImageStream(source(good), dir);
  t.strictSame(members.map((m) => [m.name, m.size]), [['inventory.img', 10], ['core-1.img', 700], ['pages-1.img', 3000]]);
  t.strictSame(readdirSync(dir).sort(), ['core-1.img', 'inventory.img', 'pages-1.img']);
});

t.test('truncated inside member data', async (t) => {
  const cut = BLOCK * 2 + BLOCK * 3 + BLOCK + 1000; // in pages-1.img's data
  await refused(t, good.subarray(0, cut), { image: /^pages-1\.img$/, message: /truncated stream: member data ends after 1000 of 3000 bytes/, offset: cut });
});

t.test('truncated at a member boundary (no end marker)', async (t) => {
  await refused(t, good.subarray(0, good.length - END.length), { image: /header after pages-1\.img/, message: /truncated stream: a header has 0 of 512/ });
});

t.test('only one of the two end blocks', async (t) => {
  await refused(t, good.subarray(0, good.length - BLOCK), { image: /header after pages-1\.img/, message: /end-of-stream marker has 0 of 512/ });
});

t.test('truncated inside a header', async (t) => {
  await refused(t, good.subarray(0, 2 * BLOCK + 100), { image: /header after inventory\.img/, message: /has 100 of 512/, offset: 2 * BLOCK });
});

t.test('a flipped byte in a header fails its checksum', async (t) => {
  const bad = Buffer.from(good);
  bad[2 * BLOCK + 3] ^= 0x40; // core-1.img's name
  await refused(t, bad, { image: /header after inventory\.img/, message: /checksum mismatch/, offset: 2 * BLOCK });
});

t.test('garbage is not a tar stream', async (t) => {
  await refused(t, Buffer.alloc(4096, 0x41), { image: /first header/, message: /checksum|not octal/, offset: 0 });
});

const hostile: [string, string, RegExp][] = [
  ['../inventory.img', '0', /climbs out/],
  ['/etc/passwd', '0', /absolute/],
  ['sub/core-1.img', '0', /not a flat image name/],
  ['core 1.img', '0', /characters/],
  ['link.img', '2', /type '2'/],
  ['hard.img', '1', /type '1'/],
  ['dev.img', '3', /type '3'/],
  ['fifo.img', '6', /type '6'/],
  ['subdir', '5', /type '5'/],
];
for (const [name, typeflag, message] of hostile) {
  t.test(`refuses member '${name}' of type ${typeflag}`, async (t) => {
    const bytes = Buffer.concat([member('inventory.img', Buffer.alloc(10)), member(name, Buffer.alloc(typeflag === '0' ? 5 : 0), typeflag), END]);
    await refused(t, bytes, { image: /./, message, offset: 2 * BLOCK });
  });
}

t.test('a pax path cannot smuggle a bad name either', async (t) => {
  const records = Buffer.from(paxRecord('path', '../../x.img'));
  const bytes = Buffer.concat([member('PaxHeaders/x', records, 'x'), member('x.img', Buffer.alloc(5)), END]);
  await refused(t, bytes, { image: /./, message: /climbs out/ });
});

t.test('a member twice', async (t) => {
  const one = member('core-1.img', Buffer.alloc(5));
  await refused(t, Buffer.concat([one, one, END]), { image: /^core-1\.img$/, message: /appears twice/ });
});

t.test('an oversized extended header', async (t) => {
  const bytes = Buffer.concat([member('PaxHeaders/x', Buffer.alloc(70_000, 0x31), 'x'), END]);
  await refused(t, bytes, { image: /first header/, message: /extended header of 70000 bytes/ });
});

t.test('a stream without inventory.img is not a checkpoint', async (t) => {
  const dir = freshDir();
  await t.rejects(extractImageStream(source(Buffer.concat([member('core-1.img', Buffer.alloc(5)), END])), dir), /no inventory\.img/);
  t.strictSame(readdirSync(dir), []);
});

t.test('pax size overrides the header size (sizes past 8 GiB)', async (t) => {
  const data = Buffer.alloc(5000, 7);
  const records = Buffer.from(paxRecord('size', '5000'));
  const header = encodeHeader({ name: 'pages-9.img', size: 0, typeflag: '0', mode: 0o600, mtime: 0 });
  const bytes = Buffer.concat([member('PaxHeaders/pages-9.img', records, 'x'), header, data, Buffer.alloc(BLOCK - (5000 % BLOCK)), END]);
  const seen: number[] = [];
  await readTar(source(bytes), async (m, body) => {
    let n = 0;
    for await (const chunk of body.chunks()) n += chunk.length;
    seen.push(m.size, n);
  });
  t.strictSame(seen, [5000, 5000]);
});

t.test('pax records: lengths count their own digits', async (t) => {
  for (const value of ['a', 'x'.repeat(85), 'y'.repeat(95), 'z'.repeat(994)]) {
    const record = paxRecord('path', value);
    t.equal(Number(record.split(' ')[0]), Buffer.byteLength(record), `record of ${record.length} bytes`);
    t.equal(parsePaxRecords(Buffer.from(record)).get('path'), value);
  }
  t.throws(() => parsePaxRecords(Buffer.from('99 path=x\n')), /bad pax record/);
});

t.test('a handler that reads nothing still lets the reader go on', async (t) => {
  const names: string[] = [];
  await readTar(source(good), (m) => {
    names.push(m.name);
  });
  t.strictSame(names, ['inventory.img', 'core-1.img', 'pages-1.img']);
});
