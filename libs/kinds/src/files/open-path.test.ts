// openExpecting: an image-supplied path is opened only once the object there
// is of the type dumped, and never in a way that waits (a FIFO with no peer).
import { closeSync, fstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { F, O, fcntl } from '@criu-ts/kernel';
import { openExpecting } from './open-path.js';

const REG = 0o100644;
const DIR = 0o040755;
const FIFO = 0o010600;

t.test('openExpecting checks the type before it opens, and never blocks on a FIFO', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-open-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'file');
  writeFileSync(file, 'contents');
  mkdirSync(join(dir, 'sub'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);

  const fd = openExpecting(file, O.WRONLY | O.APPEND, REG);
  t.equal(readlinkSync(`/proc/self/fd/${fd}`), file, 'a regular file is opened at its path');
  t.equal(fcntl(fd, F.GETFL) & (O.ACCMODE | O.APPEND), O.WRONLY | O.APPEND, 'with the saved flags');
  t.equal(fcntl(fd, F.GETFL) & O.PATH, 0, 'not as an O_PATH fd');
  closeSync(fd);
  const trunc = openExpecting(file, O.RDWR | O.TRUNC | O.CREAT, REG);
  t.equal(fstatSync(trunc).size, 8, 'O_TRUNC from an image is not passed on');
  closeSync(trunc);

  t.throws(() => openExpecting(file, O.RDONLY, DIR), { code: 'ESTALE', message: `${file} is a regular file now, a directory when dumped` });
  t.throws(() => openExpecting(join(dir, 'fifo'), O.RDONLY, REG), { code: 'ESTALE', message: /is a FIFO now, a regular file when dumped/ });
  t.throws(() => openExpecting(join(dir, 'fifo'), O.WRONLY, undefined), { code: 'EINVAL', message: /is a FIFO: opening it .* would wait for a peer/ });
  t.throws(() => openExpecting(join(dir, 'fifo'), O.RDONLY, FIFO), { code: 'EINVAL' }, 'a blocking read open of a FIFO, even one dumped as a FIFO');
  const fifo = openExpecting(join(dir, 'fifo'), O.RDONLY | O.NONBLOCK, FIFO);
  t.ok(fstatSync(fifo).isFIFO(), 'a FIFO opened O_NONBLOCK');
  closeSync(fifo);
  t.throws(() => openExpecting(join(dir, 'missing'), O.RDONLY, REG), { code: 'ENOENT' });
  const sub = openExpecting(join(dir, 'sub'), O.RDONLY | O.DIRECTORY, DIR);
  t.ok(fstatSync(sub).isDirectory(), 'a directory');
  closeSync(sub);
  t.end();
});
