// Namespace kinds the tree may have of its own whose state other modules
// save and restore, registered here so that the framework (namespace.ts)
// takes them along: both are `unshared` — the root is not cloned with their
// flag by the framework, and they have no hooks of its.
// - net: ns/net-ns*.ts dumps the namespace (netNsKind) and the restore
//   engine puts the root in it (a new one with CLONE_NEWNET, --join-ns, an
//   external one: netNsPlan) and fills it once the tasks exist.
// - cgroup: the cgroup kind (cgroup/) writes cgns_prefix in cgroup.img and
//   makes the namespace in the root as it moves it into its cgroups.
import { CLONE } from '@criu-ts/kernel';
import type { NamespaceKind } from './namespace.js';

export const netNamespace: NamespaceKind = {
  name: 'net',
  cloneFlag: CLONE.NEWNET,
  images: [],
  unshared: true,
};

export const cgroupNamespace: NamespaceKind = {
  name: 'cgroup',
  cloneFlag: CLONE.NEWCGROUP,
  images: [],
  unshared: true,
};
