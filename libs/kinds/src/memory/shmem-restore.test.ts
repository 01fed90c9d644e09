import t from 'tap';
import type { VmaEntry } from '@criu-ts/images';
import { sharedAnonSizes } from './shmem-restore.js';
import { VMA } from './vma-flags.js';

const vma = (over: Partial<VmaEntry>): VmaEntry => ({
  start: 0x10000n, end: 0x12000n, pgoff: 0n, shmid: 0n, prot: 3, flags: 1, status: VMA.AREA_REGULAR | VMA.ANON_SHARED, fd: -1n, ...over,
});

t.test('a shared anonymous object is as large as its furthest mapping', (t) => {
  const sizes = sharedAnonSizes([
    vma({ shmid: 7n }),
    vma({ shmid: 7n, start: 0x20000n, end: 0x21000n, pgoff: 0x3000n }),
    vma({ shmid: 8n, end: 0x11000n }),
    vma({ shmid: 9n, status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE, end: 0x90000n }),
  ]);
  t.same([...sizes], [[7, 0x4000n], [8, 0x1000n]], 'pgoff + length; private mappings ignored');
  t.end();
});
