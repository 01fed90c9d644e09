// The tty kind end to end, with the tty fixture:
// - pair: a pty pair in the tree (master in the parent, slave the child's
//   controlling terminal) with bytes queued both ways. Dump -R, compare
//   tty-info/files/fdinfo/tty-data (decoded by Debian's crit) with what the
//   fixture set, then check both ends still hold their bytes.
// - shell: a shell job whose terminal's master is outside the dumped tree.
//   Without -j the dump fails naming pid, fd and terminal and the tasks go
//   on running; with -j it succeeds and records the terminal.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from './lib/criu.js';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { startWorkload, waitForOutput } from './lib/processes.js';

type Json = Readonly<Record<string, unknown>>;

function crit(path: string): Json[] {
  return (JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', path], { encoding: 'utf8', timeout: 30_000 })) as { entries: Json[] }).entries;
}

function at(value: unknown, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined), value);
}

/** c_cc[0..18] from CRIU's packing: glibc's c_cc bytes, four to a word. */
function controlChars(words: unknown): number[] {
  const bytes = Buffer.alloc(32);
  (words as number[]).slice(0, 8).forEach((w, i) => bytes.writeUInt32LE(w >>> 0, 4 * i));
  return [...bytes.subarray(0, 19)];
}

function state(pid: number): string {
  return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

function imagesDir(dir: string, name: string): string {
  const images = join(dir, name);
  mkdirSync(images);
  return images;
}

t.test('a pty pair inside the tree', async (t) => {
  const dir = scratchDir(t);
  const bin = compileFixture('tty', dir);
  const w = startWorkload(t, bin, ['pair']);
  const [, parent, child, index] = (await waitForOutput(w, /^ready (\d+) (\d+) (\d+)$/m)).map(Number);
  await waitForOutput(w, /^child-session/m);
  const [, ...flags] = /^termios (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(w.output())!.map(Number);
  const cc = /^cc((?: \d+){19})$/m.exec(w.output())![1].trim().split(' ').map(Number);

  const images = imagesDir(dir, 'images');
  const run = await criuDump(['-t', String(parent), '-D', images, '-R', '-v4', '-o', 'dump.log']);
  t.equal(run.exitCode, 0, `dump succeeds: ${run.stderr}`);
  if (run.exitCode !== 0) return;

  const infos = new Map(crit(join(images, 'tty-info.img')).map((e) => [Number(e.id), e]));
  t.strictSame([...infos.keys()].sort(), [index * 2, index * 2 + 1], 'one tty-info per end: index*2 (slave), index*2+1 (master)');
  const slave = infos.get(index * 2);
  const master = infos.get(index * 2 + 1);
  for (const [name, info] of [['slave', slave], ['master', master]] as const) {
    t.match(info, { type: 'PTY', pty: { index }, sid: child, pgrp: child, locked: false }, `${name}: a pty of the child's session`);
    t.strictSame(at(info, 'winsize'), { ws_row: 33, ws_col: 111, ws_xpixel: 7, ws_ypixel: 9 }, `${name}: window size`);
    t.strictSame(['c_iflag', 'c_oflag', 'c_cflag', 'c_lflag', 'c_line'].map((k) => at(info, 'termios', k)), flags, `${name}: termios flags as tcgetattr saw them`);
    t.strictSame(controlChars(at(info, 'termios', 'c_cc')), cc, `${name}: control characters`);
  }
  t.match(slave, { exclusive: true, packet_mode: false, rdev: (136 << 8) | index });
  t.match(master, { exclusive: false, packet_mode: true, rdev: (5 << 8) | 2 });

  const files = new Map(crit(join(images, 'files.img')).map((e) => [Number(e.id), e]));
  const ttys = [...files.values()].filter((e) => e.type === 'TTY');
  const paths = ttys.map((e) => [at(e, 'tty', 'tty_info_id'), at(files.get(Number(at(e, 'tty', 'regf_id'))), 'reg', 'name')]);
  t.strictSame(paths.sort(), [[index * 2, `/dev/pts/${index}`], [index * 2 + 1, '/dev/ptmx']].sort(), 'each TTY file names its path through regf_id');
  const fdTypes = readdirSync(images).filter((n) => n.startsWith('fdinfo-')).flatMap((n) => crit(join(images, n)).filter((e) => e.type === 'TTY'));
  t.equal(fdTypes.length, 2, 'two TTY fds: the master in the parent, the slave in the child');

  const data = crit(join(images, 'tty-data.img')).map((e) => [e.tty_id, Buffer.from(String(e.data), 'base64').toString()]);
  t.strictSame(data.sort(), [[index * 2, 'queued-for-slave'], [index * 2 + 1, 'queued-for-master']].sort(), 'queued bytes, by the end that reads them');

  t.ok(['S', 'R'].includes(state(parent)) && ['S', 'R'].includes(state(child)), 'both keep running (-R)');
  process.kill(child, 'SIGUSR1');
  process.kill(parent, 'SIGUSR1');
  t.match((await waitForOutput(w, /^child-read .*$/m))[0], /^child-read queued-for-slave flags 100002$/, 'the slave still holds its bytes; flags unchanged');
  t.match((await waitForOutput(w, /^parent-read .*$/m))[0], /^parent-read queued-for-master flags 100002$/, 'the master too');
});

async function startShell(t: Test, dir: string): Promise<{ child: number; grandchild: number; index: number }> {
  const bin = compileFixture('tty', dir);
  const w = startWorkload(t, bin, ['shell']);
  const [, , child, grandchild, index] = (await waitForOutput(w, /^ready (\d+) (\d+) (\d+) (\d+)$/m)).map(Number);
  return { child, grandchild, index };
}

t.test('a shell job: the terminal\'s master is outside the tree', async (t) => {
  const dir = scratchDir(t);
  const { child, grandchild, index } = await startShell(t, dir);
  const tty = `/dev/pts/${index}`;

  const refused = imagesDir(dir, 'refused');
  const run = await criuDump(['-t', String(child), '-D', refused, '-R']);
  t.not(run.exitCode, 0, 'without -j the dump fails');
  t.match(run.stderr, `pid ${child} fd 0: terminal ${tty}, a pty slave whose master is outside the dumped tree`, 'naming pid, fd and terminal');
  t.match(run.stderr, /--shell-job/, 'with a hint at --shell-job');
  t.notOk(existsSync(join(refused, 'tty-info.img')), 'no images left');
  t.ok(['S', 'R'].includes(state(child)) && ['S', 'R'].includes(state(grandchild)), 'the job keeps running');

  const outside = imagesDir(dir, 'outside');
  const member = await criuDump(['-t', String(grandchild), '-D', outside, '-R']);
  t.not(member.exitCode, 0, 'a member of the session alone, without -j: fails');
  t.match(member.stderr, `pid ${grandchild} fd 0: terminal ${tty} of session ${child}, whose leader is not dumped`);
  t.match(member.stderr, /--shell-job/);

  const images = imagesDir(dir, 'images');
  const ok = await criuDump(['-t', String(child), '-D', images, '-R', '-j', '-v4', '-o', 'dump.log']);
  t.equal(ok.exitCode, 0, `with -j the dump succeeds: ${ok.stderr}`);
  if (ok.exitCode !== 0) return;
  const infos = crit(join(images, 'tty-info.img'));
  t.equal(infos.length, 1, 'one terminal');
  t.match(infos[0], { id: index * 2, type: 'PTY', pty: { index }, sid: child, pgrp: child }, 'the job\'s terminal, led by the dumped session leader');
  t.notOk(existsSync(join(images, 'tty-data.img')), 'no queued data for a pair half outside');
  const fdinfos = readdirSync(images).filter((n) => n.startsWith('fdinfo-')).map((n) => crit(join(images, n)));
  const stdio = fdinfos.find((entries) => entries.some((e) => e.fd === 0 && e.type === 'TTY'));
  const ids = new Set((stdio ?? []).filter((e) => Number(e.fd) <= 2).map((e) => e.id));
  t.equal(ids.size, 1, 'fds 0, 1, 2 share one description');
  t.match(readFileSync(join(images, 'dump.log'), 'utf8'), /is the external terminal \(--shell-job\)/);
  t.ok(['S', 'R'].includes(state(child)) && ['S', 'R'].includes(state(grandchild)), 'the job keeps running (-R)');
});
