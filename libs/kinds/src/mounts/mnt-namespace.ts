// The mount namespace in the namespace framework (ns/namespace.ts,
// registered in ns/registry.ts). Its mounts are dumped early, with the
// root (mnt-kind.ts), since the kinds after it resolve the tree's paths in
// it; here: the dump step once every task is dumped saves the tmpfs files
// (so a --link-remap link goes with them, as upstream's order has it), and
// the restore hook, in the root right after its clone with CLONE_NEWNS,
// rebuilds the mounts (mnt-restore.ts) and makes the tree's paths
// reachable through the root (mnt-ns.ts).
import { CLONE } from '@criu-ts/kernel';
import type { NamespaceKind } from '../ns/namespace.js';
import { dumpTmpfsContents } from './mnt-dump.js';
import { restoreMountNamespace } from './mnt-restore.js';
import { setRestoredMountRoot } from './mnt-ns.js';
import { dumpedMountNs } from './mnt-state.js';
import { parseMountExternals } from './mount-entries.js';

export const mntNamespace: NamespaceKind = {
  name: 'mnt',
  cloneFlag: CLONE.NEWNS,
  images: ['mountpoints', 'tmpfs-dev'],
  dump(ctx) {
    const ns = dumpedMountNs(ctx);
    if (ns !== undefined) dumpTmpfsContents(ctx, ns);
  },
  restore(ctx, id, root) {
    const o = ctx.options;
    const ext = parseMountExternals(o.external ?? [], o.extMountMap ?? []);
    const scratch = ctx.scratch(root.pid);
    const imagesFd = restoreMountNamespace({
      injector: ctx.injector(root.pid),
      write: (buf, offset) => scratch.write(buf, offset),
      scratchSize: scratch.size,
      imagesDir: o.imagesDir,
      nsId: id,
      root: o.root,
      externals: ext.map,
      autoDetect: ext.auto,
      log: ctx.log.child('mnt'),
    });
    setRestoredMountRoot(ctx, root.pid, imagesFd);
  },
};
