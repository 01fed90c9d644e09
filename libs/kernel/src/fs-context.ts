// The new mount API (fsopen(2), fsconfig(2), fsmount(2)): a file system
// instance made and mounted nowhere, reached through the fd fsmount gives
// (as /proc/self/fd/N). The cgroup kind mounts each cgroup hierarchy this
// way, so no mount point shows in any mount namespace.
import { invoke, invokeInt } from './syscall.js';
import { SYS } from './sys-numbers.js';

/** fsconfig(2) commands. */
export const FSCONFIG = {
  SET_FLAG: 0,
  SET_STRING: 1,
  CMD_CREATE: 6,
} as const;

/** FSOPEN_CLOEXEC, FSMOUNT_CLOEXEC */
const CLOEXEC = 1;

function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`);
}

/** fsopen(2): a file system context for `fsType` (close-on-exec). */
export function fsopen(fsType: string): number {
  return invokeInt(SYS.fsopen, [cString(fsType), CLOEXEC], { call: 'fsopen', path: fsType });
}

/** fsconfig(2) SET_FLAG / SET_STRING (value) or CMD_CREATE (no key). */
export function fsconfig(fsFd: number, cmd: number, key?: string, value?: string): void {
  invoke(SYS.fsconfig, [fsFd, cmd, key === undefined ? 0 : cString(key), value === undefined ? 0 : cString(value), 0], {
    call: 'fsconfig', path: key ?? 'create',
  });
}

/** fsmount(2): a detached mount of the context's superblock (close-on-exec). */
export function fsmount(fsFd: number, attrFlags = 0): number {
  return invokeInt(SYS.fsmount, [fsFd, CLOEXEC, attrFlags], { call: 'fsmount' });
}
