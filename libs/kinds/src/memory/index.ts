export { memoryKind } from './memory-kind.js';
export { uptimeMicros, hiddenFds } from './tracking.js';
export { normalize, intersect, subtract, splitRuns, type Span } from './page-parent.js';
export { TRACK_RECORD, readTrackRecord } from './track-record.js';
export { VMA, protOf, mapFlagsOf, madvOf, fdflagsOf, describeStatus } from './vma-flags.js';
export { planVmas, classifyVma, pagesOf, type VmaPlan, type VmaBacking, type VmaPages } from './vma-plan.js';
export { MEMFD_INODES_KEY, memfdInodes } from './tables.js';
export { memfdFileId, regFileId, mapFilesLink, type MappedFile } from './mapped-files.js';
export { sharedMappingFd, sharedObjectFd, sharedAnonFd, memfdInodeFd, sharedAnonSizes } from './shmem-restore.js';
