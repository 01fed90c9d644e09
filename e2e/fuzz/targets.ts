// Every fuzz target: one registry, as the kinds have.
import { imageTargets } from './image-targets.js';
import type { FuzzTarget } from './target.js';

export function allTargets(): FuzzTarget[] {
  return [...imageTargets()] as FuzzTarget[];
}
