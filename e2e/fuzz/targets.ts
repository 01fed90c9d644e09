// Every fuzz target: one registry, as the kinds have.
import { imageTargets } from './image-targets.js';
import { pagemapTarget } from './pagemap-target.js';
import { tarReadTarget, tarTarget } from './tar-target.js';
import { pageServerTarget } from './page-server-target.js';
import { rpcTarget } from './rpc-target.js';
import type { FuzzTarget } from './target.js';

export function allTargets(): FuzzTarget[] {
  return [...imageTargets(), pagemapTarget(), tarTarget(), tarReadTarget(), pageServerTarget(), rpcTarget()] as FuzzTarget[];
}
