// /proc/PID/task/TID/cgroup (cgroups(7)): one line per hierarchy,
// "ID:CONTROLLERS:PATH" — "4:cpu,cpuacct:/a", "2:name=systemd:/x", and
// "0::/b" for the cgroup v2 (unified) hierarchy, whose controller name is
// empty. A task's cgroup set is its lines' (controllers, path) pairs,
// sorted by controller name as upstream CRIU keeps them.
import { CriuError } from '@criu-ts/base';

/** One line of a cgroup file: cg_member_entry {name, path, cgns_prefix}. */
export interface CgMember {
  /** the hierarchy's controllers as the file names them: 'cpu,cpuacct', 'name=systemd', '' (v2) */
  name: string;
  path: string;
  /** length of the path's part above the task's cgroup namespace root (0: none) */
  cgnsPrefix: number;
}

/** Parses a cgroup file, sorted by name; `skip` drops hierarchies (--cgroup-dump-controller). */
export function parseCgroupFile(text: string, skip: (name: string) => boolean = () => false, what = 'cgroup file'): CgMember[] {
  return parseLines(text, skip, what).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function parseLines(text: string, skip: (name: string) => boolean, what: string): CgMember[] {
  const members: CgMember[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) throw new CriuError(`${what}: cannot parse line '${line}'`, { code: 'EINVAL' });
    const name = line.slice(first + 1, second);
    if (skip(name)) continue;
    members.push({ name, path: line.slice(second + 1), cgnsPrefix: 0 });
  }
  return members;
}

/**
 * The controllers of each hierarchy this process is in (from
 * /proc/self/cgroup), without the named ones ('name=systemd'): the
 * hierarchies a dump can find a task's cgroups in. v2 is [''].
 */
export function parseHierarchies(text: string, skip: (name: string) => boolean = () => false): string[][] {
  const hierarchies: string[][] = [];
  // in the file's order, as upstream lists them in cgroup.img
  for (const member of parseLines(text, skip, '/proc/self/cgroup')) {
    if (member.name === '') {
      hierarchies.push(['']);
      continue;
    }
    const real = member.name.split(',').filter((name) => !name.startsWith('name='));
    if (real.length > 0) hierarchies.push(real);
  }
  return hierarchies;
}

/** Whether a hierarchy of `cnames` is the one a member line `name` names (upstream's cgroup_contains). */
export function hierarchyMatches(cnames: readonly string[], name: string): boolean {
  if (cnames.length === 1 && cnames[0] === '') return name === '';
  if (cnames.length === 0) return false;
  const listed = name.split(',');
  return cnames.every((cname) => listed.includes(cname));
}

/** The part of cnames a spec (--cgroup-root's controller) names, as a mask of indexes it covers. */
export function controllersCovered(cnames: readonly string[], name: string): number[] {
  if (cnames.length === 1 && cnames[0] === '') return name === '' ? [0] : [];
  const listed = name.split(',');
  return cnames.flatMap((cname, i) => (listed.includes(cname) ? [i] : []));
}

/** The directory of a hierarchy under a yard or in an image's paths: 'cpu,cpuacct', 'systemd', 'unified'. */
export function hierarchyDirName(cnames: readonly string[]): string {
  return cnames.map((name) => (name.startsWith('name=') ? name.slice(5) : name === '' ? 'unified' : name)).join(',');
}

/** Whether `path` is `dir` or below it (both absolute, '/' the root). */
export function isSubpath(path: string, dir: string): boolean {
  if (!path.startsWith(dir)) return false;
  return dir === '/' || path.length === dir.length || path[dir.length] === '/';
}

/** Two sets are one when every member has the same name, path and cgroup namespace prefix. */
export function sameSet(a: readonly CgMember[], b: readonly CgMember[]): boolean {
  return a.length === b.length && a.every((m, i) => m.name === b[i]!.name && m.path === b[i]!.path && m.cgnsPrefix === b[i]!.cgnsPrefix);
}
