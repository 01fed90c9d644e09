// --network-lock iptables (criu(8)'s default): each dumped connection gets
// two DROP rules in the filter table, INPUT for what comes from the peer and
// OUTPUT for what goes to it, that spare packets marked 0xC114 (SOCCR_MARK,
// which the restore's own fake packets carry). The rules are upstream
// CRIU's, so that either can remove the other's:
//   iptables -w -I INPUT -t filter --protocol tcp -m mark ! --mark 0xC114
//     --source PEER --sport PEERPORT --destination SELF --dport SELFPORT -j DROP
// ip6tables for IPv6, iptables for v4-mapped connections.
import type { Logger } from '@criu-ts/base';
import { AF } from '@criu-ts/kernel';
import { addressText, connectionText, wireForm, type Connection } from './connection.js';
import { mustRun, runCommand } from './firewall-command.js';

/** The mark of packets the lock lets through (upstream's SOCCR_MARK) */
export const SOCCR_MARK = 0xc114;
const MARK_TEXT = `0x${SOCCR_MARK.toString(16).toUpperCase()}`;

type Direction = 'INPUT' | 'OUTPUT';

/** The argument vector that inserts (-I) or deletes (-D) one direction's rule. */
export function iptablesRule(conn: Connection, direction: Direction, action: '-I' | '-D'): string[] {
  const wire = wireForm(conn);
  const command = wire.family === AF.INET6 ? 'ip6tables' : 'iptables';
  // INPUT: from the peer to us; OUTPUT: from us to the peer
  const [from, fromPort, to, toPort] = direction === 'INPUT'
    ? [wire.dst, wire.dstPort, wire.src, wire.srcPort]
    : [wire.src, wire.srcPort, wire.dst, wire.dstPort];
  return [
    command, '-w', action, direction, '-t', 'filter', '--protocol', 'tcp', '-m', 'mark', '!', '--mark', MARK_TEXT,
    '--source', addressText(wire.family, from), '--sport', String(fromPort),
    '--destination', addressText(wire.family, to), '--dport', String(toPort), '-j', 'DROP',
  ];
}

export function iptablesLock(conn: Connection, log: Logger): void {
  const what = `locking TCP connection ${connectionText(conn)}`;
  mustRun(iptablesRule(conn, 'INPUT', '-I'), what, log);
  try {
    mustRun(iptablesRule(conn, 'OUTPUT', '-I'), what, log);
  } catch (error) {
    runCommand(iptablesRule(conn, 'INPUT', '-D'), log);
    throw error;
  }
  log.info(`locked ${connectionText(conn)} connection (iptables)`);
}

/** Removes both rules; reports (never throws) a rule that is not there. */
export function iptablesUnlock(conn: Connection, log: Logger): boolean {
  let ok = true;
  for (const direction of ['INPUT', 'OUTPUT'] as const) {
    const result = runCommand(iptablesRule(conn, direction, '-D'), log);
    if (!result.ok) {
      ok = false;
      log.warn(`could not remove the ${direction} lock rule of ${connectionText(conn)}: ${result.output}`);
    }
  }
  if (ok) log.info(`unlocked ${connectionText(conn)} connection (iptables)`);
  return ok;
}
