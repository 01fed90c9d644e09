import t from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { harnessDump } from '../test/dump-harness.js';
import { alive, compile, killAndReap, runRestore, startBackground, tempDir, waitFor, waitOutput } from '../test/live.js';

t.test('memory fixture: dumped, killed, restored with its pid; its memory checksum holds', (t) => {
  const dir = tempDir(t);
  const exe = compile(dir, 'e2e/fixtures/memory.c');
  const out = join(dir, 'out');
  const pid = startBackground(t, out, exe, ['16']);
  const sum = waitOutput(out, /ready (\d+) (\d+)/)[2];
  const images = join(dir, 'img');
  mkdirSync(images);
  harnessDump(pid, images);
  waitFor(`pid ${pid} to die`, () => !alive(pid));
  killAndReap(pid);
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', join(dir, 'restore.log')]);
  t.teardown(() => killAndReap(pid));
  if (status !== 0) t.comment(readFileSync(join(dir, 'restore.log'), 'utf8').split('\n').slice(-30).join('\n'));
  t.equal(status, 0, 'criu-restore -d exits 0');
  t.ok(alive(pid), `pid ${pid} runs again`);
  kill(pid, SIG.USR1);
  const verdict = waitOutput(out, /verify (ok|bad)[^\n]*/);
  t.equal(verdict[0], `verify ok ${sum}`, 'the restored memory has the dumped checksum');
  t.ok(existsSync(join(dir, 'restore.log')));
  t.end();
});

