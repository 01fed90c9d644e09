// The tree's own network namespace as a dump kind: its images are written
// once every task is dumped (net-ns.ts), so that the firewall's dump holds
// the lock made at the engine's network-lock stage. Nothing per task.
import type { TaskKind } from '../kind.js';
import { dumpTreeNetNs } from './net-ns.js';

export const netNsKind: TaskKind = {
  name: 'netns',
  images: ['netns', 'netdev', 'ifaddr', 'route', 'route6', 'rule', 'iptables', 'ip6tables', 'nftables'],
  dump() {
    // the namespace is the tree's, not a task's: see afterTasks
  },
  afterTasks(ctx) {
    dumpTreeNetNs(ctx);
  },
};
