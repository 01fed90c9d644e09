export * from './dump-context.js';
export * from './kind.js';
export { taskKinds } from './registry.js';
export * from './memory/index.js';
export { filesKind, fdKinds, fdKindOf, type FdKind, type FdDumpEnv, type OpenFd } from './files/index.js';
export { fsKind } from './fs/fs-kind.js';
export { coreKind, coreSnapshotKind, criuNamespaceIds, taskNamespaceIds, sighandId, probeXsaveLayout, putXsaveComponents, type CoreEntry, type NamespaceIds, type XsaveLayout } from './core/index.js';
export * from './restore-context.js';
export { ttyKind, ttyTreeKind } from './files/tty/index.js';
