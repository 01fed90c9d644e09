// The core kind (core-TID.img, ids-PID.img) and the id tables it shares.
export { coreKind, type CoreEntry } from './core-kind.js';
export { coreSnapshotKind, type ThreadSnapshot } from './core-snapshot.js';
export { criuNamespaceIds, taskNamespaceIds, sighandId, NAMESPACE_ORDER, type NamespaceIds, type TaskKobjIds } from './kobj-ids.js';
export { probeXsaveLayout } from './xsave-layout.js';
export { putXsaveComponents, type XsaveLayout } from './x86-fpu.js';
