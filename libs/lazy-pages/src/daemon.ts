// `criu lazy-pages` (criu(8) "lazy-pages"): listen on lazy-pages.socket in
// the work dir, take the userfaultfds a `criu restore --lazy-pages` hands
// over (upstream's protocol, libs/restore lazy-handover.ts), and fill each
// task's lazy memory: faults at once, the rest in the background once the
// restore says it has finished; UFFD_EVENT_FORK, REMAP, UNMAP and REMOVE
// change what is left to fill. Ends (0) once every task has every page or
// is gone; a restore that hangs up before finishing fails the daemon.
// One poll(2) loop over the socket and every uffd: the work is synchronous,
// page data moves by UFFDIO_COPY from the mapped pages image or from the
// page server's answers, never page by page.
import { closeSync, existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CriuError, SyscallError, interruptionPoint, type Logger } from '@criu-ts/base';
import { imagePath, readEntries, readOne } from '@criu-ts/images';
import { AF, MSG, SCM, SIG, SOCK, SOL, accept4, bindUnix, controlMessages, kill, listen, pollInputs, recvmsg, socket } from '@criu-ts/kernel';
import { collectIovs, pagesOf } from './lazy-iovs.js';
import { closeTask, copySome, finished, newTask, retryFaults, serveEvents, type LazyTask } from './lazy-task.js';
import { lazyRuns, type PageSource } from './page-source.js';

export const LAZY_PAGES_SOCKET = 'lazy-pages.socket';
export const LAZY_PAGES_RESTORE_FINISHED = 0x52535446;

export interface LazyDaemonOptions {
  /** the images dir (-D) */
  dir: string;
  /** where lazy-pages.socket goes (-W; the images dir by default) */
  workDir: string;
  source: PageSource;
  log: Logger;
  /** once listening (--status-fd, the pidfile) */
  onReady?: () => void;
}

interface Daemon {
  options: LazyDaemonOptions;
  pids: Set<number>;
  tasks: LazyTask[];
  client?: number;
  finished: boolean;
}

function newLazyTask(d: Daemon, pid: number, uffd: number): LazyTask {
  d.options.source.check?.(pid);
  const vmas = (readOne(d.options.dir, 'mm', pid).vmas ?? []).map((vma) => ({ start: vma.start, end: vma.end }));
  const iovs = collectIovs(lazyRuns(d.options.dir, pid).runs, vmas);
  const task = newTask(pid, uffd, iovs);
  d.options.log.info(`lazy-pages: pid ${pid}: uffd ${uffd}, ${task.total} page(s) to fill`);
  return task;
}

const MSG_WAITALL = 0x100;

/** One message of the restore: a task's pid and uffd, a zombie, or the end of the restore. */
function readHandOver(d: Daemon, client: number): 'more' | 'hangup' {
  const head = Buffer.alloc(4);
  const got = recvmsg(client, head, MSG_WAITALL);
  if (got === null) return 'more';
  if (got.length === 0) return 'hangup';
  if (got.length !== 4) throw new CriuError(`lazy-pages: the restore sent ${got.length} of 4 bytes of a pid`, { code: 'EPROTO' });
  if (head.readUInt32LE(0) === LAZY_PAGES_RESTORE_FINISHED) {
    d.finished = true;
    d.options.log.info('lazy-pages: the restore has finished; copying the rest in the background');
    return 'more';
  }
  const pid = head.readInt32LE(0);
  if (pid < 0) {
    d.options.log.debug(`lazy-pages: zombie ${-pid}`);
    return 'more';
  }
  const message = recvmsg(client, Buffer.alloc(1), MSG_WAITALL | MSG.CMSG_CLOEXEC, 64);
  const fds = message === null ? [] : controlMessages(message.control).filter((c) => c.level === SOL.SOCKET && c.type === SCM.RIGHTS).flatMap((c) => {
    const out: number[] = [];
    for (let i = 0; i + 4 <= c.data.length; i += 4) out.push(c.data.readInt32LE(i));
    return out;
  });
  if (fds.length !== 1) {
    for (const fd of fds) closeSync(fd);
    throw new CriuError(`lazy-pages: pid ${pid}: the restore sent ${fds.length} fds instead of its userfaultfd`, { code: 'EPROTO' });
  }
  if (!d.pids.has(pid)) {
    closeSync(fds[0]!);
    throw new CriuError(`lazy-pages: pid ${pid} is not a task of the dump in ${d.options.dir}`, { code: 'EPROTO' });
  }
  try {
    d.tasks.push(newLazyTask(d, pid, fds[0]!));
  } catch (error) {
    // its memory cannot be had: it must not run on with empty pages
    closeSync(fds[0]!);
    killQuietly(pid);
    throw error;
  }
  return 'more';
}

function listenSocket(workDir: string): { fd: number; path: string } {
  const path = join(workDir, LAZY_PAGES_SOCKET);
  if (existsSync(path)) unlinkSync(path);
  const fd = socket(AF.UNIX, SOCK.STREAM | SOCK.CLOEXEC | SOCK.NONBLOCK);
  try {
    bindUnix(fd, path);
    listen(fd, 10);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return { fd, path };
}

function treePids(dir: string): Set<number> {
  if (!existsSync(imagePath(dir, 'inventory'))) throw new CriuError(`${imagePath(dir, 'inventory')} is missing: is ${dir} a dump?`, { code: 'ENOENT' });
  return new Set(readEntries(dir, 'pstree').map((entry) => entry.pid));
}

/** One turn of the loop: wait for the socket or a uffd, serve what came, then (after the restore) copy a piece. */
function turn(d: Daemon, listener: number): 'go' | 'done' {
  const { log } = d.options;
  const live = d.tasks.filter((task) => !task.exited);
  const busy = d.finished ? live.some((task) => task.iovs.length > 0) : false;
  const retrying = live.some((task) => task.retry.length > 0);
  // after the restore hung up (-1) poll(2) skips the slot
  const revents = pollInputs([d.client ?? listener, ...live.map((task) => task.uffd)], busy ? 0 : retrying ? 10 : 1000);
  if (revents[0] !== 0) {
    if (d.client === undefined) {
      d.client = accept4(listener, SOCK.CLOEXEC) ?? undefined;
      if (d.client !== undefined) log.info('lazy-pages: the restore connected');
    } else if (readHandOver(d, d.client) === 'hangup') {
      if (!d.finished) throw new CriuError('lazy-pages: the restore closed the connection before it finished (it failed?)', { code: 'ECONNRESET' });
      closeSync(d.client);
      d.client = -1;
    }
  }
  live.forEach((task, i) => {
    if (revents[i + 1] !== 0) serveEvents(task, d.options.source, log);
  });
  for (const task of live) {
    d.tasks.push(...task.forked.splice(0));
    retryFaults(task, d.options.source, log);
  }
  if (d.finished) {
    const next = d.tasks.find((task) => !task.exited && task.iovs.length > 0);
    if (next !== undefined) copySome(next, d.options.source, log);
    for (const task of d.tasks.filter(finished)) closeTask(task, log);
    d.tasks = d.tasks.filter((task) => !task.exited);
    if (d.tasks.length === 0) return 'done';
  }
  return 'go';
}

/**
 * The daemon fails: a task still missing pages must not run on, as closing
 * its uffd would give it empty pages where its memory was. SIGKILL.
 */
function killUnfilled(d: Daemon): void {
  for (const task of d.tasks.filter((one) => !one.exited && one.iovs.length > 0)) {
    d.options.log.error(`lazy-pages: pid ${task.pid} still lacks ${pagesOf(task.iovs)} page(s): killed`);
    killQuietly(task.pid);
  }
}

function killQuietly(pid: number): void {
  try {
    kill(pid, SIG.KILL);
  } catch (error) {
    if (!(error instanceof SyscallError)) throw error;
  }
}

/**
 * Runs the daemon until every page is in place. Between turns it lets
 * signal handlers run: SIGINT/SIGTERM (when the caller watches them,
 * watchInterrupts) end it like a failure — the tasks still missing pages
 * are killed rather than left to run on empty pages.
 */
export async function runLazyDaemon(options: LazyDaemonOptions): Promise<void> {
  const d: Daemon = { options, pids: treePids(options.dir), tasks: [], finished: false };
  const { fd: listener, path } = listenSocket(options.workDir);
  options.log.info(`lazy-pages: waiting for the restore on ${path}`);
  try {
    options.onReady?.();
    while (turn(d, listener) === 'go') await interruptionPoint();
    options.log.info('lazy-pages: every page is in place');
  } catch (error) {
    killUnfilled(d);
    throw error;
  } finally {
    for (const task of d.tasks) if (!task.exited) closeSync(task.uffd);
    if (d.client !== undefined && d.client >= 0) closeSync(d.client);
    closeSync(listener);
    if (existsSync(path)) unlinkSync(path);
    options.source.close();
  }
}
