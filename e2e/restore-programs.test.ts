// Unmodified programs through dump and restore, as users run criu(8):
// python3 holding a large dict counts on and keeps its data; a node HTTP
// server answers before and after with its state intact; a C fixture goes
// dump → restore → dump → restore; one dump is restored twice in turn.
import t from 'tap';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { dumpAndKill } from './lib/round-trip.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

function restore(t: Teardowns, images: string, out: string): void {
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log'], 120_000);
  if (status !== 0) throw new Error(`criu-restore failed (${status}): ${readFileSync(join(images, 'restore.log'), 'utf8').slice(-3000)}`);
  const tids = readEntries(images, 'pstree').flatMap((entry) => entry.threads ?? []);
  t.teardown(() => tids.forEach(killAndReap));
}

const lastCount = (out: string): number => Number(/(\d+)\s*$/.exec(readFileSync(out, 'utf8').trim())?.[1] ?? -1);

t.test('python3 with a large dict counts on and keeps its data', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const script = join(dir, 'counter.py');
  writeFileSync(
    script,
    [
      'import signal, sys, time',
      'data = {i: str(i) * 8 for i in range(300000)}',
      'def check(sig, frame):',
      '    print("sum", sum(len(v) for v in data.values()), flush=True)',
      'signal.signal(signal.SIGUSR1, check)',
      'print("ready", flush=True)',
      'n = 0',
      'while True:',
      '    n += 1',
      '    print("count", n, flush=True)',
      '    time.sleep(0.02)',
    ].join('\n'),
  );
  const pid = startBackground(t, out, '/usr/bin/python3', [script]);
  waitOutput(out, /ready/, 30_000);
  kill(pid, SIG.USR1);
  const sum = waitOutput(out, /sum (\d+)/)[1];
  waitFor('a few counts', () => lastCount(out) >= 5);
  const images = dumpAndKill(t, dir, pid, { name: 'img' });
  const before = lastCount(out);
  restore(t, images, out);
  waitFor('the count to go on', () => lastCount(out) > before + 5, 20_000);
  t.ok(!/count 1\n[\s\S]*count 1\n/.test(readFileSync(out, 'utf8')), 'the counter continues, it does not restart');
  kill(pid, SIG.USR1);
  waitFor('a second sum', () => (readFileSync(out, 'utf8').match(/sum \d+/g) ?? []).length >= 2, 20_000);
  t.equal(readFileSync(out, 'utf8').match(/sum (\d+)/g)?.[1], `sum ${sum}`, 'the dict is intact');
  t.end();
});

function readlinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // no keep-alive: an established connection would stay in the server (TCP repair is another issue)
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 10_000, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out'))).on('error', reject).end();
  });
}

t.test('a node HTTP server answers before and after, its state intact', async (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const script = "let hits = 0; const s = require('http').createServer((q, r) => r.end('hits ' + ++hits)); s.listen(0, '127.0.0.1', () => console.log('ready', s.address().port));";
  const pid = startBackground(t, out, process.execPath, ['-e', script]);
  const port = Number(waitOutput(out, /ready (\d+)/, 30_000)[1]);
  t.equal(await get(port), 'hits 1', 'answers before the dump');
  const sockets = (): number => readdirSync(`/proc/${pid}/fd`).filter((fd) => readlinkOrEmpty(`/proc/${pid}/fd/${fd}`).startsWith('socket:')).length;
  waitFor('the server to close the connection', () => sockets() === 1);
  const images = dumpAndKill(t, dir, pid, { name: 'img' });
  restore(t, images, out);
  t.equal(await get(port), 'hits 2', 'answers after the restore, counting on');
});

t.test('dump → restore → dump → restore, and one dump restored twice', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('memory', dir), ['32']);
  const sum = waitOutput(out, /ready \d+ (\d+)/)[1];
  const first = dumpAndKill(t, dir, pid, { name: 'first' });
  restore(t, first, out);
  const second = dumpAndKill(t, dir, pid, { name: 'second' });
  restore(t, second, out);
  kill(pid, SIG.USR1);
  waitFor('a verdict', () => /verify/.test(readFileSync(out, 'utf8')));
  t.match(readFileSync(out, 'utf8'), new RegExp(`verify ok ${sum}`), 'memory intact after two round trips');
  killAndReap(pid);
  waitFor('the task to be gone', () => !alive(pid));
  restore(t, first, out);
  kill(pid, SIG.USR1);
  waitFor('a second verdict', () => (readFileSync(out, 'utf8').match(/verify/g) ?? []).length >= 2);
  t.equal(readFileSync(out, 'utf8').match(/verify \S+ \d+/g)?.[1], `verify ok ${sum}`, 'the first dump restores again');
  t.end();
});
