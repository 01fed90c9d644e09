// A tree in a mount namespace of its own, end to end, with unmodified
// python3 started by `unshare -m`: a tmpfs (a file in it held open, its
// stdout there too), a bind of it, a read-only bind of a subdirectory, a
// peer group of two with a slave, an unbindable bind — dumped
// (mountpoints-ID.img, the tmpfs as tar), killed, restored with --root /:
// the mounts under the test directory read back the same from the restored
// task's mountinfo (type, source, options, propagation), the file's contents
// and the open file's offset survived; the same with upstream CRIU 4.2 on
// either side. Also: a file system criu cannot mount (ramfs) refused by
// name, the tree left running, or left out with --skip-mnt; external mounts
// by key and auto-detected; a container-like pivoted root restored under
// the same --root; a ghost and a link remap inside the namespace. Every
// mount lives only in the test's namespace (but the host tmpfs of the
// external test, unmounted after it), so it goes with the process.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { scratchDir } from './lib/fixtures.js';
import { runTool } from './lib/criu.js';
import { waitFor } from './lib/processes.js';
import { DIRECTIONS, dumpWith, restoreChecked, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { fixturesDir } from './lib/workspace.js';
import { criuBin } from './lib/rpc-client.js';

// eleven dump/restore rounds on a loaded 2-core machine; a tap timeout would skip the teardowns
t.setTimeout(900_000);

const HOLD = `import time, os
os.closerange(3, 4096)
f = open(D + '/T/f'); f.read(2); f.seek(3)
if os.environ.get('NSFD'):
    n = os.open('/proc/self/ns/mnt', os.O_RDONLY)
if os.environ.get('NESTED'):
    import subprocess; subprocess.Popen(['unshare', '-m', 'sleep', '1000'])
if os.environ.get('GHOST'):
    g = open(D + '/T/g', 'w+'); g.write('ghost'); g.flush(); os.unlink(D + '/T/g')
    os.link(D + '/T/f', D + '/T/h'); h = open(D + '/T/h'); os.unlink(D + '/T/h')
print('ready', flush=True)
while True: time.sleep(1)
`;

function startInNamespace(t: Test, dir: string, setup: string, env: NodeJS.ProcessEnv = {}, unshare: readonly string[] = ['-m']): number {
  const script = `set -e; D=${dir}; mkdir -p $D/T $D/B $D/RO $D/S1 $D/S2 $D/S3 $D/U $D/R $D/E
${setup}
exec </dev/null >$D/T/log 2>&1 python3 -c "D='$D'
${HOLD}"`;
  const child = spawn('unshare', [...unshare, '--propagation', 'private', 'sh', '-c', script], { stdio: 'ignore', detached: true, env: { ...process.env, ...env } });
  const pid = child.pid!;
  child.unref();
  // its own session and group (detached): the group goes, with any child (the nested test's)
  t.teardown(() => {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  });
  return pid;
}

const MOUNTS = `mount -t tmpfs -o size=4m,mode=755 x $D/T; echo data > $D/T/f; mkdir $D/T/sub; echo deep > $D/T/sub/g
mount --bind $D/T $D/B; mount --bind -o ro $D/T/sub $D/RO
mount -t tmpfs y $D/S1; mount --make-shared $D/S1; mount --bind $D/S1 $D/S2; mount --make-slave $D/S2; mount --bind $D/S1 $D/S3
mount --bind $D/T/sub $D/U; mount --make-unbindable $D/U`;

/**
 * The task's mounts under dir, without ids and devices: mount point,
 * options, propagation (peer groups numbered by first appearance, so the
 * same groups read the same), type, source, super options.
 */
function mountsUnder(pid: number, dir: string): string[] {
  const groups = new Map<string, number>();
  const group = (id: string): number => groups.get(id) ?? (groups.set(id, groups.size + 1), groups.size);
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(`${dir}/`)).map((line) => {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    const propagation = f.slice(6, dash).map((o) => o.replace(/:(\d+)$/, (_m, id: string) => `:${group(id)}`)).join(',');
    return [f[3], f[4], f[5], propagation, ...f.slice(dash + 1)].join(' ');
  });
}

// the namespace is a copy of criu's: the mounts it shares with criu's (the host's /dev/shm, /run...) are external, auto-detected, not saved
const AUTO = ['--external', 'mnt[]'];

const fdPos = (pid: number, fd: number): string => /pos:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!;
const ready = (pid: number, dir: string) => () => existsSync(`/proc/${pid}/root${dir}/T/log`) && readFileSync(`/proc/${pid}/root${dir}/T/log`, 'utf8').includes('ready');
const gone = (pid: number) => () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');

t.test('mount namespace: tmpfs, binds, ro bind, peers and a slave, unbindable survive dump and restore', async (t) => {
  const dir = scratchDir(t);
  const pid = startInNamespace(t, dir, MOUNTS);
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const before = mountsUnder(pid, dir);
  const fd = readdirSync(`/proc/${pid}/fd`).map(Number).find((n) => readlinkSync(`/proc/${pid}/fd/${n}`) === `${dir}/T/f`)!;
  const pos = fdPos(pid, fd);
  t.equal(before.length, 7, 'seven mounts made under the test directory');
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', '-v4', ...AUTO]);
  t.equal(dump.exitCode, 0, `dump: ${readFileSync(join(images, 'dump.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  t.ok(readdirSync(images).some((f) => /^mountpoints-\d+\.img$/.test(f)), 'mountpoints-ID.img written');
  t.ok(readdirSync(images).some((f) => /^tmpfs-dev-\d+\.tar\.gz\.img$/.test(f)), 'tmpfs-dev-S_DEV.tar.gz.img written');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const restore = await runTool('criu-restore', ['-D', images, '-d', '-j', '--root', '/', '-o', 'restore.log', '-v4', ...AUTO]);
  t.equal(restore.exitCode, 0, `restore: ${readFileSync(join(images, 'restore.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  if (restore.exitCode !== 0) return;
  t.same(mountsUnder(pid, dir), before, 'the restored mounts read back as dumped (type, source, options, propagation)');
  t.equal(readFileSync(`/proc/${pid}/root${dir}/T/f`, 'utf8'), 'data\n', 'the tmpfs file came back');
  t.equal(readFileSync(`/proc/${pid}/root${dir}/RO/g`, 'utf8'), 'deep\n', 'the read-only bind shows the subdirectory');
  t.equal(fdPos(pid, fd), pos, 'the open file kept its offset');
  t.notOk(readdirSync('/tmp').some((f) => f.startsWith('.criu-ts-mntns-')), 'no yard directory left behind');
});

t.test('mount namespace: a ramfs is refused by name, the tree runs on; --skip-mnt leaves it out', async (t) => {
  const dir = scratchDir(t);
  const pid = startInNamespace(t, dir, 'mount -t tmpfs x $D/T; echo data > $D/T/f; mount -t ramfs r $D/R');
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', ...AUTO]);
  t.not(dump.exitCode, 0, 'the dump fails');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), new RegExp(`file system type ramfs \\(mount \\d+ at ${dir}/R\\)`), 'the error names the file system and the mount');
  t.notOk(gone(pid)(), 'the tree runs on');
  t.same(readdirSync(images), ['dump.log'], 'no image is left');
  const skipped = join(dir, 'img-skip');
  mkdirSync(skipped);
  const skip = await runTool('criu-dump', ['-t', String(pid), '-D', skipped, '-o', 'dump.log', '--skip-mnt', `${dir}/R`, ...AUTO]);
  t.equal(skip.exitCode, 0, 'with --skip-mnt it is left out and the dump succeeds');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const restore = await runTool('criu-restore', ['-D', skipped, '-d', '-j', '--root', '/', '-o', 'restore.log', ...AUTO]);
  t.equal(restore.exitCode, 0, 'restore exits 0');
  if (restore.exitCode === 0) t.same(mountsUnder(pid, dir).map((m) => m.split(' ')[1]), [`${dir}/T`], 'the restored namespace has the tmpfs, not the skipped ramfs');
});

for (const way of DIRECTIONS) {
  t.test(`mount namespace, ${way.title}`, { skip: skipWithoutUpstream() }, async (t) => {
    const dir = scratchDir(t);
    const pid = startInNamespace(t, dir, MOUNTS);
    await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
    const before = mountsUnder(pid, dir);
    const pos = fdPos(pid, 3);
    const images = dumpWith(way.dump as Side, t, dir, pid, AUTO);
    if (!restoreChecked(t, way.restore as Side, join(dir, 'out'), images, ['--root', '/', ...AUTO])) return;
    t.same(mountsUnder(pid, dir), before, 'the restored mounts read back as dumped');
    t.equal(readFileSync(`/proc/${pid}/root${dir}/T/f`, 'utf8'), 'data\n', 'the tmpfs file came back');
    t.equal(fdPos(pid, 3), pos, 'the open file kept its offset');
  });
}

/** A tmpfs of criu's own namespace at dir/NAME holding x = text, unmounted after the test. */
function hostTmpfs(t: Test, dir: string, name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(path);
  t.equal(spawnSync('mount', ['-t', 'tmpfs', name, path]).status, 0, `host tmpfs at ${path}`);
  t.teardown(() => {
    spawnSync('umount', ['-l', path]);
  });
  spawnSync('sh', ['-c', `echo ${text} > ${path}/x`]);
  return path;
}

async function dumpExternal(t: Test, dir: string, name: string, args: string[]): Promise<{ pid: number; images: string }> {
  const pid = startInNamespace(t, dir, `mount -t tmpfs x $D/T; echo data > $D/T/f; mount --bind $D/H $D/E`);
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const images = join(dir, name);
  mkdirSync(images);
  const dump = await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', '-v4', ...args, ...AUTO]);
  t.equal(dump.exitCode, 0, 'dump exits 0');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  return { pid, images };
}

/** mountpoints-ID.img of the dumped root's namespace. */
const mountsOf = (images: string, pid: number) => readEntries(images, 'mountpoints', readEntries(images, 'ids', pid)[0]!.mnt_ns_id!);

const restoreIn = (images: string, args: string[], auto = true) => runTool('criu-restore', ['-D', images, '-d', '-j', '--root', '/', '-o', 'restore.log', '-v4', ...args, ...(auto ? AUTO : [])]);

t.test('mount namespace: external mounts by --external mnt[MOUNTPOINT]:KEY and by auto-detection', async (t) => {
  const dir = scratchDir(t);
  hostTmpfs(t, dir, 'H', 'host');
  const other = hostTmpfs(t, dir, 'H2', 'other');
  {
    const { pid, images } = await dumpExternal(t, dir, 'img-key', ['--external', `mnt[${dir}/E]:ext1`]);
    const entry = mountsOf(images, pid).find((e) => e.mountpoint === `${dir}/E`);
    t.equal(entry?.ext_key, 'ext1', 'the mount is saved as external, with its key');
    const missing = await restoreIn(images, []);
    t.not(missing.exitCode, 0, 'restore without the key\'s path fails');
    t.match(readFileSync(join(images, 'restore.log'), 'utf8'), /external \(key ext1\): give its path with --external mnt\[ext1\]:PATH/, 'naming the key');
    t.notOk(existsSync(`/proc/${pid}`), 'and leaves no task');
    const restore = await restoreIn(images, ['--external', `mnt[ext1]:${other}`]);
    t.equal(restore.exitCode, 0, 'restore with --external mnt[ext1]:PATH exits 0');
    if (restore.exitCode === 0) {
      t.equal(readFileSync(`/proc/${pid}/root${dir}/E/x`, 'utf8'), 'other\n', 'the external mount is bound from the given path');
      process.kill(pid, 'SIGKILL');
      await waitFor(gone(pid), 30_000, 'the restored task to go');
    }
  }
  {
    const { pid, images } = await dumpExternal(t, dir, 'img-auto', []);
    const entry = mountsOf(images, pid).find((e) => e.mountpoint === `${dir}/E`);
    t.same([entry?.ext_key, entry?.source], ['CRIU:AUTOGENERATED', `${dir}/H`], 'auto-detected: a bind of criu\'s mount, its path kept as source');
    const refused = await restoreIn(images, [], false);
    t.not(refused.exitCode, 0, 'restore without --external mnt[] fails');
    t.match(readFileSync(join(images, 'restore.log'), 'utf8'), /auto-detected external mount: allow it with --external mnt\[\]/);
    const restore = await restoreIn(images, []);
    t.equal(restore.exitCode, 0, 'restore with --external mnt[] exits 0');
    if (restore.exitCode === 0) t.equal(readFileSync(`/proc/${pid}/root${dir}/E/x`, 'utf8'), 'host\n', 'bound again from the mount of criu\'s namespace');
  }
});

// a container's shape: a root of its own (pivot_root), read-only binds of the host's /usr, /lib, /etc,
// /dev (external mounts, auto-detected), a proc and a tmpfs of its own; restored under the same --root
const CONTAINER = (root: string): string => `set -e; R=${root}; mkdir -p $R/proc $R/tmp $R/old
mount --bind $R $R
for d in usr lib lib64 bin etc dev; do [ -e /$d ] || continue; mkdir -p $R/$d; mount --rbind /$d $R/$d; mount -o remount,bind,ro $R/$d; done
mount -t proc proc $R/proc; mount -t tmpfs tmp $R/tmp; echo data > $R/tmp/f
cd $R; pivot_root . old; umount -l /old; cd /
exec </dev/null >/tmp/log 2>&1 /usr/bin/python3 -c "import time, os
os.closerange(3, 4096)
f = open('/tmp/f'); f.read(2)
print('ready', flush=True)
while True: time.sleep(1)"`;

t.test('mount namespace: a pivoted root with external binds, restored under the same --root', async (t) => {
  const dir = scratchDir(t);
  const root = join(dir, 'rootfs');
  mkdirSync(root);
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', CONTAINER(root)], { stdio: 'ignore', detached: true });
  const pid = child.pid!;
  child.unref();
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  });
  await waitFor(() => existsSync(`/proc/${pid}/root/tmp/log`) && readFileSync(`/proc/${pid}/root/tmp/log`, 'utf8').includes('ready'), 30_000, 'python3 in its root');
  const strip = (lines: string): string[] => lines.split('\n').filter((l) => l !== '').map((l) => l.split(' ').slice(3).join(' ').replace(/ (shared|master):\d+/g, ' $1'));
  const before = strip(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', '-v4', '--external', 'mnt[]']);
  t.equal(dump.exitCode, 0, 'dump with --external mnt[] exits 0');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const restore = await runTool('criu-restore', ['-D', images, '-d', '--root', root, '--external', 'mnt[]', '-o', 'restore.log', '-v4']);
  t.equal(restore.exitCode, 0, `restore: ${readFileSync(join(images, 'restore.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  if (restore.exitCode !== 0) return;
  // the host's overmounted /dev/shm and /dev/pts come back as its top ones (bound by path, as upstream does): compare the rest
  const same = (lines: string[]): string[] => lines.filter((l) => !/ \/dev\/(shm|pts) /.test(l));
  t.same(same(strip(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))), same(before), 'the same mounts, roots, flags and options');
  t.equal(readFileSync(`/proc/${pid}/root/tmp/f`, 'utf8'), 'data\n', 'the tmpfs of its own came back');
  t.equal(readlinkSync(`/proc/${pid}/fd/3`), '/tmp/f', 'the open file, by its path in the namespace');
  t.equal(/pos:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/3`, 'utf8'))![1], '5', 'at its offset');
});

t.test('mount namespace: a deleted file in its tmpfs (ghost) and a linked one (--link-remap)', async (t) => {
  const dir = scratchDir(t);
  const pid = startInNamespace(t, dir, 'mount -t tmpfs x $D/T; echo data > $D/T/f', { GHOST: '1' });
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const links = (): Map<string, number> => new Map(readdirSync(`/proc/${pid}/fd`).map((n) => [readlinkSync(`/proc/${pid}/fd/${n}`), Number(n)]));
  const before = links();
  const ghost = before.get(`${dir}/T/g (deleted)`);
  const linked = before.get(`${dir}/T/h (deleted)`);
  t.ok(ghost !== undefined && linked !== undefined, 'python3 holds a deleted file and a deleted link of a live one');
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', '-v4', '--link-remap', ...AUTO]);
  t.equal(dump.exitCode, 0, `dump: ${readFileSync(join(images, 'dump.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const restore = await runTool('criu-restore', ['-D', images, '-d', '-j', '--root', '/', '-o', 'restore.log', '-v4', ...AUTO]);
  t.equal(restore.exitCode, 0, `restore: ${readFileSync(join(images, 'restore.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  if (restore.exitCode !== 0) return;
  const after = links();
  t.equal(after.get(`${dir}/T/g (deleted)`), ghost, 'the ghost is open again, deleted, at its fd');
  t.equal(readFileSync(`/proc/${pid}/fd/${ghost}`, 'utf8'), 'ghost', 'with its contents');
  t.equal(after.get(`${dir}/T/h (deleted)`), linked, 'the linked file is open again under its old name');
  t.same(readdirSync(`/proc/${pid}/root${dir}/T`).sort(), ['f', 'log'], 'nothing left in the tmpfs: ghost and link_remap removed');
  t.notOk(existsSync(`${dir}/T/g`) || readdirSync(`${dir}/T`).length > 0, 'and nothing made in criu\'s namespace');
});

t.test('mount namespace: overlay, mqueue, an overmounting sysfs, a bind made before the mount of its root', async (t) => {
  const dir = scratchDir(t);
  const setup = `mount -t tmpfs x $D/T; echo data > $D/T/f; mkdir $D/L $D/UP $D/W $D/O $D/M; echo low > $D/L/x
mount -t overlay overlay -o lowerdir=$D/L,upperdir=$D/UP,workdir=$D/W $D/O; echo up > $D/O/y
mount -t mqueue mq $D/M; mount -t sysfs sysfs $D/M
mkdir $D/X $D/Y $D/Z; mount -t tmpfs z $D/X; mkdir $D/X/sub; echo deep > $D/X/sub/g; mount --bind $D/X/sub $D/Z; mount --bind $D/X $D/Y; umount $D/X`;
  const pid = startInNamespace(t, dir, setup);
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const before = mountsUnder(pid, dir);
  t.same(before.map((m) => m.split(' ').at(-3)), ['tmpfs', 'overlay', 'mqueue', 'sysfs', 'tmpfs', 'tmpfs'], 'an overlay, a mqueue and a sysfs over it, a bind of a subdirectory older than the mount of its root');
  const images = join(dir, 'img');
  mkdirSync(images);
  const dump = await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', '-v4', ...AUTO]);
  t.equal(dump.exitCode, 0, 'dump exits 0');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const restore = await runTool('criu-restore', ['-D', images, '-d', '-j', '--root', '/', '-o', 'restore.log', '-v4', ...AUTO]);
  t.equal(restore.exitCode, 0, `restore: ${readFileSync(join(images, 'restore.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  if (restore.exitCode !== 0) return;
  // the mount of Y's root is made before its older bind Z: mountinfo lists them the other way round
  t.same(mountsUnder(pid, dir).sort(), [...before].sort(), 'the same mounts read back');
  t.equal(readFileSync(`/proc/${pid}/root${dir}/O/y`, 'utf8') + readFileSync(`/proc/${pid}/root${dir}/O/x`, 'utf8'), 'up\nlow\n', 'the overlay shows its upper and lower layers');
  t.equal(readFileSync(`/proc/${pid}/root${dir}/Z/g`, 'utf8'), 'deep\n', 'the subdirectory bind shows its files');
});

t.test('mount namespace: a failed restore leaves no task and no yard, the next one works (a file of the namespace too); a nested namespace is refused', async (t) => {
  const dir = scratchDir(t);
  const pid = startInNamespace(t, dir, 'mount -t tmpfs x $D/T; echo data > $D/T/f', { NSFD: '1' });
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const nsFd = readdirSync(`/proc/${pid}/fd`).find((n) => readlinkSync(`/proc/${pid}/fd/${n}`).startsWith('mnt:'))!;
  t.equal(readlinkSync(`/proc/${pid}/fd/${nsFd}`), readlinkSync(`/proc/${pid}/ns/mnt`), 'python3 holds a file of its own mount namespace');
  const images = join(dir, 'img');
  mkdirSync(images);
  t.equal((await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', ...AUTO])).exitCode, 0, 'dump exits 0');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const args = ['-D', images, '-d', '-j', '--root', '/', '-o', 'restore.log', ...AUTO];
  const failed = await runTool('criu-restore', args, { env: { ...process.env, CRIU_FAULT: '2003' } });
  t.not(failed.exitCode, 0, 'a restore failing once the memory is restored (CRIU_FAULT=2003) fails');
  t.notOk(existsSync(`/proc/${pid}`) && !gone(pid)(), 'and leaves no task');
  t.notOk(readdirSync('/tmp').some((f) => f.startsWith('.criu-ts-mntns-')), 'and no yard directory');
  const restore = await runTool('criu-restore', args);
  t.equal(restore.exitCode, 0, 'the same images restore then');
  if (restore.exitCode === 0) {
    t.equal(readFileSync(`/proc/${pid}/root${dir}/T/f`, 'utf8'), 'data\n', 'with the tmpfs');
    t.equal(readlinkSync(`/proc/${pid}/fd/${nsFd}`), readlinkSync(`/proc/${pid}/ns/mnt`), 'and the namespace file is of its new mount namespace');
  }

  const nested = startInNamespace(t, join(dir, 'n'), 'mount -t tmpfs x $D/T; echo data > $D/T/f', { NESTED: '1' });
  await waitFor(ready(nested, join(dir, 'n')), 30_000, 'python3 and its child in a namespace of its own');
  const nestedImages = join(dir, 'img-nested');
  mkdirSync(nestedImages);
  t.not((await runTool('criu-dump', ['-t', String(nested), '-D', nestedImages, '-o', 'dump.log', ...AUTO])).exitCode, 0, 'a tree with a nested mount namespace is not dumped');
  t.match(readFileSync(join(nestedImages, 'dump.log'), 'utf8'), /pid \d+: a mnt namespace (nested in the dumped tree's|made for its children).* is not supported/, 'the error says why');
  t.notOk(gone(nested)(), 'the tree runs on');
});

/** One request through criu swrk with pycriu, as runc makes it (root, auto_ext_mnt, ext_mnt): its JSON answer. */
function swrk(action: 'dump' | 'restore', images: string, pid: number, root: string, extMnt: string[] = []): { success: boolean; pid?: number; error?: string } {
  const run = spawnSync('/usr/bin/python3', [join(fixturesDir, 'rpc', 'pycriu-mntns.py'), criuBin, action, images, String(pid), root, ...extMnt], { timeout: 120_000, encoding: 'utf8' });
  try {
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as { success: boolean; pid?: number; error?: string };
  } catch (error) {
    return { success: false, error: `no answer (${String(error)}): ${run.stdout} ${run.stderr}` };
  }
}

t.test('mount namespace through criu swrk (pycriu): root, auto_ext_mnt', { skip: existsSync('/usr/lib/python3/dist-packages/pycriu') ? false : 'Debian\'s pycriu is not installed' }, async (t) => {
  const dir = scratchDir(t);
  const pid = startInNamespace(t, dir, MOUNTS);
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespace');
  const before = mountsUnder(pid, dir);
  const pos = fdPos(pid, 3);
  const images = join(dir, 'img');
  mkdirSync(images);
  t.match(swrk('dump', images, pid, '/'), { success: true }, 'DUMP with root and auto_ext_mnt');
  // reaped, not only dead: the restore below blocks this process (spawnSync), which is the task's parent
  await waitFor(() => !existsSync(`/proc/${pid}`), 30_000, 'the dumped task to be reaped');
  const restored = swrk('restore', images, pid, '/');
  const errors = existsSync(join(images, 'restore.log')) ? readFileSync(join(images, 'restore.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ') : '(no restore.log)';
  t.match(restored, { success: true, pid }, `RESTORE with root and auto_ext_mnt: the same pid ${restored.success ? '' : `${restored.error ?? ''} ${errors}`}`);
  if (!existsSync(`/proc/${pid}`)) return;
  t.same(mountsUnder(pid, dir), before, 'the restored mounts read back as dumped');
  t.equal(fdPos(pid, 3), pos, 'the open file kept its offset');
});

t.test('mount and network namespaces of the tree\'s own, together', async (t) => {
  const dir = scratchDir(t);
  const pid = startInNamespace(t, dir, 'ip link set lo up; mount -t tmpfs x $D/T; echo data > $D/T/f', {}, ['-m', '-n']);
  await waitFor(ready(pid, dir), 30_000, 'python3 in its namespaces');
  const before = mountsUnder(pid, dir);
  const images = join(dir, 'img');
  mkdirSync(images);
  t.equal((await runTool('criu-dump', ['-t', String(pid), '-D', images, '-o', 'dump.log', '-v4', ...AUTO])).exitCode, 0, 'dump exits 0');
  await waitFor(gone(pid), 30_000, 'the dumped task to go');
  const restore = await runTool('criu-restore', ['-D', images, '-d', '-j', '--root', '/', '-o', 'restore.log', '-v4', ...AUTO]);
  t.equal(restore.exitCode, 0, `restore: ${readFileSync(join(images, 'restore.log'), 'utf8').split('\n').filter((l) => l.includes('Error')).join('; ')}`);
  if (restore.exitCode !== 0) return;
  t.same(mountsUnder(pid, dir), before, 'its mounts read back');
  t.not(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'), 'in a network namespace of its own');
  t.not(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'and a mount namespace of its own');
});
