// The fanotify kind's two halves on this very process: a group with an
// inode mark and a mount mark with an ignored mask (IGNORED_SURV_MODIFY) is
// dumped to its files.img entry, then made again from that entry; the new
// group's fdinfo shows the same flags and marks, and it reports an open of
// the marked file.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultLogger } from '@criu-ts/base';
import { SYS, pidfdOpen, syscall } from '@criu-ts/kernel';
import { listFds, readFdinfo } from '@criu-ts/proc';
import type { FdDumpEnv, FdRestoreEnv } from './fd-kind.js';
import { fanotifyKind } from './fanotify.js';
import { openFd } from './open-fd.js';

const FAN_CLASS_NOTIF = 0;
const FAN_NONBLOCK = 0x2;
const FAN_MARK_ADD = 0x1;
const FAN_MARK_MOUNT = 0x10;
const FAN_MARK_IGNORED_MASK = 0x20;
const FAN_MARK_IGNORED_SURV_MODIFY = 0x40;
const FAN_ACCESS = 0x1;
const FAN_MODIFY = 0x2;
const FAN_OPEN = 0x20;
const FAN_CLOSE = 0x18;
const O_LARGEFILE = 0o100000;

function mark(fd: number, flags: number, mask: number, path: string): void {
  syscall(SYS.fanotify_mark, fd, flags, mask, -100, Buffer.from(`${path}\0`));
}

/** The parts of fanotify fdinfo that must survive (inode numbers stay: same file). */
function shown(fd: number) {
  const info = readFdinfo(process.pid, fd);
  if (info.kind !== 'fanotify') throw new Error(`fd ${fd}: ${info.kind}`);
  return { flags: info.fanotify_flags, events: info.event_flags, marks: info.marks };
}

t.test('a group with an inode mark and a mount mark comes back with the same marks', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-fanotify-'));
  const file = join(dir, 'watched');
  writeFileSync(file, 'x');
  const group = Number(syscall(SYS.fanotify_init, FAN_CLASS_NOTIF | FAN_NONBLOCK, O_LARGEFILE));
  const self = pidfdOpen(process.pid);
  const made: number[] = [];
  t.teardown(() => {
    [group, self, ...made].forEach((fd) => closeSync(fd));
    rmSync(dir, { recursive: true, force: true });
  });
  mark(group, FAN_MARK_ADD, FAN_MODIFY | FAN_OPEN | FAN_CLOSE, file);
  mark(group, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, '/');
  mark(group, FAN_MARK_ADD | FAN_MARK_MOUNT | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_ACCESS, '/');
  const log = defaultLogger('test');
  const fd = openFd(process.pid, self, listFds(process.pid).find((e) => e.fd === group)!);
  made.push(fd.local);
  const entry = fanotifyKind.dump({ log } as FdDumpEnv, fd, 7);
  t.equal(entry.ffy?.mark?.length, 2, 'two marks saved');
  t.match(entry.ffy?.mark?.find((m) => m.type === 2), { me: { path: '' }, ignored_mask: FAN_ACCESS, mflags: FAN_MARK_IGNORED_SURV_MODIFY }, 'the mount mark names its mount point');
  const shared = new Map<string, unknown>();
  const ctx = { shared: <T>(key: string, make: () => T): T => (shared.has(key) ? (shared.get(key) as T) : (shared.set(key, make()).get(key) as T)) };
  const again = fanotifyKind.open!({ log, ctx } as unknown as FdRestoreEnv, entry);
  if (typeof again !== 'number') throw new Error('open retried');
  made.push(again);
  t.same(shown(again), shown(group), 'the same flags, event flags and marks in fdinfo');
  closeSync(openSync(file, 'r'));
  const events = Buffer.alloc(4096);
  t.ok(readSync(again, events) > 0, 'the new group reports the open of the marked file');
  t.end();
});
