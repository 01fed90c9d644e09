import t from 'tap';
import { SyscallError } from '@criu-ts/base';
import { classifyFdLink, listFdNumbers, listFds, readFdLink } from './fd-links.js';
import { killTask, startSleep, thrown } from './live-task.fixture.js';

t.test('captured link texts are classified', async (t) => {
  // from `ls -l /proc/PID/fd` of a C program holding one fd of each kind
  const cases: Array<[string, unknown]> = [
    ['pipe:[13859]', { kind: 'pipe', inode: 13859 }],
    ['socket:[13861]', { kind: 'socket', inode: 13861 }],
    ['anon_inode:[eventfd]', { kind: 'anon_inode', anon: 'eventfd', name: '[eventfd]' }],
    ['anon_inode:[eventpoll]', { kind: 'anon_inode', anon: 'epoll' }],
    ['anon_inode:[signalfd]', { kind: 'anon_inode', anon: 'signalfd' }],
    ['anon_inode:[timerfd]', { kind: 'anon_inode', anon: 'timerfd' }],
    ['anon_inode:inotify', { kind: 'anon_inode', anon: 'inotify', name: 'inotify' }],
    ['anon_inode:[fanotify]', { kind: 'anon_inode', anon: 'fanotify' }],
    ['anon_inode:[io_uring]', { kind: 'anon_inode', anon: 'io_uring' }],
    ['anon_inode:[pidfd]', { kind: 'anon_inode', anon: 'pidfd' }],
    ['anon_inode:[userfaultfd]', { kind: 'anon_inode', anon: 'userfaultfd' }],
    ['anon_inode:bpf-map', { kind: 'anon_inode', anon: 'other', name: 'bpf-map' }],
    ['/dev/pts/3', { kind: 'pts', index: 3 }],
    ['/dev/ptmx', { kind: 'path', path: '/dev/ptmx', deleted: false }],
    ['/memfd:my mem (deleted)', { kind: 'memfd', name: 'my mem', deleted: true }],
    ['/tmp/h4cap/gone file (deleted)', { kind: 'path', path: '/tmp/h4cap/gone file', deleted: true }],
    ['/tmp/h4cap/lock file', { kind: 'path', path: '/tmp/h4cap/lock file', deleted: false }],
    ['net:[4026531833]', { kind: 'namespace', ns: 'net', inode: 4026531833 }],
    ['weird:[1]', { kind: 'unknown' }],
  ];
  for (const [link, want] of cases) t.match(classifyFdLink(link), want, link);
});

t.test('live: a child\'s fds and ours', async (t) => {
  const sleep = await startSleep(t);
  // fds 0 and 1 are node's socketpairs; 2 is ours (inherited); the harness may leak more
  const numbers = listFdNumbers(sleep.pid);
  t.same(numbers.slice(0, 3), [0, 1, 2]);
  const fds = listFds(sleep.pid);
  t.same(fds.map((f) => f.fd), numbers);
  t.same(fds.slice(0, 2).map((f) => f.target.kind), ['socket', 'socket']);
  t.equal(readFdLink(sleep.pid, 1).link, fds[1].link);
  const own = listFds(process.pid);
  t.ok(own.some((f) => f.target.kind === 'anon_inode' && f.target.anon === 'epoll'), 'node has an epoll fd');
});

t.test('live: fds of a task that is gone', async (t) => {
  const sleep = await startSleep(t);
  await killTask(sleep.child);
  const error = thrown(() => listFds(sleep.pid));
  t.ok(error instanceof SyscallError);
  t.match(error, { code: 'ENOENT', pid: sleep.pid, path: `/proc/${sleep.pid}/fd` });
});
