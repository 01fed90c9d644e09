export { dumpTree, preDumpTree, checkImagesDir, type DumpRequest, type DumpResult } from './dump-tree.js';
export { freezeTree, type FreezeOptions } from './freeze.js';
export { releaseThreads, killTasks, waitForStop } from './thread-stop.js';
export type { FrozenTask, FrozenThread, FrozenTree } from './task-tree.js';
export { walkTree, liveThreads } from './task-tree.js';
export { parseCgroupRoot, type CgroupMode } from '@criu-ts/kinds';
