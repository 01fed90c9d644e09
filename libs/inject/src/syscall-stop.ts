// Is a stopped thread at a syscall-entry or syscall-exit stop (it was
// resumed with PTRACE_SYSCALL)? PTRACE_GET_SYSCALL_INFO only answers when
// the tracer set PTRACE_O_TRACESYSGOOD, so read the stop's own record: a
// syscall stop's siginfo has si_code SIGTRAP or SIGTRAP|0x80 (nothing else
// does: an int3 has SI_KERNEL, ptrace events SIGTRAP|event<<8, sent signals
// SI_USER/SI_TKILL/...), and its event message says entry (1) or exit (2).
import { SyscallError } from '@criu-ts/base';
import { SIG, ptraceGetEventMsg, ptraceGetSiginfo } from '@criu-ts/kernel';

const PTRACE_EVENTMSG_SYSCALL = { ENTRY: 1n, EXIT: 2n } as const;

export type SyscallStop = 'entry' | 'exit' | null;

export function syscallStopOf(tid: number): SyscallStop {
  let siginfo: Buffer;
  try {
    siginfo = ptraceGetSiginfo(tid);
  } catch (error) {
    // EINVAL: a group-stop of a task attached without PTRACE_SEIZE has no siginfo
    if (error instanceof SyscallError && error.code === 'EINVAL') return null;
    throw error;
  }
  const code = siginfo.readInt32LE(8);
  if (siginfo.readInt32LE(0) !== SIG.TRAP || (code !== SIG.TRAP && code !== (SIG.TRAP | 0x80))) return null;
  const message = ptraceGetEventMsg(tid);
  if (message === PTRACE_EVENTMSG_SYSCALL.ENTRY) return 'entry';
  if (message === PTRACE_EVENTMSG_SYSCALL.EXIT) return 'exit';
  return null;
}
