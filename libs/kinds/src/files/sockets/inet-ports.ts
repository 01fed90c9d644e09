// Which restored inet sockets share a port, so that each is bound with
// SO_REUSEADDR and SO_REUSEPORT on, and their saved values are set only
// once the last socket of that port is made (as upstream CRIU: a socket can
// reuse an address only if every earlier one allows it). Counted from
// files.img (and inetsk.img of older images) per protocol and port; until
// its port is complete a socket's fd is kept as a duplicate here.
import { closeSync, existsSync } from 'node:fs';
import type { Logger } from '@criu-ts/base';
import { F, SO, SOL, fcntl } from '@criu-ts/kernel';
import { FdTypes, imagePath, readEntries, type InetSkEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import { setsockoptValue } from './socket-restore-calls.js';

interface PortUsers {
  remaining: number;
  waiting: { fd: number; entry: InetSkEntry }[];
}

export type InetPorts = Map<string, PortUsers>;

const portKey = (e: InetSkEntry): string => `${e.proto}/${e.src_port}`;

function inetEntries(dir: string): InetSkEntry[] {
  const entries: InetSkEntry[] = [];
  if (existsSync(imagePath(dir, 'files'))) {
    for (const file of readEntries(dir, 'files')) if (file.type === FdTypes.INETSK && file.isk !== undefined) entries.push(file.isk);
  }
  if (existsSync(imagePath(dir, 'inetsk'))) entries.push(...readEntries(dir, 'inetsk'));
  return entries;
}

/** Users per port of the entries given; exported for tests. */
export function countPorts(entries: readonly InetSkEntry[]): InetPorts {
  const ports: InetPorts = new Map();
  for (const entry of entries) {
    if (entry.src_port === 0) continue;
    const users = ports.get(portKey(entry)) ?? { remaining: 0, waiting: [] };
    users.remaining += 1;
    ports.set(portKey(entry), users);
  }
  return ports;
}

export function inetPorts(ctx: RestoreContext): InetPorts {
  return ctx.shared('sockets.inet-ports', () => countPorts(inetEntries(ctx.options.imagesDir)));
}

function savedReuse(fd: number, entry: InetSkEntry): void {
  const what = `inet socket id ${entry.id}`;
  if (entry.opts.reuseaddr !== true) setsockoptValue(fd, SOL.SOCKET, SO.REUSEADDR, 0, what);
  if (entry.opts.so_reuseport !== true) setsockoptValue(fd, SOL.SOCKET, SO.REUSEPORT, 0, what);
}

/**
 * The socket of `entry` (our `fd`) is bound: its saved reuse flags go back
 * now (unbound socket, or the last of its port) or when the port's last
 * socket is made.
 */
export function releasePort(ports: InetPorts, entry: InetSkEntry, fd: number, log: Logger): void {
  const users = entry.src_port === 0 ? undefined : ports.get(portKey(entry));
  if (users === undefined) {
    savedReuse(fd, entry);
    return;
  }
  users.remaining -= 1;
  if (users.remaining > 0) {
    users.waiting.push({ fd: fcntl(fd, F.DUPFD_CLOEXEC, 0), entry });
    log.debug(`inet: port ${portKey(entry)} waits for ${users.remaining} more socket(s) before its reuse flags are set`);
    return;
  }
  savedReuse(fd, entry);
  for (const waiting of users.waiting.splice(0)) {
    try {
      savedReuse(waiting.fd, waiting.entry);
    } finally {
      closeSync(waiting.fd);
    }
  }
}
