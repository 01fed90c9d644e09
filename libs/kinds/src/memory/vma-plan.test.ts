import t from 'tap';
import { UnsupportedError } from '@criu-ts/base';
import { MAP } from '@criu-ts/kernel';
import { parseSmaps } from '@criu-ts/proc';
import { VMA } from './vma-flags.js';
import { planVmas, privatelyMappedShmem } from './vma-plan.js';

function block(header: string, vmflags: string): string {
  return `${header}\nSize: 8 kB\nRss: 4 kB\nPss: 4 kB\nAnonymous: 4 kB\nSwap: 0 kB\nLocked: 0 kB\nVmFlags: ${vmflags}\n`;
}

const SMAPS = [
  block('55aee7c5b000-55aee7c5c000 r--p 00000000 fe:00 2150183                    /tmp/ml', 'rd mr mw me dw'),
  block('55aeee18d000-55aeee1b6000 rw-p 00000000 00:00 0                          [heap]', 'rd wr mr mw me ac'),
  block('7f462f44a000-7f462f44e000 rw-s 00000000 00:01 29                         /memfd:mem-layout (deleted)', 'rd wr sh mr mw me ms'),
  block('7f462f44e000-7f462f450000 ---p 00000000 00:00 0 ', 'mr mw me ac'),
  block('7f462f454000-7f462f458000 rw-p 00001000 fe:00 2220675                    /tmp/mlt/file', 'rd wr mr mw me ac'),
  block('7f462f68e000-7f462f696000 rw-s 00000000 00:01 28                         /dev/zero (deleted)', 'rd wr sh mr mw me ms'),
  block('7f462f698000-7f462f69c000 r--p 00000000 00:00 0                          [vvar]', 'rd mr pf io de dd'),
  block('7f462f69c000-7f462f69e000 r--p 00000000 00:00 0                          [vvar_vclock]', 'rd mr pf io de dd'),
  block('7f462f69e000-7f462f6a0000 r-xp 00000000 00:00 0                          [vdso]', 'rd ex mr mw me de'),
  block('7fff65c84000-7fff65ca5000 rw-p 00000000 00:00 0                          [stack]', 'rd wr mr mw me gd ac'),
  block('ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]', 'ex'),
].join('');

t.test('vma entries as upstream writes them', async (t) => {
  const plans = planVmas(42, parseSmaps(SMAPS));
  const [exe, heap, memfd, guard, fpriv, shanon, vvar, vclock, vdso, stack, vsyscall] = plans.map((p) => p.vma);
  t.match(plans.map((p) => p.backing), ['file', 'none', 'memfd', 'none', 'file', 'shmem', 'none', 'none', 'none', 'none', 'none']);
  t.match(plans.map((p) => p.pages), ['private', 'private', 'none', 'private', 'private', 'none', 'none', 'none', 'all', 'private', 'none']);
  t.equal(exe!.status, VMA.AREA_REGULAR | VMA.FILE_PRIVATE);
  t.equal(exe!.flags, MAP.PRIVATE);
  t.equal(heap!.status, VMA.AREA_REGULAR | VMA.AREA_HEAP | VMA.ANON_PRIVATE);
  t.equal(heap!.flags, MAP.PRIVATE | MAP.ANONYMOUS);
  t.equal(memfd!.status, VMA.AREA_REGULAR | VMA.FILE_SHARED | VMA.AREA_MEMFD);
  t.equal(memfd!.fdflags, 2, 'shared writable memfd reopened O_RDWR');
  t.equal(guard!.prot, 0);
  t.equal(fpriv!.pgoff, 0x1000n, 'pgoff in bytes, as maps shows it');
  t.equal(shanon!.status, VMA.AREA_REGULAR | VMA.ANON_SHARED);
  t.equal(shanon!.shmid, 28n, 'shared anonymous shmid is the inode');
  t.equal(shanon!.flags, MAP.SHARED | MAP.ANONYMOUS);
  t.equal(vvar!.status, VMA.AREA_REGULAR | VMA.AREA_VVAR | VMA.ANON_PRIVATE);
  t.equal(vclock!.status, vvar!.status, '[vvar_vclock] is vvar too');
  t.equal(vvar!.madv, 1n << 16n);
  t.equal(vdso!.status, VMA.AREA_REGULAR | VMA.AREA_VDSO | VMA.ANON_PRIVATE);
  t.equal(stack!.start, 0x7fff65c83000n, 'stack starts one guard page lower');
  t.equal(stack!.flags, MAP.PRIVATE | MAP.ANONYMOUS | MAP.GROWSDOWN);
  t.equal(stack!.status, VMA.AREA_REGULAR | VMA.ANON_PRIVATE);
  t.equal(vsyscall!.status, VMA.AREA_VSYSCALL | VMA.ANON_PRIVATE);
  t.ok(plans.every((p) => p.vma.fd === -1n));
});

t.test('no guard gap when the area below touches the stack', async (t) => {
  const smaps = parseSmaps(
    block('7fff65c80000-7fff65c84000 rw-p 00000000 00:00 0 ', 'rd wr mr mw me ac') +
      block('7fff65c84000-7fff65ca5000 rw-p 00000000 00:00 0                          [stack]', 'rd wr mr mw me gd ac'),
  );
  t.equal(planVmas(1, smaps)[1]!.vma.start, 0x7fff65c84000n);
});

t.test('a mapping of a deleted file is a file mapping (its file goes into a ghost image)', async (t) => {
  const [plan] = planVmas(7, parseSmaps(block('7f0000000000-7f0000001000 rw-p 00000000 fe:00 7 /tmp/gone (deleted)', 'rd wr mr mw me')));
  t.equal(plan!.backing, 'file');
});

t.test('unsupported mappings', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['7f0000000000-7f0000001000 rw-s 00000000 00:01 5 /SYSV0000abcd (deleted)', 'rd wr sh', /SysV shared memory mapping \(of criu's IPC namespace, which is not dumped\)/],
    ['7f0000000000-7f0000001000 r-xp 00000000 00:00 0 [uprobes]', 'rd ex', /special mapping \[uprobes\]/],
    ['7f0000000000-7f0000001000 rw-p 00000000 00:11 9 /mnt/huge/file', 'rd wr ht', /hugetlbfs file \/mnt\/huge\/file/],
    ['7f0000000000-7f0000001000 rw-s 00000000 00:05 9 /dev/mem', 'rd wr sh io pf', /VM_IO/],
  ];
  for (const [header, vmflags, kind] of cases) {
    let caught: unknown;
    try {
      planVmas(7, parseSmaps(block(header, vmflags)));
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof UnsupportedError, `${header}: UnsupportedError`);
    t.match(caught, { pid: 7, message: kind }, header);
  }
});

t.test('shared anonymous memory mapped privately somewhere is saved as a memfd, every view of it', async (t) => {
  const text = [
    block('7f462f68e000-7f462f693000 rw-s 00000000 00:01 28                         /dev/zero (deleted)', 'rd wr sh mr mw me ms'),
    block('7f462f693000-7f462f697000 rw-p 00001000 00:01 28                         /dev/zero (deleted)', 'rd wr mr mw me ac'),
    block('7f462f6a0000-7f462f6a1000 rw-s 00000000 00:01 31                         /dev/zero (deleted)', 'rd wr sh mr mw me ms'),
  ].join('');
  const smaps = parseSmaps(text);
  const memfdShmem = privatelyMappedShmem(smaps);
  t.same([...memfdShmem], [28], 'only the object with a private view');
  const [shared, priv, other] = planVmas(42, smaps, { memfdShmem });
  t.equal(shared!.backing, 'memfd');
  t.equal(shared!.vma.status, VMA.AREA_REGULAR | VMA.FILE_SHARED | VMA.AREA_MEMFD);
  t.equal(priv!.backing, 'memfd');
  t.equal(priv!.vma.status, VMA.AREA_REGULAR | VMA.FILE_PRIVATE | VMA.AREA_MEMFD);
  t.equal(priv!.pages, 'private', "the private view's own pages go into the task's pagemap");
  t.equal(priv!.vma.flags & MAP.ANONYMOUS, 0, 'a file mapping of the memfd');
  t.equal(other!.backing, 'shmem', 'an object mapped only shared stays shared anonymous memory');
});

t.test('hugetlb memory: private as anonymous memory with its page size, shared as a hugetlb memfd', async (t) => {
  const huge = (header: string, vmflags: string): string => block(header, vmflags).replace('Size: 8 kB', 'Size: 2048 kB\nKernelPageSize: 2048 kB');
  const smaps = parseSmaps([
    huge('7f0000000000-7f0000200000 rw-p 00000000 00:11 41 /anon_hugepage (deleted)', 'rd wr mr mw me de ht'),
    huge('7f0000200000-7f0000400000 rw-s 00000000 00:11 42 /anon_hugepage (deleted)', 'rd wr sh mr mw me ms de ht'),
  ].join(''));
  const [priv, shared] = planVmas(7, smaps);
  const size2M = 21 << 26;
  t.equal(priv!.backing, 'none');
  t.equal(priv!.vma.status, VMA.AREA_REGULAR | VMA.ANON_PRIVATE);
  t.equal(priv!.vma.flags, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB | size2M, 'MAP_HUGETLB | MAP_HUGE_2MB, as upstream writes it');
  t.equal(priv!.pages, 'private');
  t.equal(shared!.backing, 'memfd');
  t.equal(shared!.vma.status, VMA.AREA_REGULAR | VMA.FILE_SHARED | VMA.AREA_MEMFD);
  t.equal(shared!.vma.flags, MAP.SHARED | MAP.HUGETLB | size2M);
});

t.test("a SysV segment's mapping in the tree's own IPC namespace: SYSVIPC, shared anonymous as upstream, shmid its id, no pages", async (t) => {
  const [plan] = planVmas(7, parseSmaps(block('7f0000000000-7f0000004000 rw-s 00000000 00:01 5 /SYSV0000abcd (deleted)', 'rd wr sh mr mw me ms')), { sysv: true });
  t.equal(plan!.backing, 'sysv');
  t.equal(plan!.pages, 'none');
  t.match(plan!.vma, { shmid: 5n, status: VMA.AREA_REGULAR | VMA.ANON_SHARED | VMA.AREA_SYSVIPC, flags: MAP.SHARED | MAP.ANONYMOUS });
});
