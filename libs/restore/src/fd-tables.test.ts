import t from 'tap';
import { planFdTables } from './fd-tables.js';

const task = (pid: number, ppid: number, filesId?: number): { pid: number; ppid: number; filesId?: number } => ({ pid, ppid, ...(filesId === undefined ? {} : { filesId }) });

t.test('a chain of parents on one table: every sharer names the topmost as the owner', (t) => {
  const owners = planFdTables([task(10, 1, 5), task(11, 10, 5), task(12, 11, 5), task(13, 10, 6), task(14, 13, 6), task(15, 11, 7)]);
  t.same([...owners], [[11, 10], [12, 10], [14, 13]]);
  t.end();
});

t.test('tasks of their own, zombies and images without ids share nothing', (t) => {
  t.same([...planFdTables([task(10, 1, 5), task(11, 10, 6), task(12, 10), task(13, 12, 7)])], []);
  t.end();
});

t.test('a table shared with a task that is not the parent is refused, naming both', (t) => {
  // a child of 10 cloned with CLONE_PARENT|CLONE_FILES by its sibling 11
  t.throws(() => planFdTables([task(10, 1, 5), task(11, 10, 6), task(12, 10, 6)]), { message: 'pid 12: an fd table (files_id 6) shared with pid 11, which is not its parent is not supported' });
  // the grandparent's table, its parent having one of its own
  t.throws(() => planFdTables([task(10, 1, 5), task(11, 10, 6), task(12, 11, 5)]), { message: /pid 12: .*shared with pid 10, which is not its parent/ });
  t.end();
});
