// Probes on a seized task: ptrace seize/interrupt, the regsets dump reads,
// process_vm_readv/writev, pidfds (fd copies, waits), rseq configuration.
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import {
  NT, P, USER_REGS_SIZE, WAIT, pidfdGetfd, pidfdOpen, processVmReadv, processVmWritev, ptraceGetRegset,
  ptraceGetRseqConfiguration, ptraceGetSigmask, ptracePeekSiginfo, readTaskMemory, waitid,
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
