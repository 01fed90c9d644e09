// What the dump knows of the tree's own mount namespace once its root is
// dumped (mnt-kind.ts), for the kinds after it: its mounts, and where the
// tool reaches a path of the tree (through /proc/ROOT/root).
import type { DumpContext } from '../dump-context.js';
import type { DumpedMountNs } from './mnt-dump.js';

const SHARED_KEY = 'mnt.namespace';

/** The tree's own mount namespace, once the root task is dumped; undefined if the tree lives in criu's. */
export function dumpedMountNs(ctx: DumpContext): DumpedMountNs | undefined {
  return ctx.shared<{ ns?: DumpedMountNs }>(SHARED_KEY, () => ({})).ns;
}

/**
 * Where the tool finds a path that task `pid` sees: under the namespace's
 * root (/proc/ROOT/root) when the tree has a mount namespace of its own.
 */
export function toolPathOf(ctx: DumpContext, path: string): string {
  const ns = dumpedMountNs(ctx);
  return ns === undefined || !path.startsWith('/') ? path : `/proc/${ns.pid}/root${path}`;
}

/** Records the tree's mount namespace as dumped. */
export function setDumpedMountNs(ctx: DumpContext, ns: DumpedMountNs): void {
  ctx.shared<{ ns?: DumpedMountNs }>(SHARED_KEY, () => ({})).ns = ns;
}
