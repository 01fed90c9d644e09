// An open namespace file (/proc/PID/ns/KIND, a "net:[INODE]" fd):
// ns_file_entry {id, ns_id, ns_cflag, flags} in files.img, type NS, as
// upstream writes it — ns_id is the namespace's id in the dump's numbering
// (ids-PID.img, kobj-ids.ts), ns_cflag its CLONE_NEW* flag. A dumped tree
// lives in criu's namespaces and the root's own (ns/namespace.ts; others
// are refused), so a file of one of those is saved and any other is
// refused, as upstream refuses a namespace outside the dumped tree.
// Restore: the namespace must be one the restored tasks live in (their
// ids-PID.img), which are the restored root's (criu's, or new ones made
// for it): the file is /proc/ROOT/ns/KIND, opened with the saved flags.
import { openSync } from 'node:fs';
import { CriuError, UnsupportedError } from '@criu-ts/base';
import { O } from '@criu-ts/kernel';
import { FdTypes, readOne } from '@criu-ts/images';
import { knownNamespaceId, NAMESPACE_ORDER, type NamespaceIds } from '../core/kobj-ids.js';
import { imagePidOf, type RestoreContext } from '../restore-context.js';
import type { FdKind } from './fd-kind.js';

/** CLONE_NEW* of each namespace kind (the /proc/PID/ns names). */
const CLONE_FLAG: Readonly<Record<string, number>> = {
  mnt: 0x00020000,
  cgroup: 0x02000000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  net: 0x40000000,
  time: 0x00000080,
};

function kindOfFlag(cflag: number): string | undefined {
  return Object.entries(CLONE_FLAG).find(([, flag]) => flag === cflag)?.[0];
}

/** Every namespace id of `kind` the restored tasks live in (from their ids images). */
function treeNamespaceIds(ctx: RestoreContext, kind: string): Set<number> {
  const all = ctx.shared('files.ns.tree-ids', () => {
    const byKind = new Map<string, Set<number>>();
    for (const task of ctx.tasks) {
      if (task.zombie) continue;
      const ids = readOne(ctx.options.imagesDir, 'ids', imagePidOf(ctx, task.pid)) as NamespaceIds;
      for (const [name, field] of NAMESPACE_ORDER) {
        const id = ids[field];
        if (id === undefined) continue;
        if (!byKind.has(name)) byKind.set(name, new Set());
        byKind.get(name)!.add(id);
      }
    }
    return byKind;
  });
  return all.get(kind) ?? new Set();
}

export const nsFileKind: FdKind = {
  name: 'ns',
  type: FdTypes.NS,
  matches: (fd) => fd.target.kind === 'namespace',
  dump(env, fd, id) {
    if (fd.target.kind !== 'namespace') throw new CriuError(`fd ${fd.fd} of pid ${fd.pid} is no namespace file`);
    const { ns, inode } = fd.target;
    const cflag = CLONE_FLAG[ns];
    const nsId = cflag === undefined ? undefined : knownNamespaceId(env.ctx, ns, inode);
    if (cflag === undefined || nsId === undefined) {
      throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `${ns} namespace file of a namespace the dumped tree does not live in (${ns}:[${inode}])` });
    }
    return { type: FdTypes.NS, id, nsf: { id, ns_id: nsId, ns_cflag: cflag, flags: fd.flags } };
  },
  open(env, entry) {
    const nsf = entry.nsf!;
    const kind = kindOfFlag(nsf.ns_cflag);
    if (kind === undefined) throw new CriuError(`namespace file ${nsf.id}: unknown namespace flag 0x${nsf.ns_cflag.toString(16)}`, { code: 'EIMAGE' });
    if (!treeNamespaceIds(env.ctx, kind).has(nsf.ns_id)) {
      throw new CriuError(`namespace file ${nsf.id}: ${kind} namespace ${nsf.ns_id} is none the restored tasks live in`, {
        code: 'EUNSUPPORTED',
      });
    }
    env.log.debug(`namespace file ${nsf.id}: the ${kind} namespace the tree is restored into`);
    return openSync(`/proc/${env.ctx.tasks[0]!.pid}/ns/${kind}`, (nsf.flags & ~O.CLOEXEC) | O.CLOEXEC);
  },
};
