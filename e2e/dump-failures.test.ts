// A failed dump leaves its target exactly as it was: running, not stopped,
// not traced, no images left behind, and says clearly what went wrong.
import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from './lib/criu.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { killAndWait, startWorkload, waitFor, waitForOutput } from './lib/processes.js';
import { taskState } from './lib/task-state.js';
import { toolPath } from './lib/workspace.js';

/** The memory fixture still answers and its memory is intact. */
async function stillHealthy(t: Test, w: ReturnType<typeof startWorkload>): Promise<void> {
  const state = taskState(w.pid);
  t.ok(state, 'the target still exists');
  t.not(state?.state, 'T', 'the target is not left stopped');
  t.equal(state?.tracerPid, 0, 'the target is not left traced');
  process.kill(w.pid, 'SIGUSR1');
  await waitForOutput(w, /verify (ok|bad)/);
  t.match(w.output(), /verify ok/, 'its memory is unchanged');
}

t.test('failures leave the target running', async (t) => {
  const dir = scratchDir(t);
  const memory = compileFixture('memory', dir);
  const w = startWorkload(t, memory, ['8']);
  await waitForOutput(w, /^ready/m);

  t.test('a pid that does not exist', async (t) => {
    const images = join(dir, 'nopid');
    mkdirSync(images);
    const run = await criuDump(['-t', '999999', '-D', images]);
    t.not(run.exitCode, 0);
    t.match(run.stderr + run.stdout, /999999.*does not exist|does not exist.*999999/);
  });

  t.test('a missing images directory', async (t) => {
    const run = await criuDump(['-t', String(w.pid), '-D', join(dir, 'missing'), '-R']);
    t.not(run.exitCode, 0);
    t.match(run.stderr, /missing/);
    await stillHealthy(t, w);
  });

  t.test('a task already traced (another dump, a debugger)', async (t) => {
    const tracer = startWorkload(t, 'python3', ['-c', TRACER, String(w.pid)]);
    await waitForOutput(tracer, /^traced/m);
    const images = join(dir, 'traced');
    mkdirSync(images);
    const run = await criuDump(['-t', String(w.pid), '-D', images, '-R']);
    t.not(run.exitCode, 0);
    t.match(run.stderr, /already traced by pid/);
    t.same(readdirSync(images).filter((f) => f.endsWith('.img')), [], 'no images left');
    await killAndWait(tracer.pid);
    await stillHealthy(t, w);
  });

  t.test('the tool itself', async (t) => {
    const images = join(dir, 'self');
    mkdirSync(images);
    // $$ is the shell that runs the tool: the tool's own ancestor
    const run = spawnSync('sh', ['-c', `"${process.execPath}" "${toolPath('criu-dump')}" -t $$ -D "${images}" -R`], { encoding: 'utf8', timeout: 60_000 });
    t.not(run.status, 0);
    t.match(run.stderr, /criu itself/);
  });

  t.test('a full images directory', async (t) => {
    const images = join(dir, 'full');
    mkdirSync(images);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'criu-ts-full', images]);
    t.teardown(() => execFileSync('umount', ['-l', images]));
    const run = await criuDump(['-t', String(w.pid), '-D', images, '-o', '-', '-R']);
    t.not(run.exitCode, 0);
    t.match(run.stderr, /ENOSPC|No space left/);
    await stillHealthy(t, w);
  });

  t.test('an unwritable images directory', async (t) => {
    const images = join(dir, 'ro');
    mkdirSync(images);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'criu-ts-ro', images]);
    t.teardown(() => execFileSync('umount', ['-l', images]));
    const run = await criuDump(['-t', String(w.pid), '-D', images, '-o', '-', '-R']);
    t.not(run.exitCode, 0);
    t.match(run.stderr, /not writable|Read-only/);
    await stillHealthy(t, w);
  });

  t.test('two dumps of one tree at once: the second is refused', async (t) => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    mkdirSync(first);
    mkdirSync(second);
    const script = join(dir, 'slow-post-dump.sh');
    writeFileSync(script, '#!/bin/sh\n[ "$CRTOOLS_SCRIPT_ACTION" = post-dump ] && sleep 3\nexit 0\n');
    chmodSync(script, 0o755);
    const slow = criuDump(['-t', String(w.pid), '-D', first, '-R', '--action-script', script, '-o', '-', '-v4']);
    // the first holds the tree frozen in its post-dump script
    const frozen = Date.now() + 20_000;
    while (taskState(w.pid)?.tracerPid === 0 && Date.now() < frozen) await new Promise((r) => setTimeout(r, 20));
    const run = await criuDump(['-t', String(w.pid), '-D', second, '-R']);
    t.not(run.exitCode, 0, 'the second dump fails');
    t.match(run.stderr, /already traced by pid/);
    const done = await slow;
    t.equal(done.exitCode, 0, `the first dump succeeds: ${done.stderr.slice(-400)}`);
    await stillHealthy(t, w);
  });
});

/** A tiny python tracer: PTRACE_SEIZE the pid, say so, wait to be killed. */
const TRACER = `
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), 0, 0) != 0:
    print('seize failed', ctypes.get_errno(), flush=True); sys.exit(1)
print('traced', flush=True)
time.sleep(3600)
`;

t.test('a task killed while the dump runs: the dump fails, the rest runs on', async (t) => {
  const dir = scratchDir(t);
  const w = startWorkload(t, compileFixture('memory', dir), ['512', 'child']);
  await waitForOutput(w, /^ready/m, 30_000);
  const child = Number(/^child (\d+)/m.exec(w.output())![1]);
  const images = join(dir, 'images');
  mkdirSync(images);
  const log = join(images, 'dump.log');
  const dump = criuDump(['-t', String(w.pid), '-D', images, '-R', '-v4', '-o', 'dump.log']);
  // the root (512 MiB) is dumped first: kill its child once the root's memory is being dumped
  await waitFor(() => existsSync(log) && /dumping mm/.test(readFileSync(log, 'utf8')), 20_000, 'the dump to reach the memory');
  process.kill(child, 'SIGKILL');
  const run = await dump;
  t.not(run.exitCode, 0, 'the dump fails');
  t.match(readFileSync(log, 'utf8'), new RegExp(`Error .*${child}`), 'naming the task that went away');
  t.same(readdirSync(images).filter((f) => f.endsWith('.img')), [], 'no images left');
  await stillHealthy(t, w);
});

t.test('a pid namespace whose init is not a session leader (as upstream, not dumped) is refused by name before anything is injected, and runs on', async (t) => {
  const dir = scratchDir(t);
  const w = startWorkload(t, 'unshare', ['--pid', '--fork', '--kill-child', compileFixture('memory', dir), '8']);
  await waitForOutput(w, /^ready/m);
  const inner = Number(readFileSync(`/proc/${w.pid}/task/${w.pid}/children`, 'utf8').trim().split(' ')[0]);
  t.ok(inner > 0, 'the fixture runs as pid 1 of a new pid namespace');
  const images = join(dir, 'images');
  mkdirSync(images);
  const run = await criuDump(['-t', String(inner), '-D', images, '-R', '-v4', '-o', 'dump.log']);
  t.not(run.exitCode, 0, 'the dump fails');
  const log = readFileSync(join(images, 'dump.log'), 'utf8');
  t.match(log, new RegExp(`Error .*pid ${inner}: a pid namespace whose task ${inner} has its session leader outside the namespace`), 'naming the task and the namespace');
  t.notMatch(log, /criu\/inject/, 'nothing was injected into it');
  t.same(readdirSync(images).filter((f) => f.endsWith('.img')), [], 'no images left');
  await stillHealthy(t, { ...w, pid: inner });
});
