import t from 'tap';
import { MAP, O, PROT } from '@criu-ts/kernel';
import { VMA, describeStatus, fdflagsOf, isIoMapping, madvOf, mapFlagsOf, protOf } from './vma-flags.js';

const flags = (s: string): Set<string> => new Set(s.split(' '));

t.test('prot from permissions', async (t) => {
  t.equal(protOf({ read: true, write: false, exec: true }), PROT.READ | PROT.EXEC);
  t.equal(protOf({ read: false, write: false, exec: false }), PROT.NONE);
});

t.test('MAP_* flags from sharing and VmFlags', async (t) => {
  t.equal(mapFlagsOf(false, flags('rd wr mr mw me gd ac')), MAP.PRIVATE | MAP.GROWSDOWN);
  t.equal(mapFlagsOf(true, flags('rd sh mr mw ms lo nr')), MAP.SHARED | MAP.LOCKED | MAP.NORESERVE);
  t.equal(mapFlagsOf(false, flags('rd ht')), MAP.PRIVATE | MAP.HUGETLB);
  t.equal(mapFlagsOf(false, flags('rd wr mr mw me dp')), MAP.DROPPABLE, 'droppable replaces MAP_PRIVATE');
});

t.test('madv bits as upstream: 1 << MADV_x', async (t) => {
  t.equal(madvOf(flags('rd mr')), 0n);
  t.equal(madvOf(flags('rd dd')), 1n << 16n, 'dd → MADV_DONTDUMP (16)');
  t.equal(madvOf(flags('sr rr dc mg hg nh')), (1n << 2n) | (1n << 1n) | (1n << 10n) | (1n << 12n) | (1n << 14n) | (1n << 15n));
  t.equal(madvOf(flags('rd wf')), 1n << 18n, 'wf → MADV_WIPEONFORK (18)');
  t.equal(madvOf(flags('sd um')), 0n, 'flags upstream does not record');
});

t.test('fdflags: O_RDWR only for shared may-write', async (t) => {
  t.equal(fdflagsOf(flags('rd sh mr mw ms')), O.RDWR);
  t.equal(fdflagsOf(flags('rd mr mw')), O.RDONLY);
  t.equal(fdflagsOf(flags('rd sh mr ms')), O.RDONLY);
});

t.test('io/pf areas and status names', async (t) => {
  t.ok(isIoMapping(flags('rd mr pf io de dd')));
  t.notOk(isIoMapping(flags('rd mr')));
  t.equal(VMA.AREA_VVAR, 0x1000);
  t.equal(VMA.AREA_MEMFD, 0x4000);
  t.equal(describeStatus(VMA.AREA_REGULAR | VMA.ANON_PRIVATE | VMA.AREA_VDSO), 'AREA_REGULAR | AREA_VDSO | ANON_PRIVATE');
});
