import t from 'tap';
import { SyscallError } from '@criu-ts/base';
import { parseMaps, readMaps } from './maps.js';
import { killTask, startSleep, thrown } from './live-task.fixture.js';

// captured on this machine: `cat /proc/self/maps` (shortened)
const CAPTURED = `558215dac000-558215dae000 r--p 00000000 fe:00 260131                     /usr/bin/cat
558215dae000-558215db3000 r-xp 00002000 fe:00 260131                     /usr/bin/cat
558228836000-558228857000 rw-p 00000000 00:00 0                          [heap]
7f9615696000-7f96156b8000 rw-p 00000000 00:00 0 
7f96158fe000-7f9615905000 r--s 00000000 fe:00 338846                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache
7f9615908000-7f961590c000 r--p 00000000 00:00 0                          [vvar]
7f961590c000-7f961590e000 r--p 00000000 00:00 0                          [vvar_vclock]
7f961590e000-7f9615910000 r-xp 00000000 00:00 0                          [vdso]
7ffce14dd000-7ffce14fe000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

t.test('captured maps: fields, bigint addresses and special names', async (t) => {
  const maps = parseMaps(CAPTURED);
  t.equal(maps.length, 10);
  t.match(maps[1], {
    start: 0x558215dae000n, end: 0x558215db3000n, perms: 'r-xp', read: true, write: false, exec: true,
    shared: false, offset: 0x2000n, major: 0xfe, minor: 0, inode: 260131, path: '/usr/bin/cat', deleted: false, kind: 'file',
  });
  t.same(maps.map((m) => m.kind), ['file', 'file', 'heap', 'anon', 'file', 'vvar', 'vvar_vclock', 'vdso', 'stack', 'vsyscall']);
  t.equal(maps[3].path, '');
  t.equal(maps[4].shared, true);
  t.equal(maps[9].end, 0xffffffffff601000n, 'addresses above 2^53 stay exact');
});

t.test('paths with spaces, (deleted), memfd, shared anon, SysV and named anon', async (t) => {
  const text = [
    '7f0000000000-7f0000001000 rw-s 00000000 fe:00 2172313                    /tmp/h4cap/gone file (deleted)',
    '7f0000001000-7f0000002000 r--p 00001000 fe:00 2172314                    /tmp/a dir/file with  spaces ',
    '7f0000002000-7f0000003000 rw-s 00000000 00:01 24                         /memfd:my mem (deleted)',
    '7f0000003000-7f0000005000 rw-s 00000000 00:01 5120                       /dev/zero (deleted)',
    '7f0000005000-7f0000006000 rw-s 00000000 00:01 65538                      /SYSV0000abcd (deleted)',
    '7f0000006000-7f0000007000 rw-p 00000000 00:00 0                          [anon:v8 heap]',
    '7f0000007000-7f0000008000 rw-p 00000000 00:00 0                          [uprobes]',
    '',
  ].join('\n');
  const maps = parseMaps(text);
  t.match(maps[0], { path: '/tmp/h4cap/gone file', deleted: true, kind: 'file', shared: true });
  t.match(maps[1], { path: '/tmp/a dir/file with  spaces ', deleted: false, kind: 'file' });
  t.match(maps[2], { path: '/memfd:my mem', deleted: true, kind: 'memfd' });
  t.match(maps[3], { path: '/dev/zero', deleted: true, kind: 'shared-anon', major: 0, minor: 1 });
  t.match(maps[4], { kind: 'sysv-shm' });
  t.match(maps[5], { path: '[anon:v8 heap]', kind: 'named-anon' });
  t.match(maps[6], { kind: 'special' });
});

t.test('a malformed line names the file and the line', async (t) => {
  const text = `${CAPTURED.split('\n')[0]}\n7f00-zz rw-p 00000000 00:00 0\n`;
  t.throws(() => parseMaps(text, '/proc/42/maps'), { code: 'EPROCFORMAT', message: /^\/proc\/42\/maps line 2: not a maps line/ });
});

t.test('live: our own maps and a sleep', async (t) => {
  const own = readMaps(process.pid);
  t.ok(own.some((m) => m.kind === 'vdso'), 'node has a [vdso]');
  t.ok(own.some((m) => m.kind === 'stack'), 'node has a [stack]');
  t.ok(own.every((m) => m.start < m.end), 'every VMA is non-empty');
  const sleep = await startSleep(t);
  const maps = readMaps(sleep.pid);
  t.ok(maps.some((m) => m.kind === 'file' && m.exec && m.path.endsWith('/sleep')), 'sleep maps its binary executable');
  const tidMaps = readMaps(sleep.pid, sleep.pid);
  t.equal(tidMaps.length, maps.length, 'task/TID/maps reads the same');
});

t.test('live: a task that is gone gives ENOENT naming pid and file', async (t) => {
  const sleep = await startSleep(t);
  await killTask(sleep.child);
  const error = thrown(() => readMaps(sleep.pid));
  t.ok(error instanceof SyscallError, 'a SyscallError');
  t.match(error, { code: 'ENOENT', errno: 2, pid: sleep.pid, path: `/proc/${sleep.pid}/maps`, message: /pid \d+ \/proc\/\d+\/maps: No such file or directory \(ENOENT\)$/ });
});
