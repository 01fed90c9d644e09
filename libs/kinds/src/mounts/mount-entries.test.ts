import t from 'tap';
import { parseMountinfo } from '@criu-ts/proc';
import { AUTODETECTED_MOUNT, mountEntries, parseMountExternals, type MountDumpOptions } from './mount-entries.js';
import { MS } from './mount-flags.js';

// captured: python3 under `unshare -m`, shortened
const NS = `47 45 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
49 47 0:21 / /proc rw,relatime - proc proc rw
67 47 0:40 / /mnt/T rw,relatime - tmpfs x rw,size=4096k,mode=755
69 47 0:40 /sub /mnt/RO ro,nosuid,relatime - tmpfs x rw,size=4096k,mode=755
70 47 0:42 / /mnt/S1 rw shared:1 - tmpfs y rw
71 47 0:42 / /mnt/S2 rw,noatime master:1 - tmpfs y ro,sync
72 47 0:21 /sys /mnt/P rw,relatime unbindable - proc proc rw
`;
const OURS = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
22 27 0:21 / /proc rw,relatime - proc proc rw
`;

const options = (more: Partial<MountDumpOptions> = {}): MountDumpOptions => ({
  externals: new Map(), autoDetect: false, externalSharing: false, externalMasters: false, enableFs: [], skip: [], ...more,
});

t.test('entries as upstream writes them: flags, sb flags, options, sharing, reverse order', async (t) => {
  const entries = mountEntries(parseMountinfo(NS), [], options());
  t.same(entries.map((e) => e.mnt_id), [72, 71, 70, 69, 67, 49, 47], 'the reverse of mountinfo\'s order');
  const ro = entries.find((e) => e.mnt_id === 69)!;
  t.equal(ro.flags, MS.RDONLY | MS.NOSUID | MS.RELATIME, 'per-mount flags');
  t.equal(ro.root, '/sub');
  t.equal(ro.options, 'size=4096k,mode=755', 'rw taken out of the super options');
  t.equal(ro.root_dev, 40, 'kernel dev encoding');
  const slave = entries.find((e) => e.mnt_id === 71)!;
  t.equal(slave.flags, MS.NOATIME | MS.SLAVE);
  t.equal(slave.master_id, 1);
  t.equal(slave.sb_flags, MS.RDONLY | MS.SYNCHRONOUS, 'sb flags');
  const shared = entries.find((e) => e.mnt_id === 70)!;
  t.equal(shared.flags, MS.STRICTATIME | MS.SHARED, 'no atime option: strictatime');
  t.equal(shared.shared_id, 1);
  t.equal(entries.find((e) => e.mnt_id === 72)!.flags & MS.UNBINDABLE, MS.UNBINDABLE);
  t.equal(entries.find((e) => e.mnt_id === 47)!.fstype, 0, 'ext4: unsupported (restored from --root)');
});

t.test('externals, auto-detection, --skip-mnt, --enable-fs', async (t) => {
  const byKey = mountEntries(parseMountinfo(NS), [], options({ externals: new Map([['/mnt/T', 'tee']]) }));
  t.equal(byKey.find((e) => e.mnt_id === 67)!.ext_key, 'tee');
  const auto = mountEntries(parseMountinfo(NS), parseMountinfo(OURS), options({ autoDetect: true }));
  const proc = auto.find((e) => e.mnt_id === 49)!;
  t.equal(proc.ext_key, AUTODETECTED_MOUNT);
  t.equal(proc.source, '/proc');
  t.equal(auto.find((e) => e.mnt_id === 67)!.ext_key, undefined, 'a tmpfs of its own is not external');
  t.equal(auto.find((e) => e.mnt_id === 47)!.ext_key, undefined, 'the root never is');
  const skipped = mountEntries(parseMountinfo(NS), [], options({ skip: ['/mnt/S1/'] }));
  t.notOk(skipped.some((e) => e.mnt_id === 70));
  t.equal(mountEntries(parseMountinfo(NS), [], options({ enableFs: ['ext4'] })).find((e) => e.mnt_id === 47)!.fsname, 'ext4');
});

t.test('--external and --ext-mount-map parsing', async (t) => {
  const p = parseMountExternals(['mnt[/a]:k', 'mnt[]:m', 'unix[1]'], ['k2:/x', 'auto']);
  t.same([...p.map], [['/a', 'k'], ['k2', '/x']]);
  t.ok(p.auto);
  t.ok(p.masters);
  t.throws(() => parseMountExternals(['mnt[/a]'], []), /needs a value/);
});
