// Putting the tool's open file descriptions into a task at its fd numbers,
// in one injected batch: close every fd the task has (the helper's), open a
// pidfd of the tool, park it on a number the task does not use, then for
// each fd pidfd_getfd(2) our description (it lands on the lowest free
// number, which we know) and dup3(2) it onto its number with its
// FD_CLOEXEC, and close the pidfd. Every result is predicted and checked.
import { CriuError, ImageError, errnoName } from '@criu-ts/base';
import { F, O, RLIMIT, SYS, prlimit, signed64, syscall } from '@criu-ts/kernel';
import { TOOL_PIDFD_SCRATCH, seesTool, toolPidfd, type BatchCall } from '@criu-ts/inject';
import type { RestoreContext } from '../restore-context.js';

export interface InstallFd {
  /** the task's fd number */
  target: number;
  /** our fd of the description */
  ours: number;
  cloexec: boolean;
}

export interface InstallStep extends BatchCall {
  /** what the call must return */
  expect: bigint;
  what: string;
}

const ALL_FDS = 0xffffffff;

function lowestFree(open: ReadonlySet<number>): number {
  let fd = 0;
  while (open.has(fd)) fd++;
  return fd;
}

function step(nr: number, args: (number | bigint)[], expect: number, what: string): InstallStep {
  return { nr, args, expect: BigInt(expect), what };
}

/** An fd table of the images (fdinfo-ID.img) lists each fd number once: the first listed twice is an ImageError naming the image. */
export function checkFdNumbers(fds: readonly { fd: number }[], image: string, pid: number): void {
  const seen = new Set<number>();
  for (const [index, { fd }] of fds.entries()) {
    if (seen.has(fd)) throw new ImageError(`pid ${pid}: fd ${fd} is listed twice (entry ${index})`, { image, offset: 0 });
    seen.add(fd);
  }
}

/**
 * The calls that install `fds` into a task. With `kept` empty the task may
 * hold any fds now, and they are closed; otherwise it holds exactly `kept`
 * (installed before), which stay.
 */
export function planInstall(tool: number | { pidfd: number }, fds: readonly InstallFd[], kept: ReadonlySet<number> = new Set()): InstallStep[] {
  const sorted = [...fds].sort((a, b) => a.target - b.target);
  const targets = new Set(sorted.map((f) => f.target));
  if (targets.size !== sorted.length) {
    const twice = sorted.find((f, i) => i > 0 && sorted[i - 1]!.target === f.target)!.target;
    throw new CriuError(`fd ${twice} is listed twice in one fd table`, { code: 'EIMAGE' });
  }
  if (sorted.some((f) => kept.has(f.target))) throw new CriuError('an fd number is installed twice', { code: 'EIMAGE' });
  const arrives = lowestFree(kept);
  const pidfd = lowestFree(new Set([...targets, ...kept]));
  const steps: InstallStep[] = [];
  if (typeof tool === 'number') {
    if (kept.size === 0) steps.push(step(SYS.close_range, [0, ALL_FDS, 0], 0, 'close_range'));
    steps.push(step(SYS.pidfd_open, [tool, 0], arrives, 'pidfd_open(criu)'));
  } else {
    // a pidfd of the tool handed to the task already (tool-pidfd.ts): every other fd goes, it moves to `arrives`
    if (kept.size === 0 && tool.pidfd > 0) steps.push(step(SYS.close_range, [0, tool.pidfd - 1, 0], 0, 'close_range'));
    if (kept.size === 0) steps.push(step(SYS.close_range, [tool.pidfd + 1, ALL_FDS, 0], 0, 'close_range'));
    if (tool.pidfd !== arrives) steps.push(step(SYS.dup3, [tool.pidfd, arrives, O.CLOEXEC], arrives, 'dup3(criu pidfd)'), step(SYS.close, [tool.pidfd], 0, 'close'));
  }
  if (pidfd !== arrives) steps.push(step(SYS.dup3, [arrives, pidfd, O.CLOEXEC], pidfd, 'dup3(pidfd)'), step(SYS.close, [arrives], 0, 'close'));
  const open = new Set([...kept, pidfd]);
  for (const fd of sorted) {
    const landed = lowestFree(open);
    steps.push(step(SYS.pidfd_getfd, [pidfd, fd.ours, 0], landed, `pidfd_getfd for fd ${fd.target}`));
    if (landed !== fd.target) {
      steps.push(step(SYS.dup3, [landed, fd.target, fd.cloexec ? O.CLOEXEC : 0], fd.target, `dup3 onto fd ${fd.target}`));
      steps.push(step(SYS.close, [landed], 0, 'close'));
    } else if (!fd.cloexec) {
      steps.push(step(SYS.fcntl, [fd.target, F.SETFD, 0], 0, `F_SETFD on fd ${fd.target}`));
    }
    open.add(fd.target);
  }
  steps.push(step(SYS.close, [pidfd], 0, 'close(pidfd)'));
  return steps;
}

/**
 * Lets the task hold fd number `highest`: its soft RLIMIT_NOFILE (still the
 * helper's; the core kind sets the dumped one later) is raised up to its hard limit.
 */
function allowFd(pid: number, highest: number): void {
  const limit = prlimit(pid, RLIMIT.NOFILE);
  if (BigInt(highest) < limit.cur) return;
  if (BigInt(highest) >= limit.max) {
    throw new CriuError(`pid ${pid}: fd ${highest} is above its RLIMIT_NOFILE hard limit ${limit.max}`, { code: 'EMFILE' });
  }
  const wanted = Buffer.alloc(16);
  wanted.writeBigUInt64LE(BigInt(highest) + 1n, 0);
  wanted.writeBigUInt64LE(limit.max, 8);
  syscall(SYS.prlimit64, pid, RLIMIT.NOFILE, wanted, 0);
}

/**
 * Install `fds` in task pid (its leader's injector), replacing whatever fds
 * it has — or, with `kept`, beside exactly those fds installed before.
 */
export function installFds(ctx: RestoreContext, pid: number, fds: readonly InstallFd[], kept?: ReadonlySet<number>): void {
  allowFd(pid, Math.max(0, ...fds.map((fd) => fd.target), ...(kept ?? [])) + 1);
  const injector = ctx.injector(pid);
  const tool = seesTool(pid) ? process.pid : { pidfd: Number(toolPidfd(injector, () => scratchEnd(ctx, pid))) };
  const steps = planInstall(tool, fds, kept);
  const results = injector.batch(steps.map(({ nr, args }) => ({ nr, args })));
  steps.forEach((s, i) => {
    const got = signed64(results[i]!);
    if (got === s.expect) return;
    const why = got < 0n ? errnoName(Number(-got)) : `returned ${got}, expected ${s.expect}`;
    throw new CriuError(`pid ${pid}: installing its fds: ${s.what} failed: ${why}`, { code: got < 0n ? errnoName(Number(-got)) : 'EFDINSTALL' });
  });
}

/** The last bytes of a task's restore scratch, for handing it our pidfd (tool-pidfd.ts) while the rest may hold a call's arguments. */
export function scratchEnd(ctx: RestoreContext, pid: number): bigint {
  const scratch = ctx.scratch(pid);
  return scratch.addr + BigInt(scratch.size - TOOL_PIDFD_SCRATCH);
}
