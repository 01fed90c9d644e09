// The sysctls of a network namespace that upstream CRIU 4.x saves, in its
// order (the images hold them by position): per-device ("conf") IPv4 and
// IPv6 settings of each link and of "all" and "default"
// (/proc/sys/net/ipv{4,6}/conf/TARGET/NAME), net.unix.max_dgram_qlen and
// net.ipv4.ping_group_range (kept only when not the default). Read and
// written through /proc/sys in the calling thread's namespace (run inside
// net-ns-enter.ts inNetNs). A sysctl this kernel lacks is saved without a
// value and skipped on restore; one already holding the saved value is not
// written. Not saved, as upstream: net.core.*, net.ipv4.tcp_*, other
// net.ipv4 globals.
import { readFileSync, writeFileSync } from 'node:fs';
import { CriuError, errnoOf } from '@criu-ts/base';
import { SysctlType, type Messages } from '@criu-ts/images';

export type SysctlEntry = Messages['sysctl_entry'];

export const DEVCONFS4 = [
  'accept_local', 'accept_redirects', 'accept_source_route', 'arp_accept', 'arp_announce', 'arp_filter', 'arp_ignore',
  'arp_notify', 'bootp_relay', 'disable_policy', 'disable_xfrm', 'force_igmp_version', 'forwarding',
  'igmpv2_unsolicited_report_interval', 'igmpv3_unsolicited_report_interval', 'log_martians', 'medium_id',
  'promote_secondaries', 'proxy_arp', 'proxy_arp_pvlan', 'route_localnet', 'rp_filter', 'secure_redirects',
  'send_redirects', 'shared_media', 'src_valid_mark', 'tag', 'ignore_routes_with_linkdown', 'drop_gratuitous_arp',
  'drop_unicast_in_l2_multicast',
] as const;

export const DEVCONFS6 = [
  'accept_dad', 'accept_ra', 'accept_ra_defrtr', 'accept_ra_from_local', 'accept_ra_min_hop_limit', 'accept_ra_mtu',
  'accept_ra_pinfo', 'accept_ra_rt_info_max_plen', 'accept_ra_rtr_pref', 'accept_redirects', 'accept_source_route',
  'autoconf', 'dad_transmits', 'disable_ipv6', 'drop_unicast_in_l2_multicast', 'drop_unsolicited_na',
  'force_mld_version', 'force_tllao', 'forwarding', 'hop_limit', 'ignore_routes_with_linkdown', 'keep_addr_on_down',
  'max_addresses', 'max_desync_factor', 'mldv1_unsolicited_report_interval', 'mldv2_unsolicited_report_interval', 'mtu',
  'ndisc_notify', 'optimistic_dad', 'proxy_ndp', 'regen_max_retry', 'router_probe_interval', 'router_solicitation_delay',
  'router_solicitation_interval', 'router_solicitations', 'stable_secret', 'suppress_frag_ndisc', 'temp_prefered_lft',
  'temp_valid_lft', 'use_oif_addrs_only', 'use_optimistic', 'use_tempaddr',
] as const;

const UNIX_CONF = ['max_dgram_qlen'] as const;
const PING_GROUP_RANGE_DEFAULT = '1\t0';

export type Proto = 'ipv4' | 'ipv6';
const namesOf = (proto: Proto): readonly string[] => (proto === 'ipv4' ? DEVCONFS4 : DEVCONFS6);
const isString = (proto: Proto, name: string): boolean => proto === 'ipv6' && name === 'stable_secret';

/** A sysctl's text, or undefined when it does not exist here (ENOENT) or cannot be read (stable_secret unset: EIO). */
function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').replace(/\n$/, '');
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'EIO') return undefined;
    throw new CriuError(`cannot read ${path}: ${(error as Error).message}`, { code: code ?? 'EIO', cause: error });
  }
}

function writeSysctl(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new CriuError(`cannot set ${path} to ${JSON.stringify(text)}: ${(error as Error).message}`, { code: errnoOf(error) ?? 'EIO', cause: error });
  }
}

/** /proc/sys/net/PROTO/conf/TARGET/NAME; the target is a link name from the kernel or the image, checked. */
export function confPath(proto: Proto, target: string, name: string): string {
  if (!/^[^/\0]{1,15}$/.test(target) || target === '.' || target === '..') throw new CriuError(`bad interface name ${JSON.stringify(target)} for a sysctl`, { code: 'EINVAL' });
  return `/proc/sys/net/${proto}/conf/${target}/${name}`;
}

/** The conf sysctls of one target ('all', 'default' or a link), in upstream's order. */
export function readConf(proto: Proto, target: string): SysctlEntry[] {
  return namesOf(proto).map((name) => {
    const text = readSysctl(confPath(proto, target, name));
    if (isString(proto, name)) return text === undefined ? { type: SysctlType.CTL_STR } : { type: SysctlType.CTL_STR, sarg: text };
    return text === undefined ? { type: SysctlType.CTL_32 } : { type: SysctlType.CTL_32, iarg: Number.parseInt(text, 10) };
  });
}

const sameEntry = (a: SysctlEntry | undefined, b: SysctlEntry | undefined): boolean =>
  a !== undefined && b !== undefined && a.type === b.type && (a.type === SysctlType.CTL_32 ? a.iarg !== undefined && a.iarg === b.iarg : a.sarg !== undefined && a.sarg === b.sarg);

function textOf(entry: SysctlEntry): string | undefined {
  if (entry.type === SysctlType.CTL_32) return entry.iarg === undefined ? undefined : String(entry.iarg);
  if (entry.type === SysctlType.CTL_STR) return entry.sarg;
  return undefined;
}

/** Writes one sysctl unless it is missing here or already holds the value. */
function putSysctl(path: string, wanted: string): void {
  const now = readSysctl(path);
  if (now === undefined || now === wanted) return;
  writeSysctl(path, wanted);
}

/**
 * Writes a target's saved conf sysctls. With `defaults` (a link's, against
 * the namespace's "default"), values equal to the default are left alone
 * (but for mtu, which disable_ipv6 changes); accept_redirects goes last
 * (it depends on forwarding), as upstream writes them.
 */
export function writeConf(proto: Proto, target: string, saved: readonly SysctlEntry[], defaults?: readonly SysctlEntry[]): void {
  const names = namesOf(proto);
  const order = names.map((_, i) => i).filter((i) => names[i] !== 'accept_redirects');
  const last = names.indexOf('accept_redirects');
  for (const i of [...order, last]) {
    const entry = saved[i];
    if (entry === undefined) continue;
    if (defaults !== undefined && names[i] !== 'mtu' && sameEntry(entry, defaults[i])) continue;
    const text = textOf(entry);
    if (text !== undefined) putSysctl(confPath(proto, target, names[i]!), text);
  }
}

/** net.unix.* (empty when the kernel has none of them, as upstream leaves it out). */
export function readUnixConf(): SysctlEntry[] {
  const entries = UNIX_CONF.map((name) => readSysctl(`/proc/sys/net/unix/${name}`));
  if (entries.every((text) => text === undefined)) return [];
  return entries.map((text) => (text === undefined ? { type: SysctlType.CTL_32 } : { type: SysctlType.CTL_32, iarg: Number.parseInt(text, 10) }));
}

export function writeUnixConf(saved: readonly SysctlEntry[]): void {
  saved.forEach((entry, i) => {
    const name = UNIX_CONF[i];
    const text = textOf(entry);
    if (name !== undefined && text !== undefined) putSysctl(`/proc/sys/net/unix/${name}`, text);
  });
}

/** net.ipv4.ping_group_range as upstream saves it: one CTL_STR entry, "START\tEND\n", without a value when it is the default ("1 0"). */
export function readIpv4Sysctls(): SysctlEntry[] {
  const range = readSysctl('/proc/sys/net/ipv4/ping_group_range');
  const [start, end] = (range ?? '').trim().split(/\s+/);
  if (range === undefined || `${start}\t${end}` === PING_GROUP_RANGE_DEFAULT) return [{ type: SysctlType.CTL_STR }];
  return [{ type: SysctlType.CTL_STR, sarg: `${start}\t${end}\n` }];
}

export function writeIpv4Sysctls(saved: readonly SysctlEntry[]): void {
  const range = saved[0]?.sarg?.trim();
  if (range === undefined) return;
  const path = '/proc/sys/net/ipv4/ping_group_range';
  if (readSysctl(path)?.replace(/\s+/g, '\t') !== range.replace(/\s+/g, '\t')) writeSysctl(path, range);
}
