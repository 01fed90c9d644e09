// The addresses, routes, rules and firewall of a dumped network namespace,
// saved raw as upstream CRIU 4.x saves them (images without a CRIU header):
//   ifaddr-ID.img     `ip addr save` (an rtnetlink dump, ip-address(8))
//   route-ID.img      `ip route save`, route6-ID.img `ip -6 route save`
//   rule-ID.img       `ip rule save` (ip-rule(8))
//   iptables-ID.img   iptables-save of the legacy (x_tables) backend, ip6tables-ID.img
//   nftables-ID.img   `nft list ruleset` (iptables-nft rules are nftables)
// On this Debian, iptables is the nf_tables backend, so as upstream the
// iptables images come from iptables-legacy-save (empty unless legacy
// tables were used) and the rules iptables(8) shows are in nftables-ID.img.
// Restore feeds them back in the new namespace, in upstream's order:
// `ip addr restore`, `ip route restore` (both), the kernel's three default
// rules flushed then `ip rule restore`, iptables-legacy-restore -w, nft -f.
import { closeSync, existsSync, fstatSync, openSync, writeFileSync } from 'node:fs';
import { CriuError, type Logger } from '@criu-ts/base';
import { imagePath, type KindName } from '@criu-ts/images';
import { mustRunIn, runIn, type NetNsHandle } from './net-ns-enter.js';
import { spawnSync } from 'node:child_process';

type RawKind = Extract<KindName, 'ifaddr' | 'route' | 'route6' | 'rule' | 'iptables' | 'ip6tables' | 'nftables'>;

function writeRaw(dir: string, kind: RawKind, id: number, data: Buffer): void {
  writeFileSync(imagePath(dir, kind, id), data, { mode: 0o600 });
}

/** The command that saves (or restores) x_tables rules: iptables-save if it is the legacy backend, else iptables-legacy-save; undefined if neither. */
export function legacyIptables(ipv6: boolean, restore: boolean): string | undefined {
  const base = `${ipv6 ? 'ip6' : 'ip'}tables-${restore ? 'restore' : 'save'}`;
  for (const name of [base, base.replace(/-(save|restore)$/, '-legacy-$1')]) {
    const version = spawnSync(name, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (version.status === 0 && !/nf_tables/.test(`${version.stdout}${version.stderr}`)) return name;
  }
  return undefined;
}

/** Whether IPv6 works here (upstream's kdat.ipv6: route6 and ip6tables are saved only then). */
const hasIpv6 = (): boolean => existsSync('/proc/sys/net/ipv6');

export function dumpIpState(ns: NetNsHandle, dir: string, id: number, log: Logger): void {
  writeRaw(dir, 'ifaddr', id, mustRunIn(ns, ['ip', 'addr', 'save'], log));
  writeRaw(dir, 'route', id, mustRunIn(ns, ['ip', 'route', 'save'], log));
  if (hasIpv6()) writeRaw(dir, 'route6', id, mustRunIn(ns, ['ip', '-6', 'route', 'save'], log));
  const rules = runIn(ns, ['ip', 'rule', 'save'], log);
  if (rules.ok) writeRaw(dir, 'rule', id, rules.stdout);
  else log.warn(`ip rule save failed (${rules.stderr}): no rule image, as upstream`);
  for (const [ipv6, kind] of [[false, 'iptables'], [true, 'ip6tables']] as const) {
    if (ipv6 && !hasIpv6()) continue;
    const save = legacyIptables(ipv6, false);
    if (save === undefined) log.info(`skipping the ${kind} dump: no legacy ${kind} here`);
    else writeRaw(dir, kind, id, mustRunIn(ns, [save], log));
  }
  writeRaw(dir, 'nftables', id, mustRunIn(ns, ['nft', 'list', 'ruleset'], log));
}

/** The raw image opened for a command's stdin, or undefined if it is missing or empty (nothing to restore). */
function withRaw(dir: string, kind: RawKind, id: number, fn: (input: { fd: number }) => void): void {
  let fd: number;
  try {
    fd = openSync(imagePath(dir, kind, id), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (fstatSync(fd).size > 0) fn({ fd });
  } finally {
    closeSync(fd);
  }
}

export function restoreIpState(ns: NetNsHandle, dir: string, id: number, log: Logger): void {
  withRaw(dir, 'ifaddr', id, (input) => mustRunIn(ns, ['ip', 'addr', 'restore'], log, input));
  for (const kind of ['route', 'route6'] as const) withRaw(dir, kind, id, (input) => mustRunIn(ns, ['ip', 'route', 'restore'], log, input));
  withRaw(dir, 'rule', id, (input) => {
    // the kernel's default rules would be there twice (fib_default_rules_init)
    runIn(ns, ['ip', 'rule', 'flush'], log);
    runIn(ns, ['ip', 'rule', 'delete', 'table', 'local'], log);
    mustRunIn(ns, ['ip', 'rule', 'restore'], log, input);
  });
  for (const [ipv6, kind] of [[false, 'iptables'], [true, 'ip6tables']] as const) {
    withRaw(dir, kind, id, (input) => {
      const restore = legacyIptables(ipv6, true);
      if (restore === undefined) throw new CriuError(`${kind}-${id}.img holds legacy ${kind} rules and there is no legacy ${kind}-restore here`, { code: 'ENOENT' });
      mustRunIn(ns, [restore, '-w'], log, input);
    });
  }
  withRaw(dir, 'nftables', id, (input) => mustRunIn(ns, ['nft', '-f', '-'], log, input));
}
