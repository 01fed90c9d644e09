export { mntNsKind } from './mnt-kind.js';
export { mntNamespace } from './mnt-namespace.js';
export { dumpedMountNs, toolPathOf } from './mnt-state.js';
export { restoreMountNamespace, type MountNsRestore } from './mnt-restore.js';
export { rootMountNsId, restorePathOf, restoredImagesFd, setRestoredMountRoot } from './mnt-ns.js';
export { parseMountExternals } from './mount-entries.js';
