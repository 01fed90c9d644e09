// epoll(7) instances: eventpoll_file_entry {id, flags, fown, tfd[]} in
// files.img, type EVENTPOLL; each watched fd from fdinfo "tfd:" lines as
// eventpoll_tfd_entry {id = the epoll's id, tfd, events, data, dev, inode,
// pos}. A watch whose fd was closed or reused since it was added is saved
// on the fd its file is open at now (epoll-targets.ts, kcmp). Restore: epoll_create1 in
// the tool; the watches need the task's own fd numbers, so they are added
// by epoll_ctl(EPOLL_CTL_ADD) injected into the first task that gets the
// instance, once its fds are all in place (one batch). See epoll_ctl(2).
import { statSync } from 'node:fs';
import { CriuError, errnoOf, errnoName } from '@criu-ts/base';
import { O, SYS, signed64, syscall } from '@criu-ts/kernel';
import { FdTypes, type EventpollTfdEntry } from '@criu-ts/images';
import type { EpollTarget } from '@criu-ts/proc';
import type { FdKind, FdRestoreEnv } from './fd-kind.js';
import { anonMismatch } from './anon-inode.js';
import { watchedFds } from './epoll-targets.js';
import { closingOnError, restoreFown, setStatusFlags } from './open-path.js';

const EPOLL_CTL_ADD = 1;
/** struct epoll_event is packed on x86-64: u32 events, u64 data */
const EPOLL_EVENT_SIZE = 12;

function inodeOfFd(pid: number, fd: number): bigint | undefined {
  try {
    return statSync(`/proc/${pid}/fd/${fd}`, { bigint: true }).ino;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function targetEntry(id: number, t: EpollTarget, tfd: number): EventpollTfdEntry {
  return { id, tfd, events: t.events, data: t.data, dev: t.sdev, inode: BigInt(t.ino), pos: t.pos };
}

/** The watched fds must be open in the task (their inodes are new: pipes, eventfds, ... are made again). */
function checkTargets(pid: number, fd: number, targets: readonly EventpollTfdEntry[]): void {
  const missing = targets.filter((t) => inodeOfFd(pid, t.tfd) === undefined);
  if (missing.length > 0) {
    throw new CriuError(`pid ${pid} epoll fd ${fd}: watched fd(s) ${missing.map((t) => t.tfd).join(', ')} not open after its fds were restored`, {
      code: 'EIMAGE',
    });
  }
}

/** EPOLL_CTL_ADD of every watch, in one injected batch (events in the task's scratch). */
function addWatches(env: FdRestoreEnv, pid: number, fd: number, targets: readonly EventpollTfdEntry[]): void {
  const scratch = env.ctx.scratch(pid);
  if (targets.length * EPOLL_EVENT_SIZE > scratch.size) throw new CriuError(`pid ${pid} epoll fd ${fd}: ${targets.length} watches do not fit the scratch`);
  const events = Buffer.alloc(targets.length * EPOLL_EVENT_SIZE);
  targets.forEach((t, i) => {
    events.writeUInt32LE(t.events, i * EPOLL_EVENT_SIZE);
    events.writeBigUInt64LE(t.data, i * EPOLL_EVENT_SIZE + 4);
  });
  const base = scratch.write(events);
  const calls = targets.map((t, i) => ({ nr: SYS.epoll_ctl, args: [fd, EPOLL_CTL_ADD, t.tfd, base + BigInt(i * EPOLL_EVENT_SIZE)] }));
  env.ctx.injector(pid).batch(calls).forEach((result, i) => {
    const r = signed64(result);
    if (r < 0n) throw new CriuError(`pid ${pid} epoll fd ${fd}: epoll_ctl(ADD, ${targets[i]!.tfd}) failed: ${errnoName(Number(-r))}`, { code: errnoName(Number(-r)) });
  });
}

export const epollKind: FdKind = {
  name: 'epoll',
  type: FdTypes.EVENTPOLL,
  matches: (fd) => fd.target.kind === 'anon_inode' && fd.target.anon === 'epoll',
  dump(env, fd, id) {
    const { info } = fd;
    if (info.kind !== 'epoll') throw anonMismatch(fd, 'epoll');
    const now = watchedFds(fd, info.targets);
    const tfd = info.targets.map((t, i) => targetEntry(id, t, now[i]!));
    info.targets.forEach((t, i) => {
      if (now[i] !== t.tfd) env.log.info(`pid ${fd.pid} epoll fd ${fd.fd}: the watch added as fd ${t.tfd} (since closed or reused) is saved on fd ${now[i]}`);
    });
    return { type: FdTypes.EVENTPOLL, id, epfd: { id, flags: fd.flags, fown: fd.fown, tfd } };
  },
  open(_env, entry) {
    const epfd = entry.epfd!;
    return closingOnError(Number(syscall(SYS.epoll_create1, O.CLOEXEC)), (fd) => {
      setStatusFlags(fd, epfd.flags);
      restoreFown(fd, epfd.fown);
    });
  },
  installed(env, entry, pid, fd) {
    const registered = env.ctx.shared('files.epoll-registered', () => new Set<number>());
    if (registered.has(entry.id)) return 'done';
    const targets = entry.epfd?.tfd ?? [];
    checkTargets(pid, fd, targets);
    if (targets.length > 0) addWatches(env, pid, fd, targets);
    registered.add(entry.id);
    env.log.debug(`pid ${pid} epoll fd ${fd}: ${targets.length} watch(es) added`);
    return 'done';
  },
};
