import t from 'tap';
import { formatLine, LogLevel, type LogSink } from './log.js';

const sink = (level: number): LogSink => ({ fd: 2, level, withPid: false, start: process.hrtime.bigint() });

t.test('errors and warnings carry the prefixes scripts grep for', async (t) => {
  t.equal(formatLine(sink(2), LogLevel.error, 'dump', 'boom'), 'Error (dump): boom\n');
  t.equal(formatLine(sink(2), LogLevel.warn, 'dump', 'hmm'), 'Warn  (dump): hmm\n');
  t.equal(formatLine(sink(2), LogLevel.info, 'dump', 'hi'), 'hi\n');
});

t.test('timestamps appear from level 3 up', async (t) => {
  t.match(formatLine(sink(3), LogLevel.info, 'dump', 'hi'), /^\(\d{2}\.\d{6}\) hi\n$/);
  t.match(formatLine(sink(4), LogLevel.debug, 'dump/vma', 'x'), /^\(\d{2}\.\d{6}\) dump\/vma: x\n$/);
});

t.test('a message cannot forge a line: control characters escaped, more lines indented', async (t) => {
  t.equal(formatLine(sink(2), LogLevel.error, 'criu', 'open /tmp/a\rb\x1b[2J: ENOENT'), 'Error (criu): open /tmp/a\\x0db\\x1b[2J: ENOENT\n');
  t.equal(formatLine(sink(2), LogLevel.error, 'criu', 'bad name x\nError (criu): forged'), 'Error (criu): bad name x\n  Error (criu): forged\n');
  t.equal(formatLine(sink(2), LogLevel.warn, 'criu', 'tab\tkept, NUL\0 shown'), 'Warn  (criu): tab\tkept, NUL\\x00 shown\n');
});
