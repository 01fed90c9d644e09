// @criu-ts/cpuinfo: x86 CPU features as CRIU's cpuinfo.img holds them,
// --cpu-cap parsing, and the dump/restore entry points.
export * from './cpuid-source.js';
export * from './feature-words.js';
export * from './feature-names.js';
export * from './cpu-features.js';
export * from './cpu-cap.js';
export * from './compat.js';
export * from './cpuinfo-image.js';
export * from './cpu-validate.js';
