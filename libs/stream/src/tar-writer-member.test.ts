// TarWriter's member-by-pieces API (beginMember / append / appendFromPipe /
// endMember), as criu dump --stream uses it for pages images: GNU tar reads
// the result back byte for byte, and a member that gets more or fewer bytes
// than it announced is refused.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { O, pipe2 } from '@criu-ts/kernel';
import { TarWriter } from './tar-writer.js';

const root = mkdtempSync(join(tmpdir(), 'stream-member-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

t.test('a member written in pieces, partly spliced from a pipe, reads back whole', async (t) => {
  const tarPath = join(root, 'pieces.tar');
  const fd = openSync(tarPath, 'w');
  const [readEnd, writeEnd] = pipe2(O.CLOEXEC);
  t.teardown(() => {
    closeSync(readEnd);
    closeSync(writeEnd);
  });
  const head = randomBytes(4096 * 3);
  const piped = randomBytes(4096 * 5);
  const tail = randomBytes(100);
  const writer = new TarWriter(fd, { mtime: 1_700_000_000 });
  writer.beginMember('pages-7.img', head.length + piped.length + tail.length);
  writer.append(head);
  writeSync(writeEnd, piped);
  writer.appendFromPipe(readEnd, piped.length);
  writer.append(tail);
  writer.endMember();
  writer.addBuffer('inventory.img', Buffer.from('inv'));
  writer.finish();
  closeSync(fd);
  t.equal(writer.members, 2, 'two members counted');
  t.strictSame(execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).trim().split('\n'), ['pages-7.img', 'inventory.img'], 'in the order written');
  const out = join(root, 'out');
  mkdirSync(out);
  execFileSync('tar', ['-xf', tarPath, '-C', out]);
  t.ok(readFileSync(join(out, 'pages-7.img')).equals(Buffer.concat([head, piped, tail])), 'the pieces, in order');
  t.equal(readFileSync(join(out, 'inventory.img'), 'utf8'), 'inv', 'the member after it');
});

t.test('a member must get exactly its size, and nothing else may start meanwhile', async (t) => {
  const fd = openSync(join(root, 'bad.tar'), 'w');
  t.teardown(() => closeSync(fd));
  const writer = new TarWriter(fd);
  t.throws(() => writer.append(Buffer.alloc(1)), /no member begun/, 'data before a member');
  writer.beginMember('pages-1.img', 4096);
  t.throws(() => writer.append(Buffer.alloc(4097)), /would get 4097 of its 4096 bytes/, 'too much');
  t.throws(() => writer.addBuffer('core-1.img', Buffer.alloc(1)), /still being written/, 'another member meanwhile');
  t.throws(() => writer.finish(), /stream ended inside pages-1.img/, 'the end inside a member');
  writer.append(Buffer.alloc(10));
  t.throws(() => writer.endMember(), /ended after 10 of 4096 bytes/, 'too little');
});
