// Reading a stream from a file descriptor: from a pipe (member data moved
// by splice) and from a file, the same members as from a Readable; a
// truncated stream read from an fd is refused the same way.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from '@criu-ts/base';
import { pipe2 } from '@criu-ts/kernel';
import { BLOCK, encodeHeader } from './tar-header.js';
import { extractImageStream } from './image-stream.js';

const root = mkdtempSync(join(tmpdir(), 'stream-fd-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

function member(name: string, data: Buffer): Buffer {
  const pad = Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK);
  return Buffer.concat([encodeHeader({ name, size: data.length, typeflag: '0', mode: 0o600, mtime: 0 }), data, pad]);
}

const pages = Buffer.alloc(3 * 1024 * 1024 + 123, 0);
for (let i = 0; i < pages.length; i++) pages[i] = (i * 7) & 0xff;
const stream = Buffer.concat([member('inventory.img', Buffer.alloc(10, 1)), member('core-1.img', Buffer.alloc(700, 2)), member('pages-1.img', pages), Buffer.alloc(2 * BLOCK)]);
const file = join(root, 'stream.tar');
writeFileSync(file, stream);

function check(t: Test, dir: string): void {
  t.same(readdirSync(dir).sort(), ['core-1.img', 'inventory.img', 'pages-1.img']);
  t.ok(readFileSync(join(dir, 'pages-1.img')).equals(pages), 'the large member arrives intact');
}

t.test('from a file descriptor of a file', async (t) => {
  const dir = join(root, 'file');
  mkdirSync(dir);
  const fd = openSync(file, 'r');
  t.teardown(() => closeSync(fd));
  await extractImageStream(fd, dir);
  check(t, dir);
});

t.test('from a pipe, written by another process in pieces', async (t) => {
  const dir = join(root, 'pipe');
  mkdirSync(dir);
  const [readFd, writeFd] = pipe2();
  const writer = spawn('sh', ['-c', 'dd bs=65536 status=none <"$0"', file], { stdio: ['ignore', writeFd, 'inherit'] });
  closeSync(writeFd);
  t.teardown(() => {
    closeSync(readFd);
    writer.kill('SIGKILL');
  });
  await extractImageStream(readFd, dir);
  check(t, dir);
});

t.test('a truncated stream from an fd is refused, nothing left', async (t) => {
  const dir = join(root, 'cut');
  mkdirSync(dir);
  const cut = join(root, 'cut.tar');
  writeFileSync(cut, stream.subarray(0, 2 * BLOCK + 700 + 1000));
  const fd = openSync(cut, 'r');
  t.teardown(() => closeSync(fd));
  await t.rejects(extractImageStream(fd, dir), ImageError);
  t.same(readdirSync(dir), [], 'no file left behind');
});
