// A task stopped by job control is dumped with the signal that stopped it
// (task_core_entry.stop_signo, as upstream writes it) and restored stopped
// by that signal: its parent, an unmodified python3, sees the same stop
// signal again in waitpid(WUNTRACED) after the restore (zdtm stopped03 does
// the same with SIGTSTP).
import t from 'tap';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { dumpWith, restoreChecked, signalWhenAsleep } from './lib/upstream.js';
import { killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';
import { readFileSync } from 'node:fs';

const PARENT = `
import os, signal, sys
child = os.fork()
if child == 0:
    # a group of its own, whose parent is in another group of the session: not orphaned, so job-control stops reach it
    os.setpgid(0, 0)
    while True:
        signal.pause()
while os.getpgid(child) != child:
    pass
os.kill(child, signal.SIG%s)
_, status = os.waitpid(child, os.WUNTRACED)
print('stopped', child, os.WSTOPSIG(status), flush=True)
def again(*_):
    # after the restore the child is stopped anew: its parent is told so once more
    _, status = os.waitpid(child, os.WUNTRACED)
    print('again', os.WSTOPSIG(status), flush=True)
signal.signal(signal.SIGUSR1, again)
while True:
    signal.pause()
`;

for (const name of ['TSTP', 'TTIN', 'STOP'] as const) {
  t.test(`a child stopped by SIG${name} comes back stopped by SIG${name}`, (t) => {
    const dir = scratchDir(t);
    const out = join(dir, 'out');
    const parent = startBackground(t, out, '/usr/bin/python3', ['-c', PARENT.replace('%s', name)]);
    const [, child, signo] = waitOutput(out, /stopped (\d+) (\d+)/).map(Number);
    t.teardown(() => killAndReap(child!));
    t.equal(signo, SIG[name], `python3 saw its child stopped by SIG${name}`);
    waitFor(`child ${child} to be stopped`, () => /^State:\s+T/m.test(readFileSync(`/proc/${child}/status`, 'utf8')));
    const images = dumpWith('ours', t, dir, parent);
    t.equal(readEntries(images, 'core', child)[0]!.tc!.stop_signo, SIG[name], 'core image: stop_signo');
    if (!restoreChecked(t, 'ours', out, images)) return t.end();
    signalWhenAsleep(parent, SIG.USR1);
    t.equal(Number(waitOutput(out, /again (\d+)/)[1]), SIG[name], `after the restore the child is stopped by SIG${name} again`);
    t.end();
  });
}
