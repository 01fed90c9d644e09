// Live test of the files and fs kinds alone (without the rest of the dump):
// freeze the fds fixture and its child, run both kinds on each task, check
// the images as Debian's crit decodes them, then that the fixture's pipe
// and FIFO still hold their data.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { TaskRecord } from '../kind.js';
import { compile, freezeForDump, start, tempDir } from '../memory/live-dump.fixture.js';
import { fsKind } from '../fs/fs-kind.js';
import { filesKind } from './files-kind.js';

type Json = Readonly<Record<string, unknown>>; // an entry of crit's JSON output

function crit(path: string): Json[] {
  return (JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', path], { encoding: 'utf8', timeout: 30_000 })) as { entries: Json[] }).entries;
}

/** Walk crit's JSON: at(entry, 'reg', 'name'). */
function at(value: unknown, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined), value);
}

t.test('files and fs kinds on the fds fixture', async (t) => {
  const dir = tempDir(t);
  const bin = compile('fds', dir);
  const work = join(dir, 'work');
  const images = join(dir, 'images');
  mkdirSync(work);
  mkdirSync(images);
  // stdout through cat: Node's stdio is a socket, the socket kinds' business
  const fixture = await start(t, 'sh', ['-c', 'exec "$0" "$@" 2>&1 | cat', bin, work], /^ready \d+ \d+$/m);
  const [, pid, child] = /^ready (\d+) (\d+)$/m.exec(fixture.output())!.map(Number);
  t.teardown(() => {
    for (const p of [pid, child]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  });
  const live = freezeForDump(t, pid, images);
  const ctx = { ...live.ctx, options: { ...live.ctx.options, fileLocks: true } };
  const records = new Map<number, TaskRecord>();
  try {
    for (const task of ctx.tasks) {
      const record: TaskRecord = { ids: {} };
      filesKind.dump(ctx, task, record);
      fsKind.dump(ctx, task, record);
      records.set(task.pid, record);
    }
  } finally {
    live.finish();
  }

  const files = new Map(crit(join(images, 'files.img')).map((e) => [Number(e.id), e]));
  const fdinfo = (p: number): Map<number, Json> => new Map(crit(join(images, `fdinfo-${records.get(p)?.ids.files_id}.img`)).map((e) => [Number(e.fd), e]));
  const parent = fdinfo(pid);
  const kid = fdinfo(child);
  const entry = (fd: number, ...path: string[]): unknown => at(files.get(Number(parent.get(fd)?.id)), ...path);

  t.not(records.get(pid)?.ids.files_id, records.get(child)?.ids.files_id, 'fork gives the child its own fd table');
  t.equal(parent.get(10)?.id, parent.get(12)?.id, 'dup shares a description');
  t.equal(kid.get(14)?.id, parent.get(14)?.id, 'an inherited fd shares the parent description');
  t.equal(parent.get(13)?.flags, 1, 'FD_CLOEXEC kept');
  t.match(entry(10, 'reg'), { name: join(work, 'reg'), pos: 1234, size: 5000, flags: 0o100002 }, 'file at an offset');
  t.equal(entry(14, 'pipe', 'pipe_id'), entry(15, 'pipe', 'pipe_id'), 'pipe ends share pipe_id');
  const pipeData = crit(join(images, 'pipes-data.img'))[0];
  t.equal(Buffer.from(String(pipeData?.extra), 'base64').toString(), 'queued in the pipe', 'pipe data');
  t.equal(entry(17, 'efd', 'counter'), 7, 'eventfd counter');
  t.equal(entry(18, 'epfd', 'tfd', 'length'), 2, 'epoll targets');
  t.equal(entry(19, 'sgfd', 'sigmask'), (1 << 9) | (1 << 11), 'signalfd mask');
  t.match(entry(20, 'tfd'), { clockid: 1, isec: 5, insec: 500 }, 'timerfd');
  t.equal(entry(21, 'ify', 'wd', 'length'), 1, 'inotify watch');
  t.match(crit(join(images, 'remap-fpath.img')), [{ orig_id: parent.get(22)?.id, remap_type: 'GHOST' }], 'ghost remap');
  t.match(crit(join(images, 'memfd.img')), [{ name: 'fixture-memfd', size: 16384 }], 'memfd inode');
  t.match(crit(join(images, 'filelocks.img')), [{ flag: 2, pid, fd: 10 }], 'flock saved');
  const fs = crit(join(images, `fs-${pid}.img`))[0];
  t.equal(at(files.get(Number(fs?.cwd_id)), 'reg', 'name'), work, 'cwd');
  t.equal(fs?.umask, 0o27, 'umask');
  const decoded = readdirSync(images).filter((name) => !name.startsWith('pages-')).map((name) => crit(join(images, name)));
  t.ok(decoded.every((entries) => Array.isArray(entries)), 'crit decodes every image');

  process.kill(pid, 'SIGHUP');
  const deadline = Date.now() + 10_000;
  while (!/^verify /m.test(fixture.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.match(fixture.output(), /verify pipe=queued in the pipe fifo=queued in the fifo eventfd=7/, 'nothing was consumed');
});

t.test('--link-remap links an unlinked name back', async (t) => {
  const dir = tempDir(t);
  const bin = compile('fds', dir);
  const work = join(dir, 'work');
  const images = join(dir, 'images');
  mkdirSync(work);
  mkdirSync(images);
  const fixture = await start(t, 'sh', ['-c', 'FDS_LINKED=1 exec "$0" "$@" 2>&1 | cat', bin, work], /^ready \d+ \d+$/m);
  const [, pid, child] = /^ready (\d+) (\d+)$/m.exec(fixture.output())!.map(Number);
  t.teardown(() => {
    for (const p of [pid, child]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  });
  const live = freezeForDump(t, pid, images);
  const undo: Array<() => void> = [];
  const ctx = { ...live.ctx, options: { ...live.ctx.options, fileLocks: true, linkRemap: true }, onAbort: (fn: () => void) => undo.push(fn) };
  try {
    filesKind.dump(ctx, ctx.tasks[0]!, { ids: {} });
  } finally {
    live.finish();
  }
  const files = new Map(crit(join(images, 'files.img')).map((e) => [Number(e.id), e]));
  const remap = crit(join(images, 'remap-fpath.img')).find((r) => r.remap_type === 'LINKED');
  t.equal(at(files.get(Number(remap?.orig_id)), 'reg', 'name'), join(work, 'linked'), 'the original name is kept');
  const link = String(at(files.get(Number(remap?.remap_id)), 'reg', 'name'));
  t.match(link, /\/link_remap\.\d+$/, 'the link is a file of its own');
  t.ok(existsSync(link), 'made on disk');
  t.equal(undo.length, 1, 'with an undo for a failed dump');
  undo[0]!();
  t.notOk(existsSync(link), 'which removes it');
});
