// The dump half: every thread's cgroup set (its /proc/PID/task/TID/cgroup)
// gets an id, criu's own set first (id 1: inventory's root_cg_set, never
// written as a set, as upstream); a set first seen has the hierarchies
// it names walked from its paths down (cgroup-tree.ts). Once every task is
// dumped, cgroup.img holds the sets other than criu's and every hierarchy
// (cg_controller_entry: controllers, dirs, is_threaded) — nothing at all
// when every task is in criu's set, as upstream. A task in a cgroup
// namespace of its own: the root's paths as seen from inside give each
// member's cgns_prefix (the length of the path above the namespace's
// root), copied to the other tasks' sets, as upstream.
import { readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { CriuError, type Logger } from '@criu-ts/base';
import { imagePath, writeImage, type Messages } from '@criu-ts/images';
import type { DumpContext, DumpTask } from '../dump-context.js';
import { hierarchyMatches, parseCgroupFile, parseHierarchies, sameSet, type CgMember } from './cgroup-file.js';
import { propTable, type PropTable } from './cgroup-props.js';
import { collectTree, dirEntries, type CgController } from './cgroup-tree.js';
import { rootFor, type CgroupDumpOptions } from './cgroup-options.js';
import { openYard, type Yard } from './cgroup-yard.js';

interface CgSet {
  id: number;
  members: CgMember[];
}

interface DumpState {
  options: CgroupDumpOptions;
  skip: (name: string) => boolean;
  table: PropTable;
  sets: CgSet[];
  criuSet: CgSet;
  rootSet?: CgSet;
  controllers: CgController[];
  yard: Yard;
  log: Logger;
}

const STATE = 'cgroup.dump';

function newState(ctx: DumpContext): DumpState {
  const options = ctx.options.cgroups ?? {};
  const only = options.dumpControllers ?? [];
  const skip = (name: string): boolean => only.length > 0 && !only.includes(name);
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const criuSet = { id: 1, members: parseCgroupFile(self, skip, '/proc/self/cgroup') };
  const controllers = parseHierarchies(self, skip).map((cnames) => ({ cnames, heads: [], isThreaded: false }));
  return {
    options, skip, table: propTable(options.props, options.propsFile), sets: [criuSet], criuSet, controllers,
    yard: openYard(options.yard), log: ctx.log.child('cg'),
  };
}

/** The dump's cgroup state (criu's own set made on first use). */
export function cgroupState(ctx: DumpContext): DumpState {
  return ctx.shared(STATE, () => {
    const state = newState(ctx);
    ctx.onAbort?.(() => state.yard.close());
    return state;
  });
}

function controllerOf(state: DumpState, member: CgMember): CgController {
  const found = state.controllers.find((c) => hierarchyMatches(c.cnames, member.name));
  if (found !== undefined) return found;
  // only named hierarchies (name=systemd) may be missing from criu's own cgroup file
  if (!member.name.startsWith('name=')) throw new CriuError(`cgroup controller ${member.name} not found in criu's cgroups`, { code: 'ENOENT' });
  const made = { cnames: [member.name], heads: [], isThreaded: false };
  state.controllers.push(made);
  return made;
}

function collectSet(state: DumpState, set: CgSet): void {
  for (const member of set.members) {
    const controller = controllerOf(state, member);
    if (state.options.mode === 'ignore') continue;
    const path = rootFor(state.options.roots, member.name) ?? member.path;
    collectTree(controller, state.table, { root: state.yard.root(controller.cnames), path }, state.log);
    if (state.options.freezerState !== undefined && member.name === 'freezer' && controller.heads.length > 0) {
      const head = controller.heads[0]!;
      if (!head.props.some((prop) => prop.name === 'freezer.state')) head.props.push({ name: 'freezer.state', value: state.options.freezerState });
    }
  }
}

function setOf(state: DumpState, members: CgMember[]): CgSet {
  const known = state.sets.find((set) => sameSet(set.members, members));
  if (known !== undefined) return known;
  const set = { id: state.sets.length + 1, members };
  state.sets.push(set);
  state.log.debug(`new cgroup set ${set.id}: ${members.map((m) => `${m.name || 'v2'}:${m.path}`).join(' ')}`);
  collectSet(state, set);
  return set;
}

/** The paths of a task's thread as its own cgroup namespace shows them (read from inside it with nsenter). */
function insideView(pid: number, tid: number): string {
  const result = spawnSync('nsenter', [`--cgroup=/proc/${pid}/ns/cgroup`, 'cat', `/proc/${pid}/task/${tid}/cgroup`], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new CriuError(`pid ${pid}: cannot read its cgroups from inside its cgroup namespace: ${result.stderr || result.error?.message}`, { code: 'EIO' });
  return result.stdout;
}

/** cgns_prefix of each member: where the inside path (a suffix of the outside one) begins. */
export function setPrefixes(outside: CgMember[], inside: readonly CgMember[], pid: number): void {
  for (const member of outside) {
    const own = inside.find((m) => m.name === member.name);
    if (own === undefined || own.path === member.path) continue;
    const tail = own.path.slice(1);
    if (!member.path.endsWith(tail)) throw new CriuError(`pid ${pid}: cgroup ${own.path} is not a suffix of ${member.path}`, { code: 'EINVAL' });
    let prefix = member.path.length - tail.length;
    if (member.path[prefix - 1] === '/') prefix--;
    member.cgnsPrefix = prefix;
  }
}

function ownCgroupNs(pid: number): boolean {
  return readlinkSync(`/proc/${pid}/ns/cgroup`) !== readlinkSync('/proc/self/ns/cgroup');
}

/** The cg_set id of one thread of a task; the root's set is the tree's. */
export function threadCgSet(ctx: DumpContext, task: DumpTask, tid: number): number {
  const state = cgroupState(ctx);
  const members = parseCgroupFile(readFileSync(`/proc/${task.pid}/task/${tid}/cgroup`, 'utf8'), state.skip, `/proc/${task.pid}/task/${tid}/cgroup`);
  const isRoot = ctx.tasks[0]?.pid === task.pid;
  if (isRoot && ownCgroupNs(task.pid)) setPrefixes(members, parseCgroupFile(insideView(task.pid, tid), state.skip), task.pid);
  else if (!isRoot && state.rootSet !== undefined) {
    for (const member of members) member.cgnsPrefix = state.rootSet.members.find((m) => m.name === member.name)?.cgnsPrefix ?? 0;
  }
  const set = setOf(state, members);
  if (isRoot && state.rootSet === undefined) state.rootSet = set;
  return set.id;
}

/** cgroup.img, once every task is dumped (nothing when every task is in criu's set). */
export function writeCgroupImage(ctx: DumpContext): void {
  const state = ctx.shared<DumpState | undefined>(STATE, () => undefined);
  if (state === undefined) return;
  state.yard.close();
  if (state.sets.length === 1 && state.rootSet === state.criuSet) {
    state.log.info('every task is in criu\'s cgroups: nothing to dump');
    return;
  }
  const entry: Messages['cgroup_entry'] = {
    sets: state.sets.filter((set) => set !== state.criuSet).map((set) => ({
      id: set.id,
      ctls: set.members.map((m) => ({ name: m.name, path: m.path, ...(m.cgnsPrefix > 0 ? { cgns_prefix: m.cgnsPrefix } : {}) })),
    })),
    controllers: state.controllers.map((c) => ({ cnames: c.cnames, dirs: dirEntries(c.heads), is_threaded: c.isThreaded })),
  };
  writeImage(imagePath(ctx.options.imagesDir, 'cgroup'), 'cgroup', [entry]);
  state.log.info(`cgroup.img: ${entry.sets!.length} set(s), ${entry.controllers!.length} controller(s)`);
}
