// criu-dump --stream / criu-restore --stream as users run them: a tree
// migrated through a real pipe, a stream kept in a file (which tar and
// criu-crit read), and a reader that goes away mid-stream (the dump fails
// and the tree runs on). The tools' private directories go under a TMPDIR
// of the test's own, which must be empty afterwards.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallError } from '@criu-ts/base';
import { SIG, WAIT, kill, waitpid } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

interface Setup {
  dir: string;
  out: string;
  /** TMPDIR for the tools */
  tmp: string;
  pid: number;
  sum: string;
}

/** The memory fixture (MIB MiB) running in the background, with a scratch dir and a private TMPDIR. */
function setUp(t: Test, mib: number): Setup {
  const dir = scratchDir(t);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), [String(mib)]);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1]!;
  return { dir, out, tmp, pid, sum };
}

/** Reap pid as soon as it dies (the test is its subreaper), until `done` settles. */
async function reapingWhile<T>(pid: number, done: Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    try {
      waitpid(pid, WAIT.WNOHANG | WAIT.__WALL);
    } catch (error) {
      if (!(error instanceof SyscallError && error.code === 'ECHILD')) throw error;
    }
  }, 10);
  try {
    return await done;
  } finally {
    clearInterval(timer);
  }
}

/** `sh -c script` in cwd with env; its exit status (bounded). */
function shell(script: string, cwd: string, env: Record<string, string>, timeoutMs = 120_000): Promise<number> {
  const child = spawn('sh', ['-c', script], { cwd, env: { ...process.env, NODE: process.execPath, DUMP: toolPath('criu-dump'), RESTORE: toolPath('criu-restore'), ...env }, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve(code ?? -1);
  }));
}

function verify(s: Setup): string {
  kill(s.pid, SIG.USR1);
  return waitOutput(s.out, /verify \S+ \d+/)[0];
}

const tail = (path: string): string => readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');

t.test('dump --stream | restore --stream through a pipe: the tree moves on', async (t) => {
  const s = setUp(t, 64);
  const script = '"$NODE" "$DUMP" -t $PID --stream -v4 -o dump.log | "$NODE" "$RESTORE" --stream -d -v4 -o restore.log >>"$OUT" 2>&1';
  const status = await reapingWhile(s.pid, shell(script, s.dir, { PID: String(s.pid), OUT: s.out, TMPDIR: s.tmp }));
  t.teardown(() => killAndReap(s.pid));
  t.equal(status, 0, 'the pipeline succeeds', { diagnostic: status !== 0, dump: tail(join(s.dir, 'dump.log')), restore: tail(join(s.dir, 'restore.log')) });
  t.match(readFileSync(join(s.dir, 'dump.log'), 'utf8'), /--stream: \d+ image\(s\), \d+ bytes written to stdout/);
  t.match(readFileSync(join(s.dir, 'restore.log'), 'utf8'), /--stream: \d+ image\(s\), \d+ bytes read from stdin/);
  t.ok(alive(s.pid), 'the tree runs under its pid again');
  t.equal(verify(s), `verify ok ${s.sum}`, 'its memory came through the pipe intact');
  t.same(readdirSync(s.tmp), [], 'no temporary directory is left');
});

t.test('a stream in a file: tar lists it, criu-crit reads it, restore --stream-file brings it back', async (t) => {
  const s = setUp(t, 16);
  const file = join(s.dir, 'ckpt.tar');
  const dump = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(s.pid), '--stream', '--stream-file', file, '-W', s.dir, '-v4', '-o', 'dump.log'], { env: { ...process.env, TMPDIR: s.tmp }, timeout: 60_000 });
  killAndReap(s.pid);
  t.equal(dump.status, 0, 'criu-dump --stream-file exits 0', { diagnostic: dump.status !== 0, log: tail(join(s.dir, 'dump.log')) });
  t.equal(dump.stdout.length, 0, 'nothing on stdout');
  t.equal(statSync(file).mode & 0o777, 0o600, 'the stream file is private');
  const names = spawnSync('tar', ['-tf', file], { encoding: 'utf8' }).stdout.trim().split('\n');
  // page data goes into the stream while the task is dumped; the small images follow
  t.match(names[0], /^pages-\d+\.img$/, 'page data first, as it was dumped');
  t.ok(names.includes('inventory.img'), 'the inventory is there');
  t.ok(names.includes(`core-${s.pid}.img`) && names.includes(`mm-${s.pid}.img`) && names.includes('pstree.img'), 'task images are members');
  const crit = (args: string[]): string => spawnSync(process.execPath, [toolPath('criu-crit'), ...args], { encoding: 'utf8', timeout: 30_000 }).stdout;
  const pstree = JSON.parse(crit(['show', file, '-m', 'pstree.img'])) as { magic: string; entries: { pid: number }[] };
  t.match(pstree, { magic: 'PSTREE', entries: [{ pid: s.pid }] }, 'criu-crit show FILE -m pstree.img');
  const members = JSON.parse(crit(['info', file])) as { members: { name: string }[] };
  t.same(members.members.map((m) => m.name), names, 'criu-crit info lists the members in order');
  const viaCrit = spawnSync('sh', ['-c', `tar -xOf "$0" core-${s.pid}.img | /usr/bin/crit decode`, file], { encoding: 'utf8' });
  t.equal(viaCrit.status, 0, "Debian's crit decodes a member");
  t.equal(crit(['decode', '-i', file, '-m', `core-${s.pid}.img`]).length > 0, true, 'criu-crit decodes it from the stream');
  waitFor('the dumped task to be gone', () => !alive(s.pid));
  const status = runRestore(s.out, ['--stream', '--stream-file', file, '-d', '-W', s.dir, '-v4', '-o', 'restore.log']);
  t.teardown(() => killAndReap(s.pid));
  t.equal(status, 0, 'criu-restore --stream --stream-file exits 0', { diagnostic: status !== 0, log: tail(join(s.dir, 'restore.log')) });
  t.equal(verify(s), `verify ok ${s.sum}`, 'memory intact');
});

t.test('the reader goes away mid-stream: the dump fails, the tree runs on', async (t) => {
  const s = setUp(t, 64);
  const script = '"$NODE" "$DUMP" -t $PID --stream -v4 -o dump.log | head -c 100000 >/dev/null; exit 0';
  const status = await shell(script, s.dir, { PID: String(s.pid), TMPDIR: s.tmp });
  t.equal(status, 0, 'the shell ran');
  const log = readFileSync(join(s.dir, 'dump.log'), 'utf8');
  t.match(log, /Error.*reader.*went away/, 'the dump says the reader went away');
  t.match(log, /the tree is left running/, 'and leaves the tree running');
  t.ok(alive(s.pid), 'the task is alive');
  t.match(readFileSync(`/proc/${s.pid}/status`, 'utf8'), /TracerPid:\s+0\n/, 'and no longer traced');
  t.equal(verify(s), `verify ok ${s.sum}`, 'and unaltered');
  t.same(readdirSync(s.tmp), [], 'no temporary directory is left');
});

t.test('misplaced --stream options are usage errors', async (t) => {
  const dump = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', '1', '--stream-file', 'x'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(dump.status, 1);
  t.match(dump.stderr, /--stream-file and --stream-fd go with --stream/);
  const restore = spawnSync(process.execPath, [toolPath('criu-restore'), '--stream', '--stream-file', 'a', '--stream-fd', '0'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(restore.status, 1);
  t.match(restore.stderr, /cannot be used together/);
});
