// Symlinks held open (O_PATH | O_NOFOLLOW) by an unmodified python3: one
// still linked, one deleted (carried as a ghost, its target in the entry,
// as upstream writes it) — dumped and restored by ours and, both ways, by
// upstream CRIU 4.2; after the restore each fd is a symlink again with its
// target, the deleted one under its old name "(deleted)", nothing left on
// disk.
import t, { type Test } from 'tap';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { startBackground, waitOutput } from '../libs/restore/test/live.js';

const HOLDER = `
import ctypes, os, signal, stat, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
os.symlink('/etc/hostname', d + '/kept')
os.symlink('../gone-target', d + '/gone')
fds = [os.open(d + '/' + n, os.O_PATH | os.O_NOFOLLOW) for n in ('kept', 'gone')]
os.unlink(d + '/gone')
def target(fd):
    buf = ctypes.create_string_buffer(256)
    n = libc.readlinkat(fd, b'', buf, 256)
    return buf.raw[:n].decode()
def state():
    return ' '.join('%s:%s:%s' % (stat.S_ISLNK(os.fstat(fd).st_mode), target(fd), os.readlink('/proc/self/fd/%d' % fd)) for fd in fds)
signal.signal(signal.SIGUSR1, lambda *_: print('now', state(), flush=True))
print('ready', state(), flush=True)
while True:
    signal.pause()
`;

function roundTrip(t: Test, dump: Side, restore: Side): void {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', HOLDER, dir]);
  const before = waitOutput(out, /ready (.*)/)[1]!;
  t.equal(before, `True:/etc/hostname:${dir}/kept True:../gone-target:${dir}/gone (deleted)`, 'python3 holds a symlink and a deleted one');
  const images = dumpWith(dump, t, dir, pid);
  if (!restoreChecked(t, restore, out, images)) return;
  t.notOk(existsSync(join(dir, 'gone')), 'the deleted one is not left on disk');
  t.equal(readlinkSync(join(dir, 'kept')), '/etc/hostname', 'the kept one is untouched');
  signalWhenAsleep(pid, SIG.USR1);
  t.equal(waitOutput(out, /now (.*)/)[1], before, 'both fds are symlinks with their targets, under their names');
}

t.test('symlinks held open, one deleted: dumped and restored by ours', (t) => {
  roundTrip(t, 'ours', 'ours');
  t.end();
});

for (const way of DIRECTIONS) {
  t.test(`symlinks held open, one deleted, ${way.title}`, { skip: skipWithoutUpstream() }, (t) => {
    roundTrip(t, way.dump as Side, way.restore as Side);
    t.end();
  });
}
