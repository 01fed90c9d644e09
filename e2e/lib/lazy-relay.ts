// A relay between `criu restore --lazy-pages` and `criu lazy-pages`, for
// tests: it listens on lazy-pages.socket in the restore's work dir,
// passes each task's pid and userfaultfd on to the daemon's socket as they
// come, and holds back the restore's "finished" word until the test
// releases it. Until then the daemon serves page faults only (it copies
// the rest in the background once the restore has finished), so a test can
// see the restored tree run while its pages are still missing.
import { closeSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  AF, MSG, SCM, SOCK, SOL, accept4, bindUnix, connectUnix, controlMessages, listen, pollIn, recvmsg, sendmsgFds, sendto, socket,
} from '@criu-ts/kernel';

const FINISHED = 0x52535446;
const MSG_WAITALL = 0x100;

export interface LazyRelay {
  /** pids handed over so far */
  readonly pids: number[];
  /** whether the restore sent its finished word */
  finishedSeen(): boolean;
  /** pass the finished word on (the daemon then copies the rest) */
  release(): void;
  close(): void;
}

export function startLazyRelay(restoreWorkDir: string, daemonWorkDir: string): LazyRelay {
  const listener = socket(AF.UNIX, SOCK.STREAM | SOCK.CLOEXEC | SOCK.NONBLOCK);
  bindUnix(listener, join(restoreWorkDir, 'lazy-pages.socket'));
  listen(listener, 1);
  let restore: number | undefined;
  let daemon: number | undefined;
  let finished = false;
  let released = false;
  const pids: number[] = [];
  const forwardOne = (): void => {
    const head = Buffer.alloc(4);
    const got = recvmsg(restore!, head, MSG_WAITALL);
    if (got === null || got.length < 4) return;
    if (head.readUInt32LE(0) === FINISHED) {
      finished = true;
      return;
    }
    sendto(daemon!, head, 0, null);
    const pid = head.readInt32LE(0);
    if (pid < 0) return;
    const message = recvmsg(restore!, Buffer.alloc(1), MSG_WAITALL | MSG.CMSG_CLOEXEC, 64)!;
    const fds = controlMessages(message.control).filter((c) => c.level === SOL.SOCKET && c.type === SCM.RIGHTS).map((c) => c.data.readInt32LE(0));
    sendmsgFds(daemon!, Buffer.from([0]), fds);
    for (const fd of fds) closeSync(fd);
    pids.push(pid);
  };
  const timer = setInterval(() => {
    if (restore === undefined) {
      restore = accept4(listener, SOCK.CLOEXEC) ?? undefined;
      if (restore === undefined) return;
      daemon = socket(AF.UNIX, SOCK.STREAM | SOCK.CLOEXEC);
      connectUnix(daemon, join(daemonWorkDir, 'lazy-pages.socket'));
    }
    while (!finished && pollIn(restore, 0)) forwardOne();
  }, 2);
  return {
    pids,
    finishedSeen: () => finished,
    release() {
      if (released || daemon === undefined) return;
      released = true;
      const fin = Buffer.alloc(4);
      fin.writeUInt32LE(FINISHED, 0);
      sendto(daemon, fin, 0, null);
    },
    close() {
      clearInterval(timer);
      for (const fd of [listener, restore, daemon]) if (fd !== undefined) closeSync(fd);
      const path = join(restoreWorkDir, 'lazy-pages.socket');
      if (existsSync(path)) rmSync(path);
    },
  };
}
