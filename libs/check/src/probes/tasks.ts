// Probes on a seized task: ptrace seize/interrupt, the regsets dump reads,
// process_vm_readv/writev, pidfds (fd copies, waits), rseq configuration,
// seccomp suspension and filter reads, loginuid, timer ids on restore.
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import { errnoName } from '@criu-ts/base';
import {
  NT, P, PTRACE, PTRACE_O, SYS, USER_REGS_SIZE, WAIT, pidfdGetfd, pidfdOpen, processVmReadv, processVmWritev, ptraceGetRegset,
  ptraceGetRseqConfiguration, ptraceGetSigmask, ptracePeekSiginfo, ptraceSetOptions, readTaskMemory, trySyscall, waitid,
} from '@criu-ts/kernel';
import { readMaps } from '@criu-ts/proc';
import { missing, type Feature } from '../feature.js';

function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

export const ptraceSeize: Feature = {
  name: 'ptrace_seize',
  category: 1,
  neededFor: 'seizing and stopping tasks (PTRACE_SEIZE, PTRACE_INTERRUPT) for dump and restore',
  probe: (ctx) => {
    const { pid } = ctx.victim();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const tracer = /^TracerPid:\s+(\d+)$/m.exec(status)?.[1];
    const state = /^State:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    if (tracer !== String(process.pid)) return missing(`task ${pid} is not traced by us after PTRACE_SEIZE (TracerPid ${tracer})`);
    return state.startsWith('t') ? 'ok' : missing(`task ${pid} is not in a tracing stop after PTRACE_INTERRUPT (state ${state})`);
  },
};

export const ptraceRegsets: Feature = {
  name: 'ptrace_regsets',
  category: 1,
  neededFor: 'dumping registers, FPU/AVX state, signal masks and pending signals',
  probe: (ctx) => {
    const { pid } = ctx.victim();
    const prstatus = ptraceGetRegset(pid, NT.PRSTATUS, 4096).length;
    if (prstatus !== USER_REGS_SIZE) return missing(`NT_PRSTATUS gave ${prstatus} bytes, expected ${USER_REGS_SIZE}`);
    const xstate = ptraceGetRegset(pid, NT.X86_XSTATE, 64 * 1024).length;
    if (xstate < 576) return missing(`NT_X86_XSTATE gave ${xstate} bytes, less than the legacy area and header`);
    ptraceGetSigmask(pid);
    ptracePeekSiginfo(pid, { offset: 0, count: 1, shared: false });
    return 'ok';
  },
};

export const processVm: Feature = {
  name: 'process_vm',
  category: 1,
  neededFor: 'reading (dump) and writing (restore) task memory with process_vm_readv/writev',
  probe: (ctx) => {
    const { pid } = ctx.victim();
    const writable = readMaps(pid).find((vma) => vma.read && vma.write && !vma.shared);
    if (writable === undefined) return missing(`task ${pid} has no private writable mapping to probe`);
    const viaProc = Buffer.alloc(256);
    readTaskMemory(pid, writable.start, viaProc);
    const read = Buffer.alloc(256);
    const range = [{ addr: writable.start, len: read.length }];
    if (processVmReadv(pid, [read], range) !== read.length || !read.equals(viaProc)) return missing('process_vm_readv read other bytes than /proc/PID/mem');
    return processVmWritev(pid, [read], range) === read.length ? 'ok' : missing('process_vm_writev wrote short');
  },
};

export const pidfdStore: Feature = {
  name: 'pidfd_store',
  category: 1,
  neededFor: "copying a task's file descriptors into the tool (pidfd_open, pidfd_getfd)",
  probe: (ctx) => {
    const { pid } = ctx.victim();
    return withFd(pidfdOpen(pid), (pidfd) =>
      withFd(pidfdGetfd(pidfd, 0), (copy) => {
        const theirs = fstatSync(copy);
        return theirs.isCharacterDevice() ? 'ok' : missing(`fd 0 of task ${pid} (/dev/null) came back as another file`);
      }),
    );
  },
};

export const pidfdWait: Feature = {
  name: 'pidfd_wait',
  category: 2,
  neededFor: 'waiting for restored tasks through pidfds (waitid P_PIDFD)',
  probe: (ctx) => {
    const { pid } = ctx.victim();
    return withFd(pidfdOpen(pid), (pidfd) =>
      waitid(P.PIDFD, pidfd, WAIT.WEXITED | WAIT.WNOHANG | WAIT.__WALL) === null ? 'ok' : missing(`waitid(P_PIDFD) reported the live task ${pid} as exited`),
    );
  },
};

export const getRseqConf: Feature = {
  name: 'get_rseq_conf',
  category: 2,
  neededFor: 'dumping tasks that registered restartable sequences (rseq)',
  probe: (ctx) => {
    ptraceGetRseqConfiguration(ctx.victim().pid);
    return 'ok';
  },
};

export const seccompSuspend: Feature = {
  name: 'seccomp_suspend',
  category: 2,
  neededFor: 'dumping and restoring tasks under seccomp (PTRACE_O_SUSPEND_SECCOMP)',
  probe: (ctx) => {
    ptraceSetOptions(ctx.victim().pid, PTRACE_O.SUSPEND_SECCOMP);
    return 'ok';
  },
};

export const seccompFilters: Feature = {
  name: 'seccomp_filters',
  category: 2,
  neededFor: 'dumping seccomp filters (PTRACE_SECCOMP_GET_FILTER)',
  probe: (ctx) => {
    const { pid } = ctx.victim();
    const { errno } = trySyscall(SYS.ptrace, PTRACE.SECCOMP_GET_FILTER, pid, 0, 0);
    // the victim has no filter: a kernel with the request answers EINVAL (not in filter mode) or ENOENT
    if (errno === 0 || errnoName(errno) === 'EINVAL' || errnoName(errno) === 'ENOENT') return 'ok';
    return missing(`PTRACE_SECCOMP_GET_FILTER: ${errnoName(errno)}`);
  },
};

export const loginuid: Feature = {
  name: 'loginuid',
  category: 2,
  neededFor: "dumping and restoring tasks' audit login uid (/proc/PID/loginuid)",
  probe: () => (/^\d+$/.test(readFileSync('/proc/self/loginuid', 'utf8').trim()) ? 'ok' : missing('/proc/self/loginuid holds no uid')),
};

/** prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET): Linux 6.15+ */
const PR_TIMER_CREATE_RESTORE_IDS = 77;
const RESTORE_IDS_GET = 2;

export const timerCrIds: Feature = {
  name: 'timer_cr_ids',
  category: 2,
  neededFor: 'restoring POSIX timers with their ids in one call each (PR_TIMER_CREATE_RESTORE_IDS)',
  probe: () => {
    const { errno } = trySyscall(SYS.prctl, PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_GET, 0, 0, 0);
    return errno === 0 ? 'ok' : missing(`prctl(PR_TIMER_CREATE_RESTORE_IDS): ${errnoName(errno)}`);
  },
};
