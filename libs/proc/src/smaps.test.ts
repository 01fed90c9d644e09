import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSmaps, parseSmapsFile, readSmaps, VM_FLAGS } from './smaps.js';
import { readMaps } from './maps.js';
import { startSleep } from './live-task.fixture.js';

const FIELDS_ZERO = `KernelPageSize:        4 kB
MMUPageSize:           4 kB`;

// captured on this machine from a python process with madvise'd mappings
// (`grep -A24 ... /proc/PID/smaps`)
const CAPTURED = `7f5cc6400000-7f5cc6800000 rw-p 00000000 00:00 0 
Size:               4096 kB
${FIELDS_ZERO}
Rss:                2048 kB
Pss:                2048 kB
Pss_Dirty:          2048 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:      2048 kB
Referenced:         2048 kB
Anonymous:          2048 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:      2048 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           1
VmFlags: rd wr mr mw me ac hg 
7f5cc69c0000-7f5cc69c2000 rw-s 00000000 00:01 1025                       /dev/zero (deleted)
Size:                  8 kB
${FIELDS_ZERO}
Rss:                   4 kB
Pss:                   4 kB
Pss_Dirty:             4 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         4 kB
Referenced:            4 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd wr sh mr mw me ms 
7f5cc69c2000-7f5cc69c6000 rw-p 00000000 00:00 0 
Size:                 16 kB
${FIELDS_ZERO}
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Referenced:            0 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd wr mr mw me ac dd mg 
7f5cc69c6000-7f5cc69ca000 rw-p 00000000 00:00 0 
Size:                 16 kB
${FIELDS_ZERO}
Rss:                   4 kB
Pss:                   4 kB
Pss_Dirty:             4 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         4 kB
Referenced:            4 kB
Anonymous:             4 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                 12 kB
SwapPss:              12 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd wr mr mw me ac wf 
7f5cc6f9e000-7f5cc6fa0000 rw-s 00000000 fe:00 2172267                    /tmp/h4cap/map me (x) (deleted)
Size:                  8 kB
${FIELDS_ZERO}
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Referenced:            0 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd wr sh mr mw me ms 
7ffcd230f000-7ffcd2330000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
${FIELDS_ZERO}
Rss:                  12 kB
Pss:                  12 kB
Pss_Dirty:            12 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:        12 kB
Referenced:           12 kB
Anonymous:            12 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                4 kB
THPeligible:           0
VmFlags: rd wr mr mw me gd ac 
`;

t.test('captured smaps: maps fields, kB fields and VmFlags', async (t) => {
  const vmas = parseSmaps(CAPTURED);
  t.equal(vmas.length, 6);
  const [huge, shmem, dontdump, wipe, file, stack] = vmas;
  t.match(huge, { start: 0x7f5cc6400000n, kind: 'anon', Rss: 2048, Anonymous: 2048, AnonHugePages: 2048, THPeligible: true });
  t.equal(huge.kB.Size, 4096);
  t.equal(huge.kB.Private_Dirty, 2048);
  t.ok(huge.VmFlags.has('hg'));
  t.match(shmem, { kind: 'shared-anon', path: '/dev/zero', deleted: true, Anonymous: 0, Rss: 4, THPeligible: false });
  t.same([...dontdump.VmFlags], ['rd', 'wr', 'mr', 'mw', 'me', 'ac', 'dd', 'mg']);
  t.ok(wipe.VmFlags.has('wf'));
  t.equal(wipe.Swap, 12);
  t.match(file, { path: '/tmp/h4cap/map me (x)', deleted: true, shared: true, kind: 'file', inode: 2172267 });
  t.match(stack, { kind: 'stack', Locked: 4, Pss: 12 });
  t.ok(stack.VmFlags.has('gd'), 'the stack grows down');
  t.equal(stack.ProtectionKey, undefined);
  t.equal(VM_FLAGS.gd, 'stack segment grows down');
});

t.test('malformed smaps name the file and line', async (t) => {
  const lines = CAPTURED.split('\n');
  const badValue = [...lines.slice(0, 4), 'Rss:                 zz kB', ...lines.slice(5)].join('\n');
  t.throws(() => parseSmaps(badValue, '/proc/7/smaps'), { code: 'EPROCFORMAT', message: /^\/proc\/7\/smaps line 5: Rss is not a number/ });
  const noRss = lines.filter((l, i) => !(i === 4)).join('\n');
  t.throws(() => parseSmaps(noRss), { message: /^smaps line 1: VMA has no Rss line/ });
  t.throws(() => parseSmaps(`Rss: 4 kB\n`), { message: /line 1: field before the first VMA/ });
});

t.test('thousands of VMAs parse in one pass', async (t) => {
  const block = CAPTURED.split('\n').slice(1, 25).join('\n');
  const count = 20000;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const start = 0x7f0000000000n + BigInt(i) * 0x2000n;
    parts.push(`${start.toString(16)}-${(start + 0x1000n).toString(16)} rw-p 00000000 00:00 0 \n${block}\n`);
  }
  const vmas = parseSmaps(parts.join(''));
  t.equal(vmas.length, count);
  t.equal(vmas[count - 1].start, 0x7f0000000000n + BigInt(count - 1) * 0x2000n);
  t.equal(vmas[count - 1].AnonHugePages, 2048);
});

t.test('a big smaps file is read in chunks: a line, or a UTF-8 name, cut by a chunk end reads whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-smaps-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const block = CAPTURED.split('\n').slice(1, 25).join('\n');
  const name = '/tmp/fichier-été-日本';
  const parts: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const start = 0x7f0000000000n + BigInt(i) * 0x2000n;
    const path = i % 3 === 0 ? `${name}-${i % 2}` : '';
    parts.push(`${start.toString(16)}-${(start + 0x1000n).toString(16)} rw-p 00000000 fe:00 ${path === '' ? 0 : 1234} ${path}\n${block}\n`);
  }
  const text = parts.join('');
  t.ok(Buffer.byteLength(text) > 2 << 20, 'more than two 1 MiB chunks');
  writeFileSync(join(dir, 'smaps'), text);
  const vmas = parseSmapsFile(join(dir, 'smaps'));
  t.same(vmas.map((v) => [v.start, v.path, v.Rss]), parseSmaps(text).map((v) => [v.start, v.path, v.Rss]), 'as the whole text parses');
  t.ok(vmas.filter((v) => v.path !== '').every((v) => v.path === `${name}-0` || v.path === `${name}-1`), 'every name whole');
  t.equal(vmas[0]!.VmFlags, vmas[2999]!.VmFlags, 'VMAs with the same VmFlags share one set');
  t.equal(vmas[0]!.kB.Size, 4096, 'kB fields');
  t.equal(vmas[0]!.kB.Nonexistent, undefined, 'a field the kernel did not show is undefined');
});

t.test('live: smaps of a sleep matches its maps', async (t) => {
  const sleep = await startSleep(t);
  const smaps = readSmaps(sleep.pid);
  const maps = readMaps(sleep.pid);
  t.same(smaps.map((v) => [v.start, v.end, v.path]), maps.map((v) => [v.start, v.end, v.path]));
  const stack = smaps.find((v) => v.kind === 'stack');
  t.ok(stack?.VmFlags.has('gd'), 'the stack is grows-down');
  t.ok(smaps.every((v) => v.VmFlags.has('mr') || v.kind === 'vsyscall'), 'VmFlags read for every VMA');
});
