// The dump's walk of a hierarchy: from a task's cgroup down, every
// directory with its owner and mode and the properties the table names
// (values as upstream reads them: one trailing newline dropped, a value of
// LLONG_MAX or more saved as -1, memory.oom_control's oom_kill_disable
// alone; cgroup.procs and tasks saved for their permissions only). Heads
// are the walk roots; a directory already under a head is not saved twice.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { CriuError, errnoOf, type Logger } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';
import { isSubpath } from './cgroup-file.js';
import { GLOBAL_V1_PROPS, GLOBAL_V2_PROPS, V2_CONTROLLER_PROPS, type PropTable } from './cgroup-props.js';

export type CgPropEntry = Messages['cgroup_prop_entry'];

export interface CgDir {
  /** absolute in the hierarchy: '/', '/a/b' */
  path: string;
  perms: { mode: number; uid: number; gid: number };
  children: CgDir[];
  props: CgPropEntry[];
}

/** A hierarchy as the dump found it: cg_controller_entry. */
export interface CgController {
  cnames: string[];
  heads: CgDir[];
  isThreaded: boolean;
}

const LLONG_MAX = 9223372036854775807n;

function propValue(name: string, raw: string, path: string): string {
  if (name === 'cgroup.procs' || name === 'tasks') return '';
  const value = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
  if (name === 'memory.oom_control') {
    const match = /^oom_kill_disable (\d+)/.exec(value);
    if (match === null) throw new CriuError(`${path}: cannot read oom_kill_disable from '${value}'`, { code: 'EINVAL' });
    return match[1]!;
  }
  const number = /^\s*-?\d+/.exec(value);
  if (number !== null && BigInt(number[0].trim()) >= LLONG_MAX) return '-1';
  return value;
}

function readProp(dir: string, name: string): CgPropEntry | undefined {
  const path = `${dir}/${name}`;
  let raw: string;
  let st;
  try {
    st = statSync(path);
    raw = name === 'cgroup.procs' || name === 'tasks' ? '' : readFileSync(path, 'utf8');
  } catch (error) {
    // a property this kernel (or this cgroup) does not have is skipped, as upstream does
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw new CriuError(`cannot read cgroup property ${path}: ${String(error)}`, { code: errnoOf(error) ?? 'EIO', cause: error });
  }
  return { name, value: propValue(name, raw, path), perms: { mode: st.mode, uid: st.uid, gid: st.gid } };
}

function propNames(controller: CgController, table: PropTable): string[] {
  if (controller.cnames[0] === '') return [...GLOBAL_V2_PROPS, ...V2_CONTROLLER_PROPS];
  return [...controller.cnames.flatMap((cname) => table.get(cname) ?? []), ...GLOBAL_V1_PROPS];
}

function readDir(controller: CgController, table: PropTable, full: string, path: string): CgDir {
  const st = statSync(full);
  const props: CgPropEntry[] = [];
  for (const name of propNames(controller, table)) {
    const prop = readProp(full, name);
    if (prop === undefined) continue;
    if ((name === 'cgroup.type' && prop.value === 'threaded') || name === 'tasks') controller.isThreaded = true;
    props.push(prop);
  }
  return { path, perms: { mode: st.mode, uid: st.uid, gid: st.gid }, children: [], props };
}

type Found = { kind: 'exact' | 'parent'; dir: CgDir } | { kind: 'none' };

function findDir(path: string, dirs: readonly CgDir[]): Found {
  for (const dir of dirs) {
    if (dir.path === path) return { kind: 'exact', dir };
    if (isSubpath(path, dir.path)) {
      const below = findDir(path, dir.children);
      return below.kind === 'none' ? { kind: 'parent', dir } : below;
    }
  }
  return { kind: 'none' };
}

/**
 * Adds the cgroups at `path` and below in the hierarchy mounted at `root`
 * to the controller's tree (pre-order, as ftw(3) walks).
 */
export function collectTree(controller: CgController, table: PropTable, at: { root: string; path: string }, log: Logger): void {
  const walk = (path: string): void => {
    const full = `${at.root}${path === '/' ? '' : path}`;
    const found = findDir(path, controller.heads);
    if (found.kind !== 'exact') {
      const dir = readDir(controller, table, full, path);
      (found.kind === 'parent' ? found.dir.children : controller.heads).push(dir);
      log.debug(`cgroup ${controller.cnames.join(',') || 'v2'}:${path}: ${dir.props.length} properties`);
    }
    for (const entry of readdirSync(full, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(`${path === '/' ? '' : path}/${entry.name}`);
    }
  };
  if (!existsSync(`${at.root}${at.path === '/' ? '' : at.path}`)) {
    throw new CriuError(`cgroup ${at.path} of ${controller.cnames.join(',') || 'the v2 hierarchy'} does not exist`, { code: 'ENOENT' });
  }
  walk(at.path);
}

/** cgroup_dir_entry of a dir: dir_name relative to its parent ('' for the root, the full path less '/' for a head). */
export function dirEntries(dirs: readonly CgDir[], parentPath?: string): Messages['cgroup_dir_entry'][] {
  return dirs.map((dir) => ({
    dir_name: parentPath === undefined ? dir.path.slice(1) : dir.path.slice(parentPath === '/' ? 1 : parentPath.length + 1),
    children: dirEntries(dir.children, dir.path),
    properties: dir.props,
    dir_perms: dir.perms,
  }));
}
