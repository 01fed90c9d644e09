// The files and fs kinds end to end: the fds fixture opens one fd of each
// kind, forks a child that inherits them; we dump it with -R and check the
// images (decoded by Debian's crit) against what /proc showed before the
// dump, then that the pipe and FIFO data are still there afterwards.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from './lib/criu.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { startWorkload, waitForOutput, type Workload } from './lib/processes.js';

type Json = Readonly<Record<string, unknown>>; // an entry of crit's JSON output

/** Walk crit's JSON: at(entry, 'reg', 'name'). */
function at(value: unknown, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined), value);
}

const text = (base64: unknown): string => Buffer.from(String(base64), 'base64').toString();

function crit(path: string): Json[] {
  const out = execFileSync('/usr/bin/crit', ['decode', '-i', path], { encoding: 'utf8', timeout: 30_000 });
  return (JSON.parse(out) as { entries: Json[] }).entries;
}

interface ProcFd {
  link: string;
  pos: number;
  flags: number;
}

/** /proc/PID/fd and fdinfo as they were before the dump. */
function procFds(pid: number): Map<number, ProcFd> {
  const fds = new Map<number, ProcFd>();
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    const info = readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8');
    const field = (key: string): string => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(info)?.[1] ?? '';
    fds.set(Number(name), { link: readlinkSync(`/proc/${pid}/fd/${name}`), pos: Number(field('pos')), flags: parseInt(field('flags'), 8) });
  }
  return fds;
}

const O_CLOEXEC = 0o2000000;
const TYPE_OF_LINK: ReadonlyArray<[RegExp, string]> = [
  [/^pipe:/, 'PIPE'], [/fifo$/, 'FIFO'], [/\[eventfd\]/, 'EVENTFD'], [/\[eventpoll\]/, 'EVENTPOLL'],
  [/\[signalfd\]/, 'SIGNALFD'], [/\[timerfd\]/, 'TIMERFD'], [/inotify/, 'INOTIFY'], [/^\/memfd:/, 'MEMFD'], [/^\//, 'REG'],
];

async function startFds(t: Test, dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ w: Workload; pid: number; child: number; work: string }> {
  const bin = compileFixture('fds', dir);
  const work = join(dir, `w${readdirSync(dir).length}`);
  mkdirSync(work);
  // Node hands a child its stdout as a socket: the fixture writes into a
  // plain pipe, through cat, so this test does not depend on the socket kinds.
  const w = startWorkload(t, 'sh', ['-c', 'exec "$0" "$@" 2>&1 | cat', bin, work], { env: { ...process.env, ...env } });
  const m = await waitForOutput(w, /^ready (\d+) (\d+)$/m);
  return { w, pid: Number(m[1]), child: Number(m[2]), work };
}

t.test('files and fs images of the fds fixture', async (t) => {
  const dir = scratchDir(t);
  const { w, pid, child, work } = await startFds(t, dir);
  const before = { parent: procFds(pid), child: procFds(child) };
  const images = join(dir, 'images');
  mkdirSync(images);
  const run = await criuDump(['-t', String(pid), '-D', images, '-R', '-l', '-v4', '-o', 'dump.log']);
  t.equal(run.exitCode, 0, `dump succeeds: ${run.stderr}`);
  if (run.exitCode !== 0) return;

  const files = new Map(crit(join(images, 'files.img')).map((e) => [Number(e.id), e]));
  const fdinfos = readdirSync(images).filter((n) => /^fdinfo-\d+\.img$/.test(n)).map((n) => crit(join(images, n)));
  t.equal(fdinfos.length, 2, 'one fd table per task');
  const table = (fds: Map<number, ProcFd>): Map<number, Json> => {
    const found = fdinfos.find((entries) => entries.length === fds.size && entries.every((e) => fds.has(Number(e.fd))));
    return new Map((found ?? []).map((e) => [Number(e.fd), e]));
  };
  const parent = table(before.parent);
  const kid = table(before.child);
  t.equal(parent.size, before.parent.size, 'every fd of the parent is in an fdinfo image');
  t.equal(kid.size, before.child.size, 'every fd of the child is in an fdinfo image');

  t.test('fdinfo matches /proc', async (t) => {
    for (const [fd, proc] of before.parent) {
      const e = parent.get(fd) ?? {};
      const type = TYPE_OF_LINK.find(([re]) => re.test(proc.link))?.[1];
      t.equal(e.type, type, `fd ${fd} (${proc.link}) is ${type}`);
      t.equal(e.flags, (proc.flags & O_CLOEXEC) !== 0 ? 1 : 0, `fd ${fd} close-on-exec`);
      t.equal(files.get(Number(e.id))?.type, e.type, `fd ${fd}'s file entry has its type`);
      const reg = at(files.get(Number(e.id)), 'reg');
      if (reg !== undefined && !proc.link.endsWith('(deleted)')) {
        t.equal(at(reg, 'name'), proc.link, `fd ${fd} path`);
        t.equal(at(reg, 'pos'), proc.pos, `fd ${fd} position`);
        t.equal(at(reg, 'flags'), proc.flags & ~O_CLOEXEC, `fd ${fd} open flags`);
      }
    }
    t.equal(parent.get(10)?.id, parent.get(12)?.id, 'a dup shares its description');
    t.not(parent.get(10)?.id, parent.get(11)?.id, 'separate opens do not');
    for (const fd of [10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24]) {
      t.equal(kid.get(fd)?.id, parent.get(fd)?.id, `fd ${fd} inherited by the child shares the parent's description`);
    }
    t.notOk(kid.has(22), 'the child closed its ghost fd');
    t.notOk([...parent.values()].some((e) => e.id === kid.get(30)?.id), "the child's own file is a new description");
  });

  const entry = (fd: number, ...path: (string | number)[]): unknown => at(files.get(Number(parent.get(fd)?.id)), ...path);
  t.test('regular files', async (t) => {
    t.equal(entry(10, 'reg', 'size'), 5000, 'size kept for validation');
    t.equal(entry(11, 'reg', 'size'), undefined, 'no size for an O_WRONLY|O_APPEND log');
    t.equal(entry(13, 'reg', 'name'), '/dev/null', '/dev/null is a REG by path');
    t.equal(entry(24, 'reg', 'name'), work, 'a directory');
  });

  t.test('pipes and fifos', async (t) => {
    t.equal(entry(14, 'pipe', 'pipe_id'), entry(15, 'pipe', 'pipe_id'), 'both ends share pipe_id');
    const pipeData = crit(join(images, 'pipes-data.img'));
    const queued = pipeData.find((d) => d.pipe_id === entry(14, 'pipe', 'pipe_id'));
    t.equal(text(queued?.extra), 'queued in the pipe', 'pipe data saved');
    t.equal(at(files.get(Number(entry(16, 'fifo', 'regf_id'))), 'reg', 'name'), join(work, 'fifo'), 'fifo path in its reg entry');
    const fifoData = crit(join(images, 'fifo-data.img')).find((d) => d.pipe_id === entry(16, 'fifo', 'pipe_id'));
    t.equal(text(fifoData?.extra), 'queued in the fifo', 'fifo data saved');
  });

  t.test('anon inode files', async (t) => {
    t.equal(entry(17, 'efd', 'counter'), 7, 'eventfd counter');
    const tfds = (entry(18, 'epfd', 'tfd') as Json[]).map((x) => [Number(x.tfd), Number(x.data)]).sort((a, b) => a[0] - b[0]);
    t.same(tfds, [[14, 0x1234], [17, 0x5678]], 'epoll targets and their data');
    t.equal(entry(19, 'sgfd', 'sigmask'), (1 << 9) | (1 << 11), 'signalfd mask: SIGUSR1, SIGUSR2');
    const tfd = entry(20, 'tfd') as Json;
    t.match(tfd, { clockid: 1, isec: 5, insec: 500 }, 'timerfd interval');
    t.ok(Number(tfd.vsec) <= 100 && Number(tfd.vsec) >= 90, 'timerfd armed with the time left');
    t.equal(entry(21, 'ify', 'wd', 'length'), 1, 'one inotify watch');
    t.equal(Number(entry(21, 'ify', 'wd', 0, 'mask')) & 0x300, 0x300, 'inotify mask IN_CREATE|IN_DELETE');
  });

  t.test('ghost file and memfd', async (t) => {
    const remap = crit(join(images, 'remap-fpath.img')).find((r) => r.orig_id === parent.get(22)?.id);
    t.equal(remap?.remap_type, 'GHOST', 'the deleted file is a ghost');
    const ghost = crit(join(images, `ghost-file-${Number(remap?.remap_id).toString(16)}.img`));
    t.equal(text(ghost[0]?.extra), 'ghost contents\n', 'ghost contents');
    const inode = crit(join(images, 'memfd.img')).find((m) => m.inode_id === entry(23, 'memfd', 'inode_id'));
    t.match(inode, { name: 'fixture-memfd', size: 16384, seals: 2 }, 'memfd inode');
    const pagemap = crit(join(images, `pagemap-shmem-${inode?.shmid}.img`));
    t.same(pagemap.slice(1).map((p) => p.vaddr), [0, 8192], 'memfd pages with data, holes left out');
  });

  t.test('locks and fs', async (t) => {
    t.match(crit(join(images, 'filelocks.img')), [{ flag: 2, type: 0, pid, fd: 10 }], 'the flock');
    const fs = crit(join(images, `fs-${pid}.img`))[0];
    t.equal(at(files.get(Number(fs?.cwd_id)), 'reg', 'name'), work, 'cwd');
    t.equal(at(files.get(Number(fs?.root_id)), 'reg', 'name'), '/', 'root');
    t.equal(fs?.umask, 0o27, 'umask');
  });

  t.test('the dump consumed nothing', async (t) => {
    process.kill(pid, 'SIGHUP');
    await waitForOutput(w, /^verify .*$/m);
    t.match(w.output(), /verify pipe=queued in the pipe fifo=queued in the fifo eventfd=7/);
  });
});

t.test('refusals leave the tree running', async (t) => {
  const dir = scratchDir(t);
  const refuse = async (t: Test, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<void> => {
    const { pid } = await startFds(t, dir, env);
    const images = join(dir, `images${readdirSync(dir).length}`);
    mkdirSync(images);
    const run = await criuDump(['-t', String(pid), '-D', images, '-R', ...args]);
    t.not(run.exitCode, 0, 'the dump fails');
    t.match(run.stderr, pattern, 'and says why');
    t.same(readdirSync(images).filter((n) => n.endsWith('.img')), [], 'no images left');
    t.ok(existsSync(`/proc/${pid}`), 'the target still runs');
  };
  t.test('locks without -l', (t) => refuse(t, [], {}, /holds file locks/));
  t.test('a ghost over --ghost-limit', (t) => refuse(t, ['-l', '--ghost-limit', '4'], {}, /ghost.*limit/));
  t.test('an fd kind we do not save', (t) => refuse(t, ['-l'], { FDS_UNSUPPORTED: '1' }, /fd 40: anon inode file \[userfaultfd\] is not supported/));
  t.test('an unlinked name without --link-remap', (t) => refuse(t, ['-l'], { FDS_LINKED: '1' }, /linked.*no longer reachable/));
});

t.test('--link-remap links an unlinked name back', async (t) => {
  const dir = scratchDir(t);
  const { pid, work } = await startFds(t, dir, { FDS_LINKED: '1' });
  const images = join(dir, 'images');
  mkdirSync(images);
  const run = await criuDump(['-t', String(pid), '-D', images, '-R', '-l', '--link-remap']);
  t.equal(run.exitCode, 0, `dump succeeds: ${run.stderr}`);
  if (run.exitCode !== 0) return;
  const files = new Map(crit(join(images, 'files.img')).map((e) => [Number(e.id), e]));
  const remap = crit(join(images, 'remap-fpath.img')).find((r) => r.remap_type === 'LINKED');
  t.equal(at(files.get(Number(remap?.orig_id)), 'reg', 'name'), join(work, 'linked'), 'the original name is kept');
  const link = String(at(files.get(Number(remap?.remap_id)), 'reg', 'name'));
  t.match(link, new RegExp(`^${work}/link_remap\\.\\d+$`), 'the link is saved as a file of its own');
  t.ok(existsSync(link), 'and exists on disk');
});
