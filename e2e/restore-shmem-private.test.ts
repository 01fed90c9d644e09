// A private mapping of shared anonymous memory (zdtm shmemfd-priv), held
// by an unmodified python3: a MAP_SHARED|MAP_ANONYMOUS area, reopened
// through /proc/self/map_files and mapped again MAP_PRIVATE at an offset.
// A page written through the private view is the task's own; the others
// still show the object, writes through the shared view included. Saved
// as upstream saves it (a memfd), dumped and restored by ours, and with
// upstream CRIU 4.2 on either side (skipped, saying so, when it is absent).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { VMA } from '@criu-ts/kinds';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);
const noUpstream = skipWithoutUpstream();
if (noUpstream !== false) t.comment(noUpstream);

const P = 4096;
const SCRIPT = [
  'import ctypes, mmap, os, signal, struct, time',
  `P = ${P}`,
  'shared = mmap.mmap(-1, 5 * P, mmap.MAP_SHARED)',
  'addr = ctypes.addressof(ctypes.c_char.from_buffer(shared))',
  'for i in range(5): shared[i * P:i * P + 4] = struct.pack("i", 10 * (i + 1))',
  'fd = os.open("/proc/self/map_files/%x-%x" % (addr, addr + 5 * P), os.O_RDWR)',
  'priv = mmap.mmap(fd, 4 * P, mmap.MAP_PRIVATE, offset=P)',
  'priv[P:P + 4] = struct.pack("i", 22)',
  'at = lambda m, i: struct.unpack("i", m[i * P:i * P + 4])[0]',
  'def check(sig, frame):',
  '    shared[3 * P:3 * P + 4] = struct.pack("i", at(shared, 3) + 1)',
  '    print("state", at(priv, 0), at(priv, 1), at(priv, 2), at(shared, 3), at(priv, 3), at(shared, 4), flush=True)',
  'signal.signal(signal.SIGUSR1, check)',
  'print("ready", flush=True)',
  'while True: time.sleep(0.05)',
].join('\n');

const states = (out: string): string[] => readFileSync(out, 'utf8').match(/^state .*$/gm) ?? [];
const ways: { dump: Side; restore: Side; title: string }[] = [{ dump: 'ours', restore: 'ours', title: 'dumped and restored by ours' }, ...DIRECTIONS];

for (const way of ways) {
  const skip = way.dump === 'ours' && way.restore === 'ours' ? false : noUpstream;
  t.test(`private view of shared anonymous memory, ${way.title}`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-shpriv-');
    const out = join(dir, 'out');
    const script = join(dir, 'shpriv.py');
    writeFileSync(script, SCRIPT);
    const pid = startBackground(t, out, '/usr/bin/python3', [script]);
    waitOutput(out, /ready/, 30_000);
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state before', () => states(out).length >= 1, 20_000);
    // priv pages 0-3 are object pages 1-4 (20, 30, 40, 50) but page 1, its own (22); each check bumps object page 3
    t.equal(states(out)[0], 'state 20 22 41 41 50 50', 'before: the private page is its own, the others the object');
    const images = dumpWith(way.dump, t, dir, pid);
    if (way.dump === 'ours') {
      const vma = readEntries(images, 'mm', pid)[0]!.vmas!.filter((v) => (v.status & VMA.AREA_MEMFD) !== 0);
      t.equal(vma.length >= 2, true, 'both views are saved as mappings of one memfd (VMA_AREA_MEMFD), as upstream saves them');
    }
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state after', () => states(out).length >= 2, 20_000);
    t.equal(states(out)[1], 'state 20 22 42 42 50 50', 'after: the same, and a write to the object still shows in the private view');
    t.end();
  });
}
