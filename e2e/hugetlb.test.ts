// hugetlb memory (zdtm maps09, maps10), held by an unmodified python3
// (ctypes for mmap): a private and a shared MAP_HUGETLB mapping of 2 MiB
// each, written, then a fork whose child rewrites its private copy and
// writes the shared one. After the restore each side has its own private
// data, both see the shared data, and the mappings are hugetlb again (same
// device, KernelPageSize 2048 kB). Dumped and restored by ours, and with
// upstream CRIU 4.2 on either side (skipped, saying so, when it is absent
// or when the machine has too few free huge pages).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);
const noUpstream = skipWithoutUpstream();
if (noUpstream !== false) t.comment(noUpstream);
const free = Number(/^HugePages_Free:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
const hugeSize = Number(/^Hugepagesize:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
const noHuge = free >= 8 && hugeSize === 2048 ? false : `skipped: needs 8 free 2 MiB huge pages (HugePages_Free ${free}, Hugepagesize ${hugeSize} kB; echo 20 > /proc/sys/vm/nr_hugepages)`;
if (noHuge !== false) t.comment(noHuge);

const SCRIPT = [
  'import ctypes, hashlib, os, signal, time',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'libc.mmap.restype = ctypes.c_void_p',
  'libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]',
  'M, HUGE = 2 << 20, 0x40000',
  'p = libc.mmap(None, M, 3, 0x22 | HUGE, -1, 0)',
  's = libc.mmap(None, M, 3, 0x21 | HUGE, -1, 0)',
  'assert p not in (None, ctypes.c_void_p(-1).value) and s not in (None, ctypes.c_void_p(-1).value)',
  'fill = lambda addr, seed: ctypes.memmove(addr, (bytes(range(seed, seed + 251)) * (M // 251 + 1))[:M], M)',
  'fill(p, 1); fill(s, 2)',
  'r, w = os.pipe()',
  'child = os.fork()',
  'if child == 0:',
  '    fill(p, 3); fill(s + M // 2, 4)',
  '    os.write(w, b"x")',
  '    signal.signal(signal.SIGUSR1, lambda *a: None)',
  '    while True: signal.pause()',
  'os.read(r, 1)',
  'digest = lambda addr: hashlib.sha1(ctypes.string_at(addr, M)).hexdigest()[:12]',
  'def child_digest(addr):',
  '    with open("/proc/%d/mem" % child, "rb") as f:',
  '        f.seek(addr)',
  '        return hashlib.sha1(f.read(M)).hexdigest()[:12]',
  'def huge_of(pid, addr):',
  '    text = open("/proc/%d/smaps" % pid).read()',
  '    block = text[text.index("%x-" % addr):]',
  '    return block.split()[3] + "/" + block[block.index("KernelPageSize:"):].split()[1]',
  'def check(sig, frame):',
  '    print("state", digest(p), digest(s), child_digest(p), child_digest(s) == digest(s), huge_of(os.getpid(), p), huge_of(os.getpid(), s), huge_of(child, p), flush=True)',
  'signal.signal(signal.SIGUSR1, check)',
  'print("ready", child, flush=True)',
  'while True: time.sleep(0.05)',
].join('\n');

const states = (out: string): string[] => readFileSync(out, 'utf8').match(/^state .*$/gm) ?? [];
const ways: { dump: Side; restore: Side; title: string }[] = [{ dump: 'ours', restore: 'ours', title: 'dumped and restored by ours' }, ...DIRECTIONS];

for (const way of ways) {
  const skip = noHuge !== false ? noHuge : way.dump === 'ours' && way.restore === 'ours' ? false : noUpstream;
  t.test(`hugetlb private and shared memory in a parent and child, ${way.title}`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-huge-');
    const out = join(dir, 'out');
    const script = join(dir, 'huge.py');
    writeFileSync(script, SCRIPT);
    const pid = startBackground(t, out, '/usr/bin/python3', [script]);
    const child = Number(waitOutput(out, /ready (\d+)/, 30_000)[1]);
    t.teardown(() => killAndReap(child));
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state before', () => states(out).length >= 1, 20_000);
    const before = states(out)[0]!;
    t.match(before, /^state (\w{12}) \w{12} (?!\1)\w{12} True (\S+)\/2048 \2\/2048 \2\/2048$/, 'before: the child has its own private data, the shared data is one; hugetlb mappings of 2048 kB pages');
    const images = dumpWith(way.dump, t, dir, pid);
    if (way.dump === 'ours') {
      const inodes = readEntries(images, 'memfd');
      t.same(inodes.map((i) => i.hugetlb_flag), [(21 << 26) | 4], 'the shared one as a hugetlb memfd (MFD_HUGETLB | MFD_HUGE_2MB), as upstream writes it');
    }
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state after', () => states(out).length >= 2, 20_000);
    t.equal(states(out)[1], before, 'after: the same data, device and page size');
    t.end();
  });
}
