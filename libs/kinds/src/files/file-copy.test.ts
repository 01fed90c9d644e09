import t from 'tap';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MFD, memfdCreate } from '@criu-ts/kernel';
import { copyIntoSlot } from './file-copy.js';

t.test('copyIntoSlot copies across filesystems (memfd on the internal shm mount → an image file): zdtm shmemfd', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'file-copy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const src = memfdCreate('file-copy-test', MFD.CLOEXEC);
  const dst = openSync(join(dir, 'image'), 'w+');
  try {
    const data = Buffer.alloc(3 * 4096 + 100);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    writeSync(src, data, 0, data.length, 0);
    writeSync(dst, Buffer.from('HEAD'), 0, 4, 0);
    copyIntoSlot(src, 100, { fd: dst, offset: 4, length: data.length - 100 }, 'memfd file-copy-test');
    t.equal(fstatSync(dst).size, 4 + data.length - 100);
    const image = readFileSync(join(dir, 'image'));
    t.equal(image.subarray(0, 4).toString(), 'HEAD', 'what was before the slot is kept');
    t.ok(image.subarray(4).equals(data.subarray(100)), 'the slot holds the source bytes from srcOffset');
  } finally {
    closeSync(src);
    closeSync(dst);
  }
});
