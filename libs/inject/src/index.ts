// @criu-ts/inject: run system calls inside a seized, stopped thread and put
// it back (our compel). See injector.ts.
export { batchOnThreads, callsChecked, checkResults, inThreadGroups, openInjector, type ThreadBatch, type FixedBatchArea, type Injector, type InjectorOptions, type NamedCall, type Scratch, type SyscallArg, type BatchCall } from './injector.js';
export { type BatchArg, type ResultRef } from './syscall-batch.js';
export { chooseTrampolineSite, findTrampolineSite, type TrampolineSite } from './trampoline-site.js';
export { TRAMPOLINE } from './run-to-trap.js';
export { TOOL_PIDFD_SCRATCH, nsTidOf, seesTool, takeOurFd, toolPidfd } from './tool-pidfd.js';
