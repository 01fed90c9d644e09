export { cgroupKind } from './cgroup-kind.js';
export { cgroupState } from './cgroup-dump.js';
export { prepareCgroupRestore, type CgroupRestore, type CgroupTask, type PrepareInput } from './cgroup-restore.js';
export { parseCgroupRoot, type CgroupDumpOptions, type CgroupMode, type CgroupRestoreOptions, type CgroupRoot } from './cgroup-options.js';
export { freezeCgroup, type FrozenCgroup } from './cgroup-freezer.js';
export { parseCgroupFile, parseHierarchies, type CgMember } from './cgroup-file.js';
