// The terminals met so far in this dump, one per tty-info id (a pty end,
// the console, ...), with the first fd that showed it: the tree-wide checks
// and the queued data (tty-tree-kind.ts) work from this table once every
// task's fds are dumped.
import type { DumpContext } from '../../dump-context.js';
import type { TtyDriver } from './tty-driver.js';

export interface TtyEnd {
  infoId: number;
  driver: TtyDriver;
  index: number;
  /** the first task and fd found holding it */
  pid: number;
  fd: number;
  /** the fd's /proc link text, for messages */
  link: string;
  rdev: bigint;
  dev: bigint;
  sid: number;
  pgrp: number;
  hungUp: boolean;
  /** a pty master in packet mode (TIOCPKT) */
  packetMode: boolean;
}

export function ttyTable(ctx: DumpContext): Map<number, TtyEnd> {
  return ctx.shared('files.ttys', () => new Map<number, TtyEnd>());
}
