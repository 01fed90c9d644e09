// State of memory objects that must survive dump and restore, held by an
// unmodified python3 (ctypes for the calls Python lacks): a memfd's mode and
// its execveat(AT_EMPTY_PATH) (only the memfd_create file itself may be
// exec'ed while open for writing), MADV_WIPEONFORK advice, and a read-only
// shared view of a file opened O_RDWR that may still be mprotect'ed
// writable (its file reopened with the dump's fdflags).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG, kill } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { dumpAndKill } from './lib/round-trip.js';
import { killAndReap, runRestore, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

const SCRIPT = [
  'import ctypes, os, signal, sys, time',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'libc.mmap.restype = ctypes.c_void_p',
  'libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]',
  'libc.mprotect.argtypes = libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]',
  'memfd = os.memfd_create("zmem-state", 0)',
  'os.write(memfd, b"#!/bin/true\\n")',
  'os.fchmod(memfd, 0o751)',
  'wf = libc.mmap(None, 8192, 3, 0x22, -1, 0)',
  'assert libc.madvise(wf, 8192, 18) == 0',
  'ctypes.memmove(wf, b"hello", 5)',
  'f = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)',
  'os.ftruncate(f, 4096)',
  'ro = libc.mmap(None, 4096, 1, 1, f, 0)',
  'os.close(f)',
  'def flags_of(addr):',
  '    lines = open("/proc/self/smaps").read().split("\\n")',
  '    start = "%x-" % addr',
  '    inside = False',
  '    for line in lines:',
  '        if line.startswith(start): inside = True',
  '        elif inside and line.startswith("VmFlags:"): return line.split()[1:]',
  '    return []',
  'def check(sig, frame):',
  '    mode = oct(os.fstat(memfd).st_mode & 0o7777)',
  '    pid = os.fork()',
  '    if pid == 0:',
  '        try: os.execve(memfd, ["true"], {})',
  '        except OSError as e: os._exit(e.errno)',
  '    _, st = os.waitpid(pid, 0)',
  '    data = ctypes.string_at(wf, 5).decode()',
  '    prot = libc.mprotect(ro, 4096, 3)',
  '    print("state", mode, os.waitstatus_to_exitcode(st), data, "wf" in flags_of(wf), prot, flush=True)',
  'signal.signal(signal.SIGUSR1, check)',
  'print("ready", flush=True)',
  'while True: time.sleep(0.05)',
].join('\n');

const states = (out: string): string[] => readFileSync(out, 'utf8').match(/^state .*$/gm) ?? [];

t.test('python3: memfd mode and execveat, MADV_WIPEONFORK and a mprotect-able file view survive', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const script = join(dir, 'state.py');
  writeFileSync(script, SCRIPT);
  const pid = startBackground(t, out, '/usr/bin/python3', [script, join(dir, 'mapped')]);
  waitOutput(out, /ready/, 30_000);
  kill(pid, SIG.USR1);
  waitFor('the state before', () => states(out).length >= 1, 20_000);
  t.equal(states(out)[0], 'state 0o751 0 hello True 0', 'before: mode 0751, exec works, advice set, mprotect works');
  const images = dumpAndKill(t, dir, pid, { name: 'img' });
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log'], 120_000);
  if (status !== 0) throw new Error(`criu-restore failed (${status}): ${readFileSync(join(images, 'restore.log'), 'utf8').slice(-3000)}`);
  const tids = readEntries(images, 'pstree').flatMap((entry) => entry.threads ?? []);
  t.teardown(() => tids.forEach(killAndReap));
  // the first check's mprotect made the view writable; the restored one must allow it again
  kill(pid, SIG.USR1);
  waitFor('the state after', () => states(out).length >= 2, 20_000);
  t.equal(states(out)[1], 'state 0o751 0 hello True 0', 'after: the same');
  t.end();
});
