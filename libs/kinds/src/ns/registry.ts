// Every namespace kind a dump may take along, in the order their restore
// hooks run in the root (ns/namespace.ts has the contract). net and cgroup
// are saved and restored by their own modules (elsewhere-ns.ts).
import type { NamespaceKind } from './namespace.js';
import { pidNamespace } from './pid-ns.js';
import { utsNamespace } from './uts-ns.js';
import { ipcNamespace } from './ipc-ns.js';
import { timeNamespace } from './time-ns.js';
import { userNamespace } from './refused-ns.js';
import { cgroupNamespace, netNamespace } from './elsewhere-ns.js';
import { mntNamespace } from '../mounts/mnt-namespace.js';

export const namespaceKinds: readonly NamespaceKind[] = [
  userNamespace,
  pidNamespace,
  timeNamespace,
  utsNamespace,
  ipcNamespace,
  netNamespace,
  cgroupNamespace,
  mntNamespace, // last: its restore pivots the root into the tree's mounts
];

/** The module of the /proc/PID/ns entry `name`; undefined if that kind is not dumped. */
export function namespaceKindOf(name: string): NamespaceKind | undefined {
  return namespaceKinds.find((kind) => kind.name === name);
}
