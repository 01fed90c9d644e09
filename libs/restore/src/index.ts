// @criu-ts/restore: the restore engine (criu(8) "restore"): recreate a
// process tree from CRIU images with its pids, sessions, memory and
// registers, then let it run. See restore-tree.ts.
export { restoreTree, type RestoreRequest, type RestoreResult } from './restore-tree.js';
export { waitForRoot, type RootExit } from './wait-root.js';
export { DEFAULT_HELPER } from './helper-process.js';
export { planSessions, type SessionPlan, type SessionTask, type SessionContext } from './session-plan.js';
export { planVma, VMA, type VmaAction } from './vma-plan.js';
export { regsFromImage, withSyscallRestart, fxsaveArea } from './thread-state.js';
export { readTreeImage, TASK_STATE, type TaskImage, type TreeImage } from './tree-images.js';
export { planReads, runsToRead, type ReadBatch } from './page-fill.js';
export { parseCgroupRoot, type CgroupMode } from '@criu-ts/kinds';
