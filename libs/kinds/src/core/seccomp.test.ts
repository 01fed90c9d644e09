import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError, UnsupportedError, defaultLogger } from '@criu-ts/base';
import { imagePath, writeImage, type Messages } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';
import { SECCOMP_FILTER_FLAG, addChain, chainIndices, newSeccompTable, sameChain, type SeccompFilter } from './seccomp-filters.js';
import { shareByTsync, type ThreadSeccomp } from './seccomp.js';
import { planTaskSeccomp } from './seccomp-restore.js';

const program = (byte: number, insns = 1): Buffer => Buffer.alloc(insns * 8, byte);
const f = (byte: number, flags = 0): SeccompFilter => ({ program: program(byte), flags });

t.test('addChain: upstream layout, first to install first, identical chain ends once', (t) => {
  const table = newSeccompTable();
  const a = addChain(table, [f(1), f(2), f(3)]);
  t.same(table.entries.map((e) => [e.filter[0], e.prev]), [[3, undefined], [2, 0], [1, 1]], 'newest written first; each prev names the next installed');
  t.equal(a, 2, 'the thread points at its oldest filter');
  t.same(chainIndices(table.entries, a, 'x'), [2, 1, 0], 'read back in install order');
  t.equal(addChain(table, [f(1), f(2), f(3)]), a, 'the same chain again adds nothing');
  t.equal(table.entries.length, 3);
  const b = addChain(table, [f(9), f(2), f(3)]);
  t.equal(table.entries.length, 4, 'a chain ending alike shares its end');
  t.same(chainIndices(table.entries, b, 'x').map((i) => table.entries[i]!.filter[0]), [9, 2, 3]);
  const c = addChain(table, [f(1), f(2), f(3, SECCOMP_FILTER_FLAG.LOG)]);
  t.same(chainIndices(table.entries, c, 'x').map((i) => table.entries[i]!.flags), [0, 0, SECCOMP_FILTER_FLAG.LOG], 'flags tell filters apart');
  t.equal(table.entries.length, 7);
  t.throws(() => addChain(table, []), RangeError);
  t.end();
});

t.test('chainIndices: refuses bad indices, loops and bad programs', (t) => {
  const ok = { filter: program(1), flags: 0 };
  t.throws(() => chainIndices([ok], 1, 'img'), ImageError, 'index past the end');
  t.throws(() => chainIndices([{ ...ok, prev: 1 }, { ...ok, prev: 0 }], 0, 'img'), /loop/, 'prev loop');
  t.throws(() => chainIndices([{ filter: Buffer.alloc(12), flags: 0 }], 0, 'img'), /12 bytes/, 'not whole instructions');
  t.throws(() => chainIndices([{ filter: Buffer.alloc(0), flags: 0 }], 0, 'img'), ImageError, 'empty program');
  t.throws(() => chainIndices([{ filter: program(0, 4097), flags: 0 }], 0, 'img'), ImageError, 'longer than BPF_MAXINSNS');
  t.same(chainIndices([{ filter: program(0, 4096), flags: 0 }], 0, 'img'), [0]);
  t.end();
});

t.test('shareByTsync: upstream rule for threads that all hold the leader\'s filters', (t) => {
  const thread = (tid: number, mode: 0 | 1 | 2, chain: SeccompFilter[]): ThreadSeccomp => ({ tid, mode, chain });
  const shared = shareByTsync([thread(1, 2, [f(1), f(2, 2)]), thread(2, 2, [f(1), f(2, 2)])]);
  t.same(shared.map((s) => [s.tid, s.mode, s.chain.map((x) => x.flags)]), [[1, 2, [1, 3]], [2, 0, []]], 'leader keeps them with TSYNC, the other gets none');
  t.same(shareByTsync([thread(1, 2, [f(1)])])[0]!.chain[0]!.flags, 1, 'a single thread: TSYNC too, as upstream');
  const differ = [thread(1, 2, [f(1)]), thread(2, 2, [f(1), f(2)])];
  t.same(shareByTsync(differ), differ, 'different chains: unchanged');
  const strict = [thread(1, 2, [f(1)]), thread(2, 1, [])];
  t.same(shareByTsync(strict), strict, 'a thread in strict mode: unchanged');
  t.same(shareByTsync([thread(1, 0, []), thread(2, 2, [f(1)])])[1]!.chain[0]!.flags, 0, 'leader without filters: unchanged');
  t.ok(sameChain([f(1)], [f(1)]) && !sameChain([f(1)], [f(1, 2)]) && !sameChain([f(1)], [f(1), f(1)]));
  t.end();
});

function fakeContext(dir: string): RestoreContext {
  const shared = new Map<string, unknown>();
  const none = (): never => {
    throw new Error('not in this test');
  };
  return {
    options: { imagesDir: dir, shellJob: false, leaveStopped: false, fileLocks: false, tcpEstablished: false, inheritFds: [] },
    log: defaultLogger(),
    tasks: [],
    injector: none,
    scratch: none,
    shared: <T>(key: string, create: () => T): T => {
      if (!shared.has(key)) shared.set(key, create());
      return shared.get(key) as T;
    },
  };
}

type TaskCore = Messages['task_core_entry'];
const tc: TaskCore = { task_state: 1, exit_code: 0, personality: 0, flags: 0, blk_sigset: 0n, comm: 'x' };
const futex = { futex_rla: 0n, futex_rla_len: 0 };

t.test('planTaskSeccomp: reads the chains, old per-task fields, refuses what cannot be restored', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-seccomp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const none = planTaskSeccomp(fakeContext(dir), { tc, threads: [{ tid: 5, core: futex, image: 'core-5' }] });
  t.equal(none, undefined, 'no mode anywhere: nothing to do, and seccomp.img need not exist');
  const table = newSeccompTable();
  const first = addChain(table, [f(1), f(2)]);
  const listener = addChain(table, [f(3, SECCOMP_FILTER_FLAG.NEW_LISTENER)]);
  writeImage(imagePath(dir, 'seccomp'), 'seccomp', [{ seccomp_filters: table.entries }]);
  const plan = planTaskSeccomp(fakeContext(dir), {
    tc,
    threads: [
      { tid: 5, core: { ...futex, seccomp_mode: 2, seccomp_filter: first }, image: 'core-5' },
      { tid: 6, core: futex, image: 'core-6' },
      { tid: 7, core: { ...futex, seccomp_mode: 1 }, image: 'core-7' },
    ],
  });
  t.same(plan?.threads, [{ tid: 5, mode: 2, chain: [1, 0], forceTsync: false }, { tid: 7, mode: 1, chain: [], forceTsync: false }]);
  const old = planTaskSeccomp(fakeContext(dir), { tc: { ...tc, old_seccomp_mode: 2, old_seccomp_filter: first }, threads: [{ tid: 5, core: futex, image: 'core-5' }] });
  t.same(old?.threads, [{ tid: 5, mode: 2, chain: [1, 0], forceTsync: true }], 'old images: the leader takes tc\'s fields, installed with TSYNC');
  const plan1 = (core: Messages['thread_core_entry']): unknown => planTaskSeccomp(fakeContext(dir), { tc, threads: [{ tid: 5, core, image: 'core-5' }] });
  t.throws(() => plan1({ ...futex, seccomp_mode: 2, seccomp_filter: listener }), UnsupportedError, 'a user-notification filter is refused');
  t.throws(() => plan1({ ...futex, seccomp_mode: 2 }), /without seccomp_filter/, 'filter mode without an index');
  t.throws(() => plan1({ ...futex, seccomp_mode: 2, seccomp_filter: 9 }), /does not exist/, 'index past the image');
  t.end();
});
