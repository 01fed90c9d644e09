// The property table and --cgroup-props's simplified YAML.
import t from 'tap';
import { applyPropsSpec, propTable } from './cgroup-props.js';

t.test('built-in lists are upstream\'s', (t) => {
  const table = propTable();
  t.same(table.get('pids'), ['pids.max']);
  t.equal(table.get('memory')![0], 'memory.limit_in_bytes');
  t.same(table.get('freezer'), []);
  t.end();
});

t.test('--cgroup-props replaces or merges a controller\'s list', (t) => {
  const spec = `"cpu":
 - "strategy": "replace"
 - "properties": ["cpu.shares", "cpu.cfs_period_us"]
"pids":
 - "strategy": "merge"
 - "properties": [ "pids.events" ]
"net_cls":
 - "strategy": "replace"
 - "properties": []
`;
  const table = applyPropsSpec(propTable(), spec);
  t.same(table.get('cpu'), ['cpu.shares', 'cpu.cfs_period_us']);
  t.same(table.get('pids'), ['pids.max', 'pids.events']);
  t.same(table.get('net_cls'), []);
  t.end();
});

t.test('a bad spec is refused by name', (t) => {
  t.throws(() => applyPropsSpec(new Map(), '"cpu":\n - "strategy": "mix"\n - "properties": []\n'), /unknown strategy "mix" for controller cpu/);
  t.throws(() => applyPropsSpec(new Map(), '"cpu": - "properties": []'), /--cgroup-props: expected 'strategy'/);
  t.throws(() => applyPropsSpec(new Map(), '"cpu'), /unterminated quote/);
  t.end();
});
