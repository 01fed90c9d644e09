// The dump's step for the tree's own namespaces: once every task is dumped
// (the root's ids named them, kobj-ids.ts), each one's kind writes its
// images while the tree is still frozen (ns/namespace.ts).
import type { TaskKind } from '../kind.js';
import { treeNamespaces } from '../core/kobj-ids.js';
import { namespaceKinds } from './registry.js';

export const namespacesKind: TaskKind = {
  name: 'ns',
  images: [...new Set(namespaceKinds.flatMap((kind) => kind.images))],
  dump() {
    // nothing per task: a namespace is dumped once, from its first task
  },
  afterTasks(ctx) {
    for (const ns of treeNamespaces(ctx)) {
      ctx.log.info(`dumping the tree's ${ns.kind.name} namespace ${ns.id} through pid ${ns.pid}`);
      ns.kind.dump?.(ctx, ns.id, ns.pid);
    }
  },
};
