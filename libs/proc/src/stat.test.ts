import t from 'tap';
import { parseStat, readStat } from './stat.js';
import { startSleep } from './live-task.fixture.js';

// captured on this machine: /proc/PID/stat of a small C test program
const CAPTURED =
  '6205 (kinds) S 1 6195 4139 0 -1 4194560 115 0 0 0 0 0 0 0 20 0 1 0 35914 2535424 309 18446744073709551615 ' +
  '94485359751168 94485359752637 140723835040560 0 0 0 0 6 0 1 0 0 17 0 0 0 0 0 0 94485359762896 94485359763664 ' +
  '94485474336768 140723835042347 140723835042355 140723835042355 140723835043824 0\n';

t.test('captured stat: all 52 fields by their proc(5) names', async (t) => {
  const s = parseStat(CAPTURED);
  t.match(s, {
    pid: 6205, comm: 'kinds', state: 'S', ppid: 1, pgrp: 6195, session: 4139, tty_nr: 0, tpgid: -1,
    flags: 4194560, minflt: 115, utime: 0, priority: 20, nice: 0, num_threads: 1, itrealvalue: 0,
    starttime: 35914, vsize: 2535424n, rss: 309, rsslim: 18446744073709551615n,
    startcode: 94485359751168n, endcode: 94485359752637n, startstack: 140723835040560n,
    signal: 0n, blocked: 0n, sigignore: 6n, sigcatch: 0n, wchan: 1n, exit_signal: 17, processor: 0,
    rt_priority: 0, policy: 0, start_data: 94485359762896n, end_data: 94485359763664n,
    start_brk: 94485474336768n, arg_start: 140723835042347n, arg_end: 140723835042355n,
    env_start: 140723835042355n, env_end: 140723835043824n, exit_code: 0,
  });
  t.equal(Object.keys(s).length, 52);
});

t.test('comm with spaces and parentheses: the last ")" ends it', async (t) => {
  const s = parseStat(CAPTURED.replace('(kinds)', '(a) (b) S 1 (c)'));
  t.equal(s.comm, 'a) (b) S 1 (c');
  t.equal(s.state, 'S');
  t.equal(s.ppid, 1);
  t.equal(s.exit_code, 0);
  t.equal(parseStat(CAPTURED.replace('(kinds)', '()')).comm, '');
  t.equal(parseStat(CAPTURED.replace('(kinds)', '(x\ny) )')).comm, 'x\ny) ');
});

t.test('malformed stat names the file', async (t) => {
  t.throws(() => parseStat('6205 kinds S 1', '/proc/6205/stat'), { code: 'EPROCFORMAT', message: /^\/proc\/6205\/stat line 1: no "\(comm\)" field/ });
  t.throws(() => parseStat(CAPTURED.replace(' 35914 ', ' 3591x ')), { message: /starttime is not a decimal number/ });
  t.throws(() => parseStat(CAPTURED.replace(/ 0\n$/, '\n')), { message: /51 fields, want at least 52/ });
});

t.test('live: a sleep, and our own stat', async (t) => {
  const sleep = await startSleep(t);
  const s = readStat(sleep.pid);
  t.match(s, { pid: sleep.pid, comm: 'sleep', state: 'S', ppid: process.pid, num_threads: 1 });
  t.ok(s.arg_start < s.arg_end && s.arg_end <= s.env_start, 'argument area before environment');
  t.equal(readStat(sleep.pid, sleep.pid).pid, sleep.pid);
  const own = readStat(process.pid);
  t.equal(own.comm, 'node');
  t.ok(own.num_threads > 1, 'node has threads');
});
