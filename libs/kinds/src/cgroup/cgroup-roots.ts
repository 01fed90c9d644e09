// --cgroup-root on restore: the image's cgroups moved under another root,
// per controller or for all, as upstream's rewrite_cgroup_roots does: a
// head directory of a hierarchy takes the new root's name, and every set's
// path below that head is rewritten to match (a path in a cgroup namespace
// keeps its part inside the namespace, cgns_prefix then being the new
// root's length).
import { CriuError } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';
import { controllersCovered, hierarchyMatches } from './cgroup-file.js';
import type { CgroupRoot } from './cgroup-options.js';

type CgroupEntry = Messages['cgroup_entry'];

function newRootOf(cnames: readonly string[], roots: readonly CgroupRoot[]): string | undefined {
  let chosen: string | undefined;
  for (const root of roots) {
    if (root.controller === undefined || controllersCovered(cnames, root.controller).length === 0) continue;
    if (chosen !== undefined && chosen !== root.path) throw new CriuError(`--cgroup-root: ${chosen} and ${root.path} both given for ${cnames.join(',')}`, { code: 'EINVAL' });
    chosen = root.path;
  }
  return chosen ?? roots.find((root) => root.controller === undefined)?.path;
}

function rewriteHead(entry: CgroupEntry, cnames: readonly string[], dir: string, newRoot: string): string {
  let renamed: string | undefined;
  for (const set of entry.sets ?? []) {
    for (const member of set.ctls ?? []) {
      if (!hierarchyMatches(cnames, member.name) || !member.path.slice(1).startsWith(dir)) continue;
      const prefix = member.cgns_prefix ?? 0;
      if (prefix > 0) {
        renamed ??= newRoot + dir.slice(prefix - 1);
        member.path = newRoot + member.path.slice(prefix);
        member.cgns_prefix = newRoot.length;
      } else {
        const rest = member.path.slice(1 + dir.length);
        member.path = newRoot + (rest === '' || rest.startsWith('/') ? rest : `/${rest}`);
        renamed ??= newRoot;
      }
    }
  }
  return renamed ?? dir;
}

/** Rewrites entry in place for --cgroup-root. */
export function rewriteCgroupRoots(entry: CgroupEntry, roots: readonly CgroupRoot[]): void {
  if (roots.length === 0) return;
  for (const root of roots) {
    if (!root.path.startsWith('/') || root.path.split('/').includes('..')) throw new CriuError(`--cgroup-root ${root.path}: must be an absolute path without '..'`, { code: 'EINVAL' });
  }
  for (const controller of entry.controllers ?? []) {
    const newRoot = newRootOf(controller.cnames ?? [], roots);
    if (newRoot === undefined) continue;
    for (const dir of controller.dirs ?? []) dir.dir_name = rewriteHead(entry, controller.cnames ?? [], dir.dir_name, newRoot);
  }
}
