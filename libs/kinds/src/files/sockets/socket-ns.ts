// The network namespace id a socket entry records (ns_id): the id the core
// kind gives the task's net namespace in ids-PID.img, from the same
// dump-wide numbering. Tasks in a network namespace other than the tool's
// are refused there, which also keeps sock_diag (asked in the tool's
// namespace) right about every socket dumped.
import { closeSync, fstatSync, statSync } from 'node:fs';
import { ioctl } from '@criu-ts/kernel';
import type { DumpContext } from '../../dump-context.js';
import { taskNamespaceIds } from '../../core/kobj-ids.js';

export function netNsId(ctx: DumpContext, pid: number): number | undefined {
  return taskNamespaceIds(ctx, pid).net_ns_id;
}

/** SIOCGSKNS (linux/sockios.h): an fd of the socket's network namespace */
const SIOCGSKNS = 0x894c;

/** Whether the socket (our copy `fd`) lives in a network namespace other than the tool's (sock_diag cannot see it). */
export function inOtherNetNs(fd: number): boolean {
  const ns = Number(ioctl(fd, SIOCGSKNS));
  try {
    return fstatSync(ns).ino !== statSync('/proc/self/ns/net').ino;
  } finally {
    closeSync(ns);
  }
}
