import t from 'tap';
import { parseMountinfo, readMountinfo } from './mountinfo.js';

// captured on this machine: /proc/self/mountinfo (shortened)
const CAPTURED = `22 27 0:21 / /proc rw,relatime - proc proc rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334492k,nr_inodes=3083623,mode=755
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

t.test('captured mountinfo', async (t) => {
  const mounts = parseMountinfo(CAPTURED);
  t.equal(mounts.length, 5);
  t.match(mounts[2], {
    mount_id: 27, parent_id: 1, major: 254, minor: 0, root: '/', mount_point: '/', fstype: 'ext4', source: '/dev/vda',
    optional: [], shared: undefined, master: undefined, propagate_from: undefined, unbindable: false,
  });
  t.same(mounts[2].super_options, ['rw', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534']);
  t.same(mounts[3].mount_options, ['ro', 'nosuid', 'nodev', 'relatime']);
});

t.test('optional fields and octal escapes', async (t) => {
  const text = [
    '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
    '37 36 0:40 /my\\040dir /mnt/a\\040b\\011c\\134d rw shared:5 master:2 propagate_from:9 - fuse.sshfs user@host:/x\\040y rw,user_id=0',
    '38 36 0:41 / /u rw unbindable - tmpfs  rw,opt=a\\054b',
    '',
  ].join('\n');
  const [a, b, c] = parseMountinfo(text);
  t.match(a, { master: 1, shared: undefined, root: '/mnt1', mount_point: '/mnt2' });
  t.match(b, {
    root: '/my dir', mount_point: '/mnt/a b\tc\\d', shared: 5, master: 2, propagate_from: 9,
    fstype: 'fuse.sshfs', source: 'user@host:/x y', optional: ['shared:5', 'master:2', 'propagate_from:9'],
  });
  t.match(c, { unbindable: true, source: '' });
  t.same(c.super_options, ['rw', 'opt=a,b'], 'an escaped comma splits no option');
});

t.test('malformed mountinfo names the file and line', async (t) => {
  t.throws(() => parseMountinfo(`${CAPTURED}42 41 0:1 / /x rw shared:1 ext4 /dev/x rw\n`, '/proc/1/mountinfo'), {
    code: 'EPROCFORMAT', message: /^\/proc\/1\/mountinfo line 6: not a mountinfo line/,
  });
  t.throws(() => parseMountinfo('42 41 0:1 / /x rw shared:x - ext4 /dev/x rw\n'), { message: /line 1: shared is not a decimal number/ });
});

t.test('live: our mount namespace has a root mount', async (t) => {
  const mounts = readMountinfo(process.pid);
  const root = mounts.find((m) => m.mount_point === '/');
  t.ok(root, 'a mount on /');
  t.ok(mounts.some((m) => m.fstype === 'proc'), 'proc is mounted');
  t.ok(mounts.every((m) => m.mount_id > 0));
});
