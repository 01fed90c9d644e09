// The tree's own time namespace (time_namespaces(7)): timens-ID.img
// {monotonic, boottime}, the two clocks as the namespace shows them at the
// dump (the host's clocks plus the namespace's /proc/PID/timens_offsets),
// as upstream writes it. Restore, in the root right after it is made (it is
// alone then, as setns(2) into a time namespace requires): unshare(2)
// CLONE_NEWTIME, offsets written to /proc/ROOT/timens_offsets so that both
// clocks go on from the dumped values, then setns into its
// time_for_children — upstream's order (the offsets can be written only
// before any task is in the namespace). A tree without one gets
// timens-0.img instead (timens-kind.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { CLONE, SYS } from '@criu-ts/kernel';
import { imagePath, readOne, writeImage } from '@criu-ts/images';
import { clockNow } from './timens-kind.js';
import type { NamespaceKind } from './namespace.js';

const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const NSEC = 1_000_000_000n;
const AT_FDCWD = -100;

type Timespec = { tv_sec: bigint; tv_nsec: bigint };

const nanos = (ts: Timespec): bigint => ts.tv_sec * NSEC + ts.tv_nsec;

function timespecOf(ns: bigint): Timespec {
  const sec = ns >= 0n ? ns / NSEC : -((-ns + NSEC - 1n) / NSEC);
  return { tv_sec: sec, tv_nsec: ns - sec * NSEC };
}

/** /proc/PID/timens_offsets: "monotonic SEC NSEC" / "boottime SEC NSEC" lines, in ns. */
export function parseTimensOffsets(text: string, source: string): { monotonic: bigint; boottime: bigint } {
  const offsets = { monotonic: 0n, boottime: 0n };
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const m = /^(monotonic|boottime|1|7)\s+(-?\d+)\s+(\d+)$/.exec(line.trim());
    if (m === null) throw new CriuError(`${source}: unexpected line ${JSON.stringify(line)}`, { code: 'EINVAL' });
    const key = m[1] === 'monotonic' || m[1] === '1' ? 'monotonic' : 'boottime';
    offsets[key] = BigInt(m[2]!) * NSEC + BigInt(m[3]!);
  }
  return offsets;
}

export const timeNamespace: NamespaceKind = {
  name: 'time',
  cloneFlag: CLONE.NEWTIME,
  images: ['timens'],
  unshared: true,
  dump(ctx, id, pid) {
    const path = `/proc/${pid}/timens_offsets`;
    const offsets = parseTimensOffsets(readFileSync(path, 'utf8'), path);
    const entry = {
      monotonic: timespecOf(nanos(clockNow(CLOCK_MONOTONIC)) + offsets.monotonic),
      boottime: timespecOf(nanos(clockNow(CLOCK_BOOTTIME)) + offsets.boottime),
    };
    writeImage(imagePath(ctx.options.imagesDir, 'timens', id), 'timens', [entry]);
    ctx.log.info(`time namespace ${id}: monotonic ${entry.monotonic.tv_sec}s, boottime ${entry.boottime.tv_sec}s`);
  },
  restore(ctx, id, root) {
    const entry = readOne(ctx.options.imagesDir, 'timens', id);
    const injector = ctx.injector(root.pid);
    injector.call('unshare(CLONE_NEWTIME)', SYS.unshare, [CLONE.NEWTIME]);
    const monotonic = timespecOf(nanos(entry.monotonic) - nanos(clockNow(CLOCK_MONOTONIC)));
    const boottime = timespecOf(nanos(entry.boottime) - nanos(clockNow(CLOCK_BOOTTIME)));
    writeFileSync(`/proc/${root.pid}/timens_offsets`, `${CLOCK_MONOTONIC} ${monotonic.tv_sec} ${monotonic.tv_nsec}\n${CLOCK_BOOTTIME} ${boottime.tv_sec} ${boottime.tv_nsec}\n`);
    const path = ctx.scratch(root.pid).write(Buffer.from('/proc/self/ns/time_for_children\0'));
    const fd = injector.call('open(time_for_children)', SYS.openat, [AT_FDCWD, path, 0o2000000, 0]);
    try {
      injector.call('setns(CLONE_NEWTIME)', SYS.setns, [fd, CLONE.NEWTIME]);
    } finally {
      injector.call('close', SYS.close, [fd]);
    }
    ctx.log.info(`time namespace ${id}: offsets monotonic ${monotonic.tv_sec}s, boottime ${boottime.tv_sec}s`);
  },
};
