// A cwd in a dead task's /proc/PID (zdtm unhashed_proc), held by an
// unmodified python3: it forks a child, enters /proc/CHILD, and the child
// is killed and reaped, which unhashes the directory. After the restore the
// cwd is that directory again — getcwd(3) fails with ENOENT, /proc/self/cwd
// names /proc/CHILD (deleted) — and no task with the child's pid is left.
// Dumped and restored by ours, and with upstream CRIU 4.2 on either side
// (skipped, saying so, when it is absent).
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);
const noUpstream = skipWithoutUpstream();
if (noUpstream !== false) t.comment(noUpstream);

const SCRIPT = [
  'import os, signal, time',
  'child = os.fork()',
  'if child == 0:',
  '    while True: time.sleep(1)',
  'os.chdir("/proc/%d" % child)',
  'os.kill(child, signal.SIGKILL)',
  'os.waitpid(child, 0)',
  'def check(sig, frame):',
  '    try: where = os.getcwd()',
  '    except FileNotFoundError: where = "ENOENT"',
  '    print("state", where, os.readlink("/proc/self/cwd"), flush=True)',
  'signal.signal(signal.SIGUSR1, check)',
  'print("ready", child, flush=True)',
  'while True: time.sleep(0.05)',
].join('\n');

const states = (out: string): string[] => readFileSync(out, 'utf8').match(/^state .*$/gm) ?? [];
const ways: { dump: Side; restore: Side; title: string }[] = [{ dump: 'ours', restore: 'ours', title: 'dumped and restored by ours' }, ...DIRECTIONS];

for (const way of ways) {
  const skip = way.dump === 'ours' && way.restore === 'ours' ? false : noUpstream;
  t.test(`cwd in a dead task's /proc, ${way.title}`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-unhashed-');
    const out = join(dir, 'out');
    const script = join(dir, 'unhashed.py');
    writeFileSync(script, SCRIPT);
    const pid = startBackground(t, out, '/usr/bin/python3', [script]);
    const child = Number(waitOutput(out, /ready (\d+)/, 30_000)[1]);
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state before', () => states(out).length >= 1, 20_000);
    const expected = `state ENOENT /proc/${child} (deleted)`;
    t.equal(states(out)[0], expected, 'before: getcwd fails, the cwd is the unhashed directory');
    const images = dumpWith(way.dump, t, dir, pid, ['--link-remap']);
    if (way.dump === 'ours') {
      t.same(readEntries(images, 'remap-fpath').map((e) => [e.remap_id, e.remap_type]), [[child, 2]], 'a PROCFS remap of the dead pid, as upstream writes it');
    }
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    t.notOk(existsSync(`/proc/${child}`), `no task ${child} is left`);
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state after', () => states(out).length >= 2, 20_000);
    t.equal(states(out)[1], expected, 'after: the same');
    t.end();
  });
}
