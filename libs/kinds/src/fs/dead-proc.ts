// A cwd or root inside a dead task's /proc/PID (zdtm unhashed_proc): the
// directory can only be entered while a task with that pid lives. As
// upstream brings up a helper task with the pid, a short-lived child with
// it is cloned from the task being restored (clone3 with set_tid; it
// stops at once, auto-attached as the task is traced), the task enters
// the directory, and the child is killed and reaped by the task: the
// directory it entered is unhashed again, getcwd(3) says ENOENT as before.
// A pid taken meanwhile is an error naming it. See clone3(2), proc(5).
import { CriuError, SyscallError } from '@criu-ts/base';
import { CLONE_ARGS_SIZE, SIG, SYS, WAIT, kill, waitpidWithin } from '@criu-ts/kernel';
import type { RestoreContext } from '../restore-context.js';

const WAIT_MS = 10_000;
/** the child's pid and clone_args go at the end of the scratch, clear of the paths the fs kind put at its start */
const CLONE_BYTES = 128;

function cloneArgs(setTid: bigint): Buffer {
  const args = Buffer.alloc(CLONE_ARGS_SIZE.VER2);
  args.writeBigUInt64LE(BigInt(SIG.CHLD), 32);
  args.writeBigUInt64LE(setTid, 64);
  args.writeBigUInt64LE(1n, 72);
  return args;
}

/** Runs `enter` in task `pid` while a child of it with pid `deadPid` lives; the child is reaped after. */
export function whileDeadPidLives<T>(ctx: RestoreContext, pid: number, deadPid: number, enter: () => T): T {
  const scratch = ctx.scratch(pid);
  const setTid = scratch.write(Buffer.from(new Int32Array([deadPid]).buffer), scratch.size - CLONE_BYTES);
  const args = scratch.write(cloneArgs(setTid), scratch.size - CLONE_BYTES + 8);
  const injector = ctx.injector(pid);
  try {
    const got = injector.call('clone3', SYS.clone3, [args, CLONE_ARGS_SIZE.VER2]);
    if (got !== BigInt(deadPid)) throw new CriuError(`pid ${pid}: clone3 made pid ${got}, not ${deadPid}`);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'EEXIST') {
      throw new CriuError(`pid ${deadPid}, dead when dumped (pid ${pid} had a directory of its /proc), is in use now: cannot restore`, { code: 'EEXIST', cause: error });
    }
    throw error;
  }
  waitpidWithin(deadPid, WAIT.__WALL, WAIT_MS);
  try {
    return enter();
  } finally {
    kill(deadPid, SIG.KILL);
    waitpidWithin(deadPid, WAIT.__WALL, WAIT_MS);
    injector.call('wait4', SYS.wait4, [deadPid, 0, WAIT.__WALL, 0]);
    ctx.log.info(`pid ${pid}: entered /proc/${deadPid} while a stand-in with that pid lived; it is reaped`);
  }
}
