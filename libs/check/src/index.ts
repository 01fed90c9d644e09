// @criu-ts/check: what `criu check` probes, the registry, the verdict.
export * from './feature.js';
export * from './verdict.js';
export * from './victim.js';
export * from './registry.js';
export * from './run-check.js';
export { userfaultfdFeatures, probeSoftDirty, probePagemapScan } from './probes/dirty.js';
export { probeDiag } from './probes/net.js';
export { cgroup2Mount } from './probes/system.js';
