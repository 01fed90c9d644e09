// The links of a dumped network namespace → netdev-ID.img
// (net_device_entry), as upstream CRIU 4.x writes them: type, index, MTU,
// IFF_* flags, name, hardware address (not the loopback's), the per-device
// IPv4/IPv6 sysctls, the peer's index and namespace id, the master.
// Kinds: the loopback, veth (its peer inside the namespace, or outside it:
// then restore makes the outer end with the name --external veth[IN]:OUT
// or --veth-pair IN=OUT gives), bridge, macvlan (mode and flags; restore
// makes it on the parent --external macvlan[IN]:PARENT names in criu's
// namespace, straight into the new one). Refused, naming the link: tun,
// sit, gre and every other kind (their restore is not built).
// Restore runs ip-link(8) in the new namespace: links made with their
// index, name, MTU and address, sysctls written, masters set, then the
// links that were up brought up.
import { spawnSync } from 'node:child_process';
import { CriuError, UnsupportedError, type Logger } from '@criu-ts/base';
import { NdType, type Messages } from '@criu-ts/images';
import { mustRunIn, inNetNs, type NetNsHandle } from './net-ns-enter.js';
import { readConf, writeConf, type SysctlEntry } from './net-sysctls.js';
import { ARPHRD, IFF, listLinks, type Link } from './rtnl-links.js';

export type NetDeviceEntry = Messages['net_device_entry'];

const KIND_TYPES: Readonly<Record<string, NdType>> = { veth: NdType.VETH, bridge: NdType.BRIDGE, macvlan: NdType.MACVLAN };
/** IFLA_MACVLAN_* (if_link.h) and the modes' names for ip-link(8) */
const IFLA_MACVLAN = { MODE: 1, FLAGS: 2 } as const;
const MACVLAN_MODES: Readonly<Record<number, string>> = { 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source' };
const MACVLAN_FLAG_NOPROMISC = 1;

function linkType(link: Link, pid: number): NdType {
  if (link.type === ARPHRD.LOOPBACK) return NdType.LOOPBACK;
  const type = link.kind === undefined ? undefined : KIND_TYPES[link.kind];
  if (type === undefined) {
    throw new UnsupportedError({ pid, kind: `network link ${link.name} (index ${link.index}, ${link.kind === undefined ? `ARPHRD ${link.type}` : `kind ${link.kind}`}) in the task's network namespace`, hint: 'only lo, veth, bridge and macvlan links are dumped' });
  }
  return type;
}

/**
 * The namespace's links as net_device_entry, read in `ns` (pid: the task
 * that lives there, for messages; nsId: the namespace's id in the images).
 */
export function dumpLinks(ns: NetNsHandle, nsId: number, pid: number, log: Logger): NetDeviceEntry[] {
  return inNetNs(ns, () => listLinks().map((link) => {
    const type = linkType(link, pid);
    const entry: NetDeviceEntry = { type, ifindex: link.index, mtu: link.mtu, flags: link.flags, name: link.name, conf4: readConf('ipv4', link.name), conf6: readConf('ipv6', link.name) };
    if (link.address !== undefined && type !== NdType.LOOPBACK) entry.address = link.address;
    entry.peer_ifindex = link.link ?? link.index;
    // a peer in this namespace (no netnsid) is ours; one elsewhere is outside the dump, as upstream warns
    if (link.linkNetnsid === undefined || link.linkNetnsid < 0) entry.peer_nsid = nsId;
    else log.warn(`the ${link.name} ${link.kind ?? 'link'} has its peer in another network namespace (netnsid ${link.linkNetnsid}): outside the dump`);
    if (link.master !== undefined) entry.master = link.master;
    if (type === NdType.MACVLAN) entry.macvlan = macvlanEntry(link, pid);
    log.debug(`link ${link.index} ${link.name}: ${link.kind ?? (type === NdType.LOOPBACK ? 'loopback' : '?')}, flags 0x${link.flags.toString(16)}, mtu ${link.mtu}`);
    return entry;
  }));
}

function macvlanEntry(link: Link, pid: number): NonNullable<NetDeviceEntry['macvlan']> {
  const mode = link.info?.get(IFLA_MACVLAN.MODE);
  if (mode === undefined) throw new UnsupportedError({ pid, kind: `macvlan link ${link.name} without a mode` });
  // upstream never sets has_flags (its image has the mode only); we keep flags only when there are any
  const flags = link.info?.get(IFLA_MACVLAN.FLAGS)?.readUInt16LE(0) ?? 0;
  return flags === 0 ? { mode: mode.readUInt32LE(0) } : { mode: mode.readUInt32LE(0), flags };
}

const macText = (address: Uint8Array): string => [...address].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** A link name from the images, checked before it goes on a command line. */
function linkName(name: string): string {
  if (!/^[^/\0\s:]{1,15}$/.test(name) || name === '.' || name === '..') throw new CriuError(`netdev image: bad link name ${JSON.stringify(name)}`, { code: 'EINVAL' });
  return name;
}

export interface LinkRestoreInput {
  ns: NetNsHandle;
  /** the namespace's id in the images */
  nsId: number;
  links: readonly NetDeviceEntry[];
  /** netns-ID.img's "default" sysctls: a link's own equal to them are not written */
  defaults4?: readonly SysctlEntry[];
  defaults6?: readonly SysctlEntry[];
  /** the outer name of a veth whose peer was outside the dump: link name → OUT or OUT@BRIDGE */
  vethOuter: ReadonlyMap<string, string>;
  /** a macvlan's parent in criu's namespace: link name → parent (--external macvlan[IN]:PARENT) */
  macvlanParent?: ReadonlyMap<string, string>;
  /** a task in the namespace (ip link ... netns PID makes a macvlan there from criu's namespace) */
  pid?: number;
  log: Logger;
}

function createArgs(entry: NetDeviceEntry): string[] {
  const args = ['ip', 'link', 'add', 'name', linkName(entry.name), 'index', String(entry.ifindex), 'mtu', String(entry.mtu)];
  if (entry.address !== undefined && entry.address.length > 0) args.push('address', macText(entry.address));
  return args;
}

/** A veth: both ends when its peer is in the namespace too, else the outer end in the tool's namespace. */
function vethArgs(input: LinkRestoreInput, entry: NetDeviceEntry, made: Set<number>): string[] | undefined {
  if (entry.peer_nsid === input.nsId) {
    if (made.has(entry.ifindex)) return undefined;
    const peer = input.links.find((l) => l.ifindex === entry.peer_ifindex);
    if (peer === undefined) throw new CriuError(`netdev image: veth ${entry.name}'s peer (index ${entry.peer_ifindex}) is not in it`, { code: 'EINVAL' });
    made.add(peer.ifindex);
    const peerArgs = createArgs(peer).slice(3);
    return [...createArgs(entry), 'type', 'veth', 'peer', ...peerArgs];
  }
  const outer = input.vethOuter.get(entry.name);
  if (outer === undefined) {
    throw new CriuError(`veth ${entry.name}: its peer was outside the dumped network namespace; name the outer end with --external veth[${entry.name}]:NAME or --veth-pair ${entry.name}=NAME`, { code: 'EINVAL' });
  }
  return [...createArgs(entry), 'type', 'veth', 'peer', 'name', linkName(outer.split('@')[0]!), 'netns', String(process.pid)];
}

function makeLink(input: LinkRestoreInput, entry: NetDeviceEntry, made: Set<number>): void {
  const { ns, log } = input;
  switch (entry.type) {
    case NdType.LOOPBACK:
      mustRunIn(ns, ['ip', 'link', 'set', 'dev', linkName(entry.name), 'mtu', String(entry.mtu)], log);
      return;
    case NdType.VETH: {
      const args = vethArgs(input, entry, made);
      if (args !== undefined) mustRunIn(ns, args, log);
      return;
    }
    case NdType.BRIDGE:
      mustRunIn(ns, [...createArgs(entry), 'type', 'bridge'], log);
      return;
    case NdType.MACVLAN:
      makeMacvlan(input, entry);
      return;
    default:
      throw new CriuError(`netdev image: link ${entry.name} of type ${entry.type} cannot be restored (only lo, veth, bridge and macvlan)`, { code: 'EUNSUPPORTED' });
  }
}

/** A macvlan, made on its parent in criu's namespace right into the restored one (as upstream, IFLA_NET_NS_FD). */
function makeMacvlan(input: LinkRestoreInput, entry: NetDeviceEntry): void {
  const parent = input.macvlanParent?.get(entry.name);
  if (parent === undefined) throw new CriuError(`macvlan ${entry.name}: its parent is outside the namespace; name it with --external macvlan[${entry.name}]:PARENT`, { code: 'EINVAL' });
  const mode = entry.macvlan === undefined ? undefined : MACVLAN_MODES[entry.macvlan.mode];
  if (mode === undefined || input.pid === undefined) throw new CriuError(`netdev image: macvlan ${entry.name} without a known mode (${entry.macvlan?.mode})`, { code: 'EINVAL' });
  const args = ['ip', 'link', 'add', 'link', linkName(parent), ...createArgs(entry).slice(3), 'netns', String(input.pid), 'type', 'macvlan', 'mode', mode];
  if (((entry.macvlan?.flags ?? 0) & MACVLAN_FLAG_NOPROMISC) !== 0) args.push('nopromisc');
  input.log.debug(`running ${args.join(' ')}`);
  const run = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) throw new CriuError(`${args.join(' ')} failed: ${run.stderr.trim()}`, { code: 'ENETNS' });
}

/** An outer veth end named OUT@BRIDGE joins that bridge of the tool's namespace, up. */
function joinBridges(input: LinkRestoreInput): void {
  for (const [inner, outer] of input.vethOuter) {
    const [name, bridge] = outer.split('@');
    if (bridge === undefined || !input.links.some((l) => l.name === inner)) continue;
    const run = spawnSync('ip', ['link', 'set', 'dev', linkName(name!), 'master', linkName(bridge), 'up'], { encoding: 'utf8', timeout: 30_000 });
    if (run.status !== 0) throw new CriuError(`cannot put veth ${name} into bridge ${bridge}: ${run.stderr.trim()}`, { code: 'ENETNS' });
  }
}

/** Makes every link of the image in `input.ns`, in index order; then sysctls, masters, and up. */
export function restoreLinks(input: LinkRestoreInput): void {
  const { ns, log } = input;
  const made = new Set<number>();
  const links = [...input.links].sort((a, b) => a.ifindex - b.ifindex);
  for (const entry of links) makeLink(input, entry, made);
  inNetNs(ns, () => {
    for (const entry of links) {
      writeConf('ipv4', linkName(entry.name), entry.conf4 ?? [], input.defaults4);
      writeConf('ipv6', linkName(entry.name), entry.conf6 ?? [], input.defaults6);
    }
  });
  for (const entry of links) {
    if (entry.master === undefined) continue;
    const master = links.find((l) => l.ifindex === entry.master);
    if (master === undefined) throw new CriuError(`netdev image: link ${entry.name}'s master (index ${entry.master}) is not in it`, { code: 'EINVAL' });
    mustRunIn(ns, ['ip', 'link', 'set', 'dev', linkName(entry.name), 'master', linkName(master.name)], log);
  }
  for (const entry of links) {
    if ((entry.flags & IFF.UP) !== 0) mustRunIn(ns, ['ip', 'link', 'set', 'dev', linkName(entry.name), 'up'], log);
  }
  joinBridges(input);
  log.info(`restored ${links.length} link(s): ${links.map((l) => l.name).join(', ')}`);
}
