export { mntNsKind, dumpedMountNs, toolPathOf } from './mnt-kind.js';
export { restoreMountNamespace, type MountNsRestore } from './mnt-restore.js';
export { rootMountNsId, restorePathOf, setRestoredMountRoot } from './mnt-ns.js';
export { parseMountExternals } from './mount-entries.js';
