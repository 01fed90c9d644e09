// The files kind and its fd kinds.
export { filesKind, dumpTaskFds } from './files-kind.js';
export { fdKinds, fdKindOf, fdKindForType } from './fd-registry.js';
export type { FdKind, FdDumpEnv, FdRestoreEnv } from './fd-kind.js';
export { restoreFiles, keepOwnFd, fileEntry, type RestoreFiles } from './restore-table.js';
export { openFd, readFown, kernelDev, devMajor, devMinor, type OpenFd } from './open-fd.js';
export { peekPipe } from './pipe-data.js';
export { remappedFileFd } from './reg-open.js';
export { readBuildId, buildIdWords } from './build-id.js';
export { ttyKind, ttyTreeKind } from './tty/index.js';
