// The network namespace of the sockets dumped: the id the core kind gives
// the task's net namespace in ids-PID.img (ns_id of a socket entry), from
// the same dump-wide numbering, and the namespace sock_diag must be asked
// in — criu's own, or the tree's (ns/net-ns.ts), which every task of the
// tree shares (a task in another one is refused in core/kobj-ids.ts).
import { closeSync, fstatSync, statSync } from 'node:fs';
import { ioctl } from '@criu-ts/kernel';
import type { DumpContext } from '../../dump-context.js';
import { taskNamespaceIds } from '../../core/kobj-ids.js';
import { treeNetNs } from '../../ns/net-ns.js';
import { inNetNs } from '../../ns/net/net-ns-enter.js';

export function netNsId(ctx: DumpContext, pid: number): number | undefined {
  return taskNamespaceIds(ctx, pid).net_ns_id;
}

/** Runs fn (a sock_diag query) in the tree's network namespace. */
export function inTreeNetNs<T>(ctx: DumpContext, fn: () => T): T {
  const tree = treeNetNs(ctx);
  return tree === undefined ? fn() : inNetNs(tree.ns, fn);
}

/** SIOCGSKNS (linux/sockios.h): an fd of the socket's network namespace */
const SIOCGSKNS = 0x894c;

/** Whether the socket (our copy `fd`) lives in a network namespace other than the tree's (sock_diag, asked there, cannot see it). */
export function inOtherNetNs(ctx: DumpContext, fd: number): boolean {
  const ns = Number(ioctl(fd, SIOCGSKNS));
  try {
    const tree = treeNetNs(ctx);
    return fstatSync(ns).ino !== (tree?.ns.inode ?? statSync('/proc/self/ns/net').ino);
  } finally {
    closeSync(ns);
  }
}
