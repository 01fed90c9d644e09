import t from 'tap';
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ghostSpace } from './ghost-file.js';

t.test('the ghost limit counts the blocks a file takes, not its size (zdtm ghost_holes_large00)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ghost-space-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'sparse'), 'w+');
  try {
    ftruncateSync(fd, 1 << 30);
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 1 << 29);
    const st = fstatSync(fd, { bigint: true });
    t.equal(st.size, 1n << 30n);
    t.ok(ghostSpace(st) >= 8192n, 'the written data counts');
    t.ok(ghostSpace(st) < 1n << 20n, 'the holes do not: under the default 1 MiB limit');
    t.equal(ghostSpace(st), st.blocks * 512n);
  } finally {
    closeSync(fd);
  }
});
