import t from 'tap';
import { MAP, O, PROT } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import { VMA, fileOpenFlags, madviceOf, planVma } from './vma-plan.js';

type VmaEntry = Messages['vma_entry'];

const vma = (over: Partial<VmaEntry>): VmaEntry => ({
  start: 0x7f0000000000n, end: 0x7f0000002000n, pgoff: 0n, shmid: 7n, prot: PROT.READ, flags: MAP.SHARED,
  status: VMA.AREA_REGULAR | VMA.FILE_SHARED, fd: -1n, ...over,
});

t.test('a mapped file is opened as the dump says (fdflags), not by the prot', async (t) => {
  // zdtm maps_file_prot: a PROT_READ view of a file opened O_RDWR is mprotect'ed writable after restore
  t.equal(fileOpenFlags(vma({ fdflags: O.RDWR }), true), O.RDWR);
  t.equal(fileOpenFlags(vma({ fdflags: O.RDONLY, prot: PROT.READ | PROT.WRITE }), true), O.RDONLY);
  t.equal(fileOpenFlags(vma({ fdflags: O.RDWR | 0o100000 }), true), O.RDWR, 'only the access mode counts');
  t.equal(fileOpenFlags(vma({ prot: PROT.READ | PROT.WRITE }), true), O.RDWR, 'no fdflags: shared writable');
  t.equal(fileOpenFlags(vma({ prot: PROT.READ | PROT.WRITE }), false), O.RDONLY, 'no fdflags: private');
  const action = planVma(1, vma({ fdflags: O.RDWR }));
  t.equal(action.kind === 'map' ? action.openFlags : undefined, O.RDWR);
});

t.test('MAP_DROPPABLE is passed on as the mapping type', async (t) => {
  const action = planVma(1, vma({ flags: MAP.DROPPABLE | MAP.ANONYMOUS, status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE, shmid: 0n, prot: PROT.READ | PROT.WRITE }));
  t.equal(action.kind, 'map');
  if (action.kind !== 'map') return;
  t.equal(action.flags & 0x0f, MAP.DROPPABLE);
  t.equal(action.shared, false);
});

t.test('advice bits, MADV_WIPEONFORK (18) included', async (t) => {
  t.same(madviceOf(vma({ madv: (1n << 18n) | (1n << 10n) })), [10, 18]);
  t.same(madviceOf(vma({})), []);
});
