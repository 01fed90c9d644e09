// Our tar writer and reader against GNU tar, both directions.
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { O, pipe2 } from '@criu-ts/kernel';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarWriter } from './tar-writer.js';
import { extractTar } from './tar-extract.js';
import { imageFilesIn, writeImageStream, extractImageStream } from './image-stream.js';

const root = mkdtempSync(join(tmpdir(), 'stream-gnu-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const LONG = `core-${'7'.repeat(140)}.img`;

/** A directory that looks like a checkpoint: sizes at and around block boundaries, one multi-MiB pages image. */
function makeImages(dir: string): Map<string, Buffer> {
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, Buffer>([
    ['inventory.img', randomBytes(37)],
    ['core-1.img', randomBytes(512)],
    ['mm-1.img', Buffer.alloc(0)],
    ['pagemap-1.img', randomBytes(513)],
    ['pages-1.img', randomBytes(3 * 1024 * 1024 + 4096)],
    ['pages-2.img', randomBytes(8192)],
    ['fdinfo-2.img', randomBytes(1023)],
    [LONG, randomBytes(100)],
  ]);
  for (const [name, data] of files) writeFileSync(join(dir, name), data);
  return files;
}

function sameFiles(t: Test, dir: string, files: Map<string, Buffer>): void {
  t.strictSame(readdirSync(dir).sort(), [...files.keys()].sort(), 'the same names');
  for (const [name, data] of files) t.ok(readFileSync(join(dir, name)).equals(data), `${name.slice(0, 40)}: same bytes`);
}

t.test('ours → GNU tar: -t lists the images in stream order, -x gives the same files', async (t) => {
  const src = join(root, 'src1');
  const files = makeImages(src);
  const tarPath = join(root, 'ours.tar');
  const fd = openSync(tarPath, 'w');
  const result = writeImageStream(src, fd, { mtime: 1_700_000_000 });
  closeSync(fd);
  t.equal(result.members[0], 'inventory.img', 'inventory first');
  t.same(result.members.slice(-3), ['pagemap-1.img', 'pages-1.img', 'pages-2.img'], 'pagemaps, then pages, last');
  const listed = execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).trim().split('\n');
  t.strictSame(listed, result.members, 'GNU tar lists every member, the long pax name whole');
  const out = join(root, 'gnu-x');
  mkdirSync(out);
  execFileSync('tar', ['-xf', tarPath, '-C', out]);
  sameFiles(t, out, files);
  const verbose = execFileSync('tar', ['-tvf', tarPath], { encoding: 'utf8' });
  t.match(verbose, /-rw------- root\/root\s+3149824 2023-11-1\d \d\d:\d\d pages-1\.img/, 'size, mode and mtime as written');
});

t.test('ours → GNU tar through a pipe (sendfile into the pipe)', async (t) => {
  const src = join(root, 'src2');
  const files = makeImages(src);
  const out = join(root, 'pipe-x');
  mkdirSync(out);
  const [readEnd, writeEnd] = pipe2(O.CLOEXEC);
  const child = spawn('tar', ['-xf', '-', '-C', out], { stdio: [readEnd, 'ignore', 'pipe'] });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  t.teardown(() => {
    clearTimeout(killTimer);
    child.kill('SIGKILL');
  });
  closeSync(readEnd);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    writeImageStream(src, writeEnd);
  } finally {
    closeSync(writeEnd);
  }
  t.equal(await exited, 0, stderr);
  sameFiles(t, out, files);
});

for (const format of ['gnu', 'posix', 'ustar']) {
  t.test(`GNU tar -c --format=${format} → ours`, async (t) => {
    const src = join(root, `c-${format}`);
    const files = makeImages(src);
    if (format === 'ustar') {
      rmSync(join(src, LONG));
      files.delete(LONG);
    }
    const tarPath = join(root, `${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '-C', src, '-cf', tarPath, '.']);
    const out = join(root, `x-${format}`);
    mkdirSync(out);
    const members = await extractImageStream(createReadStream(tarPath), out);
    t.equal(members.length, files.size);
    sameFiles(t, out, files);
  });
}

t.test('GNU tar -c with the file names as arguments (no ./ prefix)', async (t) => {
  const src = join(root, 'c-args');
  const files = makeImages(src);
  const tarPath = join(root, 'args.tar');
  execFileSync('tar', ['-C', src, '-cf', tarPath, ...imageFilesIn(src)]);
  const out = join(root, 'x-args');
  mkdirSync(out);
  await extractTar(createReadStream(tarPath), out);
  sameFiles(t, out, files);
});

t.test('TarWriter: an empty stream is two zero blocks; GNU tar accepts it', async (t) => {
  const tarPath = join(root, 'empty.tar');
  const fd = openSync(tarPath, 'w');
  const writer = new TarWriter(fd);
  writer.finish();
  closeSync(fd);
  t.equal(readFileSync(tarPath).length, 1024);
  t.equal(execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }), '');
});
