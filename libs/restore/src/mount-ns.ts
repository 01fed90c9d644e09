// The root task's mount namespace: it is cloned with CLONE_NEWNS and, right
// after, its mounts are rebuilt in it (the mount kind's restoreMountNamespace)
// under -r/--root, with the external mounts' paths of --external mnt[KEY]:PATH
// and --ext-mount-map.
import { CLONE, SYS } from '@criu-ts/kernel';
import { parseMountExternals, restoreMountNamespace } from '@criu-ts/kinds';
import type { Injector } from '@criu-ts/inject';
import { putScratch, type TaskArea } from './task-area.js';
import type { RestoreRequest } from './restore-tree.js';

/**
 * The root's clone flag (CLONE_NEWNS) and what runs in it once it exists:
 * unshare(CLONE_NEWNS) if it was made already (-S), then its mounts.
 */
export function mountNamespaceHook(request: RestoreRequest, dir: string, nsId: number, area: TaskArea): { flags: bigint; inRoot: (injector: Injector, made: boolean) => void } {
  const ext = parseMountExternals(request.external ?? [], request.extMountMap ?? []);
  return {
    flags: CLONE.NEWNS,
    inRoot: (injector, made) => {
      if (made) injector.call('unshare(CLONE_NEWNS)', SYS.unshare, [CLONE.NEWNS]);
      restoreMountNamespace({
        injector,
        write: (buf, offset) => putScratch(injector.pid, area, buf, offset),
        scratchSize: area.scratchSize,
        imagesDir: dir,
        nsId,
        root: request.root,
        externals: ext.map,
        autoDetect: ext.auto,
        log: request.log.child('mnt'),
      });
    },
  };
}
