// --network-lock nftables: one table per dump, `inet CRIU-<run id>` (the
// run id is inventory's dump_criu_run_id; images without one name it
// after the root pid, `inet CRIU-<pid>`), laid out as upstream CRIU 4.x
// does so that either can remove the other's: input and output filter
// chains that accept packets marked 0xC114 and drop those whose
// (saddr . sport . daddr . dport) is in the set conns4 / conns6; each
// dumped connection adds its two directions to the set. Unlocking deletes
// the table. The table is made (in one nft transaction) with the first
// connection locked.
import type { Logger } from '@criu-ts/base';
import { AF } from '@criu-ts/kernel';
import { addressText, connectionText, wireForm, type Connection } from './connection.js';
import { mustRun, runCommand } from './firewall-command.js';
import { SOCCR_MARK } from './iptables-lock.js';

/** `inet CRIU-<id>` */
export function nftTable(runId: string): string {
  return `inet CRIU-${runId}`;
}

/** The nft script that makes the table, its chains, rules and sets (one transaction). */
export function nftLockScript(table: string): string {
  const lines = [`create table ${table}`];
  for (const hook of ['output', 'input']) {
    lines.push(`add chain ${table} ${hook} { type filter hook ${hook} priority 0; }`);
    lines.push(`add rule ${table} ${hook} meta mark 0x${SOCCR_MARK.toString(16).toUpperCase()} accept`);
  }
  for (const [set, ip, type] of [['conns4', 'ip', 'ipv4_addr'], ['conns6', 'ip6', 'ipv6_addr']]) {
    lines.push(`add set ${table} ${set} { type ${type} . inet_service . ${type} . inet_service; }`);
    for (const hook of ['output', 'input']) lines.push(`add rule ${table} ${hook} ${ip} saddr . tcp sport . ${ip} daddr . tcp dport @${set} drop`);
  }
  return `${lines.join('\n')}\n`;
}

/** `add element` for both directions of a connection. */
export function nftElements(table: string, conn: Connection): string {
  const wire = wireForm(conn);
  const set = wire.family === AF.INET6 ? 'conns6' : 'conns4';
  const src = addressText(wire.family, wire.src);
  const dst = addressText(wire.family, wire.dst);
  return `add element ${table} ${set} { ${dst} . ${wire.dstPort} . ${src} . ${wire.srcPort}, ${src} . ${wire.srcPort} . ${dst} . ${wire.dstPort} }\n`;
}

export function nftCreateTable(table: string, log: Logger): void {
  mustRun(['nft', '-f', '-'], `creating the nftables lock table ${table}`, log, nftLockScript(table));
  log.info(`network locked with nftables table ${table}`);
}

export function nftLock(table: string, conn: Connection, log: Logger): void {
  mustRun(['nft', '-f', '-'], `locking TCP connection ${connectionText(conn)}`, log, nftElements(table, conn));
  log.info(`locked ${connectionText(conn)} connection (nftables)`);
}

/** Whether the table exists (nft lists the family's tables). */
export function nftHasTable(table: string, log: Logger): boolean {
  const [family, name] = table.split(' ');
  const listed = runCommand(['nft', 'list', 'tables', family!], log);
  return listed.ok && listed.output.split('\n').some((line) => line.trim() === `table ${family} ${name}`);
}

/** Deletes the table; false (with a warning) if nft could not. */
export function nftDeleteTable(table: string, log: Logger): boolean {
  const result = runCommand(['nft', 'delete', 'table', ...table.split(' ')], log);
  if (!result.ok) {
    log.warn(`could not delete the nftables lock table ${table}: ${result.output.replace(/^Error: /gm, '')}`);
    return false;
  }
  log.info(`network unlocked: nftables table ${table} deleted`);
  return true;
}
