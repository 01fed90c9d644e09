// timens-0.img: the clocks upstream CRIU saves for a tree without a time
// namespace of its own, read after every task is dumped.
import t from 'tap';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { clockNow, timensKind } from './timens-kind.js';
import { parseTimensOffsets } from './time-ns.js';
import type { DumpContext } from '../dump-context.js';

t.test('afterTasks writes timens-0.img with CLOCK_MONOTONIC and CLOCK_BOOTTIME', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-timens-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = clockNow(1);
  const lines: string[] = [];
  // the kind reads only the images dir and the logger of the context
  const tables = new Map<string, unknown>();
  const shared = <T>(key: string, create: () => T): T => (tables.has(key) ? tables.get(key) : tables.set(key, create()).get(key)) as T;
  const ctx = { options: { imagesDir: dir }, tasks: [], shared, log: { debug: (line: string) => lines.push(line) } } as unknown as DumpContext;
  timensKind.afterTasks!(ctx);
  const after = clockNow(1);
  const entry = readOne(dir, 'timens', 0);
  const ns = (ts: { tv_sec: bigint; tv_nsec: bigint }): bigint => ts.tv_sec * 1_000_000_000n + ts.tv_nsec;
  t.ok(ns(entry.monotonic) >= ns(before) && ns(entry.monotonic) <= ns(after), 'monotonic read during the call');
  t.ok(ns(entry.boottime) >= ns(entry.monotonic), 'boottime is never behind monotonic');
  t.ok(entry.monotonic.tv_nsec < 1_000_000_000n && entry.boottime.tv_nsec < 1_000_000_000n, 'normalized timespecs');
  t.equal(statSync(join(dir, 'timens-0.img')).mode & 0o777, 0o600, 'image file 0600');
  t.match(lines.join('\n'), /timens: monotonic \d+s/);
  t.end();
});

t.test('timens_offsets as the kernel shows them and as it takes them', (t) => {
  t.same(parseTimensOffsets('monotonic     100000         0\nboottime          -5 999999999\n', 'x'), { monotonic: 100000n * 1_000_000_000n, boottime: -5n * 1_000_000_000n + 999999999n });
  t.same(parseTimensOffsets('1 7 5\n', 'x'), { monotonic: 7_000_000_005n, boottime: 0n }, 'by clock id too');
  t.throws(() => parseTimensOffsets('monotonic x 0\n', '/proc/1/timens_offsets'), /\/proc\/1\/timens_offsets: unexpected line/);
  t.end();
});
