// @criu-ts/kernel: the kernel calls dump, restore and check make, as typed
// wrappers that throw SyscallError, over a raw ffi-rs layer (the only
// importer of ffi-rs in the project).
export { bufferAddress, bufferAddresses, callLibrary, type RawArg } from './ffi.js';
export * from './sys-numbers.js';
export * from './ptrace-constants.js';
export * from './signal-constants.js';
export * from './mm-constants.js';
export * from './task-constants.js';
export { syscall, trySyscall, syscallName, signed64, unsigned64 } from './syscall.js';
export * from './regs.js';
export * from './ptrace.js';
export * from './ptrace-query.js';
export * from './wait.js';
export * from './memory.js';
export * from './pidfd.js';
export * from './process.js';
export * from './fd-calls.js';
export * from './socket-calls.js';
export * from './netlink-diag.js';
export * from './packet-diag.js';
export * from './unix-socket-calls.js';
export * from './uffd.js';
export * from './fs-context.js';
