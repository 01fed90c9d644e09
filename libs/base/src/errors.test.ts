import t from 'tap';
import { SyscallError, ImageError, UnsupportedError, errnoName, errnoMessage } from './errors.js';

t.test('errno names and messages come from the system table', async (t) => {
  t.equal(errnoName(1), 'EPERM');
  t.equal(errnoName(3), 'ESRCH');
  t.equal(errnoMessage(1), 'Operation not permitted');
  t.equal(errnoName(10), 'ECHILD', 'names missing from libuv come from os.constants');
  t.equal(errnoMessage(10), 'No child processes');
});

t.test('a syscall error reads like the house style', async (t) => {
  const e = new SyscallError({ syscall: 'ptrace(PTRACE_SEIZE)', errno: 1, pid: 4242 });
  t.equal(e.message, 'ptrace(PTRACE_SEIZE) pid 4242: Operation not permitted (EPERM)');
  t.equal(e.code, 'EPERM');
  t.equal(e.errno, 1);
  t.equal(e.exitCode, 1);
});

t.test('image and unsupported errors name the thing', async (t) => {
  t.equal(new ImageError('bad magic', { image: 'core-1.img', offset: 4 }).message, 'core-1.img at offset 4: bad magic');
  t.equal(new UnsupportedError({ pid: 7, fd: 3, kind: 'io_uring' }).message, 'pid 7 fd 3: io_uring is not supported');
  t.equal(new UnsupportedError({ pid: 7, address: 0x1000n, kind: 'device mapping' }).message, 'pid 7 at 0x1000: device mapping is not supported');
});
