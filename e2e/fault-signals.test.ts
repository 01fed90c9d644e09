// Signals to criu-dump and criu-restore mid-way. SIGINT/SIGTERM: the tool
// fails at its next stage as at a fault point (dump: the tree runs on as
// before, no images; restore: nothing it made is left). SIGKILL cannot be
// caught: of a dump while the tree is frozen (no call injected), the kernel
// detaches every thread and the tree runs on; of a restore, every task it
// made dies with it (PTRACE_O_EXITKILL), and so does the restore helper, also
// before it is seized (PR_SET_PDEATHSIG).
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { DEFAULT_HELPER } from '@criu-ts/restore';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { processesOf, runWithFault, signalMidway, snapshot } from './lib/faults.js';
import { dumpAndKill } from './lib/round-trip.js';
import { killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(1_200_000);

const logHas = (path: string, pattern: RegExp) => (): boolean => existsSync(path) && pattern.test(readFileSync(path, 'utf8'));

t.test('SIGINT / SIGTERM of criu-dump once the tree is frozen: the tree runs on, no images', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const root = startBackground(t, out, compileFixture('memory', dir), ['64', 'child']);
  const child = Number(waitOutput(out, /child (\d+)/)[1]);
  waitOutput(out, /ready \d+/);
  const before = [root, child].map((pid) => snapshot(pid)!);
  let verifies = 0;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const images = join(dir, `img-${signal}`);
    mkdirSync(images);
    const run = await signalMidway('criu-dump', ['-t', String(root), '-D', images, '-v4', '-o', 'dump.log'], signal, logHas(join(images, 'dump.log'), /frozen \d+ task/));
    t.ok(run.sent, `${signal} sent once the tree was frozen`);
    t.equal(run.status, 1, `criu-dump fails (status ${run.status}, signal ${run.signal})`);
    t.match(readFileSync(join(images, 'dump.log'), 'utf8'), new RegExp(`interrupted by ${signal}`), 'the log says why');
    for (const was of before) {
      const now = snapshot(was.pid);
      t.equal(now?.state === 'S' || now?.state === 'R', true, `pid ${was.pid} runs (state ${now?.state})`);
      t.equal(now?.tracerPid, 0, `pid ${was.pid} is not traced`);
      t.equal(now?.maps, was.maps, `pid ${was.pid}: same mappings`);
      t.strictSame(now?.fds, was.fds, `pid ${was.pid}: same fds`);
    }
    t.strictSame(readdirSync(images).filter((name) => name.endsWith('.img')), [], 'no image left');
    kill(root, SIG.USR1);
    verifies += 1;
    t.match(waitOutput(out, new RegExp(`(?:verify \\S+ \\d+\\n[^]*){${verifies}}`))[0], /verify ok/, 'memory intact');
  }
});

t.test('SIGKILL of criu-dump once the tree is frozen (CRIU_FAULT=1): the kernel lets the tree go', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const root = startBackground(t, out, compileFixture('memory', dir), ['4']);
  waitOutput(out, /ready \d+/);
  const before = snapshot(root)!;
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = runWithFault('criu-dump', ['-t', String(root), '-D', images, '-v4', '-o', 'dump.log'], '1');
  t.equal(run.signal, 'SIGKILL', 'criu-dump was killed');
  const now = snapshot(root);
  t.equal(now?.tracerPid, 0, 'not traced');
  t.not(now?.state, 't', 'not in a trace stop');
  t.not(now?.state, 'T', 'not stopped');
  t.equal(now?.maps, before.maps, 'same mappings');
  t.notOk(existsSync(join(images, 'inventory.img')), 'no inventory.img: the partial images do not look like a dump');
  kill(root, SIG.USR1);
  t.match(waitOutput(out, /verify \S+ \d+/)[0], /verify ok/, 'memory intact');
});

t.test('signals to criu-restore mid-way leave nothing behind', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const root = startBackground(t, out, compileFixture('memory', dir), ['16', 'child']);
  const child = Number(waitOutput(out, /child (\d+)/)[1]);
  waitOutput(out, /ready \d+/);
  const images = dumpAndKill(t, dir, root);
  t.teardown(() => [child, root].forEach(killAndReap));
  const log = join(images, 'restore.log');
  const cases = [
    { signal: 'SIGTERM' as const, when: /created pid \d+/ },
    { signal: 'SIGINT' as const, when: /created pid \d+/ },
    { signal: 'SIGKILL' as const, when: /restore helper \d+ seized/ },
    { signal: 'SIGKILL' as const, when: new RegExp(`created pid ${child}`) },
  ];
  for (const c of cases) {
    t.test(`${c.signal} after ${c.when.source}`, async (t) => {
      rmSync(log, { force: true });
      const run = await signalMidway('criu-restore', ['-D', images, '-d', '-v4', '-o', 'restore.log'], c.signal, logHas(log, c.when));
      t.ok(run.sent, `${c.signal} sent`);
      t.not(run.status, 0, `criu-restore did not succeed (status ${run.status}, signal ${run.signal})`);
      if (c.signal !== 'SIGKILL') t.match(readFileSync(log, 'utf8'), new RegExp(`interrupted by ${c.signal}`), 'the log says why');
      // after SIGKILL the kernel kills the traced tasks as the tool exits; give it a bounded moment
      waitFor('the tasks and the helper to be gone', () => snapshot(root) === undefined && snapshot(child) === undefined && processesOf(DEFAULT_HELPER).length === 0, 10_000);
      t.pass('no task of the tree, no helper');
      // the killed tasks were reparented to this test (a child subreaper): reap them, as their reaper must, or their pids stay taken
      [child, root].forEach(killAndReap);
    });
  }
  t.test('then the restore succeeds', async (t) => {
    const status = runWithFault('criu-restore', ['-D', images, '-d', '-v4', '-o', 'restore.log'], undefined).status;
    t.equal(status, 0, 'restored', { log: status === 0 ? '' : readFileSync(log, 'utf8').split('\n').slice(-12).join('\n') });
    kill(root, SIG.USR1);
    t.match(waitOutput(out, /verify \S+ \d+/)[0], /verify ok/, 'memory intact');
  });
});

t.test('the restore helper dies with a tool that never seized it', async (t) => {
  // a stand-in tool: a child subreaper that starts the helper, reads its pid, then is SIGKILLed
  const tool = spawn('python3', ['-c', STANDIN, DEFAULT_HELPER], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => tool.kill('SIGKILL'));
  const helper = await new Promise<number>((resolve, reject) => {
    tool.stdout.on('data', (data: Buffer) => resolve(Number(String(data).trim())));
    tool.on('exit', () => reject(new Error('the stand-in tool exited')));
  });
  waitFor('the helper to stop itself', () => snapshot(helper)?.state === 'T', 10_000);
  t.teardown(() => killAndReap(helper));
  tool.kill('SIGKILL');
  waitFor('the helper to die with the tool', () => snapshot(helper) === undefined, 10_000);
  t.pass(`helper ${helper} is gone`);
});

const STANDIN = `
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
r, w = os.pipe()
subprocess.run(['sh', '-c', 'exec "$0" 3>&' + str(w) + ' </dev/null >/dev/null 2>&1', sys.argv[1]], pass_fds=(w,))
os.close(w)
print(os.read(r, 64).decode().strip(), flush=True)
time.sleep(600)
`;
