// Which namespaces the dumped tree had of its own, and the pids it gets in
// criu's pid namespace. The root's ids-PID.img ids that differ from
// inventory.img's root_ids (criu's at the dump) name them, as upstream
// reads them; each must be a kind we restore (ns/registry.ts), and every
// other task must live in the root's (the dump refuses nested ones).
// A tree with its own pid namespace keeps its pids there (pstree.img's);
// each task also needs a pid here — any free one: we pick them (they are
// set with clone3's set_tid next to the inner one), so that the whole
// engine can go on naming tasks by the pid the tool sees.
import { existsSync, readFileSync } from 'node:fs';
import { CriuError, ImageError } from '@criu-ts/base';
import { imagePath, readOne, type Messages } from '@criu-ts/images';
import { NAMESPACE_ORDER, namespaceKindOf, type NamespaceKind } from '@criu-ts/kinds';

export interface OwnNamespace {
  kind: NamespaceKind;
  id: number;
}

type Ids = Messages['task_kobj_ids_entry'];

/** The tree's own namespaces, from the images (root = the root's pid in them). */
export function ownNamespaces(dir: string, root: number, others: readonly number[]): OwnNamespace[] {
  // a tree without inventory.img is refused before (restore-tree.ts); without root_ids, upstream too takes criu's
  if (!existsSync(imagePath(dir, 'inventory'))) return [];
  const inventory = readOne(dir, 'inventory');
  const criu = inventory.root_ids;
  if (criu === undefined || !existsSync(imagePath(dir, 'ids', root))) return [];
  const ids = readOne(dir, 'ids', root);
  const own: OwnNamespace[] = [];
  for (const [name, field] of NAMESPACE_ORDER) {
    const id = ids[field as keyof Ids] as number | undefined;
    const theirs = criu[field as keyof Ids] as number | undefined;
    if (id === undefined || theirs === undefined || id === theirs) continue;
    const kind = namespaceKindOf(name);
    if (kind === undefined || kind.refuse !== undefined) {
      throw new CriuError(`the tree has a ${name} namespace of its own (${imagePath(dir, 'ids', root)}): ${kind?.refuse ?? 'not restored yet'}`, { code: 'EUNSUPPORTED' });
    }
    own.push({ kind, id });
  }
  for (const pid of others) {
    if (!existsSync(imagePath(dir, 'ids', pid))) continue;
    const theirs = readOne(dir, 'ids', pid);
    for (const [name, field] of NAMESPACE_ORDER) {
      if (theirs[field as keyof Ids] !== ids[field as keyof Ids]) {
        throw new ImageError(`pid ${pid} lives in a ${name} namespace other than the root's: nested namespaces are not restored`, { image: imagePath(dir, 'ids', pid), offset: 0 });
      }
    }
  }
  return own;
}

/** `count` pids free in criu's pid namespace now, above the last one handed out. */
export function freePids(count: number, avoid: ReadonlySet<number>): number[] {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  let next = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8')) + 1000;
  const pids: number[] = [];
  for (let tries = 0; pids.length < count && tries < max; tries++, next++) {
    if (next >= max) next = 300;
    if (!avoid.has(next) && !existsSync(`/proc/${next}`)) pids.push(next);
  }
  if (pids.length < count) throw new CriuError(`no ${count} free pids for the tree's pid namespace`, { code: 'EAGAIN' });
  return pids;
}
