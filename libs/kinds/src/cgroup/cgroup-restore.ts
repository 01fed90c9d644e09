// The restore half (criu(8) --manage-cgroups): cgroup.img read, its roots
// moved (--cgroup-root), each hierarchy reached through our own detached
// mount or --cgroup-yard; then, by mode, a cgroup missing is made (soft,
// full, strict: its owner, mode and the properties that must precede any
// task — cpuset.cpus/mems, devices.list, ... — set at once) or refused
// (none, props), one that exists is refused (strict) or kept with its
// properties (soft, none) or given the saved ones (props, full); ignore
// leaves cgroups alone. Each task is moved into its set's cgroups right
// after it is cloned, before it runs (its parent's set, or criu's for the
// root, is inherited and needs no move); threads in cgroups of their own
// (cgroup v1, or v2 threaded cgroups) once they exist; the other
// properties are written once every task is in place, and freezer.state
// last, as upstream does. A failed restore removes the cgroups it made.
import { chmodSync, chownSync, existsSync, mkdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { CriuError, errnoOf, type Logger } from '@criu-ts/base';
import { readImageEntries, imagePath, type Messages } from '@criu-ts/images';
import { hierarchyMatches } from './cgroup-file.js';
import type { CgroupMode, CgroupRestoreOptions } from './cgroup-options.js';
import { SPECIAL_PROPS } from './cgroup-props.js';
import { isDefaultSpecial, writeProp, type CgPropEntry } from './cgroup-prop-write.js';
import { rewriteCgroupRoots } from './cgroup-roots.js';
import { CLONE, SYS } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import { openYard, type Yard } from './cgroup-yard.js';

type CgroupEntry = Messages['cgroup_entry'];
type DirEntry = Messages['cgroup_dir_entry'];
type ControllerEntry = Messages['cg_controller_entry'];
type SetEntry = Messages['cg_set_entry'];

/** A task as the cgroup restore needs it: its set and its threads'. */
export interface CgroupTask {
  pid: number;
  ppid: number;
  /** cg_set of each thread (threads[0] the leader); undefined: none saved (a zombie) */
  threads: readonly { tid: number; cgSet?: number }[];
}

export interface CgroupRestore {
  /**
   * Moves a task just cloned into its cgroups (unless it inherits them).
   * The root of a tree that had a cgroup namespace of its own (its set's
   * paths carry cgns_prefix) first goes into the namespace's root cgroups,
   * unshares CLONE_NEWCGROUP there (injected: the namespace is rooted
   * where the task is), and then moves on into its own cgroups, as
   * upstream's prepare_cgns does; its children inherit the namespace.
   */
  taskCreated(pid: number, injector?: Injector): void;
  /** Once every task and thread exists: threads moved, properties written. */
  beforeResume(): void;
  /** Right before the tree is let go: freezer.state, as upstream restores it last. */
  beforeDetach(): void;
  /** The end: mounts closed; after a failure the cgroups this restore made are removed. */
  finish(ok: boolean): void;
}

interface State {
  mode: CgroupMode;
  entry: CgroupEntry;
  rootCgSet: number;
  yard: Yard;
  made: string[];
  tasks: Map<number, CgroupTask>;
  root?: number;
  /** an image pid or tid as criu sees it (the same, but in a pid namespace of the tree's own) */
  outer: (id: number) => number;
  freezer?: { dir: string; prop: CgPropEntry };
  log: Logger;
}

function safeRelative(path: string, what: string): string {
  const parts = path.split('/').filter((part) => part !== '');
  if (path.includes('\0') || parts.some((part) => part === '.' || part === '..')) throw new CriuError(`cgroup.img: bad ${what} '${path}'`, { code: 'EINVAL' });
  return parts.join('/');
}

function controllerFor(state: State, name: string): ControllerEntry {
  const found = (state.entry.controllers ?? []).find((c) => hierarchyMatches(c.cnames ?? [], name));
  if (found === undefined) throw new CriuError(`cgroup.img: no controller entry for ${name || 'the v2 hierarchy'}`, { code: 'EINVAL' });
  return found;
}

function cgroupDir(state: State, name: string, path: string): string {
  const root = state.yard.root(controllerFor(state, name).cnames ?? []);
  const rel = safeRelative(path, 'cgroup path');
  return rel === '' ? root : `${root}/${rel}`;
}

function setById(state: State, id: number): SetEntry {
  const set = (state.entry.sets ?? []).find((s) => s.id === id);
  if (set === undefined) throw new CriuError(`cgroup.img: no cgroup set ${id}`, { code: 'EINVAL' });
  return set;
}

function moveInto(state: State, id: number, imageTid: number, file: 'cgroup.procs' | 'thread'): void {
  const tid = state.outer(imageTid);
  for (const member of setById(state, id).ctls ?? []) {
    const dir = cgroupDir(state, member.name, member.path);
    const target = file === 'cgroup.procs' ? 'cgroup.procs' : member.name === '' ? 'cgroup.threads' : 'tasks';
    try {
      writeFileSync(`${dir}/${target}`, String(tid));
    } catch (error) {
      throw new CriuError(`cannot move ${file === 'cgroup.procs' ? 'pid' : 'thread'} ${tid} into cgroup ${member.name || 'v2'}:${member.path}: ${errnoOf(error) ?? String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
    }
  }
  state.log.debug(`${file === 'cgroup.procs' ? 'pid' : 'thread'} ${tid} moved into cgroup set ${id}`);
}

/** The set a task's parent has (the nearest with one), or criu's for the root. */
function inherited(state: State, task: CgroupTask): number {
  for (let parent = state.tasks.get(task.ppid); parent !== undefined; parent = state.tasks.get(parent.ppid)) {
    const set = parent.threads[0]?.cgSet;
    if (set !== undefined && set !== 0) return set;
  }
  return state.rootCgSet;
}

function applyPerms(path: string, perms: DirEntry['dir_perms']): void {
  if (perms === undefined) return;
  chownSync(path, perms.uid, perms.gid);
  chmodSync(path, perms.mode & 0o7777);
}

function mkdirs(state: State, path: string): void {
  const missing: string[] = [];
  for (let dir = path; !existsSync(dir); dir = dir.slice(0, dir.lastIndexOf('/'))) missing.unshift(dir);
  for (const dir of missing) {
    mkdirSync(dir, 0o755);
    state.made.push(dir);
  }
}

function prepareDirs(state: State, base: string, dirs: readonly DirEntry[]): void {
  for (const dir of dirs) {
    const rel = safeRelative(dir.dir_name, 'cgroup directory');
    const path = rel === '' ? base : `${base}/${rel}`;
    if (!existsSync(path)) {
      if (state.mode === 'none' || state.mode === 'props') throw new CriuError(`cgroup ${state.yard.show(path)} does not exist (--manage-cgroups=${state.mode} makes none)`, { code: 'ENOENT' });
      mkdirs(state, path);
      applyPerms(path, dir.dir_perms);
      for (const prop of dir.properties ?? []) if (SPECIAL_PROPS.has(prop.name) && !isDefaultSpecial(prop)) writeProp(path, prop);
      state.log.info(`created cgroup ${state.yard.show(path)}`);
    } else {
      if (state.mode === 'strict') throw new CriuError(`cgroup ${state.yard.show(path)} exists already (--manage-cgroups=strict)`, { code: 'EEXIST' });
      if (state.mode === 'soft' || state.mode === 'none') dir.properties = [];
      if (state.mode !== 'none') applyPerms(path, dir.dir_perms);
    }
    prepareDirs(state, path, dir.children ?? []);
  }
}

function writeProps(state: State, base: string, dirs: readonly DirEntry[]): void {
  for (const dir of dirs) {
    const rel = safeRelative(dir.dir_name, 'cgroup directory');
    const path = rel === '' ? base : `${base}/${rel}`;
    // the root cgroup of a hierarchy is the machine's: its properties are never written
    if (rel !== '') {
      for (const prop of dir.properties ?? []) {
        if (prop.name === 'freezer.state') state.freezer = { dir: path, prop };
        else if (!SPECIAL_PROPS.has(prop.name)) {
          writeProp(path, prop);
          state.log.debug(`${state.yard.show(path)}: ${prop.name} = ${JSON.stringify(prop.value)}`);
        }
      }
    }
    writeProps(state, path, dir.children ?? []);
  }
}

function readCgroupImage(dir: string): CgroupEntry | undefined {
  const path = imagePath(dir, 'cgroup');
  if (!existsSync(path)) return undefined;
  const entries = readImageEntries(path, 'cgroup');
  return entries[0]?.message as CgroupEntry | undefined;
}

/** The set of a root whose paths carry a cgroup namespace prefix. */
function namespaceMembers(set: SetEntry): Messages['cg_member_entry'][] {
  return (set.ctls ?? []).filter((m) => (m.cgns_prefix ?? 0) > 0);
}

export interface PrepareInput {
  imagesDir: string;
  options: CgroupRestoreOptions;
  /** inventory's root_cg_set: criu's set at dump */
  rootCgSet: number;
  tasks: readonly CgroupTask[];
  /** the pid criu sees for an image pid or tid (default: the same; a pid namespace of the tree's own maps them) */
  outerPid?: (id: number) => number;
  log: Logger;
}

/** Reads cgroup.img and prepares the cgroups; undefined when there is nothing to do. */
export function prepareCgroupRestore(input: PrepareInput): CgroupRestore | undefined {
  const mode = input.options.mode ?? 'soft';
  const log = input.log.child('cg');
  if (input.options.yard !== undefined && !statSync(input.options.yard).isDirectory()) throw new CriuError(`--cgroup-yard ${input.options.yard} is not a directory`, { code: 'ENOTDIR' });
  const entry = readCgroupImage(input.imagesDir);
  if (mode === 'ignore' || entry === undefined || (entry.sets ?? []).length === 0) {
    log.info(entry === undefined ? 'no cgroup.img: the tree stays in criu\'s cgroups' : `cgroups not restored (--manage-cgroups=${mode})`);
    return undefined;
  }
  rewriteCgroupRoots(entry, input.options.roots ?? []);
  const state: State = { mode, entry, rootCgSet: input.rootCgSet, yard: openYard(input.options.yard), made: [], tasks: new Map(input.tasks.map((t) => [t.pid, t])), outer: input.outerPid ?? ((id) => id), log };
  state.root = input.tasks[0]?.pid;
  try {
    for (const controller of entry.controllers ?? []) {
      if ((controller.cnames ?? []).length === 0) throw new CriuError('cgroup.img: a controller entry without controllers', { code: 'EINVAL' });
      if ((controller.dirs ?? []).length === 0) continue;
      prepareDirs(state, state.yard.root(controller.cnames!), controller.dirs!);
    }
  } catch (error) {
    undoMade(state);
    throw error;
  }
  log.info(`cgroups prepared (--manage-cgroups=${mode}): ${state.made.length} made`);
  return restoreOf(state);
}

function undoMade(state: State): void {
  for (const dir of state.made.reverse()) {
    try {
      rmdirSync(dir);
    } catch (error) {
      state.log.warn(`could not remove cgroup ${state.yard.show(dir)}: ${errnoOf(error) ?? String(error)}`);
    }
  }
  state.made = [];
  state.yard.close();
}

/** The root's cgroup namespace: made at the cgns_prefix part of its paths; false when it had none. */
function enterNamespace(state: State, pid: number, set: number, injector: Injector | undefined): boolean {
  const members = namespaceMembers(setById(state, set));
  if (members.length === 0) return false;
  if (injector === undefined) throw new CriuError(`pid ${pid}: a cgroup namespace is made by a call in the task, and none can be injected here`);
  for (const member of members) {
    const dir = cgroupDir(state, member.name, member.path.slice(0, member.cgns_prefix));
    try {
      writeFileSync(`${dir}/cgroup.procs`, String(state.outer(pid)));
    } catch (error) {
      throw new CriuError(`cannot move pid ${pid} into ${state.yard.show(dir)}, its cgroup namespace's root: ${errnoOf(error) ?? String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
    }
  }
  injector.call('unshare', SYS.unshare, [CLONE.NEWCGROUP]);
  state.log.info(`pid ${pid}: cgroup namespace made at ${members.map((m) => `${m.name || 'v2'}:${m.path.slice(0, m.cgns_prefix) || '/'}`).join(' ')}`);
  return true;
}

function restoreOf(state: State): CgroupRestore {
  return {
    taskCreated(pid, injector) {
      const task = state.tasks.get(pid);
      const set = task?.threads[0]?.cgSet;
      if (task === undefined || set === undefined || set === 0) return;
      if (pid === state.root && set !== state.rootCgSet && enterNamespace(state, pid, set, injector)) return moveInto(state, set, pid, 'cgroup.procs');
      if (set === inherited(state, task)) return;
      moveInto(state, set, pid, 'cgroup.procs');
    },
    beforeResume() {
      for (const task of state.tasks.values()) {
        const leaderSet = task.threads[0]?.cgSet;
        for (const thread of task.threads.slice(1)) {
          if (thread.cgSet !== undefined && thread.cgSet !== 0 && thread.cgSet !== leaderSet) moveInto(state, thread.cgSet, thread.tid, 'thread');
        }
      }
      if (state.mode === 'props' || state.mode === 'full' || state.mode === 'soft' || state.mode === 'strict') {
        for (const controller of state.entry.controllers ?? []) {
          writeProps(state, state.yard.root(controller.cnames ?? []), controller.dirs ?? []);
        }
      }
    },
    beforeDetach() {
      if (state.freezer !== undefined) writeProp(state.freezer.dir, state.freezer.prop);
    },
    finish(ok) {
      if (!ok) return undoMade(state);
      state.yard.close();
    },
  };
}
