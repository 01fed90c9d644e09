// A tree with namespaces of its own, end to end (the nsroot fixture: an init
// in new pid, uts and ipc namespaces, optionally a time namespace, with a
// child, a hostname, a SysV shm segment, a semaphore set and a message
// queue): dumped with the pids its pid namespace sees (pstree 1 and 2),
// restored into new namespaces with the same inner pids, the hostname and
// the SysV objects (the init's own verdict), the time namespace's clock
// going on; by ours, and both ways with upstream CRIU 4.2 (which needs no
// mount namespace for this). A namespace we do not restore (user, cgroup,
// net) is refused by name and the tree runs on.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries, readOne } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { logTail, restoreChecked, signalWhenAsleep, skipWithoutUpstream, upstreamCriu, type Side } from './lib/upstream.js';
import { alive, killAndReap, root, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

interface Tree {
  /** the init's pid here */
  init: number;
  out: string;
  /** the init's threads' tids in its pid namespace, before the dump */
  threads?: number[];
}

/** The tids of pid's threads as its own pid namespace sees them (NSpid of each /proc/PID/task/TID). */
function nsThreads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => nsPids(Number(tid)).slice(-1)[0]!).sort((a, b) => a - b);
}

function startTree(t: Test, dir: string, namespaces: string): Tree {
  const fixture = compileFixture('nsroot', dir);
  const out = join(dir, 'out');
  startBackground(t, out, fixture, [namespaces]);
  const init = Number(waitOutput(out, /ready (\d+)/)[1]);
  t.teardown(() => killAndReap(init));
  waitOutput(out, /init monotonic/);
  return { init, out, threads: nsThreads(init) };
}

/** Asks the init for its verdict; the n-th one printed (1-based). */
function verdict(tree: { init: number; out: string }, n: number): string {
  signalWhenAsleep(tree.init, SIG.USR1);
  let got: string[] = [];
  waitFor(`verdict ${n}`, () => (got = [...readFileSync(tree.out, 'utf8').matchAll(/verdict (.*)/g)].map((m) => m[1]!)).length >= n);
  return got[n - 1]!;
}

/** The dump of the tree by one side; the tree is killed (its init, by its pid here: images hold the inner ones). */
function dump(side: Side, dir: string, tree: Tree): string {
  const images = join(dir, `img-${side}`);
  mkdirSync(images);
  const run = side === 'ours'
    ? spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(tree.init), '-D', images, '-v4', '-o', 'dump.log'], { timeout: 120_000 })
    : spawnSync(upstreamCriu()!, ['dump', '-t', String(tree.init), '-D', images, '-v4', '-o', 'dump.log'], { timeout: 120_000 });
  if (run.status !== 0) throw new Error(`${side} dump failed (${run.status}): ${logTail(images, 'dump.log', 40)}`);
  killAndReap(tree.init);
  waitFor('the dumped init to be gone', () => !alive(tree.init), 20_000);
  return images;
}

function nsPids(pid: number): number[] {
  return /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim().split(/\s+/).map(Number);
}

/** Restores with one side; the restored init's pid here (--pidfile), killed at teardown. */
function restore(t: Test, side: Side, tree: Tree, images: string): number | undefined {
  const pidfile = join(images, 'restored.pid');
  if (!restoreChecked(t, side, tree.out, images, ['--pidfile', pidfile])) return undefined;
  const init = Number(readFileSync(pidfile, 'utf8'));
  t.teardown(() => killAndReap(init));
  return init;
}

function checkRestored(t: Test, tree: Tree, init: number): void {
  t.not(init, tree.init, 'the pidfile names the restored init by its pid here');
  t.same(nsPids(init).slice(-1), [1], 'the restored root is pid 1 of its pid namespace (NSpid)');
  const children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/).map(Number);
  t.same(children.map((child) => nsPids(child).slice(-1)[0]), [2], 'its child keeps pid 2 there');
  t.same(nsThreads(init), tree.threads, `its threads keep their tids there (${tree.threads?.join(', ')})`);
  for (const kind of ['pid', 'uts', 'ipc']) t.not(readlinkSync(`/proc/${init}/ns/${kind}`), readlinkSync(`/proc/self/ns/${kind}`), `in a ${kind} namespace of its own`);
  t.equal(verdict({ init, out: tree.out }, 2), 'ok', 'the init finds pid 1, child 2, its hostname, shm bytes, semaphore values and messages as they were');
}

t.test('pid, uts and ipc namespaces: dumped as the namespace sees them, restored into new ones', (t) => {
  const dir = scratchDir(t);
  const tree = startTree(t, dir, 'pid,uts,ipc');
  t.equal(verdict(tree, 1), 'ok', 'the fixture is set up');
  const images = dump('ours', dir, tree);
  t.same(readEntries(images, 'pstree').map((e) => [e.pid, e.ppid, e.pgid, e.sid, e.threads]), [[1, 0, 1, 1, [1, 3]], [2, 1, 1, 1, [2]]], 'pstree holds the pids and tids of the pid namespace, as upstream');
  const ids = readOne(images, 'ids', 1);
  const root = readOne(images, 'inventory').root_ids!;
  t.ok(ids.pid_ns_id !== root.pid_ns_id && ids.uts_ns_id !== root.uts_ns_id && ids.ipc_ns_id !== root.ipc_ns_id && ids.net_ns_id === root.net_ns_id, 'ids-1.img names new pid, uts and ipc namespaces, criu\'s net one');
  t.equal(readOne(images, 'utsns', ids.uts_ns_id).nodename, 'criu-ts-ns', `utsns-${ids.uts_ns_id}.img holds the hostname`);
  t.same(readEntries(images, 'ipcns-sem', ids.ipc_ns_id).map((e) => e.nsems), [3], 'one semaphore set');
  t.ok(existsSync(join(images, `ipcns-var-${ids.ipc_ns_id}.img`)) && existsSync(join(images, `ipcns-shm-${ids.ipc_ns_id}.img`)), 'ipcns-var and ipcns-shm images');
  const init = restore(t, 'ours', tree, images);
  if (init !== undefined) checkRestored(t, tree, init);
  t.end();
});

t.test('a time namespace of its own: timens-ID.img, and the clocks go on after the restore', (t) => {
  const dir = scratchDir(t);
  const tree = startTree(t, dir, 'pid,uts,ipc,time');
  t.equal(verdict(tree, 1), 'ok', 'the fixture is set up');
  const images = dump('ours', dir, tree);
  const ids = readOne(images, 'ids', 1);
  t.not(ids.time_ns_id, readOne(images, 'inventory').root_ids!.time_ns_id, 'a time namespace of its own');
  const entry = readOne(images, 'timens', ids.time_ns_id);
  t.ok(entry.monotonic.tv_sec >= 100000n, `timens-${ids.time_ns_id}.img holds the namespace's clock (100000 s ahead), not the host's`);
  t.notOk(existsSync(join(images, 'timens-0.img')), 'no timens-0.img');
  const init = restore(t, 'ours', tree, images);
  if (init !== undefined) {
    t.not(readlinkSync(`/proc/${init}/ns/time`), readlinkSync('/proc/self/ns/time'), 'in a time namespace of its own');
    t.equal(verdict({ init, out: tree.out }, 2), 'ok', 'CLOCK_MONOTONIC did not go back (and the rest is as it was)');
  }
  t.end();
});

t.test('a SysV segment kept attached: its mapping (SYSVIPC, shmid its id) attached again at its address', (t) => {
  const dir = scratchDir(t);
  const tree = startTree(t, dir, 'pid,uts,ipc,attach');
  t.equal(verdict(tree, 1), 'ok', 'the fixture is set up');
  const images = dump('ours', dir, tree);
  const sysv = (readOne(images, 'mm', 1).vmas ?? []).filter((vma) => (vma.status & (1 << 10)) !== 0);
  t.same(sysv.map((vma) => [vma.shmid, vma.end - vma.start]), [[0n, 4n * 4096n]], 'one SysV mapping of segment 0, all of it');
  const init = restore(t, 'ours', tree, images);
  if (init !== undefined) checkRestored(t, tree, init);
  t.end();
});

for (const way of [{ dump: 'ours', restore: 'upstream' }, { dump: 'upstream', restore: 'ours' }] as const) {
  t.test(`pid, uts and ipc namespaces, a SysV segment attached, dumped by ${way.dump}, restored by ${way.restore}`, { skip: skipWithoutUpstream() }, (t) => {
    const dir = scratchDir(t);
    const tree = startTree(t, dir, 'pid,uts,ipc,attach');
    t.equal(verdict(tree, 1), 'ok', 'the fixture is set up');
    const images = dump(way.dump, dir, tree);
    const init = restore(t, way.restore, tree, images);
    if (init !== undefined) checkRestored(t, tree, init);
    t.end();
  });
}

t.test('restore -d -S through the umbrella: the root, pid 1 of its new namespaces, is a child of the shell', (t) => {
  const dir = scratchDir(t);
  const tree = startTree(t, dir, 'pid,uts,ipc,time');
  const images = dump('ours', dir, tree);
  const pidfile = join(images, 'restored.pid');
  // the shell reports its own pid and the root's parent while it still runs (criu restore -d -S has exited by then)
  const script = '"$0" restore -d -S -D "$1" -v4 -o restore.log --pidfile "$2" </dev/null >>"$3" 2>&1; echo "status $? shell $$ $(grep PPid /proc/$(cat "$2")/status)"';
  const shell = spawnSync('sh', ['-c', script, join(root, 'node_modules/.bin/criu'), images, pidfile, tree.out], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  const got = /^status (\d+) shell (\d+) PPid:\s+(\d+)/.exec(shell.stdout);
  t.ok(got, `the shell reported: ${shell.stdout}`, { log: got?.[1] === '0' ? '' : logTail(images, 'restore.log') });
  if (got === null) return t.end();
  const init = Number(readFileSync(pidfile, 'utf8'));
  t.teardown(() => killAndReap(init));
  t.equal(got[1], '0', 'criu restore -d -S exits 0');
  t.equal(got[3], got[2], "the restored root's parent was the shell that ran criu");
  t.same(nsPids(init).slice(-1), [1], 'pid 1 of its pid namespace');
  for (const kind of ['pid', 'uts', 'ipc', 'time']) t.not(readlinkSync(`/proc/${init}/ns/${kind}`), readlinkSync(`/proc/self/ns/${kind}`), `in a ${kind} namespace of its own`);
  t.equal(verdict({ init, out: tree.out }, 1), 'ok', 'the init finds everything as it was');
  t.end();
});

// an init (unmodified python3) of new pid, uts and ipc namespaces whose controlling terminal is a pty it holds both ends of
const PTY_INIT = `
import os, fcntl, termios, time, signal, sys
m, s = os.openpty()
fcntl.ioctl(s, termios.TIOCSCTTY, 0)
if os.fork() == 0:
    while True: time.sleep(1)
signal.signal(signal.SIGUSR1, lambda *a: print('tty', os.getpid(), os.getsid(0), os.tcgetpgrp(s), os.ttyname(s).startswith('/dev/pts/'), flush=True))
print('ready', flush=True)
while True: signal.pause()
`;

t.test("a terminal in the tree's pid namespace: its session and foreground group as the namespace sees them, restored", (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const unshare = startBackground(t, join(dir, 'unshare.out'), '/usr/bin/unshare', ['-p', '-f', '-u', '-i', 'setsid', 'sh', '-c', 'exec python3 -c "$0" >"$1" 2>&1', PTY_INIT, out]);
  waitFor('the init', () => existsSync(`/proc/${unshare}/task/${unshare}/children`) && readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8').trim() !== '');
  const init = Number(readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8').trim());
  t.teardown(() => killAndReap(init));
  waitFor('its output', () => existsSync(out));
  waitOutput(out, /ready/);
  const tree = { init, out };
  const images = dump('ours', dir, tree);
  const infos = readEntries(images, 'tty-info').map((info) => [info.sid, info.pgrp]);
  t.same(infos, infos.map(() => [1, 1]), 'tty-info of master and slave: session 1, foreground group 1 (the namespace\'s numbers)');
  t.ok(infos.length >= 1);
  const restored = restore(t, 'ours', tree, images);
  if (restored !== undefined) {
    signalWhenAsleep(restored, SIG.USR1);
    t.equal(waitOutput(out, /^tty .*/m)[0], 'tty 1 1 1 True', 'pid 1, its own session, its group in the foreground of its terminal');
  }
  t.end();
});

for (const { kind, why } of [
  { kind: 'user', why: /a user namespace other than criu's \(user namespaces are not dumped/ },
  { kind: 'cgroup', why: /a cgroup namespace other than criu's \(a cgroup namespace is rooted at a cgroup, and cgroups are not dumped yet/ },
  { kind: 'net', why: /a net namespace other than criu's \(namespaces of this kind are not dumped yet\)/ },
]) {
  t.test(`a ${kind} namespace of its own is refused by name; the tree runs on`, (t) => {
    const dir = scratchDir(t);
    const tree = startTree(t, dir, `pid,uts,ipc,${kind}`);
    t.equal(verdict(tree, 1), 'ok', 'the fixture is set up');
    const images = join(dir, 'img');
    mkdirSync(images);
    const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(tree.init), '-D', images, '-o', 'dump.log'], { timeout: 120_000 });
    t.not(run.status, 0, 'criu-dump fails');
    t.match(readFileSync(join(images, 'dump.log'), 'utf8'), new RegExp(`pid ${tree.init}: ${why.source}`), 'naming the pid and the namespace');
    t.notOk(existsSync(join(images, 'inventory.img')), 'no inventory.img');
    t.equal(verdict(tree, 2), 'ok', 'the tree runs on as it was');
    t.end();
  });
}

t.test('a task of a pid namespace whose init is outside the dumped tree is refused; the tree runs on', (t) => {
  const dir = scratchDir(t);
  const tree = startTree(t, dir, 'pid,uts,ipc');
  const child = Number(readFileSync(`/proc/${tree.init}/task/${tree.init}/children`, 'utf8').trim());
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(child), '-D', images, '-o', 'dump.log'], { timeout: 120_000 });
  t.not(run.status, 0, 'criu-dump fails');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), new RegExp(`pid ${child}: a pid namespace other than criu's whose init is not the dumped root \\(pid 2 in it\\)`), 'saying so');
  t.equal(verdict(tree, 1), 'ok', 'the tree runs on as it was');
  t.end();
});
