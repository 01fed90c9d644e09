// The network lock of criu(8) (--network-lock iptables|nftables|skip): while
// a TCP connection is dumped and until its restore ends, the packets of the
// connection are dropped, so that neither end sees anything but a pause.
// Dump locks each connection before its socket goes into repair mode; a
// dump that fails (or -R) unlocks; a dump that succeeds leaves the lock for
// restore, which unlocks after every task is made and before TCP repair is
// turned off. The method and the run id go into inventory.img
// (network_lock_method, dump_criu_run_id), where restore reads them, as
// upstream does. Without a network namespace of the tree's own the lock
// is per connection; action scripts' network-lock/network-unlock belong
// to a dumped network namespace, which we refuse.
import type { Logger } from '@criu-ts/base';
import type { Connection } from './connection.js';
import { iptablesLock, iptablesUnlock } from './iptables-lock.js';
import { nftCreateTable, nftDeleteTable, nftHasTable, nftLock, nftTable } from './nftables-lock.js';

export type NetLockMethod = 'iptables' | 'nftables' | 'skip';

/** inventory's network_lock_method numbers (upstream's enum NETWORK_LOCK_METHOD) */
export const NET_LOCK_NUMBER: Readonly<Record<NetLockMethod, number>> = { iptables: 0, nftables: 1, skip: 2 };

export function netLockMethodOf(number: number | undefined): NetLockMethod {
  // images without the field come from CRIU versions that only had iptables
  const found = Object.entries(NET_LOCK_NUMBER).find(([, n]) => n === (number ?? 0));
  return (found?.[0] ?? 'iptables') as NetLockMethod;
}

export interface NetLock {
  readonly method: NetLockMethod;
  /** Drops the connection's packets from now on; throws if it cannot. */
  lock(conn: Connection): void;
  /** Lets the connection's packets through again (iptables); reports, never throws. */
  unlock(conn: Connection): void;
  /** Once every connection is unlocked: removes what the lock made (the nftables table). */
  release(): void;
}

interface Ops {
  lock(conn: Connection): void;
  unlock(conn: Connection): void;
  release(): void;
}

function nftablesOps(runId: string, log: Logger): Ops {
  const table = nftTable(runId);
  let made = false;
  return {
    lock(conn) {
      if (!made) {
        nftCreateTable(table, log);
        made = true;
      }
      nftLock(table, conn, log);
    },
    unlock: () => undefined, // all at once, with the table
    release() {
      if (made) nftDeleteTable(table, log);
      made = false;
    },
  };
}

const methods: Readonly<Record<NetLockMethod, (runId: string, log: Logger) => Ops>> = {
  iptables: (_runId, log) => ({ lock: (conn) => iptablesLock(conn, log), unlock: (conn) => void iptablesUnlock(conn, log), release: () => undefined }),
  nftables: nftablesOps,
  skip: () => ({ lock: () => undefined, unlock: () => undefined, release: () => undefined }),
};

/** The lock of one dump (runId: inventory's dump_criu_run_id). */
export function createNetLock(method: NetLockMethod, runId: string, log: Logger): NetLock {
  return { method, ...methods[method](runId, log) };
}

export interface RestoredLock {
  method: NetLockMethod;
  /** inventory's dump_criu_run_id, or the root pid for images without one */
  runId: string;
}

/**
 * Restore's unlock: the connections' iptables rules, or the dump's nftables
 * table (if it is there: a dump without connections made none).
 */
export function unlockRestored(lock: RestoredLock, connections: readonly Connection[], log: Logger): void {
  if (lock.method === 'iptables') {
    for (const conn of connections) iptablesUnlock(conn, log);
    return;
  }
  if (lock.method !== 'nftables') return;
  const table = nftTable(lock.runId);
  if (nftHasTable(table, log)) nftDeleteTable(table, log);
  else log.info(`no nftables lock table ${table} to delete`);
}
