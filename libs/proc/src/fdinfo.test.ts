import t from 'tap';
import { parseFdinfo, readFdinfo, type Fdinfo } from './fdinfo.js';
import { listFds, readFdLink } from './fd-links.js';
import { startSleep } from './live-task.fixture.js';

// captured on this machine from a C program holding one fd of each kind
// (`cat /proc/PID/fdinfo/N`)
const CAPTURED = {
  file: 'pos:\t5\nflags:\t0100001\nmnt_id:\t27\nino:\t2172311\n',
  eventfd: 'pos:\t0\nflags:\t04002\nmnt_id:\t17\nino:\t1038\neventfd-count:                5\neventfd-id: 1\neventfd-semaphore: 1\n',
  epoll:
    'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n' +
    'tfd:        3 events: 80000019 data:       1122334455  pos:0 ino:40e sdev:10\n' +
    'tfd:        5 events:       1c data:                7  pos:0 ino:3623 sdev:f\n',
  signalfd: 'pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\nsigmask:\t0000000000004200\n',
  timerfd:
    'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\nclockid: 1\nticks: 0\nsettime flags: 00\n' +
    'it_value: (99, 478680332)\nit_interval: (1, 500)\n',
  inotify:
    'pos:\t0\nflags:\t00\nmnt_id:\t17\nino:\t1038\n' +
    'inotify wd:1 ino:3f7e8 sdev:fe00000 mask:300 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7030000000000\n',
  fanotify:
    'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\nfanotify flags:0 event-flags:8000\n' +
    'fanotify mnt_id:1b mflags:0 mask:8 ignored_mask:0\n' +
    'fanotify ino:212595 sdev:fe00000 mflags:0 mask:20 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:9525210060f9e82b\n',
  lock: 'pos:\t0\nflags:\t0100002\nmnt_id:\t27\nino:\t2172312\nlock:\t1: FLOCK  ADVISORY  WRITE 6205 fe:00:2172312 0 EOF\n',
  pidfd: 'pos:\t0\nflags:\t02000002\nmnt_id:\t4\nino:\t6206\nPid:\t6205\nNSpid:\t6205\n',
  userfaultfd: 'pos:\t0\nflags:\t02000000\nmnt_id:\t17\nino:\t13860\npending:\t0\ntotal:\t0\nAPI:\taa:0:80000000000001ff\n',
  tty: 'pos:\t0\nflags:\t0100002\nmnt_id:\t24\nino:\t91\ntty-index:\t0\n',
  socket: 'pos:\t0\nflags:\t02\nmnt_id:\t10\nino:\t13861\nscm_fds: 0\n',
};

function as<K extends Fdinfo['kind']>(info: Fdinfo, kind: K): Extract<Fdinfo, { kind: K }> {
  if (info.kind !== kind) throw new Error(`want ${kind}, got ${info.kind}`);
  return info as Extract<Fdinfo, { kind: K }>;
}

t.test('common fields: pos, octal flags, mnt_id, ino', async (t) => {
  const f = parseFdinfo(CAPTURED.file);
  t.match(f, { kind: 'plain', pos: 5n, flags: 0o100001, mnt_id: 27, ino: 2172311, locks: [] });
  t.equal(f.lines.length, 4);
  const s = parseFdinfo(CAPTURED.socket);
  t.match(s, { kind: 'plain', flags: 0o2 });
  t.equal(s.fields.scm_fds, '0', 'unknown lines are kept');
});

t.test('eventfd, signalfd, timerfd', async (t) => {
  t.match(as(parseFdinfo(CAPTURED.eventfd), 'eventfd'), { count: 5n, id: 1, semaphore: true, flags: 0o4002 });
  t.equal(as(parseFdinfo(CAPTURED.eventfd.replace('5\n', 'ff\n')), 'eventfd').count, 255n, 'eventfd-count is hex');
  t.equal(as(parseFdinfo(CAPTURED.signalfd), 'signalfd').sigmask, 0x4200n);
  t.match(as(parseFdinfo(CAPTURED.timerfd), 'timerfd'), {
    clockid: 1, ticks: 0n, settime_flags: 0, it_value: { tv_sec: 99n, tv_nsec: 478680332 }, it_interval: { tv_sec: 1n, tv_nsec: 500 },
  });
});

t.test('epoll targets', async (t) => {
  const e = as(parseFdinfo(CAPTURED.epoll), 'epoll');
  t.same(e.targets, [
    { tfd: 3, events: 0x80000019, data: 0x1122334455n, pos: 0n, ino: 0x40e, sdev: 0x10 },
    { tfd: 5, events: 0x1c, data: 7n, pos: 0n, ino: 0x3623, sdev: 0xf },
  ]);
  const empty = 'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n';
  t.equal(parseFdinfo(empty).kind, 'plain', 'an empty epoll set shows nothing');
  t.same(as(parseFdinfo(empty, { hint: 'epoll' }), 'epoll').targets, [], 'the link hint makes it an epoll');
});

t.test('inotify and fanotify marks with file handles', async (t) => {
  const i = as(parseFdinfo(CAPTURED.inotify), 'inotify');
  t.match(i.watches[0], { wd: 1, ino: 0x3f7e8, sdev: 0xfe00000, mask: 0x300, ignored_mask: 0, fhandle: { type: 1 } });
  t.equal(i.watches[0].fhandle?.handle.toString('hex'), 'e8f7030000000000');
  const f = as(parseFdinfo(CAPTURED.fanotify), 'fanotify');
  t.match(f, { flags: 0o2, fanotify_flags: 0, event_flags: 0x8000 });
  t.same(f.marks[0], { target: 'mount', mnt_id: 0x1b, mflags: 0, mask: 8, ignored_mask: 0 });
  t.match(f.marks[1], { target: 'inode', ino: 0x212595, sdev: 0xfe00000, mask: 0x20 });
  const sb = as(parseFdinfo(`${CAPTURED.fanotify}fanotify sdev:fe00000 mflags:0 mask:1 ignored_mask:0\n`), 'fanotify');
  t.same(sb.marks[2], { target: 'filesystem', sdev: 0xfe00000, mflags: 0, mask: 1, ignored_mask: 0 });
});

t.test('locks, pidfd, userfaultfd, tty', async (t) => {
  const l = parseFdinfo(CAPTURED.lock);
  t.same(l.locks, [{ id: 1, type: 'FLOCK', mode: 'ADVISORY', access: 'WRITE', pid: 6205, major: 0xfe, minor: 0, inode: 2172312, start: 0n, end: undefined }]);
  const posix = parseFdinfo(`${CAPTURED.file}lock:\t2: POSIX  ADVISORY  READ 77 fe:00:12 100 199\nlock:\t3: OFDLCK ADVISORY  WRITE -1 fe:00:12 0 EOF\n`);
  t.match(posix.locks, [{ type: 'POSIX', access: 'READ', start: 100n, end: 199n }, { type: 'OFDLCK', pid: -1 }]);
  t.match(as(parseFdinfo(CAPTURED.pidfd), 'pidfd'), { Pid: 6205, NSpid: [6205] });
  t.match(as(parseFdinfo(CAPTURED.userfaultfd), 'userfaultfd'), { pending: 0, total: 0, API: 'aa:0:80000000000001ff' });
  t.match(as(parseFdinfo(CAPTURED.tty), 'tty'), { tty_index: 0 });
});

t.test('malformed fdinfo names the file and line', async (t) => {
  t.throws(() => parseFdinfo(CAPTURED.file.replace('0100001', '0109'), { source: '/proc/1/fdinfo/3' }), {
    code: 'EPROCFORMAT', message: /^\/proc\/1\/fdinfo\/3 line 2: flags is not an octal number/,
  });
  t.throws(() => parseFdinfo(CAPTURED.epoll.replace('ino:3623', 'ino:zz')), { message: /^fdinfo line 6: ino is not a hex number/ });
  t.throws(() => parseFdinfo(CAPTURED.lock.replace('fe:00:2172312', 'fe-00')), { message: /line 5: not a lock line/ });
  t.throws(() => parseFdinfo('flags:\t02\n'), { message: /no pos line/ });
  t.throws(() => parseFdinfo(CAPTURED.inotify.replace('fhandle-bytes:8', 'fhandle-bytes:9')), { message: /f_handle does not match fhandle-bytes/ });
});

t.test('live: node\'s own epoll sets and eventfds, the socket a child reads', async (t) => {
  const sleep = await startSleep(t);
  const fds = listFds(process.pid);
  const epolls = fds.filter((f) => f.target.kind === 'anon_inode' && f.target.anon === 'epoll');
  const eventfds = fds.filter((f) => f.target.kind === 'anon_inode' && f.target.anon === 'eventfd').map((f) => f.fd);
  t.ok(epolls.length > 0 && eventfds.length > 0, 'node has epoll sets and eventfds');
  const targets = epolls.flatMap((f) => as(readFdinfo(process.pid, f.fd, 'epoll'), 'epoll').targets.map((x) => x.tfd));
  t.ok(eventfds.some((fd) => targets.includes(fd)), 'libuv watches an eventfd');
  t.equal(readFdinfo(process.pid, eventfds[0]).kind, 'eventfd');
  const link = readFdLink(sleep.pid, 0);
  const stdin = readFdinfo(sleep.pid, 0);
  t.equal(link.target.kind, 'socket', 'node hands a child its stdin as a socket');
  t.same(link.target, { kind: 'socket', inode: stdin.ino }, 'link and fdinfo agree on the inode');
  t.match(stdin, { kind: 'plain', pos: 0n, flags: 0o2 });
});
