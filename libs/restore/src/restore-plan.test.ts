import t from 'tap';
import { CLONE, MAP, PROT } from '@criu-ts/kernel';
import { PE_PRESENT, type PageRun } from '@criu-ts/images';
import { THREAD_FLAGS, cloneArgs } from './clone-task.js';
import { checkImagePath } from './file-paths.js';
import { mergeRanges, planReads, runsToRead, shortReadError } from './page-fill.js';
import { areaAt, chooseAreaBase } from './task-area.js';
import { checkTreeOrder } from './tree-images.js';
import { planVdsoMoves } from './vdso-move.js';
import { helperLeftovers } from './address-space.js';
import { VMA, madviceOf, planVma } from './vma-plan.js';

const vma = (over: Partial<Parameters<typeof planVma>[1]>): Parameters<typeof planVma>[1] => ({
  start: 0x10000n, end: 0x20000n, pgoff: 0n, shmid: 0n, prot: PROT.READ, flags: MAP.PRIVATE | MAP.ANONYMOUS,
  status: VMA.AREA_REGULAR | VMA.ANON_PRIVATE, fd: -1n, ...over,
});

t.test('vma plan: anonymous, file, shared memory, vdso, vsyscall and refused kinds', (t) => {
  const anon = planVma(1, vma({}));
  t.match(anon, { kind: 'map', prot: PROT.READ, fillProt: PROT.READ | PROT.WRITE, flags: MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED });
  const file = planVma(1, vma({ status: VMA.AREA_REGULAR | VMA.FILE_PRIVATE, flags: MAP.PRIVATE, shmid: 7n, pgoff: 0x3000n, prot: PROT.READ | PROT.EXEC }));
  t.match(file, { kind: 'map', fileId: 7, pgoff: 0x3000n, flags: MAP.PRIVATE | MAP.FIXED });
  const shared = planVma(1, vma({ status: VMA.AREA_REGULAR | VMA.FILE_SHARED, flags: MAP.SHARED, shmid: 8n, prot: PROT.READ | PROT.WRITE }));
  t.match(shared, { kind: 'map', shared: true, fillProt: PROT.READ | PROT.WRITE });
  t.match(planVma(1, vma({ status: VMA.AREA_REGULAR | VMA.AREA_VDSO })), { kind: 'vdso', vvar: false });
  t.match(planVma(1, vma({ status: VMA.AREA_REGULAR | VMA.AREA_VVAR })), { kind: 'vdso', vvar: true });
  t.match(planVma(1, vma({ status: VMA.AREA_VSYSCALL })), { kind: 'skip' });
  const shanon = vma({ status: VMA.AREA_REGULAR | VMA.ANON_SHARED, flags: MAP.SHARED | MAP.ANONYMOUS, shmid: 99n, pgoff: 0x2000n, prot: PROT.READ | PROT.WRITE });
  t.match(planVma(1, shanon), { kind: 'map', shared: true, flags: MAP.SHARED | MAP.FIXED, pgoff: 0x2000n, fillProt: PROT.READ | PROT.WRITE, shmem: shanon }, 'shared anonymous: the object, not MAP_ANONYMOUS');
  t.equal((planVma(1, shanon) as { fileId?: number }).fileId, undefined, 'shared anonymous: no files.img entry');
  const memfd = vma({ status: VMA.AREA_REGULAR | VMA.FILE_PRIVATE | VMA.AREA_MEMFD, flags: MAP.PRIVATE, shmid: 5n, prot: PROT.READ });
  t.match(planVma(1, memfd), { kind: 'map', shared: false, flags: MAP.PRIVATE | MAP.FIXED, fillProt: PROT.READ | PROT.WRITE, shmem: memfd }, 'private memfd: pages read in');
  const sysv = vma({ status: VMA.AREA_REGULAR | VMA.ANON_SHARED | VMA.AREA_SYSVIPC, flags: MAP.SHARED | MAP.ANONYMOUS, shmid: 3n, prot: PROT.READ });
  t.same(planVma(1, sysv), { kind: 'sysv', start: 0x10000n, length: 0x10000n, shmid: 3, prot: PROT.READ }, 'a SysV segment: attached again (shmat), not mapped');
  t.throws(() => planVma(1, { ...sysv, pgoff: 0x1000n }), /System V shared memory mapping of segment 3 from offset 0x1000/);
  t.throws(() => planVma(1, vma({ end: 0x10800n })), /bad bounds/);
  t.same(madviceOf(vma({ madv: (1n << 10n) | (1n << 16n) })), [10, 16]);
  t.end();
});

const run = (vaddr: bigint, nrPages: number, pagesOffset?: number): PageRun => ({ vaddr, nrPages, flags: PE_PRESENT, pagesOffset });

t.test('page reads: batches follow the pages file, capped at maxIov', (t) => {
  const runs = [run(0x1000n, 2, 0), run(0x9000n, 1, 8192), run(0x20000n, 1, 12288), run(0x30000n, 3, 16384)];
  const batches = planReads(runs, 3);
  t.same(batches.map((b) => [b.fileOffset, b.iovecs.length, b.bytes]), [[0, 3, 16384], [16384, 1, 12288]]);
  t.same(planReads([run(0x1000n, 1, 0), run(0x2000n, 1, 8192)]).map((b) => b.fileOffset), [0, 8192], 'a gap in the file starts a batch');
  // one run of 4 GiB: a preadv moves at most ~2 GiB, so it is read in 1 GiB pieces
  const big = planReads([run(0x7f0000000000n, 1 << 20, 4096)]);
  t.same(big.map((b) => [b.fileOffset, b.iovecs[0]!.addr, b.bytes]), [0, 1, 2, 3].map((i) => [4096 + i * 2 ** 30, 0x7f0000000000n + BigInt(i) * 2n ** 30n, 2 ** 30]));
  t.end();
});

t.test('page runs: across adjacent mappings kept, in the vDSO skipped, elsewhere refused', (t) => {
  const mapped = [{ start: 0x1000n, end: 0x2000n }, { start: 0x2000n, end: 0x4000n }];
  const skipped = [{ start: 0x8000n, end: 0xa000n }];
  t.same(mergeRanges(mapped), [{ start: 0x1000n, end: 0x4000n }]);
  const shared = [{ start: 0x10000n, end: 0x12000n }];
  const ranges = { private: mapped, shared, skipped };
  const kept = runsToRead([run(0x1000n, 3, 0), run(0x8000n, 2, 12288)], ranges, 'pagemap-1.img');
  t.same(kept.map((r) => r.vaddr), [0x1000n]);
  t.throws(() => runsToRead([run(0x5000n, 1, 0)], ranges, 'pagemap-1.img'), /pagemap-1.img.*0x5000.*outside/);
  // a shared mapping's pages are its file's: reading the task's into it would write that file
  t.throws(() => runsToRead([run(0x11000n, 1, 0)], ranges, 'pagemap-1.img'), /pagemap-1.img.*0x11000.*shared mapping/);
  t.throws(() => runsToRead([run(0xf000n, 2, 0)], ranges, 'pagemap-1.img'), /0xf000.*shared mapping/, 'a run reaching into one');
  t.end();
});

t.test('a short page read blames the pages image only when it is short', (t) => {
  const batch = { fileOffset: 8192, iovecs: [{ addr: 0x7000n, len: 16384 }], bytes: 16384 };
  t.match(shortReadError(7, 'pages-1.img', 12288, batch, 4096n), { name: 'ImageError', image: 'pages-1.img', offset: 8192, message: /truncated: read 4096 of 16384/ });
  const fault = shortReadError(7, 'pages-1.img', 1 << 20, batch, 4096n);
  t.equal(fault.name, 'CriuError', 'the image holds the bytes: not an image error');
  t.match(fault.message, /task 7: its memory from 0x7000 took 4096 of the 16384 bytes at offset 8192 of pages-1.img/);
  t.end();
});

t.test('clone_args: flags, exit signal, set_tid', (t) => {
  const args = cloneArgs({ pid: 42, flags: THREAD_FLAGS, exitSignal: 0, childTid: 0x7000n }, 0x9000n);
  t.equal(args.length, 88);
  t.equal(args.readBigUInt64LE(0), THREAD_FLAGS | CLONE.CHILD_CLEARTID, 'CLONE_CHILD_CLEARTID with a clear-tid address');
  t.equal(args.readBigUInt64LE(16), 0x7000n);
  t.equal(args.readBigUInt64LE(32), 0n);
  t.same([args.readBigUInt64LE(64), args.readBigUInt64LE(72)], [0x9000n, 1n]);
  t.equal(cloneArgs({ pid: 1, flags: CLONE.PARENT, exitSignal: 0 }, 1n).readBigUInt64LE(0), CLONE.PARENT);
  t.end();
});

t.test('restore area: a free address range, not overlapping dumped or helper mappings', (t) => {
  t.equal(chooseAreaBase([]), 0x100000000n);
  const base = chooseAreaBase([{ start: 0x100000000n, end: 0x100001000n }, { start: 0x200400000n, end: 0x200401000n }]);
  t.equal(base, 0x300000000n, 'the staging range counts too');
  const area = areaAt(base);
  t.ok(area.scratch > area.site && area.staging >= area.base + BigInt(area.size));
  t.end();
});

t.test('helper leftovers: all but the area, the vDSO pieces and [vsyscall], merged', (t) => {
  const area = areaAt(0x100000000n);
  const maps = [
    { start: 0x1000n, end: 0x2000n, name: '/bin/helper' }, { start: 0x2000n, end: 0x3000n, name: '/bin/helper' },
    { start: 0x5000n, end: 0x6000n, name: '[heap]' }, { start: area.base, end: area.base + BigInt(area.size), name: '' },
    { start: 0x7000n, end: 0x8000n, name: '[vvar]' }, { start: 0x8000n, end: 0x9000n, name: '[vdso]' },
    { start: 0xffffffffff600000n, end: 0xffffffffff601000n, name: '[vsyscall]' },
  ];
  t.same(helperLeftovers(maps, area), [{ start: 0x1000n, end: 0x3000n }, { start: 0x5000n, end: 0x6000n }]);
  // a child cloned from its restored parent keeps what it inherits: the rest around it goes
  t.same(helperLeftovers(maps, area, [{ start: 0x2000n, end: 0x3000n }]), [{ start: 0x1000n, end: 0x2000n }, { start: 0x5000n, end: 0x6000n }], 'less the kept ranges');
  t.end();
});

t.test('vdso moves pair pieces in order and refuse a different layout', (t) => {
  const present = [{ start: 0x10000n, end: 0x14000n, name: '[vvar]' }, { start: 0x14000n, end: 0x16000n, name: '[vdso]' }];
  const moves = planVdsoMoves(1, present, [{ start: 0x70000n, length: 0x4000n }, { start: 0x74000n, length: 0x2000n }]);
  t.same(moves.map((m) => [m.from, m.to]), [[0x10000n, 0x70000n], [0x14000n, 0x74000n]]);
  t.throws(() => planVdsoMoves(1, present, [{ start: 0x70000n, length: 0x2000n }]), /does not match this kernel/);
  t.throws(() => planVdsoMoves(1, present, [{ start: 0x70000n, length: 0x3000n }, { start: 0x73000n, length: 0x3000n }]), /does not match this kernel/);
  t.same(planVdsoMoves(1, present, []), []);
  // upstream CRIU dumps [vvar] and [vvar_vclock] as one VVAR area
  const three = [{ start: 0x10000n, end: 0x14000n, name: '[vvar]' }, { start: 0x14000n, end: 0x16000n, name: '[vvar_vclock]' }, { start: 0x16000n, end: 0x18000n, name: '[vdso]' }];
  const joined = planVdsoMoves(1, three, [{ start: 0x70000n, length: 0x6000n }, { start: 0x76000n, length: 0x2000n }]);
  t.same(joined.map((m) => [m.from, m.to, m.length]), [[0x10000n, 0x70000n, 0x4000n], [0x14000n, 0x74000n, 0x2000n], [0x16000n, 0x76000n, 0x2000n]]);
  t.end();
});

t.test('pstree order and image paths are checked', (t) => {
  t.doesNotThrow(() => checkTreeOrder([{ pid: 1, ppid: 0 }, { pid: 2, ppid: 1 }], 'pstree.img'));
  t.throws(() => checkTreeOrder([{ pid: 1, ppid: 0 }, { pid: 3, ppid: 2 }], 'pstree.img'), /pid 3 comes before its parent 2/);
  t.throws(() => checkTreeOrder([{ pid: 1, ppid: 0 }, { pid: 1, ppid: 1 }], 'pstree.img'), /appears twice/);
  t.throws(() => checkImagePath('relative/file', 'exe'), /not absolute/);
  t.throws(() => checkImagePath('/bin/sh\0x', 'exe'), /NUL/);
  t.throws(() => checkImagePath('/no/such/file/here', 'exe'), /does not exist/);
  t.throws(() => checkImagePath('/tmp', 'exe'), /not a regular file/);
  t.equal(checkImagePath('/bin/sh', 'exe'), '/bin/sh');
  t.end();
});
