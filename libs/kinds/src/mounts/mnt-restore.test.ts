import t from 'tap';
import type { MntEntry } from './mount-entries.js';
import { nextMount, treeOrder } from './mnt-restore.js';

const entry = (mnt_id: number, parent_mnt_id: number, mountpoint: string): MntEntry => ({
  fstype: 5, mnt_id, root_dev: 1, parent_mnt_id, flags: 0, root: '/', mountpoint, source: 'x', options: '',
});

t.test('treeOrder: parents first, siblings in mount order, from the one root at /', async (t) => {
  // upstream's order (the reverse of mountinfo's)
  const image = [entry(9, 7, '/a/b'), entry(8, 5, '/c'), entry(7, 5, '/a'), entry(6, 7, '/a/x'), entry(5, 1, '/')];
  t.same(treeOrder(image).map((e) => e.mnt_id), [5, 7, 6, 9, 8]);
  t.throws(() => treeOrder([entry(5, 1, '/'), entry(6, 2, '/x')]), /2 mounts without a parent/, 'two roots: refused');
  t.throws(() => treeOrder([entry(5, 1, '/x')]), /not one root at \//, 'a root that is not at /: refused');
});

t.test('nextMount: a bind of a subdirectory waits for the mount of its file system\'s root', async (t) => {
  const root = entry(5, 1, '/');
  const sub = { ...entry(6, 5, '/x'), root_dev: 2, root: '/sys' };
  const fsRoot = { ...entry(7, 5, '/proc'), root_dev: 2 };
  const child = entry(8, 6, '/x/y');
  const pending = treeOrder([root, sub, fsRoot, child]).slice(1);
  const made = [{ entry: root }];
  const order: number[] = [];
  for (let next = nextMount(pending, made); next !== undefined; next = nextMount(pending, made)) {
    order.push(next.mnt_id);
    made.push({ entry: next });
  }
  t.same(order, [7, 6, 8], 'the file system root first, then its bind, then what hangs from that');
  t.throws(() => nextMount([entry(9, 42, '/z')], made), /hangs from no mount/);
});
