import t from 'tap';
import { parseTimers, readTimers } from './timers.js';
import { startSleep } from './live-task.fixture.js';

// captured on this machine: /proc/PID/timers of a C program with one timer
const CAPTURED = 'ID: 0\nsignal: 12/0000000000000000\nnotify: signal/pid.6205\nClockID: 0\n';

t.test('captured timers', async (t) => {
  t.same(parseTimers(CAPTURED), [{ ID: 0, signal: 12, sigev_value: 0n, notify: 'signal', thread_id: false, notify_pid: 6205, ClockID: 0 }]);
  const two = `${CAPTURED}ID: 3\nsignal: 14/00007ffc0000abcd\nnotify: signal/tid.6207\nClockID: 1\n`;
  t.match(parseTimers(two)[1], { ID: 3, signal: 14, sigev_value: 0x7ffc0000abcdn, thread_id: true, notify_pid: 6207, ClockID: 1 });
  t.same(parseTimers(''), []);
});

t.test('malformed timers name the line', async (t) => {
  t.throws(() => parseTimers(CAPTURED.replace('notify: signal/pid.6205', 'notify: signal'), '/proc/1/timers'), {
    code: 'EPROCFORMAT', message: /^\/proc\/1\/timers line 3: notify is not/,
  });
  t.throws(() => parseTimers('ID: 0\n'), { message: /blocks of 4 lines/ });
  t.throws(() => parseTimers(CAPTURED.replace('ClockID', 'Clock')), { message: /line 4: want a ClockID: line/ });
});

t.test('live: a sleep has no POSIX timers', async (t) => {
  const sleep = await startSleep(t);
  t.same(readTimers(sleep.pid), []);
});
