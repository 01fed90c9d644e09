import t from 'tap';
import { chooseTrampolineSite } from './trampoline-site.js';

const BIN = '55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 260875                     /usr/bin/sleep';
const TEXT = '55d0c0a02000-55d0c0a06000 r-xp 00002000 fe:00 260875                     /usr/bin/sleep';
const LDSO = '7f1a2b3c4000-7f1a2b3ea000 r-xp 00000000 fe:00 338944                     /usr/lib/ld.so';
const SHARED = '7f0000000000-7f0000001000 r-xs 00000000 fe:00 12                         /tmp/shared-code';
const VDSO = '7ffd1a5f0000-7ffd1a5f2000 r-xp 00000000 00:00 0                          [vdso]';
const VSYSCALL = 'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]';

t.test('the vDSO is preferred', async (t) => {
  t.same(chooseTrampolineSite([BIN, TEXT, LDSO, VDSO, VSYSCALL].join('\n'), 1), { addr: 0x7ffd1a5f0000n, mapping: '[vdso]' });
});

t.test('without a vDSO: a private exec mapping at offset 0, else the first one; never shared', async (t) => {
  t.same(chooseTrampolineSite([SHARED, BIN, TEXT, LDSO].join('\n'), 1), { addr: 0x7f1a2b3c4000n, mapping: '/usr/lib/ld.so' });
  t.same(chooseTrampolineSite([SHARED, BIN, TEXT].join('\n'), 1), { addr: 0x55d0c0a02000n, mapping: '/usr/bin/sleep' });
  t.throws(() => chooseTrampolineSite([SHARED, BIN, VSYSCALL].join('\n'), 7), { code: 'EUNSUPPORTED', pid: 7 });
});
