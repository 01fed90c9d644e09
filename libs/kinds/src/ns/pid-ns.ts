// The tree's own pid namespace (pid_namespaces(7)): nothing of it goes into
// an image of its own — the tasks' pids as it sees them are pstree.img's
// and name the per-task images, as upstream writes them; its init is the
// tree's root (pid 1). Restore clones the root with CLONE_NEWPID and every
// other task with its pid in the namespace (clone3 set_tid, an outer pid
// chosen by the restore: libs/restore/src/ns-pids.ts).
import { CLONE } from '@criu-ts/kernel';
import type { NamespaceKind } from './namespace.js';

export const pidNamespace: NamespaceKind = {
  name: 'pid',
  cloneFlag: CLONE.NEWPID,
  images: [],
};
