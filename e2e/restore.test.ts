// criu-dump then criu-restore, both as users run them, on the C fixtures:
// the restored tree has the same pids, tree shape, groups and sessions,
// and carries on (memory intact, threads counting, a shell loop counting
// to its end, with criu-restore exiting with its status); with -S through
// the umbrella the root is a child of criu's parent.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { DEFAULT_HELPER } from '@criu-ts/restore';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { processesOf } from './lib/faults.js';
import { criuBin } from './lib/rpc-client.js';
import { dumpAndKill, idsOf, treeOf, type Ids } from './lib/round-trip.js';
import { alive, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

const tidsOf = (pid: number): number[] => readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);

function restoreLog(images: string): string {
  return readFileSync(join(images, 'restore.log'), 'utf8').split('\n').slice(-20).join('\n');
}

t.test('memory: 64 MiB restored intact under its pid', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const exe = compileFixture('memory', dir);
  const pid = startBackground(t, out, exe, ['64']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  const images = dumpAndKill(t, dir, pid);
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', { diagnostic: status !== 0, log: status === 0 ? '' : restoreLog(images) });
  t.equal(readlinkSync(`/proc/${pid}/exe`), exe, 'exe link (PR_SET_MM_MAP)');
  t.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), cmdline, 'command line (arg_start/arg_end)');
  t.equal(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'memory\n', 'name');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'checksum after restore');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), /restored 1 task\(s\), root \d+, \d+ pages/);
  t.end();
});

t.test('threads: same tids, all counting', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('threads', dir), ['3']);
  waitOutput(out, /ready \d+ 3/);
  const tids = tidsOf(pid);
  const images = dumpAndKill(t, dir, pid);
  t.equal(runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']), 0, 'restored');
  t.same(tidsOf(pid), tids);
  kill(pid, SIG.USR1);
  const first = waitOutput(out, /counts( \d+){3}\n/)[0].trim().split(' ').slice(1).map(Number);
  waitFor('every count to grow', () => {
    kill(pid, SIG.USR1);
    const last = readFileSync(out, 'utf8').trim().split('\n').filter((l) => l.startsWith('counts')).at(-1)!;
    return last.split(' ').slice(1).map(Number).every((n, i) => n > first[i]!);
  });
  t.pass('every thread counts on');
  t.end();
});

t.test('tree: shape, pids, groups and sessions', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('tree', dir), ['5']);
  waitOutput(out, /ready \d+ 5/);
  const before = treeOf(pid);
  const images = dumpAndKill(t, dir, pid);
  t.equal(runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']), 0, 'restored');
  const rootParentless = (list: Ids[]): Ids[] => list.map((task, i) => (i === 0 ? { ...task, ppid: 0 } : task));
  t.same(rootParentless(treeOf(pid)), rootParentless(before));
  t.end();
});

t.test('a shell loop counts on; criu-restore waits and exits with its status', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const script = 'i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo "n $i"; sleep 0.1; done; exit 7';
  const pid = startBackground(t, out, '/bin/sh', ['-c', script]);
  waitOutput(out, /n 4\n/);
  const images = dumpAndKill(t, dir, pid);
  t.equal(runRestore(out, ['-D', images, '-v4', '-o', 'restore.log']), 7, "criu-restore exits with the root's status");
  const counted = readFileSync(out, 'utf8').trim().split('\n').filter((l) => l.startsWith('n ')).map((l) => Number(l.slice(2)));
  t.same(counted, Array.from({ length: 20 }, (_, i) => i + 1), 'counted on from where it was, to the end');
  t.end();
});

t.test('-s leaves the tree stopped, --pidfile names the root, no helper is left', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['1']);
  waitOutput(out, /ready/);
  const images = dumpAndKill(t, dir, pid);
  t.equal(runRestore(out, ['-D', images, '-d', '-s', '--pidfile', 'root.pid', '-o', 'restore.log']), 0, 'restored');
  t.equal(readFileSync(join(images, 'root.pid'), 'utf8'), String(pid), 'pidfile (relative to the work dir) holds the root pid');
  waitFor('the task to be stopped', () => idsOf(pid) !== undefined && /^State:\s+T/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')));
  t.pass('stopped');
  t.same(processesOf(DEFAULT_HELPER), [], 'no restore helper process remains');
  kill(pid, SIG.CONT);
  // The restored task resumes by re-executing the pause() it was stopped in
  // (as upstream CRIU restores an ERESTARTNOHAND syscall). A signal that
  // lands before it gets back into pause() runs its handler first, and
  // pause() then waits for the next one: signal it once it sleeps again.
  waitFor('the task to sleep in pause() again', () => /^State:\s+S/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')));
  kill(pid, SIG.USR1);
  t.match(waitOutput(out, /verify \S+/)[0], 'verify ok', 'runs on after SIGCONT');
  t.end();
});

// R (session leader, child subreaper) forks A; A makes its own group and
// forks B, then exits: B is re-parented to R and stays in A's group, whose
// leader is gone. Restoring B's group needs a stand-in leader with A's pid.
const ORPHANED_GROUP = `
import ctypes, os, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
a = os.fork()
if a == 0:
    os.setpgid(0, 0)
    if os.fork() == 0:
        while True: time.sleep(0.05)
    os._exit(0)
os.waitpid(a, 0)
print("ready", os.getpid(), a, flush=True)
while True: time.sleep(0.05)
`;

t.test('an orphaned process group comes back, its leader gone again', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', ORPHANED_GROUP]);
  const leader = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  const before = treeOf(pid);
  t.equal(before[1]?.pgid, leader, 'the member is in the gone leader\'s group');
  const images = dumpAndKill(t, dir, pid);
  t.equal(runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']), 0, 'restored');
  const rootParentless = (list: Ids[]): Ids[] => list.map((task, i) => (i === 0 ? { ...task, ppid: 0 } : task));
  t.same(rootParentless(treeOf(pid)), rootParentless(before), 'same tree and groups');
  t.notOk(alive(leader), 'the stand-in leader is gone');
  t.match(readFileSync(join(images, 'restore.log'), 'utf8'), new RegExp(`stand-in leader ${leader}`));
  t.end();
});

// A zombie child (exited with status 5, not yet waited for) comes back as
// a zombie with that status: its parent (which waits for SIGUSR1 with it
// blocked, so the blocked mask must come back too) reaps it after the restore.
const ZOMBIE_PARENT = `
import os, signal, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
z = os.fork()
if z == 0:
    os._exit(5)
while open(f"/proc/{z}/stat").read().split(") ")[1][0] != "Z": time.sleep(0.01)
print("ready", os.getpid(), z, flush=True)
signal.sigwait([signal.SIGUSR1])
_, status = os.waitpid(z, 0)
print("reaped", os.waitstatus_to_exitcode(status), flush=True)
time.sleep(60)
`;

t.test('a zombie comes back as a zombie with its exit status', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', ZOMBIE_PARENT]);
  const zombie = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  const images = dumpAndKill(t, dir, pid);
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'restored', { log: status === 0 ? '' : restoreLog(images) });
  waitFor('the zombie', () => readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z '));
  t.equal(idsOf(zombie).ppid, pid, 'a zombie child of the restored parent');
  kill(pid, SIG.USR1);
  t.match(waitOutput(out, /reaped -?\d+/)[0], 'reaped 5', 'its parent reaps it with status 5');
  t.end();
});

t.test('restore -d -S through the umbrella: the root is a child of criu\'s parent (the shell) and runs on', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['16']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const images = dumpAndKill(t, dir, pid);
  // the shell reports its own pid and the root's parent while it still runs (criu-restore -d -S has exited by then)
  const script = '"$0" restore -d -S -D "$1" -v4 -o restore.log </dev/null >>"$3" 2>&1; echo "status $? shell $$ $(grep PPid /proc/$2/status)"';
  const shell = spawnSync('sh', ['-c', script, criuBin, images, String(pid), out], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  const got = /^status (\d+) shell (\d+) PPid:\s+(\d+)/.exec(shell.stdout);
  t.ok(got, `the shell reported: ${shell.stdout}`, { log: got?.[1] === '0' ? '' : restoreLog(images) });
  t.equal(got?.[1], '0', 'criu restore -d -S exits 0');
  t.equal(got?.[3], got?.[2], 'the restored root\'s parent was the shell that ran criu');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'checksum after restore');
  t.end();
});
