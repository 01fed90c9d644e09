// Probes for creating tasks with chosen PIDs: clone3 with set_tid, the
// capability it needs, /proc/sys/kernel/ns_last_pid, NSpid in /proc.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { CLONE_ARGS_SIZE, SYS, capget, trySyscall } from '@criu-ts/kernel';
import { errnoName } from '@criu-ts/base';
import { missing, type Feature } from '../feature.js';

const CAP_SYS_ADMIN = 21n;
const CAP_CHECKPOINT_RESTORE = 40n;
const EINVAL = 22;

export const clone3SetTid: Feature = {
  name: 'clone3_set_tid',
  category: 1,
  neededFor: 'restoring tasks with their original PIDs (clone3 with set_tid)',
  probe: () => {
    // set_tid without set_tid_size: a kernel that knows set_tid answers
    // EINVAL; one without clone3 ENOSYS, one with clone3 but no set_tid E2BIG.
    const args = Buffer.alloc(CLONE_ARGS_SIZE.VER1);
    args.writeBigInt64LE(-1n, 64);
    const { errno } = trySyscall(SYS.clone3, args, args.length);
    if (errno !== EINVAL) return missing(`clone3 with set_tid answered ${errno === 0 ? 'success' : errnoName(errno)}, not EINVAL`);
    const caps = capget(0).effective;
    const capable = ((caps >> CAP_SYS_ADMIN) & 1n) === 1n || ((caps >> CAP_CHECKPOINT_RESTORE) & 1n) === 1n;
    return capable ? 'ok' : missing('neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE is in our effective set');
  },
};

export const nsLastPid: Feature = {
  name: 'ns_last_pid',
  category: 1,
  neededFor: 'restoring PIDs on kernels or in namespaces where set_tid cannot be used',
  probe: () => {
    const path = '/proc/sys/kernel/ns_last_pid';
    const fd = openSync(path, 'r+');
    try {
      return /^\d+\n?$/.test(readFileSync(fd, 'utf8')) ? 'ok' : missing(`${path} does not hold a pid`);
    } finally {
      closeSync(fd);
    }
  },
};

export const nsPid: Feature = {
  name: 'ns_pid',
  category: 2,
  neededFor: 'dumping tasks in nested PID namespaces (NSpid in /proc/PID/status)',
  probe: () => (/^NSpid:\s+\d+/m.test(readFileSync('/proc/self/status', 'utf8')) ? 'ok' : missing('/proc/self/status has no NSpid line')),
};
