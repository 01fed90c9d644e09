// pidfd_open(2) / CLONE_PIDFD files: pidfd_entry {id, ino, flags, nspid,
// fown} in files.img, type PIDFD. nspid is the last NSpid of fdinfo, -1
// once the task was reaped; ino is the pidfs inode, which tells the pidfds
// of one dead task apart from another's. A pidfd of a live task must point
// into the dumped tree (it exists again on restore); a PIDFD_THREAD pidfd
// is refused (as CRIU 4.2 does). Restore: pidfd_open(nspid) once the tree
// exists; the pidfds of one dead task are all opened on one throwaway task
// (an orphaned `sleep` we adopt), which is then killed and reaped, so they
// share an inode and the task stays dead. Only PIDFD_NONBLOCK is kept.
import { spawnSync } from 'node:child_process';
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { O, PIDFD, PR, SIG, WAIT, kill, pidfdOpen, prctl, waitpidWithin, wifexited, wifsignaled } from '@criu-ts/kernel';
import { FdTypes, type PidfdEntry } from '@criu-ts/images';
import { imagePidOf, type RestoreContext } from '../restore-context.js';
import type { FdKind } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import { closingOnError, restoreFown } from './open-path.js';
import { keepOwnFd, restoreFiles } from './restore-table.js';

const WAIT_MS = 5000;

/** An orphaned `sleep` re-parented to us (a child subreaper for the moment), so we reap it ourselves. */
function startThrowaway(): number {
  const flag = Buffer.alloc(4);
  prctl(PR.GET_CHILD_SUBREAPER, flag);
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  try {
    const sh = spawnSync('sh', ['-c', 'sleep 60 </dev/null >/dev/null 2>&1 & echo $!'], { encoding: 'utf8', timeout: WAIT_MS });
    const pid = Number(sh.stdout?.trim());
    if (!(pid > 0)) throw new CriuError(`pidfd: could not start a task for dead pidfds (sleep): ${sh.stderr ?? sh.error?.message ?? ''}`);
    return pid;
  } finally {
    prctl(PR.SET_CHILD_SUBREAPER, flag.readInt32LE(0));
  }
}

function killAndReap(pid: number): void {
  kill(pid, SIG.KILL);
  for (;;) {
    const { status } = waitpidWithin(pid, WAIT.__WALL, WAIT_MS);
    if (wifexited(status) || wifsignaled(status)) return;
  }
}

/** pidfd_open flags from the saved open flags. */
const openFlags = (pidfd: PidfdEntry): number => pidfd.flags & PIDFD.NONBLOCK;

/**
 * Opens a pidfd for every entry of dead task `ino` on one throwaway task,
 * which is then killed and reaped; our fds by entry id.
 */
function openDead(ctx: RestoreContext, ino: number): Map<number, number> {
  const entries = [...restoreFiles(ctx).entries.values()].flatMap((e) => (e.pidfd?.nspid === -1 && e.pidfd.ino === ino ? [e.pidfd] : []));
  const fds = new Map<number, number>();
  const pid = startThrowaway();
  try {
    for (const pidfd of entries) fds.set(pidfd.id, keepOwnFd(ctx, pidfdOpen(pid, openFlags(pidfd))));
  } finally {
    killAndReap(pid);
  }
  ctx.log.info(`pidfd: ${entries.length} pidfd(s) of dead task (ino ${ino}) opened on throwaway task ${pid}, now reaped`);
  return fds;
}

function deadPidfd(ctx: RestoreContext, pidfd: PidfdEntry): number {
  const byIno = ctx.shared('files.pidfd.dead', () => new Map<number, Map<number, number>>());
  let fds = byIno.get(pidfd.ino);
  if (fds === undefined) {
    fds = openDead(ctx, pidfd.ino);
    byIno.set(pidfd.ino, fds);
  }
  const fd = fds.get(pidfd.id);
  if (fd === undefined) throw new CriuError(`pidfd ${pidfd.id}: no pidfd was opened for it`, { code: 'EIMAGE' });
  // the files kind keeps what open() returns; ours is kept already
  restoreFiles(ctx).own.delete(fd);
  return fd;
}

export const pidfdKind: FdKind = {
  name: 'pidfd',
  type: FdTypes.PIDFD,
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'pidfd',
  dump(env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'pidfd') throw anonMismatch(fd, 'pidfd');
    if ((fd.flags & PIDFD.THREAD) !== 0) throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: 'pidfd of a thread (PIDFD_THREAD)' });
    const nspid = info.Pid === -1 ? -1 : (info.NSpid.at(-1) ?? info.Pid);
    if (nspid !== -1 && !env.ctx.tasks.some((task) => task.pid === info.Pid)) {
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `pidfd of pid ${info.Pid}, which is outside the dumped tree,` });
    }
    const pidfd: PidfdEntry = { id, ino: Number(fd.stat.ino & 0xffffffffn), flags: fd.flags & ~O.RDWR, nspid, fown: fd.fown };
    env.log.debug(`pidfd id ${id}: pid ${nspid} ino ${pidfd.ino} flags 0${pidfd.flags.toString(8)}`);
    return { type: FdTypes.PIDFD, id, pidfd };
  },
  open(env, entry) {
    const pidfd = entry.pidfd;
    if (pidfd === undefined) throw new CriuError(`files.img entry ${entry.id}: type PIDFD without a pidfd`, { code: 'EIMAGE' });
    // nspid is the tree's pid namespace's number; the tool opens the task by its own
    const here = env.ctx.tasks.find((task) => imagePidOf(env.ctx, task.pid) === pidfd.nspid)?.pid ?? pidfd.nspid;
    const fd = pidfd.nspid === -1 ? deadPidfd(env.ctx, pidfd) : pidfdOpen(here, openFlags(pidfd));
    return closingOnError(fd, (made) => restoreFown(made, pidfd.fown));
  },
};
