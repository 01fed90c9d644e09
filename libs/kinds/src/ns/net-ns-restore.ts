// The restore half of net-ns.ts. When the images' root task had a network
// namespace of its own (its ids-PID.img net_ns_id differs from inventory's
// root_ids), the root is put in a network namespace before it makes any
// other task (its children inherit it):
//   new       cloned with CLONE_NEWNET (the engine asks netNsRootFlags), then
//             filled from the images (restoreNetNs: sysctls, links, addresses,
//             routes, rules, iptables, nftables — with the dump's lock in them);
//   empty     --empty-ns net: cloned with CLONE_NEWNET, left for the
//             setup-namespaces action script to fill, then locked again
//             (the lock was in the rules the images are not applied for);
//   join      --join-ns net:PID|PATH, or netns-ID.img's ext_key matched by
//             --inherit-fd fd[N]:KEY (runc's external namespace): the root
//             joins that namespace (setns, netNsJoinPath) and nothing is
//             restored into it.
// The sockets of the tree are then made in it (the engine runs the kinds
// of its tasks inNetNs), and at the end the namespace is unlocked
// (unlockRestoredNetNs) before TCP repair is turned off.
import { existsSync } from 'node:fs';
import { CriuError, type Logger } from '@criu-ts/base';
import { CLONE } from '@criu-ts/kernel';
import { imagePath, readEntries, readOne } from '@criu-ts/images';
import type { RestoreContext, RestoreOptions } from '../restore-context.js';
import { netLockMethodOf } from '../net-lock/index.js';
import { restoreIpState } from './net/net-ip-state.js';
import { restoreLinks } from './net/net-links.js';
import { closeNetNs, inNetNs, openNetNs, type NetNsHandle } from './net/net-ns-enter.js';
import { lockNetNs, unlockNetNs, type NsLockSpec } from './net/net-ns-lock.js';
import { writeConf, writeIpv4Sysctls, writeUnixConf } from './net/net-sysctls.js';
import type { NetnsEntry } from './net-ns.js';

export interface NetNsPlan {
  /** the namespace's id in the images */
  id: number;
  mode: 'new' | 'empty' | 'join';
  /** join: what the root opens and setns()es to */
  joinPath?: string;
  entry?: NetnsEntry;
  lock: NsLockSpec;
}

function rootNetId(dir: string, root: number): number | undefined {
  if (existsSync(imagePath(dir, 'ids', root))) return readOne(dir, 'ids', root).net_ns_id;
  return readOne(dir, 'core', root).ids?.net_ns_id;
}

/** --inherit-fd fd[N]:KEY → /proc/TOOL/fd/N for that key. */
function inheritedPath(options: RestoreOptions, key: string): string | undefined {
  for (const item of options.inheritFds) {
    const match = /^fd\[(\d+)\]:(.+)$/.exec(item);
    if (match !== null && match[2] === key) return `/proc/${process.pid}/fd/${match[1]}`;
  }
  return undefined;
}

/** --join-ns net:PID|PATH → the namespace file. */
function joinPathOf(options: RestoreOptions): string | undefined {
  for (const item of options.joinNs ?? []) {
    const [kind, target] = item.split(',')[0]!.split(/:(.*)/s);
    if (kind !== 'net' || target === undefined || target === '') continue;
    if (/^\d+$/.test(target)) return `/proc/${target}/ns/net`;
    if (!target.startsWith('/')) throw new CriuError(`--join-ns ${item}: the namespace file must be an absolute path or a pid`, { code: 'EINVAL' });
    return target;
  }
  return undefined;
}

/** What the images and options say about the tree's network namespace; undefined: it shares criu's. */
export function netNsPlan(options: RestoreOptions, root: number, log: Logger): NetNsPlan | undefined {
  const dir = options.imagesDir;
  const inventory = readOne(dir, 'inventory');
  const id = rootNetId(dir, root);
  const criuId = inventory.root_ids?.net_ns_id;
  if (id === undefined || criuId === undefined || id === criuId) {
    if (options.emptyNs === 'net' || joinPathOf(options) !== undefined) log.warn('the tree has no network namespace of its own: --empty-ns/--join-ns net ignored');
    return undefined;
  }
  const lock: NsLockSpec = { method: netLockMethodOf(inventory.network_lock_method), runId: inventory.dump_criu_run_id ?? String(root) };
  const entry = existsSync(imagePath(dir, 'netns', id)) ? readEntries(dir, 'netns', id)[0] : undefined;
  const joinPath = joinPathOf(options);
  if (joinPath !== undefined) return { id, mode: 'join', joinPath, entry, lock };
  if (entry?.ext_key !== undefined) {
    const path = inheritedPath(options, entry.ext_key);
    if (path === undefined) {
      throw new CriuError(`network namespace ${id} was external (${entry.ext_key}): give its namespace with --inherit-fd fd[N]:${entry.ext_key}`, { code: 'ENOENT' });
    }
    return { id, mode: 'join', joinPath: path, entry, lock };
  }
  return { id, mode: options.emptyNs === 'net' ? 'empty' : 'new', entry, lock };
}

/** Extra clone flags for the root: CLONE_NEWNET when the namespace is made new. */
export function netNsRootFlags(plan: NetNsPlan | undefined): bigint {
  return plan !== undefined && plan.mode !== 'join' ? CLONE.NEWNET : 0n;
}

/** The namespace file the root must join (setns) before it makes any task; undefined unless joining. */
export function netNsJoinPath(plan: NetNsPlan | undefined): string | undefined {
  return plan?.mode === 'join' ? plan.joinPath : undefined;
}

/** --external KIND[IN]:VALUE as a map IN → VALUE. */
export function externalNames(options: RestoreOptions, kind: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const item of options.external ?? []) {
    const match = /^([a-z]+)\[([^\]]+)\]:(.+)$/.exec(item);
    if (match !== null && match[1] === kind) names.set(match[2]!, match[3]!);
  }
  return names;
}

/** veth[IN]:OUT from --external, and --veth-pair IN=OUT: inner link name → outer name (OUT or OUT@BRIDGE). */
export function vethOuterNames(options: RestoreOptions): Map<string, string> {
  const names = externalNames(options, 'veth');
  for (const item of options.vethPair ?? []) {
    const [inner, outer] = item.split('=');
    if (inner === undefined || outer === undefined || inner === '' || outer === '') throw new CriuError(`--veth-pair ${item}: expected IN=OUT`, { code: 'EINVAL' });
    names.set(inner, outer);
  }
  return names;
}

function restoreSysctls(ns: NetNsHandle, entry: NetnsEntry): void {
  inNetNs(ns, () => {
    writeConf('ipv4', 'all', entry.all_conf4 ?? []);
    writeConf('ipv4', 'default', entry.def_conf4 ?? []);
    writeConf('ipv6', 'all', entry.all_conf6 ?? []);
    writeConf('ipv6', 'default', entry.def_conf6 ?? []);
    writeUnixConf(entry.unix_conf ?? []);
    writeIpv4Sysctls(entry.ipv4_sysctl ?? []);
  });
}

/**
 * Once the root exists in its namespace (`pid`): fills a new one from the
 * images, locks an empty one again; returns a handle of it for the sockets
 * and the unlock.
 */
export function restoreNetNs(options: RestoreOptions, plan: NetNsPlan, pid: number, log: Logger): NetNsHandle {
  const ns = openNetNs(`/proc/${pid}/ns/net`);
  try {
    if (plan.mode === 'new') {
      const dir = options.imagesDir;
      if (plan.entry !== undefined) restoreSysctls(ns, plan.entry);
      const links = existsSync(imagePath(dir, 'netdev', plan.id)) ? readEntries(dir, 'netdev', plan.id) : [];
      restoreLinks({
        ns, nsId: plan.id, links, defaults4: plan.entry?.def_conf4, defaults6: plan.entry?.def_conf6, vethOuter: vethOuterNames(options), macvlanParent: externalNames(options, 'macvlan'), pid, log,
      });
      restoreIpState(ns, dir, plan.id, log);
      log.info(`network namespace ${plan.id} restored`);
    } else if (plan.mode === 'empty') {
      log.info(`network namespace ${plan.id} made empty (--empty-ns net): the setup-namespaces action script fills it`);
    } else {
      log.info(`the tree joined the network namespace ${plan.joinPath}`);
    }
  } catch (error) {
    closeNetNs(ns);
    throw error;
  }
  return ns;
}

/**
 * After the setup-namespaces action scripts: an empty namespace (filled by
 * them, not from the images) gets the dump's lock again, as upstream.
 */
export function relockEmptyNetNs(plan: NetNsPlan, ns: NetNsHandle, log: Logger): void {
  if (plan.mode === 'empty') lockNetNs(ns, plan.lock, log.child('netlock'));
}

interface RestoredNetNs {
  plan: NetNsPlan;
  ns: NetNsHandle;
}

/** The engine records the tree's restored namespace here, for the sockets and the unlock. */
export function setRestoredNetNs(ctx: RestoreContext, plan: NetNsPlan, ns: NetNsHandle): void {
  ctx.shared<{ value?: RestoredNetNs }>('net-ns.restored', () => ({})).value = { plan, ns };
}

export function restoredNetNs(ctx: RestoreContext): RestoredNetNs | undefined {
  return ctx.shared<{ value?: RestoredNetNs }>('net-ns.restored', () => ({})).value;
}

/** The restore's unlock of the namespace (before TCP repair goes off); reports, never throws. */
export function unlockRestoredNetNs(ns: NetNsHandle, plan: NetNsPlan, log: Logger): void {
  unlockNetNs(ns, plan.lock, log.child('netlock'));
}
