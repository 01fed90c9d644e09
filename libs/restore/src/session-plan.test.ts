import t from 'tap';
import { planSessions } from './session-plan.js';

const ctx = { shellJob: false, toolSid: 100, toolPgid: 101 };

t.test('session leaders call setsid; members keep their parent\'s session', (t) => {
  const plan = planSessions(
    [
      { pid: 10, ppid: 1, pgid: 10, sid: 10 },
      { pid: 11, ppid: 10, pgid: 10, sid: 10 },
      { pid: 12, ppid: 10, pgid: 12, sid: 10 },
      { pid: 13, ppid: 12, pgid: 12, sid: 10 },
    ],
    ctx,
  );
  t.same([...plan.setsid], [10]);
  t.same([...plan.pgid], [[10, 10], [11, 10], [12, 12], [13, 12]]);
  t.same([...plan.orphans], []);
  t.end();
});

t.test('a group whose leader is gone gets a stand-in, made by its first member', (t) => {
  const plan = planSessions(
    [
      { pid: 10, ppid: 1, pgid: 10, sid: 10 },
      { pid: 11, ppid: 10, pgid: 15, sid: 10 },
      { pid: 12, ppid: 10, pgid: 15, sid: 10 },
    ],
    ctx,
  );
  t.same([...plan.orphans], [[15, 11]]);
  t.end();
});

t.test('an external session needs --shell-job, which maps it to criu\'s', (t) => {
  const tasks = [
    { pid: 10, ppid: 1, pgid: 10, sid: 5 },
    { pid: 11, ppid: 10, pgid: 10, sid: 5 },
  ];
  t.throws(() => planSessions(tasks, ctx), /^pid \d+, the root task, is not a session leader: its session \d+ \(pstree.img\) was outside the dumped tree/);
  const plan = planSessions(tasks, { ...ctx, shellJob: true });
  t.same([...plan.setsid], []);
  t.same([...plan.pgid], [[10, 10], [11, 10]]);
  const inShellGroup = planSessions([{ pid: 10, ppid: 1, pgid: 7, sid: 5 }], { ...ctx, shellJob: true });
  t.same([...inShellGroup.pgid], [[10, 101]], "the root's shell group becomes criu's group");
  t.same([...inShellGroup.orphans], []);
  t.end();
});

t.test('a session that cannot be had is refused with the pids named', (t) => {
  const tasks = [
    { pid: 10, ppid: 1, pgid: 10, sid: 10 },
    { pid: 11, ppid: 10, pgid: 11, sid: 11 },
    { pid: 12, ppid: 11, pgid: 10, sid: 10 },
  ];
  t.throws(() => planSessions(tasks, ctx), /pid 12 is in session 10, but its parent 11 is in session 11/);
  t.throws(() => planSessions([{ pid: 10, ppid: 1, pgid: 9, sid: 10 }], ctx), /leads session 10 but is in group 9/);
  t.end();
});
