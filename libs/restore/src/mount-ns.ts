// The root task's mount namespace: it is cloned with CLONE_NEWNS and, right
// after, its mounts are rebuilt in it (the mount kind's restoreMountNamespace)
// under -r/--root, with the external mounts' paths of --external mnt[KEY]:PATH
// and --ext-mount-map.
import { CLONE } from '@criu-ts/kernel';
import { parseMountExternals, restoreMountNamespace } from '@criu-ts/kinds';
import type { Injector } from '@criu-ts/inject';
import { putScratch, type TaskArea } from './task-area.js';
import type { RestoreRequest } from './restore-tree.js';

export function mountNamespaceHook(request: RestoreRequest, dir: string, nsId: number, area: TaskArea): { flags: bigint; made: (injector: Injector) => void } {
  const ext = parseMountExternals(request.external ?? [], request.extMountMap ?? []);
  return {
    flags: CLONE.NEWNS,
    made: (injector) => restoreMountNamespace({
      injector,
      write: (buf, offset) => putScratch(injector.pid, area, buf, offset),
      scratchSize: area.scratchSize,
      imagesDir: dir,
      nsId,
      root: request.root,
      externals: ext.map,
      autoDetect: ext.auto,
      log: request.log.child('mnt'),
    }),
  };
}
