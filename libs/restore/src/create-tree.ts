// Creating every task of the tree with its pid, parent, session and group
// (clone3 with set_tid, setsid, setpgid), all still copies of the helper:
// the root is cloned out of the helper with CLONE_PARENT, so its parent is
// criu — or, with -S, it exists already (made by criu-launcher as a child
// of criu's parent, sibling-root.ts); every other task out of its own
// parent, with CLONE_FILES when it shares the parent's fd table. Sessions
// are set as each task is made (children inherit them); groups once all
// exist, leaders first; an orphaned group gets a short-lived stand-in
// leader with the group's pid, created by a member, that the members join
// before it is killed and reaped by that member.
import { FAULT, faultInjected, faultPoint, type Logger } from '@criu-ts/base';
import { CLONE, SIG, SYS, WAIT, getpgid, kill, waitpidWithin } from '@criu-ts/kernel';
import { openInjector, type Injector } from '@criu-ts/inject';
import { cloneTask } from './clone-task.js';
import type { SessionPlan } from './session-plan.js';
import { clearInheritedTrampoline, type TaskArea } from './task-area.js';
import type { TaskSet } from './task-set.js';
import type { TaskImage } from './tree-images.js';

export interface CreateInput {
  /** the helper the root is cloned from; undefined: the root exists, seized and stopped, in the task set (-S) */
  helper: Injector | undefined;
  area: TaskArea;
  tasks: readonly TaskImage[];
  plan: SessionPlan;
  log: Logger;
  timeoutMs: number;
  /** called right after a session leader's setsid, before its children exist (a ctty they inherit) */
  onSession?: (pid: number) => void;
  /** CLONE_NEW* flags the root is cloned with (the tree's own namespaces, tree-namespaces.ts; CLONE_NEWNET, net-ns) */
  rootFlags?: bigint;
  /**
   * called once the root exists, before any other task and anything else
   * is done in it: the namespaces' restore hooks, its network namespace
   * (made: true when it was not cloned here, -S, so rootFlags were not applied)
   */
  onRoot?: (injector: Injector, made: boolean) => void;
  /** called once a task exists, before its children are cloned from it (its memory, which they inherit) */
  onCreated?: (pid: number, injector: Injector) => void;
  /** called right after a task is cloned, before anything else is done in it (its cgroups) */
  onCloned?: (pid: number, injector: Injector) => void;
}

function openNew(set: TaskSet, input: CreateInput, pid: number): Injector {
  clearInheritedTrampoline(pid, input.area);
  const injector = openInjector(pid, { site: input.area.site, batchArea: input.area.batch, log: input.log.child(`inject ${pid}`) });
  set.injectors.set(pid, injector);
  return injector;
}

function cloneOne(set: TaskSet, input: CreateInput, task: TaskImage, isRoot: boolean): void {
  const parent = isRoot ? input.helper! : set.injectors.get(task.ppid)!;
  // a task that shares its parent's fd table gets it again from the kernel (fd-tables.ts)
  const flags = isRoot ? CLONE.PARENT | (input.rootFlags ?? 0n) : task.fdTableOwner !== undefined ? CLONE.FILES : 0n;
  // with CLONE_PARENT the child takes the helper's exit signal (SIGCHLD); clone3 wants 0 there
  const exitSignal = isRoot ? 0 : SIG.CHLD;
  set.processes.push(task.pid);
  cloneTask(parent, input.area, { pid: task.pid, nsPid: task.nsPid, flags, exitSignal }, input.timeoutMs);
}

function createTask(set: TaskSet, input: CreateInput, task: TaskImage, isRoot: boolean): void {
  const made = isRoot && input.helper === undefined;
  if (!made) cloneOne(set, input, task, isRoot);
  if (isRoot && faultInjected(FAULT.RESTORE_ROOT_ONLY)) kill(task.pid, SIG.KILL);
  faultPoint(FAULT.RESTORE_CLONE, String(task.pid));
  const injector = openNew(set, input, task.pid);
  input.onCloned?.(task.pid, injector);
  if (isRoot) input.onRoot?.(injector, made);
  if (input.plan.setsid.has(task.pid)) {
    injector.call('setsid', SYS.setsid);
    input.onSession?.(task.pid);
  }
  const shares = task.fdTableOwner === undefined ? '' : `, sharing the fd table of pid ${task.fdTableOwner}`;
  input.log.debug(`created pid ${task.pid} (parent ${isRoot ? (made ? "criu's parent" : 'criu') : task.ppid}${shares})`);
  input.onCreated?.(task.pid, injector);
}

/** A stand-in leader for an orphaned group: created by `member`, made a group leader. */
function standInLeader(set: TaskSet, input: CreateInput, pgid: number, member: number): void {
  set.processes.push(pgid);
  cloneTask(set.injectors.get(member)!, input.area, { pid: pgid, flags: 0n, exitSignal: 0 }, input.timeoutMs);
  clearInheritedTrampoline(pgid, input.area);
  const injector = openInjector(pgid, { site: input.area.site, batchArea: input.area.batch, log: input.log.child(`inject ${pgid}`) });
  try {
    injector.call('setpgid', SYS.setpgid, [0, 0]);
  } finally {
    injector.release();
  }
  input.log.debug(`stand-in leader ${pgid} for the orphaned group (member ${member})`);
}

function dropStandIn(set: TaskSet, input: CreateInput, pgid: number, member: number): void {
  kill(pgid, SIG.KILL);
  waitpidWithin(pgid, WAIT.__WALL, input.timeoutMs);
  set.injectors.get(member)!.call('wait4', SYS.wait4, [nsPidIn(input, pgid), 0, WAIT.__WALL, 0]);
  set.processes.splice(set.processes.indexOf(pgid), 1);
}

function joinGroups(set: TaskSet, input: CreateInput): void {
  const { plan, tasks } = input;
  for (const task of tasks) {
    if (plan.pgid.get(task.pid) === task.pid && !plan.setsid.has(task.pid)) set.injectors.get(task.pid)!.call('setpgid', SYS.setpgid, [0, 0]);
  }
  for (const [pgid, member] of plan.orphans) standInLeader(set, input, pgid, member);
  for (const task of tasks) {
    const want = plan.pgid.get(task.pid)!;
    if (want !== task.pid && getpgid(task.pid) !== want) set.injectors.get(task.pid)!.call('setpgid', SYS.setpgid, [0, nsPidIn(input, want)]);
  }
  for (const [pgid, member] of plan.orphans) dropStandIn(set, input, pgid, member);
}

/** pid (the tool's view) as the tree's pid namespace sees it: what a call injected into its tasks takes. */
function nsPidIn(input: CreateInput, pid: number): number {
  return input.tasks.find((task) => task.pid === pid)?.nsPid ?? pid;
}

/** Creates every task (parents first) with its session and group; leaves an injector open on each. */
export function createTree(set: TaskSet, input: CreateInput): void {
  input.tasks.forEach((task, i) => createTask(set, input, task, i === 0));
  joinGroups(set, input);
}
