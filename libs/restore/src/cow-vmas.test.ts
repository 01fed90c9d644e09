import t from 'tap';
import { MADV, MAP, PROT } from '@criu-ts/kernel';
import type { Messages } from '@criu-ts/images';
import { inheritedRanges, presentRanges, sameAfterFork } from './cow-vmas.js';
import { VMA } from './vma-plan.js';

type VmaEntry = Messages['vma_entry'];
type MmEntry = Messages['mm_entry'];

const anon = (over: Partial<VmaEntry> = {}): VmaEntry => ({
  start: 0x7f0000000000n, end: 0x7f0000004000n, pgoff: 0n, shmid: 0n, prot: PROT.READ | PROT.WRITE, flags: MAP.PRIVATE | MAP.ANONYMOUS,
  status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE, fd: -1n, ...over,
});
const file = (over: Partial<VmaEntry> = {}): VmaEntry => anon({ flags: MAP.PRIVATE, status: VMA.AREA_REGULAR | VMA.FILE_PRIVATE, shmid: 5n, pgoff: 0x1000n, ...over });
const mm = (vmas: VmaEntry[], exe = 3): MmEntry => ({ exe_file_id: exe, vmas } as unknown as MmEntry);

t.test('a private mapping with the same bounds and backing passes through fork', async (t) => {
  t.ok(sameAfterFork(anon(), anon()), 'anonymous');
  t.ok(sameAfterFork(anon({ prot: PROT.READ }), anon()), 'protection may differ (mprotect after fork)');
  t.ok(sameAfterFork(file(), file()), 'the same file at the same offset');
  t.notOk(sameAfterFork(file(), file({ shmid: 6n })), 'another file');
  t.notOk(sameAfterFork(file(), file({ pgoff: 0n })), 'another offset');
  t.notOk(sameAfterFork(anon(), anon({ end: 0x7f0000003000n })), 'other bounds');
  t.notOk(sameAfterFork(anon(), file()), 'anonymous against file');
  t.notOk(sameAfterFork(anon(), anon({ flags: MAP.PRIVATE | MAP.ANONYMOUS | MAP.GROWSDOWN })), 'grows-down against not');
});

t.test('shared, hugetlb, locked, vDSO and fork-excluded mappings are never inherited', async (t) => {
  const shared = anon({ flags: MAP.SHARED | MAP.ANONYMOUS, status: VMA.AREA_REGULAR | VMA.ANON_SHARED, shmid: 9n });
  t.notOk(sameAfterFork(shared, shared), 'shared anonymous (mapped from its object)');
  const huge = anon({ flags: MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB });
  t.notOk(sameAfterFork(huge, huge), 'hugetlb');
  const locked = anon({ flags: MAP.PRIVATE | MAP.ANONYMOUS | MAP.LOCKED });
  t.notOk(sameAfterFork(locked, locked), 'locked (mlock is not inherited)');
  const vdso = anon({ status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE | VMA.AREA_VDSO });
  t.notOk(sameAfterFork(vdso, vdso), 'the vDSO');
  const dontfork = anon({ madv: 1n << BigInt(MADV.DONTFORK) });
  t.notOk(sameAfterFork(dontfork, anon()), 'MADV_DONTFORK in the parent');
  t.notOk(sameAfterFork(anon(), anon({ madv: 1n << BigInt(MADV.WIPEONFORK) })), 'MADV_WIPEONFORK');
});

t.test('the child keeps the mappings its parent has too, unless their executables differ', async (t) => {
  const other = anon({ start: 0x7f0000010000n, end: 0x7f0000011000n });
  const child = mm([anon(), other, file({ start: 0x7f0000020000n, end: 0x7f0000022000n })]);
  const parent = mm([anon(), file({ start: 0x7f0000020000n, end: 0x7f0000022000n })]);
  t.same(inheritedRanges(child, parent), [
    { start: 0x7f0000000000n, end: 0x7f0000004000n },
    { start: 0x7f0000020000n, end: 0x7f0000022000n },
  ]);
  t.same(inheritedRanges(child, mm(parent.vmas ?? [], 4)), [], 'another executable');
  t.same(inheritedRanges(child, undefined), [], 'the root');
});

t.test('only ranges the clone really holds are kept', async (t) => {
  const present = [{ start: 0x1000n, end: 0x5000n }];
  t.same(presentRanges([{ start: 0x2000n, end: 0x3000n }, { start: 0x4000n, end: 0x6000n }], present), [{ start: 0x2000n, end: 0x3000n }], 'inside a merged mapping, not past it');
});
