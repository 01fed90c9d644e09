// The clocks of the time namespace the tree runs in: timens-0.img
// (timens_entry {monotonic, boottime}) with CLOCK_MONOTONIC and
// CLOCK_BOOTTIME read once every task is dumped, as upstream CRIU writes it
// for a tree without a time namespace of its own. Upstream's restore puts
// the tree in a new time namespace whose offsets make both clocks go on
// from these values (without the image it warns "Clocks values have not
// been dumped" and leaves the clocks as they are). Our restore does not
// read it yet: the tree stays in the restoring host's time namespace.
// A tree with a time namespace of its own gets timens-ID.img instead
// (time-ns.ts). See time_namespaces(7), clock_gettime(2).
import { imagePath, writeImage } from '@criu-ts/images';
import { SYS, syscall } from '@criu-ts/kernel';
import type { TaskKind } from '../kind.js';
import { treeNamespaces } from '../core/kobj-ids.js';

const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;

/** clock_gettime(2) of one clock, as timespec {tv_sec, tv_nsec}. */
export function clockNow(clock: number): { tv_sec: bigint; tv_nsec: bigint } {
  const ts = Buffer.alloc(16);
  syscall(SYS.clock_gettime, clock, ts);
  return { tv_sec: ts.readBigInt64LE(0), tv_nsec: ts.readBigInt64LE(8) };
}

export const timensKind: TaskKind = {
  name: 'timens',
  images: ['timens'],
  dump() {
    // nothing per task: the clocks are the namespace's, read once in afterTasks
  },
  afterTasks(ctx) {
    if (treeNamespaces(ctx).some((ns) => ns.kind.name === 'time')) return;
    const entry = { monotonic: clockNow(CLOCK_MONOTONIC), boottime: clockNow(CLOCK_BOOTTIME) };
    writeImage(imagePath(ctx.options.imagesDir, 'timens', 0), 'timens', [entry]);
    ctx.log.debug(`timens: monotonic ${entry.monotonic.tv_sec}s, boottime ${entry.boottime.tv_sec}s`);
  },
};
