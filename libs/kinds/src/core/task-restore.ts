// The task-wide part of task_core_entry put back, before the credentials:
// resource limits (prlimit64(2) injected, one batch), timers (see
// timers-restore.ts), the child-subreaper flag, membarrier(2)
// registrations, loginuid (/proc/self/loginuid, writable only by the task
// itself) and oom_score_adj (/proc/PID/oom_score_adj). A hard limit above
// the current one needs CAP_SYS_RESOURCE: without it the restore is
// refused, naming the limit (upstream would silently leave it lower).
// Lowering oom_score_adj below its floor needs CAP_SYS_RESOURCE as well.
// See getrlimit(2), prctl(2), membarrier(2), proc_pid_oom_score_adj(5).
import { readFileSync, writeFileSync } from 'node:fs';
import { CriuError, ImageError, type Logger } from '@criu-ts/base';
import { AT, O, PR, RLIM_NLIMITS, SYS, prlimit } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import { readStatus } from '@criu-ts/proc';
import type { TaskScratch } from '../restore-context.js';
import { runChecked, type NamedCall } from './injected-batch.js';
import type { TaskCore } from './task-core.js';

const RLIMIT_NAMES = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'];
const CAP_SYS_RESOURCE = 24n;
/** the MEMBARRIER_CMD_REGISTER_* commands GET_REGISTRATIONS reports (each bit is the command) */
const MEMBARRIER_REGISTER_BITS = [1 << 2, 1 << 4, 1 << 6, 1 << 8];

export interface TaskRestoreEnv {
  injector: Injector;
  scratch: TaskScratch;
  log: Logger;
  /** core-PID.img, for messages */
  image: string;
}

function holdsSysResource(pid: number): boolean {
  return ((readStatus(pid).CapEff >> CAP_SYS_RESOURCE) & 1n) !== 0n;
}

/** Checks the limits against what may be set here; returns the prlimit64 calls (structs staged in scratch). */
function rlimitCalls(env: TaskRestoreEnv, limits: NonNullable<NonNullable<TaskCore['rlimits']>['rlimits']>): NamedCall[] {
  const { pid } = env.injector;
  if (limits.length > RLIM_NLIMITS) throw new ImageError(`${limits.length} resource limits, the kernel has ${RLIM_NLIMITS}`, { image: env.image, offset: 0 });
  const privileged = holdsSysResource(pid);
  return limits.map((limit, resource) => {
    const name = `RLIMIT_${RLIMIT_NAMES[resource]}`;
    let cur = limit.cur;
    if (cur > limit.max) {
      env.log.warn(`pid ${pid}: ${name} soft limit ${cur} is above its hard limit ${limit.max}; set to the hard limit`);
      cur = limit.max;
    }
    const now = prlimit(pid, resource);
    if (limit.max > now.max && !privileged) {
      throw new CriuError(`pid ${pid}: ${name} hard limit ${limit.max} is above ${now.max}, and raising a hard limit needs CAP_SYS_RESOURCE, which this restore lacks`, {
        code: 'EPERM',
        hint: `lower the limit before dumping, or restore with CAP_SYS_RESOURCE`,
      });
    }
    const struct = Buffer.alloc(16);
    struct.writeBigUInt64LE(cur, 0);
    struct.writeBigUInt64LE(limit.max, 8);
    const addr = env.scratch.write(struct, resource * 16);
    return { name: `prlimit64(${name})`, nr: SYS.prlimit64, args: [0, resource, addr, 0] };
  });
}

function flagCalls(tc: TaskCore): NamedCall[] {
  const calls: NamedCall[] = [];
  if (tc.child_subreaper === true) calls.push({ name: 'prctl(PR_SET_CHILD_SUBREAPER)', nr: SYS.prctl, args: [PR.SET_CHILD_SUBREAPER, 1, 0, 0, 0] });
  const mask = tc.membarrier_registration_mask ?? 0;
  for (const command of MEMBARRIER_REGISTER_BITS.filter((bit) => (mask & bit) !== 0)) {
    calls.push({ name: `membarrier(0x${command.toString(16)})`, nr: SYS.membarrier, args: [command, 0, 0] });
  }
  return calls;
}

/** loginuid: only the task may write its own, and only when it differs (CAP_AUDIT_CONTROL then). */
function restoreLoginuid(env: TaskRestoreEnv, loginuid: number | undefined): void {
  const { injector, scratch } = env;
  if (loginuid === undefined) return;
  const path = `/proc/${injector.pid}/loginuid`;
  let now: number;
  try {
    now = Number(readFileSync(path, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    env.log.warn(`pid ${injector.pid}: this kernel has no loginuid (no CONFIG_AUDIT); saved ${loginuid} not restored`);
    return;
  }
  if (now === loginuid >>> 0) return;
  const name = scratch.write(Buffer.from('/proc/self/loginuid\0'), 0);
  const text = Buffer.from(String(loginuid >>> 0));
  const data = scratch.write(text, 64);
  const fd = injector.call('openat(/proc/self/loginuid)', SYS.openat, [AT.FDCWD, name, O.WRONLY | O.CLOEXEC, 0]);
  try {
    injector.call('write(loginuid)', SYS.write, [fd, data, text.length]);
  } finally {
    injector.call('close', SYS.close, [fd]);
  }
}

function restoreOomScoreAdj(pid: number, value: number | undefined): void {
  if (value === undefined) return;
  const path = `/proc/${pid}/oom_score_adj`;
  if (Number(readFileSync(path, 'utf8').trim()) === value) return;
  try {
    writeFileSync(path, String(value));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    throw new CriuError(`pid ${pid}: cannot set oom_score_adj ${value} (${code}): lowering it needs CAP_SYS_RESOURCE`, { code, cause: error });
  }
}

/** Puts back the task-wide state of tc (but timers and signals) through the leader's injector. */
export function restoreTaskWide(env: TaskRestoreEnv, tc: TaskCore): void {
  runChecked(env.injector, [...rlimitCalls(env, tc.rlimits?.rlimits ?? []), ...flagCalls(tc)]);
  restoreLoginuid(env, tc.loginuid);
  restoreOomScoreAdj(env.injector.pid, tc.oom_score_adj);
}
