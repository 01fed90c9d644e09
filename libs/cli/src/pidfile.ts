// --pidfile FILE: the root task's (restore), the service's or the page
// server's pid, written as criu does: FILE relative to the work dir,
// created exclusively with mode 0600, the decimal pid without a newline.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { syscallErrorOf } from './log-setup.js';

export interface PidfileContext {
  readonly options: { readonly pidfile: string | undefined };
  readonly workDir: string;
}

/** Write `pid` to --pidfile if one was given; returns the file's path. An existing file is an error (EEXIST). */
export function writePidfile(ctx: PidfileContext, pid: number): string | undefined {
  if (ctx.options.pidfile === undefined) return undefined;
  const path = resolve(ctx.workDir, ctx.options.pidfile);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    throw syscallErrorOf(error, 'open pidfile', path) ?? error;
  }
  try {
    writeSync(fd, String(pid));
  } finally {
    closeSync(fd);
  }
  return path;
}

export interface ReadyContext extends PidfileContext {
  readonly options: { readonly pidfile: string | undefined; readonly statusFd?: number };
}

/**
 * A daemon that is ready to serve (service, page server, lazy-pages): its
 * pid in --pidfile, then one '\0' byte on --status-fd, which is closed, as
 * criu(8) tells the one that started it.
 */
export function announceReady(ctx: ReadyContext): void {
  writePidfile(ctx, process.pid);
  const fd = ctx.options.statusFd;
  if (fd === undefined) return;
  try {
    writeSync(fd, Buffer.from([0]));
  } finally {
    closeSync(fd);
  }
}
