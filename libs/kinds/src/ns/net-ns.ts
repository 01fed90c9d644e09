// The network namespace of a dumped tree (network_namespaces(7), criu(8)),
// when the root task has one of its own (all its tasks must share it):
// images netns-ID.img (netns_entry: the "all"/"default" IPv4 and IPv6
// sysctls, net.unix and ping_group_range; or only ext_key for an external
// one), netdev-ID.img (links, net-links.ts), and the raw ifaddr, route,
// route6, rule, iptables, ip6tables and nftables images (net-ip-state.ts),
// as upstream CRIU 4.x writes them. The namespace is locked before any
// socket is dumped (net-ns-lock.ts) and its sockets are listed from inside
// it. Not saved, as upstream: conntrack entries (netns-ct images are not
// written), net.core.* and other global sysctls; nsids of other namespaces
// (only one network namespace is dumped).
//
// The dump half: treeNetNs (is there one, its id), lockTreeNetNs (at the
// engine's network-lock stage), dumpTreeNetNs (the images, once every task
// is dumped), unlockTreeNetNs (when the tree runs on). The restore half is
// net-ns-restore.ts.
import type { Logger } from '@criu-ts/base';
import { readNamespaces } from '@criu-ts/proc';
import { imagePath, writeImage, type Messages } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';
import { taskNamespaceIds } from '../core/kobj-ids.js';
import { dumpIpState } from './net/net-ip-state.js';
import { dumpLinks } from './net/net-links.js';
import { inNetNs, openNetNs, type NetNsHandle } from './net/net-ns-enter.js';
import { lockNetNs, unlockNetNs, type NsLockSpec } from './net/net-ns-lock.js';
import { readConf, readIpv4Sysctls, readUnixConf } from './net/net-sysctls.js';

export type NetnsEntry = Messages['netns_entry'];

export interface TreeNetNs {
  /** its id in the images (ids-PID.img net_ns_id, netns-ID.img) */
  id: number;
  /** the root task, which lives in it */
  root: number;
  ns: NetNsHandle;
  /** --external net[INODE]:KEY named it: only the key is saved */
  extKey?: string;
  /** the lock is on (lockTreeNetNs) */
  locked: boolean;
}

/** --external net[INODE]:KEY for this inode, if given. */
export function externalNetKey(external: readonly string[] | undefined, inode: number): string | undefined {
  for (const item of external ?? []) {
    const match = /^net\[(\d+)\]:(.+)$/.exec(item);
    if (match !== null && Number(match[1]) === inode) return match[2];
  }
  return undefined;
}

/** The tree's own network namespace, if the root has one (opened once per dump); undefined when it shares criu's. */
export function treeNetNs(ctx: DumpContext): TreeNetNs | undefined {
  return ctx.shared('net-ns.tree', () => {
    const root = ctx.tasks[0];
    if (root === undefined) return undefined;
    const inode = readNamespaces(root.pid).net ?? 0;
    if (inode === (readNamespaces(process.pid).net ?? 0)) return undefined;
    const id = taskNamespaceIds(ctx, root.pid).net_ns_id!;
    const ns = openNetNs(`/proc/${root.pid}/ns/net`);
    const extKey = externalNetKey(ctx.options.external, inode);
    ctx.log.info(`the tree has a network namespace of its own (inode ${inode}, id ${id}${extKey === undefined ? '' : `, external as ${extKey}`})`);
    return { id, root: root.pid, ns, extKey, locked: false };
  });
}

function lockSpec(ctx: DumpContext): NsLockSpec {
  return { method: ctx.options.networkLock ?? 'iptables', runId: ctx.runId ?? String(ctx.tasks[0]?.pid ?? 0) };
}

/**
 * criu(8)'s network-lock stage for a tree with its own namespace: the
 * action scripts (`runAction`), then the whole namespace locked, before
 * any socket is dumped. Nothing to do without one (connections are then
 * locked one by one as they are dumped).
 */
export async function lockTreeNetNs(ctx: DumpContext, runAction?: (action: 'network-lock') => Promise<void>): Promise<void> {
  const tree = treeNetNs(ctx);
  if (tree === undefined) return;
  await runAction?.('network-lock');
  lockNetNs(tree.ns, lockSpec(ctx), ctx.log.child('netlock'));
  tree.locked = true;
}

/** Removes the namespace's lock (the tree runs on); reports, never throws. */
export function unlockTreeNetNs(ctx: DumpContext): void {
  const tree = treeNetNs(ctx);
  if (tree === undefined || !tree.locked) return;
  unlockNetNs(tree.ns, lockSpec(ctx), ctx.log.child('netlock'));
  tree.locked = false;
}

/** netns_entry: the namespace-wide sysctls, in upstream's layout. */
export function readNetnsEntry(ns: NetNsHandle): NetnsEntry {
  return inNetNs(ns, () => {
    const entry: NetnsEntry = {
      def_conf4: readConf('ipv4', 'default'), all_conf4: readConf('ipv4', 'all'),
      def_conf6: readConf('ipv6', 'default'), all_conf6: readConf('ipv6', 'all'),
      nsids: [], ipv4_sysctl: readIpv4Sysctls(),
    };
    const unix = readUnixConf();
    if (unix.length > 0) entry.unix_conf = unix;
    return entry;
  });
}

/** Writes the namespace's images (once every task is dumped, so iptables' and nftables' dumps hold the lock). */
export function dumpTreeNetNs(ctx: DumpContext): void {
  const tree = treeNetNs(ctx);
  if (tree === undefined) return;
  const dir = ctx.options.imagesDir;
  const log: Logger = ctx.log.child('net');
  if (tree.extKey !== undefined) {
    writeImage(imagePath(dir, 'netns', tree.id), 'netns', [{ ext_key: tree.extKey }]);
    log.info(`network namespace ${tree.id} is external (${tree.extKey}): only its key is saved`);
    return;
  }
  writeImage(imagePath(dir, 'netdev', tree.id), 'netdev', dumpLinks(tree.ns, tree.id, tree.root, log));
  dumpIpState(tree.ns, dir, tree.id, log);
  writeImage(imagePath(dir, 'netns', tree.id), 'netns', [readNetnsEntry(tree.ns)]);
  log.info(`network namespace ${tree.id} dumped`);
}
