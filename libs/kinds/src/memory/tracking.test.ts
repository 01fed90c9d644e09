import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { sharingFdTables } from './tracking.js';

t.test('sharingFdTables: the tasks on one fd table, by kcmp KCMP_FILES', async (t) => {
  // node's own threads share its table; two children have one each
  const children = [0, 1].map(() => spawn('sleep', ['30'], { stdio: 'ignore' }));
  t.teardown(() => children.forEach((child) => child.kill('SIGKILL')));
  const tid = Number(readdirSync('/proc/self/task').find((name) => Number(name) !== process.pid));
  t.ok(tid > 0, 'node has another thread');
  const [a, b] = children.map((child) => child.pid!);
  t.same([...sharingFdTables([a!, process.pid, b!, tid])].sort(), [process.pid, tid].sort());
  t.same([...sharingFdTables([a!, b!])], [], 'none shared');
  t.same([...sharingFdTables([])], []);
});
