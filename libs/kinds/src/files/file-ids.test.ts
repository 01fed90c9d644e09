// The dump-wide table of file descriptions: dups are found by kcmp(2), and
// among many opens of one inode with a binary search in kcmp's order.
import { closeSync, fstatSync, openSync } from 'node:fs';
import t from 'tap';
import { FdTypes } from '@criu-ts/images';
import { KCMP_RESULT, SYS, syscall } from '@criu-ts/kernel';
import { createFileIds, type CompareFds } from './file-ids.js';

t.test('dups of this process\'s fds are found with kcmp, fresh opens are not', (t) => {
  const fds = Array.from({ length: 200 }, () => openSync('/dev/null', 'r'));
  const dups = fds.filter((_, i) => i % 7 === 0).map((fd) => ({ fd, dup: Number(syscall(SYS.dup, fd)) }));
  const fresh = openSync('/dev/null', 'r');
  t.teardown(() => [...fds, ...dups.map((d) => d.dup), fresh].forEach((fd) => closeSync(fd)));
  const { dev, ino } = fstatSync(fds[0]!, { bigint: true });
  const ids = createFileIds();
  fds.forEach((fd, i) => ids.add(process.pid, fd, dev, ino, { id: 1000 + i, type: FdTypes.REG }));
  for (const { fd, dup } of dups) t.equal(ids.lookup(process.pid, dup, dev, ino)?.id, 1000 + fds.indexOf(fd), `fd ${dup} is fd ${fd}'s description`);
  t.equal(ids.lookup(process.pid, fresh, dev, ino), undefined, 'a fresh open of the same inode is a description of its own');
  t.equal(ids.lookup(process.pid, fds[0]!, dev, ino + 1n), undefined, 'another inode is never compared');
  t.end();
});

t.test('n opens of one inode cost log n comparisons each, not n', (t) => {
  // descriptions are numbers in a shuffled order, as the kernel's obfuscated pointers are
  const description = (fd: number): number => (fd * 7919) % 10007;
  let calls = 0;
  const compare: CompareFds = (_pid, fd, other) => {
    calls += 1;
    const [a, b] = [description(fd), description(other.fd)];
    return a === b ? KCMP_RESULT.EQUAL : a < b ? KCMP_RESULT.LESS : KCMP_RESULT.GREATER;
  };
  const ids = createFileIds(compare);
  const n = 9000;
  for (let fd = 0; fd < n; fd++) {
    if (ids.lookup(1, fd, 0n, 1n) === undefined) ids.add(1, fd, 0n, 1n, { id: fd, type: FdTypes.REG });
  }
  t.ok(calls < n * 2 * 15, `${calls} comparisons for ${n} descriptions (a linear scan takes ~${(n * n) / 2})`);
  t.equal(ids.lookup(1, 10007 + 5, 0n, 1n)?.id, 5, 'an fd with the description of fd 5 finds it');
  const unordered = createFileIds(() => KCMP_RESULT.UNORDERED);
  unordered.add(1, 1, 0n, 1n, { id: 1, type: FdTypes.REG });
  t.throws(() => unordered.lookup(1, 2, 0n, 1n), /gave no order/, 'no order from kcmp is an error, not a guess');
  t.end();
});
