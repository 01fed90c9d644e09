// Deleted files a process still maps, end to end: an unmodified python3
// mapping a file it then deleted (private and shared mappings, the
// private one written to), and a program whose own binary was deleted
// (the exe link and its text mapping). They are carried as ghost files,
// as upstream does, and restored by ours and — both ways — by upstream
// CRIU 4.2: the mappings hold the same bytes, the shared one still writes
// through to the file, /proc shows the old names "(deleted)", and nothing
// is left on disk.
import t, { type Test } from 'tap';
import { copyFileSync, existsSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { startBackground, waitFor, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

const MAPPER = `
import mmap, os, signal, sys, hashlib
path = sys.argv[1]
with open(path, 'wb') as f:
    f.write(bytes(range(256)) * 64)
f = open(path, 'r+b')
priv = mmap.mmap(f.fileno(), 16384, flags=mmap.MAP_PRIVATE)
shared = mmap.mmap(f.fileno(), 16384, flags=mmap.MAP_SHARED)
f.close()
os.unlink(path)
priv[0:5] = b'hello'
def state():
    return 'priv=%s shared=%s' % (hashlib.sha1(priv[:]).hexdigest()[:12], hashlib.sha1(shared[:]).hexdigest()[:12])
def report(*_):
    before = state()
    shared[100:105] = b'write'
    fd = os.open('/proc/self/map_files/%x-%x' % mapped(shared), os.O_RDONLY)
    through = os.pread(fd, 5, 100)
    os.close(fd)
    print('now', before, 'through=%s' % through.decode(), flush=True)
def mapped(m):
    import ctypes
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    return addr, addr + 16384
signal.signal(signal.SIGUSR1, report)
print('ready', state(), flush=True)
while True:
    signal.pause()
`;

function startMapper(t: Teardowns, dir: string): { pid: number; out: string; path: string; before: string } {
  const out = join(dir, 'out');
  const path = join(dir, 'mapped-file');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', MAPPER, path]);
  return { pid, out, path, before: waitOutput(out, /ready (.*)/)[1]! };
}

function mapperRoundTrip(t: Test, dump: Side, restore: Side): void {
  const dir = scratchDir(t);
  const m = startMapper(t, dir);
  t.notOk(existsSync(m.path), 'the mapped file is deleted');
  const images = dumpWith(dump, t, dir, m.pid);
  t.ok(readdirSync(images).some((name) => /^ghost-file-\d+\.img$/.test(name)), 'the file is carried in a ghost image');
  if (!restoreChecked(t, restore, m.out, images)) return;
  t.notOk(existsSync(m.path), 'and is deleted again after the restore');
  signalWhenAsleep(m.pid, SIG.USR1);
  t.equal(waitOutput(m.out, /now (.*)/)[1], `${m.before} through=write`, 'both mappings hold the same bytes; the shared one writes through to the file');
}

t.test('a mapped file the process deleted: dumped and restored by ours', (t) => {
  mapperRoundTrip(t, 'ours', 'ours');
  t.end();
});

for (const way of DIRECTIONS) {
  t.test(`a mapped file the process deleted, ${way.title}`, { skip: skipWithoutUpstream() }, (t) => {
    mapperRoundTrip(t, way.dump as Side, way.restore as Side);
    t.end();
  });
}

t.test('a program whose binary was deleted: its exe link and text come back', (t) => {
  const dir = scratchDir(t);
  const binary = join(dir, 'my-sleep');
  copyFileSync('/bin/sleep', binary);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, binary, ['1000']);
  waitFor(`pid ${pid} to run ${binary}`, () => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === binary;
    } catch {
      return false;
    }
  });
  unlinkSync(binary);
  t.equal(readlinkSync(`/proc/${pid}/exe`), `${binary} (deleted)`, 'its binary is deleted');
  const images = dumpWith('ours', t, dir, pid);
  if (!restoreChecked(t, 'ours', out, images)) return t.end();
  t.equal(readlinkSync(`/proc/${pid}/exe`), `${binary} (deleted)`, 'the restored exe link names the deleted binary');
  t.notOk(existsSync(binary), 'which is not left on disk');
  signalWhenAsleep(pid, SIG.CONT);
  t.end();
});
