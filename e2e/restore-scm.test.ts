// Files in flight — SCM_RIGHTS messages in a unix socket's receive queue —
// on the rscm fixture (e2e/fixtures/rscm.c): three datagrams queued on a
// socketpair, carrying two regular files (one also held by the task), a
// pipe's read end with data and an eventfd, then a fourth with one end of
// another socketpair (data queued on it, the other end held).
// 1. criu-dump writes them as upstream CRIU does: the packets of
//    sk-queues.img carry scm rights naming files.img entries, which no
//    fdinfo lists but the one the task holds too (same id); crit decodes them;
// 2. criu-restore brings the fixture back; on SIGUSR1 it receives the
//    datagrams and proves from inside they carry the same files (contents,
//    offsets, a shared offset, pipe data, the eventfd's counter, the
//    socket's queue and its peer);
// 3. a pty master in flight is refused, naming the task and the socket fd,
//    and the fixture runs on as it was.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FdTypes, readEntries, readOne } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { dumpAndKill } from './lib/round-trip.js';
import { taskState } from './lib/task-state.js';
import { critDecode, signalWhenAsleep } from './lib/upstream.js';
import { toolPath } from './lib/workspace.js';
import { runRestore, startBackground, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(300_000);

function startFixture(t: Test, dir: string, mode: string[] = []): { pid: number; out: string; work: string } {
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('rscm', dir), [work, ...mode]);
  waitOutput(out, /^ready \d+$/m);
  return { pid, out, work };
}

/** The fixture's verdict once it has received its datagrams, with its complaints. */
function verdict(pid: number, out: string): { verdict: string; bad: string[] } {
  signalWhenAsleep(pid, SIG.USR1);
  const line = waitOutput(out, /^verdict .*$/m, 15_000)[0];
  return { verdict: line, bad: readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('bad:')) };
}

t.test('dumped with the files in flight, restored, the fixture receives the same files', (t) => {
  const dir = scratchDir(t, 'criu-ts-rscm-');
  const fx = startFixture(t, dir);
  const images = dumpAndKill(t, dir, fx.pid);

  const packets = readEntries(images, 'sk-queues');
  const receiver = packets[0]?.id_for;
  const queued = packets.filter((p) => p.id_for === receiver).map((p) => (p.scm ?? []).map((e) => [e.type, (e.rights ?? []).length]));
  t.same(queued, [[[1, 2]], [], [[1, 2]], [[1, 1]]], 'four messages for the receiver: two fds, none, two fds, one (one SCM_RIGHTS entry each)');
  const files = new Map(readEntries(images, 'files').map((e) => [e.id, e]));
  const rights = packets.flatMap((p) => (p.scm ?? []).flatMap((e) => e.rights ?? []));
  t.same(rights.map((id) => files.get(id)?.type), [FdTypes.REG, FdTypes.REG, FdTypes.PIPE, FdTypes.EVENTFD, FdTypes.UNIXSK], 'each right is a files.img entry of its kind');
  t.same(rights.slice(0, 2).map((id) => files.get(id)?.reg?.name), [join(fx.work, 'a'), join(fx.work, 'b')], 'the regular files by path');
  const held = new Set(readEntries(images, 'fdinfo', readOne(images, 'ids', fx.pid).files_id).map((e) => e.id));
  t.same(rights.map((id) => held.has(id)), [true, false, false, false, false], 'only a, which the task also holds, is in its fd table (same id)');
  const inFlight = files.get(rights[4]!)?.usk;
  t.ok(packets.some((p) => p.id_for === rights[4] && p.length === 5), 'the socket in flight has its own queued bytes');
  t.ok([...files.values()].some((e) => e.usk !== undefined && held.has(e.id) && e.usk.peer === inFlight?.ino), 'the held end names the socket in flight as its peer');
  const crit = critDecode('debian', join(images, 'sk-queues.img'));
  t.equal(crit.status, 0, "Debian's crit decodes sk-queues.img", { stderr: crit.stderr });

  const status = runRestore(fx.out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', status === 0 ? {} : { log: readFileSync(join(images, 'restore.log'), 'utf8').slice(-3000) });
  if (status !== 0) return t.end();
  const got = verdict(fx.pid, fx.out);
  t.equal(got.verdict, 'verdict ok', 'the fixture receives its four datagrams with the same files', { bad: got.bad });
  t.end();
});

t.test('a terminal in flight is refused by name; the fixture runs on', (t) => {
  const dir = scratchDir(t, 'criu-ts-rscm-');
  const fx = startFixture(t, dir, ['tty']);
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(fx.pid), '-D', images], { encoding: 'utf8', timeout: 120_000 });
  t.not(run.status, 0, 'criu-dump fails');
  t.match(run.stderr, new RegExp(`pid ${fx.pid} fd \\d+: a terminal in flight in its queue \\(/dev/ptmx\\) is not supported`), 'naming the task, the socket fd and the file');
  t.same(readdirSync(images).filter((f) => f.endsWith('.img')), [], 'no images left');
  const state = taskState(fx.pid);
  t.not(state?.state, 'T', 'the fixture is not left stopped');
  t.equal(state?.tracerPid, 0, 'nor traced');
  t.equal(verdict(fx.pid, fx.out).verdict, 'verdict not checked (tty)', 'it still answers');
  t.end();
});
