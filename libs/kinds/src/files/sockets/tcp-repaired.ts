// Restored TCP connections wait in repair mode until every task is made;
// then, right before the tree is let go, the network is unlocked (a
// restored network namespace of the tree's as a whole, ns/net-ns-restore.ts; else the
// dump's method and run id, from inventory.img, as upstream reads them) and
// repair is turned off on each — turning it off clears SO_REUSEADDR, so the
// saved value goes back. If the restore fails instead, our copies are just
// closed: in repair mode the sockets go away without a packet, and the lock
// stays for the next try.
import { closeSync, existsSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { F, SO, SOL, fcntl, setsockoptInt } from '@criu-ts/kernel';
import { imagePath, readOne, type InetSkEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import { netLockMethodOf, unlockRestored, type Connection, type RestoredLock } from '../../net-lock/index.js';
import { setRepair } from './tcp-repair.js';
import { restoredNetNs, unlockRestoredNetNs } from '../../ns/net-ns-restore.js';
import { addressBytes } from './socket-restore-calls.js';

interface Repaired {
  fd: number;
  entry: InetSkEntry;
  what: string;
}

interface DumpFacts extends RestoredLock {
  tcpClose: boolean;
}

const repairedOf = (ctx: RestoreContext): Repaired[] => ctx.shared('tcp.repaired', () => []);

/** What inventory.img says about the dump's TCP handling. */
export function dumpFacts(ctx: RestoreContext): DumpFacts {
  return ctx.shared('tcp.dump-facts', () => {
    const dir = ctx.options.imagesDir;
    if (!existsSync(imagePath(dir, 'inventory'))) return { method: 'skip', runId: '', tcpClose: false };
    const inventory = readOne(dir, 'inventory');
    return {
      method: netLockMethodOf(inventory.network_lock_method),
      runId: inventory.dump_criu_run_id ?? String(ctx.tasks[0]?.pid ?? 0),
      tcpClose: inventory.tcp_close === true,
    };
  });
}

/** Checks the options a TCP connection of the images needs (criu(8): as on dump). */
export function checkConnectionOptions(ctx: RestoreContext, what: string): void {
  if (dumpFacts(ctx).tcpClose && ctx.options.tcpClose !== true) throw new CriuError(`${what}: the dump was made with --tcp-close: restore needs --tcp-close too`, { code: 'EINVAL' });
  if (ctx.options.tcpEstablished !== true && ctx.options.tcpClose !== true) {
    throw new CriuError(`${what}: is a TCP connection: restore with --tcp-established (or --tcp-close)`, { code: 'EINVAL' });
  }
}

/** Keeps a copy of a restored connection for the end of the restore. */
export function keepRepaired(ctx: RestoreContext, fd: number, entry: InetSkEntry, what: string): void {
  repairedOf(ctx).push({ fd: fcntl(fd, F.DUPFD_CLOEXEC, 0), entry, what });
}

/** The connection of an inet_sk_entry, as the network lock names it. */
export function connectionOf(entry: InetSkEntry): Connection {
  return { family: entry.family, src: addressBytes(entry.src_addr ?? []), srcPort: entry.src_port, dst: addressBytes(entry.dst_addr ?? []), dstPort: entry.dst_port };
}

/**
 * The restore's last step before the tree runs (ok) — unlock the network,
 * repair off — or its clean-up after a failure (not ok).
 */
export function finishTcpRestore(ctx: RestoreContext, ok: boolean): void {
  const repaired = repairedOf(ctx).splice(0);
  try {
    if (!ok) return;
    const netns = restoredNetNs(ctx);
    if (netns !== undefined) unlockRestoredNetNs(netns.ns, netns.plan, ctx.log);
    else if (ctx.options.tcpClose !== true || dumpFacts(ctx).method === 'nftables') {
      unlockRestored(dumpFacts(ctx), repaired.map((r) => connectionOf(r.entry)), ctx.log.child('netlock'));
    }
    for (const { fd, entry, what } of repaired) {
      setRepair(fd, false, what);
      setsockoptInt(fd, SOL.SOCKET, SO.REUSEADDR, entry.opts.reuseaddr === true ? 1 : 0);
      ctx.log.debug(`${what}: repair mode off`);
    }
  } finally {
    for (const { fd } of repaired) closeSync(fd);
  }
}
