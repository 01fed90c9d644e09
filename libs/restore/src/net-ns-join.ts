// Putting the root of the tree in its network namespace from inside it,
// before it makes any other task (they inherit it): for --join-ns net and
// an external namespace (--inherit-fd), an injected openat of the
// namespace file, setns(CLONE_NEWNET) and close; for a root that exists
// already (-S: criu-launcher made it) and needs a new namespace, an
// injected unshare(CLONE_NEWNET). The clone of a root made by the helper
// takes CLONE_NEWNET instead (create-tree.ts).
import { CriuError } from '@criu-ts/base';
import { CLONE, SYS } from '@criu-ts/kernel';
import type { Injector } from '@criu-ts/inject';
import { putScratch, type TaskArea } from './task-area.js';

const AT_FDCWD = -100;
const O_RDONLY_CLOEXEC = 0o2000000;

export function joinNetNsInTask(injector: Injector, area: TaskArea, path: string): void {
  if (path.includes('\0') || !path.startsWith('/')) throw new CriuError(`bad network namespace path ${JSON.stringify(path)}`, { code: 'EINVAL' });
  const addr = putScratch(injector.pid, area, Buffer.from(`${path}\0`), 0);
  const fd = injector.call(`openat(${path})`, SYS.openat, [AT_FDCWD, addr, O_RDONLY_CLOEXEC]);
  try {
    injector.call(`setns(${path}, CLONE_NEWNET)`, SYS.setns, [fd, Number(CLONE.NEWNET)]);
  } finally {
    injector.call('close', SYS.close, [fd]);
  }
}

export function unshareNetNsInTask(injector: Injector): void {
  injector.call('unshare(CLONE_NEWNET)', SYS.unshare, [CLONE.NEWNET]);
}
