// Parsing cgroup files and naming hierarchies, against captured text.
import t from 'tap';
import { hierarchyDirName, hierarchyMatches, isSubpath, parseCgroupFile, parseHierarchies, sameSet } from './cgroup-file.js';
import { parseCgroupRoot, rootFor } from './cgroup-options.js';
import { setPrefixes } from './cgroup-dump.js';

// this machine's /proc/self/cgroup: v1 controllers, named hierarchies and the v2 one
const HYBRID = `11:name=zdtmtst.defaultroot:/
9:name=systemd:/
8:pids:/criu-ts-test
4:memory:/process_api/192e
2:cpu,cpuacct:/a/b
0::/
`;

t.test('a cgroup file becomes members sorted by name', (t) => {
  const members = parseCgroupFile(HYBRID);
  t.same(members.map((m) => m.name), ['', 'cpu,cpuacct', 'memory', 'name=systemd', 'name=zdtmtst.defaultroot', 'pids']);
  t.same(members.find((m) => m.name === 'cpu,cpuacct'), { name: 'cpu,cpuacct', path: '/a/b', cgnsPrefix: 0 });
  t.same(parseCgroupFile(HYBRID, (name) => name !== 'pids').map((m) => m.name), ['pids'], '--cgroup-dump-controller keeps only the named');
  t.throws(() => parseCgroupFile('garbage\n'), /cannot parse line 'garbage'/);
  t.end();
});

t.test('hierarchies come in the file\'s order, without named ones', (t) => {
  t.same(parseHierarchies(HYBRID), [['pids'], ['memory'], ['cpu', 'cpuacct'], ['']]);
  t.end();
});

t.test('matching a member to its hierarchy, and the names of hierarchy dirs', (t) => {
  t.ok(hierarchyMatches(['cpu', 'cpuacct'], 'cpu,cpuacct'));
  t.notOk(hierarchyMatches(['cpu', 'cpuacct'], 'cpu'));
  t.ok(hierarchyMatches([''], ''));
  t.notOk(hierarchyMatches([''], 'pids'));
  t.notOk(hierarchyMatches(['cpu'], 'cpuset'), 'no prefix match');
  t.equal(hierarchyDirName(['cpu', 'cpuacct']), 'cpu,cpuacct');
  t.equal(hierarchyDirName(['name=systemd']), 'systemd');
  t.equal(hierarchyDirName(['']), 'unified');
  t.end();
});

t.test('subpaths and sets', (t) => {
  t.ok(isSubpath('/a/b', '/a'));
  t.ok(isSubpath('/a', '/'));
  t.ok(isSubpath('/a', '/a'));
  t.notOk(isSubpath('/ab', '/a'));
  const a = parseCgroupFile(HYBRID);
  const b = parseCgroupFile(HYBRID);
  t.ok(sameSet(a, b));
  b[0]!.cgnsPrefix = 3;
  t.notOk(sameSet(a, b), 'a different cgns prefix is another set');
  t.end();
});

t.test('--cgroup-root values', (t) => {
  t.same(parseCgroupRoot('/new'), { path: '/new' });
  t.same(parseCgroupRoot('cpu,cpuacct:/new'), { controller: 'cpu,cpuacct', path: '/new' });
  const roots = [parseCgroupRoot('/all'), parseCgroupRoot('pids:/p')];
  t.equal(rootFor(roots, 'pids'), '/p');
  t.equal(rootFor(roots, 'memory'), '/all');
  t.equal(rootFor(undefined, 'memory'), undefined);
  t.end();
});

t.test('cgns_prefix: where the path seen from inside the namespace begins', (t) => {
  const outside = parseCgroupFile('8:pids:/lxc/box/inner\n0::/lxc/box\n');
  setPrefixes(outside, parseCgroupFile('8:pids:/inner\n0::/\n'), 1);
  t.same(outside.map((m) => m.cgnsPrefix), [8, 8], '"/lxc/box" is 8 long for both');
  t.throws(() => setPrefixes(parseCgroupFile('8:pids:/a/b\n'), parseCgroupFile('8:pids:/c\n'), 7), /pid 7: cgroup \/c is not a suffix of \/a\/b/);
  t.end();
});
