import t from 'tap';
import { SyscallError } from '@criu-ts/base';
import { openPagemap, pfnOf, PM, readPagemap, readZeroPagePfn } from './pagemap.js';
import { presentRuns } from './pagemap-runs.js';
import { killTask, startSleep, startTask, thrown } from './live-task.fixture.js';

const PAGE = 4096n;
const BASE = 0x7f0000000000n;
const ZERO = (5n << 32n) | 0x12345678n;
const present = (pfn: bigint, ...bits: bigint[]): bigint => bits.reduce((e, b) => e | b, PM.PRESENT | pfn);

function synthetic(): BigUint64Array {
  return BigUint64Array.from([
    0n, // 0: not mapped
    present(100n, PM.EXCLUSIVE), // 1
    present(101n, PM.EXCLUSIVE), // 2
    present(5n, PM.FILE), // 3
    PM.SWAPPED | (77n << 5n) | 1n, // 4: swap offset 77, type 1
    PM.SWAPPED | (78n << 5n) | 1n, // 5
    present(ZERO), // 6: the zero page
    present(ZERO), // 7
    present(102n, PM.EXCLUSIVE), // 8
    present(103n, PM.EXCLUSIVE, PM.SOFT_DIRTY), // 9
    present(1n << 40n, PM.EXCLUSIVE), // 10: a PFN above 32 bits
    present(ZERO + (1n << 32n)), // 11: same low word as the zero page, not it
  ]);
}

const run = (page: number, pages: number, flags: Partial<Record<'present' | 'swapped' | 'file' | 'exclusive' | 'softDirty', boolean>>) => ({
  start: BASE + BigInt(page) * PAGE, pages,
  present: false, swapped: false, file: false, exclusive: false, softDirty: false, ...flags,
});

t.test('presentRuns: maximal runs split on flag changes, zero page skipped', async (t) => {
  t.same(presentRuns(synthetic(), BASE, { zeroPfn: ZERO }), [
    run(1, 2, { present: true, exclusive: true }),
    run(3, 1, { present: true, file: true }),
    run(4, 2, { swapped: true }),
    run(8, 1, { present: true, exclusive: true }),
    run(9, 1, { present: true, exclusive: true, softDirty: true }),
    run(10, 1, { present: true, exclusive: true }),
    run(11, 1, { present: true }),
  ]);
  const noZero = presentRuns(synthetic(), BASE);
  t.same(noZero[3], run(6, 2, { present: true }), 'without a zero PFN the zero page is dumped');
});

t.test('presentRuns on a subarray, empty and all-absent input', async (t) => {
  const entries = synthetic().subarray(6);
  t.same(presentRuns(entries, BASE + 6n * PAGE, { zeroPfn: ZERO })[0], run(8, 1, { present: true, exclusive: true }));
  t.same(presentRuns(new BigUint64Array(0), BASE), []);
  t.same(presentRuns(new BigUint64Array(1000), BASE), []);
});

t.test('presentRuns: uffd-wp pte markers (swap type 31) are not pages', async (t) => {
  const UFFD_WP = 1n << 57n;
  const marker = PM.SWAPPED | UFFD_WP | 31n;
  const entries = BigUint64Array.from([present(100n), marker, marker, PM.SWAPPED | (9n << 5n) | 2n, marker]);
  t.same(presentRuns(entries, BASE), [run(0, 1, { present: true }), run(3, 1, { swapped: true })]);
});

t.test('pfnOf', async (t) => {
  t.equal(pfnOf(present(42n, PM.EXCLUSIVE)), 42n);
  t.equal(pfnOf(PM.SWAPPED | 99n), undefined);
  t.equal(pfnOf(0n), undefined);
});

// Maps 32 anonymous pages, writes pages 0-3 and 10, only reads 20-23
// (which maps the zero page there), prints the address and waits.
const PYTHON = `
import ctypes, mmap, sys
m = mmap.mmap(-1, 32 * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for i in (0, 1, 2, 3, 10): m[i * 4096] = 1
seen = sum(m[i * 4096] for i in (20, 21, 22, 23))
print(hex(ctypes.addressof(ctypes.c_char.from_buffer(m))), flush=True)
sys.stdin.read()
`;

t.test('live: pagemap of a process with written, read-only and untouched pages', async (t) => {
  const task = await startTask(t, '/usr/bin/python3', ['-c', PYTHON], true);
  const addr = BigInt(task.line);
  const zero = readZeroPagePfn(task.pid, addr + 21n * PAGE);
  t.ok(zero > 0n, 'PFNs are visible to root');
  const entries = readPagemap(task.pid, addr, addr + 32n * PAGE);
  t.equal(entries.length, 32);
  t.equal(pfnOf(entries[22]), zero, 'every read-only page is the zero page');
  t.same(presentRuns(entries, addr, { zeroPfn: zero }), [
    { start: addr, pages: 4, present: true, swapped: false, file: false, exclusive: true, softDirty: false },
    { start: addr + 10n * PAGE, pages: 1, present: true, swapped: false, file: false, exclusive: true, softDirty: false },
  ]);
  t.match(presentRuns(entries, addr)[2], { start: addr + 20n * PAGE, pages: 4, present: true, exclusive: false });
  const reader = openPagemap(task.pid, { chunkBytes: 64 });
  t.teardown(() => reader.close());
  t.same(reader.read(addr, addr + 32n * PAGE), entries, 'reading in 8-entry chunks gives the same entries');
  t.throws(() => reader.read(addr + 1n, addr + PAGE), { code: 'EINVAL' });
  t.throws(() => readZeroPagePfn(task.pid, addr + 31n * PAGE), { code: 'ENOZEROPAGE' });
});

t.test('live: pagemap of a task that is gone', async (t) => {
  const sleep = await startSleep(t);
  await killTask(sleep.child);
  const error = thrown(() => readPagemap(sleep.pid, 0x400000n, 0x401000n));
  t.ok(error instanceof SyscallError);
  t.match(error, { code: 'ENOENT', pid: sleep.pid, path: `/proc/${sleep.pid}/pagemap` });
});
