// criu-restore --stream on streams that are not whole: cut short anywhere
// (in a header, in the images, in the page data, before or inside the end
// marker) or corrupted (a header's checksum, a member's name), each is
// refused with an error naming where it went wrong, before any task is
// created, and leaves no temporary directory; the whole stream then
// restores, so the refusals were the stream's doing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, restoreTool, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

const BLOCK = 512;

/** Offset of a member's header in a tar image (walking the headers). */
function headerOf(tar: Buffer, name: string): number {
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const member = tar.toString('latin1', at, at + 100).replace(/\0.*$/s, '');
    if (member === '') break;
    if (member === name) return at;
    const size = Number.parseInt(tar.toString('latin1', at + 124, at + 136).replace(/\0.*$/s, '').trim(), 8);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new Error(`no member ${name}`);
}

t.test('truncated and corrupted streams are refused before any task exists', async (t) => {
  const dir = scratchDir(t);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['8']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const file = join(dir, 'ckpt.tar');
  const dump = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '--stream', '--stream-file', file, '-W', dir, '-o', 'dump.log'], { timeout: 60_000 });
  killAndReap(pid);
  t.equal(dump.status, 0, 'dumped to a file');
  waitFor('the dumped task to be gone', () => !alive(pid));
  const whole = readFileSync(file);
  const pages = headerOf(whole, pagesName(whole));
  const checksumBroken = Buffer.from(whole);
  checksumBroken[headerOf(whole, `core-${pid}.img`) + 10] ^= 0x20;
  const badName = Buffer.from(whole);
  const pstree = headerOf(whole, 'pstree.img');
  badName.write('../evil.img\0', pstree, 'latin1');
  setChecksum(badName, pstree);
  const cases: [string, Buffer, RegExp][] = [
    ['cut inside the first header', whole.subarray(0, 300), /truncated stream/],
    ['cut inside a small image', whole.subarray(0, headerOf(whole, `mm-${pid}.img`) + BLOCK + 10), /truncated stream/],
    ['cut inside the page data', whole.subarray(0, pages + BLOCK + 4096 * 100 + 7), /truncated stream: member data ends/],
    ['cut before the end marker', whole.subarray(0, whole.length - 2 * BLOCK), /truncated stream/],
    ['cut inside the end marker', whole.subarray(0, whole.length - BLOCK), /truncated stream/],
    ['a header checksum broken', checksumBroken, /checksum/],
    ['a member name with ..', badName, /\.\./],
  ];
  for (const [what, bytes, error] of cases) {
    const bad = join(dir, 'bad.tar');
    writeFileSync(bad, bytes);
    const status = restore(out, tmp, ['--stream', '--stream-file', bad, '-d', '-W', dir, '-o', 'restore.log']);
    t.not(status, 0, `${what}: criu-restore fails`);
    t.match(readFileSync(join(dir, 'restore.log'), 'utf8'), error, `${what}: the error says why`);
    t.notOk(alive(pid), `${what}: no task was created`);
    t.same(readdirSync(tmp), [], `${what}: no temporary directory is left`);
  }
  // through stdin too: a stream cut short in a pipe
  const piped = spawnSync('sh', ['-c', 'head -c 5000000 "$0" | "$1" "$2" --stream -d -W "$3" -o restore.log', file, process.execPath, toolPath('criu-restore'), dir], { env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 });
  t.not(piped.status, 0, 'a truncated stream on stdin: criu-restore fails');
  t.match(readFileSync(join(dir, 'restore.log'), 'utf8'), /truncated stream/, 'saying so');
  t.notOk(alive(pid), 'and created no task');
  t.same(readdirSync(tmp), [], 'and left no temporary directory');
  const status = restore(out, tmp, ['--stream', '--stream-file', file, '-d', '-W', dir, '-o', 'restore.log']);
  t.teardown(() => killAndReap(pid));
  t.equal(status, 0, 'the whole stream restores');
  kill(pid, SIG.USR1);
  t.equal(waitOutput(out, /verify \S+ \d+/)[0], `verify ok ${sum}`, 'intact');
});

/** criu-restore ARGS from a shell (restored tasks get `out` as stdout), with TMPDIR=tmp; its exit status. */
function restore(out: string, tmp: string, args: string[]): number {
  const run = spawnSync('sh', ['-c', 'exec "$0" "$@" >>"$OUT" 2>&1 </dev/null', process.execPath, restoreTool, ...args], {
    env: { ...process.env, OUT: out, TMPDIR: tmp },
    timeout: 60_000,
  });
  return run.status ?? -1;
}

/** Recompute a ustar header's checksum (bytes 148-155 counted as spaces). */
function setChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (const byte of tar.subarray(at, at + BLOCK)) sum += byte;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

function pagesName(tar: Buffer): string {
  const names = spawnSync('tar', ['-t'], { input: tar, encoding: 'utf8' }).stdout.trim().split('\n');
  return names.find((name) => name.startsWith('pages-'))!;
}
