// Unit tests of the files kind's helpers that need no frozen task.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import t from 'tap';
import { pipe2 } from '@criu-ts/kernel';
import { buildIdWords, readBuildId } from './build-id.js';
import { fileLockEntry } from './file-locks.js';
import { fhEntry } from './inotify.js';
import { devMajor, devMinor, kernelDev, type OpenFd } from './open-fd.js';
import { peekPipe } from './pipe-data.js';

t.test('build-id of an ELF file matches readelf', async (t) => {
  const notes = execFileSync('readelf', ['-n', process.execPath], { encoding: 'utf8' });
  const expected = /Build ID: ([0-9a-f]+)/.exec(notes)?.[1];
  const fd = openSync(process.execPath, 'r');
  try {
    const id = readBuildId(fd, statSync(process.execPath).size);
    t.equal(id?.toString('hex'), expected, 'the GNU build-id note');
  } finally {
    closeSync(fd);
  }
  t.same(buildIdWords(Buffer.from([1, 2, 3, 4, 5])), [0x04030201, 5], 'words, zero-padded');
  const text = openSync('/etc/hostname', 'r');
  try {
    t.equal(readBuildId(text, statSync('/etc/hostname').size), undefined, 'not ELF: none');
  } finally {
    closeSync(text);
  }
});

t.test('peekPipe copies queued bytes without consuming them', async (t) => {
  const [r, w] = pipe2();
  try {
    writeSync(w, 'hello');
    t.equal(peekPipe(r, 65536).toString(), 'hello');
    const buf = Buffer.alloc(16);
    t.equal(buf.toString('utf8', 0, readSync(r, buf)), 'hello', 'still in the pipe');
    t.equal(peekPipe(r, 65536).length, 0, 'an empty pipe gives nothing');
  } finally {
    closeSync(r);
    closeSync(w);
  }
});

t.test('device numbers', async (t) => {
  const dev = BigInt(statSync('/dev/null').rdev);
  t.equal(devMajor(dev), 1);
  t.equal(devMinor(dev), 3);
  t.equal(kernelDev(dev), (1 << 20) | 3, 'kernel encoding');
  t.equal(kernelDev(0x10300n), (259 << 20) | 0, 'a major above 255');
});

t.test('file handles and locks', async (t) => {
  const fh = fhEntry({ type: 1, handle: Buffer.from('0102030405060708090a', 'hex') });
  t.equal(fh.bytes, 10);
  t.equal(fh.handle?.length, 16, 'at least 16 words');
  t.equal(fh.handle?.[0], 0x0807060504030201n);
  t.equal(fh.handle?.[1], 0x0a09n);
  const fd = { pid: 7, fd: 3 } as OpenFd;
  const lock = { id: 1, type: 'POSIX', mode: 'ADVISORY', access: 'WRITE', pid: 7, major: 0, minor: 0, inode: 1, start: 10n, end: 19n };
  t.same(fileLockEntry(fd, lock), { flag: 1, type: 1, pid: 7, fd: 3, start: 10n, len: 10n });
  t.equal(fileLockEntry(fd, { ...lock, end: undefined }).len, 0n, 'to EOF is len 0');
  const lease = { ...lock, type: 'LEASE', mode: 'ACTIVE', access: 'READ', start: 0n, end: undefined };
  t.same(fileLockEntry(fd, lease), { flag: 8, type: 0, pid: 7, fd: 3, start: 0n, len: 0n }, 'a read lease: F_RDLCK');
  t.equal(fileLockEntry(fd, { ...lease, access: 'WRITE' }).type, 1, 'a write lease: F_WRLCK');
  t.throws(() => fileLockEntry(fd, { ...lease, mode: 'BREAKING' }), { name: 'UnsupportedError' }, 'a lease being broken is refused');
  t.throws(() => fileLockEntry(fd, { ...lock, type: 'DELEG' }), { name: 'UnsupportedError' });
});
