import t from 'tap';
import { TtyType } from '@criu-ts/images';
import { classifyTty, indexOfInfoId, peerInfoId, ttyInfoId, type TtyClass } from './tty-driver.js';
import { controlChars, termiosFromBytes } from './tty-ioctls.js';

const driverOf = (c: TtyClass): string | undefined => (c !== undefined && 'driver' in c ? c.driver.name : undefined);

t.test('device numbers map to CRIU\'s tty drivers', async (t) => {
  t.equal(driverOf(classifyTty(5, 2)), 'ptmx', '/dev/ptmx');
  t.equal(driverOf(classifyTty(128, 7)), 'ptmx', 'unix98 master major');
  t.equal(driverOf(classifyTty(136, 3)), 'pts', '/dev/pts/3');
  t.equal(driverOf(classifyTty(5, 1)), 'console');
  t.equal(driverOf(classifyTty(5, 0)), 'ctty', '/dev/tty');
  t.equal(driverOf(classifyTty(4, 1)), 'vt', '/dev/tty1');
  t.equal(driverOf(classifyTty(4, 63)), 'vt', '/dev/tty63');
  t.match(classifyTty(4, 64), { refused: /serial/ }, '/dev/ttyS0');
  t.match(classifyTty(4, 0), { refused: /tty0/ });
  t.match(classifyTty(2, 0), { refused: /BSD/ });
  t.match(classifyTty(188, 0), { refused: /USB serial/ });
  t.equal(classifyTty(1, 3), undefined, '/dev/null is no terminal');
  t.equal(classifyTty(5, 3), undefined, 'other ttyaux minors are not terminals CRIU knows');
});

t.test('tty-info ids: index * 2, masters odd, fixed indices for single terminals', async (t) => {
  const pick = (major: number, minor: number) => {
    const c = classifyTty(major, minor);
    if (c === undefined || !('driver' in c)) throw new Error('no driver');
    return c.driver;
  };
  t.equal(ttyInfoId(pick(136, 4), 4), 8, 'slave of pts 4');
  t.equal(ttyInfoId(pick(5, 2), 4), 9, 'its master');
  t.equal(peerInfoId(8), 9);
  t.equal(peerInfoId(9), 8);
  t.equal(indexOfInfoId(9), 4);
  t.equal(ttyInfoId(pick(5, 1), pick(5, 1).index ?? -1), 2004, 'console: CRIU\'s index 1002');
  t.equal(ttyInfoId(pick(4, 2), pick(4, 2).index ?? -1), 2008, 'vt: 1004');
  t.equal(ttyInfoId(pick(5, 0), pick(5, 0).index ?? -1), 2012, 'ctty: 1006');
  t.equal(pick(136, 0).type, TtyType.PTY);
  t.equal(pick(5, 0).type, TtyType.CTTY);
});

t.test('termios as CRIU stores it: glibc c_cc packed four to a word', async (t) => {
  const buf = Buffer.alloc(60);
  buf.writeUInt32LE(0x500, 0);
  buf.writeUInt32LE(0x5, 4);
  buf.writeUInt32LE(0xbf, 8);
  buf.writeUInt32LE(0x8a3b, 12);
  buf[16] = 0; // N_TTY
  const cc = [3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0xff, 0x12, 0x0f, 0x17, 0x16, 0xff, 0, 0];
  Buffer.from(cc).copy(buf, 17);
  const entry = termiosFromBytes(buf);
  t.match(entry, { c_iflag: 0x500, c_oflag: 5, c_cflag: 0xbf, c_lflag: 0x8a3b, c_line: 0, c_ispeed: 0, c_ospeed: 0 });
  t.equal(entry.c_cc?.length, 19, 'TERMIOS_NCC words');
  t.equal(entry.c_cc?.[0], 0x157f1c03, 'VINTR VQUIT VERASE VKILL in the first word');
  t.equal(entry.c_cc?.[1], 0x00010004, 'VEOF VTIME VMIN VSWTC');
  t.strictSame(entry.c_cc?.slice(5), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'glibc c_cc[19..31] and the words past 8 are zero');
  t.strictSame(controlChars(entry), cc, 'the control characters read back');
});
