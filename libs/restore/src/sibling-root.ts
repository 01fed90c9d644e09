// -S/--restore-sibling and RPC rst_sibling: the root task is made a child
// of criu's parent (the RPC client that started `criu swrk`, or the shell
// that ran `criu restore -S`), as upstream makes it with clone(CLONE_PARENT)
// from criu itself. The tool, a grandchild of criu-launcher in swrk, cannot
// do that; the launcher (native/criu-launcher.c), criu's own pid, can: on
// its channel we ask it for a task with the root's pid, which it clones
// with set_tid and CLONE_PARENT. The new task is a copy of the launcher that
// waits, bounded, on a pidfd of this tool; we seize it there (with the
// helper's trace options: every task cloned from it is traced, and all die
// with the tool) and build the root from it as from a task cloned out of
// the helper. It is not our child: a failed restore kills it (we reap it
// as its tracer) and its real parent gets the exit, as with upstream.
import { readSync, writeSync } from 'node:fs';
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import { WAIT, pollIn, ptraceInterrupt, ptraceSeize, waitpidWithin, wifstopped } from '@criu-ts/kernel';
import { TRACE_OPTIONS } from './helper-process.js';

const OP_CLONE_SIBLING = 1;
/** the same, cloned into new namespaces too (the tree's own: CLONE_NEW* flags, and its pid in a new pid namespace) */
const OP_CLONE_SIBLING_NS = 2;
const EEXIST = 17;

/** The namespaces a sibling root is cloned into: CLONE_NEW* flags, and its pid in a new pid namespace (1). */
export interface SiblingNamespaces {
  flags: bigint;
  nsPid: number;
}

function askLauncher(channel: number, pid: number, timeoutMs: number, ns?: SiblingNamespaces): number {
  const request = Buffer.alloc(ns === undefined ? 12 : 24);
  request.writeUInt32LE(ns === undefined ? OP_CLONE_SIBLING : OP_CLONE_SIBLING_NS, 0);
  request.writeInt32LE(pid, 4);
  request.writeInt32LE(process.pid, 8);
  if (ns !== undefined) {
    request.writeInt32LE(ns.nsPid, 12);
    request.writeBigUInt64LE(ns.flags, 16);
  }
  writeSync(channel, request);
  if (!pollIn(channel, timeoutMs)) throw new CriuError(`criu-launcher did not answer within ${timeoutMs} ms for the root task ${pid}`, { code: 'ETIMEDOUT' });
  const reply = Buffer.alloc(4);
  if (readSync(channel, reply) !== reply.length) throw new CriuError('criu-launcher closed its channel', { code: 'ECONNRESET' });
  return reply.readInt32LE(0);
}

/**
 * Has criu-launcher make task `pid` as a child of criu's parent, then seizes
 * and stops it; `made` is called as soon as it exists (so a failure after
 * that kills it).
 */
export function makeSiblingRoot(channel: number, pid: number, made: (pid: number) => void, log: Logger, timeoutMs: number, ns?: SiblingNamespaces): void {
  const result = askLauncher(channel, pid, timeoutMs, ns !== undefined && ns.flags !== 0n ? ns : undefined);
  if (result === -EEXIST) throw new CriuError(`pid ${pid} is already in use on this system: cannot restore it`, { code: 'EEXIST' });
  if (result < 0) throw new SyscallError({ syscall: 'clone3', errno: -result, pid, path: 'in criu-launcher' });
  if (result !== pid) throw new CriuError(`criu-launcher made pid ${result}, not ${pid}`);
  made(pid);
  ptraceSeize(pid, TRACE_OPTIONS);
  ptraceInterrupt(pid);
  const { status } = waitpidWithin(pid, WAIT.__WALL, timeoutMs);
  if (!wifstopped(status)) throw new CriuError(`root task ${pid} did not stop once seized (wait status 0x${status.toString(16)})`);
  log.debug(`root task ${pid} made by criu-launcher as a child of criu's parent, seized`);
}
