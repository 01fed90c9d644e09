// The network lock of a dumped network namespace, as upstream CRIU 4.x
// makes it (network_lock_internal): not per connection but the whole
// namespace, every packet in and out dropped but those marked 0xC114
// (SOCCR_MARK). It is made before any socket is dumped, so iptables' or
// nftables' dump of the namespace holds it and the restore brings it back
// with the rest of the rules; it is removed when the tree goes on running
// (failed dump, -R) and at the end of a restore, right before TCP repair
// is turned off.
//   iptables: a CRIU chain in the filter table, jumped to first from INPUT
//     and OUTPUT (iptables-restore --noflush, IPv4 and IPv6).
//   nftables: table `inet CRIU-<run id>` whose input and output chains
//     have policy drop and accept the mark.
// Commands run inside the namespace (nsenter); names and order as
// upstream's, so either removes the other's lock.
import { CriuError, type Logger } from '@criu-ts/base';
import { SOCCR_MARK, nftTable, type NetLockMethod } from '../../net-lock/index.js';
import { runIn, type NetNsHandle } from './net-ns-enter.js';

const MARK = `0x${SOCCR_MARK.toString(16).toUpperCase()}`;

export const IPTABLES_LOCK = `*filter\n:CRIU - [0:0]\n-I INPUT -j CRIU\n-I OUTPUT -j CRIU\n-A CRIU -m mark --mark ${MARK} -j ACCEPT\n-A CRIU -j DROP\nCOMMIT\n`;
const IPTABLES_UNJUMP = '*filter\n:CRIU - [0:0]\n-D INPUT -j CRIU\n-D OUTPUT -j CRIU\nCOMMIT\n';
const IPTABLES_UNCHAIN = '*filter\n:CRIU - [0:0]\n-X CRIU\nCOMMIT\n';

export function nftNsLockScript(table: string): string {
  return [
    `create table ${table}`,
    `add chain ${table} output { type filter hook output priority 0; policy drop; }`,
    `add rule ${table} output meta mark ${MARK} accept`,
    `add chain ${table} input { type filter hook input priority 0; policy drop; }`,
    `add rule ${table} input meta mark ${MARK} accept`,
    '',
  ].join('\n');
}

export interface NsLockSpec {
  method: NetLockMethod;
  /** inventory's dump_criu_run_id: names the nftables table */
  runId: string;
}

function iptablesRestore(ns: NetNsHandle, ipv6: boolean, script: string, log: Logger): { ok: boolean; stderr: string } {
  return runIn(ns, [ipv6 ? 'ip6tables-restore' : 'iptables-restore', '-w', '--noflush'], log, script);
}

/** Locks the namespace; throws (nothing left behind) if it cannot. */
export function lockNetNs(ns: NetNsHandle, spec: NsLockSpec, log: Logger): void {
  if (spec.method === 'skip') return;
  if (spec.method === 'nftables') {
    const table = nftTable(spec.runId);
    const made = runIn(ns, ['nft', '-f', '-'], log, nftNsLockScript(table));
    if (!made.ok) throw new CriuError(`locking the network namespace ${ns.path} with nftables table ${table} failed: ${made.stderr}`, { code: 'ENETLOCK' });
    log.info(`network namespace ${ns.path} locked (nftables table ${table})`);
    return;
  }
  for (const ipv6 of [false, true]) {
    const done = iptablesRestore(ns, ipv6, IPTABLES_LOCK, log);
    if (!done.ok) {
      unlockNetNs(ns, spec, log);
      throw new CriuError(`locking the network namespace ${ns.path}: ${ipv6 ? 'ip6' : 'ip'}tables-restore failed: ${done.stderr}`, { code: 'ENETLOCK' });
    }
  }
  log.info(`network namespace ${ns.path} locked (iptables chain CRIU)`);
}

/** Removes the lock; reports (never throws) what could not be removed. */
export function unlockNetNs(ns: NetNsHandle, spec: NsLockSpec, log: Logger): boolean {
  if (spec.method === 'skip') return true;
  if (spec.method === 'nftables') {
    const table = nftTable(spec.runId);
    const done = runIn(ns, ['nft', 'delete', 'table', ...table.split(' ')], log);
    if (!done.ok) log.warn(`could not delete the nftables lock table ${table} in ${ns.path}: ${done.stderr}`);
    else log.info(`network namespace ${ns.path} unlocked (nftables table ${table} deleted)`);
    return done.ok;
  }
  let ok = true;
  for (const ipv6 of [false, true]) {
    const unjumped = iptablesRestore(ns, ipv6, IPTABLES_UNJUMP, log).ok;
    // iptables-nft may hold a jump twice: take jumps away while there are any (upstream does it once more)
    if (unjumped) iptablesRestore(ns, ipv6, IPTABLES_UNJUMP, log);
    const unchained = iptablesRestore(ns, ipv6, IPTABLES_UNCHAIN, log);
    if (!unchained.ok) {
      ok = false;
      log.warn(`could not remove the ${ipv6 ? 'ip6' : 'ip'}tables lock chain CRIU in ${ns.path}: ${unchained.stderr}`);
    }
  }
  if (ok) log.info(`network namespace ${ns.path} unlocked (iptables chain CRIU removed)`);
  return ok;
}
